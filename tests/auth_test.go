package tests

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/agcom/agcom/gen/agcomv1"
)

func TestIssueToken(t *testing.T) {
	e := newSEnv(t, withAdmin(rootHandle, rootSecret))
	root := e.rootClient()
	cr, err := root.CreateAgentWithResponse(context.Background(), agcomv1.AgentCreate{Handle: "agent-x", DisplayName: ptr("Agent X")})
	if err != nil {
		t.Fatal(err)
	}
	if cr.JSON201 == nil {
		t.Fatalf("create agent: status %d: %s", cr.StatusCode(), cr.Body)
	}
	secret := cr.JSON201.AgentSecret
	e.remember(secret)

	before := time.Now().Add(-2 * time.Second)
	resp := e.issueToken("agent-x", secret)
	if resp.JSON200 == nil {
		t.Fatalf("POST /auth/token: status %d, want 200; body %s", resp.StatusCode(), resp.Body)
	}
	tok := *resp.JSON200
	if tok.TokenType != agcomv1.Bearer {
		t.Errorf("token_type = %q, want bearer", tok.TokenType)
	}
	if tok.ExpiresIn != 3600 {
		t.Errorf("expires_in = %d, want 3600 (ACCESS_TOKEN_EXPIRE_MINUTES defaults to 60)", tok.ExpiresIn)
	}
	claims := jwtClaims(t, tok.AccessToken)
	if claims["agent_handle"] != "agent-x" {
		t.Errorf("agent_handle claim = %v, want agent-x", claims["agent_handle"])
	}
	exp, _ := claims["exp"].(float64)
	iat, _ := claims["iat"].(float64)
	if iat < float64(before.Unix()) || exp-iat != 3600 {
		t.Errorf("iat = %v, exp = %v; want iat now and exp = iat + 3600", iat, exp)
	}

	// The token works on a protected endpoint, as agent-x.
	x := e.clientWithToken(tok.AccessToken)
	if got := listThreads(t, x); got.Pagination.Total != 0 {
		t.Errorf("agent-x's threads: total %d, want 0", got.Pagination.Total)
	}
	sr, err := x.SendMessageWithResponse(context.Background(), nil, agcomv1.SendMessageRequest{
		ToHandles: []string{"bob"}, Subject: "Hi", Body: "From a logged-in agent",
	})
	if err != nil {
		t.Fatal(err)
	}
	if sr.JSON201 == nil || sr.JSON201.FromHandle != "agent-x" {
		t.Errorf("send with the issued token: status %d body %s, want 201 from agent-x", sr.StatusCode(), sr.Body)
	}
}

func TestIssueTokenFailures(t *testing.T) {
	e := newSEnv(t, withAdmin(rootHandle, rootSecret))
	root := e.rootClient()
	bob := e.createAgent(root, "bob", false)
	dan := e.createAgent(root, "dan", false)
	if r, err := root.UpdateAgentWithResponse(context.Background(), "dan", agcomv1.AgentUpdate{Disabled: ptr(true)}); err != nil || r.JSON200 == nil {
		t.Fatalf("disable dan: %v %s", err, r.Body)
	}
	const wrong = "not-the-secret-but-long-enough-0123456789"
	e.remember(wrong)

	tests := []struct {
		name, handle, secret, reason string
	}{
		{"token401 wrong secret", "bob", wrong, "wrong_secret"},
		{"token401 unknown handle", "nobody", wrong, "unknown_agent"},
		{"token401 unknown handle with a real secret", "nobody2", bob.AgentSecret, "unknown_agent"},
		{"token401 disabled agent with its secret", "dan", dan.AgentSecret, "disabled"},
		{"token401 another agent's secret", "dan", bob.AgentSecret, "wrong_secret"},
	}
	var firstMessage string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := e.issueToken(tt.handle, tt.secret)
			if resp.JSON200 != nil {
				t.Fatalf("got a token, want 401")
			}
			eb := wantError(t, resp.HTTPResponse, resp.Body, http.StatusUnauthorized, "AuthenticationError")
			if firstMessage == "" {
				firstMessage = eb.Message
			} else if eb.Message != firstMessage {
				t.Errorf("message = %q, want the same as every other failed login: %q", eb.Message, firstMessage)
			}
			if eb.Details != nil {
				t.Errorf("details = %v, want none: the answer must not tell the cases apart", *eb.Details)
			}
		})
	}

	// Every failure left a token_issue_failure event aimed at the handle
	// tried, by nobody: a stranger cannot write entries as someone else.
	failures := auditEvents(t, root, agcomv1.ListAuditEventsParams{EventType: ptr(agcomv1.AuditEventTypeTokenIssueFailure)})
	if failures.Pagination.Total != len(tests) {
		t.Errorf("token_issue_failure events = %d, want %d", failures.Pagination.Total, len(tests))
	}
	for i, tt := range tests {
		// Newest first: the last attempt is the first event.
		j := len(tests) - 1 - i
		if j >= len(failures.Events) {
			break
		}
		ev := failures.Events[j]
		if ev.ActorHandle != nil || str(ev.TargetHandle) != tt.handle {
			t.Errorf("%s: event actor = %q, target %q; want no actor, target %q", tt.name, str(ev.ActorHandle), str(ev.TargetHandle), tt.handle)
		}
		if ev.Details["reason"] != tt.reason {
			t.Errorf("%s: event reason = %v, want %q", tt.name, ev.Details["reason"], tt.reason)
		}
	}

	// The right secret still works after the failures.
	if tok := e.login("bob", bob.AgentSecret); tok == "" {
		t.Errorf("bob's login after failures returned an empty token")
	}
}

