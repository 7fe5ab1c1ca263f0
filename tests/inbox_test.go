package tests

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/agcom/agcom/gen/agcomv1"
	"github.com/agcom/agcom/internal/config"
)

// ibInbox lists who's inbox and fails the test unless the answer is 200.
func ibInbox(e *env, who string, p agcomv1.ListInboxParams) agcomv1.InboxPage {
	e.t.Helper()
	resp, err := e.client(who).ListInboxWithResponse(context.Background(), &p)
	if err != nil {
		e.t.Fatalf("list inbox: %v", err)
	}
	if resp.JSON200 == nil {
		e.t.Fatalf("list inbox as %s: status %d, body %s", who, resp.StatusCode(), resp.Body)
	}
	return *resp.JSON200
}

// ibInboxIDs is the message ids of an inbox page, in order.
func ibInboxIDs(p agcomv1.InboxPage) []string {
	ids := make([]string, len(p.Messages))
	for i, m := range p.Messages {
		ids[i] = m.MessageId
	}
	return ids
}

// ibEntry finds message id in an inbox page.
func ibEntry(t *testing.T, p agcomv1.InboxPage, id string) agcomv1.InboxEntry {
	t.Helper()
	for _, m := range p.Messages {
		if m.MessageId == id {
			return m
		}
	}
	t.Fatalf("message %s not in inbox page %v", id, ibInboxIDs(p))
	return agcomv1.InboxEntry{}
}

// ibMark marks message id read (read=true) or unread as who and returns
// the read state; it fails the test unless the answer is 200.
func ibMark(e *env, who, id string, read bool) agcomv1.ReadState {
	e.t.Helper()
	var (
		status int
		body   []byte
		st     *agcomv1.ReadState
	)
	if read {
		resp, err := e.client(who).MarkMessageReadWithResponse(context.Background(), id)
		if err != nil {
			e.t.Fatalf("mark read: %v", err)
		}
		status, body, st = resp.StatusCode(), resp.Body, resp.JSON200
	} else {
		resp, err := e.client(who).MarkMessageUnreadWithResponse(context.Background(), id)
		if err != nil {
			e.t.Fatalf("mark unread: %v", err)
		}
		status, body, st = resp.StatusCode(), resp.Body, resp.JSON200
	}
	if st == nil {
		e.t.Fatalf("mark %s read=%v as %s: status %d, body %s", id, read, who, status, body)
	}
	if st.MessageId != id {
		e.t.Errorf("read state message_id = %s, want %s", st.MessageId, id)
	}
	return *st
}

// ibMarkThread marks thread id read as who; it fails unless 200.
func ibMarkThread(e *env, who, id string) agcomv1.ThreadReadState {
	e.t.Helper()
	resp, err := e.client(who).MarkThreadReadWithResponse(context.Background(), id)
	if err != nil {
		e.t.Fatalf("mark thread read: %v", err)
	}
	if resp.JSON200 == nil {
		e.t.Fatalf("mark thread %s read as %s: status %d, body %s", id, who, resp.StatusCode(), resp.Body)
	}
	if resp.JSON200.ThreadId != id {
		e.t.Errorf("thread read state thread_id = %s, want %s", resp.JSON200.ThreadId, id)
	}
	return *resp.JSON200
}

// ibUnread checks who's unread_count of thread id, on GET /threads/{id}
// and in GET /threads.
func ibUnread(e *env, who, id string, want int) {
	e.t.Helper()
	if got := e.thread(who, id).UnreadCount; got != want {
		e.t.Errorf("GET /threads/%s as %s: unread_count = %d, want %d", id, who, got, want)
	}
	page := e.threads(who, agcomv1.ListThreadsParams{Limit: valueOf(100)})
	for _, th := range page.Threads {
		if th.ThreadId == id {
			if th.UnreadCount != want {
				e.t.Errorf("GET /threads as %s: unread_count of %s = %d, want %d", who, id, th.UnreadCount, want)
			}
			return
		}
	}
	e.t.Errorf("GET /threads as %s: thread %s missing", who, id)
}

