package sdk

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"

	"github.com/agcom/agcom/gen/agcomv1"
)

// UploadAttachment uploads the bytes of r as a file named filename
// (POST /attachments), streaming them: r is read once, as the request is
// sent. contentType empty sends the type the filename's extension names,
// or application/octet-stream. Pass the answer's AttachmentId in
// attachment_ids to attach it. When r is also an io.Seeker, the upload
// may be sent again after a refused token or a rate limit.
func (c *Client) UploadAttachment(ctx context.Context, filename, contentType string, r io.Reader) (agcomv1.Attachment, error) {
	if contentType == "" {
		contentType = mime.TypeByExtension(filepath.Ext(filename))
	}
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	boundary := multipart.NewWriter(io.Discard).Boundary()
	body := func() io.ReadCloser { return multipartStream(boundary, filename, contentType, r) }
	editor := func(_ context.Context, req *http.Request) error {
		if s, ok := r.(io.Seeker); ok {
			req.GetBody = func() (io.ReadCloser, error) {
				if _, err := s.Seek(0, io.SeekStart); err != nil {
					return nil, err
				}
				return body(), nil
			}
		}
		return nil
	}
	resp, err := c.api.UploadAttachmentWithBodyWithResponse(ctx, "multipart/form-data; boundary="+boundary, body(), editor)
	return value(resp, err, (*agcomv1.UploadAttachmentResponse).GetJSON201)
}

// UploadFile uploads the file at path under its base name.
func (c *Client) UploadFile(ctx context.Context, path string) (agcomv1.Attachment, error) {
	f, err := os.Open(path)
	if err != nil {
		return agcomv1.Attachment{}, err
	}
	defer f.Close()
	return c.UploadAttachment(ctx, filepath.Base(path), "", f)
}

// multipartStream is a form with r in its part "file", written as it is
// read.
func multipartStream(boundary, filename, contentType string, r io.Reader) io.ReadCloser {
	pr, pw := io.Pipe()
	go func() {
		w := multipart.NewWriter(pw)
		w.SetBoundary(boundary)
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", mime.FormatMediaType("form-data", map[string]string{"name": "file", "filename": filename}))
		h.Set("Content-Type", contentType)
		part, err := w.CreatePart(h)
		if err == nil {
			_, err = io.Copy(part, r)
		}
		if err == nil {
			err = w.Close()
		}
		pw.CloseWithError(err)
	}()
	return pr
}

// ErrChecksum means a download's bytes do not have the sha256 the server
// gave for them.
var ErrChecksum = errors.New("agcom: the downloaded bytes do not match the attachment's sha256")

// DownloadAttachment writes the bytes of the attachment id to w, streaming
// them, and checks them against the sha256 the server gives (the ETag);
// it returns how many bytes it wrote. A mismatch is ErrChecksum: w then
// holds bytes that are not the attachment's.
func (c *Client) DownloadAttachment(ctx context.Context, id string, w io.Writer) (int64, error) {
	resp, err := c.api.GetAttachment(ctx, id, &agcomv1.GetAttachmentParams{})
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxPeekBytes))
		return 0, newError(resp.StatusCode, body)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), resp.Body)
	if err != nil {
		return n, fmt.Errorf("agcom: download: %w", err)
	}
	if want := strings.Trim(resp.Header.Get("ETag"), `"`); want != hex.EncodeToString(h.Sum(nil)) {
		return n, ErrChecksum
	}
	return n, nil
}
