package tests

import (
	"context"
	"net/http"
	"testing"

	"github.com/agcom/agcom/gen/agcomv1"
)

// TestIdempotencyKeyOnlyOnCreates checks that the header means nothing on
// operations whose contract does not take it: a key used for a send does
// not make a later mark-read a "different request".
func TestIdempotencyKeyOnlyOnCreates(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	key := "scope-key-1"
	// bob uses the key for a send of his own...
	sent, err := e.client("bob").SendMessageWithResponse(ctx, &agcomv1.SendMessageParams{IdempotencyKey: &key},
		agcomv1.SendMessageRequest{ToHandles: []string{"alice"}, Subject: "Hi", Body: "hello"})
	if err != nil || sent.JSON201 == nil {
		t.Fatalf("send: %v %s", err, sent.Body)
	}
	// ...then sends it again marking alice's message to him read.
	m := e.send("alice", []string{"bob"}, "Re", "hi bob")
	req, err := http.NewRequest(http.MethodPost, e.URL+"/api/v1/messages/"+m.MessageId+"/read", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.token("bob"))
	req.Header.Set("Idempotency-Key", key)
	got, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got.Body.Close()
	if got.StatusCode != http.StatusOK || got.Header.Get("Idempotent-Replayed") != "" {
		t.Errorf("mark read with a used key: status %d, Idempotent-Replayed %q; want 200 and no replay",
			got.StatusCode, got.Header.Get("Idempotent-Replayed"))
	}
}