// ibUnreadInInbox is the number of unread messages of thread id in who's
// inbox, as GET /inbox?unread_only=true&thread_id= counts them.
func ibUnreadInInbox(e *env, who, id string) int {
	e.t.Helper()
	return ibInbox(e, who, agcomv1.ListInboxParams{UnreadOnly: valueOf(true), ThreadId: valueOf(id)}).Pagination.Total
}

func TestReadStateMessage(t *testing.T) {
	e := newMsgEnv(t)
	m := e.send("alice", []string{"bob", "carol"}, "Plan", "Read me")

	// Unread for every recipient after sending.
	for _, who := range []string{"bob", "carol"} {
		en := ibEntry(t, ibInbox(e, who, agcomv1.ListInboxParams{}), m.MessageId)
		if en.ReadAt != nil {
			t.Errorf("%s: read_at = %v right after sending, want null", who, en.ReadAt)
		}
	}

	// Reading the message (GET) does not mark it read.
	for i := 0; i < 2; i++ {
		resp, err := e.client("bob").GetMessageWithResponse(context.Background(), m.MessageId)
		if err != nil || resp.JSON200 == nil {
			t.Fatalf("get message: %v, status %d", err, resp.StatusCode())
		}
	}
	e.threadMessages("bob", m.ThreadId, agcomv1.ListThreadMessagesParams{})
	e.messages("bob", agcomv1.ListMessagesParams{})
	if en := ibEntry(t, ibInbox(e, "bob", agcomv1.ListInboxParams{}), m.MessageId); en.ReadAt != nil {
		t.Errorf("read_at = %v after GET, want null: reading must not mark read", en.ReadAt)
	}
	ibUnread(e, "bob", m.ThreadId, 1)

	// POST /read sets read_at.
	before := time.Now().Add(-time.Second)
	st := ibMark(e, "bob", m.MessageId, true)
	if st.ReadAt == nil {
		t.Fatalf("POST /read: read_at = null, want a time")
	}
	first := *st.ReadAt
	if first.Before(before) || first.After(time.Now().Add(time.Second)) {
		t.Errorf("read_at = %v, want about now", first)
	}
	wantUTC(t, "read_at", first)
	if en := ibEntry(t, ibInbox(e, "bob", agcomv1.ListInboxParams{}), m.MessageId); en.ReadAt == nil || !en.ReadAt.Equal(first) {
		t.Errorf("inbox read_at = %v, want %v", en.ReadAt, first)
	}
	// Another recipient's state is separate.
	if en := ibEntry(t, ibInbox(e, "carol", agcomv1.ListInboxParams{}), m.MessageId); en.ReadAt != nil {
		t.Errorf("carol's read_at = %v after bob read, want null", en.ReadAt)
	}
	ibUnread(e, "bob", m.ThreadId, 0)
	ibUnread(e, "carol", m.ThreadId, 1)

	// A second read keeps the first read time.
	time.Sleep(5 * time.Millisecond)
	st2 := ibMark(e, "bob", m.MessageId, true)
	if st2.ReadAt == nil || !st2.ReadAt.Equal(first) {
		t.Errorf("second POST /read: read_at = %v, want the first %v", st2.ReadAt, first)
	}
	if en := ibEntry(t, ibInbox(e, "bob", agcomv1.ListInboxParams{}), m.MessageId); en.ReadAt == nil || !en.ReadAt.Equal(first) {
		t.Errorf("inbox read_at after second read = %v, want %v", en.ReadAt, first)
	}
	ibUnread(e, "bob", m.ThreadId, 0)

	// /unread clears it, twice is harmless.
	for i := 0; i < 2; i++ {
		if st := ibMark(e, "bob", m.MessageId, false); st.ReadAt != nil {
			t.Errorf("POST /unread #%d: read_at = %v, want null", i+1, st.ReadAt)
		}
		if en := ibEntry(t, ibInbox(e, "bob", agcomv1.ListInboxParams{}), m.MessageId); en.ReadAt != nil {
			t.Errorf("inbox read_at after unread = %v, want null", en.ReadAt)
		}
		ibUnread(e, "bob", m.ThreadId, 1)
	}

	// Read again: a new read time, later than the first.
	time.Sleep(5 * time.Millisecond)
	if st := ibMark(e, "bob", m.MessageId, true); st.ReadAt == nil || !st.ReadAt.After(first) {
		t.Errorf("read after unread: read_at = %v, want later than %v", st.ReadAt, first)
	}
	ibUnread(e, "bob", m.ThreadId, 0)
}

