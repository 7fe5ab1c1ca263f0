package httpapi

import (
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/klauspost/compress/gzhttp"

	"github.com/agcom/agcom/gen/agcomv1"
	"github.com/agcom/agcom/internal/agcom"
)

// attachmentKeeper is the use cases of uploads and downloads.
type attachmentKeeper interface {
	Upload(ctx context.Context, caller agcom.Caller, f agcom.NewAttachment) (agcom.Attachment, error)
	OpenAttachment(ctx context.Context, caller agcom.Caller, id string) (agcom.Attachment, io.ReadSeekCloser, error)
}

// movingBody is a request body whose read deadline moves on with each
// read, idle ahead. The server's read and write timeouts bound whole
// requests, which a large file over a slow link outlasts; a file moves
// for as long as it keeps moving.
type movingBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	idle time.Duration
}

func (b movingBody) Read(p []byte) (int, error) {
	_ = b.rc.SetReadDeadline(time.Now().Add(b.idle)) // unsupported: the server's timeout stays
	n, err := b.ReadCloser.Read(p)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		err = agcom.IdleError(b.idle)
	}
	return n, err
}

// uploadField is the multipart part that carries the file.
const uploadField = "file"

// multipartOverhead is what an upload's body may hold beyond the file:
// part headers and boundaries.
const multipartOverhead = 64 << 10

// UploadAttachment implements POST /attachments. The file part is
// streamed to the store as it arrives.
func (s *Server) UploadAttachment(ctx context.Context, req agcomv1.UploadAttachmentRequestObject) (agcomv1.UploadAttachmentResponseObject, error) {
	caller, err := callerFrom(ctx)
	if err != nil {
		return nil, err
	}
	part, err := filePart(req.Body)
	if err != nil {
		return nil, err
	}
	defer part.Close()
	a, err := s.writes.Upload(ctx, caller, agcom.NewAttachment{
		Filename:    part.FileName(),
		ContentType: cleanContentType(part.Header.Get("Content-Type")),
		Body:        uploadBody{part},
	})
	if err != nil {
		return nil, err
	}
	return agcomv1.UploadAttachment201JSONResponse(toAPIAttachment(a)), nil
}

// filePart returns the part named file; parts before it are skipped
// (their bytes count against the body's limit).
func filePart(r *multipart.Reader) (*multipart.Part, error) {
	for {
		p, err := r.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, agcom.Invalid(uploadField, "the form has no part named %q", uploadField)
		}
		if err != nil {
			return nil, uploadError(err)
		}
		if p.FormName() == uploadField {
			return p, nil
		}
		p.Close()
	}
}

// uploadBody reads the file part, telling a body over the route's limit
// or cut off from a store's failure.
type uploadBody struct{ r io.Reader }

func (b uploadBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		err = uploadError(err)
	}
	return n, err
}

// uploadError is the client's error for a body that could not be read.
func uploadError(err error) error {
	var tooLarge *http.MaxBytesError
	var stalled *agcom.Error
	if errors.As(err, &stalled) {
		return stalled
	}
	if errors.As(err, &tooLarge) {
		return &agcom.Error{Code: agcom.ETOOLARGE, Message: "request body is larger than the limit",
			Details: map[string]any{"max_bytes": tooLarge.Limit}}
	}
	return agcom.Invalid(uploadField, "the multipart body is malformed or was cut off")
}

// GetAttachment implements GET /attachments/{attachment_id}.
func (s *Server) GetAttachment(ctx context.Context, req agcomv1.GetAttachmentRequestObject) (agcomv1.GetAttachmentResponseObject, error) {
	return s.openAttachment(ctx, req.AttachmentId, http.MethodGet, req.Params.Range, req.Params.IfNoneMatch)
}

// HeadAttachment implements HEAD /attachments/{attachment_id}.
func (s *Server) HeadAttachment(ctx context.Context, req agcomv1.HeadAttachmentRequestObject) (agcomv1.HeadAttachmentResponseObject, error) {
	return s.openAttachment(ctx, req.AttachmentId, http.MethodHead, req.Params.Range, req.Params.IfNoneMatch)
}

func (s *Server) openAttachment(ctx context.Context, id, method string, rangeHeader, ifNoneMatch *string) (*attachmentResponse, error) {
	caller, err := callerFrom(ctx)
	if err != nil {
		return nil, err
	}
	a, body, err := s.writes.OpenAttachment(ctx, caller, id)
	if err != nil {
		return nil, err
	}
	req := &http.Request{Method: method, Header: http.Header{}}
	if rangeHeader != nil {
		req.Header.Set("Range", *rangeHeader)
	}
	if ifNoneMatch != nil {
		req.Header.Set("If-None-Match", *ifNoneMatch)
	}
	return &attachmentResponse{a: a, body: body, req: req, idle: s.transferIdle}, nil
}

