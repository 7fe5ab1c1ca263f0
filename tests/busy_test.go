package tests

import (
	"database/sql"
	"github.com/agcom/agcom/internal/testdb"
	"net/http"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/agcom/agcom/internal/config"
)

// hardHoldWriteLock takes SQLite's write lock on path from a connection of
// its own (BEGIN IMMEDIATE, nothing written) and returns a function that
// releases it.
func hardHoldWriteLock(t *testing.T, path string) (release func()) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=5000")
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatalf("conn: %v", err)
	}
	if _, err := conn.ExecContext(t.Context(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatalf("BEGIN IMMEDIATE: %v", err)
	}
	released := false
	release = func() {
		if released {
			return
		}
		released = true
		if _, err := conn.ExecContext(t.Context(), "ROLLBACK"); err != nil {
			t.Errorf("ROLLBACK: %v", err)
		}
		conn.Close()
		db.Close()
	}
	t.Cleanup(release)
	return release
}

func TestDatabaseBusy503(t *testing.T) {
	testdb.SQLiteOnly(t, "it holds the SQLite file's write lock")
	const busy = 200 * time.Millisecond
	e := newEnv(t, func(c *config.Config) { c.DBBusyTimeout = busy })
	tok := e.token("alice")
	before := e.send("alice", []string{"bob"}, "before the lock", "hello")
	stats, err := e.App.Store.Stats(t.Context())
	if err != nil {
		t.Fatal(err)
	}

	release := hardHoldWriteLock(t, e.App.Config.DBPath)

	body := hardSendBody("bob", "while locked", "hello")
	start := time.Now()
	resp, b := e.do("POST", "/api/v1/messages", tok, body)
	took := time.Since(start)
	wantError(t, resp, b, http.StatusServiceUnavailable, "DatabaseBusy")
	hardRetryAfter(t, resp, b)
	if took < busy/2 {
		t.Errorf("503 after %v: the writer did not wait for the lock (busy timeout %v)", took, busy)
	}
	if took > 10*busy {
		t.Errorf("503 after %v, want about the configured busy timeout %v", took, busy)
	}

	// Other writes are refused the same way; nothing half-written.
	resp, b = e.do("POST", "/api/v1/contacts", tok, `{"handle":"carol"}`)
	wantError(t, resp, b, http.StatusServiceUnavailable, "DatabaseBusy")

	// Reads go on while the writer is blocked (WAL).
	reads := []string{
		"/api/v1/messages/" + before.MessageId,
		"/api/v1/threads/" + before.ThreadId,
		"/api/v1/threads",
		"/api/v1/messages/search?query=hello",
	}
	for _, p := range reads {
		if resp, b := e.do("GET", p, tok, ""); resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s while the write lock is held: status %d, want 200; body %s", p, resp.StatusCode, b)
		}
	}
	if resp, b := e.do("GET", "/api/v1/health/ready", "", ""); resp.StatusCode != http.StatusOK {
		t.Errorf("readiness while the write lock is held: status %d, want 200; body %s", resp.StatusCode, b)
	}
	after, err := e.App.Store.Stats(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if after != stats {
		t.Errorf("stats changed while every write was refused: %+v, then %+v", stats, after)
	}

	release()
	resp, b = e.do("POST", "/api/v1/messages", tok, body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("the same send after the lock is released: status %d, want 201; body %s", resp.StatusCode, b)
	}
	resp, b = e.do("POST", "/api/v1/contacts", tok, `{"handle":"carol"}`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create contact after the lock is released: status %d, want 201; body %s", resp.StatusCode, b)
	}
	final, err := e.App.Store.Stats(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if final.Messages != stats.Messages+1 || final.Threads != stats.Threads+1 || final.Contacts != stats.Contacts+1 {
		t.Errorf("stats after release = %+v, want one more message, thread and contact than %+v", final, stats)
	}
}
