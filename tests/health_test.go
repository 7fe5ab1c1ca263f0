package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
)

func TestHealth200(t *testing.T) {
	e := newMsgEnv(t)
	// Health needs no token, and a bad one does not get in its way.
	for _, tok := range []string{"", "garbage"} {
		t.Run("token "+tok, func(t *testing.T) {
			resp, err := e.clientWithToken(tok).GetHealthWithResponse(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if resp.JSON200 == nil {
				t.Fatalf("status = %d, want 200; body %s", resp.StatusCode(), resp.Body)
			}
			h := resp.JSON200
			if h.Status != "healthy" || h.Version != "test" {
				t.Errorf("health = %+v, want status healthy, version test", h)
			}
			wantUTC(t, "timestamp", h.Timestamp)
			if resp.HTTPResponse.Header.Get("X-Request-ID") == "" {
				t.Errorf("no X-Request-ID header")
			}
		})
	}
}

func TestReadiness200(t *testing.T) {
	e := newMsgEnv(t)
	resp, err := e.clientWithToken("").GetReadinessWithResponse(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if resp.JSON200 == nil {
		t.Fatalf("status = %d, want 200; body %s", resp.StatusCode(), resp.Body)
	}
	r := resp.JSON200
	if r.Status != "ready" || !r.Database.Connected || !r.Database.Initialized {
		t.Errorf("readiness = %+v, want ready, connected, initialized", r)
	}
	if r.Database.SchemaVersion == nil || *r.Database.SchemaVersion < 1 {
		t.Errorf("schema_version = %v, want at least 1", r.Database.SchemaVersion)
	}
	wantUTC(t, "timestamp", r.Timestamp)
}

func TestRoot200(t *testing.T) {
	e := newMsgEnv(t)
	resp, body := e.do(http.MethodGet, "/", "", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %s", resp.StatusCode, body)
	}
	var got map[string]any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("GET / is not JSON: %v: %s", err, body)
	}
	name, _ := got["name"].(string)
	if name == "" || !strings.Contains(name, "AgCom") {
		t.Errorf("name = %v, want AgCom's name", got["name"])
	}
	if got["version"] != "test" {
		t.Errorf("version = %v, want test", got["version"])
	}
	docs, _ := got["docs"].(string)
	if !strings.HasPrefix(docs, "/api/v1/docs") {
		t.Fatalf("docs = %v, want the docs path", got["docs"])
	}
	if r, b := e.do(http.MethodGet, docs, "", ""); r.StatusCode != http.StatusOK || !bytes.Contains(b, []byte("<html")) {
		t.Errorf("GET %s: status %d, want the docs page", docs, r.StatusCode)
	}
}

// contractFromDisk loads openapi.yaml as written.
func contractFromDisk(t *testing.T) (*openapi3.T, []byte) {
	t.Helper()
	raw, err := os.ReadFile("../openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatalf("load openapi.yaml: %v", err)
	}
	return doc, raw
}

func TestOpenAPIJSON200(t *testing.T) {
	e := newMsgEnv(t)
	want, _ := contractFromDisk(t)
	resp, body := e.do(http.MethodGet, "/api/v1/openapi.json", "", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, want 200", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Info    struct{ Title, Version string }       `json:"info"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("openapi.json does not parse: %v", err)
	}
	if doc.OpenAPI != want.OpenAPI || doc.Info.Title != want.Info.Title || doc.Info.Version != want.Info.Version {
		t.Errorf("openapi/title/version = %q/%q/%q, want %q/%q/%q", doc.OpenAPI, doc.Info.Title, doc.Info.Version,
			want.OpenAPI, want.Info.Title, want.Info.Version)
	}
	var gotPaths, wantPaths []string
	for p := range doc.Paths {
		gotPaths = append(gotPaths, p)
	}
	for p := range want.Paths.Map() {
		wantPaths = append(wantPaths, p)
	}
	slices.Sort(gotPaths)
	slices.Sort(wantPaths)
	if !slices.Equal(gotPaths, wantPaths) {
		t.Errorf("paths = %v, want %v", gotPaths, wantPaths)
	}
	if len(wantPaths) < 20 {
		t.Errorf("openapi.yaml has only %d paths", len(wantPaths))
	}
	// The same operations under each path.
	for p, item := range want.Paths.Map() {
		var wantOps, gotOps []string
		for m := range item.Operations() {
			wantOps = append(wantOps, strings.ToLower(m))
		}
		for k := range doc.Paths[p] {
			switch k {
			case "get", "put", "post", "delete", "patch", "head", "options", "trace":
				gotOps = append(gotOps, k)
			}
		}
		slices.Sort(wantOps)
		slices.Sort(gotOps)
		if !slices.Equal(gotOps, wantOps) {
			t.Errorf("%s: methods = %v, want %v", p, gotOps, wantOps)
		}
	}
}

func TestOpenAPIYAML200(t *testing.T) {
	e := newMsgEnv(t)
	_, raw := contractFromDisk(t)
	resp, body := e.do(http.MethodGet, "/api/v1/openapi.yaml", "", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, want 200", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.Contains(ct, "yaml") {
		t.Errorf("Content-Type = %q, want a YAML type", ct)
	}
	if !bytes.Equal(body, raw) {
		t.Errorf("served YAML (%d bytes) differs from openapi.yaml (%d bytes)", len(body), len(raw))
	}
	if _, err := openapi3.NewLoader().LoadFromData(body); err != nil {
		t.Errorf("served YAML does not load: %v", err)
	}
}

var assetRef = regexp.MustCompile(`(?i)(?:src|href)\s*=\s*["']([^"']+)["']`)

func TestDocs200(t *testing.T) {
	e := newMsgEnv(t)
	t.Run("redirect to the trailing slash", func(t *testing.T) {
		c := &http.Client{
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			Timeout:       10 * time.Second,
		}
		resp, err := c.Get(e.URL + "/api/v1/docs")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 3 || resp.Header.Get("Location") != "/api/v1/docs/" {
			t.Errorf("status %d Location %q, want a redirect to /api/v1/docs/", resp.StatusCode, resp.Header.Get("Location"))
		}
	})

	resp, body := e.do(http.MethodGet, "/api/v1/docs/", "", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, want 200", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("Content-Type = %q, want text/html", ct)
	}
	html := string(body)
	for _, cdn := range []string{"unpkg", "jsdelivr", "cdnjs", "googleapis", "cloudflare"} {
		if strings.Contains(strings.ToLower(html), cdn) {
			t.Errorf("docs page references %s; it must work offline", cdn)
		}
	}
	if !strings.Contains(html, "/api/v1/openapi.json") {
		t.Errorf("docs page does not load /api/v1/openapi.json")
	}
	refs := assetRef.FindAllStringSubmatch(html, -1)
	if len(refs) == 0 {
		t.Fatalf("docs page references no assets")
	}
	var js, css []string
	for _, m := range refs {
		ref := m[1]
		if !strings.HasPrefix(ref, "/api/v1/docs/") {
			t.Errorf("asset %q is not served under /api/v1/docs/", ref)
			continue
		}
		switch {
		case strings.HasSuffix(ref, ".js"):
			js = append(js, ref)
		case strings.HasSuffix(ref, ".css"):
			css = append(css, ref)
		}
	}
	if len(js) == 0 || len(css) == 0 {
		t.Fatalf("docs page has js %v and css %v, want both", js, css)
	}
	for _, ref := range append(js, css...) {
		t.Run(ref, func(t *testing.T) {
			resp, body := e.do(http.MethodGet, ref, "", "")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d, want 200", resp.StatusCode)
			}
			if len(body) < 1000 {
				t.Errorf("asset is %d bytes, want the real thing", len(body))
			}
			ct := resp.Header.Get("Content-Type")
			if strings.HasSuffix(ref, ".js") && !strings.Contains(ct, "javascript") {
				t.Errorf("Content-Type = %q, want JavaScript", ct)
			}
			if strings.HasSuffix(ref, ".css") && !strings.Contains(ct, "css") {
				t.Errorf("Content-Type = %q, want CSS", ct)
			}
		})
	}
}

// TestPublicEndpointsNeedNoToken: the probes, the spec and the docs answer
// without a token; the rest of the API does not.
func TestPublicEndpointsNeedNoToken(t *testing.T) {
	e := newMsgEnv(t)
	for _, p := range []string{"/", "/api/v1/health", "/api/v1/health/ready", "/api/v1/openapi.json", "/api/v1/openapi.yaml", "/api/v1/docs/"} {
		t.Run(p, func(t *testing.T) {
			if resp, body := e.do(http.MethodGet, p, "", ""); resp.StatusCode != http.StatusOK {
				t.Errorf("status = %d, want 200; body %.200s", resp.StatusCode, body)
			}
		})
	}
	resp, body := e.do(http.MethodGet, "/api/v1/threads", "", "")
	wantError(t, resp, body, http.StatusUnauthorized, "AuthenticationError")
}
