package testserver

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
)

// fakeTB records what a test would be failed with.
type fakeTB struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs = append(f.errs, fmt.Sprintf(format, args...))
}

func (f *fakeTB) failures() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.errs...)
}

// checked serves h behind the contract check, reporting to a fake test.
func checked(t *testing.T, h http.HandlerFunc) (*httptest.Server, *fakeTB) {
	t.Helper()
	c, err := newContractCheck()
	if err != nil {
		t.Fatal(err)
	}
	tb := &fakeTB{TB: t}
	c.reportTo(tb)
	srv := httptest.NewServer(c.wrap(h))
	t.Cleanup(srv.Close)
	return srv, tb
}

// answer writes status, content type and body, compressed with encoding.
func answer(t *testing.T, status int, contentType, encoding, body string) http.HandlerFunc {
	raw := []byte(body)
	switch encoding {
	case "gzip":
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write(raw)
		zw.Close()
		raw = b.Bytes()
	case "zstd":
		zw, err := zstd.NewWriter(nil)
		if err != nil {
			t.Fatal(err)
		}
		raw = zw.EncodeAll(raw, nil)
	}
	return func(w http.ResponseWriter, r *http.Request) {
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		if encoding != "" {
			w.Header().Set("Content-Encoding", encoding)
		}
		w.Header().Set("X-Request-ID", "r1")
		w.WriteHeader(status)
		w.Write(raw)
	}
}

const (
	health   = `{"status":"healthy","timestamp":"2026-01-02T03:04:05Z","version":"test"}`
	envelope = `{"error":{"type":"NotFound","message":"no such endpoint","request_id":"r1"}}`
)

// TestContractCheck: an answer the contract allows passes; one it does not
// fails the test that owns the server, naming method, path and status and
// quoting the body.
func TestContractCheck(t *testing.T) {
	cases := []struct {
		name, method, path string
		h                  http.HandlerFunc
		want               string // "" when the answer is allowed
	}{
		{"declared status and schema", "GET", "/api/v1/health", answer(t, 200, "application/json", "", health), ""},
		{"declared error", "GET", "/api/v1/health", answer(t, 500, "application/json", "", `{"error":{"type":"InternalError","message":"m","request_id":"r1"}}`), ""},
		{"undeclared status", "GET", "/api/v1/health", answer(t, 418, "application/json", "", envelope),
			"GET /api/v1/health answered 418: getHealth: status is not supported"},
		{"undeclared 413", "POST", "/api/v1/admin/agents/bob/rotate-secret", answer(t, 413, "application/json", "",
			`{"error":{"type":"PayloadTooLarge","message":"m","request_id":"r1"}}`),
			"POST /api/v1/admin/agents/bob/rotate-secret answered 413: rotateAgentSecret: status is not supported"},
		{"body off its schema", "GET", "/api/v1/health", answer(t, 200, "application/json", "", `{"status":"fine"}`),
			"GET /api/v1/health answered 200: getHealth: response body doesn't match schema"},
		{"error body off the envelope", "GET", "/api/v1/health", answer(t, 500, "application/json", "", `{"message":"oops"}`),
			"answered 500: getHealth: response body doesn't match schema"},
		{"undeclared content type", "GET", "/api/v1/health", answer(t, 200, "text/plain", "", "ok"),
			`answered 200: getHealth: response header Content-Type has unexpected value: "text/plain"`},
		{"header off its schema", "GET", "/api/v1/health/ready", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "soon")
			answer(t, 503, "application/json", "", `{"error":{"type":"ServiceUnavailable","message":"m","request_id":"r1"}}`)(w, r)
		}, `answered 503: getReadiness: unable to decode header "Retry-After" value`},
		{"gzip, allowed", "GET", "/api/v1/health", answer(t, 200, "application/json", "gzip", health), ""},
		{"gzip, off its schema", "GET", "/api/v1/health", answer(t, 200, "application/json", "gzip", `{"status":1}`),
			"answered 200: getHealth: response body doesn't match schema"},
		{"zstd, allowed", "GET", "/api/v1/health", answer(t, 200, "application/json", "zstd", health), ""},
		{"zstd, off its schema", "GET", "/api/v1/health", answer(t, 200, "application/json", "zstd", `{"status":1}`),
			"answered 200: getHealth: response body doesn't match schema"},
		{"unknown encoding", "GET", "/api/v1/health", answer(t, 200, "application/json", "br", health),
			`answered 200: unknown Content-Encoding "br"`},
		{"outside the contract, ok", "GET", "/", answer(t, 200, "application/json", "", `{"name":"x"}`), ""},
		{"outside the contract, docs", "GET", "/api/v1/docs/", answer(t, 200, "text/html", "", "<html>"), ""},
		{"unknown path, envelope", "GET", "/api/v1/nothing", answer(t, 404, "application/json", "", envelope), ""},
		{"unknown path, plain text", "GET", "/api/v1/nothing", answer(t, 404, "text/plain", "", "404 page not found"),
			`GET /api/v1/nothing answered 404: an error answer outside the contract is "text/plain"`},
		{"unknown method, not the envelope", "DELETE", "/api/v1/health", answer(t, 405, "application/json", "", `{"error":"no"}`),
			"DELETE /api/v1/health answered 405: an error answer outside the contract is not the error envelope"},
		{"unknown path, compressed envelope", "GET", "/nothing", answer(t, 404, "application/json", "gzip", envelope), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, tb := checked(t, tc.h)
			req, err := http.NewRequest(tc.method, srv.URL+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			srv.Close() // the check has run
			got := tb.failures()
			switch {
			case tc.want == "" && len(got) > 0:
				t.Errorf("an allowed answer failed the test: %q", got)
			case tc.want != "" && len(got) != 1:
				t.Errorf("failures %q, want one containing %q", got, tc.want)
			case tc.want != "" && !strings.Contains(got[0], tc.want):
				t.Errorf("failure %q, want it to contain %q", got[0], tc.want)
			case tc.want != "" && !strings.Contains(got[0], "body: "):
				t.Errorf("failure %q quotes no body", got[0])
			}
		})
	}
}

