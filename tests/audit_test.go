package tests

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/agcom/agcom/gen/agcomv1"
)

// auditScene is a known history: alice opens a thread with bob and carol,
// bob replies, alice adds and updates a contact and sets thread metadata.
type auditScene struct {
	sent, reply agcomv1.Message
}

func seedAudit(t *testing.T, e *senv) auditScene {
	t.Helper()
	ctx := context.Background()
	alice, bob := e.client("alice"), e.client("bob")
	sent := e.send("alice", []string{"bob", "carol"}, "Plan", "Shall we plan?")
	r, err := bob.ReplyToMessageWithResponse(ctx, sent.MessageId, nil, agcomv1.ReplyRequest{Body: "Yes."})
	if err != nil {
		t.Fatal(err)
	}
	if r.JSON201 == nil {
		t.Fatalf("reply: status %d: %s", r.StatusCode(), r.Body)
	}
	createContact(t, alice, agcomv1.ContactCreate{Handle: "dave", DisplayName: ptr("Dave")})
	u, err := alice.UpdateContactWithResponse(ctx, "dave", agcomv1.ContactUpdate{ExpectedVersion: 1, DisplayName: ptr("David")})
	if err != nil {
		t.Fatal(err)
	}
	if u.JSON200 == nil {
		t.Fatalf("update contact: status %d: %s", u.StatusCode(), u.Body)
	}
	m, err := alice.PutThreadMetadataWithResponse(ctx, sent.ThreadId, agcomv1.MetadataUpdate{Key: "priority", Value: ptr("high")})
	if err != nil {
		t.Fatal(err)
	}
	if m.JSON200 == nil {
		t.Fatalf("put metadata: status %d: %s", m.StatusCode(), m.Body)
	}
	return auditScene{sent: sent, reply: *r.JSON201}
}

// eventMatch describes an expected audit event; empty fields match anything.
type eventMatch struct {
	typ     string
	actor   string
	target  string // one of the event's targets; "-" means none
	details map[string]any
}

func (m eventMatch) matches(ev agcomv1.AuditEvent) bool {
	if string(ev.EventType) != m.typ || str(ev.ActorHandle) != m.actor {
		return false
	}
	switch {
	case m.target == "-" && len(ev.TargetHandles) > 0:
		return false
	case m.target != "-" && m.target != "" && !slices.Contains(ev.TargetHandles, m.target):
		return false
	}
	for k, v := range m.details {
		if ev.Details[k] != v {
			return false
		}
	}
	return true
}

// indexes returns the positions of the events matching m.
func (m eventMatch) indexes(events []agcomv1.AuditEvent) []int {
	var out []int
	for i, ev := range events {
		if m.matches(ev) {
			out = append(out, i)
		}
	}
	return out
}

