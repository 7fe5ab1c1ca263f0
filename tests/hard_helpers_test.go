package tests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agcom/agcom/gen/agcomv1"
	"github.com/agcom/agcom/internal/app"
	"github.com/agcom/agcom/internal/config"
	"github.com/agcom/agcom/internal/testserver"
)

// Helpers of the hardening tests (rate limits, body limit, CORS, headers,
// gzip, access log, metrics, busy database, backup, crash, fuzzing and the
// spec-driven negative test). Every name starts with "hard" so that it does
// not collide with the helpers of the other test files.

// hardAdminHandle and hardAdminSecret are the bootstrap admin of the tests
// that need one.
const (
	hardAdminHandle = "hardroot"
	hardAdminSecret = "hardroot-secret-0123456789-0123456789"
)

// hardWithAdmin makes start-up create the admin hardAdminHandle.
func hardWithAdmin(c *config.Config) {
	c.AdminHandle = hardAdminHandle
	c.AdminSecret = hardAdminSecret
}

// hardLimits turns rate limiting on with the given per-minute limits.
func hardLimits(write, read, search, audit, authn int) func(*config.Config) {
	return func(c *config.Config) {
		c.RateLimits = true
		c.RateWrite, c.RateRead, c.RateSearch, c.RateAudit, c.RateAuth = write, read, search, audit, authn
	}
}

// hardLogBuffer is an io.Writer that the server's goroutines may write to
// while the test reads it.
type hardLogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *hardLogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *hardLogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// hardServer is the whole program behind httptest, built by the test itself
// (not newEnv), so that it can take a *testing.F and a log writer.
type hardServer struct {
	URL        string
	MetricsURL string
	App        *app.App
	Logs       *hardLogBuffer
	srv        *testserver.Server
}

// hardBoot boots the program on a temporary database with rate limits off
// and INFO logs going to the returned server's Logs.
func hardBoot(tb testing.TB, opts ...func(*config.Config)) *hardServer {
	tb.Helper()
	logs := &hardLogBuffer{}
	s := testserver.New(tb, testserver.Options{
		Env:    map[string]string{"LOG_LEVEL": "INFO"},
		Logs:   logs,
		Config: append([]func(*config.Config){onTestStore(tb)}, opts...),
	})
	return &hardServer{URL: s.URL, MetricsURL: s.MetricsURL, App: s.App, Logs: logs, srv: s}
}

// hardToken mints a token for handle with the server's key.
func (s *hardServer) hardToken(tb testing.TB, handle string) string {
	tb.Helper()
	tok, err := s.App.Keys.Mint(handle, "", time.Hour, time.Now())
	if err != nil {
		tb.Fatalf("mint token for %s: %v", handle, err)
	}
	return tok
}

// hardDo sends one request with hc (http.DefaultClient when nil). A token,
// when not empty, goes in a bearer Authorization header; hdr adds headers.
// It returns the response (body closed) and its body.
func hardDo(tb testing.TB, hc *http.Client, method, url, token string, body io.Reader, hdr map[string]string) (*http.Response, []byte) {
	tb.Helper()
	resp, b, err := hardTry(hc, method, url, token, body, hdr)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, url, err)
	}
	return resp, b
}

// hardTry is hardDo that returns the transport error instead of failing.
func hardTry(hc *http.Client, method, url, token string, body io.Reader, hdr map[string]string) (*http.Response, []byte, error) {
	if hc == nil {
		hc = http.DefaultClient
	}
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		return nil, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, err
	}
	return resp, b, nil
}

// hardSendBody is a valid POST /messages body.
func hardSendBody(to, subject, body string) string {
	b, _ := json.Marshal(map[string]any{"to_handles": []string{to}, "subject": subject, "body": body})
	return string(b)
}

