package tests

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/agcom/agcom/gen/agcomv1"
	"github.com/agcom/agcom/internal/agcom"
	"github.com/agcom/agcom/internal/config"
	"github.com/agcom/agcom/internal/testdb"
)

// copyTables are the tables `agcomd copy` reports, in its order.
var copyTables = []string{
	"threads", "thread_participants", "thread_metadata", "messages", "message_recipients",
	"agent_messages", "attachments", "message_attachments", "contacts", "contact_tags", "audit_events", "audit_targets", "agents", "counters",
	"events", "idempotency_keys",
}

// copyCounts parses the table `agcomd copy` prints: table name to its
// sqlite and postgres row counts.
func copyCounts(t *testing.T, out string) map[string][2]int {
	t.Helper()
	got := map[string][2]int{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		s, err1 := strconv.Atoi(f[1])
		p, err2 := strconv.Atoi(f[2])
		if err1 == nil && err2 == nil {
			got[f[0]] = [2]int{s, p}
		}
	}
	return got
}

// copyCall is one read through the generated client.
type copyCall func(ctx context.Context, c *agcomv1.ClientWithResponses) (*http.Response, error)

// copyView is what one agent sees through one call.
type copyView struct {
	name, who string
	call      copyCall
}

// copyViews are the reads whose answers must not change with the move;
// threads maps each thread to the agents that can see it.
func copyViews(threads map[string][]string, messageID string) []copyView {
	var views []copyView
	for _, who := range []string{"alice", "bob", "carol", rootHandle} {
		views = append(views,
			copyView{"threads", who, func(ctx context.Context, c *agcomv1.ClientWithResponses) (*http.Response, error) {
				return c.ListThreads(ctx, &agcomv1.ListThreadsParams{Limit: ptr(100)})
			}},
			copyView{"archived threads", who, func(ctx context.Context, c *agcomv1.ClientWithResponses) (*http.Response, error) {
				return c.ListThreads(ctx, &agcomv1.ListThreadsParams{Archived: ptr(true), Limit: ptr(100)})
			}},
			copyView{"messages", who, func(ctx context.Context, c *agcomv1.ClientWithResponses) (*http.Response, error) {
				return c.ListMessages(ctx, &agcomv1.ListMessagesParams{Limit: ptr(100)})
			}},
			copyView{"inbox", who, func(ctx context.Context, c *agcomv1.ClientWithResponses) (*http.Response, error) {
				return c.ListInbox(ctx, &agcomv1.ListInboxParams{Limit: ptr(100)})
			}},
			copyView{"unread inbox", who, func(ctx context.Context, c *agcomv1.ClientWithResponses) (*http.Response, error) {
				return c.ListInbox(ctx, &agcomv1.ListInboxParams{UnreadOnly: ptr(true), Limit: ptr(100)})
			}},
			copyView{"events since 0", who, func(ctx context.Context, c *agcomv1.ClientWithResponses) (*http.Response, error) {
				return c.ListEvents(ctx, &agcomv1.ListEventsParams{After: ptr("0"), Limit: ptr(100)})
			}},
			copyView{"search", who, func(ctx context.Context, c *agcomv1.ClientWithResponses) (*http.Response, error) {
				return c.SearchMessages(ctx, &agcomv1.SearchMessagesParams{Query: "plan", Limit: ptr(100)})
			}},
			copyView{"audit events", who, func(ctx context.Context, c *agcomv1.ClientWithResponses) (*http.Response, error) {
				return c.ListAuditEvents(ctx, &agcomv1.ListAuditEventsParams{Limit: ptr(100)})
			}},
			copyView{"audit events aimed at carol", who, func(ctx context.Context, c *agcomv1.ClientWithResponses) (*http.Response, error) {
				return c.ListAuditEvents(ctx, &agcomv1.ListAuditEventsParams{TargetHandle: ptr("carol"), Limit: ptr(100)})
			}},
		)
	}
	for id, whos := range threads {
		for _, who := range whos {
			views = append(views,
				copyView{"thread " + id, who, func(ctx context.Context, c *agcomv1.ClientWithResponses) (*http.Response, error) {
					return c.GetThread(ctx, id)
				}},
				copyView{"thread messages " + id, who, func(ctx context.Context, c *agcomv1.ClientWithResponses) (*http.Response, error) {
					return c.ListThreadMessages(ctx, id, &agcomv1.ListThreadMessagesParams{Limit: ptr(100)})
				}},
				copyView{"thread metadata " + id, who, func(ctx context.Context, c *agcomv1.ClientWithResponses) (*http.Response, error) {
					return c.GetThreadMetadata(ctx, id)
				}},
			)
		}
	}
	views = append(views,
		copyView{"message", "bob", func(ctx context.Context, c *agcomv1.ClientWithResponses) (*http.Response, error) {
			return c.GetMessage(ctx, messageID)
		}},
		copyView{"contacts", "alice", func(ctx context.Context, c *agcomv1.ClientWithResponses) (*http.Response, error) {
			return c.ListContacts(ctx, &agcomv1.ListContactsParams{Limit: ptr(100)})
		}},
		copyView{"contacts search", "alice", func(ctx context.Context, c *agcomv1.ClientWithResponses) (*http.Response, error) {
			return c.SearchContacts(ctx, &agcomv1.SearchContactsParams{Query: ptr("backend")})
		}},
		copyView{"agents", rootHandle, func(ctx context.Context, c *agcomv1.ClientWithResponses) (*http.Response, error) {
			return c.ListAgents(ctx, &agcomv1.ListAgentsParams{Limit: ptr(100)})
		}},
		copyView{"stats", rootHandle, func(ctx context.Context, c *agcomv1.ClientWithResponses) (*http.Response, error) {
			return c.GetStats(ctx)
		}},
	)
	return views
}