func TestAuditRecordsEachChange(t *testing.T) {
	e := newSEnv(t, withAdmin(rootHandle, rootSecret))
	sc := seedAudit(t, e)
	all := auditEvents(t, e.rootClient(), agcomv1.ListAuditEventsParams{})

	// Listed newest first, so the expected order is the reverse of the
	// order of the changes. unordered marks an event of the same change as
	// the next one, whose relative order is not part of the contract.
	tests := []struct {
		name      string
		want      eventMatch
		unordered bool
	}{
		{"thread_metadata_update", eventMatch{"thread_metadata_update", "alice", "", map[string]any{
			"thread_id": sc.sent.ThreadId, "key": "priority"}}, false},
		{"address_book_update", eventMatch{"address_book_update", "alice", "dave", nil}, false},
		{"address_book_add", eventMatch{"address_book_add", "alice", "dave", nil}, false},
		{"message_reply", eventMatch{"message_reply", "bob", "alice", map[string]any{
			"message_id": sc.reply.MessageId, "thread_id": sc.sent.ThreadId}}, false},
		{"message_send", eventMatch{"message_send", "alice", "carol", map[string]any{
			"message_id": sc.sent.MessageId, "thread_id": sc.sent.ThreadId}}, false},
		{"thread_create", eventMatch{"thread_create", "alice", "", map[string]any{
			"thread_id": sc.sent.ThreadId}}, false},
	}
	prev := -1
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idx := tt.want.indexes(all.Events)
			if len(idx) != 1 {
				t.Fatalf("found %d matching events, want exactly 1; events: %+v", len(idx), all.Events)
			}
			ev := all.Events[idx[0]]
			if ev.Details == nil {
				t.Errorf("details is null, want a JSON object")
			}
			if len(ev.EventId) != 26 {
				t.Errorf("event_id = %q, want a 26-character ULID", ev.EventId)
			}
			if ev.Timestamp.Before(sc.sent.CreatedAt) {
				t.Errorf("timestamp %v is before the send at %v", ev.Timestamp, sc.sent.CreatedAt)
			}
			if idx[0] < prev {
				t.Errorf("event at position %d, want after position %d (newest first)", idx[0], prev)
			}
			if !tt.unordered {
				prev = idx[0]
			}
		})
	}
	// One message_send for the message, naming its recipients in order.
	sends := eventMatch{typ: "message_send", actor: "alice"}.indexes(all.Events)
	if len(sends) != 1 {
		t.Fatalf("message_send events = %d, want 1 for the message to two recipients", len(sends))
	}
	if ev := all.Events[sends[0]]; !slices.Equal(ev.TargetHandles, []string{"bob", "carol"}) || str(ev.TargetHandle) != "bob" {
		t.Errorf("message_send targets %v (target_handle %s), want [bob carol] (bob)", ev.TargetHandles, str(ev.TargetHandle))
	}
	for i := 1; i < len(all.Events); i++ {
		if all.Events[i].Timestamp.After(all.Events[i-1].Timestamp) {
			t.Errorf("event %d (%v) is newer than event %d (%v): want newest first",
				i, all.Events[i].Timestamp, i-1, all.Events[i-1].Timestamp)
		}
	}
	// The raw JSON shows details as an object, not a string.
	resp, body := e.do(http.MethodGet, "/api/v1/audit/events?event_type=message_reply", e.login(rootHandle, rootSecret), "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if !strings.Contains(string(body), `"details":{`) || !strings.Contains(string(body), `"message_id":"`+sc.reply.MessageId+`"`) {
		t.Errorf("raw audit body %s: want details as a JSON object holding the message_id", body)
	}
}

func TestAuditFilters(t *testing.T) {
	e := newSEnv(t, withAdmin(rootHandle, rootSecret))
	sc := seedAudit(t, e)
	root := e.rootClient()
	all := auditEvents(t, root, agcomv1.ListAuditEventsParams{})
	n := all.Pagination.Total
	if n != len(all.Events) || n < 6 {
		t.Fatalf("unfiltered: total %d, %d events; want them equal and at least 6", n, len(all.Events))
	}
	typ := func(s string) *agcomv1.AuditEventType { v := agcomv1.AuditEventType(s); return &v }

	tests := []struct {
		name      string
		params    agcomv1.ListAuditEventsParams
		want      []eventMatch // in order
		wantTotal int
		wantMore  bool
	}{
		{"event_type", agcomv1.ListAuditEventsParams{EventType: typ("message_send")},
			[]eventMatch{{"message_send", "alice", "bob", nil}}, 1, false},
		{"actor_handle", agcomv1.ListAuditEventsParams{ActorHandle: ptr("bob")},
			[]eventMatch{{"message_reply", "bob", "alice", map[string]any{"message_id": sc.reply.MessageId}}}, 1, false},
		{"target_handle", agcomv1.ListAuditEventsParams{TargetHandle: ptr("carol")},
			[]eventMatch{{"message_send", "alice", "carol", nil}}, 1, false},
		{"target_handle of a contact", agcomv1.ListAuditEventsParams{TargetHandle: ptr("dave")},
			[]eventMatch{{"address_book_update", "alice", "dave", nil}, {"address_book_add", "alice", "dave", nil}}, 2, false},
		{"event_type and actor", agcomv1.ListAuditEventsParams{EventType: typ("address_book_add"), ActorHandle: ptr("alice")},
			[]eventMatch{{"address_book_add", "alice", "dave", nil}}, 1, false},
		{"filters that exclude each other", agcomv1.ListAuditEventsParams{EventType: typ("message_reply"), ActorHandle: ptr("alice")},
			nil, 0, false},
		{"paged by target", agcomv1.ListAuditEventsParams{TargetHandle: ptr("dave"), Limit: ptr(1)},
			[]eventMatch{{"address_book_update", "alice", "dave", nil}}, 2, true},
		{"second page by target", agcomv1.ListAuditEventsParams{TargetHandle: ptr("dave"), Limit: ptr(1), Offset: ptr(1)},
			[]eventMatch{{"address_book_add", "alice", "dave", nil}}, 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := auditEvents(t, root, tt.params)
			if len(got.Events) != len(tt.want) {
				t.Fatalf("got %d events, want %d: %+v", len(got.Events), len(tt.want), got.Events)
			}
			// Each wanted event is there once.
			for _, w := range tt.want {
				if n := len(w.indexes(got.Events)); n != 1 {
					t.Errorf("%d events like %+v, want 1; got %+v", n, w, got.Events)
				}
			}
			if got.Pagination.Total != tt.wantTotal || got.Pagination.HasMore != tt.wantMore {
				t.Errorf("pagination = %+v, want total %d has_more %t", got.Pagination, tt.wantTotal, tt.wantMore)
			}
		})
	}

	checkAuditPages(t, root, all, 3)
}

