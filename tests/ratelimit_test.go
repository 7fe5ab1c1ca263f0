package tests

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agcom/agcom/gen/agcomv1"
	"github.com/agcom/agcom/internal/auth"
	"github.com/agcom/agcom/internal/config"
)

// hardRateHeaders checks the X-RateLimit-* headers of a limited response and
// returns X-RateLimit-Remaining.
func hardRateHeaders(t *testing.T, what string, resp *http.Response, limit int) int {
	t.Helper()
	if got := resp.Header.Get("X-RateLimit-Limit"); got != strconv.Itoa(limit) {
		t.Errorf("%s: X-RateLimit-Limit = %q, want %d", what, got, limit)
	}
	remaining, err := strconv.Atoi(resp.Header.Get("X-RateLimit-Remaining"))
	if err != nil {
		t.Fatalf("%s: X-RateLimit-Remaining = %q, want a number", what, resp.Header.Get("X-RateLimit-Remaining"))
	}
	reset, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64)
	if err != nil {
		t.Fatalf("%s: X-RateLimit-Reset = %q, want a Unix time", what, resp.Header.Get("X-RateLimit-Reset"))
	}
	if d := time.Until(time.Unix(reset, 0)); d < -time.Second || d > time.Minute+time.Second {
		t.Errorf("%s: X-RateLimit-Reset is %v from now, want within the one-minute window", what, d)
	}
	return remaining
}

// hardNoRateHeaders fails when a response carries any X-RateLimit-* header.
func hardNoRateHeaders(t *testing.T, what string, resp *http.Response) {
	t.Helper()
	for _, h := range []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} {
		if v := resp.Header.Get(h); v != "" {
			t.Errorf("%s: %s = %q, want no rate-limit headers", what, h, v)
		}
	}
}

func TestRateLimitPerCategory429(t *testing.T) {
	const limit = 3
	cases := []struct {
		name         string
		method, path string
		body         string
		wantStatus   int
		// other is a second route of the same category: it shares the budget.
		otherMethod, otherPath string
	}{
		{name: "write", method: "POST", path: "/api/v1/messages", body: hardSendBody("bob", "hi", "there"), wantStatus: 201,
			otherMethod: "POST", otherPath: "/api/v1/contacts"},
		{name: "read", method: "GET", path: "/api/v1/threads", wantStatus: 200,
			otherMethod: "GET", otherPath: "/api/v1/messages"},
		{name: "search", method: "GET", path: "/api/v1/messages/search?query=x", wantStatus: 200,
			otherMethod: "GET", otherPath: "/api/v1/contacts/search?query=x"},
		{name: "audit", method: "GET", path: "/api/v1/audit/events", wantStatus: 200,
			otherMethod: "GET", otherPath: "/api/v1/audit/events?event_type=message_send"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, hardLimits(limit, limit, limit, limit, limit))
			tok := e.token("alice")
			for i := 1; i <= limit; i++ {
				resp, body := e.do(tc.method, tc.path, tok, tc.body)
				if resp.StatusCode != tc.wantStatus {
					t.Fatalf("request %d: status %d, want %d; body %s", i, resp.StatusCode, tc.wantStatus, body)
				}
				if got := hardRateHeaders(t, "request "+strconv.Itoa(i), resp, limit); got != limit-i {
					t.Errorf("request %d: X-RateLimit-Remaining = %d, want %d", i, got, limit-i)
				}
			}
			resp, body := e.do(tc.method, tc.path, tok, tc.body)
			wantError(t, resp, body, http.StatusTooManyRequests, "RateLimitExceeded")
			after := hardRetryAfter(t, resp, body)
			if after > 60 {
				t.Errorf("retry_after = %d, want at most the 60 s window", after)
			}
			if got := hardRateHeaders(t, "limited request", resp, limit); got != 0 {
				t.Errorf("limited request: X-RateLimit-Remaining = %d, want 0", got)
			}

			// Another route of the same category shares the budget.
			resp, body = e.do(tc.otherMethod, tc.otherPath, tok, `{"handle":"carol"}`)
			wantError(t, resp, body, http.StatusTooManyRequests, "RateLimitExceeded")
		})
	}
}

func TestRateLimitCategoriesAreSeparate(t *testing.T) {
	e := newEnv(t, hardLimits(2, 2, 2, 2, 2))
	tok := e.token("alice")
	for i := 0; i < 2; i++ {
		if resp, body := e.do("POST", "/api/v1/messages", tok, hardSendBody("bob", "s", "b")); resp.StatusCode != 201 {
			t.Fatalf("write %d: status %d; body %s", i, resp.StatusCode, body)
		}
	}
	resp, body := e.do("POST", "/api/v1/messages", tok, hardSendBody("bob", "s", "b"))
	wantError(t, resp, body, http.StatusTooManyRequests, "RateLimitExceeded")

	// The write budget is spent; read, search and audit are untouched.
	for _, path := range []string{"/api/v1/threads", "/api/v1/messages/search?query=s", "/api/v1/audit/events"} {
		resp, body := e.do("GET", path, tok, "")
		if resp.StatusCode != 200 {
			t.Errorf("GET %s after the write budget is spent: status %d, want 200; body %s", path, resp.StatusCode, body)
			continue
		}
		if got := hardRateHeaders(t, path, resp, 2); got != 1 {
			t.Errorf("GET %s: X-RateLimit-Remaining = %d, want 1 (its own budget)", path, got)
		}
	}
}