// copyAnswers reads every view from e: the decoded body of each, by view.
func copyAnswers(t *testing.T, e *env, views []copyView) map[string]any {
	t.Helper()
	got := map[string]any{}
	for _, v := range views {
		resp, err := v.call(t.Context(), e.client(v.who))
		if err != nil {
			t.Fatalf("%s as %s: %v", v.name, v.who, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("%s as %s: read the body: %v", v.name, v.who, err)
		}
		if resp.StatusCode != 200 {
			t.Fatalf("%s as %s: status %d, want 200; body %s", v.name, v.who, resp.StatusCode, body)
		}
		var doc any
		if err := json.Unmarshal(body, &doc); err != nil {
			t.Fatalf("%s as %s: %v: %s", v.name, v.who, err, body)
		}
		got[v.name+" as "+v.who] = doc
	}
	return got
}

// copyEvents reads who's events after cursor.
func copyEvents(t *testing.T, e *env, who, after string) agcomv1.EventPage {
	t.Helper()
	r, err := e.client(who).ListEventsWithResponse(t.Context(), &agcomv1.ListEventsParams{After: &after, Limit: ptr(100)})
	if err != nil {
		t.Fatalf("events of %s after %s: %v", who, after, err)
	}
	if r.JSON200 == nil {
		t.Fatalf("events of %s after %s: status %d, body %s", who, after, r.StatusCode(), r.Body)
	}
	return *r.JSON200
}

// cursorOf parses an event cursor.
func cursorOf(t *testing.T, c string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(c, 10, 64)
	if err != nil {
		t.Fatalf("cursor %q is not a number: %v", c, err)
	}
	return n
}

// copyFixture skips the test in -short mode (it builds cmd/agcomd), and
// returns the agcomd command line, an empty PostgreSQL target, and the path
// of a new SQLite source.
func copyFixture(t *testing.T) (c cli, target, srcPath string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds cmd/agcomd")
	}
	target = testdb.NeedPostgres(t)
	srcPath = filepath.Join(t.TempDir(), "agcom.db")
	return cli{t: t, bin: hardAgcomd(t), dir: t.TempDir(), key: testSecretKey}, target, srcPath
}

// onSQLite runs an environment on the SQLite file path, whatever store the
// other tests run on.
func onSQLite(path string) func(*config.Config) {
	return func(cfg *config.Config) {
		cfg.DatabaseURL = ""
		cfg.DBPath = path
	}
}

