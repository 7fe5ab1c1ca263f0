package testserver

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/klauspost/compress/zstd"

	contract "github.com/agcom/agcom"
	"github.com/agcom/agcom/internal/httpapi"
)

// excerptBytes is how much of a body a mismatch report quotes.
const excerptBytes = 200

// spec is openapi.yaml, loaded once for every server of the test binary:
// its router, and the error envelope that answers outside it must use.
type spec struct {
	router   routers.Router
	envelope *openapi3.Schema
}

var loadSpec = sync.OnceValues(func() (*spec, error) {
	doc, err := openapi3.NewLoader().LoadFromData(contract.OpenAPIYAML)
	if err != nil {
		return nil, fmt.Errorf("testserver: load openapi.yaml: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("testserver: openapi.yaml: %w", err)
	}
	doc.Servers = nil // operations are matched below httpapi.BasePath
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("testserver: route openapi.yaml: %w", err)
	}
	envelope := doc.Components.Schemas["ErrorEnvelope"]
	if envelope == nil || envelope.Value == nil {
		return nil, errors.New("testserver: openapi.yaml has no ErrorEnvelope schema")
	}
	return &spec{router: router, envelope: envelope.Value}, nil
})

// zstdDecoder decodes zstd answers; DecodeAll is safe for concurrent use.
var zstdDecoder = sync.OnceValues(func() (*zstd.Decoder, error) { return zstd.NewReader(nil) })

// contractCheck validates every answer the program gives against
// openapi.yaml: an operation's answer must have a status the operation
// declares, with its content type, headers and JSON schema; any other
// request's error answer must be the error envelope. It reports each
// mismatch to the test that owns the server, or keeps it for Close when
// there is none yet.
type contractCheck struct {
	spec *spec

	mu   sync.Mutex
	tb   testing.TB
	kept []string
}

func newContractCheck() (*contractCheck, error) {
	s, err := loadSpec()
	if err != nil {
		return nil, err
	}
	return &contractCheck{spec: s}, nil
}

// reportTo sends the mismatches kept so far, and every later one, to tb.
func (c *contractCheck) reportTo(tb testing.TB) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tb = tb
	for _, m := range c.kept {
		tb.Errorf("%s", m)
	}
	c.kept = nil
}

// err returns the mismatches not reported to a test.
func (c *contractCheck) err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.kept) == 0 {
		return nil
	}
	return fmt.Errorf("answers that break openapi.yaml:\n%s", strings.Join(c.kept, "\n"))
}

func (c *contractCheck) report(r *http.Request, status int, body []byte, problem string) {
	if len(body) > excerptBytes {
		body = append(body[:excerptBytes:excerptBytes], "…"...)
	}
	m := fmt.Sprintf("contract: %s %s answered %d: %s; body: %q", r.Method, r.URL.RequestURI(), status, problem, body)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tb != nil {
		c.tb.Errorf("%s", m)
	} else {
		c.kept = append(c.kept, m)
	}
}

// wrap checks every answer of next. The bytes go to the client untouched
// and as they are written; the check reads a copy once next returns. An
// event stream is checked at its head (status and content type) and never
// copied.
func (c *contractCheck) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route := c.route(r)
		rec := &recorder{ResponseWriter: w}
		rec.onStream = func() { c.checkStream(r, route, rec.status, rec.header) }
		next.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.WriteHeader(http.StatusOK)
		}
		if !rec.stream {
			c.checkAnswer(r, route, rec.status, rec.header, rec.body.Bytes())
		}
	})
}

// route returns the operation of r, or nil when r is outside the contract
// (the root, the docs, the spec itself, metrics, an unknown path or method).
func (c *contractCheck) route(r *http.Request) *routers.Route {
	path, ok := strings.CutPrefix(r.URL.Path, httpapi.BasePath)
	if !ok {
		return nil
	}
	u := *r.URL
	u.Path = path
	u.RawPath = strings.TrimPrefix(u.RawPath, httpapi.BasePath)
	rr := *r
	rr.URL = &u
	route, _, err := c.spec.router.FindRoute(&rr)
	if err != nil {
		return nil
	}
	return route
}

var responseOptions = &openapi3filter.Options{IncludeResponseStatus: true}

func (c *contractCheck) checkAnswer(r *http.Request, route *routers.Route, status int, header http.Header, raw []byte) {
	body, err := decode(header.Get("Content-Encoding"), raw)
	if err != nil {
		c.report(r, status, raw, err.Error())
		return
	}
	if route == nil {
		// A HEAD answer carries no body, not even an error's.
		if status >= http.StatusBadRequest && r.Method != http.MethodHead && !(r.URL.Path == httpapi.MCPPath && jsonRPCError(body)) {
			if problem := c.envelopeProblem(header, body); problem != "" {
				c.report(r, status, body, problem)
			}
		}
		return
	}
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: r, Route: route},
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                responseOptions,
	}
	if err := openapi3filter.ValidateResponse(r.Context(), input); err != nil {
		c.report(r, status, body, describe(route, err))
	}
}