func TestReadStateNotRecipient404(t *testing.T) {
	e := newMsgEnv(t)
	m := e.send("alice", []string{"bob"}, "Private", "for bob")
	for _, who := range []string{"alice", "mallory"} {
		for _, op := range []string{"read", "unread"} {
			resp, body := e.do(http.MethodPost, "/api/v1/messages/"+m.MessageId+"/"+op, e.token(who), "")
			wantError(t, resp, body, http.StatusNotFound, "NotFound")
		}
	}
	// Unknown message.
	resp, body := e.do(http.MethodPost, "/api/v1/messages/01J9ZQ4W4S3N0C5Q6Q9D8V7T2K/read", e.token("bob"), "")
	wantError(t, resp, body, http.StatusNotFound, "NotFound")
	// The failed attempts changed nothing for bob.
	if en := ibEntry(t, ibInbox(e, "bob", agcomv1.ListInboxParams{}), m.MessageId); en.ReadAt != nil {
		t.Errorf("bob's read_at = %v, want null", en.ReadAt)
	}
	ibUnread(e, "bob", m.ThreadId, 1)
	ibUnread(e, "alice", m.ThreadId, 0)

	// Thread read: 404 for an outsider.
	resp, body = e.do(http.MethodPost, "/api/v1/threads/"+m.ThreadId+"/read", e.token("mallory"), "")
	wantError(t, resp, body, http.StatusNotFound, "NotFound")
	resp, body = e.do(http.MethodPost, "/api/v1/threads/01J9ZQ4W4S3N0C5Q6Q9D8V7T2K/read", e.token("bob"), "")
	wantError(t, resp, body, http.StatusNotFound, "NotFound")
	ibUnread(e, "bob", m.ThreadId, 1)
}