func TestCopySQLiteToPostgres(t *testing.T) {
	c, target, srcPath := copyFixture(t)
	ctx := t.Context()

	// The SQLite deployment, whatever store the other tests run on.
	src := newSEnv(t, withAdmin(rootHandle, rootSecret), onSQLite(srcPath))
	alice := src.createAgent(src.rootClient(), "alice", false)

	createContact(t, src.client("alice"), agcomv1.ContactCreate{
		Handle: "bob", DisplayName: ptr("Bob Jones"), Description: ptr("Backend developer"), Tags: &[]string{"python", "backend"}})
	createContact(t, src.client("alice"), agcomv1.ContactCreate{Handle: "carol", Tags: &[]string{"ops"}})
	upd, err := src.client("bob").UpdateContactWithResponse(ctx, "bob", agcomv1.ContactUpdate{
		ExpectedVersion: 1, Description: ptr("Senior backend developer"), Tags: &[]string{"python", "backend", "senior"}})
	if err != nil || upd.JSON200 == nil || upd.JSON200.Version != 2 {
		t.Fatalf("update contact bob: %v; %v", err, upd)
	}
	deactivateContact(t, src.client("alice"), "carol")

	plan := src.send("alice", []string{"bob", "carol"}, "The plan", "Shall we plan the release?")
	head := copyEvents(t, src.env, "bob", "0").NextCursor // bob's cursor, held over the move
	reply := src.replyTo("bob", plan.MessageId, "Yes, plan it for Friday.")
	src.replyTo("carol", reply.MessageId, "Friday works.")
	if r, err := src.client("alice").PutThreadMetadataWithResponse(ctx, plan.ThreadId, agcomv1.MetadataUpdate{Key: "priority", Value: ptr("high")}); err != nil || r.JSON200 == nil {
		t.Fatalf("put metadata: %v; %v", err, r)
	}
	if r, err := src.client("bob").MarkMessageReadWithResponse(ctx, plan.MessageId); err != nil || r.JSON200 == nil {
		t.Fatalf("mark read: %v; %v", err, r)
	}
	key := "copy-key-1"
	other, err := src.client("carol").SendMessageWithResponse(ctx, &agcomv1.SendMessageParams{IdempotencyKey: &key},
		agcomv1.SendMessageRequest{ToHandles: []string{"alice"}, Subject: "Lunch", Body: "Lunch at noon?"})
	if err != nil || other.JSON201 == nil {
		t.Fatalf("send with an idempotency key: %v; %v", err, other)
	}
	if r, err := src.client("carol").ArchiveThreadWithResponse(ctx, other.JSON201.ThreadId); err != nil || r.StatusCode() != 200 {
		t.Fatalf("archive: %v; %v", err, r)
	}

	apiKey, err := src.client("alice").CreateApiKeyWithResponse(ctx, agcomv1.ApiKeyCreate{Name: "nightly CI"})
	if err != nil || apiKey.JSON201 == nil {
		t.Fatalf("create an API key: %v; %v", err, apiKey)
	}
	src.remember(apiKey.JSON201.Key)

	threads := map[string][]string{
		plan.ThreadId:          {"alice", "bob", "carol", rootHandle},
		other.JSON201.ThreadId: {"alice", "carol", rootHandle},
	}
	views := copyViews(threads, plan.MessageId)
	before := copyAnswers(t, src.env, views)
	bobBefore := copyEvents(t, src.env, "bob", head)
	if len(bobBefore.Events) == 0 {
		t.Fatalf("bob has no events after cursor %s before the move", head)
	}
	var oldTop int64
	for _, who := range []string{"alice", "bob", "carol", rootHandle} {
		for _, ev := range copyEvents(t, src.env, who, "0").Events {
			oldTop = max(oldTop, cursorOf(t, ev.Cursor))
		}
	}
	if err := src.App.Close(); err != nil { // the server stops before the move
		t.Fatalf("close the SQLite server: %v", err)
	}

	out := c.ok("copy", "--from", "sqlite://"+srcPath, "--to", target)
	got := copyCounts(t, out)
	for _, table := range copyTables {
		n, ok := got[table]
		if !ok {
			t.Errorf("copy output has no count for %s:\n%s", table, out)
			continue
		}
		if n[0] != n[1] {
			t.Errorf("%s: sqlite %d rows, postgres %d rows", table, n[0], n[1])
		}
	}
	for table, want := range map[string]int{"threads": 2, "messages": 4, "contacts": 2, "agents": 2, "counters": 5, "idempotency_keys": 1, "api_keys": 1,
		"audit_targets": 1} { // carol, the plan's second recipient
		if got[table][0] != want {
			t.Errorf("%s: %d rows copied, want %d\n%s", table, got[table][0], want, out)
		}
	}
	if !strings.Contains(out, "the PostgreSQL database") {
		t.Errorf("copy output does not name the target:\n%s", out)
	}

	dst := newSEnv(t, func(cfg *config.Config) { cfg.DatabaseURL = target })
	dst.remember(alice.AgentSecret)
	dst.remember(rootSecret)
	dst.remember(apiKey.JSON201.Key)

	// Every answer is the same.
	{
		after := copyAnswers(t, dst.env, views)
		for _, v := range views {
			name := v.name + " as " + v.who
			if !reflect.DeepEqual(before[name], after[name]) {
				b, _ := json.Marshal(before[name])
				a, _ := json.Marshal(after[name])
				t.Errorf("%s changed with the move:\nsqlite:   %s\npostgres: %s", name, b, a)
			}
		}
	}

	// Read state and unread counts.
	{
		th := dst.thread("bob", plan.ThreadId)
		if th.UnreadCount != 1 { // the plan is read, carol's reply is not
			t.Errorf("bob's unread count of the plan's thread = %d, want 1", th.UnreadCount)
		}
		if th.Metadata["priority"] != "high" {
			t.Errorf("thread metadata = %v, want priority=high", th.Metadata)
		}
		r, err := dst.client("bob").ListInboxWithResponse(ctx, &agcomv1.ListInboxParams{Limit: ptr(100)})
		if err != nil || r.JSON200 == nil {
			t.Fatalf("bob's inbox: %v; %v", err, r)
		}
		for _, m := range r.JSON200.Messages {
			if read := m.ReadAt != nil; read != (m.MessageId == plan.MessageId) {
				t.Errorf("bob's inbox: message %s read_at = %v", m.MessageId, m.ReadAt)
			}
		}
		got, err := dst.client("bob").GetMessageWithResponse(ctx, plan.MessageId)
		if err != nil || got.JSON200 == nil {
			t.Fatalf("get the plan: %v; %v", err, got)
		}
		if got.JSON200.MessageId != plan.MessageId || !got.JSON200.CreatedAt.Equal(plan.CreatedAt) || got.JSON200.Body != plan.Body {
			t.Errorf("the plan after the move = %+v, want %+v", *got.JSON200, plan)
		}
	}

	// Contacts keep their versions.
	{
		if got := getContact(t, dst.client("alice"), "bob"); got.Version != 2 {
			t.Errorf("contact bob version = %d, want 2", got.Version)
		}
		r, err := dst.client("alice").UpdateContactWithResponse(ctx, "bob", agcomv1.ContactUpdate{ExpectedVersion: 1})
		if err != nil || r.StatusCode() != 409 {
			t.Errorf("update with the stale version 1: %v; status %d, want 409", err, r.StatusCode())
		}
	}

	// Secrets still log in.
	{
		dst.login("alice", alice.AgentSecret)
		dst.login(rootHandle, rootSecret)
		if r := dst.issueToken("alice", "not-the-secret-0123456789abcdef"); r.StatusCode() != 401 {
			t.Errorf("a wrong secret: status %d, want 401", r.StatusCode())
		}
	}

	// An API key still works, under its own id.
	{
		r, err := dst.clientWithToken(apiKey.JSON201.Key).ListMyApiKeysWithResponse(ctx, nil)
		if err != nil || r.JSON200 == nil {
			t.Fatalf("list keys with the moved key: %v; %v", err, r)
		}
		if len(r.JSON200.ApiKeys) != 1 || r.JSON200.ApiKeys[0].KeyId != apiKey.JSON201.ApiKey.KeyId {
			t.Errorf("keys after the move: %+v, want %s", r.JSON200.ApiKeys, apiKey.JSON201.ApiKey.KeyId)
		}
	}

	// An idempotency key replays.
	{
		r, err := dst.client("carol").SendMessageWithResponse(ctx, &agcomv1.SendMessageParams{IdempotencyKey: &key},
			agcomv1.SendMessageRequest{ToHandles: []string{"alice"}, Subject: "Lunch", Body: "Lunch at noon?"})
		if err != nil || r.JSON201 == nil {
			t.Fatalf("replay: %v; %v", err, r)
		}
		if r.JSON201.MessageId != other.JSON201.MessageId || r.HTTPResponse.Header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("replay answered %s (replayed %q), want %s replayed", r.JSON201.MessageId,
				r.HTTPResponse.Header.Get("Idempotent-Replayed"), other.JSON201.MessageId)
		}
	}

	// An old cursor continues.
	{
		page := copyEvents(t, dst.env, "bob", head)
		if a, b := mustJSON(t, page), mustJSON(t, bobBefore); a != b {
			t.Errorf("bob's events after %s:\nsqlite:   %s\npostgres: %s", head, b, a)
		}
		fresh := dst.send("alice", []string{"bob"}, "After the move", "Hello from PostgreSQL")
		next := copyEvents(t, dst.env, "bob", page.NextCursor)
		if len(next.Events) == 0 {
			t.Fatalf("bob sees no event for the message sent after the move")
		}
		for _, ev := range next.Events {
			if n := cursorOf(t, ev.Cursor); n <= oldTop {
				t.Errorf("event %s after the move has cursor %d, not above the old %d", ev.Type, n, oldTop)
			}
		}
		if m := dst.messages("bob", agcomv1.ListMessagesParams{Limit: ptr(1)}); len(m.Messages) != 1 || m.Messages[0].MessageId != fresh.MessageId {
			t.Errorf("bob's newest message is not the one sent after the move: %+v", m.Messages)
		}
	}

	// A non-empty target is refused and kept.
	{
		before := copyAnswers(t, dst.env, views)
		// --to defaults to DATABASE_URL.
		withURL := c
		withURL.dbURL = target
		out, errOut, code := withURL.run("copy", "--from", srcPath)
		if code == 0 {
			t.Fatalf("copy into a non-empty database: exit 0\n%s", out)
		}
		if !strings.Contains(errOut, "not empty") {
			t.Errorf("stderr does not say the target is not empty: %s", errOut)
		}
		after := copyAnswers(t, dst.env, views)
		if !reflect.DeepEqual(before, after) {
			t.Errorf("the refused copy changed the database")
		}
	}
}

