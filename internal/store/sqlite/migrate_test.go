package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/agcom/agcom/internal/agcom"
)

// oldIdempotencyAnswers are answers stored before migration 9, and the
// records they become (none for an answer that was not a create's).
var oldIdempotencyAnswers = []struct {
	key, body string
	status    int
	want      *agcom.IdempotentRecord
}{
	{"send", `{"message_id":"M1","thread_id":"T1"}`, 201, &agcom.IdempotentRecord{Fingerprint: "f-send", Kind: agcom.CreatedMessage, IDs: []string{"M1"}}},
	{"broadcast", `{"messages":[{"message_id":"M2"},{"message_id":"M3"}],"count":2}`, 201, &agcom.IdempotentRecord{Fingerprint: "f-broadcast", Kind: agcom.CreatedMessages, IDs: []string{"M2", "M3"}}},
	{"contact", `{"handle":"carol","version":1}`, 201, &agcom.IdempotentRecord{Fingerprint: "f-contact", Kind: agcom.CreatedContact, IDs: []string{"carol"}}},
	{"not-json", `garbage`, 201, nil},
	{"error", `{"error":{"type":"NotFound"}}`, 404, nil},
}

// Keys stored as encoded answers become records of what their create made.
func TestMigrateIdempotencyKeys(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "agcom.db")
	db, err := sql.Open(driverName, path)
	if err != nil {
		t.Fatal(err)
	}
	const before = 8 // the schema before idempotency records
	applyMigrations(t, db, before)
	now := toMicros(time.Now())
	for _, a := range oldIdempotencyAnswers {
		if _, err := db.ExecContext(ctx, `INSERT INTO idempotency_keys (handle, key, request, status, body, created_at)
			VALUES ('alice', ?, ?, ?, ?, ?)`, a.key, "f-"+a.key, a.status, []byte(a.body), now); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("open (migrate): %v", err)
	}
	defer s.Close()
	err = s.writeTx(ctx, func(tx *tx) error {
		for _, a := range oldIdempotencyAnswers {
			got, ok, err := tx.IdempotentRecord("alice", a.key)
			switch {
			case err != nil:
				return err
			case a.want == nil && ok:
				t.Errorf("%s: record %+v, want none", a.key, got)
			case a.want != nil && (!ok || got.Fingerprint != a.want.Fingerprint || got.Kind != a.want.Kind || !slices.Equal(got.IDs, a.want.IDs)):
				t.Errorf("%s: record %+v (found %v), want %+v", a.key, got, ok, *a.want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// oldAdminCopies are events as they were written before migration 10, one
// row per participant and per admin, and the handle each row has after
// it ("" for a row that goes). root and ops are admins; root takes part
// in thread T2; ex was an admin and no longer is.
var oldAdminCopies = []struct {
	seq                   int64
	handle, typ, threadID string
	messageSeq            any
	created               int64
	want                  string
}{
	{1, "alice", agcom.EventMessageCreated, "T1", 1, 100, "alice"},
	{2, "bob", agcom.EventMessageCreated, "T1", 1, 100, "bob"},
	{3, "root", agcom.EventMessageCreated, "T1", 1, 100, "*"},
	{4, "ops", agcom.EventMessageCreated, "T1", 1, 100, ""},
	{5, "ex", agcom.EventMessageCreated, "T1", 1, 100, "ex"},
	{6, "alice", agcom.EventMessageCreated, "T2", 2, 200, "alice"},
	{7, "root", agcom.EventMessageCreated, "T2", 2, 200, "root"},
	{8, "ops", agcom.EventMessageCreated, "T2", 2, 200, "*"},
	{9, "root", agcom.EventMessageRead, "T2", nil, 300, "root"},
	{10, "alice", agcom.EventThreadUpdated, "T1", nil, 400, "alice"},
	{11, "bob", agcom.EventThreadUpdated, "T1", nil, 400, "bob"},
	{12, "root", agcom.EventThreadUpdated, "T1", nil, 400, "*"},
	{13, "ops", agcom.EventThreadUpdated, "T1", nil, 400, ""},
	{14, "root", agcom.EventThreadUpdated, "T1", nil, 500, "*"},
	{15, "ops", agcom.EventThreadUpdated, "T1", nil, 500, ""},
}

// oldParticipants are the threads' participants for oldAdminCopies.
var oldParticipants = [][2]string{{"T1", "alice"}, {"T1", "bob"}, {"T2", "alice"}, {"T2", "root"}}

// Admins' copies of thread events become one row of the thread log each,
// at the first copy's cursor.
func TestMigrateAdminCopiesToThreadLog(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "agcom.db")
	db, err := sql.Open(driverName, path)
	if err != nil {
		t.Fatal(err)
	}
	const before = 9 // the schema before the thread log
	applyMigrations(t, db, before)
	for _, a := range []struct {
		handle string
		admin  bool
	}{{"alice", false}, {"bob", false}, {"root", true}, {"ops", true}, {"ex", false}} {
		if _, err := db.ExecContext(ctx, `INSERT INTO agents (handle, secret_hash, is_admin, created_at, updated_at)
			VALUES (?, 'x', ?, 0, 0)`, a.handle, a.admin); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range oldParticipants {
		if _, err := db.ExecContext(ctx, `INSERT INTO thread_participants (thread_id, handle, last_activity_at)
			VALUES (?, ?, 0)`, p[0], p[1]); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range oldAdminCopies {
		if _, err := db.ExecContext(ctx, `INSERT INTO events (seq, handle, type, thread_id, message_seq, created_at)
			VALUES (?, ?, ?, ?, ?, ?)`, e.seq, e.handle, e.typ, e.threadID, e.messageSeq, e.created); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("open (migrate): %v", err)
	}
	defer s.Close()
	got := map[int64]string{}
	rows, err := s.read.QueryContext(ctx, `SELECT seq, handle FROM events`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var (
			seq    int64
			handle string
		)
		if err := rows.Scan(&seq, &handle); err != nil {
			t.Fatal(err)
		}
		got[seq] = handle
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, e := range oldAdminCopies {
		if h, ok := got[e.seq]; h != e.want || ok != (e.want != "") {
			t.Errorf("event %d (%s's): handle %q (kept %v), want %q", e.seq, e.handle, h, ok, e.want)
		}
	}
}

// applyMigrations applies the first n migrations to db, as a store of
// schema version n would have.
func applyMigrations(t *testing.T, db *sql.DB, n int) {
	t.Helper()
	err := schema.First(n).Apply(0, func(_ int, body string) error {
		_, err := db.Exec(body)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("PRAGMA user_version = " + strconv.Itoa(n)); err != nil {
		t.Fatal(err)
	}
}
