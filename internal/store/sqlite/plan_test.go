package sqlite

import (
	"context"
	"database/sql/driver"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agcom/agcom/internal/agcom"
)

// TestStablePlans checks that SQLite is built with its query planner
// stability guarantee (see stablePlans). Without it the plans that
// TestQueryPlans checks would be chosen again for the values bound on each
// use, and most lists would be parsed and planned on every request.
func TestStablePlans(t *testing.T) {
	s := openTestStore(t, filepath.Join(t.TempDir(), "agcom.db"))
	stable, err := stablePlans(context.Background(), s.write)
	if err != nil {
		t.Fatal(err)
	}
	if !stable {
		t.Fatal("SQLite was built without SQLITE_ENABLE_QPSG: run the tests with make, or set CGO_CFLAGS as the Makefile does")
	}
}

// TestQueryPlans runs every use case, then asks SQLite how it executes
// each statement the store prepared: a full scan of a table, or a sort of
// a whole result, must be one of the few the store means, named below with
// the reason it is bounded. A new query that scans or sorts fails here
// until it gets an index, or a reason.
func TestQueryPlans(t *testing.T) {
	s := openTestStore(t, filepath.Join(t.TempDir(), "agcom.db"))
	workload(t, s)

	// A plan line that scans a table or sorts, and the query fragments
	// whose plans may contain it.
	allowed := []struct{ line, query, why string }{
		{`SCAN m`, `FROM messages m ORDER BY m.seq DESC LIMIT`, "an admin's message list walks all messages newest first, up to the page"},
		{`SCAN m`, `FROM messages m WHERE 1`, "an admin's 1-2 character search walks messages newest first, at most ShortQueryScan"},
		{`SCAN a`, `FROM audit_events a WHERE 1 ORDER BY a.seq DESC LIMIT`, "an admin's audit list walks all events newest first, up to the page"},
		{`SCAN t USING INDEX threads_activity`, `FROM threads t ORDER BY t.last_activity_at DESC`, "an admin's thread list walks the activity index, up to the page"},
		{`SCAN messages_fts VIRTUAL TABLE`, `messages_fts MATCH`, "the trigram index answers the match"},
		{`SCAN json_each VIRTUAL TABLE`, `json_each(`, "a list of values passed as one parameter"},
		{`USE TEMP B-TREE FOR ORDER BY`, `WHERE m.seq IN (SELECT value FROM json_each(?))`, "one page of search results"},
		{`TEMP B-TREE`, `FROM audit_events a WHERE a.seq IN (`, "merging two runs of at most one page each of the caller's audit events"},
		{`SCAN agent_messages`, `INSERT INTO messages`, "foreign-key bookkeeping, run only while a deferred violation is pending (never: messages are not deleted)"},
		{`SCAN agents`, `FROM agents`, "one row per agent"},
		{`SCAN CONSTANT ROW`, `UNION ALL SELECT '*'`, "the thread log's one row beside the participants'"},
		{`SCAN CONSTANT ROW`, `SELECT max((SELECT`, "a row of scalar subqueries"},
		{`SCAN a`, `FROM agents a ORDER BY a.handle LIMIT`, "the agent list walks agents in handle order, up to the page"},
		{`SCAN contacts`, `FROM contacts`, "the address book, one entry per agent"},
		{`SCAN c`, `FROM contacts c`, "the address book, one entry per agent: a contact search reads it"},
		{`SCAN CONSTANT ROW`, `SELECT (SELECT`, "a row of scalar subqueries"},
	}
	risky := regexp.MustCompile(`\b(SCAN|TEMP B-TREE)\b`)
	queries := append(s.readStmts.queries(), s.writeStmts.queries()...)
	if len(queries) < 60 {
		t.Fatalf("the workload prepared %d statements; want every use case's", len(queries))
	}
	slices.Sort(queries)
	for _, q := range slices.Compact(queries) {
		plan, err := explain(s, q)
		if err != nil {
			t.Errorf("explain %s: %v", oneLine(q), err)
			continue
		}
	lines:
		for _, line := range plan {
			if !risky.MatchString(line) || strings.HasPrefix(line, "SCAN (subquery-") { // reading a subquery's own rows
				continue
			}
			for _, a := range allowed {
				if strings.Contains(line, a.line) && strings.Contains(oneLine(q), a.query) {
					continue lines
				}
			}
			t.Errorf("%s\n  plan: %s", oneLine(q), strings.Join(plan, " | "))
		}
	}
}

