package tests

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/agcom/agcom/gen/agcomv1"
	"github.com/agcom/agcom/internal/config"
)

// Helpers shared by the contacts, audit, auth, admin and CLI tests.

// hashMarker starts every argon2id hash in PHC format; no response may
// contain one.
const hashMarker = "$argon2id$"

// Admin bootstrap credentials used by the tests that need an admin.
const (
	rootHandle = "root"
	rootSecret = "root-secret-for-contract-tests-0123456789"
)

// withAdmin makes start-up create (or refresh) the admin handle/secret.
func withAdmin(handle, secret string) func(*config.Config) {
	return func(c *config.Config) {
		c.AdminHandle = handle
		c.AdminSecret = secret
	}
}

// withDBPath points the server at an existing database file.
func withDBPath(path string) func(*config.Config) {
	return func(c *config.Config) { c.DBPath = path }
}

// secretScanner is an http.RoundTripper that reads every response body and
// records a violation when it holds a secret hash, or an agent secret
// outside the two responses allowed to show it (create and rotate-secret).
type secretScanner struct {
	base http.RoundTripper

	mu         sync.Mutex
	secrets    map[string]bool
	violations []string
	scanned    int
}

func (s *secretScanner) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := s.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	s.inspect(req, b)
	return resp, nil
}

func (s *secretScanner) inspect(req *http.Request, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scanned++
	where := req.Method + " " + req.URL.Path
	if bytes.Contains(body, []byte(hashMarker)) {
		s.violations = append(s.violations, where+": response contains a secret hash: "+string(body))
	}
	if secretMayShow(req) {
		return
	}
	for secret := range s.secrets {
		if bytes.Contains(body, []byte(secret)) {
			s.violations = append(s.violations, where+": response contains an agent secret: "+string(body))
		}
	}
}

// secretMayShow reports whether req is one of the calls whose response
// shows a (new) secret: creating an agent, rotating its secret, creating
// an API key.
func secretMayShow(req *http.Request) bool {
	p := strings.TrimPrefix(req.URL.Path, "/api/v1")
	return req.Method == http.MethodPost &&
		(p == "/admin/agents" || p == "/agents/me/api-keys" ||
			strings.HasPrefix(p, "/admin/agents/") && strings.HasSuffix(p, "/rotate-secret"))
}

// senv is an env whose requests all go through a secretScanner; at the end
// of the test every violation the scanner saw fails the test.
type senv struct {
	*env
	scan *secretScanner
	hc   *http.Client
}

// newSEnv boots a server like newEnv and scans every response received
// through the returned env's helpers.
func newSEnv(t *testing.T, opts ...func(*config.Config)) *senv {
	t.Helper()
	e := newEnv(t, opts...)
	s := &secretScanner{base: http.DefaultTransport, secrets: map[string]bool{}}
	t.Cleanup(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, v := range s.violations {
			t.Errorf("secret leak: %s", v)
		}
		if s.scanned == 0 {
			t.Errorf("secret scanner saw no responses")
		}
	})
	return &senv{env: e, scan: s, hc: &http.Client{Transport: s}}
}

// remember registers a secret that must not appear in later responses
// other than create and rotate-secret.
func (s *senv) remember(secret string) {
	s.scan.mu.Lock()
	defer s.scan.mu.Unlock()
	s.scan.secrets[secret] = true
}

// client returns a scanned generated client acting as handle.
func (s *senv) client(handle string) *agcomv1.ClientWithResponses {
	s.t.Helper()
	return s.clientWithToken(s.token(handle))
}

// clientWithToken returns a scanned generated client that sends token; an
// empty token sends no Authorization header.
func (s *senv) clientWithToken(token string) *agcomv1.ClientWithResponses {
	s.t.Helper()
	c, err := agcomv1.NewClientWithResponses(s.URL+"/api/v1",
		agcomv1.WithHTTPClient(s.hc),
		agcomv1.WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			return nil
		}))
	if err != nil {
		s.t.Fatalf("client: %v", err)
	}
	return c
}

// do sends a raw request with a bearer token (none when empty).
func (s *senv) do(method, path, token, body string) (*http.Response, []byte) {
	s.t.Helper()
	auth := ""
	if token != "" {
		auth = "Bearer " + token
	}
	return s.doAuth(method, path, auth, body)
}

// doAuth sends a raw request with the given Authorization header value
// (none when empty).
func (s *senv) doAuth(method, path, authorization, body string) (*http.Response, []byte) {
	s.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.URL+path, r)
	if err != nil {
		s.t.Fatalf("request: %v", err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatalf("read body: %v", err)
	}
	return resp, b
}

// send opens a thread from `from` to `to` through a scanned client.
func (s *senv) send(from string, to []string, subject, body string) agcomv1.Message {
	s.t.Helper()
	resp, err := s.client(from).SendMessageWithResponse(context.Background(), nil, agcomv1.SendMessageRequest{
		ToHandles: to, Subject: subject, Body: body,
	})
	if err != nil {
		s.t.Fatalf("send: %v", err)
	}
	if resp.JSON201 == nil {
		s.t.Fatalf("send: status %d, body %s", resp.StatusCode(), resp.Body)
	}
	return *resp.JSON201
}