// signHS signs claims with key and alg, using jwx.
func signHS(t *testing.T, alg jwa.SignatureAlgorithm, key string, build func(*jwt.Builder) *jwt.Builder) string {
	t.Helper()
	tok, err := build(jwt.NewBuilder()).Build()
	if err != nil {
		t.Fatalf("build token: %v", err)
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(alg, []byte(key)))
	if err != nil {
		t.Fatalf("sign token: %v", err)
	}
	return string(signed)
}

// unsigned returns a compact JWT with the given header and claims and the
// given signature part.
func unsigned(header string, claims map[string]any, sig string) string {
	payload, _ := json.Marshal(claims)
	return b64(header) + "." + b64(string(payload)) + "." + sig
}

func TestJWTAttacks(t *testing.T) {
	e := newSEnv(t, withAdmin(rootHandle, rootSecret))
	now := time.Now()
	valid := e.token("alice")
	validParts := strings.Split(valid, ".")
	goodClaims := map[string]any{"agent_handle": "alice", "exp": now.Add(time.Hour).Unix(), "iat": now.Unix()}
	withHandle := func(h any) func(*jwt.Builder) *jwt.Builder {
		return func(b *jwt.Builder) *jwt.Builder {
			return b.Claim("agent_handle", h).IssuedAt(now).Expiration(now.Add(time.Hour))
		}
	}
	tampered := func(claims map[string]any) string {
		payload, _ := json.Marshal(claims)
		return validParts[0] + "." + b64(string(payload)) + "." + validParts[2]
	}

	// The control: a good token passes, so the cases below fail for their attack only.
	if resp, body := e.do(http.MethodGet, "/api/v1/threads", valid, ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("a valid token: status %d, want 200; body %s", resp.StatusCode, body)
	}

	tests := []struct {
		name          string
		authorization string
	}{
		{"alg none, no signature", "Bearer " + unsigned(`{"alg":"none","typ":"JWT"}`, goodClaims, "")},
		{"alg none, signature kept", "Bearer " + unsigned(`{"alg":"none","typ":"JWT"}`, map[string]any{
			"agent_handle": "alice", "exp": now.Add(time.Hour).Unix()}, validParts[2])},
		{"alg None", "Bearer " + unsigned(`{"alg":"None"}`, goodClaims, "")},
		{"alg HS256, empty signature", "Bearer " + validParts[0] + "." + validParts[1] + "."},
		{"HS384 with the server's key", "Bearer " + signHS(t, jwa.HS384(), testSecretKey, withHandle("alice"))},
		{"HS512 with the server's key", "Bearer " + signHS(t, jwa.HS512(), testSecretKey, withHandle("alice"))},
		{"signed with another key", "Bearer " + signHS(t, jwa.HS256(), "another-key-that-is-long-enough-0123456789", withHandle("alice"))},
		{"tampered payload: handle changed to an admin", "Bearer " + tampered(map[string]any{
			"agent_handle": rootHandle, "exp": now.Add(time.Hour).Unix(), "iat": now.Unix()})},
		{"tampered payload: exp extended", "Bearer " + tampered(map[string]any{
			"agent_handle": "alice", "exp": now.Add(100 * time.Hour).Unix(), "iat": now.Unix()})},
		{"tampered signature", "Bearer " + validParts[0] + "." + validParts[1] + "." + flipLast(validParts[2])},
		{"expired", "Bearer " + mustMint(t, e, "alice", time.Hour, now.Add(-2*time.Hour))},
		{"no exp claim", "Bearer " + signHS(t, jwa.HS256(), testSecretKey, func(b *jwt.Builder) *jwt.Builder {
			return b.Claim("agent_handle", "alice").IssuedAt(now)
		})},
		{"invalid handle claim", "Bearer " + signHS(t, jwa.HS256(), testSecretKey, withHandle("Alice"))},
		{"handle claim not a string", "Bearer " + signHS(t, jwa.HS256(), testSecretKey, withHandle(42))},
		{"no handle claim", "Bearer " + signHS(t, jwa.HS256(), testSecretKey, func(b *jwt.Builder) *jwt.Builder {
			return b.Subject("alice").IssuedAt(now).Expiration(now.Add(time.Hour))
		})},
		{"garbage token", "Bearer not-a-token"},
		{"three garbage parts", "Bearer a.b.c"},
		{"Basic scheme", "Basic " + base64.StdEncoding.EncodeToString([]byte(rootHandle+":"+rootSecret))},
		{"valid token with Basic scheme", "Basic " + valid},
		{"token without scheme", valid},
		{"Bearer without token", "Bearer "},
		{"no Authorization header", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, path := range []string{"/api/v1/threads", "/api/v1/admin/stats"} {
				resp, body := e.doAuth(http.MethodGet, path, tt.authorization, "")
				wantError(t, resp, body, http.StatusUnauthorized, "AuthenticationError")
			}
		})
	}
}