// workload calls every use case once or more, with each filter.
func workload(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	alice, bob := agcom.Caller{Handle: "alice"}, agcom.Caller{Handle: "bob"}
	admin := agcom.Caller{Handle: "root", IsAdmin: true}
	service := agcom.NewService(s)
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	if err := service.EnsureAdmin(ctx, "root", "hash"); err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"alice", "bob", "carol", "dave"} {
		_, err := service.CreateAgent(ctx, admin, agcom.Agent{Handle: h}, "hash")
		must("create agent", err)
	}
	disabled := true
	_, err := service.UpdateAgent(ctx, admin, "dave", agcom.AgentUpdate{Disabled: &disabled})
	must("update agent", err)
	_, err = service.SetAgentSecret(ctx, admin, "dave", "hash-2")
	must("rotate secret", err)
	_, err = service.RevokeAgentTokens(ctx, admin, "dave")
	must("revoke tokens", err)
	must("token failure", service.RecordTokenFailure(ctx, "dave", "disabled", "192.0.2.1"))
	m, _, err := service.SendMessage(ctx, alice, agcom.NewMessage{ToHandles: []string{"bob"}, Subject: "plans", Body: "query plans", Tags: []string{"x"}}, nil)
	must("send", err)
	_, _, err = service.Broadcast(ctx, alice, agcom.NewMessage{ToHandles: []string{"bob", "carol"}, Subject: "all", Body: "hello"}, nil)
	must("broadcast", err)
	_, _, err = service.SendMessage(ctx, alice, agcom.NewMessage{ToHandles: []string{"carol", "bob"}, Subject: "group", Body: "to two"}, nil)
	must("group send", err)
	r, _, err := service.ReplyToMessage(ctx, bob, m.ID, agcom.Reply{Body: "re"}, nil)
	must("reply", err)
	_, _, err = service.ReplyToThread(ctx, alice, m.ThreadID, agcom.Reply{Body: "re re"}, nil)
	must("thread reply", err)
	_, err = s.GetMessage(ctx, bob, r.ID)
	must("get message", err)
	_, err = service.MarkRead(ctx, bob, m.ID, true)
	must("mark read", err)
	_, err = service.MarkRead(ctx, bob, m.ID, false)
	must("mark unread", err)
	_, err = service.MarkThreadRead(ctx, bob, m.ThreadID)
	must("mark thread read", err)
	v := "high"
	must("metadata", service.SetThreadMetadata(ctx, alice, m.ThreadID, "priority", &v))
	must("metadata delete", service.SetThreadMetadata(ctx, alice, m.ThreadID, "priority", nil))
	yes := "true"
	must("archive", service.SetThreadMetadata(ctx, alice, m.ThreadID, agcom.MetadataArchived, &yes))
	_, err = s.ThreadMetadata(ctx, bob, m.ThreadID)
	must("thread metadata", err)
	_, err = s.ThreadMetadataValue(ctx, bob, m.ThreadID, agcom.MetadataArchived)
	must("thread metadata value", err)
	c, _, err := service.CreateContact(ctx, alice, agcom.Contact{Handle: "bob", DisplayName: "Bob", Tags: []string{"team"}}, nil)
	must("create contact", err)
	_, err = service.UpdateContact(ctx, alice, "bob", agcom.ContactUpdate{DisplayName: "Robert", Tags: []string{"team"}, IsActive: true, ExpectedVersion: c.Version})
	must("update contact", err)
	_, err = s.GetContact(ctx, "bob")
	must("get contact", err)
	_, err = service.DeactivateContact(ctx, alice, "bob")
	must("deactivate contact", err)

	tr, fa := true, false
	for _, who := range []agcom.Caller{alice, bob, admin} {
		for _, archived := range []*bool{nil, &tr, &fa} {
			_, err = s.ListThreads(ctx, who, agcom.ThreadFilter{Archived: archived, Page: agcom.Page{Limit: 10}})
			must("list threads", err)
		}
		_, err = s.GetThread(ctx, who, m.ThreadID)
		must("get thread", err)
		_, err = s.ListMessages(ctx, who, agcom.MessageFilter{Page: agcom.Page{Limit: 10}})
		must("list messages", err)
		_, err = s.ListThreadMessages(ctx, who, m.ThreadID, agcom.Page{Limit: 10})
		must("thread messages", err)
		for _, q := range []agcom.MessageSearch{
			{Query: "plan", InSubject: true, InBody: true, Limit: 10},
			{Query: "pl", InSubject: true, InBody: true, Limit: 10},
			{Query: "plan", InBody: true, FromHandle: "alice", ToHandle: "bob", Limit: 10},
			{Query: "p", InSubject: true, FromHandle: "alice", ToHandle: "bob", Limit: 10},
		} {
			_, err = s.SearchMessages(ctx, who, q)
			must("search", err)
		}
		for _, f := range []agcom.AuditFilter{
			{}, {EventType: agcom.EventMessageSend}, {ActorHandle: "alice"}, {TargetHandle: "bob"},
			{EventType: agcom.EventMessageSend, ActorHandle: "alice", TargetHandle: "bob"},
		} {
			f.Page.Limit = 10
			_, err = s.ListAuditEvents(ctx, who, f)
			must("audit", err)
		}
		for _, f := range []agcom.InboxFilter{{}, {UnreadOnly: true}, {ThreadID: m.ThreadID}, {FromHandle: "alice"},
			{UnreadOnly: true, ThreadID: m.ThreadID, FromHandle: "alice"}} {
			f.Page.Limit = 10
			_, err = s.ListInbox(ctx, who, f)
			must("inbox", err)
		}
		head, err := s.Events(ctx, who, nil, 10)
		must("events head", err)
		var zero int64
		_, err = s.Events(ctx, who, &zero, 10)
		must("events", err)
		_ = head
	}
	for _, f := range []agcom.ContactFilter{{}, {Query: "rob"}, {Tags: []string{"team"}}, {ActiveOnly: true},
		{Query: "rob", Tags: []string{"team"}, ActiveOnly: true}} {
		f.Page.Limit = 10
		_, err = s.ListContacts(ctx, f)
		must("contacts", err)
	}
	_, err = s.ListAgents(ctx, agcom.Page{Limit: 10})
	must("agents", err)
	_, err = s.Agent(ctx, "alice")
	must("agent", err)
	_, _, err = s.AgentCredentials(ctx, "alice")
	must("credentials", err)
	_, err = s.Stats(ctx)
	must("stats", err)
	must("prune", s.Prune(ctx, time.Now().Add(-time.Hour)))
	key := &agcom.IdempotencyKey{Handle: "alice", Key: "k", Fingerprint: "f"}
	for range 2 { // a create, then its replay
		_, _, err = service.SendMessage(ctx, alice, agcom.NewMessage{ToHandles: []string{"bob"}, Subject: "k", Body: "k"}, key)
		must("idempotent send", err)
	}
	// Statements are prepared in the background on first use; wait for them.
	s.readStmts.wg.Wait()
	s.writeStmts.wg.Wait()
}

// explain returns the lines of EXPLAIN QUERY PLAN for q, its parameters
// all NULL (a plan does not depend on their values).
func explain(s *Store, q string) ([]string, error) {
	conn, err := s.read.Conn(context.Background())
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	var plan []string
	err = conn.Raw(func(dc any) error {
		st, err := dc.(driver.Conn).Prepare("EXPLAIN QUERY PLAN " + q)
		if err != nil {
			return err
		}
		defer st.Close()
		rows, err := st.Query(make([]driver.Value, st.NumInput())) //nolint:staticcheck // the driver's own statement
		if err != nil {
			return err
		}
		defer rows.Close()
		row := make([]driver.Value, len(rows.Columns()))
		for rows.Next(row) == nil {
			plan = append(plan, fmt.Sprint(row[3]))
		}
		return nil
	})
	return plan, err
}

// openTestStore opens a store at path, closed when the test ends.
func openTestStore(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

// queries lists every query text the cache was asked for.
func (c *stmtCache) queries() []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var qs []string
	for q := range c.pending {
		qs = append(qs, q)
	}
	return qs
}

func oneLine(q string) string { return strings.Join(strings.Fields(q), " ") }