func TestRateLimitPerAgentNotPerIP(t *testing.T) {
	const limit = 3
	e := newEnv(t, hardLimits(limit, 100, 100, 100, 100))
	alice, bob := e.token("alice"), e.token("bob")

	// Tokens that claim alice but are not hers (wrong key) are refused
	// before the limiter and must not spend her budget.
	otherKeys, err := auth.NewKeys("another-signing-key-0123456789abcdef")
	if err != nil {
		t.Fatal(err)
	}
	forged, err := otherKeys.Mint("alice", "", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		resp, body := e.do("POST", "/api/v1/messages", forged, hardSendBody("bob", "s", "b"))
		wantError(t, resp, body, http.StatusUnauthorized, "AuthenticationError")
	}

	for i := 1; i <= limit; i++ {
		resp, body := e.do("POST", "/api/v1/messages", alice, hardSendBody("bob", "s", "b"))
		if resp.StatusCode != 201 {
			t.Fatalf("alice write %d: status %d, want 201 (forged tokens must not count); body %s", i, resp.StatusCode, body)
		}
	}
	resp, body := e.do("POST", "/api/v1/messages", alice, hardSendBody("bob", "s", "b"))
	wantError(t, resp, body, http.StatusTooManyRequests, "RateLimitExceeded")

	// Same client IP, different verified agent: a budget of its own.
	resp, body = e.do("POST", "/api/v1/messages", bob, hardSendBody("alice", "s", "b"))
	if resp.StatusCode != 201 {
		t.Fatalf("bob after alice is limited: status %d, want 201; body %s", resp.StatusCode, body)
	}
	if got := hardRateHeaders(t, "bob", resp, limit); got != limit-1 {
		t.Errorf("bob: X-RateLimit-Remaining = %d, want %d", got, limit-1)
	}
}

func TestRateLimitExemptRoutes(t *testing.T) {
	e := newEnv(t, hardLimits(1, 1, 1, 1, 1))
	tok := e.token("alice")
	paths := []string{
		"/api/v1/health",
		"/api/v1/health/ready",
		"/api/v1/docs/",
		"/api/v1/openapi.json",
	}
	for _, p := range paths {
		for i := 0; i < 5; i++ {
			for _, token := range []string{"", tok} {
				resp, body := e.do("GET", p, token, "")
				if resp.StatusCode != 200 {
					t.Fatalf("GET %s (request %d, token %t): status %d, want 200; body %.200s", p, i, token != "", resp.StatusCode, body)
				}
				hardNoRateHeaders(t, "GET "+p, resp)
			}
		}
	}
}

// hardClientFrom returns an HTTP client whose connections come from the
// loopback address ip (any 127.0.0.0/8 address is local on Linux).
func hardClientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
	}}
}

