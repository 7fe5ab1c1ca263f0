package tests

import (
	"database/sql"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/mattn/go-sqlite3"

	"github.com/agcom/agcom/gen/agcomv1"
)

// A wake-up can be lost: on PostgreSQL a node announces its commits to the
// other nodes after them, and a node that stops in between never does. A
// stream then learns of those events at its next keep-alive.
func TestStreamReadsAgainAtKeepAlive(t *testing.T) {
	e := newEnv(t, withKeepAlive(200*time.Millisecond))
	sent := e.send("alice", []string{"bob"}, "s", "b")
	tok := e.token("bob")
	stream := evOpen(t, e, tok, evHead(t, e, tok), "")
	if ev, ok := stream.next(300 * time.Millisecond); ok {
		t.Fatalf("unexpected event %+v", ev)
	}
	insertUnannouncedEvent(t, e, "bob", sent.ThreadId)
	ev, ok := stream.next(5 * time.Second)
	if !ok || ev.Type != agcomv1.ThreadUpdated || ev.ThreadId != sent.ThreadId {
		t.Fatalf("got %+v (%v), want the thread.updated of %s by the next keep-alive", ev, ok, sent.ThreadId)
	}
}

// insertUnannouncedEvent adds a thread.updated event to handle's log
// straight into the database, waking nobody.
func insertUnannouncedEvent(t *testing.T, e *env, handle, threadID string) {
	t.Helper()
	now := time.Now().UnixMicro()
	if url := e.App.Config.DatabaseURL; url != "" {
		conn, err := pgx.Connect(t.Context(), url)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(t.Context())
		if _, err := conn.Exec(t.Context(), `INSERT INTO events (handle, type, thread_id, message_seq, data, created_at, cursor)
			VALUES ($1, 'thread.updated', $2, NULL, NULL, $3, (1::bigint << 62) | (pg_current_xact_id()::text::bigint << 16))`,
			handle, threadID, now); err != nil {
			t.Fatalf("insert event: %v", err)
		}
		return
	}
	db, err := sql.Open("sqlite3", "file:"+e.App.Config.DBPath+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(t.Context(), `INSERT INTO events (handle, type, thread_id, message_seq, data, created_at)
		VALUES (?, 'thread.updated', ?, NULL, NULL, ?)`, handle, threadID, now); err != nil {
		t.Fatalf("insert event: %v", err)
	}
}