func TestReadThread(t *testing.T) {
	e := newMsgEnv(t)
	m1 := e.send("alice", []string{"bob"}, "Chat", "one")
	m2 := e.replyTo("alice", m1.MessageId, "two")
	m3 := e.replyTo("bob", m1.MessageId, "three (from bob)")
	m4 := e.replyTo("alice", m3.MessageId, "four")
	th := m1.ThreadId
	ibUnread(e, "bob", th, 3)
	ibUnread(e, "alice", th, 1)

	// One already read before the thread read: not counted again.
	ibMark(e, "bob", m2.MessageId, true)
	ibUnread(e, "bob", th, 2)

	st := ibMarkThread(e, "bob", th)
	if st.Marked != 2 {
		t.Errorf("marked = %d, want 2 (m1 and m4; m2 was read, m3 is bob's own)", st.Marked)
	}
	wantUTC(t, "read_at", st.ReadAt)
	ibUnread(e, "bob", th, 0)
	ibUnread(e, "alice", th, 1) // alice's state is untouched
	in := ibInbox(e, "bob", agcomv1.ListInboxParams{ThreadId: valueOf(th)})
	wantIDs(t, "bob's inbox of the thread", ibInboxIDs(in), []string{m4.MessageId, m2.MessageId, m1.MessageId})
	for _, id := range []string{m1.MessageId, m4.MessageId} {
		if en := ibEntry(t, in, id); en.ReadAt == nil || !en.ReadAt.Equal(st.ReadAt) {
			t.Errorf("%s read_at = %v, want the thread read time %v", id, en.ReadAt, st.ReadAt)
		}
	}
	if en := ibEntry(t, in, m2.MessageId); en.ReadAt == nil || en.ReadAt.Equal(st.ReadAt) {
		t.Errorf("m2 read_at = %v, want its own earlier read time", en.ReadAt)
	}

	// Again: nothing left to mark.
	if st := ibMarkThread(e, "bob", th); st.Marked != 0 {
		t.Errorf("second thread read: marked = %d, want 0", st.Marked)
	}

	// Later messages stay unread.
	m5 := e.replyTo("alice", m4.MessageId, "five")
	ibUnread(e, "bob", th, 1)
	if en := ibEntry(t, ibInbox(e, "bob", agcomv1.ListInboxParams{}), m5.MessageId); en.ReadAt != nil {
		t.Errorf("message after the thread read: read_at = %v, want null", en.ReadAt)
	}
	if n := ibUnreadInInbox(e, "bob", th); n != 1 {
		t.Errorf("unread in inbox = %d, want 1", n)
	}

	// Alice reads the thread: only bob's m3 is hers.
	if st := ibMarkThread(e, "alice", th); st.Marked != 1 {
		t.Errorf("alice thread read: marked = %d, want 1", st.Marked)
	}
	ibUnread(e, "alice", th, 0)
	ibUnread(e, "bob", th, 1)

	// Another thread is unaffected by a thread read.
	o := e.send("alice", []string{"bob"}, "Other", "elsewhere")
	ibMarkThread(e, "bob", th)
	ibUnread(e, "bob", o.ThreadId, 1)
	ibUnread(e, "bob", th, 0)
}

func TestUnreadCountFollowsActivity(t *testing.T) {
	e := newMsgEnv(t)
	m1 := e.send("alice", []string{"bob", "carol"}, "Group", "hello")
	th := m1.ThreadId
	ibUnread(e, "alice", th, 0)
	ibUnread(e, "bob", th, 1)
	ibUnread(e, "carol", th, 1)

	// bob's reply goes to alice, the original sender.
	r1 := e.replyTo("bob", m1.MessageId, "hi alice")
	ibUnread(e, "alice", th, 1)
	ibUnread(e, "bob", th, 1)
	ibUnread(e, "carol", th, 1)

	// carol's thread reply answers the latest message (bob's): to bob.
	r2, err := e.client("carol").ReplyToThreadWithResponse(context.Background(), th, nil, agcomv1.ReplyRequest{Body: "me too"})
	if err != nil || r2.JSON201 == nil {
		t.Fatalf("reply to thread: %v, status %d, body %s", err, r2.StatusCode(), r2.Body)
	}
	ibUnread(e, "alice", th, 1)
	ibUnread(e, "bob", th, 2)
	ibUnread(e, "carol", th, 1)

	ibMark(e, "carol", m1.MessageId, true)
	ibUnread(e, "carol", th, 0)
	ibMark(e, "carol", m1.MessageId, true) // no double count
	ibUnread(e, "carol", th, 0)
	ibMark(e, "carol", m1.MessageId, false)
	ibUnread(e, "carol", th, 1)
	ibMark(e, "carol", m1.MessageId, false) // no double count
	ibUnread(e, "carol", th, 1)
	// r1 is not addressed to carol, though she sees it.
	resp, body := e.do(http.MethodPost, "/api/v1/messages/"+r1.MessageId+"/read", e.token("carol"), "")
	wantError(t, resp, body, http.StatusNotFound, "NotFound")
	ibUnread(e, "carol", th, 1)

	ibMarkThread(e, "bob", th)
	ibUnread(e, "bob", th, 0)
	ibUnread(e, "alice", th, 1)
	ibUnread(e, "carol", th, 1)

	ibMark(e, "bob", r2.JSON201.MessageId, false)
	ibUnread(e, "bob", th, 1)
	ibMark(e, "alice", r1.MessageId, true)
	ibUnread(e, "alice", th, 0)

	// alice's thread reply answers carol's latest: to carol.
	r3, err := e.client("alice").ReplyToThreadWithResponse(context.Background(), th, nil, agcomv1.ReplyRequest{Body: "noted"})
	if err != nil || r3.JSON201 == nil {
		t.Fatalf("reply: %v", err)
	}
	ibUnread(e, "alice", th, 0)
	ibUnread(e, "bob", th, 1)
	ibUnread(e, "carol", th, 2)

	// Counts always agree with the inbox.
	for _, who := range []string{"alice", "bob", "carol"} {
		if got, want := ibUnreadInInbox(e, who, th), e.thread(who, th).UnreadCount; got != want {
			t.Errorf("%s: unread in inbox = %d, unread_count = %d; want equal", who, got, want)
		}
	}
}

