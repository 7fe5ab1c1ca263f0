package tests

import (
	"context"
	"net/http"
	"testing"
)

func TestSendAndReadBack(t *testing.T) {
	e := newEnv(t)
	sent := e.send("alice", []string{"bob"}, "Hello", "Test message")
	got, err := e.client("bob").GetMessageWithResponse(context.Background(), sent.MessageId)
	if err != nil {
		t.Fatal(err)
	}
	if got.JSON200 == nil {
		t.Fatalf("status %d: %s", got.StatusCode(), got.Body)
	}
	if got.JSON200.Body != "Test message" || got.JSON200.FromHandle != "alice" {
		t.Errorf("got %+v", got.JSON200)
	}
	if !got.JSON200.CreatedAt.Equal(sent.CreatedAt) {
		t.Errorf("created_at = %v, want %v (the instant the create returned)", got.JSON200.CreatedAt, sent.CreatedAt)
	}
	resp, body := e.do(http.MethodGet, "/api/v1/messages/"+sent.MessageId, e.token("mallory"), "")
	wantError(t, resp, body, http.StatusNotFound, "NotFound")
}
