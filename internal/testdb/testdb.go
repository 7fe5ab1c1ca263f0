// Package testdb gives tests a store to run on. By default that is SQLite;
// with AGCOM_TEST_STORE=postgres it is a fresh schema of the PostgreSQL
// database at AGCOM_TEST_DATABASE_URL (scripts/test-services starts a
// throwaway one), dropped when the test ends.
package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

// Postgres reports whether tests run on PostgreSQL.
func Postgres() bool { return os.Getenv("AGCOM_TEST_STORE") == "postgres" }

// Store names the store tests run on, for test names and skips.
func Store() string {
	if Postgres() {
		return "postgres"
	}
	return "sqlite"
}

// SQLiteOnly skips a test of something only the SQLite store has (its file,
// its single writer, its backup).
func SQLiteOnly(t testing.TB, why string) {
	t.Helper()
	if Postgres() {
		t.Skip("SQLite only: " + why)
	}
}

// PostgresURL creates an empty schema for the test in the database at
// AGCOM_TEST_DATABASE_URL and returns a URL whose connections use it. The
// schema is dropped when the test ends (after cleanups registered later,
// such as closing the server, have run).
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv("AGCOM_TEST_DATABASE_URL")
	if base == "" {
		t.Fatal("AGCOM_TEST_DATABASE_URL is not set: run the tests on PostgreSQL through scripts/test-services")
	}
	var b [8]byte
	rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to the test database: %v", err)
	}
	defer conn.Close(ctx)
	// The name is ours (hex digits), not input.
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("connect to drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("AGCOM_TEST_DATABASE_URL: %v", err)
	}
	q := u.Query()
	// pg_trgm lives in public: the test's own schema comes first.
	q.Set("search_path", schema+",public")
	u.RawQuery = q.Encode()
	return u.String()
}

// NeedPostgres is PostgresURL for a test that needs PostgreSQL whichever
// store the suite runs on.
func NeedPostgres(t testing.TB) string {
	t.Helper()
	need(t, "AGCOM_TEST_DATABASE_URL")
	return PostgresURL(t)
}

// NeedRedis returns the URL of the Redis tests may use,
// AGCOM_TEST_REDIS_URL.
func NeedRedis(t testing.TB) string {
	t.Helper()
	return need(t, "AGCOM_TEST_REDIS_URL")
}

// need returns the variable naming a service the test needs. Without it
// the test is skipped, or fails when AGCOM_TEST_REQUIRE_SERVICES=1 (as
// scripts/test-services sets, so that make test never skips silently).
func need(t testing.TB, variable string) string {
	t.Helper()
	v := os.Getenv(variable)
	if v == "" {
		if os.Getenv("AGCOM_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatalf("%s is not set and AGCOM_TEST_REQUIRE_SERVICES=1", variable)
		}
		t.Skipf("%s is not set: run through scripts/test-services (make test does)", variable)
	}
	return v
}
