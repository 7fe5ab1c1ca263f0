package tests

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/agcom/agcom/internal/store/sqlite"
	"github.com/agcom/agcom/internal/testdb"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/agcom/agcom/gen/agcomv1"
	"github.com/agcom/agcom/internal/config"
)

// hardRunBackupCLI runs `agcomd backup args...` with DB_PATH=dbPath in an
// empty directory (no .env) and returns its output and exit code.
func hardRunBackupCLI(t *testing.T, dbPath string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(hardAgcomd(t), append([]string{"backup"}, args...)...)
	cmd.Dir = t.TempDir()
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "DB_PATH=" + dbPath}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return out.String(), exit.ExitCode()
	case err != nil:
		t.Fatalf("agcomd backup: %v", err)
	}
	return out.String(), 0
}

// hardWantReadable reads every message back through the API of e as its
// sender and as its recipient.
func hardWantReadable(t *testing.T, e *env, msgs []agcomv1.Message) {
	t.Helper()
	for _, m := range msgs {
		for _, who := range []string{m.FromHandle, m.ToHandles[0]} {
			resp, err := e.client(who).GetMessageWithResponse(t.Context(), m.MessageId)
			if err != nil {
				t.Fatalf("get %s: %v", m.MessageId, err)
			}
			if resp.JSON200 == nil {
				t.Errorf("GET /messages/%s as %s on the restored copy: status %d; body %s", m.MessageId, who, resp.StatusCode(), resp.Body)
				continue
			}
			got := resp.JSON200
			if got.Body != m.Body || got.Subject != m.Subject || got.ThreadId != m.ThreadId || !got.CreatedAt.Equal(m.CreatedAt) {
				t.Errorf("message %s restored as %+v, want %+v", m.MessageId, *got, m)
			}
		}
	}
}

func TestBackupWhileServing(t *testing.T) {
	testdb.SQLiteOnly(t, "a PostgreSQL database is backed up with pg_dump")
	e := newEnv(t)
	var sent []agcomv1.Message
	for i := 0; i < 5; i++ {
		sent = append(sent, e.send("alice", []string{"bob"}, fmt.Sprintf("before backup %d", i), fmt.Sprintf("body %d", i)))
	}

	// Writers keep going during the backups.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var during atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		tok := e.token("carol")
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			resp, b, err := hardTry(nil, "POST", e.URL+"/api/v1/messages", tok, strings.NewReader(hardSendBody("dave", "during", "busy writer")), nil)
			if err != nil {
				t.Errorf("send during backup: %v", err)
				return
			}
			if resp.StatusCode != 201 {
				t.Errorf("send during backup: status %d; body %s", resp.StatusCode, b)
				return
			}
			during.Add(1)
		}
	}()

	dir := t.TempDir()
	apiCopy := filepath.Join(dir, "store-backup.db")
	if err := e.App.Store.(*sqlite.Store).Backup(t.Context(), apiCopy); err != nil {
		t.Fatalf("Store.Backup while serving: %v", err)
	}
	cliCopy := filepath.Join(dir, "cli-backup.db")
	out, code := hardRunBackupCLI(t, e.App.Config.DBPath, "--to", cliCopy)
	if code != 0 {
		t.Fatalf("agcomd backup --to %s: exit %d: %s", cliCopy, code, out)
	}
	close(stop)
	wg.Wait()
	if during.Load() == 0 {
		t.Errorf("no write succeeded while the backups ran")
	}
	// The live server still serves reads and writes.
	sent = append(sent, e.send("alice", []string{"bob"}, "after backup", "still serving"))

	// A backup never overwrites.
	if err := e.App.Store.(*sqlite.Store).Backup(t.Context(), apiCopy); err == nil {
		t.Errorf("Store.Backup onto an existing file: no error")
	}
	if out, code := hardRunBackupCLI(t, e.App.Config.DBPath, "--to", cliCopy); code == 0 {
		t.Errorf("agcomd backup onto an existing file: exit 0: %s", out)
	}

	for name, path := range map[string]string{"Store.Backup": apiCopy, "agcomd backup": cliCopy} {
		t.Run(name, func(t *testing.T) {
			restored := newEnv(t, func(c *config.Config) { c.DBPath = path })
			hardWantReadable(t, restored, sent[:5])
			// The message sent after the backup is not in it.
			resp, err := restored.client("alice").GetMessageWithResponse(t.Context(), sent[5].MessageId)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode() != 404 {
				t.Errorf("message sent after the backup: status %d on the copy, want 404", resp.StatusCode())
			}
			page := restored.messages("bob", agcomv1.ListMessagesParams{Limit: ptr(100)})
			if page.Pagination.Total < 5 {
				t.Errorf("bob sees %d messages on the copy, want at least 5", page.Pagination.Total)
			}
			if stats, err := restored.App.Store.Stats(t.Context()); err != nil || stats.Messages < 5 {
				t.Errorf("copy stats = %+v, %v; want at least 5 messages", stats, err)
			}
		})
	}
}

func TestBackupCLIErrors(t *testing.T) {
	testdb.SQLiteOnly(t, "a PostgreSQL database is backed up with pg_dump")
	dir := t.TempDir()

	t.Run("missing --to", func(t *testing.T) {
		e := newEnv(t)
		if out, code := hardRunBackupCLI(t, e.App.Config.DBPath); code == 0 {
			t.Errorf("agcomd backup without --to: exit 0: %s", out)
		}
	})

	t.Run("no database at DB_PATH", func(t *testing.T) {
		// A mistyped DB_PATH must not create an empty database and
		// report a backup of it.
		missing := filepath.Join(dir, "typo", "agcom.db")
		to := filepath.Join(dir, "backup-of-nothing.db")
		out, code := hardRunBackupCLI(t, missing, "--to", to)
		if code == 0 {
			t.Errorf("agcomd backup of a missing database: exit 0: %s", out)
		}
		if !strings.Contains(out, missing) {
			t.Errorf("agcomd backup of a missing database: output %q does not name %s", out, missing)
		}
		for _, p := range []string{missing, filepath.Dir(missing), to} {
			if _, err := os.Stat(p); err == nil {
				t.Errorf("agcomd backup of a missing database created %s", p)
			}
		}
	})
}

// With DATABASE_URL set, agcomd backup refuses rather than copying a
// SQLite file the server does not use.
func TestBackupRefusesPostgres(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "agcom.db")
	if err := os.WriteFile(dbPath, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	to := filepath.Join(t.TempDir(), "copy.db")
	cmd := exec.Command(hardAgcomd(t), "backup", "--to", to)
	cmd.Dir = t.TempDir()
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "DB_PATH=" + dbPath,
		"DATABASE_URL=postgres://agcom:hunter2@127.0.0.1:1/agcom"}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("agcomd backup with DATABASE_URL: err %v, want a non-zero exit; output %s", err, out)
	}
	if !strings.Contains(string(out), "pg_dump") || strings.Contains(string(out), "hunter2") {
		t.Errorf("output %q: want it to point at pg_dump and never show the password", out)
	}
	if _, err := os.Stat(to); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s was written (stat: %v)", to, err)
	}
}
