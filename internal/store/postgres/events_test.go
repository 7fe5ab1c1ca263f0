package postgres

import (
	"context"
	"fmt"
	"testing"

	"github.com/agcom/agcom/internal/agcom"
)

// A send writes an event for each participant and one to the thread log,
// however many admins there are.
func TestSendWritesNoEventPerAdmin(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	eventsPerSend := func() int {
		t.Helper()
		var before, after int
		if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM events").Scan(&before); err != nil {
			t.Fatal(err)
		}
		if _, _, err := agcom.NewService(s).SendMessage(ctx, agcom.Caller{Handle: "alice"},
			agcom.NewMessage{ToHandles: []string{"bob", "carol"}, Subject: "s", Body: "b"}, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM events").Scan(&after); err != nil {
			t.Fatal(err)
		}
		return after - before
	}
	for n := range 3 {
		if _, err := agcom.NewService(s).CreateAgent(ctx, agcom.Caller{Handle: "root", IsAdmin: true}, agcom.Agent{Handle: fmt.Sprintf("admin%d", n), IsAdmin: true}, "x"); err != nil {
			t.Fatal(err)
		}
		if got := eventsPerSend(); got != 4 {
			t.Errorf("with %d admins a send to two wrote %d events, want 4 (3 participants and the thread log)", n+1, got)
		}
	}
}
