package mcp

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	mcpsdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agcom/agcom/internal/agcom"
)

// caller is who sent an MCP request, and what the REST requests made on
// its behalf carry: its own credentials, the request id, and the client's
// address as the API saw it.
type caller struct {
	handle        string
	admin         bool
	authorization string
	requestID     string
	remoteAddr    string
	forwardedFor  []string
}

// callerKey is where a request's caller travels in its token info.
const callerKey = "agcom.caller"

// callerOf returns the caller of an MCP request.
func callerOf(extra *mcpsdk.RequestExtra) (caller, bool) {
	if extra == nil || extra.TokenInfo == nil {
		return caller{}, false
	}
	c, ok := extra.TokenInfo.Extra[callerKey].(caller)
	return c, ok
}

// apiRequest is one request to the REST API.
type apiRequest struct {
	method string
	// target is the path (below the base path) and query.
	target string
	header http.Header
	body   []byte
	// contentType is the body's; JSON when empty.
	contentType string
}

// request builds the REST request for a call of the tool with args: path
// parameters into the path, query parameters into the query, header
// parameters into headers, and the body's properties into a JSON body.
// An argument the operation does not know, or a missing path parameter,
// is EINVALID.
func (o operation) request(args map[string]any) (apiRequest, error) {
	for k, v := range o.defaults {
		if _, ok := args[k]; !ok {
			args[k] = v
		}
	}
	known := map[string]bool{}
	for _, p := range o.params {
		known[p.arg] = true
	}
	for arg := range args {
		if !known[arg] && !o.body[arg] {
			return apiRequest{}, agcom.Invalid(arg, "is not an argument of this tool")
		}
	}
	path := o.path
	query := url.Values{}
	header := http.Header{}
	for _, p := range o.params {
		v, ok := args[p.arg]
		if !ok || v == nil {
			if p.in == "path" {
				return apiRequest{}, agcom.Invalid(p.arg, "is required")
			}
			continue
		}
		switch p.in {
		case "path":
			path = strings.ReplaceAll(path, "{"+p.name+"}", url.PathEscape(text(v)))
		case "query":
			if items, ok := v.([]any); ok {
				texts := make([]string, len(items))
				for i, item := range items {
					texts[i] = text(item)
				}
				if p.commaSeparated {
					query.Set(p.name, strings.Join(texts, ","))
				} else {
					query[p.name] = texts
				}
			} else {
				query.Set(p.name, text(v))
			}
		case "header":
			header.Set(p.name, text(v))
		}
	}
	r := apiRequest{method: o.method, target: path, header: header}
	if len(query) > 0 {
		r.target += "?" + query.Encode()
	}
	if o.body != nil {
		body := map[string]any{}
		for arg, v := range args {
			if o.body[arg] {
				body[arg] = v
			}
		}
		if len(body) > 0 || o.bodyRequired {
			b, err := json.Marshal(body)
			if err != nil {
				return apiRequest{}, agcom.Invalid("arguments", "cannot be encoded as JSON")
			}
			r.body = b
		}
	}
	return r, nil
}

// text is an argument's value as it goes into a path, query or header.
func text(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// decodeArgs reads a tool call's arguments, numbers as written.
func decodeArgs(raw json.RawMessage) (map[string]any, error) {
	args := map[string]any{}
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return args, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&args); err != nil {
		return nil, agcom.Invalid("arguments", "must be a JSON object")
	}
	return args, nil
}

// call sends r to the REST API as c and returns the answer's status and
// body. The request goes through the API's whole pipeline: request id,
// access log, metrics, authentication with c's own token, rate limits,
// validation and the handler.
func (s *Server) call(ctx context.Context, c caller, r apiRequest) (int, []byte) {
	rec := s.serve(ctx, c, r, 0)
	return rec.status, rec.body.Bytes()
}

