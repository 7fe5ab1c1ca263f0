package tests

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/agcom/agcom/internal/store/sqlite"
	"github.com/agcom/agcom/internal/testdb"
	"github.com/agcom/agcom/internal/testserver"
)

// filesUsualUmask makes files created during the test get the mode most
// systems give by default (0644 for a file opened with 0666), whatever
// umask the tests run under, and restores the old one after.
func filesUsualUmask(t *testing.T) {
	old := syscall.Umask(0o022)
	t.Cleanup(func() { syscall.Umask(old) })
}

// filesWantMode fails the test unless path exists with permissions want.
func filesWantMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Errorf("stat %s: %v", path, err)
		return
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s: mode %04o, want %04o", path, got, want)
	}
}

func TestDatabaseFilesArePrivate(t *testing.T) {
	testdb.SQLiteOnly(t, "PostgreSQL keeps its own files")
	filesUsualUmask(t)
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "new", "data", "agcom.db")
	s := testserver.New(t, testserver.Options{Env: map[string]string{"DB_PATH": dbPath}})
	e := &env{t: t, URL: s.URL, App: s.App}
	e.send("alice", []string{"bob"}, "files", "a message on disk")

	for _, d := range []string{filepath.Join(dir, "new"), filepath.Join(dir, "new", "data")} {
		filesWantMode(t, d, 0o700)
	}
	// The write went to the WAL; the shared-memory index is open.
	for _, f := range []string{dbPath, dbPath + "-wal", dbPath + "-shm"} {
		filesWantMode(t, f, 0o600)
	}

	storeCopy := filepath.Join(dir, "store-backup.db")
	if err := s.App.Store.(*sqlite.Store).Backup(t.Context(), storeCopy); err != nil {
		t.Fatalf("Store.Backup: %v", err)
	}
	filesWantMode(t, storeCopy, 0o600)
	cliCopy := filepath.Join(dir, "cli-backup.db")
	if out, code := hardRunBackupCLI(t, dbPath, "--to", cliCopy); code != 0 {
		t.Fatalf("agcomd backup --to %s: exit %d: %s", cliCopy, code, out)
	} else if strings.Contains(out, "WARN") {
		t.Errorf("agcomd backup of a private database warns: %s", out)
	}
	filesWantMode(t, cliCopy, 0o600)
}

// A database that others may read is served, with one warning per file
// at start-up, naming the file and its mode.
func TestDatabaseOpenToOthersWarns(t *testing.T) {
	testdb.SQLiteOnly(t, "PostgreSQL keeps its own files")
	filesUsualUmask(t)
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "agcom.db")
	first, err := testserver.Start(dir, testserver.Options{})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	e := &env{t: t, URL: first.URL, App: first.App}
	e.send("alice", []string{"bob"}, "secret subject", "secret body")
	if err := first.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := os.Chmod(dbPath, 0o644); err != nil {
		t.Fatal(err)
	}

	logs := &hardLogBuffer{}
	again, err := testserver.Start(dir, testserver.Options{Env: map[string]string{"LOG_LEVEL": "WARN"}, Logs: logs})
	if err != nil {
		t.Fatalf("start on the database open to others: %v", err)
	}
	t.Cleanup(func() { again.Close() })
	warned := map[string]string{}
	for _, line := range strings.Split(logs.String(), "\n") {
		if line == "" {
			continue
		}
		var rec struct{ Level, Msg, File, Mode string }
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec.Level == "WARN" && rec.File != "" {
			warned[rec.File] = rec.Mode
		}
	}
	// SQLite gave the -wal and -shm files the database's mode.
	for _, f := range []string{dbPath, dbPath + "-wal", dbPath + "-shm"} {
		if got := warned[f]; got != "0644" {
			t.Errorf("warning for %s: mode %q, want one WARN line with mode 0644; logs:\n%s", f, got, logs)
		}
	}
	if strings.Count(logs.String(), `"file":"`+dbPath+`"`) != 1 {
		t.Errorf("want exactly one warning naming %s; logs:\n%s", dbPath, logs)
	}
	for _, secret := range []string{"secret subject", "secret body"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the warning shows the database's contents (%q); logs:\n%s", secret, logs)
		}
	}
}
