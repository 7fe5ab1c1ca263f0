package tests

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/agcom/agcom/gen/agcomv1"
	"github.com/agcom/agcom/internal/config"
)

// The identity provider tests run Ory Hydra, a real OAuth2/OIDC server
// (hydraTool), started with an in-memory database for each test.

// hydra is one running Hydra: its issuer (public) URL and admin URL.
type hydra struct {
	Issuer, Admin string
}

// freePort returns a port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startHydra starts Hydra on free ports with an in-memory database and
// JWT access tokens, and stops it when the test ends; ready waits until it
// answers.
func startHydra(t *testing.T, bin string) (h hydra, ready func()) {
	t.Helper()
	pub, adm := freePort(t), freePort(t)
	h = hydra{Issuer: fmt.Sprintf("http://127.0.0.1:%d", pub), Admin: fmt.Sprintf("http://127.0.0.1:%d", adm)}
	cmd := exec.Command(bin, "serve", "all", "--dev")
	cmd.Env = append(os.Environ(),
		"DSN=memory",
		"SERVE_PUBLIC_HOST=127.0.0.1", fmt.Sprintf("SERVE_PUBLIC_PORT=%d", pub),
		"SERVE_ADMIN_HOST=127.0.0.1", fmt.Sprintf("SERVE_ADMIN_PORT=%d", adm),
		"URLS_SELF_ISSUER="+h.Issuer,
		"STRATEGIES_ACCESS_TOKEN=jwt",
		"SECRETS_SYSTEM=a-system-secret-for-the-agcom-tests-0123",
		"LOG_LEVEL=error",
	)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start hydra: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return h, func() {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			resp, err := hydraClient.Get(h.Admin + "/health/ready")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("hydra not ready after 30 s: %v; logs:\n%s", err, logs.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// adminJSON sends body as JSON to Hydra's admin API and decodes the answer
// into out (when not nil).
func (h hydra) adminJSON(t *testing.T, method, path string, body, out any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, h.Admin+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	resp, err := hydraClient.Do(req)
	if err != nil {
		t.Fatalf("hydra %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		t.Fatalf("hydra %s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("hydra %s %s: %v: %s", method, path, err, raw)
		}
	}
}

// hydraClient talks to Hydra: not through the default transport, which
// checks answers against AgCom's contract.
var hydraClient = &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}

const hydraClientSecret = "a-client-secret-for-the-agcom-tests-0123"

// createClient registers an OAuth2 client with the id id, allowed the
// client credentials grant for audiences and scope.
func (h hydra) createClient(t *testing.T, id, scope string, audiences ...string) {
	t.Helper()
	h.adminJSON(t, http.MethodPost, "/admin/clients", map[string]any{
		"client_id": id, "client_secret": hydraClientSecret, "grant_types": []string{"client_credentials"},
		"audience": audiences, "scope": scope, "token_endpoint_auth_method": "client_secret_post",
	}, nil)
}

// token gets an access token for the client id by client credentials.
func (h hydra) token(t *testing.T, id, audience, scope string) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {hydraClientSecret},
		"audience": {audience}}
	if scope != "" {
		form.Set("scope", scope)
	}
	resp, err := hydraClient.PostForm(h.Issuer+"/oauth2/token", form)
	if err != nil {
		t.Fatalf("hydra token: %v", err)
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &out); err != nil || resp.StatusCode != http.StatusOK || out.AccessToken == "" {
		t.Fatalf("hydra token for %s: %d %s", id, resp.StatusCode, raw)
	}
	return out.AccessToken
}

// jwtHeader decodes a JWT's header.
func jwtHeader(t *testing.T, token string) map[string]any {
	t.Helper()
	seg, _, _ := strings.Cut(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatalf("token header: %v", err)
	}
	var h map[string]any
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatalf("token header: %v", err)
	}
	return h
}

