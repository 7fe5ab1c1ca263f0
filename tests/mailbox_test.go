package tests

import (
	"context"
	"testing"

	"github.com/agcom/agcom/gen/agcomv1"
	"github.com/agcom/agcom/internal/agcom"
)

// TestMessageListsAfterJoining checks the per-agent mailboxes behind message
// lists and search: an agent who joins a thread through a reply sees its
// earlier messages too, and an admin lists and searches everything, newest
// first.
func TestMessageListsAfterJoining(t *testing.T) {
	e := newSEnv(t, withAdmin("root", "root-secret-0123456789"))
	ctx := context.Background()
	first := e.send("alice", []string{"bob"}, "Plans", "the zebra crossing")
	// bob replies to alice; carol is not in the thread yet.
	e.send("dave", []string{"erin"}, "Other", "unrelated zebra")
	resp, err := e.client("alice").ReplyToMessageWithResponse(ctx, first.MessageId, nil, agcomv1.ReplyRequest{Body: "ok"})
	if err != nil || resp.JSON201 == nil {
		t.Fatalf("reply: %v %s", err, resp.Body)
	}

	list := func(handle string) []string {
		t.Helper()
		r, err := e.client(handle).ListMessagesWithResponse(ctx, &agcomv1.ListMessagesParams{})
		if err != nil || r.JSON200 == nil {
			t.Fatalf("list as %s: %v %s", handle, err, r.Body)
		}
		var bodies []string
		for _, m := range r.JSON200.Messages {
			bodies = append(bodies, m.Body)
		}
		if r.JSON200.Pagination.Total != len(bodies) {
			t.Errorf("%s: total = %d, want %d", handle, r.JSON200.Pagination.Total, len(bodies))
		}
		return bodies
	}
	if got := list("bob"); len(got) != 2 || got[0] != "ok" || got[1] != "the zebra crossing" {
		t.Errorf("bob's messages = %q, want [ok, the zebra crossing]", got)
	}
	if got := list("carol"); len(got) != 0 {
		t.Errorf("carol sees %q before joining", got)
	}

	// root is an admin: everything, newest first, and search over all.
	admin := e.clientWithToken(e.login("root", "root-secret-0123456789"))
	r, err := admin.ListMessagesWithResponse(ctx, &agcomv1.ListMessagesParams{})
	if err != nil || r.JSON200 == nil {
		t.Fatalf("admin list: %v %s", err, r.Body)
	}
	if r.JSON200.Pagination.Total != 3 || r.JSON200.Messages[0].Body != "ok" || r.JSON200.Messages[2].Body != "the zebra crossing" {
		t.Errorf("admin list = %+v", r.JSON200)
	}
	for _, q := range []string{"zebra", "ZE"} {
		s, err := admin.SearchMessagesWithResponse(ctx, &agcomv1.SearchMessagesParams{Query: q})
		if err != nil || s.JSON200 == nil {
			t.Fatalf("admin search %q: %v %s", q, err, s.Body)
		}
		if s.JSON200.Count != 2 || s.JSON200.Messages[0].Body != "unrelated zebra" {
			t.Errorf("admin search %q = %+v, want both zebras, newest first", q, s.JSON200.Messages)
		}
	}

	// An admin who replies joins the thread: after a demotion it still
	// sees the thread's whole history, earlier messages included.
	rr, err := admin.ReplyToMessageWithResponse(ctx, first.MessageId, nil, agcomv1.ReplyRequest{Body: "admin here"})
	if err != nil || rr.JSON201 == nil {
		t.Fatalf("admin reply: %v %s", err, rr.Body)
	}
	no := false
	if _, err := agcom.NewService(e.App.Store).UpdateAgent(ctx, agcom.Caller{Handle: "operator", IsAdmin: true}, "root", agcom.AgentUpdate{IsAdmin: &no}); err != nil {
		t.Fatal(err)
	}
	r, err = admin.ListMessagesWithResponse(ctx, &agcomv1.ListMessagesParams{})
	if err != nil || r.JSON200 == nil {
		t.Fatalf("list after demotion: %v %s", err, r.Body)
	}
	var bodies []string
	for _, m := range r.JSON200.Messages {
		bodies = append(bodies, m.Body)
	}
	if len(bodies) != 3 || bodies[0] != "admin here" || bodies[2] != "the zebra crossing" {
		t.Errorf("root's messages after demotion = %q, want the whole thread, newest first", bodies)
	}
}
