package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agcom/agcom/gen/agcomv1"
	"github.com/agcom/agcom/internal/config"
	"github.com/agcom/agcom/internal/testserver"
)

// The bootstrap admin logs in with a secret; other agents use minted
// tokens.
const rootSecret = "root-secret-0123456789"

// server is the real program on a temporary database, with root as the
// bootstrap admin.
type server struct{ *testserver.Server }

func newServer(t *testing.T, opts ...func(*config.Config)) *server {
	t.Helper()
	return &server{testserver.New(t, testserver.Options{
		Env:    map[string]string{"ADMIN_HANDLE": "root", "ADMIN_SECRET": rootSecret},
		Config: opts,
	})}
}

func (s *server) mint(t *testing.T, handle string) string {
	t.Helper()
	tok, err := s.Mint(handle)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// user runs the CLI with an environment of its own: the server's URL and
// a configuration file in a temporary directory.
type user struct {
	t   *testing.T
	env map[string]string
}

// newUser returns a user of s with no token.
func (s *server) newUser(t *testing.T) *user {
	return &user{t: t, env: map[string]string{
		"AGCOM_URL":    s.URL,
		"AGCOM_CONFIG": filepath.Join(t.TempDir(), "agcom", "config.json"),
	}}
}

// as returns a user of s acting as handle through AGCOM_TOKEN.
func (s *server) as(t *testing.T, handle string) *user {
	u := s.newUser(t)
	u.env["AGCOM_TOKEN"] = s.mint(t, handle)
	return u
}

func (u *user) getenv(name string) string { return u.env[name] }

// run runs the CLI and returns its exit code and outputs.
func (u *user) run(args ...string) (code int, stdout, stderr string) {
	u.t.Helper()
	var out, errOut bytes.Buffer
	code = run(u.t.Context(), args, u.getenv, &out, &errOut)
	return code, out.String(), errOut.String()
}

// ok runs the CLI, wants exit code 0 and returns the standard output.
func (u *user) ok(args ...string) string {
	u.t.Helper()
	code, out, errOut := u.run(args...)
	if code != exitOK {
		u.t.Fatalf("agcom %s: exit %d, want 0; stderr:\n%s", strings.Join(args, " "), code, errOut)
	}
	return out
}

// fails runs the CLI, wants exit code want and returns the standard error.
func (u *user) fails(want int, args ...string) string {
	u.t.Helper()
	code, out, errOut := u.run(args...)
	if code != want {
		u.t.Fatalf("agcom %s: exit %d, want %d; stdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, out, errOut)
	}
	return errOut
}

// json runs the CLI with --json and decodes its output into v.
func (u *user) json(v any, args ...string) {
	u.t.Helper()
	out := u.ok(append(args, "--json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		u.t.Fatalf("agcom %s --json: output is not JSON of %T: %v\n%s", strings.Join(args, " "), v, err, out)
	}
}

func wantContains(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s: missing %q in:\n%s", what, w, got)
		}
	}
}

func TestLogin(t *testing.T) {
	s := newServer(t)
	u := s.newUser(t)
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte(rootSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	out := u.ok("login", "--handle", "root", "--secret-file", secretFile)
	wantContains(t, "login", out, "Logged in to "+s.URL+" as root", u.env["AGCOM_CONFIG"])
	fi, err := os.Stat(u.env["AGCOM_CONFIG"])
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("config file mode = %v, want 0600", perm)
	}
	var saved fileConfig
	b, _ := os.ReadFile(u.env["AGCOM_CONFIG"])
	if err := json.Unmarshal(b, &saved); err != nil || saved.Token == "" || saved.URL != s.URL || saved.Handle != "root" {
		t.Fatalf("config file = %s (%v), want the URL, handle and token", b, err)
	}
	// The saved token serves later commands, without AGCOM_URL too.
	delete(u.env, "AGCOM_URL")
	wantContains(t, "inbox after login", u.ok("inbox"), "No threads.")

	u.ok("logout")
	errOut := u.fails(exitAuth, "inbox")
	wantContains(t, "inbox after logout", errOut, "not logged in: run `agcom login --handle NAME`")

	errOut = u.fails(exitAuth, "login", "--handle", "root", "--secret", "wrong-secret")
	wantContains(t, "wrong secret", errOut, "authentication failed", "rotate-secret")

	u.env["AGCOM_SECRET"] = rootSecret
	u.ok("login", "--handle", "root")
	delete(u.env, "AGCOM_SECRET")

	var res struct {
		Handle    string `json:"handle"`
		ExpiresAt string `json:"expires_at"`
	}
	u.json(&res, "login", "--token", s.mint(t, "bob"))
	if res.Handle != "bob" || res.ExpiresAt == "" {
		t.Errorf("login --token --json = %+v, want bob with an expiry", res)
	}
	errOut = u.fails(exitAuth, "login", "--token", "not-a-token")
	wantContains(t, "bad token", errOut, "authentication failed", "refused this token")
	u.fails(exitUsage, "login")
	u.fails(exitUsage, "login", "--handle", "root")
}

func TestConversation(t *testing.T) {
	s := newServer(t)
	alice, bob := s.as(t, "alice"), s.as(t, "bob")

	var sent agcomv1.Message
	alice.json(&sent, "send", "bob", "--subject", "Deploy plan", "--body", "Ship it Friday?", "--tag", "ops")
	if sent.FromHandle != "alice" || len(sent.ToHandles) != 1 || sent.ToHandles[0] != "bob" || len(sent.Tags) != 1 {
		t.Fatalf("send --json = %+v", sent)
	}
	wantContains(t, "send", alice.ok("send", "--to", "carol", "-s", "Other", "-m", "unrelated"), "Sent to carol: message ")

	inbox := bob.ok("inbox")
	wantContains(t, "bob's inbox", inbox, "THREAD", "LAST ACTIVITY", "PARTICIPANTS", "SUBJECT", sent.ThreadId, "alice, bob", "Deploy plan")
	if strings.Contains(inbox, "Other") {
		t.Errorf("bob's inbox shows alice's thread with carol:\n%s", inbox)
	}
	var page agcomv1.ThreadPage
	bob.json(&page, "inbox")
	if len(page.Threads) != 1 || page.Threads[0].ThreadId != sent.ThreadId {
		t.Errorf("inbox --json = %+v, want the one thread", page)
	}

	wantContains(t, "view", bob.ok("view", sent.ThreadId), "Subject:       Deploy plan", "alice → bob", "Ship it Friday?", "tags ops")

	var reply agcomv1.Message
	bob.json(&reply, "reply", sent.MessageId, "--body", "Yes, Friday.")
	if reply.ThreadId != sent.ThreadId || reply.ToHandles[0] != "alice" {
		t.Errorf("reply = %+v", reply)
	}
	wantContains(t, "reply --thread", alice.ok("reply", "--thread", sent.ThreadId, "--body", "Great"), "Replied to bob")

	var view struct {
		Thread   agcomv1.Thread    `json:"thread"`
		Messages []agcomv1.Message `json:"messages"`
	}
	alice.json(&view, "view", sent.ThreadId)
	if len(view.Messages) != 3 || view.Messages[2].InReplyTo == nil || *view.Messages[2].InReplyTo != reply.MessageId {
		t.Errorf("view --json = %+v, want three messages, the last replying to bob's", view)
	}

	wantContains(t, "search", bob.ok("search", "friday"), "MESSAGE", sent.MessageId, reply.MessageId)
	var found agcomv1.SearchResult
	bob.json(&found, "search", "friday", "--from", "alice")
	if found.Count != 1 || found.Messages[0].MessageId != sent.MessageId {
		t.Errorf("search --from alice = %+v", found)
	}
	wantContains(t, "search nothing", bob.ok("search", "zebra"), `No messages match "zebra".`)

	var bc agcomv1.BroadcastResult
	alice.json(&bc, "broadcast", "bob", "carol", "-s", "News", "-m", "hello all")
	if bc.Count != 2 {
		t.Errorf("broadcast count = %d, want 2", bc.Count)
	}

	wantContains(t, "archive", bob.ok("archive", sent.ThreadId), "Archived thread "+sent.ThreadId)
	if inbox := bob.ok("inbox"); strings.Contains(inbox, "Deploy plan") || !strings.Contains(inbox, "News") {
		t.Errorf("inbox after archiving shows:\n%s", inbox)
	}
	wantContains(t, "inbox --archived", bob.ok("inbox", "--archived"), "Deploy plan [archived]")
	bob.ok("unarchive", sent.ThreadId)
	wantContains(t, "inbox after unarchiving", bob.ok("inbox"), "Deploy plan", "News")

	alice.ok("send", "bob", "carol", "-s", "Both", "-m", "to two")
	wantContains(t, "audit", alice.ok("audit", "--type", "message_send"), "TARGETS", "message_send", "alice", "bob,carol")
	var events agcomv1.AuditEventPage
	alice.json(&events, "audit")
	if len(events.Events) == 0 {
		t.Errorf("audit --json: no events")
	}
}

func TestContacts(t *testing.T) {
	s := newServer(t)
	u := s.as(t, "alice")

	wantContains(t, "add", u.ok("contacts", "add", "carol", "--name", "Carol", "--tag", "ops,dev"), "Added contact carol (version 1)")
	wantContains(t, "list", u.ok("contacts", "list"), "HANDLE", "carol", "Carol", "ops,dev")
	wantContains(t, "edit", u.ok("contacts", "edit", "carol", "--description", "Runs CI"), "version 2")

	errOut := u.fails(exitConflict, "contacts", "edit", "carol", "--name", "Caroline", "--version", "1")
	wantContains(t, "stale edit", errOut, "conflict", "contacts show carol")
	var ct agcomv1.Contact
	u.json(&ct, "contacts", "show", "carol")
	if ct.Version != 2 || *ct.DisplayName != "Carol" || *ct.Description != "Runs CI" || len(ct.Tags) != 2 {
		t.Errorf("contact after edits = %+v, want version 2, name kept, description set, tags kept", ct)
	}
	u.ok("contacts", "edit", "carol", "--name", "Caroline", "--version", "2")

	wantContains(t, "remove", u.ok("contacts", "remove", "carol"), "Deactivated contact carol")
	wantContains(t, "list after remove", u.ok("contacts", "list"), "No contacts.")
	wantContains(t, "list --all", u.ok("contacts", "list", "--all"), "carol", "Caroline")
	wantContains(t, "search --all", u.ok("contacts", "search", "carol", "--all"), "carol")
	var found agcomv1.ContactPage
	u.json(&found, "contacts", "search", "caro")
	if len(found.Contacts) != 0 {
		t.Errorf("search of active contacts found %+v", found.Contacts)
	}

	wantContains(t, "add existing", u.fails(exitConflict, "contacts", "add", "carol"), "already exists", "--active=true")
	u.ok("contacts", "edit", "carol", "--active=true")
	wantContains(t, "show unknown", u.fails(exitNotFound, "contacts", "show", "nobody"), "not found")
	u.fails(exitUsage, "contacts")
	u.fails(exitUsage, "contacts", "frobnicate")
}

func TestExitCodes(t *testing.T) {
	s := newServer(t)
	alice := s.as(t, "alice")
	thread := s.as(t, "bob").ok("send", "carol", "-s", "private", "-m", "x", "--json")
	var m agcomv1.Message
	if err := json.Unmarshal([]byte(thread), &m); err != nil {
		t.Fatal(err)
	}
	expired := s.newUser(t)
	tok, err := s.App.Keys.Mint("alice", "", time.Minute, time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	expired.env["AGCOM_TOKEN"] = tok
	badToken := s.newUser(t)
	badToken.env["AGCOM_TOKEN"] = "not-a-token"
	unreachable := s.as(t, "alice")
	unreachable.env["AGCOM_URL"] = "http://127.0.0.1:1"

	tests := []struct {
		name   string
		u      *user
		args   []string
		code   int
		stderr string
	}{
		{"help", alice, []string{"help"}, exitOK, ""},
		{"no command", alice, nil, exitUsage, "usage: agcom"},
		{"unknown command", alice, []string{"frobnicate"}, exitUsage, "unknown command"},
		{"unknown flag", alice, []string{"inbox", "--bogus"}, exitUsage, "flag provided but not defined"},
		{"send without subject", alice, []string{"send", "bob", "--body", "x"}, exitUsage, "needs a --subject"},
		{"send without recipient", alice, []string{"send", "-s", "x", "-m", "y"}, exitUsage, "who is it for"},
		{"view without thread", alice, []string{"view"}, exitUsage, "missing arguments"},
		{"reply both", alice, []string{"reply", "MSG", "--thread", "T", "--body", "x"}, exitUsage, "one of the two"},
		{"server rejects input", alice, []string{"send", "bob", "-s", " ", "-m", "x"}, exitUsage, "invalid input: subject"},
		{"unknown thread", alice, []string{"view", "01ARZ3NDEKTSV4RRFFQ69G5FAV"}, exitNotFound, "not found"},
		{"someone else's thread", alice, []string{"view", m.ThreadId}, exitNotFound, "not one of its participants"},
		{"bad token", badToken, []string{"inbox"}, exitAuth, "agcom login --handle NAME"},
		{"expired token", expired, []string{"inbox"}, exitAuth, "token expired at"},
		{"unreachable", unreachable, []string{"inbox"}, exitUnavailable, "cannot reach the AgCom server at http://127.0.0.1:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.u.t = t
			code, _, errOut := tt.u.run(tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.code, errOut)
			}
			if !strings.Contains(errOut, tt.stderr) {
				t.Errorf("stderr missing %q:\n%s", tt.stderr, errOut)
			}
		})
	}
}

