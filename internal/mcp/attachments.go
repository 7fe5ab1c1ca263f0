package mcp

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	mcpsdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agcom/agcom/internal/agcom"
)

// The contract's attachment operations. Their tools are made here, not
// derived: an upload's body is multipart and a download's answer is bytes,
// neither of which a model sends or reads as they are.
const (
	uploadAttachmentOp = "uploadAttachment"
	getAttachmentOp    = "getAttachment"
)

// DefaultMaxAttachmentBytes is how many bytes of a file get_attachment
// carries at most, unless told otherwise.
const DefaultMaxAttachmentBytes = 4 << 20

// LimitAttachmentBytes names get_attachment's cap in the details of its
// PayloadTooLarge error, as agcom names the API's limits.
const LimitAttachmentBytes = "max_mcp_attachment_bytes"

// attachmentURIPrefix starts the URI of an attachment's bytes embedded in
// get_attachment's answer.
const attachmentURIPrefix = "agcom://attachments/"

// The arguments of upload_attachment.
const (
	filenameArg    = "filename"
	contentTypeArg = "content_type"
	textArg        = "text"
	base64Arg      = "content_base64"
)

// uploadPart is the multipart part the contract's upload reads the file
// from.
const uploadPart = "file"

// Content types upload_attachment declares when the caller names none.
const (
	defaultTextType   = "text/plain; charset=utf-8"
	defaultBinaryType = "application/octet-stream"
)

// attachmentTools are upload_attachment and get_attachment, made of the
// contract's uploadAttachment and getAttachment: a contract without them
// (or whose upload no longer takes a file part) cannot start the server.
// basePath is the REST API's, for the advice to use it; maxRequest bounds
// a request to /mcp, which bounds an upload; maxDownload is
// get_attachment's cap.
func attachmentTools(spec *openapi3.T, basePath string, maxRequest, maxDownload int64) ([]tool, error) {
	up, err := uploadTool(spec, basePath, maxRequest)
	if err != nil {
		return nil, err
	}
	get, err := getTool(spec, basePath, maxDownload)
	if err != nil {
		return nil, err
	}
	return []tool{up, get}, nil
}

// operationByID finds the operation id of spec and its path. Ids are
// compared as tool names: the generated code's copy of the contract
// capitalizes them.
func operationByID(spec *openapi3.T, id string) (path, method string, item *openapi3.PathItem, op *openapi3.Operation, err error) {
	for p, it := range spec.Paths.Map() {
		for m, o := range it.Operations() {
			if snakeCase(o.OperationID) == snakeCase(id) {
				return p, m, it, o, nil
			}
		}
	}
	return "", "", nil, nil, fmt.Errorf("mcp: the contract has no operation %s for the tool %s", id, snakeCase(id))
}

func uploadTool(spec *openapi3.T, basePath string, maxRequest int64) (tool, error) {
	path, method, _, op, err := operationByID(spec, uploadAttachmentOp)
	if err != nil {
		return tool{}, err
	}
	where := uploadAttachmentOp
	var form *openapi3.MediaType
	if op.RequestBody != nil && op.RequestBody.Value != nil {
		form = op.RequestBody.Value.Content.Get("multipart/form-data")
	}
	if form == nil || form.Schema == nil || form.Schema.Value == nil || form.Schema.Value.Properties[uploadPart] == nil {
		return tool{}, fmt.Errorf("mcp: %s no longer takes a multipart part %q", where, uploadPart)
	}
	stored, err := answerSchema(op, http.StatusCreated)
	if err != nil {
		return tool{}, fmt.Errorf("mcp: %s: %w", where, err)
	}
	props := map[string]any{}
	for arg, about := range map[string]string{
		filenameArg:    "The file's name; a path is cut to its last element.",
		contentTypeArg: "The file's media type. Default: " + defaultTextType + " for text, " + defaultBinaryType + " for content_base64.",
	} {
		s := stored.Properties[arg]
		if s == nil || s.Value == nil {
			return tool{}, fmt.Errorf("mcp: %s: its answer has no property %q", where, arg)
		}
		schema := jsonSchema(s.Value, 0)
		schema["description"] = about
		delete(schema, "examples")
		props[arg] = schema
	}
	props[textArg] = map[string]any{"type": "string",
		"description": "The content, as UTF-8 text. Give exactly one of text and content_base64."}
	props[base64Arg] = map[string]any{"type": "string", "contentEncoding": "base64",
		"description": "The content, in standard base64 (RFC 4648, with padding). Give exactly one of text and content_base64."}
	def := &mcpsdk.Tool{
		Name:  snakeCase(uploadAttachmentOp),
		Title: strings.TrimSpace(op.Summary),
		Description: describe(op) + fmt.Sprintf("\n\nOver MCP: give filename, optionally content_type, and the content as exactly one of "+
			"text (UTF-8) or content_base64 (standard base64); the answer is the stored upload, whose attachment_id goes into "+
			"attachment_ids of send_message or a reply. The whole MCP request holds at most %d bytes, so base64 content at most "+
			"about three quarters of that; upload larger files with POST %s%s.", maxRequest, basePath, path),
		InputSchema: map[string]any{
			"type": "object", "properties": props, "required": []string{filenameArg}, "additionalProperties": false,
		},
		Annotations: annotations(method),
	}
	u := upload{path: path}
	return tool{def: def, op: operation{method: method, path: path}, handle: u.call}, nil
}

