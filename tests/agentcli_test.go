package tests

import (
	"bytes"
	"errors"
	"github.com/agcom/agcom/internal/config"
	"github.com/agcom/agcom/internal/testdb"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// moduleRoot finds the directory holding go.mod, from the test's working
// directory upwards.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.mod above the working directory")
		}
		dir = parent
	}
}

// buildAgcomd builds cmd/agcomd with the same tags as the tests into dir.
func buildAgcomd(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "agcomd")
	cmd := exec.Command("go", "build", "-tags", "sqlite_fts5", "-o", bin, "./cmd/agcomd")
	cmd.Dir = moduleRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/agcomd: %v\n%s", err, out)
	}
	return bin
}

// cli runs the agcomd binary on one database, in an empty directory (so no
// .env is read) with only the environment it is given.
type cli struct {
	t      *testing.T
	bin    string
	dir    string
	dbPath string
	dbURL  string // DATABASE_URL, when the tests run on PostgreSQL
	key    string
}

// run executes agcomd with args and returns stdout, stderr and the exit code.
func (c cli) run(args ...string) (stdout, stderr string, code int) {
	c.t.Helper()
	cmd := exec.Command(c.bin, args...)
	cmd.Dir = c.dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "DB_PATH=" + c.dbPath, "DATABASE_URL=" + c.dbURL, "SECRET_KEY=" + c.key}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		c.t.Fatalf("agcomd %v: %v", args, err)
	}
	return out.String(), errOut.String(), code
}

// ok runs agcomd and fails the test unless it exits 0.
func (c cli) ok(args ...string) string {
	c.t.Helper()
	out, errOut, code := c.run(args...)
	if code != 0 {
		c.t.Fatalf("agcomd %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	if strings.Contains(out+errOut, hashMarker) {
		c.t.Errorf("agcomd %s printed a secret hash: %s%s", strings.Join(args, " "), out, errOut)
	}
	return out
}

var secretLine = regexp.MustCompile(`(?m)^secret:\s+(\S+)\s*$`)

// secretFrom extracts the one secret printed by add or rotate-secret.
func secretFrom(t *testing.T, out string) string {
	t.Helper()
	m := secretLine.FindAllStringSubmatch(out, -1)
	if len(m) != 1 {
		t.Fatalf("output has %d secret lines, want 1:\n%s", len(m), out)
	}
	s := m[0][1]
	if n := strings.Count(out, s); n != 1 {
		t.Errorf("the secret appears %d times in the output, want once", n)
	}
	if len(s) < 32 {
		t.Errorf("secret %q is shorter than 32 characters", s)
	}
	return s
}

// agentRow returns the fields of the `agent list` line for handle.
func agentRow(out, handle string) []string {
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == handle {
			return f
		}
	}
	return nil
}

func TestOperatorCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cmd/agcomd")
	}
	tmp := t.TempDir()
	c := cli{t: t, bin: buildAgcomd(t, tmp), dir: t.TempDir(), dbPath: filepath.Join(tmp, "agcom.db"), key: testSecretKey}
	if testdb.Postgres() {
		c.dbURL = testdb.PostgresURL(t)
	}

	// Before the server starts: the first admin, from the command line.
	bobOut := c.ok("agent", "add", "bob", "--admin")
	bobSecret := secretFrom(t, bobOut)
	if !strings.Contains(bobOut, "bob") || !strings.Contains(bobOut, "admin: true") {
		t.Errorf("agent add output does not name bob as an admin:\n%s", bobOut)
	}
	carolSecret := secretFrom(t, c.ok("agent", "add", "carol", "--display-name", "Carol"))

	e := newSEnv(t, withDBPath(c.dbPath), func(cfg *config.Config) { cfg.DatabaseURL = c.dbURL })
	e.remember(bobSecret)
	e.remember(carolSecret)

	bobToken := e.login("bob", bobSecret)
	if r, body := e.do(http.MethodGet, "/api/v1/admin/stats", bobToken, ""); r.StatusCode != http.StatusOK {
		t.Errorf("bob (added with --admin) GET /admin/stats: status %d, want 200; body %s", r.StatusCode, body)
	}
	carolToken := e.login("carol", carolSecret)
	if r, body := e.do(http.MethodGet, "/api/v1/admin/stats", carolToken, ""); r.StatusCode != http.StatusForbidden {
		t.Errorf("carol (no --admin) GET /admin/stats: status %d, want 403; body %s", r.StatusCode, body)
	}

	t.Run("list", func(t *testing.T) {
		out := c.ok("agent", "list")
		if strings.Contains(out, bobSecret) || strings.Contains(out, carolSecret) {
			t.Errorf("agent list shows a secret:\n%s", out)
		}
		tests := []struct {
			handle string
			want   []string // fields after the handle, before the creation time
		}{
			{"bob", []string{"true", "false"}},
			{"carol", []string{"Carol", "false", "false"}},
		}
		for _, tt := range tests {
			row := agentRow(out, tt.handle)
			if len(row) < 1+len(tt.want) {
				t.Errorf("agent list has no full row for %s:\n%s", tt.handle, out)
				continue
			}
			if got := row[1 : 1+len(tt.want)]; strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("row for %s = %v, want %v after the handle", tt.handle, got, tt.want)
			}
		}
	})

	t.Run("add rejects a duplicate and a bad handle", func(t *testing.T) {
		for _, args := range [][]string{{"agent", "add", "bob"}, {"agent", "add", "Bob"}, {"agent", "disable", "nobody"}} {
			if out, errOut, code := c.run(args...); code == 0 {
				t.Errorf("agcomd %v: exit 0, want a failure\nstdout: %s\nstderr: %s", args, out, errOut)
			}
		}
		e.login("bob", bobSecret) // unchanged
	})

	t.Run("disable and enable", func(t *testing.T) {
		c.ok("agent", "disable", "carol")
		r := e.issueToken("carol", carolSecret)
		wantError(t, r.HTTPResponse, r.Body, http.StatusUnauthorized, "AuthenticationError")
		resp, body := e.do(http.MethodGet, "/api/v1/threads", carolToken, "")
		wantError(t, resp, body, http.StatusUnauthorized, "AuthenticationError")

		c.ok("agent", "enable", "carol")
		e.login("carol", carolSecret)
		if resp, body := e.do(http.MethodGet, "/api/v1/threads", carolToken, ""); resp.StatusCode != http.StatusOK {
			t.Errorf("carol's token after enable: status %d, want 200; body %s", resp.StatusCode, body)
		}
	})

	t.Run("promote and demote", func(t *testing.T) {
		c.ok("agent", "demote", "bob")
		if r, body := e.do(http.MethodGet, "/api/v1/admin/stats", bobToken, ""); r.StatusCode != http.StatusForbidden {
			t.Errorf("after demote: status %d, want 403; body %s", r.StatusCode, body)
		}
		c.ok("agent", "promote", "bob")
		if r, body := e.do(http.MethodGet, "/api/v1/admin/stats", bobToken, ""); r.StatusCode != http.StatusOK {
			t.Errorf("after promote: status %d, want 200; body %s", r.StatusCode, body)
		}
	})

	t.Run("rotate-secret", func(t *testing.T) {
		newSecret := secretFrom(t, c.ok("agent", "rotate-secret", "carol"))
		e.remember(newSecret)
		if newSecret == carolSecret {
			t.Fatalf("rotate-secret printed the old secret")
		}
		r := e.issueToken("carol", carolSecret)
		wantError(t, r.HTTPResponse, r.Body, http.StatusUnauthorized, "AuthenticationError")
		// The token issued before the rotation ends with it.
		resp, body := e.do(http.MethodGet, "/api/v1/threads", carolToken, "")
		wantError(t, resp, body, http.StatusUnauthorized, "AuthenticationError")
		carolToken = e.login("carol", newSecret)
	})

	t.Run("revoke-tokens", func(t *testing.T) {
		minted := strings.TrimSpace(c.ok("token", "--handle", "carol"))
		if !strings.Contains(c.ok("agent", "revoke-tokens", "carol"), "carol") {
			t.Errorf("revoke-tokens does not name carol")
		}
		for _, tok := range []string{carolToken, minted} {
			resp, body := e.do(http.MethodGet, "/api/v1/threads", tok, "")
			wantError(t, resp, body, http.StatusUnauthorized, "AuthenticationError")
		}
		// A token minted now carries carol's new generation.
		fresh := strings.TrimSpace(c.ok("token", "--handle", "carol"))
		if resp, body := e.do(http.MethodGet, "/api/v1/threads", fresh, ""); resp.StatusCode != http.StatusOK {
			t.Errorf("a token minted after the revocation: status %d, want 200; body %s", resp.StatusCode, body)
		}
		if _, _, code := c.run("agent", "revoke-tokens", "nobody"); code == 0 {
			t.Errorf("revoke-tokens for an unknown handle: exit 0, want a failure")
		}
	})

	t.Run("changes are audited as the operator", func(t *testing.T) {
		resp, body := e.do(http.MethodGet, "/api/v1/audit/events?target_handle=carol&limit=100", bobToken, "")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		for _, want := range []string{`"agent_create"`, `"agent_update"`, `"agent_secret_rotate"`, `"actor_handle":"operator"`} {
			if !strings.Contains(string(body), want) {
				t.Errorf("audit events for carol lack %s: %s", want, body)
			}
		}
	})

	t.Run("token", func(t *testing.T) {
		tok := strings.TrimSpace(c.ok("token", "--handle", "alice"))
		if got := jwtClaims(t, tok)["agent_handle"]; got != "alice" {
			t.Errorf("agent_handle = %v, want alice", got)
		}
		if resp, body := e.do(http.MethodGet, "/api/v1/threads", tok, ""); resp.StatusCode != http.StatusOK {
			t.Errorf("the CLI token: status %d, want 200; body %s", resp.StatusCode, body)
		}
		// A token signed with another key is refused.
		other := cli{t: t, bin: c.bin, dir: c.dir, dbPath: c.dbPath, key: "a-different-key-that-is-long-enough-0123"}
		forged := strings.TrimSpace(other.ok("token", "--handle", "alice"))
		resp, body := e.do(http.MethodGet, "/api/v1/threads", forged, "")
		wantError(t, resp, body, http.StatusUnauthorized, "AuthenticationError")
		if _, _, code := c.run("token"); code == 0 {
			t.Errorf("token without --handle: exit 0, want a failure")
		}
	})
}