// checkAuditPages reads c's audit events in pages of size: put together
// they must be whole, in the same order, each page with whole's total.
func checkAuditPages(t *testing.T, c *agcomv1.ClientWithResponses, whole agcomv1.AuditEventPage, size int) {
	t.Helper()
	n := whole.Pagination.Total
	var paged, want []string
	for off := 0; off < n; off += size {
		p := auditEvents(t, c, agcomv1.ListAuditEventsParams{Limit: ptr(size), Offset: ptr(off)})
		if p.Pagination.Total != n || p.Pagination.HasMore != (off+size < n) {
			t.Errorf("pages of %d, at %d: pagination %+v, want total %d has_more %t", size, off, p.Pagination, n, off+size < n)
		}
		for _, ev := range p.Events {
			paged = append(paged, ev.EventId)
		}
	}
	for _, ev := range whole.Events {
		want = append(want, ev.EventId)
	}
	if !slices.Equal(paged, want) {
		t.Errorf("pages of %d = %v, want %v", size, paged, want)
	}
}

func TestAuditVisibility(t *testing.T) {
	e := newSEnv(t, withAdmin(rootHandle, rootSecret))
	sc := seedAudit(t, e)
	root := e.rootClient()
	all := auditEvents(t, root, agcomv1.ListAuditEventsParams{})

	tests := []struct {
		name      string
		caller    string
		params    agcomv1.ListAuditEventsParams
		mustSee   []eventMatch
		mustNot   []eventMatch
		wantEmpty bool
	}{
		{
			name: "alice sees what she did and what was aimed at her", caller: "alice",
			mustSee: []eventMatch{
				{"thread_create", "alice", "-", map[string]any{"thread_id": sc.sent.ThreadId}},
				{"message_send", "alice", "bob", nil},
				{"message_send", "alice", "carol", nil},
				{"message_reply", "bob", "alice", nil},
				{"address_book_add", "alice", "dave", nil},
			},
		},
		{
			name: "bob sees the message to him and carol, and his reply", caller: "bob",
			mustSee: []eventMatch{
				{"message_send", "alice", "bob", nil},
				{"message_reply", "bob", "alice", nil},
			},
			mustNot: []eventMatch{
				{"thread_create", "alice", "", nil},
				{"address_book_add", "alice", "dave", nil},
			},
		},
		{name: "a third party sees none of it", caller: "mallory", wantEmpty: true},
		{name: "a third party filtering by actor sees none of it", caller: "mallory",
			params: agcomv1.ListAuditEventsParams{ActorHandle: ptr("alice")}, wantEmpty: true},
		{name: "a third party filtering by target sees none of it", caller: "mallory",
			params: agcomv1.ListAuditEventsParams{TargetHandle: ptr("bob")}, wantEmpty: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := auditEvents(t, e.client(tt.caller), tt.params)
			if tt.wantEmpty && (len(got.Events) != 0 || got.Pagination.Total != 0) {
				t.Errorf("got %d events (total %d), want none: %+v", len(got.Events), got.Pagination.Total, got.Events)
			}
			if got.Pagination.Total != len(got.Events) {
				t.Errorf("total = %d, want %d (the events shown)", got.Pagination.Total, len(got.Events))
			}
			for _, ev := range got.Events {
				if str(ev.ActorHandle) != tt.caller && !slices.Contains(ev.TargetHandles, tt.caller) {
					t.Errorf("%s sees %s by %s to %v, which is neither by nor to it",
						tt.caller, ev.EventType, str(ev.ActorHandle), ev.TargetHandles)
				}
			}
			for _, w := range tt.mustSee {
				if n := len(w.indexes(got.Events)); n != 1 {
					t.Errorf("%s sees %d events like %+v, want 1", tt.caller, n, w)
				}
			}
			for _, w := range tt.mustNot {
				if n := len(w.indexes(got.Events)); n != 0 {
					t.Errorf("%s sees %d events like %+v, want 0", tt.caller, n, w)
				}
			}
		})
	}

	t.Run("an admin sees every event", func(t *testing.T) {
		var aliceOnly int
		for _, ev := range all.Events {
			if str(ev.ActorHandle) != rootHandle && !slices.Contains(ev.TargetHandles, rootHandle) {
				aliceOnly++
			}
		}
		if aliceOnly < 6 {
			t.Errorf("admin sees %d events not by or to itself, want at least the 6 of the scene", aliceOnly)
		}
		for _, w := range []eventMatch{
			{"thread_create", "alice", "-", nil}, {"message_send", "alice", "carol", nil},
			{"message_reply", "bob", "alice", nil}, {"thread_metadata_update", "alice", "", nil},
		} {
			if n := len(w.indexes(all.Events)); n != 1 {
				t.Errorf("admin sees %d events like %+v, want 1", n, w)
			}
		}
	})

	t.Run("a non-admin cannot widen its view with filters", func(t *testing.T) {
		carol := auditEvents(t, e.client("carol"), agcomv1.ListAuditEventsParams{ActorHandle: ptr("alice"), TargetHandle: ptr("carol")})
		if len(carol.Events) != 1 || !(eventMatch{"message_send", "alice", "carol", nil}).matches(carol.Events[0]) {
			t.Errorf("carol filtering by actor alice and target carol sees %+v, want only alice's message_send to her", carol.Events)
		}
		got := auditEvents(t, e.client("dave"), agcomv1.ListAuditEventsParams{ActorHandle: ptr("alice")})
		// dave is the target of the contact events only.
		for _, ev := range got.Events {
			if !slices.Equal(ev.TargetHandles, []string{"dave"}) {
				t.Errorf("dave filtering by actor alice sees %s to %v", ev.EventType, ev.TargetHandles)
			}
		}
		if len(got.Events) != 2 {
			t.Errorf("dave sees %d events by alice, want the 2 contact events aimed at it", len(got.Events))
		}
	})
}