// serve sends r to the REST API as c (see call) and returns its answer,
// of which it keeps at most keep bytes of a success's body (zero: all).
func (s *Server) serve(ctx context.Context, c caller, r apiRequest, keep int64) *recorder {
	// A context of its own, cancelled with ctx but carrying none of its
	// values: those of the MCP request that opened the session (its route
	// among them) must not leak into the API's request.
	inner, cancel := context.WithCancel(context.Background())
	defer cancel()
	defer context.AfterFunc(ctx, cancel)()
	var body io.Reader = http.NoBody
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	rec := &recorder{header: http.Header{}, keep: keep}
	req, err := http.NewRequestWithContext(inner, r.method, s.basePath+r.target, body)
	if err != nil {
		rec.status = http.StatusBadRequest
		rec.body.Write(envelope(c, agcom.Invalid("arguments", "do not make a valid request")))
		return rec
	}
	for k, vs := range r.header {
		req.Header[k] = vs
	}
	req.Header.Set("Authorization", c.authorization)
	req.Header.Set("X-Request-ID", c.requestID)
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}
	if r.body != nil {
		req.Header.Set("Content-Type", cmp.Or(r.contentType, "application/json"))
	}
	if len(c.forwardedFor) > 0 {
		req.Header["X-Forwarded-For"] = c.forwardedFor
	}
	req.RemoteAddr = c.remoteAddr
	s.api.ServeHTTP(rec, req)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return rec
}

// errAnswerTooLarge stops a handler writing past a recorder's keep.
var errAnswerTooLarge = errors.New("mcp: the answer is larger than the tool carries")

// recorder keeps an answer of the API in memory.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
	// keep bounds a success's body (zero: no bound); over says it was
	// passed, the bytes past it refused.
	keep int64
	over bool
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	if r.keep > 0 && r.status < http.StatusBadRequest {
		if room := r.keep - int64(r.body.Len()); int64(len(b)) > room {
			r.body.Write(b[:max(room, 0)])
			r.over = true
			return int(max(room, 0)), errAnswerTooLarge
		}
	}
	return r.body.Write(b)
}

// Flush does nothing: the answer is read once it is complete.
func (r *recorder) Flush() {}

// errorBody is the error envelope's inside.
type errorBody struct {
	Type       string         `json:"type"`
	Message    string         `json:"message"`
	Details    map[string]any `json:"details,omitempty"`
	RequestID  string         `json:"request_id"`
	RetryAfter *int           `json:"retry_after,omitempty"`
}

// envelope is err in the error envelope, for a failure found before the
// REST API was called (arguments that make no request).
func envelope(c caller, err error) []byte {
	e, ok := err.(*agcom.Error)
	if !ok {
		e = &agcom.Error{Code: agcom.EINTERNAL, Message: "an unexpected error occurred; quote the request id when reporting it"}
	}
	b, _ := json.Marshal(map[string]errorBody{"error": {
		Type: string(e.Code), Message: e.Message, Details: e.Details, RequestID: c.requestID,
	}})
	return b
}

// toolResult turns the API's answer into the tool's result: a success's
// JSON as structured content and as text; an error envelope as a tool
// error whose text leads with the envelope's type and message, and whose
// structured content is the envelope.
func toolResult(status int, body []byte) *mcpsdk.CallToolResult {
	var object map[string]json.RawMessage
	isObject := json.Unmarshal(body, &object) == nil && object != nil
	if status >= 200 && status < 300 {
		res := &mcpsdk.CallToolResult{Content: []mcpsdk.Content{&mcpsdk.TextContent{Text: string(body)}}}
		if isObject {
			res.StructuredContent = json.RawMessage(body)
		}
		return res
	}
	var env struct {
		Error *errorBody `json:"error"`
	}
	if json.Unmarshal(body, &env) != nil || env.Error == nil || env.Error.Type == "" {
		env.Error = &errorBody{Type: string(agcom.EINTERNAL), Message: fmt.Sprintf("the API answered %d without an error envelope", status)}
		body, _ = json.Marshal(env)
	}
	return &mcpsdk.CallToolResult{
		IsError:           true,
		Content:           []mcpsdk.Content{&mcpsdk.TextContent{Text: errorText(env.Error)}},
		StructuredContent: json.RawMessage(body),
	}
}

// errorText is an error as a model reads it: "NotFound: thread not found",
// then the details, the retry advice and the request id.
func errorText(e *errorBody) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", e.Type, e.Message)
	if len(e.Details) > 0 {
		d, _ := json.Marshal(e.Details)
		fmt.Fprintf(&b, "\ndetails: %s", d)
	}
	if e.RetryAfter != nil {
		fmt.Fprintf(&b, "\nretry after %d s", *e.RetryAfter)
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, "\nrequest id: %s", e.RequestID)
	}
	return b.String()
}