func TestRateLimitedExit(t *testing.T) {
	s := newServer(t, func(c *config.Config) { c.RateLimits, c.RateWrite = true, 1 })
	defer func(d time.Duration) { cliMaxRetryWait = d }(cliMaxRetryWait)
	cliMaxRetryWait = 0
	u := s.as(t, "alice")
	u.ok("send", "bob", "-s", "one", "-m", "x")
	errOut := u.fails(exitUnavailable, "send", "bob", "-s", "two", "-m", "x")
	wantContains(t, "rate limited", errOut, "rate limited", "try again in")
}

func TestPrecedence(t *testing.T) {
	s := newServer(t)
	u := s.newUser(t)
	u.ok("login", "--token", s.mint(t, "alice"))
	from := func(args ...string) string {
		t.Helper()
		var m agcomv1.Message
		u.json(&m, append([]string{"send", "zed", "-s", "s", "-m", "b"}, args...)...)
		return m.FromHandle
	}
	if got := from(); got != "alice" {
		t.Errorf("with the saved token: from %s, want alice", got)
	}
	u.env["AGCOM_TOKEN"] = s.mint(t, "bob")
	if got := from(); got != "bob" {
		t.Errorf("with AGCOM_TOKEN: from %s, want bob", got)
	}
	if got := from("--token", s.mint(t, "carol")); got != "carol" {
		t.Errorf("with --token: from %s, want carol", got)
	}
	u.env["AGCOM_URL"] = "http://127.0.0.1:1"
	u.fails(exitUnavailable, "inbox")
	u.ok("inbox", "--url", s.URL)
	u.ok("--url", s.URL, "inbox")
}