// answerSchema is the JSON schema of op's answer with status code.
func answerSchema(op *openapi3.Operation, code int) (*openapi3.Schema, error) {
	r := op.Responses.Status(code)
	if r == nil || r.Value == nil {
		return nil, fmt.Errorf("no answer %d", code)
	}
	mt := r.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil || mt.Schema.Value == nil {
		return nil, fmt.Errorf("answer %d is not JSON", code)
	}
	return mt.Schema.Value, nil
}

// upload is upload_attachment's call: its arguments as the multipart
// request of the contract's upload.
type upload struct{ path string }

func (u upload) call(ctx context.Context, s *Server, c caller, args map[string]any) *mcpsdk.CallToolResult {
	body, contentType, err := uploadBody(args)
	if err != nil {
		return toolResult(http.StatusBadRequest, envelope(c, err))
	}
	return toolResult(s.call(ctx, c, apiRequest{method: http.MethodPost, target: u.path, body: body, contentType: contentType}))
}

// uploadBody builds the multipart body of an upload from the tool's
// arguments, and its Content-Type. Arguments that do not make one are
// EINVALID.
func uploadBody(args map[string]any) ([]byte, string, error) {
	str := func(arg string) (string, bool, error) {
		v, ok := args[arg]
		if !ok || v == nil {
			return "", false, nil
		}
		s, isString := v.(string)
		if !isString {
			return "", false, agcom.Invalid(arg, "must be a string")
		}
		return s, true, nil
	}
	for arg := range args {
		switch arg {
		case filenameArg, contentTypeArg, textArg, base64Arg:
		default:
			return nil, "", agcom.Invalid(arg, "is not an argument of this tool")
		}
	}
	filename, ok, err := str(filenameArg)
	if err != nil {
		return nil, "", err
	}
	if !ok || filename == "" {
		return nil, "", agcom.Invalid(filenameArg, "is required")
	}
	contentType, hasType, err := str(contentTypeArg)
	if err != nil {
		return nil, "", err
	}
	text, hasText, err := str(textArg)
	if err != nil {
		return nil, "", err
	}
	encoded, hasBase64, err := str(base64Arg)
	if err != nil {
		return nil, "", err
	}
	var content []byte
	switch {
	case hasText == hasBase64:
		return nil, "", agcom.Invalid(textArg, "give the content as exactly one of text and content_base64")
	case hasText:
		content = []byte(text)
		if !hasType {
			contentType = defaultTextType
		}
	default:
		if content, err = base64.StdEncoding.DecodeString(encoded); err != nil {
			return nil, "", agcom.Invalid(base64Arg, "is not standard base64 (RFC 4648, with padding): %v", err)
		}
		if !hasType {
			contentType = defaultBinaryType
		}
	}
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	h := textproto.MIMEHeader{}
	// FormatMediaType writes a name that is not plain ASCII as filename*.
	disposition := mime.FormatMediaType("form-data", map[string]string{"name": uploadPart, "filename": filename})
	if disposition == "" {
		return nil, "", agcom.Invalid(filenameArg, "cannot be a file's name")
	}
	h.Set("Content-Disposition", disposition)
	h.Set("Content-Type", contentType)
	part, err := w.CreatePart(h)
	if err != nil {
		return nil, "", err
	}
	part.Write(content)
	if err := w.Close(); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), w.FormDataContentType(), nil
}

func getTool(spec *openapi3.T, basePath string, maxDownload int64) (tool, error) {
	path, method, item, op, err := operationByID(spec, getAttachmentOp)
	if err != nil {
		return tool{}, err
	}
	// The tool's arguments are the path's parameters; the others (ranges,
	// conditionals) are the tool's own business.
	o := operation{method: method, path: path}
	props := map[string]any{}
	var required []string
	for _, p := range parameters(item, op) {
		if p.In != openapi3.ParameterInPath {
			continue
		}
		if p.Schema == nil || p.Schema.Value == nil {
			return tool{}, fmt.Errorf("mcp: %s: parameter %q has no schema", getAttachmentOp, p.Name)
		}
		s := jsonSchema(p.Schema.Value, 0)
		if p.Description != "" {
			s["description"] = p.Description
		}
		props[p.Name] = s
		required = append(required, p.Name)
		o.params = append(o.params, param{arg: p.Name, name: p.Name, in: p.In, required: true})
	}
	if len(o.params) != 1 {
		return tool{}, fmt.Errorf("mcp: %s has %d path parameters, want the attachment's id alone", getAttachmentOp, len(o.params))
	}
	def := &mcpsdk.Tool{
		Name:  snakeCase(getAttachmentOp),
		Title: strings.TrimSpace(op.Summary),
		Description: describe(op) + fmt.Sprintf("\n\nOver MCP: the answer is the file's metadata (filename, content_type, size, sha256) "+
			"and its bytes as an embedded resource %s{attachment_id}: text for text and JSON types that are valid UTF-8, "+
			"base64 blob otherwise. A file over %d bytes is PayloadTooLarge (details.limit %s): download it with "+
			"GET %s%s.", attachmentURIPrefix, maxDownload, LimitAttachmentBytes, basePath, path),
		InputSchema: map[string]any{"type": "object", "properties": props, "required": required, "additionalProperties": false},
		Annotations: annotations(method),
	}
	d := download{op: o, max: maxDownload, basePath: basePath}
	return tool{def: def, handle: d.call}, nil
}

