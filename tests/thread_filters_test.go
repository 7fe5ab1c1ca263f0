package tests

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/agcom/agcom/gen/agcomv1"
)

// GET /threads narrows by participant and by tag, for agents (within the
// threads they take part in) and for admins (among every thread); the
// total counts what the filters keep.
func TestThreadFilters(t *testing.T) {
	e := newEnv(t, withAdmin(rootHandle, rootSecret))
	ctx := context.Background()
	send := func(from string, to []string, subject string, tags ...string) agcomv1.Message {
		t.Helper()
		req := agcomv1.SendMessageRequest{ToHandles: to, Subject: subject, Body: "b"}
		if len(tags) > 0 {
			req.Tags = &tags
		}
		resp, err := e.client(from).SendMessageWithResponse(ctx, nil, req)
		if err != nil || resp.JSON201 == nil {
			t.Fatalf("send %s: %v %s", subject, err, resp.Body)
		}
		return *resp.JSON201
	}
	ab := send("alice", []string{"bob"}, "ab", "ops")
	ac := send("alice", []string{"carol"}, "ac", "ci")
	bc := send("bob", []string{"carol"}, "bc")
	// A tag carried by a reply counts too.
	if resp, err := e.client("carol").ReplyToMessageWithResponse(ctx, bc.MessageId, nil, agcomv1.ReplyRequest{
		Body: "r", Tags: &[]string{"ops", "late"}}); err != nil || resp.JSON201 == nil {
		t.Fatalf("reply: %v %s", err, resp.Body)
	}
	str := func(s string) *string { return &s }
	yes := true
	cases := []struct {
		who  string
		p    agcomv1.ListThreadsParams
		want []string
	}{
		{"alice", agcomv1.ListThreadsParams{Participant: str("bob")}, []string{ab.ThreadId}},
		{"alice", agcomv1.ListThreadsParams{Participant: str("carol")}, []string{ac.ThreadId}},
		{"alice", agcomv1.ListThreadsParams{Participant: str("alice")}, []string{ac.ThreadId, ab.ThreadId}},
		{"alice", agcomv1.ListThreadsParams{Participant: str("nobody")}, nil},
		{"alice", agcomv1.ListThreadsParams{Tag: str("ops")}, []string{ab.ThreadId}},
		{"alice", agcomv1.ListThreadsParams{Tag: str("op")}, nil}, // a tag, not a prefix
		{"alice", agcomv1.ListThreadsParams{Participant: str("bob"), Tag: str("ci")}, nil},
		{"carol", agcomv1.ListThreadsParams{Tag: str("ops")}, []string{bc.ThreadId}},
		{"carol", agcomv1.ListThreadsParams{Participant: str("alice"), Tag: str("ci")}, []string{ac.ThreadId}},
		{rootHandle, agcomv1.ListThreadsParams{Participant: str("carol")}, []string{bc.ThreadId, ac.ThreadId}},
		{rootHandle, agcomv1.ListThreadsParams{Tag: str("ops")}, []string{bc.ThreadId, ab.ThreadId}},
		{rootHandle, agcomv1.ListThreadsParams{Participant: str("bob"), Tag: str("ops")}, []string{bc.ThreadId, ab.ThreadId}},
		{rootHandle, agcomv1.ListThreadsParams{Participant: str("bob"), Archived: &yes}, nil},
		// An agent sees only its own threads, whoever it names.
		{"dave", agcomv1.ListThreadsParams{Participant: str("alice")}, nil},
		{"dave", agcomv1.ListThreadsParams{Tag: str("ops")}, nil},
	}
	for _, c := range cases {
		page := e.threads(c.who, c.p)
		var got []string
		for _, th := range page.Threads {
			got = append(got, th.ThreadId)
		}
		if !slices.Equal(got, c.want) || page.Pagination.Total != len(c.want) {
			t.Errorf("%s %+v: threads %v (total %d), want %v", c.who, c.p, got, page.Pagination.Total, c.want)
		}
	}

	// An admin's filtered list shows its own unread counts, not the
	// participant's.
	for _, th := range e.threads(rootHandle, agcomv1.ListThreadsParams{Participant: str("carol")}).Threads {
		if th.UnreadCount != 0 {
			t.Errorf("admin sees unread %d in %s", th.UnreadCount, th.ThreadId)
		}
	}
	// Filters narrow pages too: one thread a page.
	one := 1
	p := e.threads(rootHandle, agcomv1.ListThreadsParams{Tag: str("ops"), Limit: &one, Offset: &one})
	if len(p.Threads) != 1 || p.Threads[0].ThreadId != ab.ThreadId || p.Pagination.Total != 2 {
		t.Errorf("second page of tag ops: %+v", p)
	}

	for _, q := range []string{"participant=Bob", "participant=b", "tag=NO", "tag=" + strings.Repeat("a", 31)} {
		resp, body := e.do(http.MethodGet, "/api/v1/threads?"+q, e.token("alice"), "")
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: status %d, body %s", q, resp.StatusCode, body)
		}
	}
}
