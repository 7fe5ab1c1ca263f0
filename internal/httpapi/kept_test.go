package httpapi

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/agcom/agcom/internal/agcom"
)

// TestKeptJSON: a kept answer is encoded (and compressed) once, then
// written as it was, byte for byte; each form is what a fresh encoding
// gives.
func TestKeptJSON(t *testing.T) {
	large := map[string]string{"text": strings.Repeat("compressible ", 200)}
	small := map[string]string{"text": "short"}
	want := func(v any) []byte {
		var buf bytes.Buffer
		json.NewEncoder(&buf).Encode(v)
		return buf.Bytes()
	}
	write := func(k keptJSON) (body []byte, encoding string) {
		t.Helper()
		rec := httptest.NewRecorder()
		if err := k.write(rec); err != nil {
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
			memo, built := agcom.NewMemo(nil), 0
			k := keptJSON{memo: memo, kind: "ListThreads", gzip: c.gzip, body: func() any { built++; return c.body }}
			first, enc1 := write(k)
			second, enc2 := write(k)
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

	t.Run("each operation and encoding has its own bytes", func(t *testing.T) {
		memo := agcom.NewMemo(nil)
		plain, _ := write(keptJSON{memo: memo, kind: "ListContacts", body: func() any { return large }})
		zipped, enc := write(keptJSON{memo: memo, kind: "ListContacts", gzip: true, body: func() any { return large }})
		if enc != "gzip" || !bytes.Equal(gunzip(zipped), plain) {
			t.Errorf("gzip after plain: encoding %q", enc)
		}
		other, _ := write(keptJSON{memo: memo, kind: "SearchContacts", body: func() any { return small }})
		if !bytes.Equal(other, want(small)) {
			t.Errorf("another operation got %q", other)
		}
	})

	t.Run("no memo: encoded every time", func(t *testing.T) {
		built := 0
		k := keptJSON{kind: "ListThreads", body: func() any { built++; return small }}
		write(k)
		write(k)
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
