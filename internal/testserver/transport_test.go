package testserver

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestTransport: a client-side check fails on what a server-side check
// would, hands the body on unchanged, and passes an event stream on unread.
func TestTransport(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v1/health", answer(t, http.StatusOK, "application/json", "", health))
	mux.HandleFunc("/api/v1/health/ready", answer(t, http.StatusTeapot, "application/json", "", envelope))
	mux.HandleFunc("/api/v1/events/stream", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte("retry: 2000\n\n"))
		w.(http.Flusher).Flush()
		<-r.Context().Done() // a stream that never ends: read whole, it would hang
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	tr, err := NewTransport(http.DefaultTransport)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: tr}
	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := hc.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.Header.Get("Content-Type") == "text/event-stream" {
			return resp, ""
		}
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, string(b)
	}
	if _, body := get("/api/v1/health"); body != health {
		t.Errorf("body handed on = %q, want %q", body, health)
	}
	if err := tr.Err(); err != nil {
		t.Fatalf("a declared answer was reported: %v", err)
	}
	get("/api/v1/events/stream")
	if err := tr.Err(); err != nil {
		t.Fatalf("a declared stream was reported: %v", err)
	}
	get("/api/v1/health/ready")
	if err := tr.Err(); err == nil || !strings.Contains(err.Error(), "418") || !strings.Contains(err.Error(), "getReadiness") {
		t.Errorf("Err = %v, want the undeclared 418 of getReadiness", err)
	}
	tb := &fakeTB{TB: t}
	tr.ReportTo(tb)
	if got := tb.failures(); len(got) != 1 {
		t.Errorf("ReportTo sent %d kept mismatches, want 1", len(got))
	}
}
