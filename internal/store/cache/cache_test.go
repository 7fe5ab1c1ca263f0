package cache_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/agcom/agcom/internal/agcom"
	"github.com/agcom/agcom/internal/store/cache"
	"github.com/agcom/agcom/internal/store/sqlite"
)

// openStore opens the SQLite store at path.
func openStore(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path)
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

// open opens a SQLite store at path, and its reads through the cache.
func open(t *testing.T, path string) (*sqlite.Store, *cache.Reads) {
	t.Helper()
	s := openStore(t, path)
	return s, newReads(t, s, cache.DefaultLists, cache.DefaultAgents)
}

func newReads(t *testing.T, s cache.Store, lists, agents int) *cache.Reads {
	t.Helper()
	r, err := cache.New(s, lists, agents)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// fromMemory runs fn and reports whether r answered it from memory.
func fromMemory(r *cache.Reads, fn func()) bool {
	h0 := r.Hits()
	fn()
	return r.Hits() > h0
}

func send(t *testing.T, s *sqlite.Store, from agcom.Caller, to, subject string) agcom.Message {
	t.Helper()
	m, _, err := agcom.NewService(s).SendMessage(context.Background(), from, agcom.NewMessage{ToHandles: []string{to}, Subject: subject, Body: "b"}, nil)
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	return m
}

// TestFollowsWrites: a kept answer is given again while nothing its
// reader can see has changed, and never after, whoever wrote: each step
// says whether the next read may come from memory, and checks what it
// shows.
func TestFollowsWrites(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "agcom.db")
	s, r := open(t, path)
	alice, bob, carol := agcom.Caller{Handle: "alice"}, agcom.Caller{Handle: "bob"}, agcom.Caller{Handle: "carol"}
	admin := agcom.Caller{Handle: "root", IsAdmin: true}
	first := send(t, s, alice, "bob", "first")

	threads := func(c agcom.Caller) agcom.ThreadList {
		t.Helper()
		l, err := r.ListThreads(ctx, c, agcom.ThreadFilter{Page: agcom.Page{Limit: 50}})
		if err != nil {
			t.Fatalf("list threads: %v", err)
		}
		return l
	}
	subjects := func(l agcom.ThreadList) []string {
		var out []string
		for _, th := range l.Threads {
			out = append(out, th.Subject)
		}
		return out
	}
	var bobs agcom.ThreadList
	steps := []struct {
		name       string
		write      func()
		reader     agcom.Caller
		fromMemory bool
		check      func(l agcom.ThreadList) string // "" when right
	}{
		{"first read", func() {}, bob, false, nil},
		{"read again", func() {}, bob, true, nil},
		{"a thread bob is not in", func() { send(t, s, alice, "carol", "not bob's") }, bob, true,
			func(l agcom.ThreadList) string { return wantSubjects(subjects(l), "first") }},
		{"a thread with bob", func() { send(t, s, carol, "bob", "second") }, bob, false,
			func(l agcom.ThreadList) string { return wantSubjects(subjects(l), "second", "first") }},
		{"a reply in bob's thread", func() {
			if _, _, err := agcom.NewService(s).ReplyToMessage(ctx, alice, first.ID, agcom.Reply{Body: "re"}, nil); err != nil {
				t.Fatal(err)
			}
		}, bob, false, func(l agcom.ThreadList) string { return wantSubjects(subjects(l), "first", "second") }},
		{"bob marks his thread read", func() {
			if _, err := agcom.NewService(s).MarkThreadRead(ctx, bob, first.ThreadID); err != nil {
				t.Fatal(err)
			}
		}, bob, false, func(l agcom.ThreadList) string {
			if l.Threads[0].UnreadCount != 0 {
				return "the read thread still counts unread messages"
			}
			return ""
		}},
		{"metadata on bob's thread", func() {
			v := "high"
			if err := agcom.NewService(s).SetThreadMetadata(ctx, alice, first.ThreadID, "priority", &v); err != nil {
				t.Fatal(err)
			}
		}, bob, false, func(l agcom.ThreadList) string {
			if l.Threads[0].Metadata["priority"] != "high" {
				return "the metadata is missing"
			}
			return ""
		}},
		{"an admin reads", func() {}, admin, false, nil},
		{"an admin reads again", func() {}, admin, true, nil},
		{"any write, for an admin", func() { send(t, s, alice, "carol", "third") }, admin, false,
			func(l agcom.ThreadList) string {
				return wantSubjects(subjects(l), "third", "first", "second", "not bob's")
			}},
		{"bob reads: alice wrote to carol only", func() {}, bob, true, nil},
		{"another store on the file writes to bob", func() {
			send(t, openStore(t, path), carol, "bob", "from elsewhere")
		}, bob, false, func(l agcom.ThreadList) string {
			return wantSubjects(subjects(l), "from elsewhere", "first", "second")
		}},
		{"bob reads again, kept", func() {}, bob, true, nil},
		{"a program without a store changes the file", func() {
			// The driver the store registers.
			db, err := sql.Open("sqlite3", "file:"+path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Exec(`UPDATE threads SET subject = 'renamed' WHERE id = ?`, first.ThreadID); err != nil {
				t.Fatal(err)
			}
		}, bob, false, func(l agcom.ThreadList) string {
			return wantSubjects(subjects(l), "from elsewhere", "renamed", "second")
		}},
	}
	for _, st := range steps {
		st.write()
		var got agcom.ThreadList
		if fromMemory := fromMemory(r, func() { got = threads(st.reader) }); fromMemory != st.fromMemory {
			t.Errorf("%s: answered from memory = %v, want %v", st.name, fromMemory, st.fromMemory)
		}
		if st.check != nil {
			if msg := st.check(got); msg != "" {
				t.Errorf("%s: %s", st.name, msg)
			}
		}
		if st.reader == bob {
			bobs = got
		}
	}
	if len(bobs.Threads) != bobs.Pagination.Total {
		t.Errorf("bob's total %d for %d threads", bobs.Pagination.Total, len(bobs.Threads))
	}

	// Audit events naming bob, and the address book.
	audit := func() agcom.AuditEventList {
		l, err := r.ListAuditEvents(ctx, bob, agcom.AuditFilter{Page: agcom.Page{Limit: 50}})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	before := audit()
	if !fromMemory(r, func() { audit() }) {
		t.Error("audit: the second read was not answered from memory")
	}
	if err := agcom.NewService(s).RecordTokenFailure(ctx, "bob", "bad secret", "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	var after agcom.AuditEventList
	if fromMemory(r, func() { after = audit() }) || after.Pagination.Total != before.Pagination.Total+1 {
		t.Errorf("audit after an event naming bob: total %d, want %d, read fresh", after.Pagination.Total, before.Pagination.Total+1)
	}
	contacts := func() agcom.ContactList {
		l, err := r.ListContacts(ctx, agcom.ContactFilter{Page: agcom.Page{Limit: 50}})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	contacts()
	if !fromMemory(r, func() { contacts() }) {
		t.Error("contacts: the second read was not answered from memory")
	}
	if _, _, err := agcom.NewService(s).CreateContact(ctx, carol, agcom.Contact{Handle: "dave"}, nil); err != nil {
		t.Fatal(err)
	}
	var book agcom.ContactList
	if fromMemory(r, func() { book = contacts() }) || len(book.Contacts) != 1 || book.Contacts[0].Handle != "dave" {
		t.Errorf("contacts after an add: %+v, want dave, read fresh", book.Contacts)
	}
}

func wantSubjects(got []string, want ...string) string {
	if !slices.Equal(got, want) {
		return fmt.Sprintf("subjects %q, want %q", got, want)
	}
	return ""
}

// TestReadsYourWrites: while others write and poll, a writer that reads
// right after its write is told "done" always sees the write, and when
// everything has settled the kept answer equals a fresh read.
func TestReadsYourWrites(t *testing.T) {
	ctx := context.Background()
	s, r := open(t, filepath.Join(t.TempDir(), "agcom.db"))
	bob := agcom.Caller{Handle: "bob"}
	page := agcom.ThreadFilter{Page: agcom.Page{Limit: agcom.MaxLimit}}
	stop := make(chan struct{})
	var pollers, writers sync.WaitGroup
	for range 4 { // bob's other clients, keeping answers warm
		pollers.Add(1)
		go func() {
			defer pollers.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := r.ListThreads(ctx, bob, page); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for w := range 4 {
		writers.Add(1)
		go func() {
			defer writers.Done()
			from := agcom.Caller{Handle: fmt.Sprintf("writer%d", w)}
			for range 10 {
				m, _, err := agcom.NewService(s).SendMessage(ctx, from, agcom.NewMessage{ToHandles: []string{"bob"}, Subject: "s", Body: "b"}, nil)
				if err != nil {
					t.Error(err)
					return
				}
				l, err := r.ListThreads(ctx, bob, page)
				if err != nil {
					t.Error(err)
					return
				}
				if !slices.ContainsFunc(l.Threads, func(th agcom.Thread) bool { return th.ID == m.ThreadID }) {
					t.Errorf("bob's threads, read after %s's send returned, miss its thread", from.Handle)
				}
			}
		}()
	}
	writers.Wait()
	close(stop)
	pollers.Wait()
	kept, err := r.ListThreads(ctx, bob, page)
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := s.ListThreads(ctx, bob, page)
	if err != nil {
		t.Fatal(err)
	}
	if len(kept.Threads) != 40 || kept.Pagination.Total != 40 || !slices.EqualFunc(kept.Threads, fresh.Threads, func(a, b agcom.Thread) bool {
		return a.ID == b.ID && a.UnreadCount == b.UnreadCount
	}) {
		t.Errorf("kept answer: %d threads (total %d); fresh read: %d threads", len(kept.Threads), kept.Pagination.Total, len(fresh.Threads))
	}
}

// TestAgentFollowsWrites: the agent record every request reads for its
// caller's flags is kept, and each way of writing agents makes it stale at
// once (a disabled agent must be refused on its very next request).
func TestAgentFollowsWrites(t *testing.T) {
	ctx := context.Background()
	s, r := open(t, filepath.Join(t.TempDir(), "agcom.db"))
	get := func() agcom.Agent {
		t.Helper()
		a, err := r.Agent(ctx, "alice")
		if err != nil {
			t.Fatalf("agent: %v", err)
		}
		return a
	}
	kept := func() bool {
		t.Helper()
		return fromMemory(r, func() { get() })
	}
	yes, no := true, false

	// Unregistered handles are ordinary agents: their answer is kept too.
	for i := range 2 {
		var err error
		if fromMemory := fromMemory(r, func() { _, err = r.Agent(ctx, "alice") }); fromMemory != (i == 1) {
			t.Fatalf("before it exists, read %d: from memory %t", i+1, fromMemory)
		}
		if agcom.ErrorCode(err) != agcom.ENOTFOUND {
			t.Fatalf("before it exists: err %v, want ENOTFOUND", err)
		}
	}
	if _, err := agcom.NewService(s).CreateAgent(ctx, agcom.Caller{Handle: "root", IsAdmin: true}, agcom.Agent{Handle: "alice"}, "hash-1"); err != nil {
		t.Fatal(err)
	}
	if a := get(); a.IsAdmin || a.Disabled {
		t.Fatalf("created: %+v", a)
	}
	if !kept() {
		t.Fatal("an unchanged agent was read again")
	}

	steps := []struct {
		name  string
		write func() error
		check func(agcom.Agent) bool
	}{
		{"disable", func() error {
			_, err := agcom.NewService(s).UpdateAgent(ctx, agcom.Caller{Handle: "root", IsAdmin: true}, "alice", agcom.AgentUpdate{Disabled: &yes})
			return err
		}, func(a agcom.Agent) bool { return a.Disabled }},
		{"promote", func() error {
			_, err := agcom.NewService(s).UpdateAgent(ctx, agcom.Caller{Handle: "root", IsAdmin: true}, "alice", agcom.AgentUpdate{IsAdmin: &yes})
			return err
		}, func(a agcom.Agent) bool { return a.IsAdmin && a.Disabled }},
		{"rotate the secret", func() error {
			_, err := agcom.NewService(s).SetAgentSecret(ctx, agcom.Caller{Handle: "root", IsAdmin: true}, "alice", "hash-2")
			return err
		}, func(a agcom.Agent) bool { return a.IsAdmin && a.Disabled && a.TokenGeneration == 1 }},
		{"revoke tokens", func() error {
			_, err := agcom.NewService(s).RevokeAgentTokens(ctx, agcom.Caller{Handle: "root", IsAdmin: true}, "alice")
			return err
		}, func(a agcom.Agent) bool { return a.TokenGeneration == 2 }},
		{"demote and enable", func() error {
			_, err := agcom.NewService(s).UpdateAgent(ctx, agcom.Caller{Handle: "root", IsAdmin: true}, "alice", agcom.AgentUpdate{IsAdmin: &no, Disabled: &no})
			return err
		}, func(a agcom.Agent) bool { return !a.IsAdmin && !a.Disabled }},
		{"bootstrap admin", func() error { return agcom.NewService(s).EnsureAdmin(ctx, "alice", "hash-3") },
			func(a agcom.Agent) bool { return a.IsAdmin && !a.Disabled }},
	}
	for _, st := range steps {
		get() // kept before the write
		if err := st.write(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if kept() {
			t.Fatalf("after %s: the agent came from memory", st.name)
		}
		if a := get(); !st.check(a) {
			t.Fatalf("after %s: %+v", st.name, a)
		}
	}
}

// TestAnotherStoreThenOurWrite: a commit from another store on the same
// file (another process, as `agcomd agent disable` is) makes every kept
// answer stale, even when this store's writer commits before anyone reads
// again.
func TestAnotherStoreThenOurWrite(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "agcom.db")
	s, r := open(t, path)
	if _, err := agcom.NewService(s).CreateAgent(ctx, agcom.Caller{Handle: "root", IsAdmin: true}, agcom.Agent{Handle: "carol"}, "hash"); err != nil {
		t.Fatal(err)
	}
	if a, err := r.Agent(ctx, "carol"); err != nil || a.Disabled {
		t.Fatalf("before: %+v, %v", a, err)
	}
	if !fromMemory(r, func() { r.Agent(ctx, "carol") }) {
		t.Fatal("carol's record was not kept")
	}

	other := openStore(t, path)
	yes := true
	if _, err := agcom.NewService(other).UpdateAgent(ctx, agcom.Caller{Handle: "root", IsAdmin: true}, "carol", agcom.AgentUpdate{Disabled: &yes}); err != nil {
		t.Fatal(err)
	}
	// This store writes too, before anyone reads: its commit must not
	// hide the other's.
	if err := agcom.NewService(s).RecordTokenFailure(ctx, "dave", "bad secret", "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if a, err := r.Agent(ctx, "carol"); err != nil || !a.Disabled {
		t.Fatalf("after another process disabled carol: %+v, %v; want disabled", a, err)
	}
}

// TestEvictsLeastRecentlyUsed: past its bound, the answer used least
// recently goes first; each bound counts answers of its own kind.
func TestEvictsLeastRecentlyUsed(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, filepath.Join(t.TempDir(), "agcom.db"))
	r := newReads(t, s, 2, 1)
	bob := agcom.Caller{Handle: "bob"}
	for i := range 3 {
		send(t, s, agcom.Caller{Handle: "alice"}, "bob", fmt.Sprint("s", i))
	}
	page := func(offset int) func() {
		return func() {
			if _, err := r.ListThreads(ctx, bob, agcom.ThreadFilter{Page: agcom.Page{Limit: 1, Offset: offset}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	agent := func(handle string) func() {
		return func() {
			if _, err := r.Agent(ctx, handle); agcom.ErrorCode(err) != agcom.ENOTFOUND {
				t.Fatalf("agent %s: %v", handle, err)
			}
		}
	}
	a, b, c := page(0), page(1), page(2)
	steps := []struct {
		name       string
		read       func()
		fromMemory bool
	}{
		{"a", a, false},
		{"b", b, false},
		{"a again", a, true},
		{"c, past the bound: b goes", c, false},
		{"a, still kept", a, true},
		{"b, read again: c goes", b, false},
		{"c", c, false},
		{"an agent record has a bound of its own", agent("x"), false},
		{"the pages are still kept", c, true},
		{"the record is kept", agent("x"), true},
		{"another record: x goes", agent("y"), false},
		{"x", agent("x"), false},
	}
	for _, st := range steps {
		if got := fromMemory(r, st.read); got != st.fromMemory {
			t.Errorf("%s: from memory %t, want %t", st.name, got, st.fromMemory)
		}
	}
}

// TestKeysTellReadsApart: an answer is given again only for the same
// read, caller and parameters; parameters that differ only in a
// pointer's address are the same.
func TestKeysTellReadsApart(t *testing.T) {
	ctx := context.Background()
	s, r := open(t, filepath.Join(t.TempDir(), "agcom.db"))
	alice, bob := agcom.Caller{Handle: "alice"}, agcom.Caller{Handle: "bob"}
	m := send(t, s, alice, "bob", "hello")
	if _, _, err := agcom.NewService(s).CreateContact(ctx, alice, agcom.Contact{Handle: "dave", Tags: []string{"x"}}, nil); err != nil {
		t.Fatal(err)
	}
	yes, yesAgain, no := true, true, false
	threads := func(c agcom.Caller, archived *bool) func() error {
		return func() error {
			_, err := r.ListThreads(ctx, c, agcom.ThreadFilter{Archived: archived})
			return err
		}
	}
	contacts := func(tags ...string) func() error {
		return func() error {
			_, err := r.ListContacts(ctx, agcom.ContactFilter{Tags: tags})
			return err
		}
	}
	steps := []struct {
		name       string
		read       func() error
		fromMemory bool
		code       agcom.Code // "" when it succeeds
	}{
		{"bob's threads", threads(bob, nil), false, ""},
		{"alice's threads", threads(alice, nil), false, ""},
		{"alice as an admin", threads(agcom.Caller{Handle: "alice", IsAdmin: true}, nil), false, ""},
		{"alice under another display name", threads(agcom.Caller{Handle: "alice", DisplayName: "A"}, nil), true, ""},
		{"bob's archived threads", threads(bob, &yes), false, ""},
		{"bob's archived threads, another pointer", threads(bob, &yesAgain), true, ""},
		{"bob's threads not archived", threads(bob, &no), false, ""},
		{"bob's messages", func() error {
			_, err := r.ListMessages(ctx, bob, agcom.MessageFilter{})
			return err
		}, false, ""},
		{"bob's thread's messages", func() error {
			_, err := r.ListThreadMessages(ctx, bob, m.ThreadID, agcom.Page{})
			return err
		}, false, ""},
		{"bob's inbox", func() error {
			_, err := r.ListInbox(ctx, bob, agcom.InboxFilter{})
			return err
		}, false, ""},
		{"contacts tagged x", contacts("x"), false, ""},
		{"contacts tagged x again", contacts("x"), true, ""},
		{"contacts tagged x and nothing", contacts("x", ""), false, agcom.EINVALID},
		{"contacts tagged 21 times", contacts(strings.Split(strings.Repeat("x,", agcom.MaxTags+1), ",")[:agcom.MaxTags+1]...),
			false, agcom.EINVALID},
	}
	for _, st := range steps {
		var err error
		if got := fromMemory(r, func() { err = st.read() }); got != st.fromMemory {
			t.Errorf("%s: from memory %t, want %t", st.name, got, st.fromMemory)
		}
		if code := agcom.ErrorCode(err); code != st.code {
			t.Errorf("%s: error %v, want code %q", st.name, err, st.code)
		}
	}
}

// TestLongAnswersAreNotKept: a page whose text is over MaxKeptText is read
// again every time, so that kept answers stay small whatever agents write.
func TestLongAnswersAreNotKept(t *testing.T) {
	ctx := context.Background()
	s, r := open(t, filepath.Join(t.TempDir(), "agcom.db"))
	alice, bob := agcom.Caller{Handle: "alice"}, agcom.Caller{Handle: "bob"}
	send(t, s, alice, "bob", "short")
	list := func() {
		if _, err := r.ListMessages(ctx, bob, agcom.MessageFilter{}); err != nil {
			t.Fatal(err)
		}
	}
	list()
	if !fromMemory(r, list) {
		t.Fatalf("a short page was not kept")
	}
	long := strings.Repeat("x", cache.MaxKeptText)
	if _, _, err := agcom.NewService(s).SendMessage(ctx, alice, agcom.NewMessage{ToHandles: []string{"bob"}, Subject: "long", Body: long}, nil); err != nil {
		t.Fatal(err)
	}
	list()
	if fromMemory(r, list) {
		t.Errorf("a page holding %d bytes of text was kept", len(long))
	}
}