// TestIdentityProvider runs AgCom trusting a real Hydra: tokens of its
// clients by client credentials work, and a wrong audience, an expired
// token, a token of another issuer, a handle AgCom cannot take and a
// disabled agent are refused; a key rotated at Hydra works on first use.
func TestIdentityProvider(t *testing.T) {
	bin := hydraTool.binary(t)
	idp, idpReady := startHydra(t, bin)
	other, otherReady := startHydra(t, bin) // another issuer, with keys of its own
	idpReady()
	otherReady()
	idp.createClient(t, "ci-runner", "agcom.read", "agcom", "elsewhere")
	idp.createClient(t, "ops-lead", "agcom.admin", "agcom")
	idp.createClient(t, "Bad Handle!", "", "agcom")
	idp.createClient(t, "brief", "", "agcom")
	idp.adminJSON(t, http.MethodPut, "/admin/clients/brief/lifespans",
		map[string]string{"client_credentials_grant_access_token_lifespan": "1s"}, nil)
	other.createClient(t, "ci-runner", "agcom.read", "agcom")

	e := newSEnv(t, withAdmin(rootHandle, rootSecret), func(c *config.Config) {
		c.OIDCIssuer, c.OIDCAudience, c.OIDCHandleClaim = idp.Issuer, "agcom", "client_id"
		c.OIDCAdminClaim, c.OIDCAdminValue = "scp", "agcom.admin"
		c.OIDCJWKSMinRefresh = 100 * time.Millisecond
		c.ClockSkew = time.Second
	})
	ctx := context.Background()
	root := e.clientWithToken(e.login(rootHandle, rootSecret))

	t.Run("ready200 keys loaded", func(t *testing.T) {
		resp, err := e.clientWithToken("").GetReadinessWithResponse(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if resp.JSON200 == nil || resp.JSON200.IdentityProvider == nil || !resp.JSON200.IdentityProvider.KeysLoaded {
			t.Fatalf("readiness = %s, want identity_provider.keys_loaded", resp.Body)
		}
	})

	runner := e.clientWithToken(idp.token(t, "ci-runner", "agcom", ""))
	t.Run("token201 works and registers the agent", func(t *testing.T) {
		resp, err := runner.SendMessageWithResponse(ctx, nil, agcomv1.SendMessageRequest{
			ToHandles: []string{"bob"}, Subject: "from the provider", Body: "signed in by client credentials",
		})
		if err != nil {
			t.Fatal(err)
		}
		if resp.JSON201 == nil || resp.JSON201.FromHandle != "ci-runner" {
			t.Fatalf("send: %d %s, want 201 from ci-runner", resp.StatusCode(), resp.Body)
		}
		agents, err := root.ListAgentsWithResponse(ctx, nil)
		if err != nil || agents.JSON200 == nil {
			t.Fatalf("list agents: %v", err)
		}
		if !strings.Contains(strings.Join(agentHandles(agents.JSON200.Agents), ","), "ci-runner") {
			t.Errorf("agents = %v, want ci-runner registered", agentHandles(agents.JSON200.Agents))
		}
		audit, err := root.ListAuditEventsWithResponse(ctx, &agcomv1.ListAuditEventsParams{
			EventType: ptr(agcomv1.AuditEventType("agent_provider_signin")),
		})
		if err != nil || audit.JSON200 == nil {
			t.Fatalf("audit: %v", err)
		}
		if n := audit.JSON200.Pagination.Total; n != 1 || *audit.JSON200.Events[0].TargetHandle != "ci-runner" {
			t.Errorf("agent_provider_signin events = %s, want one for ci-runner", audit.Body)
		}
		// Not an admin: its scope lacks agcom.admin.
		stats, err := runner.GetStatsWithResponse(ctx)
		if err != nil {
			t.Fatal(err)
		}
		wantError(t, stats.HTTPResponse, stats.Body, http.StatusForbidden, "PermissionDenied")
	})

	t.Run("admin claim200", func(t *testing.T) {
		lead := e.clientWithToken(idp.token(t, "ops-lead", "agcom", "agcom.admin"))
		resp, err := lead.GetStatsWithResponse(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if resp.JSON200 == nil {
			t.Fatalf("stats with the admin scope: %d %s, want 200", resp.StatusCode(), resp.Body)
		}
	})

	refused := func(t *testing.T, token, wantMessage string) {
		t.Helper()
		resp, body := e.do(http.MethodGet, "/api/v1/threads", token, "")
		got := wantError(t, resp, body, http.StatusUnauthorized, "AuthenticationError")
		if !strings.Contains(got.Message, wantMessage) {
			t.Errorf("message = %q, want it to say %q", got.Message, wantMessage)
		}
	}
	t.Run("wrong audience401", func(t *testing.T) {
		refused(t, idp.token(t, "ci-runner", "elsewhere", ""), "audience")
	})
	t.Run("other issuer401", func(t *testing.T) {
		refused(t, other.token(t, "ci-runner", "agcom", ""), "not signed by a key of the identity provider")
	})
	t.Run("invalid handle401", func(t *testing.T) {
		refused(t, idp.token(t, "Bad Handle!", "agcom", ""), "not a valid AgCom handle")
	})
	t.Run("expired401", func(t *testing.T) {
		tok := idp.token(t, "brief", "agcom", "")
		exp, _ := jwtClaims(t, tok)["exp"].(float64)
		// Past exp and the server's skew of 1 s.
		time.Sleep(time.Until(time.Unix(int64(exp), 0).Add(1100 * time.Millisecond)))
		refused(t, tok, "expired")
	})
	t.Run("disabled401", func(t *testing.T) {
		set := func(disabled bool) {
			resp, err := root.UpdateAgentWithResponse(ctx, "ci-runner", agcomv1.AgentUpdate{Disabled: ptr(disabled)})
			if err != nil || resp.JSON200 == nil {
				t.Fatalf("disable ci-runner=%t: %v", disabled, err)
			}
		}
		set(true)
		refused(t, idp.token(t, "ci-runner", "agcom", ""), "disabled")
		set(false)
		resp, err := runner.ListThreadsWithResponse(ctx, nil)
		if err != nil || resp.JSON200 == nil {
			t.Fatalf("enabled again: %v %d", err, resp.StatusCode())
		}
	})
	t.Run("rotated key200", func(t *testing.T) {
		before := jwtHeader(t, idp.token(t, "ci-runner", "agcom", ""))["kid"]
		idp.adminJSON(t, http.MethodPost, "/admin/keys/hydra.jwt.access-token",
			map[string]string{"alg": "ES256", "kid": "rotated-es256", "use": "sig"}, nil)
		tok := idp.token(t, "ci-runner", "agcom", "")
		if h := jwtHeader(t, tok); h["kid"] != "rotated-es256" || h["alg"] != "ES256" || h["kid"] == before {
			t.Fatalf("after rotation Hydra signs with %v, want the new ES256 key", h)
		}
		resp, err := e.clientWithToken(tok).ListThreadsWithResponse(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.JSON200 == nil {
			t.Fatalf("token of the rotated key: %d %s, want 200", resp.StatusCode(), resp.Body)
		}
	})
	t.Run("own tokens and keys still200", func(t *testing.T) {
		resp, err := e.client("alice").ListThreadsWithResponse(ctx, nil)
		if err != nil || resp.JSON200 == nil {
			t.Fatalf("HS256 token beside the provider: %v %d", err, resp.StatusCode())
		}
		key := e.createAPIKey(runner, agcomv1.ApiKeyCreate{Name: "from a provider identity"})
		list, err := e.apiKeyClient("X-API-Key", key.Key).ListMyApiKeysWithResponse(ctx, nil)
		if err != nil || list.JSON200 == nil || list.JSON200.ApiKeys[0].Handle != "ci-runner" {
			t.Fatalf("API key of a provider agent: %v %d", err, list.StatusCode())
		}
	})
}
