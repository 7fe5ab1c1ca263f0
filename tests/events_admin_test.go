package tests

import (
	"context"
	"testing"

	"github.com/agcom/agcom/gen/agcomv1"
	"github.com/agcom/agcom/internal/agcom"
)

// TestAdminEvents checks that an admin, who can see every thread, receives
// the events of threads it does not take part in, and stops seeing them
// once demoted.
func TestAdminEvents(t *testing.T) {
	e := newSEnv(t, withAdmin("root", "root-secret-0123456789"))
	ctx := context.Background()
	admin := e.clientWithToken(e.login("root", "root-secret-0123456789"))
	head, err := admin.ListEventsWithResponse(ctx, &agcomv1.ListEventsParams{})
	if err != nil || head.JSON200 == nil {
		t.Fatalf("head: %v %s", err, head.Body)
	}
	cursor := head.JSON200.NextCursor
	sent := e.send("alice", []string{"bob"}, "Private", "between alice and bob")
	got, err := admin.ListEventsWithResponse(ctx, &agcomv1.ListEventsParams{After: &cursor})
	if err != nil || got.JSON200 == nil {
		t.Fatalf("events: %v %s", err, got.Body)
	}
	if n := len(got.JSON200.Events); n != 1 || got.JSON200.Events[0].Type != agcomv1.MessageCreated ||
		got.JSON200.Events[0].ThreadId != sent.ThreadId {
		t.Fatalf("admin events = %+v, want one message.created of alice's thread", got.JSON200.Events)
	}

	no := false
	if _, err := agcom.NewService(e.App.Store).UpdateAgent(ctx, agcom.Caller{Handle: "operator", IsAdmin: true}, "root", agcom.AgentUpdate{IsAdmin: &no}); err != nil {
		t.Fatal(err)
	}
	again, err := admin.ListEventsWithResponse(ctx, &agcomv1.ListEventsParams{After: &cursor})
	if err != nil || again.JSON200 == nil {
		t.Fatalf("events after demotion: %v %s", err, again.Body)
	}
	if n := len(again.JSON200.Events); n != 0 {
		t.Errorf("after demotion root still sees %d events of a thread it cannot see", n)
	}
}
