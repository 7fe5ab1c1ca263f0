package tests

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/agcom/agcom/internal/config"
)

// hardBodyLimit is the MAX_REQUEST_BODY_BYTES of the body-limit tests.
const hardBodyLimit = 2048

// hardSizedSendBody returns a valid POST /messages body of exactly n bytes.
func hardSizedSendBody(t *testing.T, n int) string {
	t.Helper()
	prefix, suffix := `{"to_handles":["bob"],"subject":"big","body":"`, `"}`
	pad := n - len(prefix) - len(suffix)
	if pad < 1 {
		t.Fatalf("body of %d bytes is too small", n)
	}
	return prefix + strings.Repeat("a", pad) + suffix
}

// hardStreamReader hides its length from net/http, so that the request
// goes out with Transfer-Encoding: chunked and no Content-Length.
type hardStreamReader struct{ r io.Reader }

func (s hardStreamReader) Read(p []byte) (int, error) { return s.r.Read(p) }

func TestBodyLimit413(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.MaxBodyBytes = hardBodyLimit })
	tok := e.token("alice")

	send := func(t *testing.T, body string, chunked bool) (*http.Response, []byte) {
		t.Helper()
		var r io.Reader = strings.NewReader(body)
		if chunked {
			r = hardStreamReader{r}
		}
		req, err := http.NewRequest("POST", e.URL+"/api/v1/messages", r)
		if err != nil {
			t.Fatal(err)
		}
		if chunked {
			req.ContentLength = -1
		} else if req.ContentLength != int64(len(body)) {
			t.Fatalf("ContentLength = %d, want %d", req.ContentLength, len(body))
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("POST: %v", err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}

	for _, chunked := range []bool{false, true} {
		name := "content-length"
		if chunked {
			name = "chunked"
		}
		t.Run(name, func(t *testing.T) {
			resp, body := send(t, hardSizedSendBody(t, hardBodyLimit), chunked)
			if resp.StatusCode != http.StatusCreated {
				t.Errorf("body of exactly the limit: status %d, want 201; body %s", resp.StatusCode, body)
			}
			for _, n := range []int{hardBodyLimit + 1, 4 * hardBodyLimit, 64 << 10} {
				resp, body := send(t, hardSizedSendBody(t, n), chunked)
				eb := wantError(t, resp, body, http.StatusRequestEntityTooLarge, "PayloadTooLarge")
				if eb.Details == nil || fmt.Sprint((*eb.Details)["max_bytes"]) != fmt.Sprint(hardBodyLimit) {
					t.Errorf("%d bytes: error.details = %v, want max_bytes %d", n, eb.Details, hardBodyLimit)
				}
			}
		})
	}

	// Nothing of the refused bodies was stored: only the two at the limit.
	stats, err := e.App.Store.Stats(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if stats.Messages != 2 {
		t.Errorf("messages stored = %d, want 2 (only the bodies at the limit)", stats.Messages)
	}
}

func TestCORS(t *testing.T) {
	const allowed = "https://app.example.com"
	e := newEnv(t, func(c *config.Config) { c.CORSOrigins = []string{allowed} })

	preflight := func(t *testing.T, origin string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("OPTIONS", e.URL+"/api/v1/messages", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("OPTIONS: %v", err)
		}
		resp.Body.Close()
		return resp
	}

	t.Run("allowed origin preflight", func(t *testing.T) {
		resp := preflight(t, allowed)
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			t.Errorf("status %d, want 2xx (a preflight needs no token)", resp.StatusCode)
		}
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != allowed {
			t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, allowed)
		}
		if got := resp.Header.Get("Access-Control-Allow-Methods"); !strings.Contains(got, "POST") {
			t.Errorf("Access-Control-Allow-Methods = %q, want POST in it", got)
		}
		got := strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers"))
		for _, h := range []string{"authorization", "content-type"} {
			if !strings.Contains(got, h) {
				t.Errorf("Access-Control-Allow-Headers = %q, want %s in it", got, h)
			}
		}
	})

	t.Run("other origin preflight", func(t *testing.T) {
		resp := preflight(t, "https://evil.example.net")
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("Access-Control-Allow-Origin = %q, want none", got)
		}
		if got := resp.Header.Get("Access-Control-Allow-Methods"); got != "" {
			t.Errorf("Access-Control-Allow-Methods = %q, want none", got)
		}
	})

	t.Run("actual request", func(t *testing.T) {
		for _, origin := range []string{allowed, "https://evil.example.net"} {
			resp, _ := hardDo(t, nil, "GET", e.URL+"/api/v1/threads", e.token("alice"), nil, map[string]string{"Origin": origin})
			if resp.StatusCode != 200 {
				t.Fatalf("GET /threads from %s: status %d", origin, resp.StatusCode)
			}
			got := resp.Header.Get("Access-Control-Allow-Origin")
			if origin == allowed {
				if got != allowed {
					t.Errorf("from %s: Access-Control-Allow-Origin = %q, want %q", origin, got, allowed)
				}
				if exp := resp.Header.Get("Access-Control-Expose-Headers"); !strings.Contains(exp, "X-Request-Id") && !strings.Contains(exp, "X-Request-ID") {
					t.Errorf("Access-Control-Expose-Headers = %q, want X-Request-ID in it", exp)
				}
			} else if got != "" {
				t.Errorf("from %s: Access-Control-Allow-Origin = %q, want none", origin, got)
			}
			if got == "*" {
				t.Errorf("Access-Control-Allow-Origin is *")
			}
		}
	})
}