// attachmentResponse serves an attachment's bytes with http.ServeContent:
// ranges, the ETag's conditional and HEAD. The request it serves is made
// of the operation's own parameters, so no other conditional header
// (If-Match, If-Modified-Since…) can change the answer.
type attachmentResponse struct {
	a    agcom.Attachment
	body io.ReadSeekCloser
	req  *http.Request
	idle time.Duration
}

func (r *attachmentResponse) VisitGetAttachmentResponse(w http.ResponseWriter) error {
	return r.serve(w)
}

func (r *attachmentResponse) VisitHeadAttachmentResponse(w http.ResponseWriter) error {
	return r.serve(w)
}

func (r *attachmentResponse) serve(w http.ResponseWriter) error {
	defer r.body.Close()
	contentType, disposition := deliveryType(r.a.ContentType)
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Disposition", contentDisposition(disposition, r.a.Filename))
	h.Set("ETag", `"`+r.a.SHA256+`"`)
	h.Set("X-Content-Type-Options", "nosniff")
	// Each agent may see other files: caches are the client's own, and
	// they revalidate with the ETag.
	h.Set("Cache-Control", "private, no-cache")
	// Compressing would change the length and the ranges the ETag stands for.
	h.Set(gzhttp.HeaderNoCompression, "1")
	cw := &rangeRefusal{ResponseWriter: w, rc: http.NewResponseController(w), idle: r.idle}
	http.ServeContent(cw, r.req, "", time.Time{}, r.body)
	if cw.refused {
		h.Del("Content-Disposition")
		return &agcom.Error{Code: agcom.ERANGE, Message: "the range asks for no bytes of the file",
			Details: map[string]any{"size": r.a.Size}}
	}
	return nil
}

// deliveryType is the Content-Type and disposition a download goes out
// with: the declared type, or opaque bytes to save for active content a
// browser would run as the API's own.
func deliveryType(declared string) (contentType, disposition string) {
	if activeContent(declared) {
		return agcom.DefaultAttachmentType, "attachment"
	}
	return declared, "inline"
}

// contentDisposition names the file (RFC 6266; filename* when it is not
// plain ASCII).
func contentDisposition(disposition, filename string) string {
	if v := mime.FormatMediaType(disposition, map[string]string{"filename": filename}); v != "" {
		return v
	}
	return disposition
}

// rangeRefusal keeps http.ServeContent's plain-text 416 from going out, so
// that the error envelope answers instead; and moves the write deadline on
// with each write, idle ahead (see movingBody).
type rangeRefusal struct {
	http.ResponseWriter
	rc      *http.ResponseController
	idle    time.Duration
	refused bool
}

func (w *rangeRefusal) WriteHeader(code int) {
	if code == http.StatusRequestedRangeNotSatisfiable {
		w.refused = true
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *rangeRefusal) Write(p []byte) (int, error) {
	if w.refused {
		return len(p), nil
	}
	_ = w.rc.SetWriteDeadline(time.Now().Add(w.idle)) // unsupported: the server's timeout stays
	return w.ResponseWriter.Write(p)
}

// cleanContentType returns the media type ct declares, with its
// parameters, in canonical form; DefaultAttachmentType when it declares
// none or is malformed.
func cleanContentType(ct string) string {
	media, params, err := mime.ParseMediaType(ct)
	if err != nil || !strings.Contains(media, "/") {
		return agcom.DefaultAttachmentType
	}
	out := mime.FormatMediaType(media, params)
	if out == "" || len(out) > agcom.MaxContentTypeLen {
		return mime.FormatMediaType(media, nil)
	}
	return out
}

// activeContent reports whether a browser would run or render the media
// type as a document of the server's origin (HTML, SVG, XML, script),
// which must then go out as a download of opaque bytes.
func activeContent(contentType string) bool {
	media, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return true
	}
	switch {
	case media == "text/html", media == "application/xhtml+xml", media == "image/svg+xml",
		media == "text/xml", media == "application/xml", media == "text/xsl",
		media == "application/pdf", media == "text/vtt", media == "multipart/x-mixed-replace":
		return true
	case strings.HasSuffix(media, "+xml"), strings.Contains(media, "script"),
		strings.Contains(media, "html"), strings.Contains(media, "xml"):
		return true
	}
	return false
}

func toAPIAttachment(a agcom.Attachment) agcomv1.Attachment {
	return agcomv1.Attachment{
		AttachmentId: a.ID, Filename: a.Filename, ContentType: a.ContentType,
		Size: a.Size, Sha256: a.SHA256, CreatedAt: a.CreatedAt,
	}
}

// toAPIAttachments converts a message's attachments: nil for none.
func toAPIAttachments(atts []agcom.Attachment) *[]agcomv1.Attachment {
	if len(atts) == 0 {
		return nil
	}
	out := convertAll(atts, toAPIAttachment)
	return &out
}