func TestRateLimitAuthToken(t *testing.T) {
	const (
		limit     = 3 // failures per handle and client address
		addrLimit = 5 // failures per client address
	)
	e := newSEnv(t, withAdmin(rootHandle, rootSecret), hardLimits(100, 100, 100, 100, limit), func(c *config.Config) {
		c.RateAuthAddress = addrLimit
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.9.0/24")}
	})
	victim := e.createAgent(e.rootClient(), "victim", false)
	url := e.URL + "/api/v1/auth/token"
	login := func(t *testing.T, from, handle, secret string, hdr map[string]string) (*http.Response, []byte) {
		t.Helper()
		body := `{"agent_handle":"` + handle + `","agent_secret":"` + secret + `"}`
		resp, b, err := hardTry(hardClientFrom(from), "POST", url, "", strings.NewReader(body), hdr)
		if err != nil {
			if strings.Contains(err.Error(), "assign requested address") {
				t.Skipf("cannot dial from a second loopback address here: %v", err)
			}
			t.Fatalf("POST /auth/token: %v", err)
		}
		return resp, b
	}

	t.Run("strangers cannot lock the owner out", func(t *testing.T) {
		// Many wrong secrets for victim, each address up to its limit.
		for a := 1; a <= 3; a++ {
			from := "127.0.1." + strconv.Itoa(a)
			for i := 1; i <= limit; i++ {
				resp, body := login(t, from, "victim", "wrong-secret", nil)
				wantError(t, resp, body, http.StatusUnauthorized, "AuthenticationError")
				if got := hardRateHeaders(t, "failure "+strconv.Itoa(i), resp, limit); got != limit-i {
					t.Errorf("failure %d: X-RateLimit-Remaining = %d, want %d", i, got, limit-i)
				}
			}
			// That address may no longer try victim, even with the right secret...
			resp, body := login(t, from, "victim", victim.AgentSecret, nil)
			wantError(t, resp, body, http.StatusTooManyRequests, "RateLimitExceeded")
			hardRetryAfter(t, resp, body)
		}
		// ...but the owner, from its own address, logs in.
		resp, body := login(t, "127.0.2.1", "victim", victim.AgentSecret, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("the owner's login after strangers' failures: status %d, want 200; body %s", resp.StatusCode, body)
		}
	})

	t.Run("per client address", func(t *testing.T) {
		const from = "127.0.3.1"
		for i := 1; i <= addrLimit; i++ {
			resp, body := login(t, from, "addr-user-"+strconv.Itoa(i), "wrong-secret", nil)
			wantError(t, resp, body, http.StatusUnauthorized, "AuthenticationError")
		}
		// A fresh handle from the same address: the address's budget is spent.
		resp, body := login(t, from, "addr-user-new", "wrong-secret", nil)
		wantError(t, resp, body, http.StatusTooManyRequests, "RateLimitExceeded")
		hardRetryAfter(t, resp, body)
		// X-Forwarded-For from a peer that is not a trusted proxy is not
		// believed to reset it.
		resp, body = login(t, from, "addr-user-new2", "wrong-secret", map[string]string{"X-Forwarded-For": "203.0.113.9"})
		wantError(t, resp, body, http.StatusTooManyRequests, "RateLimitExceeded")
		// Another address has its own budget.
		resp, body = login(t, "127.0.3.2", "addr-user-other", "wrong-secret", nil)
		wantError(t, resp, body, http.StatusUnauthorized, "AuthenticationError")
	})

	t.Run("successful logins are not counted", func(t *testing.T) {
		for i := 0; i < limit+addrLimit; i++ {
			resp, body := login(t, "127.0.4.1", "victim", victim.AgentSecret, nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("login %d: status %d, want 200; body %s", i, resp.StatusCode, body)
			}
		}
	})

	t.Run("behind a trusted proxy", func(t *testing.T) {
		// Every client reaches the server from the proxy's address; the
		// proxy names each in X-Forwarded-For, and only its word counts.
		const proxy = "127.0.9.1"
		xff := func(client string) map[string]string {
			return map[string]string{"X-Forwarded-For": "198.51.100.77, " + client}
		}
		for i := 1; i <= limit; i++ {
			resp, body := login(t, proxy, "victim", "wrong-secret", xff("203.0.113.1"))
			wantError(t, resp, body, http.StatusUnauthorized, "AuthenticationError")
		}
		resp, body := login(t, proxy, "victim", victim.AgentSecret, xff("203.0.113.1"))
		wantError(t, resp, body, http.StatusTooManyRequests, "RateLimitExceeded")
		// The owner, another client of the same proxy, is not refused.
		resp, body = login(t, proxy, "victim", victim.AgentSecret, xff("203.0.113.2"))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("the owner behind the proxy: status %d, want 200; body %s", resp.StatusCode, body)
		}
		// The failures name the client the proxy saw, not the proxy.
		page := auditEvents(t, e.rootClient(), agcomv1.ListAuditEventsParams{
			EventType: ptr(agcomv1.AuditEventTypeTokenIssueFailure), TargetHandle: ptr("victim"), Limit: ptr(1),
		})
		if len(page.Events) != 1 || page.Events[0].Details["client_address"] != "203.0.113.1" {
			t.Errorf("newest failure = %+v, want client_address 203.0.113.1", page.Events)
		}
	})
}

func TestRateLimitDisabled(t *testing.T) {
	// RATE_LIMIT_ENABLED=false (the harness default) with tiny limits
	// configured: nothing is limited and no limit headers are sent.
	e := newEnv(t, func(c *config.Config) {
		c.RateWrite, c.RateRead, c.RateSearch, c.RateAudit, c.RateAuth = 1, 1, 1, 1, 1
	})
	if e.App.Config.RateLimits {
		t.Fatalf("harness default: RateLimits = true, want false")
	}
	tok := e.token("alice")
	for i := 0; i < 4; i++ {
		for _, r := range []struct{ method, path, body string }{
			{"POST", "/api/v1/messages", hardSendBody("bob", "s", "b")},
			{"GET", "/api/v1/threads", ""},
			{"GET", "/api/v1/messages/search?query=s", ""},
			{"GET", "/api/v1/audit/events", ""},
			{"POST", "/api/v1/auth/token", `{"agent_handle":"alice","agent_secret":"x"}`},
		} {
			token := tok
			if strings.HasSuffix(r.path, "/auth/token") {
				token = ""
			}
			resp, body := e.do(r.method, r.path, token, r.body)
			if resp.StatusCode == http.StatusTooManyRequests {
				t.Fatalf("%s %s (round %d): 429 with rate limits disabled; body %s", r.method, r.path, i, body)
			}
			if resp.StatusCode >= 500 {
				t.Fatalf("%s %s: status %d; body %s", r.method, r.path, resp.StatusCode, body)
			}
			hardNoRateHeaders(t, r.method+" "+r.path, resp)
		}
	}
}