// issueToken calls POST /auth/token and returns the raw response.
func (s *senv) issueToken(handle, secret string) *agcomv1.IssueTokenResponse {
	s.t.Helper()
	resp, err := s.clientWithToken("").IssueTokenWithResponse(context.Background(), agcomv1.TokenRequest{
		AgentHandle: handle, AgentSecret: secret,
	})
	if err != nil {
		s.t.Fatalf("issue token: %v", err)
	}
	return resp
}

// login exchanges a secret for a token and fails the test if it cannot.
func (s *senv) login(handle, secret string) string {
	s.t.Helper()
	resp := s.issueToken(handle, secret)
	if resp.JSON200 == nil {
		s.t.Fatalf("POST /auth/token as %s: status %d, body %s", handle, resp.StatusCode(), resp.Body)
	}
	return resp.JSON200.AccessToken
}

// rootClient is a client acting as the bootstrap admin, logged in with its
// secret.
func (s *senv) rootClient() *agcomv1.ClientWithResponses {
	s.t.Helper()
	return s.clientWithToken(s.login(rootHandle, rootSecret))
}

// createAgent registers an agent through the admin API and remembers its
// secret.
func (s *senv) createAgent(admin *agcomv1.ClientWithResponses, handle string, isAdmin bool) agcomv1.AgentCredentials {
	s.t.Helper()
	resp, err := admin.CreateAgentWithResponse(context.Background(), agcomv1.AgentCreate{Handle: handle, IsAdmin: &isAdmin})
	if err != nil {
		s.t.Fatalf("create agent %s: %v", handle, err)
	}
	if resp.JSON201 == nil {
		s.t.Fatalf("create agent %s: status %d, body %s", handle, resp.StatusCode(), resp.Body)
	}
	s.remember(resp.JSON201.AgentSecret)
	return *resp.JSON201
}

// createContact adds an address book entry and fails the test if it cannot.
func createContact(t *testing.T, c *agcomv1.ClientWithResponses, body agcomv1.ContactCreate) agcomv1.Contact {
	t.Helper()
	resp, err := c.CreateContactWithResponse(context.Background(), nil, body)
	if err != nil {
		t.Fatalf("create contact %s: %v", body.Handle, err)
	}
	if resp.JSON201 == nil {
		t.Fatalf("create contact %s: status %d, body %s", body.Handle, resp.StatusCode(), resp.Body)
	}
	return *resp.JSON201
}

// deactivateContact deactivates an entry and fails the test if it cannot.
func deactivateContact(t *testing.T, c *agcomv1.ClientWithResponses, handle string) {
	t.Helper()
	resp, err := c.DeactivateContactWithResponse(context.Background(), handle)
	if err != nil {
		t.Fatalf("deactivate contact %s: %v", handle, err)
	}
	if resp.JSON200 == nil {
		t.Fatalf("deactivate contact %s: status %d, body %s", handle, resp.StatusCode(), resp.Body)
	}
}

// listThreads returns the caller's threads and fails the test on any
// status but 200.
func listThreads(t *testing.T, c *agcomv1.ClientWithResponses) agcomv1.ThreadPage {
	t.Helper()
	limit := 100
	resp, err := c.ListThreadsWithResponse(context.Background(), &agcomv1.ListThreadsParams{Limit: &limit})
	if err != nil {
		t.Fatalf("list threads: %v", err)
	}
	if resp.JSON200 == nil {
		t.Fatalf("list threads: status %d, body %s", resp.StatusCode(), resp.Body)
	}
	return *resp.JSON200
}

// auditEvents lists audit events with params and fails the test on any
// status but 200.
func auditEvents(t *testing.T, c *agcomv1.ClientWithResponses, p agcomv1.ListAuditEventsParams) agcomv1.AuditEventPage {
	t.Helper()
	if p.Limit == nil {
		p.Limit = ptr(100)
	}
	resp, err := c.ListAuditEventsWithResponse(context.Background(), &p)
	if err != nil {
		t.Fatalf("list audit events: %v", err)
	}
	if resp.JSON200 == nil {
		t.Fatalf("list audit events: status %d, body %s", resp.StatusCode(), resp.Body)
	}
	for _, ev := range resp.JSON200.Events {
		var first *string
		if len(ev.TargetHandles) > 0 {
			first = &ev.TargetHandles[0]
		}
		if str(ev.TargetHandle) != str(first) || (ev.TargetHandle == nil) != (first == nil) {
			t.Errorf("%s %s: target_handle %v, want the first of target_handles %v",
				ev.EventType, ev.EventId, str(ev.TargetHandle), ev.TargetHandles)
		}
	}
	return *resp.JSON200
}

// jwtClaims decodes the payload of a compact JWT without verifying it.
func jwtClaims(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q has %d parts, want 3", token, len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("token payload is not base64url: %v", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatalf("token payload is not JSON: %v: %s", err, raw)
	}
	return claims
}

// b64 is base64url without padding, as JWTs use it.
func b64(s string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }

// str shows an optional string in messages.
func str(p *string) string {
	if p == nil {
		return "<null>"
	}
	return *p
}
