package tests

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/agcom/agcom/gen/agcomv1"
	"github.com/agcom/agcom/internal/config"
)

// apiKeyClient returns a scanned generated client that sends key in
// header: "Authorization" (as a bearer token) or "X-API-Key".
func (s *senv) apiKeyClient(header, key string) *agcomv1.ClientWithResponses {
	s.t.Helper()
	c, err := agcomv1.NewClientWithResponses(s.URL+"/api/v1",
		agcomv1.WithHTTPClient(s.hc),
		agcomv1.WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
			if header == "Authorization" {
				req.Header.Set("Authorization", "Bearer "+key)
			} else {
				req.Header.Set(header, key)
			}
			return nil
		}))
	if err != nil {
		s.t.Fatalf("client: %v", err)
	}
	return c
}

// createAPIKey creates a key for the client's agent and remembers it as a
// secret no later response may show.
func (s *senv) createAPIKey(c *agcomv1.ClientWithResponses, body agcomv1.ApiKeyCreate) agcomv1.ApiKeyCreated {
	s.t.Helper()
	resp, err := c.CreateApiKeyWithResponse(context.Background(), body)
	if err != nil {
		s.t.Fatal(err)
	}
	if resp.JSON201 == nil {
		s.t.Fatalf("create API key: status %d, body %s", resp.StatusCode(), resp.Body)
	}
	s.remember(resp.JSON201.Key)
	return *resp.JSON201
}

// wantKeyStatus fails unless an API key's request got status.
func wantKeyStatus(t *testing.T, what string, got int, body []byte, want int) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: status %d, want %d; body %s", what, got, want, body)
	}
}