func TestInboxListing(t *testing.T) {
	e := newMsgEnv(t)
	a1 := e.send("alice", []string{"bob"}, "A", "a1")
	c1 := e.send("carol", []string{"bob", "dave"}, "C", "c1")
	_ = e.send("alice", []string{"dave"}, "D", "not for bob")
	bobSent := e.send("bob", []string{"alice"}, "B", "from bob")
	a2 := e.replyTo("alice", a1.MessageId, "a2")
	c2 := e.replyTo("carol", c1.MessageId, "c2")
	d1 := e.send("dave", []string{"bob"}, "DD", "dave to bob")

	in := ibInbox(e, "bob", agcomv1.ListInboxParams{})
	ids := ibInboxIDs(in)
	if len(ids) != 5 {
		t.Fatalf("bob's inbox = %v, want 5 messages", ids)
	}
	// Newest first; only messages addressed to bob.
	for i, m := range in.Messages {
		addressed := false
		for _, h := range m.ToHandles {
			addressed = addressed || h == "bob"
		}
		if !addressed || m.FromHandle == "bob" {
			t.Errorf("entry %s from %s to %v is not addressed to bob", m.MessageId, m.FromHandle, m.ToHandles)
		}
		if m.MessageId == bobSent.MessageId {
			t.Errorf("bob's own message is in his inbox")
		}
		if i > 0 && m.CreatedAt.After(in.Messages[i-1].CreatedAt) {
			t.Errorf("inbox not newest first at %d", i)
		}
		if m.ReadAt != nil {
			t.Errorf("%s read_at = %v, want null", m.MessageId, m.ReadAt)
		}
	}
	wantIDs(t, "bob's inbox", ids, []string{d1.MessageId, c2.MessageId, a2.MessageId, c1.MessageId, a1.MessageId})
	wantPagination(t, in.Pagination, agcomv1.Pagination{Limit: 50, Offset: 0, Total: 5, HasMore: false})
	en := ibEntry(t, in, a2.MessageId)
	if en.Body != "a2" || en.Subject != a1.Subject || en.ThreadId != a1.ThreadId || en.InReplyTo == nil || *en.InReplyTo != a1.MessageId {
		t.Errorf("entry = %+v, want a2's fields", en)
	}

	// Read states, then unread_only.
	ibMark(e, "bob", a1.MessageId, true)
	ibMark(e, "bob", c2.MessageId, true)
	in = ibInbox(e, "bob", agcomv1.ListInboxParams{})
	for _, m := range in.Messages {
		wantRead := m.MessageId == a1.MessageId || m.MessageId == c2.MessageId
		if (m.ReadAt != nil) != wantRead {
			t.Errorf("%s read_at = %v, want read=%v", m.MessageId, m.ReadAt, wantRead)
		}
	}
	un := ibInbox(e, "bob", agcomv1.ListInboxParams{UnreadOnly: valueOf(true)})
	wantIDs(t, "unread_only", ibInboxIDs(un), []string{d1.MessageId, a2.MessageId, c1.MessageId})
	if un.Pagination.Total != 3 {
		t.Errorf("unread_only total = %d, want 3", un.Pagination.Total)
	}
	all := ibInbox(e, "bob", agcomv1.ListInboxParams{UnreadOnly: valueOf(false)})
	if all.Pagination.Total != 5 {
		t.Errorf("unread_only=false total = %d, want 5", all.Pagination.Total)
	}

	// thread_id and from_handle.
	thr := ibInbox(e, "bob", agcomv1.ListInboxParams{ThreadId: valueOf(a1.ThreadId)})
	wantIDs(t, "thread_id", ibInboxIDs(thr), []string{a2.MessageId, a1.MessageId})
	from := ibInbox(e, "bob", agcomv1.ListInboxParams{FromHandle: valueOf("carol")})
	wantIDs(t, "from_handle=carol", ibInboxIDs(from), []string{c2.MessageId, c1.MessageId})
	both := ibInbox(e, "bob", agcomv1.ListInboxParams{FromHandle: valueOf("carol"), UnreadOnly: valueOf(true)})
	wantIDs(t, "from_handle=carol&unread_only", ibInboxIDs(both), []string{c1.MessageId})
	mix := ibInbox(e, "bob", agcomv1.ListInboxParams{FromHandle: valueOf("alice"), ThreadId: valueOf(c1.ThreadId)})
	wantIDs(t, "from alice in carol's thread", ibInboxIDs(mix), nil)
	if mix.Messages == nil {
		t.Errorf("empty inbox messages is null, want []")
	}
	// Bob sent in another thread: to alice, the inbox of alice has it.
	al := ibInbox(e, "alice", agcomv1.ListInboxParams{})
	wantIDs(t, "alice's inbox", ibInboxIDs(al), []string{bobSent.MessageId})
	// By thread: carol's thread has two for bob; a thread he is not in, none.
	hidden := ibInbox(e, "bob", agcomv1.ListInboxParams{ThreadId: valueOf(c1.ThreadId)})
	if hidden.Pagination.Total != 2 {
		t.Errorf("bob's inbox of carol's thread: total %d, want 2", hidden.Pagination.Total)
	}
	dThread := e.messages("dave", agcomv1.ListMessagesParams{}).Messages
	for _, m := range dThread {
		if m.Subject == "D" {
			wantIDs(t, "bob's inbox of a thread he is not in", ibInboxIDs(ibInbox(e, "bob", agcomv1.ListInboxParams{ThreadId: valueOf(m.ThreadId)})), nil)
		}
	}
	dOnly := ibInbox(e, "bob", agcomv1.ListInboxParams{FromHandle: valueOf("alice")})
	wantIDs(t, "from alice", ibInboxIDs(dOnly), []string{a2.MessageId, a1.MessageId})
	// An outsider's inbox is empty.
	out := ibInbox(e, "mallory", agcomv1.ListInboxParams{})
	wantIDs(t, "outsider inbox", ibInboxIDs(out), nil)
	wantPagination(t, out.Pagination, agcomv1.Pagination{Limit: 50, Offset: 0, Total: 0, HasMore: false})
}

