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
	names, err := migrationNames()
	if err != nil {
		t.Fatal(err)
	}
	const before = 8 // the schema before idempotency records
	for _, name := range names[:before] {
		body, err := migrationFS.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, string(body)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if _, err := db.ExecContext(ctx, "PRAGMA user_version = "+strconv.Itoa(before)); err != nil {
		t.Fatal(err)
	}
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