// A message to several recipients, and a reply to them, is one audit entry
// each, listed for every recipient and found by each of them as target.
func TestAuditOneEntryPerMessage(t *testing.T) {
	e := newSEnv(t, withAdmin(rootHandle, rootSecret))
	ctx := context.Background()
	root := e.rootClient()
	sent := e.send("alice", []string{"carol", "bob", "dave"}, "Group", "To three.")
	r, err := e.client("alice").ReplyToMessageWithResponse(ctx, sent.MessageId, nil, agcomv1.ReplyRequest{Body: "And again."})
	if err != nil {
		t.Fatal(err)
	}
	if r.JSON201 == nil {
		t.Fatalf("reply: status %d: %s", r.StatusCode(), r.Body)
	}
	want := []string{"carol", "bob", "dave"} // the order of to_handles

	all := auditEvents(t, root, agcomv1.ListAuditEventsParams{ActorHandle: ptr("alice")})
	if all.Pagination.Total != 3 {
		t.Errorf("total %d, want 3: thread_create, message_send, message_reply", all.Pagination.Total)
	}
	for _, typ := range []string{"message_send", "message_reply"} {
		idx := eventMatch{typ: typ, actor: "alice"}.indexes(all.Events)
		if len(idx) != 1 {
			t.Fatalf("%d %s events, want 1 for the message to three recipients", len(idx), typ)
		}
		if ev := all.Events[idx[0]]; !slices.Equal(ev.TargetHandles, want) || str(ev.TargetHandle) != "carol" {
			t.Errorf("%s targets %v (target_handle %s), want %v (carol)", typ, ev.TargetHandles, str(ev.TargetHandle), want)
		}
	}

	for _, tt := range []struct {
		name, caller string
		params       agcomv1.ListAuditEventsParams
		want         int
	}{
		{"the first recipient", "carol", agcomv1.ListAuditEventsParams{}, 2},
		{"the second recipient", "bob", agcomv1.ListAuditEventsParams{}, 2},
		{"the last recipient", "dave", agcomv1.ListAuditEventsParams{}, 2},
		{"the sender", "alice", agcomv1.ListAuditEventsParams{}, 3},
		{"a recipient, by another recipient as target", "bob", agcomv1.ListAuditEventsParams{TargetHandle: ptr("dave")}, 2},
		{"a recipient, by type", "dave", agcomv1.ListAuditEventsParams{EventType: ptr(agcomv1.AuditEventType("message_reply"))}, 1},
		{"a recipient, by actor", "dave", agcomv1.ListAuditEventsParams{ActorHandle: ptr("alice")}, 2},
		{"a third party, by a recipient as target", "mallory", agcomv1.ListAuditEventsParams{TargetHandle: ptr("dave")}, 0},
		{"an admin, by the last recipient as target", rootHandle, agcomv1.ListAuditEventsParams{TargetHandle: ptr("dave")}, 2},
		{"an admin, by the first recipient as target", rootHandle, agcomv1.ListAuditEventsParams{TargetHandle: ptr("carol")}, 2},
		{"an admin, by target and type", rootHandle, agcomv1.ListAuditEventsParams{
			TargetHandle: ptr("bob"), EventType: ptr(agcomv1.AuditEventType("message_send"))}, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := e.client(tt.caller)
			if tt.caller == rootHandle {
				c = root
			}
			got := auditEvents(t, c, tt.params)
			if len(got.Events) != tt.want || got.Pagination.Total != tt.want {
				t.Errorf("%d events (total %d), want %d: %+v", len(got.Events), got.Pagination.Total, tt.want, got.Events)
			}
		})
	}
}