// syncBuffer is a buffer two goroutines may share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls until cond holds, or fails the test after a while.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestWatch(t *testing.T) {
	s := newServer(t)
	alice, bob := s.as(t, "alice"), s.as(t, "bob")
	alice.ok("send", "bob", "-s", "Old news", "-m", "sent before watching")

	for _, jsonOut := range []bool{false, true} {
		ctx, cancel := context.WithCancel(t.Context())
		var out, errOut syncBuffer
		done := make(chan int)
		args := []string{"watch"}
		if jsonOut {
			args = append(args, "--json")
		}
		go func() { done <- run(ctx, args, bob.getenv, &out, &errOut) }()
		waitFor(t, "watch to start", func() bool { return strings.Contains(errOut.String(), "Watching for new messages") })

		subject := "Fresh news " + map[bool]string{false: "plain", true: "json"}[jsonOut]
		alice.ok("send", "bob", "-s", subject, "-m", "sent while watching")
		waitFor(t, "the new message", func() bool { return strings.Contains(out.String(), subject) })
		cancel()
		if code := <-done; code != exitOK {
			t.Errorf("watch after cancel: exit %d, want 0; stderr:\n%s", code, errOut.String())
		}

		got := out.String()
		if strings.Contains(got, "Old news") || strings.Count(got, "Fresh news") != 1 {
			t.Errorf("watch printed:\n%s\nwant only the message sent while it ran", got)
		}
		if jsonOut {
			var ev agcomv1.Event
			if err := json.Unmarshal([]byte(strings.TrimSpace(got)), &ev); err != nil || ev.Type != agcomv1.MessageCreated || ev.Cursor == "" {
				t.Fatalf("watch --json line = %q (%v), want the event as JSON", got, err)
			}
			if m, _ := ev.Data["message"].(map[string]any); m["subject"] != subject || m["from_handle"] != "alice" {
				t.Errorf("watch --json event data = %v, want alice's message", ev.Data)
			}
		} else {
			wantContains(t, "watch", got, "alice → bob", "sent while watching")
		}
	}

	// --after resumes from a cursor: the events after it come first.
	var ev agcomv1.Event
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var out, errOut syncBuffer
	done := make(chan int)
	go func() { done <- run(ctx, []string{"watch", "--json", "--after", "0"}, bob.getenv, &out, &errOut) }()
	waitFor(t, "the backlog", func() bool { return strings.Count(out.String(), "\n") >= 3 })
	cancel()
	<-done
	first, _, _ := strings.Cut(out.String(), "\n")
	if err := json.Unmarshal([]byte(first), &ev); err != nil || !strings.Contains(first, "Old news") {
		t.Errorf("watch --after 0 began with %q (%v), want the oldest message's event", first, err)
	}

	bob.fails(exitNotFound, "watch", "--thread", "01ARZ3NDEKTSV4RRFFQ69G5FAV")
	wantContains(t, "bad cursor", bob.fails(exitUsage, "watch", "--after", "x"), "cursor")
}