func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t)
	tok := e.token("alice")
	common := map[string]string{
		"X-Content-Type-Options": "nosniff",
		"X-Frame-Options":        "DENY",
	}
	check := func(t *testing.T, what string, resp *http.Response) string {
		t.Helper()
		for h, want := range common {
			if got := resp.Header.Get(h); !strings.EqualFold(got, want) {
				t.Errorf("%s: %s = %q, want %q", what, h, got, want)
			}
		}
		if got := resp.Header.Get("Referrer-Policy"); got == "" {
			t.Errorf("%s: no Referrer-Policy", what)
		}
		csp := resp.Header.Get("Content-Security-Policy")
		if csp == "" {
			t.Errorf("%s: no Content-Security-Policy", what)
		}
		if !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: Content-Security-Policy = %q, want frame-ancestors 'none'", what, csp)
		}
		return csp
	}

	api := []struct {
		name, method, path, token string
		status                    int
	}{
		{"health", "GET", "/api/v1/health", "", 200},
		{"authenticated", "GET", "/api/v1/threads", tok, 200},
		{"401", "GET", "/api/v1/threads", "", 401},
		{"404", "GET", "/api/v1/no/such/path", tok, 404},
		{"405", "DELETE", "/api/v1/threads", tok, 405},
		{"spec", "GET", "/api/v1/openapi.json", "", 200},
	}
	for _, c := range api {
		resp, body := e.do(c.method, c.path, c.token, "")
		if resp.StatusCode != c.status {
			t.Errorf("%s: status %d, want %d; body %.200s", c.name, resp.StatusCode, c.status, body)
		}
		csp := check(t, c.name, resp)
		if !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("%s: Content-Security-Policy = %q, want default-src 'none' for JSON", c.name, csp)
		}
	}

	resp, body := e.do("GET", "/api/v1/docs/", "", "")
	if resp.StatusCode != 200 {
		t.Fatalf("GET /api/v1/docs/: status %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("docs: Content-Type = %q, want text/html", ct)
	}
	csp := check(t, "docs", resp)
	if !regexp.MustCompile(`script-src[^;]*'self'`).MatchString(csp) {
		t.Errorf("docs: Content-Security-Policy = %q, want script-src 'self'", csp)
	}
	// Served offline: every script and stylesheet comes from this origin.
	for _, m := range regexp.MustCompile(`(?i)(?:src|href)\s*=\s*["']([^"']+)["']`).FindAllStringSubmatch(string(body), -1) {
		if strings.HasPrefix(m[1], "http:") || strings.HasPrefix(m[1], "https:") || strings.HasPrefix(m[1], "//") {
			t.Errorf("docs page loads %q from another origin (CSP would block it; the docs must work offline)", m[1])
		}
	}
}

// hardRawClient does not ask for or undo compression, so that the test
// sees Content-Encoding as sent.
var hardRawClient = &http.Client{Transport: &http.Transport{DisableCompression: true}}