// An agent's list merges its entries as actor, as first target and as
// another target: pages put together are the whole list, newest first,
// and the total counts each entry once.
func TestAuditPagesAcrossTargets(t *testing.T) {
	e := newSEnv(t, withAdmin(rootHandle, rootSecret))
	dave := e.client("dave")
	for i := range 3 {
		e.send("alice", []string{"bob", "dave"}, "other target", "dave second")                       // dave after the first
		e.send("carol", []string{"dave"}, "first target", "dave alone")                               // dave first
		createContact(t, dave, agcomv1.ContactCreate{Handle: "contact-" + strconv.Itoa(i)})           // dave acts
		e.send("alice", []string{"bob", "carol"}, "not dave", "none of dave's")                       // not dave's
		e.send("dave", []string{"dave", "erin"}, "dave to himself", "actor and first target at once") // both
	}
	whole := auditEvents(t, dave, agcomv1.ListAuditEventsParams{})
	// Per round: message_send as other target, as first target, the
	// contact, and thread_create with message_send of dave's own send.
	if whole.Pagination.Total != 15 || len(whole.Events) != 15 {
		t.Fatalf("dave sees %d events (total %d), want 15", len(whole.Events), whole.Pagination.Total)
	}
	seen := map[string]bool{}
	for i, ev := range whole.Events {
		if seen[ev.EventId] {
			t.Errorf("event %s listed twice", ev.EventId)
		}
		seen[ev.EventId] = true
		if i > 0 && ev.Timestamp.After(whole.Events[i-1].Timestamp) {
			t.Errorf("event %d is newer than event %d: want newest first", i, i-1)
		}
	}
	for _, size := range []int{1, 2, 4} {
		checkAuditPages(t, dave, whole, size)
	}
}
