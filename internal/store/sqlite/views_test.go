package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/agcom/agcom/internal/agcom"
)

// TestViewCacheFollowsWrites: a kept answer is given again while nothing
// its reader can see has changed, and never after: each step says whether
// the next read may come from memory, and checks what it shows.
func TestViewCacheFollowsWrites(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "agcom.db")
	s := openTestStore(t, path)
	alice, bob, carol := agcom.Caller{Handle: "alice"}, agcom.Caller{Handle: "bob"}, agcom.Caller{Handle: "carol"}
	admin := agcom.Caller{Handle: "root", IsAdmin: true}
	send := func(from agcom.Caller, to, subject string) agcom.Message {
		t.Helper()
		m, _, err := agcom.NewService(s).SendMessage(ctx, from, agcom.NewMessage{ToHandles: []string{to}, Subject: subject, Body: "b"}, nil)
		if err != nil {
			t.Fatalf("send: %v", err)
		}
		return m
	}
	first := send(alice, "bob", "first")

	counts := func() (hits, misses uint64) {
		s.views.mu.Lock()
		defer s.views.mu.Unlock()
		return s.views.hits, s.views.misses
	}
	// read runs fn and reports whether the cache answered it.
	read := func(fn func()) (fromMemory bool) {
		h0, _ := counts()
		fn()
		h1, _ := counts()
		return h1 > h0
	}
	threads := func(c agcom.Caller) agcom.ThreadList {
		t.Helper()
		l, err := s.ListThreads(ctx, c, agcom.ThreadFilter{Page: agcom.Page{Limit: 50}})
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
		{"a thread bob is not in", func() { send(alice, "carol", "not bob's") }, bob, true,
			func(l agcom.ThreadList) string { return wantSubjects(subjects(l), "first") }},
		{"a thread with bob", func() { send(carol, "bob", "second") }, bob, false,
			func(l agcom.ThreadList) string { return wantSubjects(subjects(l), "second", "first") }},
		{"a reply in bob's thread", func() {
			if _, _, err := agcom.NewService(s).ReplyToMessage(ctx, alice, first.ID, agcom.Reply{Body: "re"}, nil); err != nil {
				t.Fatal(err)
			}
		}, bob, false, func(l agcom.ThreadList) string { return wantSubjects(subjects(l), "first", "second") }},
		{"bob marks his thread read", func() {
			if _, err := s.MarkThreadRead(ctx, bob, first.ThreadID); err != nil {
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
			if err := s.SetThreadMetadata(ctx, alice, first.ThreadID, "priority", &v); err != nil {
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
		{"any write, for an admin", func() { send(alice, "carol", "third") }, admin, false,
			func(l agcom.ThreadList) string {
				return wantSubjects(subjects(l), "third", "first", "second", "not bob's")
			}},
		{"another process changes the file", func() {
			db, err := sql.Open("sqlite3", "file:"+path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Exec(`UPDATE threads SET subject = 'renamed' WHERE id = ?`, first.ThreadID); err != nil {
				t.Fatal(err)
			}
		}, bob, false, func(l agcom.ThreadList) string { return wantSubjects(subjects(l), "renamed", "second") }},
	}
	for _, st := range steps {
		st.write()
		var got agcom.ThreadList
		if fromMemory := read(func() { got = threads(st.reader) }); fromMemory != st.fromMemory {
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
		l, err := s.ListAuditEvents(ctx, bob, agcom.AuditFilter{Page: agcom.Page{Limit: 50}})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	before := audit()
	if !read(func() { audit() }) {
		t.Error("audit: the second read was not answered from memory")
	}
	if err := s.RecordTokenFailure(ctx, "bob", "bad secret", "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	var after agcom.AuditEventList
	if read(func() { after = audit() }) || after.Pagination.Total != before.Pagination.Total+1 {
		t.Errorf("audit after an event naming bob: total %d, want %d, read fresh", after.Pagination.Total, before.Pagination.Total+1)
	}
	contacts := func() agcom.ContactList {
		l, err := s.ListContacts(ctx, agcom.ContactFilter{Page: agcom.Page{Limit: 50}})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	contacts()
	if _, _, err := agcom.NewService(s).CreateContact(ctx, carol, agcom.Contact{Handle: "dave"}, nil); err != nil {
		t.Fatal(err)
	}
	var book agcom.ContactList
	if read(func() { book = contacts() }) || len(book.Contacts) != 1 || book.Contacts[0].Handle != "dave" {
		t.Errorf("contacts after an add: %+v, want dave, read fresh", book.Contacts)
	}
}

func wantSubjects(got []string, want ...string) string {
	if len(got) != len(want) {
		return "subjects " + joinQuoted(got) + ", want " + joinQuoted(want)
	}
	for i := range got {
		if got[i] != want[i] {
			return "subjects " + joinQuoted(got) + ", want " + joinQuoted(want)
		}
	}
	return ""
}

func joinQuoted(ss []string) string {
	out := "["
	for i, s := range ss {
		if i > 0 {
			out += " "
		}
		out += `"` + s + `"`
	}
	return out + "]"
}

// TestViewCacheReadsYourWrites: while others write and poll, a writer that
// reads right after its write is told "done" always sees the write, and
// when everything has settled the kept answer equals a fresh read.
func TestViewCacheReadsYourWrites(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t, filepath.Join(t.TempDir(), "agcom.db"))
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
				if _, err := s.ListThreads(ctx, bob, page); err != nil {
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
				l, err := s.ListThreads(ctx, bob, page)
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
	kept, err := s.ListThreads(ctx, bob, page)
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := s.listThreads(ctx, bob, page)
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
	s := openTestStore(t, filepath.Join(t.TempDir(), "agcom.db"))
	get := func() agcom.Agent {
		t.Helper()
		a, err := s.Agent(ctx, "alice")
		if err != nil {
			t.Fatalf("agent: %v", err)
		}
		return a
	}
	hits := func() uint64 {
		s.views.mu.Lock()
		defer s.views.mu.Unlock()
		return s.views.hits
	}
	kept := func() bool {
		t.Helper()
		h0 := hits()
		get()
		return hits() > h0
	}
	yes, no := true, false

	// Unregistered handles are ordinary agents: their answer is kept too.
	for i := range 2 {
		h0 := hits()
		if _, err := s.Agent(ctx, "alice"); agcom.ErrorCode(err) != agcom.ENOTFOUND {
			t.Fatalf("before it exists: err %v, want ENOTFOUND", err)
		}
		if fromMemory := hits() > h0; fromMemory != (i == 1) {
			t.Fatalf("before it exists, read %d: from memory %t", i+1, fromMemory)
		}
	}
	if _, err := s.CreateAgent(ctx, "root", agcom.Agent{Handle: "alice"}, "hash-1"); err != nil {
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
			_, err := s.UpdateAgent(ctx, "root", "alice", agcom.AgentUpdate{Disabled: &yes})
			return err
		}, func(a agcom.Agent) bool { return a.Disabled }},
		{"promote", func() error {
			_, err := s.UpdateAgent(ctx, "root", "alice", agcom.AgentUpdate{IsAdmin: &yes})
			return err
		}, func(a agcom.Agent) bool { return a.IsAdmin && a.Disabled }},
		{"rotate the secret", func() error {
			_, err := s.SetAgentSecret(ctx, "root", "alice", "hash-2")
			return err
		}, func(a agcom.Agent) bool { return a.IsAdmin && a.Disabled }},
		{"demote and enable", func() error {
			_, err := s.UpdateAgent(ctx, "root", "alice", agcom.AgentUpdate{IsAdmin: &no, Disabled: &no})
			return err
		}, func(a agcom.Agent) bool { return !a.IsAdmin && !a.Disabled }},
		{"bootstrap admin", func() error { return s.EnsureAdmin(ctx, "alice", "hash-3") },
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

// TestAnotherProcessThenOurWrite: a commit from another process (here,
// another store on the same file, as `agcomd agent disable` is) makes
// every kept answer stale, even when this store's writer commits before
// anyone reads again.
func TestAnotherProcessThenOurWrite(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "agcom.db")
	s := openTestStore(t, path)
	if _, err := s.CreateAgent(ctx, "root", agcom.Agent{Handle: "carol"}, "hash"); err != nil {
		t.Fatal(err)
	}
	if a, err := s.Agent(ctx, "carol"); err != nil || a.Disabled {
		t.Fatalf("before: %+v, %v", a, err)
	}
	if _, err := s.Agent(ctx, "carol"); err != nil { // kept
		t.Fatal(err)
	}

	other := openTestStore(t, path)
	yes := true
	if _, err := other.UpdateAgent(ctx, "root", "carol", agcom.AgentUpdate{Disabled: &yes}); err != nil {
		t.Fatal(err)
	}
	// This store writes too, before anyone reads: its commit must not
	// hide the other's.
	if err := s.RecordTokenFailure(ctx, "dave", "bad secret", "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if a, err := s.Agent(ctx, "carol"); err != nil || !a.Disabled {
		t.Fatalf("after another process disabled carol: %+v, %v; want disabled", a, err)
	}
}

// TestMemoBytesCount: the encodings kept with an answer count against the
// budget while the answer is kept, and push older answers out.
func TestMemoBytesCount(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t, filepath.Join(t.TempDir(), "agcom.db"))
	alice, bob := agcom.Caller{Handle: "alice"}, agcom.Caller{Handle: "bob"}
	if _, _, err := agcom.NewService(s).SendMessage(ctx, alice, agcom.NewMessage{ToHandles: []string{"bob"}, Subject: "s", Body: "b"}, nil); err != nil {
		t.Fatal(err)
	}
	cost := func() int {
		s.views.mu.Lock()
		defer s.views.mu.Unlock()
		return s.views.cost
	}
	inbox := func(c agcom.Caller) agcom.ThreadList {
		t.Helper()
		l, err := s.ListThreads(ctx, c, agcom.ThreadFilter{Page: agcom.Page{Limit: 50}})
		if err != nil || len(l.Threads) != 1 || l.Memo == nil {
			t.Fatalf("list threads: %d threads, memo %v, %v", len(l.Threads), l.Memo != nil, err)
		}
		return l
	}

	first := inbox(alice)
	before := cost()
	first.Memo.Store("plain", make([]byte, 1000))
	if got := cost() - before; got != 1000 {
		t.Fatalf("kept 1,000 bytes of encoding: cost rose by %d", got)
	}
	first.Memo.Store("gzip", make([]byte, 100))
	if got := cost() - before; got != 100 {
		t.Fatalf("replaced them with 100 bytes: cost is %d over the answer's", got)
	}

	// An encoding as large as the whole budget leaves room for nothing
	// else: bob's answer, kept first, goes.
	s.views.mu.Lock()
	s.views.invalidateLocked()
	s.views.mu.Unlock()
	other := inbox(bob)
	mine := inbox(alice)
	mine.Memo.Store("plain", make([]byte, viewCost))
	s.views.mu.Lock()
	_, kept := s.views.entries[viewKey("threads", bob, "any", agcom.Page{Limit: 50})]
	s.views.mu.Unlock()
	if kept {
		t.Fatal("bob's answer is still kept past the budget")
	}
	if got := cost(); got != 0 {
		t.Fatalf("cost %d once the budget's worth of encoding pushed everything out", got)
	}
	// Encodings of an answer no longer kept count nothing, even when a
	// newer answer is kept under its key.
	other.Memo.Store("plain", make([]byte, 500))
	if got := cost(); got != 0 {
		t.Fatalf("an answer no longer kept raised the cost to %d", got)
	}
	inbox(bob)
	before = cost()
	other.Memo.Store("gzip", make([]byte, 700))
	if got := cost(); got != before {
		t.Fatalf("an answer no longer kept changed its successor's cost from %d to %d", before, got)
	}
}