func TestAPIKeys(t *testing.T) {
	e := newSEnv(t, withAdmin(rootHandle, rootSecret), func(c *config.Config) { c.MaxAPIKeysPerAgent = 3 })
	ctx := context.Background()
	root := e.clientWithToken(e.login(rootHandle, rootSecret))
	if resp, err := root.CreateAgentWithResponse(ctx, agcomv1.AgentCreate{Handle: "bob"}); err != nil || resp.JSON201 == nil {
		t.Fatalf("create bob: %v %v", err, resp)
	}
	alice := e.client("alice") // unregistered: minted with the server's key
	bob := e.client("bob")

	created := e.createAPIKey(alice, agcomv1.ApiKeyCreate{Name: "nightly CI"})
	if !strings.HasPrefix(created.Key, "agk_"+created.ApiKey.KeyId+"_") || len(created.Key) < 70 {
		t.Errorf("key = %q, want agk_<key_id>_<secret>", created.Key)
	}
	if k := created.ApiKey; k.Handle != "alice" || k.Name != "nightly CI" || k.ExpiresAt != nil || k.LastUsedAt != nil {
		t.Errorf("api_key = %+v, want alice's, named, without expiry or use", k)
	}

	t.Run("use201 both headers", func(t *testing.T) {
		for _, header := range []string{"Authorization", "X-API-Key"} {
			c := e.apiKeyClient(header, created.Key)
			resp, err := c.SendMessageWithResponse(ctx, nil, agcomv1.SendMessageRequest{
				ToHandles: []string{"bob"}, Subject: "via " + header, Body: "sent with an API key",
			})
			if err != nil {
				t.Fatal(err)
			}
			wantKeyStatus(t, header, resp.StatusCode(), resp.Body, http.StatusCreated)
			if resp.JSON201.FromHandle != "alice" {
				t.Errorf("%s: from_handle = %s, want alice", header, resp.JSON201.FromHandle)
			}
		}
	})

	t.Run("list200 without secret, with last use", func(t *testing.T) {
		resp, err := e.apiKeyClient("X-API-Key", created.Key).ListMyApiKeysWithResponse(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		wantKeyStatus(t, "list", resp.StatusCode(), resp.Body, http.StatusOK)
		if len(resp.JSON200.ApiKeys) != 1 || resp.JSON200.ApiKeys[0].KeyId != created.ApiKey.KeyId || resp.JSON200.Pagination.Total != 1 {
			t.Fatalf("keys = %+v, want alice's one key", resp.JSON200)
		}
		if resp.JSON200.ApiKeys[0].LastUsedAt == nil {
			t.Errorf("last_used_at is null after the key was used")
		}
		// Bob's list is his own: empty.
		other, err := bob.ListMyApiKeysWithResponse(ctx, nil)
		if err != nil || other.JSON200 == nil || len(other.JSON200.ApiKeys) != 0 {
			t.Errorf("bob's keys = %v %s, want none", err, other.Body)
		}
	})

	t.Run("use401 malformed", func(t *testing.T) {
		for _, key := range []string{"agk_nonsense", created.Key[:len(created.Key)-1] + "x", "agk_01J9ZQ4W4S3N0C5Q6Q9D8V7T2K_" + strings.Repeat("a", 52)} {
			resp, body := e.doAuth(http.MethodGet, "/api/v1/threads", "Bearer "+key, "")
			wantError(t, resp, body, http.StatusUnauthorized, "AuthenticationError")
		}
		req, _ := http.NewRequest(http.MethodGet, e.URL+"/api/v1/threads", nil)
		req.Header.Set("X-API-Key", e.token("alice")) // a JWT is no API key
		resp, err := e.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("a JWT in X-API-Key: status %d, want 401", resp.StatusCode)
		}
	})

	t.Run("create400", func(t *testing.T) {
		for name, body := range map[string]agcomv1.ApiKeyCreate{
			"past expiry": {Name: "old", ExpiresAt: ptr(time.Now().Add(-time.Minute))},
			"blank name":  {Name: "   "},
		} {
			resp, err := alice.CreateApiKeyWithResponse(ctx, body)
			if err != nil {
				t.Fatal(err)
			}
			t.Log(name)
			wantError(t, resp.HTTPResponse, resp.Body, http.StatusBadRequest, "ValidationError")
		}
	})

	t.Run("limit400", func(t *testing.T) {
		e.createAPIKey(bob, agcomv1.ApiKeyCreate{Name: "one"})
		e.createAPIKey(bob, agcomv1.ApiKeyCreate{Name: "two"})
		e.createAPIKey(bob, agcomv1.ApiKeyCreate{Name: "three"})
		resp, err := bob.CreateApiKeyWithResponse(ctx, agcomv1.ApiKeyCreate{Name: "four"})
		if err != nil {
			t.Fatal(err)
		}
		got := wantError(t, resp.HTTPResponse, resp.Body, http.StatusBadRequest, "ValidationError")
		if got.Details == nil || (*got.Details)["limit"] != "api_keys_per_agent" || (*got.Details)["max"] != float64(3) {
			t.Errorf("details = %v, want limit api_keys_per_agent, max 3", got.Details)
		}
	})

	t.Run("expiry401", func(t *testing.T) {
		short := e.createAPIKey(alice, agcomv1.ApiKeyCreate{Name: "short", ExpiresAt: ptr(time.Now().Add(1500 * time.Millisecond))})
		if short.ApiKey.ExpiresAt == nil {
			t.Fatalf("expires_at is null")
		}
		c := e.apiKeyClient("Authorization", short.Key)
		resp, err := c.ListThreadsWithResponse(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		wantKeyStatus(t, "before expiry", resp.StatusCode(), resp.Body, http.StatusOK)
		time.Sleep(time.Until(*short.ApiKey.ExpiresAt) + 50*time.Millisecond)
		resp, err = c.ListThreadsWithResponse(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		got := wantError(t, resp.HTTPResponse, resp.Body, http.StatusUnauthorized, "AuthenticationError")
		if !strings.Contains(got.Message, "expired") {
			t.Errorf("message = %q, want it to say the key expired", got.Message)
		}
	})

	t.Run("admin list and revoke", func(t *testing.T) {
		// Others may not.
		resp, err := bob.ListAgentApiKeysWithResponse(ctx, "alice", nil)
		if err != nil {
			t.Fatal(err)
		}
		wantError(t, resp.HTTPResponse, resp.Body, http.StatusForbidden, "PermissionDenied")
		rv, err := bob.RevokeAgentApiKeyWithResponse(ctx, "alice", created.ApiKey.KeyId)
		if err != nil {
			t.Fatal(err)
		}
		wantError(t, rv.HTTPResponse, rv.Body, http.StatusForbidden, "PermissionDenied")
		// Bob cannot revoke alice's key as if it were his own either.
		mine, err := bob.RevokeMyApiKeyWithResponse(ctx, created.ApiKey.KeyId)
		if err != nil {
			t.Fatal(err)
		}
		wantError(t, mine.HTTPResponse, mine.Body, http.StatusNotFound, "NotFound")

		list, err := root.ListAgentApiKeysWithResponse(ctx, "bob", nil)
		if err != nil {
			t.Fatal(err)
		}
		wantKeyStatus(t, "admin list", list.StatusCode(), list.Body, http.StatusOK)
		if n := len(list.JSON200.ApiKeys); n != 3 || list.JSON200.ApiKeys[0].Name != "three" {
			t.Fatalf("bob's keys = %+v, want three, newest first", list.JSON200.ApiKeys)
		}
		victim := list.JSON200.ApiKeys[0].KeyId
		rv, err = root.RevokeAgentApiKeyWithResponse(ctx, "bob", victim)
		if err != nil {
			t.Fatal(err)
		}
		wantKeyStatus(t, "admin revoke", rv.StatusCode(), rv.Body, http.StatusNoContent)
		again, _ := root.RevokeAgentApiKeyWithResponse(ctx, "bob", victim)
		wantError(t, again.HTTPResponse, again.Body, http.StatusNotFound, "NotFound")
		list, _ = root.ListAgentApiKeysWithResponse(ctx, "bob", nil)
		if list.JSON200 == nil || len(list.JSON200.ApiKeys) != 2 {
			t.Errorf("after the revoke bob has %s, want two keys", list.Body)
		}
	})

	t.Run("disabled and revoked tokens401", func(t *testing.T) {
		k := e.createAPIKey(bob, agcomv1.ApiKeyCreate{Name: "disable me"})
		if resp, _ := bob.RevokeMyApiKeyWithResponse(ctx, mustFirstKey(t, e, root, "bob", "one")); resp.StatusCode() != http.StatusNoContent {
			t.Fatalf("revoke bob's key: %d %s", resp.StatusCode(), resp.Body)
		}
		key := e.apiKeyClient("X-API-Key", k.Key)
		status := func() int {
			resp, err := key.ListThreadsWithResponse(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			return resp.StatusCode()
		}
		if got := status(); got != http.StatusOK {
			t.Fatalf("before disabling: %d, want 200", got)
		}
		setDisabled := func(v bool) {
			resp, err := root.UpdateAgentWithResponse(ctx, "bob", agcomv1.AgentUpdate{Disabled: ptr(v)})
			if err != nil || resp.JSON200 == nil {
				t.Fatalf("disable bob=%t: %v %s", v, err, resp.Body)
			}
		}
		setDisabled(true)
		if got := status(); got != http.StatusUnauthorized {
			t.Errorf("disabled agent's key: %d, want 401", got)
		}
		setDisabled(false)
		if got := status(); got != http.StatusOK {
			t.Errorf("enabled again: %d, want 200", got)
		}
		if resp, err := root.RevokeAgentTokensWithResponse(ctx, "bob"); err != nil || resp.JSON200 == nil {
			t.Fatalf("revoke bob's tokens: %v", err)
		}
		resp, err := key.ListThreadsWithResponse(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		wantError(t, resp.HTTPResponse, resp.Body, http.StatusUnauthorized, "AuthenticationError")
	})

	t.Run("revoke401", func(t *testing.T) {
		rv, err := alice.RevokeMyApiKeyWithResponse(ctx, created.ApiKey.KeyId)
		if err != nil {
			t.Fatal(err)
		}
		wantKeyStatus(t, "revoke", rv.StatusCode(), rv.Body, http.StatusNoContent)
		for _, header := range []string{"Authorization", "X-API-Key"} {
			resp, err := e.apiKeyClient(header, created.Key).ListThreadsWithResponse(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			wantError(t, resp.HTTPResponse, resp.Body, http.StatusUnauthorized, "AuthenticationError")
		}
	})

	t.Run("audit", func(t *testing.T) {
		for typ, want := range map[agcomv1.AuditEventType]int{"api_key_create": 6, "api_key_revoke": 3} {
			resp, err := root.ListAuditEventsWithResponse(ctx, &agcomv1.ListAuditEventsParams{EventType: ptr(typ)})
			if err != nil {
				t.Fatal(err)
			}
			wantKeyStatus(t, string(typ), resp.StatusCode(), resp.Body, http.StatusOK)
			if got := resp.JSON200.Pagination.Total; got != want {
				t.Errorf("%s events = %d, want %d: %s", typ, got, want, resp.Body)
			}
		}
		// Alice sees her own.
		resp, err := alice.ListAuditEventsWithResponse(ctx, &agcomv1.ListAuditEventsParams{EventType: ptr(agcomv1.AuditEventType("api_key_revoke"))})
		if err != nil {
			t.Fatal(err)
		}
		if resp.JSON200 == nil || len(resp.JSON200.Events) != 1 || resp.JSON200.Events[0].Details["key_id"] != created.ApiKey.KeyId {
			t.Errorf("alice's revoke events = %s, want her one revoke", resp.Body)
		}
	})
}

// mustFirstKey returns the id of handle's key named name, as an admin sees it.
func mustFirstKey(t *testing.T, e *senv, admin *agcomv1.ClientWithResponses, handle, name string) string {
	t.Helper()
	resp, err := admin.ListAgentApiKeysWithResponse(context.Background(), handle, nil)
	if err != nil || resp.JSON200 == nil {
		t.Fatalf("list %s's keys: %v", handle, err)
	}
	for _, k := range resp.JSON200.ApiKeys {
		if k.Name == name {
			return k.KeyId
		}
	}
	t.Fatalf("%s has no key named %s", handle, name)
	return ""
}