// checkStream checks the head of an event stream: a status the operation
// declares, with text/event-stream among its content types. The MCP
// endpoint's streams are its protocol's, outside the contract.
func (c *contractCheck) checkStream(r *http.Request, route *routers.Route, status int, header http.Header) {
	if route == nil && r.URL.Path == httpapi.MCPPath {
		return // the Model Context Protocol's own notification stream
	}
	if route == nil {
		c.report(r, status, nil, "an event stream outside the contract")
		return
	}
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: r, Route: route},
		Status:                 status,
		Header:                 header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, ExcludeResponseBody: true},
	}
	if err := openapi3filter.ValidateResponse(r.Context(), input); err != nil {
		c.report(r, status, nil, describe(route, err))
		return
	}
	resp := route.Operation.Responses.Status(status)
	if resp == nil {
		resp = route.Operation.Responses.Default()
	}
	if resp == nil || resp.Value == nil || resp.Value.Content.Get("text/event-stream") == nil {
		c.report(r, status, nil, fmt.Sprintf("%s does not declare an event stream for %d", route.Operation.OperationID, status))
	}
}

// envelopeProblem says how an error answer outside the contract differs
// from the error envelope, or "" when it does not.
func (c *contractCheck) envelopeProblem(header http.Header, body []byte) string {
	if mt, _, _ := mime.ParseMediaType(header.Get("Content-Type")); mt != "application/json" {
		return fmt.Sprintf("an error answer outside the contract is %q, not the JSON error envelope", header.Get("Content-Type"))
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return "an error answer outside the contract is not JSON: " + err.Error()
	}
	if err := c.spec.envelope.VisitJSON(v, openapi3.VisitAsResponse()); err != nil {
		return "an error answer outside the contract is not the error envelope: " + firstLine(err.Error())
	}
	return ""
}

// jsonRPCError reports whether body is a JSON-RPC error response, which
// the MCP endpoint answers to a message its protocol refuses (a protocol
// version it does not speak) for the client to act on; errors of HTTP
// itself there are the envelope.
func jsonRPCError(body []byte) bool {
	var m struct {
		JSONRPC string `json:"jsonrpc"`
		Error   *struct {
			Code int `json:"code"`
		} `json:"error"`
	}
	return json.Unmarshal(body, &m) == nil && m.JSONRPC == "2.0" && m.Error != nil
}

// describe names the operation and the first line of kin-openapi's reason
// (the rest is a dump of the schema).
func describe(route *routers.Route, err error) string {
	return route.Operation.OperationID + ": " + firstLine(err.Error())
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// decode undoes the answer's Content-Encoding.
func decode(encoding string, raw []byte) ([]byte, error) {
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "", "identity":
		return raw, nil
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("gzip body: %w", err)
		}
		body, err := io.ReadAll(zr)
		if err != nil {
			return nil, fmt.Errorf("gzip body: %w", err)
		}
		return body, nil
	case "zstd":
		d, err := zstdDecoder()
		if err != nil {
			return nil, err
		}
		body, err := d.DecodeAll(raw, nil)
		if err != nil {
			return nil, fmt.Errorf("zstd body: %w", err)
		}
		return body, nil
	}
	return nil, fmt.Errorf("unknown Content-Encoding %q", encoding)
}

// recorder passes an answer through and keeps a copy of its status, its
// headers as sent and, unless it is an event stream, its body.
type recorder struct {
	http.ResponseWriter
	status   int
	header   http.Header
	body     bytes.Buffer
	stream   bool
	onStream func()
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 && code >= http.StatusOK {
		r.status = code
		r.header = r.ResponseWriter.Header().Clone()
		if mt, _, _ := mime.ParseMediaType(r.header.Get("Content-Type")); mt == "text/event-stream" {
			r.stream = true
			r.onStream()
		}
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.WriteHeader(http.StatusOK)
	}
	if !r.stream {
		r.body.Write(b)
	}
	return r.ResponseWriter.Write(b)
}

// Flush sends what was written so far, as the wrapped writer would.
func (r *recorder) Flush() {
	if r.status == 0 {
		r.WriteHeader(http.StatusOK)
	}
	_ = http.NewResponseController(r.ResponseWriter).Flush()
}

// Unwrap lets http.NewResponseController reach the connection's writer
// (the event stream sets its write deadlines through it).
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
