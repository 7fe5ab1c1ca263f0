package main

import (
	"strings"
	"testing"

	"github.com/agcom/agcom/gen/agcomv1"
)

// TestAPIKeys: a key made with `agcom api-keys create` works as the token,
// shows in the list, and stops working once revoked.
func TestAPIKeys(t *testing.T) {
	s := newServer(t)
	alice := s.as(t, "alice")

	var created agcomv1.ApiKeyCreated
	alice.json(&created, "api-keys", "create", "deploy script", "--expires", "24h")
	if !strings.HasPrefix(created.Key, "agk_") || created.ApiKey.ExpiresAt == nil {
		t.Fatalf("created = %+v, want an agk_ key with an expiry", created)
	}
	byKey := s.newUser(t)
	byKey.env["AGCOM_TOKEN"] = created.Key
	byKey.ok("send", "bob", "--subject", "from a script", "--body", "sent with an API key")
	list := byKey.ok("api-keys", "list")
	wantContains(t, "list", list, created.ApiKey.KeyId, "deploy script")
	if strings.Contains(list, created.Key) {
		t.Errorf("list shows the key itself:\n%s", list)
	}
	// login --token saves a key like any token.
	saved := s.newUser(t)
	saved.ok("login", "--token", created.Key)
	saved.ok("inbox")

	wantContains(t, "revoke", alice.ok("api-keys", "revoke", created.ApiKey.KeyId), "revoked")
	byKey.fails(exitAuth, "inbox")
	alice.fails(exitUsage, "api-keys", "frobnicate")
}