// mustMint mints a token with the server's key at a chosen time.
func mustMint(t *testing.T, e *senv, handle string, ttl time.Duration, now time.Time) string {
	t.Helper()
	tok, err := e.App.Keys.Mint(handle, "", ttl, now)
	if err != nil {
		t.Fatalf("mint: %v", err)
	}
	return tok
}

// flipLast changes the last character of a base64url string to another
// valid one.
func flipLast(s string) string {
	last := s[len(s)-1]
	repl := byte('A')
	if last == 'A' {
		repl = 'Q'
	}
	return fmt.Sprintf("%s%c", s[:len(s)-1], repl)
}

func TestIssueTokenTiming(t *testing.T) {
	e := newSEnv(t, withAdmin(rootHandle, rootSecret))
	root := e.rootClient()
	e.createAgent(root, "bob", false)
	dan := e.createAgent(root, "dan", false)
	if r, err := root.UpdateAgentWithResponse(context.Background(), "dan", agcomv1.AgentUpdate{Disabled: ptr(true)}); err != nil || r.JSON200 == nil {
		t.Fatalf("disable dan: %v", err)
	}
	// fastest is the quickest of a few failed logins: noise only slows a
	// call down, so the minimum shows the work the server does.
	fastest := func(handle, secret string) time.Duration {
		t.Helper()
		best := time.Duration(1<<63 - 1)
		for range 3 {
			start := time.Now()
			r := e.issueToken(handle, secret)
			d := time.Since(start)
			if r.StatusCode() != http.StatusUnauthorized {
				t.Fatalf("login %s: status %d, want 401", handle, r.StatusCode())
			}
			best = min(best, d)
		}
		return best
	}
	wrongSecret := fastest("bob", "a-wrong-secret-for-bob-0123456789abcdef")
	tests := []struct {
		name           string
		handle, secret string
	}{
		{"unknown handle", "nobody", "a-wrong-secret-for-bob-0123456789abcdef"},
		{"disabled agent", "dan", dan.AgentSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A secret check costs tens of milliseconds; skipping it would be
			// an order of magnitude faster than a wrong secret.
			if got := fastest(tt.handle, tt.secret); got < wrongSecret/4 {
				t.Errorf("failed login took %v, a wrong secret %v: want similar times", got, wrongSecret)
			}
		})
	}
}