func TestInboxPagination(t *testing.T) {
	e := newMsgEnv(t)
	var want []string
	for i := 0; i < 7; i++ {
		m := e.send("alice", []string{"bob"}, "P", "msg")
		want = append([]string{m.MessageId}, want...)
	}
	var got []string
	for off := 0; off < 7; off += 3 {
		p := ibInbox(e, "bob", agcomv1.ListInboxParams{Limit: valueOf(3), Offset: valueOf(off)})
		n := min(3, 7-off)
		wantPagination(t, p.Pagination, agcomv1.Pagination{Limit: 3, Offset: off, Total: 7, HasMore: off+n < 7})
		if len(p.Messages) != n {
			t.Errorf("offset %d: %d messages, want %d", off, len(p.Messages), n)
		}
		got = append(got, ibInboxIDs(p)...)
	}
	wantIDs(t, "paged inbox", got, want)
	p := ibInbox(e, "bob", agcomv1.ListInboxParams{Offset: valueOf(10)})
	wantIDs(t, "past the end", ibInboxIDs(p), nil)
	wantPagination(t, p.Pagination, agcomv1.Pagination{Limit: 50, Offset: 10, Total: 7, HasMore: false})
	// Totals follow the filters.
	ibMark(e, "bob", want[0], true)
	p = ibInbox(e, "bob", agcomv1.ListInboxParams{UnreadOnly: valueOf(true), Limit: valueOf(2)})
	wantPagination(t, p.Pagination, agcomv1.Pagination{Limit: 2, Offset: 0, Total: 6, HasMore: true})
	wantIDs(t, "unread page", ibInboxIDs(p), want[1:3])
}