func TestGzip(t *testing.T) {
	e := newEnv(t)
	tok := e.token("alice")
	for i := 0; i < 10; i++ {
		e.send("alice", []string{"bob"}, fmt.Sprintf("subject %d", i), strings.Repeat("some text that compresses well ", 10))
	}
	large := []struct{ name, path, token string }{
		{"spec", "/api/v1/openapi.json", ""},
		{"message list", "/api/v1/messages?limit=100", tok},
	}
	for _, c := range large {
		t.Run(c.name, func(t *testing.T) {
			plainResp, plain := hardDo(t, hardRawClient, "GET", e.URL+c.path, c.token, nil, nil)
			if plainResp.StatusCode != 200 || len(plain) <= 1024 {
				t.Fatalf("without gzip: status %d, %d bytes; want 200 and over 1 KB", plainResp.StatusCode, len(plain))
			}
			if ce := plainResp.Header.Get("Content-Encoding"); ce != "" {
				t.Errorf("without Accept-Encoding: Content-Encoding = %q, want none", ce)
			}
			resp, zipped := hardDo(t, hardRawClient, "GET", e.URL+c.path, c.token, nil, map[string]string{"Accept-Encoding": "gzip"})
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if ce := resp.Header.Get("Content-Encoding"); ce != "gzip" {
				t.Fatalf("Content-Encoding = %q, want gzip for a %d-byte response", ce, len(plain))
			}
			if v := strings.Join(resp.Header.Values("Vary"), ", "); !strings.Contains(strings.ToLower(v), "accept-encoding") {
				t.Errorf("Vary = %q, want Accept-Encoding", v)
			}
			zr, err := gzip.NewReader(bytes.NewReader(zipped))
			if err != nil {
				t.Fatalf("not gzip: %v", err)
			}
			unzipped, err := io.ReadAll(zr)
			if err != nil {
				t.Fatalf("gunzip: %v", err)
			}
			if len(zipped) >= len(unzipped) {
				t.Errorf("gzip body %d bytes, plain %d: not smaller", len(zipped), len(unzipped))
			}
			if !json.Valid(unzipped) {
				t.Errorf("gunzipped body is not JSON: %.200s", unzipped)
			}
			if !bytes.Equal(unzipped, plain) {
				t.Errorf("gunzipped %s differs from the plain one:\n%.300s\n%.300s", c.name, unzipped, plain)
			}
			// Again: a kept list is now sent as it was compressed the first time.
			resp, again := hardDo(t, hardRawClient, "GET", e.URL+c.path, c.token, nil, map[string]string{"Accept-Encoding": "gzip"})
			if ce := resp.Header.Get("Content-Encoding"); ce != "gzip" || !bytes.Equal(again, zipped) {
				t.Errorf("second gzip request: Content-Encoding %q, %d bytes; want gzip and the first body (%d bytes)", ce, len(again), len(zipped))
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("second gzip request: Content-Type = %q", ct)
			}
			// A client that also takes zstd gets it (the wrapper prefers it),
			// and one that refuses gzip gets plain JSON.
			resp, _ = hardDo(t, hardRawClient, "GET", e.URL+c.path, c.token, nil, map[string]string{"Accept-Encoding": "zstd, gzip"})
			if ce := resp.Header.Get("Content-Encoding"); ce != "zstd" {
				t.Errorf("Accept-Encoding zstd, gzip: Content-Encoding = %q, want zstd", ce)
			}
			resp, body := hardDo(t, hardRawClient, "GET", e.URL+c.path, c.token, nil, map[string]string{"Accept-Encoding": "gzip;q=0, identity"})
			if ce := resp.Header.Get("Content-Encoding"); ce != "" || !bytes.Equal(body, plain) {
				t.Errorf("Accept-Encoding gzip;q=0: Content-Encoding = %q, body equal to plain %t", ce, bytes.Equal(body, plain))
			}
		})
	}

	t.Run("tiny responses are not compressed", func(t *testing.T) {
		for _, p := range []struct{ path, token string }{{"/api/v1/health", ""}, {"/api/v1/threads/01J9ZQ4W4S3N0C5Q6Q9D8V7T2K", tok}} {
			resp, body := hardDo(t, hardRawClient, "GET", e.URL+p.path, p.token, nil, map[string]string{"Accept-Encoding": "gzip"})
			if ce := resp.Header.Get("Content-Encoding"); ce != "" {
				t.Errorf("GET %s (%d bytes): Content-Encoding = %q, want none", p.path, len(body), ce)
			}
			if !json.Valid(body) {
				t.Errorf("GET %s: body is not plain JSON: %q", p.path, body)
			}
		}
	})
}

// hardLogLine is one JSON line of the access log.
type hardLogLine struct {
	Msg       string `json:"msg"`
	Level     string `json:"level"`
	RequestID string `json:"request_id"`
	Method    string `json:"method"`
	Route     string `json:"route"`
	Path      string `json:"path"`
	Status    int    `json:"status"`
	Agent     string `json:"agent"`
	raw       string
}