func TestCopyKeepsPrunedCursors(t *testing.T) {
	c, target, srcPath := copyFixture(t)
	src := newEnv(t, onSQLite(srcPath))
	for i := range 3 {
		src.send("alice", []string{"bob"}, "Before pruning", strconv.Itoa(i))
	}
	var top int64
	for _, ev := range copyEvents(t, src, "bob", "0").Events {
		top = max(top, cursorOf(t, ev.Cursor))
	}
	// Pruning deletes every event: only the source's memory of the
	// cursors it handed out says where new ones must start.
	if err := src.App.Store.Prune(t.Context(), time.Now().Add(time.Hour)); err != nil {
		t.Fatalf("prune: %v", err)
	}
	if err := src.App.Close(); err != nil {
		t.Fatalf("close the SQLite server: %v", err)
	}

	out := c.ok("copy", "--from", srcPath, "--to", target)
	if got := copyCounts(t, out)["events"]; got != [2]int{0, 0} {
		t.Errorf("events copied: %v, want none left after pruning\n%s", got, out)
	}

	dst := newEnv(t, func(cfg *config.Config) { cfg.DatabaseURL = target })
	r, err := dst.client("bob").ListEventsWithResponse(t.Context(), &agcomv1.ListEventsParams{After: ptr("0")})
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, r.HTTPResponse, r.Body, 410, "CursorExpired")
	head, err := dst.client("bob").ListEventsWithResponse(t.Context(), &agcomv1.ListEventsParams{})
	if err != nil || head.JSON200 == nil {
		t.Fatalf("bob's head: %v; %v", err, head)
	}
	if n := cursorOf(t, head.JSON200.NextCursor); n < top {
		t.Errorf("bob's head after the move = %d, want at least the pruned %d", n, top)
	}
	dst.send("alice", []string{"bob"}, "After the move", "hello")
	next := copyEvents(t, dst, "bob", head.JSON200.NextCursor)
	if len(next.Events) == 0 {
		t.Fatalf("bob sees no event for the message sent after the move")
	}
	for _, ev := range next.Events {
		if n := cursorOf(t, ev.Cursor); n <= top {
			t.Errorf("event after the move has cursor %d, not above the pruned %d", n, top)
		}
	}
}

