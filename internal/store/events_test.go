package store_test

import (
	"context"
	"fmt"
	"testing"

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
		page, err := s.Events(ctx, bob, &head.Next, 100)
		if err != nil {
			t.Fatal(err)
		}
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
