package httpapi

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestListJSON: an answer the store shares is encoded (and compressed)
// once, then written as it was, byte for byte; each form is what a fresh
// encoding gives; another answer, even an equal one, is encoded afresh.
func TestListJSON(t *testing.T) {
	large := map[string]string{"text": strings.Repeat("compressible ", 200)}
	small := map[string]string{"text": "short"}
	want := func(v any) []byte {
		var buf bytes.Buffer
		json.NewEncoder(&buf).Encode(v)
		return buf.Bytes()
	}
	kept, err := newEncodings(16)
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{encodings: kept}
	// answer returns the list answer to op for items, for a client that
	// takes gzip or not, and counts the times it is built.
	answer := func(s *Server, op string, items []int, gz bool, body any, built *int) listJSON {
		ctx := context.WithValue(context.Background(), requestInfoKey{}, &requestInfo{gzip: gz})
		return newListJSON(ctx, s, op, items, func() any { *built++; return body })
	}
	write := func(l listJSON) (body []byte, encoding string) {
		t.Helper()
		rec := httptest.NewRecorder()
		if err := l.write(rec); err != nil {
			t.Fatal(err)
		}
		if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("status %d, Content-Type %q", rec.Code, rec.Header().Get("Content-Type"))
		}
		return rec.Body.Bytes(), rec.Header().Get("Content-Encoding")
	}
	gunzip := func(b []byte) []byte {
		t.Helper()
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("not gzip: %v", err)
		}
		out, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}

	cases := []struct {
		name     string
		body     any
		gzip     bool
		encoding string
	}{
		{"large, plain", large, false, ""},
		{"large, gzip", large, true, "gzip"},
		{"small, gzip client", small, true, ""}, // under gzhttp.DefaultMinSize
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			items, built := []int{1, 2}, 0
			first, enc1 := write(answer(srv, "ListThreads", items, c.gzip, c.body, &built))
			second, enc2 := write(answer(srv, "ListThreads", items, c.gzip, c.body, &built))
			if built != 1 {
				t.Errorf("answer encoded %d times, want once", built)
			}
			if enc1 != c.encoding || enc2 != c.encoding || !bytes.Equal(first, second) {
				t.Errorf("encodings %q then %q (want %q); bodies equal %t", enc1, enc2, c.encoding, bytes.Equal(first, second))
			}
			got := first
			if c.encoding == "gzip" {
				got = gunzip(first)
			}
			if !bytes.Equal(got, want(c.body)) {
				t.Errorf("body %.80q, want %.80q", got, want(c.body))
			}
		})
	}

	t.Run("each answer, operation and encoding has its own bytes", func(t *testing.T) {
		items, built := []int{1}, 0
		plain, _ := write(answer(srv, "ListContacts", items, false, large, &built))
		zipped, enc := write(answer(srv, "ListContacts", items, true, large, &built))
		if enc != "gzip" || !bytes.Equal(gunzip(zipped), plain) {
			t.Errorf("gzip after plain: encoding %q", enc)
		}
		if other, _ := write(answer(srv, "SearchContacts", items, false, small, &built)); !bytes.Equal(other, want(small)) {
			t.Errorf("another operation got %q", other)
		}
		if equal, _ := write(answer(srv, "ListContacts", []int{1}, false, small, &built)); !bytes.Equal(equal, want(small)) {
			t.Errorf("another answer with equal items got %q", equal)
		}
		if built != 4 {
			t.Errorf("encoded %d times, want 4", built)
		}
	})

	t.Run("none kept: encoded every time", func(t *testing.T) {
		items, built := []int{1}, 0
		write(answer(&Server{}, "ListThreads", items, false, small, &built))
		write(answer(&Server{}, "ListThreads", items, false, small, &built))
		if built != 2 {
			t.Errorf("encoded %d times, want 2", built)
		}
	})
}

func TestGzipChosen(t *testing.T) {
	for _, c := range []struct {
		header []string
		want   bool
	}{
		{nil, false},
		{[]string{"gzip"}, true},
		{[]string{"deflate, GZIP;q=0.5"}, true},
		{[]string{"identity", "gzip"}, true},
		{[]string{"gzip;q=0"}, false},
		{[]string{"gzip; q=0.000"}, false},
		{[]string{"zstd, gzip"}, false},
		{[]string{"gzip, *"}, false},
		{[]string{"br"}, false},
	} {
		if got := gzipChosen(c.header); got != c.want {
			t.Errorf("gzipChosen(%q) = %t, want %t", c.header, got, c.want)
		}
	}
}

// TestLongEncodingsAreNotKept: an encoding over maxKeptEncoding is made
// again for every request rather than kept.
func TestLongEncodingsAreNotKept(t *testing.T) {
	kept, err := newEncodings(16)
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{encodings: kept}
	items := []int{1}
	for _, c := range []struct {
		text string
		kept bool
	}{{"short", true}, {strings.Repeat("x", maxKeptEncoding), false}} {
		built := 0
		for range 2 {
			l := newListJSON(context.Background(), srv, "op "+c.text[:1], items, func() any { built++; return map[string]string{"text": c.text} })
			if err := l.write(httptest.NewRecorder()); err != nil {
				t.Fatal(err)
			}
		}
		if want := map[bool]int{true: 1, false: 2}[c.kept]; built != want {
			t.Errorf("%d-byte text: encoded %d times for two requests, want %d", len(c.text), built, want)
		}
	}
}