// hardAccessLines waits until the log holds an access line for every id in
// want and returns the access lines by request id. Every log line must be
// a JSON object.
func hardAccessLines(t *testing.T, logs *hardLogBuffer, want ...string) map[string][]hardLogLine {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		byID := map[string][]hardLogLine{}
		bad := ""
		for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
			if line == "" {
				continue
			}
			var l hardLogLine
			if err := json.Unmarshal([]byte(line), &l); err != nil {
				bad = line
				continue
			}
			l.raw = line
			if l.Msg == "request" {
				byID[l.RequestID] = append(byID[l.RequestID], l)
			}
		}
		if bad != "" {
			t.Fatalf("log line is not JSON: %s", bad)
		}
		missing := ""
		for _, id := range want {
			if len(byID[id]) == 0 {
				missing = id
			}
		}
		if missing == "" {
			return byID
		}
		if time.Now().After(deadline) {
			t.Fatalf("no access log line for request %s; log:\n%s", missing, logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestAccessLog(t *testing.T) {
	s := hardBoot(t)
	tok := s.hardToken(t, "alice")
	badTok := tok[:len(tok)-4] + "AAAA"

	type call struct {
		id, method, path, token, body string
		status                        int
		route, agent                  string
	}
	resp, body := hardDo(t, nil, "POST", s.URL+"/api/v1/messages", tok, strings.NewReader(hardSendBody("bob", "log me", "hello")),
		map[string]string{"X-Request-ID": "hard-log-send"})
	if resp.StatusCode != 201 {
		t.Fatalf("send: status %d; body %s", resp.StatusCode, body)
	}
	var msg struct {
		ThreadID string `json:"thread_id"`
	}
	json.Unmarshal(body, &msg)

	calls := []call{
		{"hard-log-thread", "GET", "/api/v1/threads/" + msg.ThreadID, tok, "", 200, "/api/v1/threads/{thread_id}", "alice"},
		{"hard-log-badtoken", "GET", "/api/v1/threads", badTok, "", 401, "/api/v1/threads", ""},
		{"hard-log-404", "GET", "/api/v1/threads/" + msg.ThreadID + "/nope", tok, "", 404, "", ""},
		{"hard-log-400", "POST", "/api/v1/messages", tok, `{"to_handles":[]}`, 400, "/api/v1/messages", "alice"},
		{"hard-log-login", "POST", "/api/v1/auth/token", "", `{"agent_handle":"alice","agent_secret":"s3cr3t-in-body"}`, 401, "/api/v1/auth/token", ""},
	}
	ids := []string{"hard-log-send"}
	for _, c := range calls {
		var r io.Reader
		if c.body != "" {
			r = strings.NewReader(c.body)
		}
		resp, body := hardDo(t, nil, c.method, s.URL+c.path, c.token, r, map[string]string{"X-Request-ID": c.id})
		if resp.StatusCode != c.status {
			t.Errorf("%s: status %d, want %d; body %s", c.id, resp.StatusCode, c.status, body)
		}
		if got := resp.Header.Get("X-Request-ID"); got != c.id {
			t.Errorf("%s: X-Request-ID = %q, want the caller's id echoed", c.id, got)
		}
		ids = append(ids, c.id)
	}
	lines := hardAccessLines(t, s.Logs, ids...)

	calls = append(calls, call{"hard-log-send", "POST", "/api/v1/messages", tok, "", 201, "/api/v1/messages", "alice"})
	for _, c := range calls {
		got := lines[c.id]
		if len(got) != 1 {
			t.Errorf("%s: %d access lines, want 1", c.id, len(got))
			continue
		}
		l := got[0]
		if l.Status != c.status || l.Method != c.method || l.Agent != c.agent {
			t.Errorf("%s: logged status %d method %s agent %q; want %d %s %q\n%s", c.id, l.Status, l.Method, l.Agent, c.status, c.method, c.agent, l.raw)
		}
		if c.route != "" && l.Route != c.route {
			t.Errorf("%s: logged route %q, want the pattern %q", c.id, l.Route, c.route)
		}
		if regexp.MustCompile(`[0-9A-HJKMNP-TV-Z]{26}`).MatchString(l.Route) {
			t.Errorf("%s: logged route %q holds a raw id, want the pattern", c.id, l.Route)
		}
	}

	all := s.Logs.String()
	sig := tok[strings.LastIndex(tok, ".")+1:]
	for what, secret := range map[string]string{"token": tok, "token signature": sig, "bad token": badTok, "secret in a body": "s3cr3t-in-body"} {
		if strings.Contains(all, secret) {
			t.Errorf("the log contains the %s", what)
		}
	}
	if strings.Contains(strings.ToLower(all), "bearer") {
		t.Errorf("the log mentions a bearer header")
	}
}
