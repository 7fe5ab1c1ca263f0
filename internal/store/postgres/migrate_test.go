package postgres

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/agcom/agcom/internal/agcom"
	"github.com/agcom/agcom/internal/testdb"
)

// Keys stored as encoded answers become records of what their create made.
func TestMigrateIdempotencyKeys(t *testing.T) {
	ctx := context.Background()
	url := testdb.NeedPostgres(t)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	const before = 3 // the schema before idempotency records
	applyMigrations(t, conn, before)
	answers := []struct {
		key, body string
		status    int
		want      *agcom.IdempotentRecord
	}{
		{"send", `{"message_id":"M1","thread_id":"T1"}`, 201, &agcom.IdempotentRecord{Fingerprint: "f-send", Kind: agcom.CreatedMessage, IDs: []string{"M1"}}},
		{"broadcast", `{"messages":[{"message_id":"M2"},{"message_id":"M3"}],"count":2}`, 201, &agcom.IdempotentRecord{Fingerprint: "f-broadcast", Kind: agcom.CreatedMessages, IDs: []string{"M2", "M3"}}},
		{"contact", `{"handle":"carol","version":1}`, 201, &agcom.IdempotentRecord{Fingerprint: "f-contact", Kind: agcom.CreatedContact, IDs: []string{"carol"}}},
		{"error", `{"error":{"type":"NotFound"}}`, 404, nil},
	}
	now := toMicros(time.Now())
	for _, a := range answers {
		if _, err := conn.Exec(ctx, `INSERT INTO idempotency_keys (handle, key, request, status, body, created_at)
			VALUES ('alice', $1, $2, $3, $4, $5)`, a.key, "f-"+a.key, a.status, []byte(a.body), now); err != nil {
			t.Fatal(err)
		}
	}
	conn.Close(ctx)

	s, err := Open(ctx, url)
	if err != nil {
		t.Fatalf("open (migrate): %v", err)
	}
	defer s.Close()
	err = s.writeTx(ctx, func(tx *tx) error {
		for _, a := range answers {
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

// Admins' copies of thread events become one row of the thread log each,
// at the first copy's cursor. root and ops are admins; root takes part in
// thread T2; ex was an admin and no longer is. want is each row's handle
// after the migration ("" for a row that goes).
func TestMigrateAdminCopiesToThreadLog(t *testing.T) {
	ctx := context.Background()
	url := testdb.NeedPostgres(t)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	const before = 4 // the schema before the thread log
	applyMigrations(t, conn, before)
	old := []struct {
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
	for _, a := range []struct {
		handle string
		admin  bool
	}{{"alice", false}, {"bob", false}, {"root", true}, {"ops", true}, {"ex", false}} {
		if _, err := conn.Exec(ctx, `INSERT INTO agents (handle, secret_hash, is_admin, created_at, updated_at)
			VALUES ($1, 'x', $2, 0, 0)`, a.handle, a.admin); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := conn.Exec(ctx, `INSERT INTO threads (id, subject, created_at, last_activity_at)
		VALUES ('T1', 's', 0, 0), ('T2', 's', 0, 0)`); err != nil {
		t.Fatal(err)
	}
	for _, p := range [][2]string{{"T1", "alice"}, {"T1", "bob"}, {"T2", "alice"}, {"T2", "root"}} {
		if _, err := conn.Exec(ctx, `INSERT INTO thread_participants (thread_id, handle, last_activity_at)
			VALUES ($1, $2, 0)`, p[0], p[1]); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range old {
		if _, err := conn.Exec(ctx, `INSERT INTO events (seq, handle, type, thread_id, message_seq, created_at)
			OVERRIDING SYSTEM VALUE VALUES ($1, $2, $3, $4, $5, $6)`, e.seq, e.handle, e.typ, e.threadID, e.messageSeq, e.created); err != nil {
			t.Fatal(err)
		}
	}
	conn.Close(ctx)

	s, err := Open(ctx, url)
	if err != nil {
		t.Fatalf("open (migrate): %v", err)
	}
	defer s.Close()
	rows, err := s.pool.Query(ctx, `SELECT seq, handle FROM events`)
	if err != nil {
		t.Fatal(err)
	}
	got := map[int64]string{}
	var (
		seq    int64
		handle string
	)
	if _, err := pgx.ForEachRow(rows, []any{&seq, &handle}, func() error { got[seq] = handle; return nil }); err != nil {
		t.Fatal(err)
	}
	for _, e := range old {
		if h, ok := got[e.seq]; h != e.want || ok != (e.want != "") {
			t.Errorf("event %d (%s's): handle %q (kept %v), want %q", e.seq, e.handle, h, ok, e.want)
		}
	}
}

// applyMigrations applies the first n migrations through conn, as a store
// of schema version n would have.
func applyMigrations(t *testing.T, conn *pgx.Conn, n int) {
	t.Helper()
	ctx := context.Background()
	if _, err := conn.Exec(ctx, `CREATE TABLE schema_migrations (
		version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		t.Fatal(err)
	}
	err := schema.First(n).Apply(0, func(v int, body string) error {
		if _, err := conn.Exec(ctx, body); err != nil {
			return err
		}
		_, err := conn.Exec(ctx, "INSERT INTO schema_migrations (version) VALUES ($1)", v)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