// download is get_attachment's call.
type download struct {
	op       operation
	max      int64
	basePath string
}

// attachmentInfo is what get_attachment says of the file beside its bytes.
type attachmentInfo struct {
	AttachmentID string `json:"attachment_id"`
	Filename     string `json:"filename"`
	ContentType  string `json:"content_type"`
	Size         int64  `json:"size"`
	SHA256       string `json:"sha256"`
}

// call asks the API for the first max+1 bytes of the file only, so that a
// larger file is never read past them, and tells it from the answer's
// Content-Range.
func (d download) call(ctx context.Context, s *Server, c caller, args map[string]any) *mcpsdk.CallToolResult {
	r, err := d.op.request(args)
	if err != nil {
		return toolResult(http.StatusBadRequest, envelope(c, err))
	}
	id := text(args[d.op.params[0].arg])
	r.header.Set("Range", "bytes=0-"+strconv.FormatInt(d.max, 10))
	r.header.Set("Accept", "*/*")
	rec := s.serve(ctx, c, r, d.max+1)
	if rec.status != http.StatusOK && rec.status != http.StatusPartialContent {
		return toolResult(rec.status, rec.body.Bytes())
	}
	content := rec.body.Bytes()
	size := int64(len(content))
	if rec.status == http.StatusPartialContent {
		if size, err = rangeTotal(rec.header.Get("Content-Range")); err != nil {
			s.log.Error("mcp: get_attachment: "+err.Error(), "request_id", c.requestID)
			return toolResult(http.StatusInternalServerError, envelope(c, err))
		}
	}
	if size > d.max || rec.over {
		return toolResult(http.StatusRequestEntityTooLarge, envelope(c, &agcom.Error{
			Code: agcom.ETOOLARGE,
			Message: fmt.Sprintf("the attachment has %d bytes; get_attachment carries at most %d: download it with GET %s%s",
				size, d.max, d.basePath, r.target),
			Details: map[string]any{"limit": LimitAttachmentBytes, "max_bytes": d.max, "size": size},
		}))
	}
	info := attachmentInfo{
		AttachmentID: id,
		ContentType:  rec.header.Get("Content-Type"),
		Size:         size,
		SHA256:       strings.Trim(rec.header.Get("ETag"), `"`),
	}
	if _, params, err := mime.ParseMediaType(rec.header.Get("Content-Disposition")); err == nil {
		info.Filename = params["filename"]
	}
	meta, _ := json.Marshal(info)
	res := &mcpsdk.ResourceContents{URI: attachmentURIPrefix + id, MIMEType: info.ContentType}
	if len(content) > 0 && readsAsText(info.ContentType, content) {
		res.Text = string(content)
	} else {
		// An empty file is an empty blob: a resource has text or a blob.
		res.Blob = append([]byte{}, content...)
	}
	return &mcpsdk.CallToolResult{
		Content:           []mcpsdk.Content{&mcpsdk.TextContent{Text: string(meta)}, &mcpsdk.EmbeddedResource{Resource: res}},
		StructuredContent: json.RawMessage(meta),
	}
}

// rangeTotal is the whole file's size in a Content-Range ("bytes 0-9/42").
func rangeTotal(contentRange string) (int64, error) {
	_, total, ok := strings.Cut(contentRange, "/")
	n, err := strconv.ParseInt(total, 10, 64)
	if !ok || err != nil || n < 0 {
		return 0, fmt.Errorf("the API answered a range without the file's size: %q", contentRange)
	}
	return n, nil
}

// readsAsText reports whether content of the media type goes to a model
// as text: text and JSON in UTF-8.
func readsAsText(contentType string, content []byte) bool {
	media, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	textual := strings.HasPrefix(media, "text/") || media == "application/json" || strings.HasSuffix(media, "+json")
	charset := strings.ToLower(params["charset"])
	return textual && (charset == "" || charset == "utf-8" || charset == "us-ascii") && utf8.Valid(content)
}
