package testserver

import (
	"bytes"
	"io"
	"mime"
	"net/http"
	"strings"
	"testing"

	"github.com/agcom/agcom/internal/httpapi"
)

// Transport checks answers against openapi.yaml as a client receives them,
// for servers this package did not start: the real binary, run in its own
// process by the crash, copy, TLS and multi-node tests. Answers of servers
// started here are checked on the server side as well.
type Transport struct {
	base  http.RoundTripper
	check *contractCheck
}

// NewTransport returns a Transport that sends requests through base.
func NewTransport(base http.RoundTripper) (*Transport, error) {
	check, err := newContractCheck()
	if err != nil {
		return nil, err
	}
	return &Transport{base: base, check: check}, nil
}

// RoundTrip sends req and checks its answer, when req is for the API
// (below httpapi.BasePath: the metrics listener and the like answer in
// their own ways). An event stream is checked at its head and passed on
// unread; any other body is read whole, checked, and handed on unchanged.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil || !strings.HasPrefix(req.URL.Path, httpapi.BasePath+"/") {
		return resp, err
	}
	route := t.check.route(req)
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "text/event-stream" {
		t.check.checkStream(req, route, resp.StatusCode, resp.Header)
		return resp, nil
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	t.check.checkAnswer(req, route, resp.StatusCode, resp.Header, raw)
	resp.Body = io.NopCloser(bytes.NewReader(raw))
	return resp, nil
}

// ReportTo sends the mismatches kept so far, and every later one, to tb.
func (t *Transport) ReportTo(tb testing.TB) { t.check.reportTo(tb) }

// Err returns the mismatches kept while no test was reported to.
func (t *Transport) Err() error { return t.check.err() }
