package console_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/agcom/agcom/internal/console"
	"github.com/agcom/agcom/internal/testserver"
)

// noRedirect reads a redirect as the answer.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func get(t *testing.T, url string, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := noRedirect.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("GET %s: read: %v", url, err)
	}
	return res, string(body)
}

func TestConsoleServed(t *testing.T) {
	srv := testserver.New(t, testserver.Options{})

	res, body := get(t, srv.URL+"/console/")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /console/: status %d, want 200", res.StatusCode)
	}
	if got := res.Header.Get("Content-Security-Policy"); got != console.CSP {
		t.Errorf("GET /console/: CSP %q, want %q", got, console.CSP)
	}
	if strings.Contains(console.CSP, "unsafe-inline") || strings.Contains(console.CSP, "unsafe-eval") {
		t.Errorf("the console's CSP allows inline or eval'd code: %q", console.CSP)
	}
	if got := res.Header.Get("Content-Type"); !strings.HasPrefix(got, "text/html") {
		t.Errorf("GET /console/: Content-Type %q, want text/html", got)
	}
	for _, h := range []string{"X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"} {
		if res.Header.Get(h) == "" {
			t.Errorf("GET /console/: no %s header", h)
		}
	}
	for _, want := range []string{`<script src="console.js" defer></script>`, `<link rel="stylesheet" href="style.css">`} {
		if !strings.Contains(body, want) {
			t.Errorf("index.html lacks %s", want)
		}
	}
	if strings.Contains(body, "<style") || strings.Contains(body, "style=") || strings.Count(body, "<script") != 1 {
		t.Errorf("index.html has inline script or style:\n%s", body)
	}

	// Every asset index.html names is served with its type and the same CSP.
	for path, typ := range map[string]string{"console.js": "text/javascript", "style.css": "text/css", "icon.svg": "image/svg+xml"} {
		res, body := get(t, srv.URL+"/console/"+path)
		if res.StatusCode != http.StatusOK || len(body) == 0 {
			t.Errorf("GET /console/%s: status %d, %d bytes", path, res.StatusCode, len(body))
			continue
		}
		if got := res.Header.Get("Content-Type"); !strings.HasPrefix(got, typ) {
			t.Errorf("GET /console/%s: Content-Type %q, want %s", path, got, typ)
		}
		if got := res.Header.Get("Content-Security-Policy"); got != console.CSP {
			t.Errorf("GET /console/%s: CSP %q", path, got)
		}
		etag := res.Header.Get("ETag")
		if etag == "" {
			t.Errorf("GET /console/%s: no ETag", path)
			continue
		}
		if res, _ := get(t, srv.URL+"/console/"+path, "If-None-Match", etag); res.StatusCode != http.StatusNotModified {
			t.Errorf("GET /console/%s with its ETag: status %d, want 304", path, res.StatusCode)
		}
	}

	res, _ = get(t, srv.URL+"/console")
	if res.StatusCode != http.StatusMovedPermanently || res.Header.Get("Location") != "/console/" {
		t.Errorf("GET /console: status %d to %q, want 301 to /console/", res.StatusCode, res.Header.Get("Location"))
	}
}

func TestConsoleUnknownPath404(t *testing.T) {
	srv := testserver.New(t, testserver.Options{})
	for _, path := range []string{"/console/nope.js", "/console/assets/console.js", "/console/index.html/x", "/console/../go.mod"} {
		res, body := get(t, srv.URL+path)
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", path, res.StatusCode)
			continue
		}
		var env struct {
			Error struct{ Type string } `json:"error"`
		}
		if err := json.Unmarshal([]byte(body), &env); err != nil || env.Error.Type != "NotFound" {
			t.Errorf("GET %s: body %q, want the NotFound error envelope", path, body)
		}
	}
}