// TestContractCheckPassesBytesThrough: the client receives the answer
// exactly as the handler wrote it, compressed or not.
func TestContractCheckPassesBytesThrough(t *testing.T) {
	for _, enc := range []string{"", "gzip", "zstd"} {
		t.Run("encoding "+enc, func(t *testing.T) {
			var sent bytes.Buffer
			h := answer(t, 200, "application/json", enc, health)
			srv, tb := checked(t, func(w http.ResponseWriter, r *http.Request) {
				rec := httptest.NewRecorder()
				h(rec, r)
				sent.Write(rec.Body.Bytes())
				h(w, r)
			})
			req, _ := http.NewRequest("GET", srv.URL+"/api/v1/health", nil)
			req.Header.Set("Accept-Encoding", "identity") // the client must not decode
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !bytes.Equal(got, sent.Bytes()) {
				t.Errorf("client got %q, handler wrote %q", got, sent.Bytes())
			}
			if resp.Header.Get("Content-Encoding") != enc {
				t.Errorf("Content-Encoding %q, want %q", resp.Header.Get("Content-Encoding"), enc)
			}
			srv.Close()
			if f := tb.failures(); len(f) > 0 {
				t.Errorf("failures %q", f)
			}
		})
	}
}

// TestContractCheckStreams: an event stream reaches the client as it is
// flushed, while its handler still runs; its head is checked.
func TestContractCheckStreams(t *testing.T) {
	cases := []struct {
		name   string
		status int
		want   string
	}{
		{"declared", http.StatusOK, ""},
		{"undeclared status", http.StatusCreated, "GET /api/v1/events/stream answered 201: streamEvents: status is not supported"},
		{"declared status, not a stream", http.StatusBadRequest, "streamEvents does not declare an event stream for 400"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			release := make(chan struct{})
			var held atomic.Bool // the event was not received while the stream ran
			srv, tb := checked(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				w.WriteHeader(tc.status)
				io.WriteString(w, "id: 1\nevent: message.created\ndata: {}\n\n")
				http.NewResponseController(w).Flush()
				select {
				case <-release:
				case <-time.After(3 * time.Second):
					held.Store(true)
				}
			})
			resp, err := srv.Client().Get(srv.URL + "/api/v1/events/stream")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			line, err := bufio.NewReader(resp.Body).ReadString('\n')
			close(release)
			if err != nil || line != "id: 1\n" {
				t.Fatalf("first line of the stream: %q, %v", line, err)
			}
			if held.Load() {
				t.Errorf("the event reached the client only when the stream ended")
			}
			got := tb.failures()
			switch {
			case tc.want == "" && len(got) > 0:
				t.Errorf("an allowed stream failed the test: %q", got)
			case tc.want != "" && (len(got) != 1 || !strings.Contains(got[0], tc.want)):
				t.Errorf("failures %q, want one containing %q", got, tc.want)
			}
		})
	}
}

// TestContractCheckKeepsUntilReported: without a test to report to, a
// mismatch is kept, returned by err, and handed to the test given later.
func TestContractCheckKeepsUntilReported(t *testing.T) {
	c, err := newContractCheck()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c.wrap(answer(t, 418, "application/json", "", envelope)))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/api/v1/health")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	srv.Close()
	if err := c.err(); err == nil || !strings.Contains(err.Error(), "answered 418") {
		t.Fatalf("err() = %v, want the 418", err)
	}
	tb := &fakeTB{TB: t}
	c.reportTo(tb)
	if f := tb.failures(); len(f) != 1 || !strings.Contains(f[0], "answered 418") {
		t.Errorf("reported %q, want the 418", f)
	}
	if err := c.err(); err != nil {
		t.Errorf("err() after reporting = %v, want nil", err)
	}
}

// TestServerIsChecked: the program a test starts is behind the check, and
// its answers to ordinary and malformed requests pass it.
func TestServerIsChecked(t *testing.T) {
	tb := &fakeTB{TB: t}
	s := New(tb, Options{})
	tok, err := s.Mint("alice")
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"/api/v1/health", "/api/v1/threads", "/api/v1/threads?limit=0", "/api/v1/nothing", "/"} {
		req, _ := http.NewRequest("GET", s.URL+target, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if f := tb.failures(); len(f) > 0 {
		t.Errorf("the program's answers failed the check: %q", f)
	}
	if s.contract == nil || s.contract.tb != tb {
		t.Errorf("the server does not report to the test that started it")
	}
}
