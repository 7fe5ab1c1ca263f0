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
	names, err := migrationNames()
	if err != nil {
		t.Fatal(err)
	}
	const before = 3 // the schema before idempotency records
	if _, err := conn.Exec(ctx, `CREATE TABLE schema_migrations (
		version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		t.Fatal(err)
	}
	for i, name := range names[:before] {
		body, err := migrationFS.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, string(body)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := conn.Exec(ctx, "INSERT INTO schema_migrations (version) VALUES ($1)", i+1); err != nil {
			t.Fatal(err)
		}
	}
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