func TestUnreadInbox(t *testing.T) {
	s := newServer(t)
	alice, bob := s.as(t, "alice"), s.as(t, "bob")
	var sent []agcomv1.Message
	for _, subject := range []string{"First", "Second", "Third"} {
		var m agcomv1.Message
		alice.json(&m, "send", "bob", "-s", subject, "-m", "body")
		sent = append(sent, m)
	}
	alice.ok("send", "carol", "-s", "Not for bob", "-m", "body")

	wantContains(t, "read", bob.ok("read", sent[0].MessageId), "Marked message "+sent[0].MessageId+" read")
	var page agcomv1.InboxPage
	bob.json(&page, "inbox", "--unread")
	if len(page.Messages) != 2 || page.Messages[0].Subject != "Third" || page.Messages[1].Subject != "Second" || page.Messages[0].ReadAt != nil {
		t.Errorf("inbox --unread = %+v, want Third and Second, unread", page.Messages)
	}
	out := bob.ok("inbox", "--unread")
	wantContains(t, "inbox --unread", out, "READ", "Third", "Second", "1-2 of 2")
	if strings.Contains(out, "First") || strings.Contains(out, "Not for bob") {
		t.Errorf("inbox --unread:\n%s\nwant only bob's unread messages", out)
	}
	out = bob.ok("inbox", "--messages")
	wantContains(t, "inbox --messages", out, "First", "Second", "Third", "1-3 of 3")

	bob.ok("read", sent[0].MessageId, "--undo")
	bob.ok("read", "--thread", sent[1].ThreadId)
	bob.json(&page, "inbox", "--unread")
	if len(page.Messages) != 2 || page.Messages[0].Subject != "Third" || page.Messages[1].Subject != "First" {
		t.Errorf("inbox --unread after --undo and --thread = %+v, want Third and First", page.Messages)
	}
	bob.ok("read", sent[0].MessageId, sent[2].MessageId)
	wantContains(t, "inbox --unread", bob.ok("inbox", "--unread"), "No unread messages.")

	bob.fails(exitUsage, "read")
	bob.fails(exitUsage, "inbox", "--unread", "--archived")
	s.as(t, "carol").fails(exitNotFound, "read", sent[0].MessageId)
}

func TestConfigPath(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the XDG layout is Linux's")
	}
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"AGCOM_CONFIG": "/x/agcom.json", "HOME": "/home/a"}, "/x/agcom.json"},
		{map[string]string{"XDG_CONFIG_HOME": "/xdg", "HOME": "/home/a"}, "/xdg/agcom/config.json"},
		{map[string]string{"XDG_CONFIG_HOME": "relative", "HOME": "/home/a"}, "/home/a/.config/agcom/config.json"},
		{map[string]string{"HOME": "/home/a"}, "/home/a/.config/agcom/config.json"},
	}
	for _, tt := range tests {
		c := &cli{getenv: func(k string) string { return tt.env[k] }}
		if got, err := c.configPath(); err != nil || got != tt.want {
			t.Errorf("configPath(%v) = %q, %v; want %q", tt.env, got, err, tt.want)
		}
	}
	c := &cli{getenv: func(string) string { return "" }}
	if _, err := c.configPath(); err == nil || !strings.Contains(err.Error(), "AGCOM_CONFIG") {
		t.Errorf("configPath without HOME: %v, want advice to set AGCOM_CONFIG", err)
	}
}
