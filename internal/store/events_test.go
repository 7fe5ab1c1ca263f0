package store_test

import (
	"context"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/agcom/agcom/internal/agcom"
	"github.com/agcom/agcom/internal/app"
)

// The events of one page that concern one thread carry it as it is now,
// read once for the page rather than once per event.
func TestThreadEventsReadEachThreadOncePerPage(t *testing.T) {
	eachStore(t, func(t *testing.T, s app.Store) {
		ctx := context.Background()
		bob := caller("bob")
		head, err := s.Events(ctx, bob, nil, 100)
		if err != nil {
			t.Fatal(err)
		}
		one := send(t, s, "alice", []string{"bob"}, "one", "body").ThreadID
		other := send(t, s, "alice", []string{"bob"}, "other", "body").ThreadID
		for i := range 5 {
			for _, th := range []string{one, other} {
				if err := agcom.NewService(s).SetThreadMetadata(ctx, caller("alice"), th, "step", ptr(fmt.Sprint(i))); err != nil {
					t.Fatal(err)
				}
			}
		}
		page := settled(t, s, bob, head.Next)
		seen := map[string]*agcom.Thread{}
		updates := 0
		for _, e := range page.Events {
			if e.Type != agcom.EventThreadUpdated {
				continue
			}
			updates++
			if e.Thread == nil || e.Thread.ID != e.ThreadID || e.Thread.Metadata["step"] != "4" {
				t.Fatalf("event %d: thread %+v, want %s as it is now (step 4)", e.Cursor, e.Thread, e.ThreadID)
			}
			if first, ok := seen[e.ThreadID]; ok && first != e.Thread {
				t.Fatalf("event %d: thread %s read again for the same page", e.Cursor, e.ThreadID)
			}
			seen[e.ThreadID] = e.Thread
		}
		if updates != 10 || len(seen) != 2 {
			t.Fatalf("%d thread.updated events of %d threads, want 10 of 2", updates, len(seen))
		}
	})
}

// Admins read every thread's events from the thread log, each once, also
// in threads they take part in, beside their own read marks; a
// participant reads its own log, without the admins' marks. An admin's
// subscription wakes for any thread's event.
func TestAdminsReadEveryThreadEventOnce(t *testing.T) {
	eachStore(t, func(t *testing.T, s app.Store) {
		ctx := context.Background()
		root := agcom.Caller{Handle: "root", IsAdmin: true}
		ops := agcom.Caller{Handle: "ops", IsAdmin: true}
		bob := caller("bob")
		heads := map[string]int64{}
		for _, c := range []agcom.Caller{root, ops, bob} {
			page, err := s.Events(ctx, c, nil, 100)
			if err != nil {
				t.Fatal(err)
			}
			heads[c.Handle] = page.Next
		}
		wake, unsubscribe := s.Subscribe(ops)
		defer unsubscribe()

		first := send(t, s, "alice", []string{"bob"}, "private", "between alice and bob")
		select {
		case <-wake:
		case <-time.After(10 * time.Second):
			t.Fatal("an admin's subscription did not wake for a thread it does not take part in")
		}
		// root joins the thread by replying; bob answers it, and root marks
		// the answer read.
		reply, _, err := agcom.NewService(s).ReplyToThread(ctx, root, first.ThreadID, agcom.Reply{Body: "joining"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		answer, _, err := agcom.NewService(s).ReplyToMessage(ctx, bob, reply.ID, agcom.Reply{Body: "welcome"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := agcom.NewService(s).MarkRead(ctx, root, answer.ID, true); err != nil {
			t.Fatal(err)
		}

		read := func(c agcom.Caller) (created map[string]int, reads int) {
			t.Helper()
			cursor := heads[c.Handle]
			created = map[string]int{}
			for {
				page, err := s.Events(ctx, c, &cursor, 2) // small pages: the merge must resume in order
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range page.Events {
					if e.Cursor <= cursor {
						t.Fatalf("%s: cursor %d after %d", c.Handle, e.Cursor, cursor)
					}
					cursor = e.Cursor
					switch e.Type {
					case agcom.EventMessageCreated:
						created[e.Message.ID]++
					case agcom.EventMessageRead:
						reads++
					}
				}
				if len(page.Events) == 0 && !page.Pending {
					return created, reads
				}
				if len(page.Events) == 0 {
					time.Sleep(5 * time.Millisecond)
				}
			}
		}
		want := map[string]int{first.ID: 1, reply.ID: 1, answer.ID: 1}
		for _, tc := range []struct {
			who       agcom.Caller
			wantReads int
		}{{root, 1}, {ops, 0}, {bob, 0}} {
			created, reads := read(tc.who)
			if !maps.Equal(created, want) || reads != tc.wantReads {
				t.Errorf("%s saw messages %v and %d read marks, want %v and %d", tc.who.Handle, created, reads, want, tc.wantReads)
			}
		}
		// A head taken now is past everything written so far.
		for _, c := range []agcom.Caller{root, bob} {
			page, err := s.Events(ctx, c, nil, 100)
			if err != nil {
				t.Fatal(err)
			}
			if rest, err := s.Events(ctx, c, &page.Next, 100); err != nil || len(rest.Events) != 0 {
				t.Errorf("%s: %d events after the head (err %v), want 0", c.Handle, len(rest.Events), err)
			}
		}
	})
}

// settled reads caller's events after cursor once none wait to be
// delivered (a store may hold them back behind transactions still
// running, even other tests').
func settled(t *testing.T, s app.Store, caller agcom.Caller, cursor int64) agcom.EventPage {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		page, err := s.Events(context.Background(), caller, &cursor, 100)
		if err != nil {
			t.Fatal(err)
		}
		if !page.Pending {
			return page
		}
		if time.Now().After(deadline) {
			t.Fatal("events still pending after 10 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