func TestInboxBadParams400(t *testing.T) {
	e := newMsgEnv(t)
	e.send("alice", []string{"bob"}, "x", "y")
	tok := e.token("bob")
	for _, q := range []string{
		"unread_only=maybe",
		"limit=0",
		"limit=101",
		"limit=abc",
		"offset=-1",
		"thread_id=not-a-ulid",
		"from_handle=Not%20A%20Handle",
		"from_handle=a",
	} {
		t.Run(q, func(t *testing.T) {
			resp, body := e.do(http.MethodGet, "/api/v1/inbox?"+q, tok, "")
			wantError(t, resp, body, http.StatusBadRequest, "ValidationError")
		})
	}
	resp, body := e.do(http.MethodGet, "/api/v1/inbox", "", "")
	wantError(t, resp, body, http.StatusUnauthorized, "AuthenticationError")
}

func TestUnreadCountAdminJoins(t *testing.T) {
	e := newMsgEnv(t, func(c *config.Config) {
		c.AdminHandle = "root"
		c.AdminSecret = "root-secret-0123456789abcdef0123456789"
	})
	m := e.send("alice", []string{"bob"}, "Private", "just us")
	// An admin sees the thread without being addressed: nothing unread,
	// nothing to mark, an empty inbox.
	ibUnread(e, "root", m.ThreadId, 0)
	if st := ibMarkThread(e, "root", m.ThreadId); st.Marked != 0 {
		t.Errorf("admin thread read: marked = %d, want 0", st.Marked)
	}
	resp, body := e.do(http.MethodPost, "/api/v1/messages/"+m.MessageId+"/read", e.token("root"), "")
	wantError(t, resp, body, http.StatusNotFound, "NotFound")
	wantIDs(t, "admin inbox", ibInboxIDs(ibInbox(e, "root", agcomv1.ListInboxParams{})), nil)
	ibUnread(e, "bob", m.ThreadId, 1)

	// The admin joins by replying (to alice); alice's answer goes to it.
	r := e.replyTo("root", m.MessageId, "chiming in")
	ibUnread(e, "alice", m.ThreadId, 1)
	ibUnread(e, "bob", m.ThreadId, 1)
	ibUnread(e, "root", m.ThreadId, 0)
	a := e.replyTo("alice", r.MessageId, "welcome")
	ibUnread(e, "root", m.ThreadId, 1)
	wantIDs(t, "admin inbox", ibInboxIDs(ibInbox(e, "root", agcomv1.ListInboxParams{})), []string{a.MessageId})
	if st := ibMarkThread(e, "root", m.ThreadId); st.Marked != 1 {
		t.Errorf("admin thread read after joining: marked = %d, want 1", st.Marked)
	}
	ibUnread(e, "root", m.ThreadId, 0)
	ibUnread(e, "bob", m.ThreadId, 1)
}