// hardEnvelopeProblem returns what is wrong with an error response, or ""
// when it is the JSON error envelope with a known type and a request id
// equal to X-Request-ID. It does not fail the test, so that callers can
// add context.
func hardEnvelopeProblem(resp *http.Response, body []byte) string {
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return fmt.Sprintf("Content-Type = %q, want application/json", ct)
	}
	if resp.Request != nil && resp.Request.Method == http.MethodHead {
		// A HEAD answer has no body: its headers are all of the envelope it shows.
		if resp.Header.Get("X-Request-ID") == "" {
			return "no X-Request-ID"
		}
		return ""
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return fmt.Sprintf("body is not a JSON object: %v", err)
	}
	if _, ok := raw["error"]; !ok || len(raw) != 1 {
		return "body is not {\"error\": {...}}"
	}
	var env agcomv1.ErrorEnvelope
	if err := json.Unmarshal(body, &env); err != nil {
		return fmt.Sprintf("body is not the error envelope: %v", err)
	}
	if !hardErrorTypes[string(env.Error.Type)] {
		return fmt.Sprintf("error.type %q is not one of the contract's types", env.Error.Type)
	}
	if env.Error.Message == "" {
		return "error.message is empty"
	}
	if env.Error.RequestId == "" || env.Error.RequestId != resp.Header.Get("X-Request-ID") {
		return fmt.Sprintf("error.request_id %q, X-Request-ID %q: want equal and non-empty",
			env.Error.RequestId, resp.Header.Get("X-Request-ID"))
	}
	if want, ok := hardStatusOfType[string(env.Error.Type)]; ok && want != resp.StatusCode {
		return fmt.Sprintf("status %d with error.type %s, want status %d", resp.StatusCode, env.Error.Type, want)
	}
	return ""
}

// hardErrorTypes are the envelope's types in the contract.
var hardErrorTypes = map[string]bool{
	"ValidationError": true, "AuthenticationError": true, "PermissionDenied": true, "NotFound": true,
	"MethodNotAllowed": true, "Conflict": true, "VersionConflict": true, "PayloadTooLarge": true,
	"RateLimitExceeded": true, "InternalError": true, "DatabaseBusy": true, "ServiceUnavailable": true,
	"RangeNotSatisfiable": true,
}

// hardStatusOfType is the status each envelope type comes with.
var hardStatusOfType = map[string]int{
	"ValidationError": 400, "AuthenticationError": 401, "PermissionDenied": 403, "NotFound": 404,
	"MethodNotAllowed": 405, "Conflict": 409, "VersionConflict": 409, "PayloadTooLarge": 413,
	"RateLimitExceeded": 429, "InternalError": 500, "DatabaseBusy": 503, "ServiceUnavailable": 503,
	"RangeNotSatisfiable": 416,
}

// hardRetryAfter checks a 429 or 503 for error.retry_after > 0 and a
// Retry-After header with the same number of seconds, and returns it.
func hardRetryAfter(t *testing.T, resp *http.Response, body []byte) int {
	t.Helper()
	var env agcomv1.ErrorEnvelope
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatalf("not the error envelope: %v: %s", err, body)
	}
	if env.Error.RetryAfter == nil || *env.Error.RetryAfter <= 0 {
		t.Fatalf("error.retry_after = %v, want > 0; body %s", env.Error.RetryAfter, body)
	}
	h := resp.Header.Get("Retry-After")
	n, err := strconv.Atoi(h)
	if err != nil || n <= 0 {
		t.Fatalf("Retry-After = %q, want a positive number of seconds", h)
	}
	if n != *env.Error.RetryAfter {
		t.Errorf("Retry-After = %d, error.retry_after = %d; want equal", n, *env.Error.RetryAfter)
	}
	return n
}

// The agcomd binary, built once per test binary.
var (
	hardBinOnce sync.Once
	hardBinPath string
	hardBinErr  error
)

// hardAgcomd returns the path of the real agcomd binary, built (once per
// test binary) with the tests' tags into tmp/agcomd under the module root.
// It builds under a unique name and renames, so that concurrent test runs
// never execute a half-written file.
func hardAgcomd(t *testing.T) string {
	t.Helper()
	hardBinOnce.Do(func() {
		root, err := filepath.Abs("..")
		if err != nil {
			hardBinErr = err
			return
		}
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
			hardBinErr = fmt.Errorf("module root: %w", err)
			return
		}
		dir := filepath.Join(root, "tmp")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			hardBinErr = err
			return
		}
		tmp := filepath.Join(dir, fmt.Sprintf("agcomd.%d.tmp", os.Getpid()))
		cmd := exec.Command("go", "build", "-tags", "sqlite_fts5", "-o", tmp, "./cmd/agcomd")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			os.Remove(tmp)
			hardBinErr = fmt.Errorf("go build ./cmd/agcomd: %v\n%s", err, out)
			return
		}
		bin := filepath.Join(dir, "agcomd")
		if err := os.Rename(tmp, bin); err != nil {
			hardBinErr = err
			return
		}
		hardBinPath = bin
	})
	if hardBinErr != nil {
		t.Fatal(hardBinErr)
	}
	return hardBinPath
}

// hardFreePort returns a TCP port that was free a moment ago.
func hardFreePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
