package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
)

func pageSizeOf(t *testing.T, s *Store) int {
	t.Helper()
	var n int
	if err := s.write.QueryRowContext(context.Background(), "PRAGMA page_size").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestNewDatabasePageSize: a database the store creates has pageSize
// pages and is in WAL mode.
func TestNewDatabasePageSize(t *testing.T) {
	s := openTestStore(t, filepath.Join(t.TempDir(), "new", "agcom.db"))
	if got := pageSizeOf(t, s); got != pageSize {
		t.Fatalf("page size %d, want %d", got, pageSize)
	}
	var mode string
	if err := s.write.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Fatalf("journal mode %q, want wal", mode)
	}
}

// TestExistingDatabaseKeepsPageSize: a database created elsewhere with
// another page size is opened and migrated as it is.
func TestExistingDatabaseKeepsPageSize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agcom.db")
	db, err := sql.Open(driverName, "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"PRAGMA page_size = 8192", "CREATE TABLE elsewhere (x)", "INSERT INTO elsewhere VALUES (1)"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s := openTestStore(t, path)
	if got := pageSizeOf(t, s); got != 8192 {
		t.Fatalf("page size %d, want the file's 8192", got)
	}
	var x, version int
	if err := s.write.QueryRow("SELECT x FROM elsewhere").Scan(&x); err != nil || x != 1 {
		t.Fatalf("the existing row: %d, %v", x, err)
	}
	if err := s.write.QueryRow("PRAGMA user_version").Scan(&version); err != nil {
		t.Fatal(err)
	}
	if want := SchemaVersion(); version != want {
		t.Fatalf("schema version %d, want %d", version, want)
	}
}
