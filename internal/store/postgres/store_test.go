package postgres

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/agcom/agcom/internal/agcom"
	"github.com/agcom/agcom/internal/testdb"
)

func openTest(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.Context(), testdb.NeedPostgres(t))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// A transaction that keeps losing serialization conflicts is run
// maxAttempts times, then answered DatabaseBusy; one that loses once and
// then succeeds commits once.
func TestWriteTxRetriesConflictsThenGivesUp(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	for _, code := range []string{codeSerializationFailure, codeDeadlockDetected} {
		runs := 0
		err := s.writeTx(ctx, func(t *tx) error {
			runs++
			return &pgconn.PgError{Code: code}
		})
		if agcom.ErrorCode(err) != agcom.EBUSY || runs != maxAttempts {
			t.Errorf("always %s: %v after %d runs, want %s after %d", code, err, runs, agcom.EBUSY, maxAttempts)
		}
	}

	runs := 0
	err := s.writeTx(ctx, func(t *tx) error {
		runs++
		if _, err := t.exec(`INSERT INTO thread_metadata (thread_id, key, value) SELECT id, 'k', 'v' FROM threads`); err != nil {
			return err
		}
		if runs == 1 {
			return &pgconn.PgError{Code: codeDeadlockDetected}
		}
		return t.Audit("test.retry", "alice", nil, map[string]any{"run": runs})
	})
	if err != nil || runs != 2 {
		t.Fatalf("conflict then success: %v after %d runs, want nil after 2", err, runs)
	}
	events, err := s.ListAuditEvents(ctx, agcom.Caller{Handle: "root", IsAdmin: true}, agcom.AuditFilter{EventType: "test.retry"})
	if err != nil || len(events.Events) != 1 || events.Events[0].Details["run"] != float64(2) {
		t.Errorf("audit after a retried transaction: %+v (err %v), want exactly the second run's event", events.Events, err)
	}
}

// Other errors are not retried, and unique violations are Conflict.
func TestWriteTxDoesNotRetryOtherErrors(t *testing.T) {
	s := openTest(t)
	runs := 0
	boom := errors.New("boom")
	if err := s.writeTx(context.Background(), func(*tx) error { runs++; return boom }); !errors.Is(err, boom) || runs != 1 {
		t.Errorf("plain error: %v after %d runs, want boom after 1", err, runs)
	}
	if err := translate(&pgconn.PgError{Code: codeUniqueViolation}); agcom.ErrorCode(err) != agcom.ECONFLICT {
		t.Errorf("unique violation translates to %v, want %s", err, agcom.ECONFLICT)
	}
}

func TestLikePattern(t *testing.T) {
	for q, want := range map[string]string{
		"100%":     `%100\%%`,
		"a_b":      `%a\_b%`,
		`back\`:    `%bac_\\%`,
		"Straße":   `%_tra_e%`,
		"σίσυφος":  `%_______%`,
		"日本":       `%日本%`,
		"KELVIN k": `%_ELVIN _%`,
	} {
		if got := likePattern(q); got != want {
			t.Errorf("likePattern(%q) = %q, want %q", q, got, want)
		}
	}
}

// When the connection that listens for events is lost, the store listens
// again and wakes every subscriber (notifications sent meanwhile are gone),
// then delivers another node's wake-ups as before.
func TestListenerReconnects(t *testing.T) {
	url := testdb.NeedPostgres(t)
	ctx := context.Background()
	open := func() *Store {
		s, err := Open(ctx, url)
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	writer, reader := open(), open()
	wake, stop := reader.Subscribe(agcom.Caller{Handle: "bob"})
	defer stop()
	waitWake := func(what string) {
		t.Helper()
		select {
		case <-wake:
		case <-time.After(10 * time.Second):
			t.Fatalf("no wake-up %s", what)
		}
	}
	send := func() {
		t.Helper()
		if _, _, err := agcom.NewService(writer).SendMessage(ctx, agcom.Caller{Handle: "alice"}, agcom.NewMessage{
			ToHandles: []string{"bob"}, Subject: "s", Body: "b"}, nil); err != nil {
			t.Fatalf("send: %v", err)
		}
	}
	send()
	waitWake("for another node's message")

	var killed int
	err := reader.pool.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE query = 'LISTEN `+notifyChannel+`' AND pid <> pg_backend_pid()`).Scan(&killed)
	if err != nil || killed == 0 {
		t.Fatalf("terminate the listening connections: %d terminated, err %v", killed, err)
	}
	waitWake("after the listening connection came back")
	send()
	waitWake("for a message after reconnecting")
}
