package sdk_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/agcom/agcom/gen/agcomv1"
	"github.com/agcom/agcom/sdk"
)

// TestAPIKeyAndTokenFunc: a key created through the SDK authenticates a
// Client made WithAPIKey until it is revoked; WithTokenFunc asks for the
// token on every request.
func TestAPIKeyAndTokenFunc(t *testing.T) {
	s := newServer(t)
	ctx := t.Context()
	alice := s.client(t, "alice")

	created, err := alice.CreateAPIKey(ctx, agcomv1.ApiKeyCreate{Name: "sdk test"})
	if err != nil {
		t.Fatalf("CreateAPIKey: %v", err)
	}
	byKey, err := sdk.New(s.URL, sdk.WithAPIKey(created.Key))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := byKey.ListAPIKeys(ctx, nil)
	if err != nil || len(keys.ApiKeys) != 1 || keys.ApiKeys[0].Handle != "alice" {
		t.Fatalf("ListAPIKeys with the key = %+v, %v; want alice's one key", keys, err)
	}
	admin, err := sdk.New(s.URL, sdk.WithLogin("alice", aliceSecret))
	if err != nil {
		t.Fatal(err)
	}
	if page, err := admin.ListAgentAPIKeys(ctx, "alice", nil); err != nil || page.Pagination.Total != 1 {
		t.Errorf("ListAgentAPIKeys = %+v, %v; want one key", page, err)
	}
	if err := byKey.RevokeAPIKey(ctx, created.ApiKey.KeyId); err != nil {
		t.Fatalf("RevokeAPIKey: %v", err)
	}
	if _, err := byKey.ListThreads(ctx, nil); !sdk.IsUnauthorized(err) {
		t.Errorf("after revoking: %v, want 401", err)
	}
	if err := admin.RevokeAgentAPIKey(ctx, "alice", created.ApiKey.KeyId); !sdk.IsNotFound(err) {
		t.Errorf("revoking again: %v, want 404", err)
	}

	var calls atomic.Int32
	tok := s.mint("carol")
	byFunc, err := sdk.New(s.URL, sdk.WithTokenFunc(func(context.Context) (string, error) {
		calls.Add(1)
		return tok, nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := byFunc.ListThreads(ctx, nil); err != nil {
			t.Fatalf("ListThreads WithTokenFunc: %v", err)
		}
	}
	if calls.Load() != 2 {
		t.Errorf("token func called %d times, want once a request", calls.Load())
	}
}