func TestCopyRollsBackOnMismatch(t *testing.T) {
	c, target, srcPath := copyFixture(t)
	src := newEnv(t, onSQLite(srcPath))
	src.send("alice", []string{"bob"}, "Hello", "A message")
	if err := src.App.Close(); err != nil {
		t.Fatalf("close the SQLite server: %v", err)
	}
	// A recipient of a message that does not exist (written with the
	// foreign keys off) has no place in PostgreSQL: the counts differ.
	db, err := sql.Open("sqlite3", "file:"+srcPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const orphan = "INSERT INTO message_recipients (message_seq, handle) VALUES (999999, 'ghost')"
	if _, err := db.Exec(orphan); err != nil {
		t.Fatalf("insert an orphan recipient: %v", err)
	}

	out, errOut, code := c.run("copy", "--from", srcPath, "--to", target)
	if code == 0 {
		t.Fatalf("copy of a source with an orphan row: exit 0\n%s", out)
	}
	if got := copyCounts(t, out)["message_recipients"]; got != [2]int{2, 1} {
		t.Errorf("message_recipients counts = %v, want [2 1]\n%s", got, out)
	}
	if !strings.Contains(errOut, "message_recipients") || strings.Contains(out, "copied ") {
		t.Errorf("the failure does not name the table, or claims success:\nstdout: %s\nstderr: %s", out, errOut)
	}

	// Nothing was kept: with the orphan gone, the same target takes the copy.
	if _, err := db.Exec("DELETE FROM message_recipients WHERE message_seq = 999999"); err != nil {
		t.Fatal(err)
	}
	c.ok("copy", "--from", srcPath, "--to", target)
	dst := newEnv(t, func(cfg *config.Config) { cfg.DatabaseURL = target })
	if page := dst.messages("bob", agcomv1.ListMessagesParams{}); page.Pagination.Total != 1 {
		t.Errorf("bob has %d messages after the copy, want 1", page.Pagination.Total)
	}
}

func TestCopyRefuses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cmd/agcomd")
	}
	// Every case fails before connecting, but one: no database is needed.
	const target = "postgres://agcom@127.0.0.1:1/agcom"
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.db")
	existing := filepath.Join(dir, "agcom.db")
	if err := os.WriteFile(existing, nil, 0o600); err != nil { // an empty file is an empty SQLite database
		t.Fatal(err)
	}
	const password = "s3cret-pw-never-printed"
	c := cli{t: t, bin: hardAgcomd(t), dir: t.TempDir(), key: testSecretKey}
	tests := []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"missing from", []string{"copy", "--to", target}, "--from"},
		{"from of another kind", []string{"copy", "--from", "mysql://db/x", "--to", target}, "sqlite://"},
		{"missing to", []string{"copy", "--from", existing}, "--to"},
		{"to of another kind", []string{"copy", "--from", existing, "--to", "mysql://db/x"}, "postgres://"},
		{"missing file", []string{"copy", "--from", "sqlite://" + missing, "--to", target}, "no SQLite database"},
		{"a directory", []string{"copy", "--from", dir, "--to", target}, "not a SQLite database"},
		{"unreachable target", []string{"copy", "--from", existing, "--to", "postgres://agcom:" + password + "@127.0.0.1:1/agcom"}, "the PostgreSQL database"},
		{"extra argument", []string{"copy", "--from", existing, "--to", target, "more"}, "unexpected"},
		{"missing attachments directory", []string{"copy", "--from", existing, "--to", target, "--attachments", filepath.Join(dir, "files")}, "no attachments directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := c.run(tt.args...)
			if code == 0 {
				t.Fatalf("exit 0, want a failure\nstdout: %s", out)
			}
			if !strings.Contains(errOut, tt.want) {
				t.Errorf("stderr does not mention %q: %s", tt.want, errOut)
			}
			if strings.Contains(out+errOut, password) {
				t.Errorf("the output shows the URL's password: %s%s", out, errOut)
			}
		})
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("the missing --from file was created (stat: %v)", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "files")); !os.IsNotExist(err) {
		t.Errorf("the missing --attachments directory was created (stat: %v)", err)
	}
}

// mustJSON encodes v.
func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// targetCount answers a count query on the copy's target database.
func targetCount(t *testing.T, target, query string) int {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), target)
	if err != nil {
		t.Fatalf("connect to the target: %v", err)
	}
	defer conn.Close(t.Context())
	var n int
	if err := conn.QueryRow(t.Context(), query).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// copyUpload is one upload of the source and who may download it.
type copyUpload struct {
	who, name string
	data      []byte
	a         agcomv1.Attachment
	readers   []string // who may download it besides its uploader
}

func TestCopyMovesAttachments(t *testing.T) {
	c, target, srcPath := copyFixture(t)
	ctx := t.Context()
	// Not beside the database: the copy finds it the way the server does,
	// through ATTACHMENTS_DIR (here from the .env the command reads).
	files := filepath.Join(t.TempDir(), "files")
	src := newMsgEnv(t, withAdmin(rootHandle, rootSecret), onSQLite(srcPath),
		func(cfg *config.Config) { cfg.AttachmentsDir = files })

	binary := make([]byte, 70_000)
	for i := range binary {
		binary[i] = byte(i*7 + i/256)
	}
	big := make([]byte, 1<<20+12_345) // more than one PostgreSQL chunk
	rand.NewChaCha8([32]byte{2}).Read(big)
	same := []byte("the same report, uploaded twice")
	ups := map[string]*copyUpload{
		"empty":  {who: "alice", name: "empty.bin", data: []byte{}, readers: []string{"bob"}},
		"one":    {who: "alice", name: "one.bin", data: []byte{0}, readers: []string{"bob"}},
		"binary": {who: "alice", name: "binary.bin", data: binary, readers: []string{"bob"}},
		"big":    {who: "alice", name: "big.bin", data: big, readers: []string{"carol"}},
		"same-a": {who: "alice", name: "same-a.txt", data: same, readers: []string{"carol"}},
		"same-b": {who: "bob", name: "same-b.txt", data: same, readers: []string{"alice"}},
		"never":  {who: "alice", name: "never.txt", data: []byte("never attached")},
	}
	for _, u := range ups {
		u.a = src.uploaded(u.who, u.name, "application/x-test", u.data)
	}
	ids := func(names ...string) *[]string {
		var out []string
		for _, n := range names {
			out = append(out, ups[n].a.AttachmentId)
		}
		return &out
	}
	first, err := src.client("alice").SendMessageWithResponse(ctx, nil, agcomv1.SendMessageRequest{
		ToHandles: []string{"bob"}, Subject: "Files", Body: "three files", AttachmentIds: ids("empty", "one", "binary")})
	if err != nil || first.JSON201 == nil {
		t.Fatalf("send with attachments: %v; %v", err, first)
	}
	reply, err := src.client("bob").ReplyToMessageWithResponse(ctx, first.JSON201.MessageId, nil,
		agcomv1.ReplyRequest{Body: "and mine", AttachmentIds: ids("same-b")})
	if err != nil || reply.JSON201 == nil {
		t.Fatalf("reply with an attachment: %v; %v", err, reply)
	}
	second, err := src.client("alice").SendMessageWithResponse(ctx, nil, agcomv1.SendMessageRequest{
		ToHandles: []string{"carol"}, Subject: "Big", Body: "a big one", AttachmentIds: ids("big", "same-a")})
	if err != nil || second.JSON201 == nil {
		t.Fatalf("send with attachments: %v; %v", err, second)
	}
	messages := map[string][]string{ // message, as a participant reads it: its attachments
		first.JSON201.MessageId:  {"empty", "one", "binary"},
		reply.JSON201.MessageId:  {"same-b"},
		second.JSON201.MessageId: {"big", "same-a"},
	}
	threads := map[string][]string{
		first.JSON201.ThreadId:  {"alice", "bob", rootHandle},
		second.JSON201.ThreadId: {"alice", "carol", rootHandle},
	}
	views := copyViews(threads, first.JSON201.MessageId)
	before := copyAnswers(t, src, views)
	if err := src.App.Close(); err != nil {
		t.Fatalf("close the SQLite server: %v", err)
	}

	if err := os.WriteFile(filepath.Join(c.dir, ".env"), []byte("ATTACHMENTS_DIR="+files+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := c.ok("copy", "--from", srcPath, "--to", target)
	got := copyCounts(t, out)
	for _, table := range copyTables {
		if n, ok := got[table]; !ok || n[0] != n[1] {
			t.Errorf("%s: counts %v (present %v), want the same on both sides\n%s", table, n, ok, out)
		}
	}
	for table, want := range map[string]int{"attachments": 7, "message_attachments": 6, "messages": 3} {
		if got[table][0] != want {
			t.Errorf("%s: %d rows copied, want %d\n%s", table, got[table][0], want, out)
		}
	}
	// Identical content is one blob, as it was one file.
	if n := targetCount(t, target, "SELECT count(*) FROM attachment_blobs"); n != 6 {
		t.Errorf("the target holds %d blobs, want 6 (one per distinct content)", n)
	}

	// A message's copy of its attachments names the blob its upload has.
	const pointed = `SELECT count(*) FROM messages m
		CROSS JOIN LATERAL json_array_elements(m.attachments::json) e
		JOIN attachments a ON a.id = e->>'id' AND a.blob_id = e->>'blob'`
	if n := targetCount(t, target, pointed); n != 6 {
		t.Errorf("%d of the messages' 6 attachments name their upload's blob", n)
	}

	dst := newMsgEnv(t, func(cfg *config.Config) { cfg.DatabaseURL = target })
	if after := copyAnswers(t, dst, views); !reflect.DeepEqual(before, after) {
		for _, v := range views {
			name := v.name + " as " + v.who
			if !reflect.DeepEqual(before[name], after[name]) {
				t.Errorf("%s changed with the move:\nsqlite:   %s\npostgres: %s", name, mustJSON(t, before[name]), mustJSON(t, after[name]))
			}
		}
	}
	for id, names := range messages {
		who := ups[names[0]].readers[0]
		m, err := dst.client(who).GetMessageWithResponse(ctx, id)
		if err != nil || m.JSON200 == nil {
			t.Fatalf("%s reads %s: %v; %v", who, id, err, m)
		}
		var want []agcomv1.Attachment
		for _, n := range names {
			want = append(want, ups[n].a)
		}
		if m.JSON200.Attachments == nil || !reflect.DeepEqual(*m.JSON200.Attachments, want) {
			t.Errorf("%s reads %s with the attachments %+v, want %+v", who, id, m.JSON200.Attachments, want)
		}
	}
	for name, u := range ups {
		for _, who := range append([]string{u.who, rootHandle}, u.readers...) {
			d := dst.download(who, u.a.AttachmentId, nil)
			if d.StatusCode() != http.StatusOK || !bytes.Equal(d.Body, u.data) || sha256Hex(d.Body) != u.a.Sha256 {
				t.Errorf("%s: %s downloads status %d, %d bytes (sha256 %s); want 200, %d bytes (sha256 %s)",
					name, who, d.StatusCode(), len(d.Body), sha256Hex(d.Body), len(u.data), u.a.Sha256)
			}
		}
		for _, who := range []string{"mallory", "bob", "carol"} {
			if who == u.who || slices.Contains(u.readers, who) {
				continue
			}
			if d := dst.download(who, u.a.AttachmentId, nil); d.StatusCode() != http.StatusNotFound {
				t.Errorf("%s: outsider %s downloads status %d, want 404", name, who, d.StatusCode())
			}
		}
	}
	// The upload never attached is alice's to attach on the new store.
	sent := dst.sendWith("alice", []string{"carol"}, ups["never"].a.AttachmentId)
	if sent.JSON201 == nil {
		t.Fatalf("send the moved upload: status %d, body %s", sent.StatusCode(), sent.Body)
	}
	if d := dst.download("carol", ups["never"].a.AttachmentId, nil); string(d.Body) != "never attached" {
		t.Errorf("carol downloads the upload attached after the move: status %d, %q", d.StatusCode(), d.Body)
	}
}

// TestCopyMissingAttachmentFile: an upload whose file is gone fails the
// copy before any bytes are written, naming the upload; with the file
// found (here under --attachments) the same target takes the copy.
func TestCopyMissingAttachmentFile(t *testing.T) {
	c, target, srcPath := copyFixture(t)
	src := newMsgEnv(t, onSQLite(srcPath))
	kept := src.uploaded("alice", "kept.txt", "text/plain", []byte("still there"))
	lost := src.uploaded("alice", "lost.txt", "text/plain", []byte("gone missing"))
	if sent := src.sendWith("alice", []string{"bob"}, kept.AttachmentId, lost.AttachmentId); sent.JSON201 == nil {
		t.Fatalf("send: status %d, body %s", sent.StatusCode(), sent.Body)
	}
	if err := src.App.Close(); err != nil {
		t.Fatalf("close the SQLite server: %v", err)
	}
	files := filepath.Join(filepath.Dir(srcPath), "attachments")
	// The files move away; only kept's comes back to the default place.
	moved := filepath.Join(t.TempDir(), "moved")
	if err := os.Rename(files, moved); err != nil {
		t.Fatal(err)
	}
	keptFile := filepath.Join(files, kept.Sha256[:2], kept.Sha256)
	if err := os.MkdirAll(filepath.Dir(keptFile), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(moved, kept.Sha256[:2], kept.Sha256), keptFile); err != nil {
		t.Fatal(err)
	}

	out, errOut, code := c.run("copy", "--from", srcPath, "--to", target)
	if code == 0 {
		t.Fatalf("copy with a missing file: exit 0\n%s", out)
	}
	if !strings.Contains(errOut, lost.AttachmentId) || !strings.Contains(errOut, "lost.txt") || !strings.Contains(errOut, "missing") ||
		strings.Contains(out, "copied ") {
		t.Errorf("the failure does not name the upload whose file is missing, or claims success:\nstdout: %s\nstderr: %s", out, errOut)
	}
	for _, table := range []string{"attachment_blobs", "attachments", "messages"} {
		if n := targetCount(t, target, "SELECT count(*) FROM "+table); n != 0 {
			t.Errorf("the failed copy left %d rows in %s", n, table)
		}
	}

	out = c.ok("copy", "--from", srcPath, "--to", target, "--attachments", moved)
	if got := copyCounts(t, out)["attachments"]; got != [2]int{2, 2} {
		t.Errorf("attachments copied: %v, want [2 2]\n%s", got, out)
	}
	dst := newMsgEnv(t, func(cfg *config.Config) { cfg.DatabaseURL = target })
	if d := dst.download("bob", lost.AttachmentId, nil); string(d.Body) != "gone missing" {
		t.Errorf("bob downloads the file found under --attachments: status %d, %q", d.StatusCode(), d.Body)
	}
}

// TestCopyFailureLeavesBlobsForPruning: bytes are written before the rows'
// transaction; a copy that fails after them leaves blobs no upload refers
// to, which do not keep the next copy out and which pruning removes.
func TestCopyFailureLeavesBlobsForPruning(t *testing.T) {
	c, target, srcPath := copyFixture(t)
	src := newMsgEnv(t, onSQLite(srcPath))
	a := src.uploaded("alice", "early.txt", "text/plain", []byte("written before the rows"))
	if sent := src.sendWith("alice", []string{"bob"}, a.AttachmentId); sent.JSON201 == nil {
		t.Fatalf("send: status %d, body %s", sent.StatusCode(), sent.Body)
	}
	if err := src.App.Close(); err != nil {
		t.Fatalf("close the SQLite server: %v", err)
	}
	db, err := sql.Open("sqlite3", "file:"+srcPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const orphan = "INSERT INTO message_recipients (message_seq, handle) VALUES (999999, 'ghost')"
	if _, err := db.Exec(orphan); err != nil {
		t.Fatalf("insert an orphan recipient: %v", err)
	}
	if _, _, code := c.run("copy", "--from", srcPath, "--to", target); code == 0 {
		t.Fatalf("copy of a source with an orphan row: exit 0")
	}
	if n := targetCount(t, target, "SELECT count(*) FROM attachments"); n != 0 {
		t.Errorf("the failed copy kept %d attachments", n)
	}
	if n := targetCount(t, target, "SELECT count(*) FROM attachment_blobs"); n != 1 {
		t.Fatalf("the failed copy left %d blobs, want the 1 written before the rows", n)
	}

	if _, err := db.Exec("DELETE FROM message_recipients WHERE message_seq = 999999"); err != nil {
		t.Fatal(err)
	}
	c.ok("copy", "--from", srcPath, "--to", target)
	dst := newMsgEnv(t, func(cfg *config.Config) { cfg.DatabaseURL = target })
	later := time.Now().Add(agcom.DefaultUnattachedTTL + time.Hour)
	dst.App.Store.SetClock(func() time.Time { return later })
	if _, err := dst.App.Store.PruneAttachments(t.Context()); err != nil {
		t.Fatalf("prune: %v", err)
	}
	if n := targetCount(t, target, "SELECT count(*) FROM attachment_blobs"); n != 1 {
		t.Errorf("after pruning the target holds %d blobs, want only the copied upload's", n)
	}
	if d := dst.download("bob", a.AttachmentId, nil); string(d.Body) != "written before the rows" {
		t.Errorf("bob downloads the copied upload after pruning: status %d, %q", d.StatusCode(), d.Body)
	}
}
