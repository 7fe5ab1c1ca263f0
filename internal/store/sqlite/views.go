package sqlite

import (
	"container/list"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"github.com/agcom/agcom/internal/agcom"
)

// Answers kept in memory.
//
// Agents poll: the same inbox page, asked again and again, is the same
// answer until something the agent can see changes. viewCache keeps recent
// answers to list and search reads with the versions they were read at,
// and gives one back only while those versions still hold.
//
// Every answer belongs to one scope, which has a version:
//   - an agent's reads ("@handle"): its threads, messages, inbox, searches
//     and audit events change only in a transaction that adds an event to
//     its log (a message in one of its threads, a change to one of them, its
//     own read marks) or an audit event naming it;
//   - the address book ("contacts");
//   - the agents' records ("agents"), which every request reads for its
//     caller's flags;
//   - an admin's reads (adminScope), which any committed write can change.
//
// The writer raises the versions of the scopes a batch touched after the
// batch commits and before any of its callers hears "done"; a reader takes
// the version before it reads. An answer therefore never carries a version
// newer than its data: a change committed during the read makes it stale at
// once.
//
// A commit that did not come from this store's writer (another process on
// the same file, such as `agcomd agent disable`) makes every answer stale.
// Every store's writer counts its commits in writer_commits, inside the
// transaction, so the count read before each answer changes with each
// commit, and the writer knows whether the count before its own commit
// was the one it last wrote. A program that writes the file without a
// store does not count, but shows in PRAGMA data_version, which is read
// with the count: its commit is seen unless this store's writer commits
// in the same instant (the writer's own commits change data_version too,
// so it takes the value that follows them).
type viewCache struct {
	mu       sync.Mutex
	versions map[string]uint64 // by scope; a scope never touched is at 0
	all      uint64            // raised by every commit: the admin scope
	epoch    uint64            // raised by commits from elsewhere

	db      *sql.DB
	conn    *sql.Conn // a connection that never writes,
	changes *sql.Stmt // and sqlChanges prepared on it
	seen    changes   // what it read last

	hits, misses uint64 // answers given from memory, and read

	closeOnce sync.Once
	closeErr  error

	entries map[string]*list.Element
	lru     list.List // of *viewEntry, most recently used first
	cost    int       // bytes held, over all entries (estimated: see sizes.go)
}

// viewCost bounds the bytes that all kept answers hold together, as their
// sizes estimate them, with the encodings kept with them (agcom.Memo),
// counted as they are made; the heap holds about as much again before the
// collector runs. A thread weighs about half a message, so this keeps,
// for instance, the first inbox page of 1,000 agents with its gzipped
// encoding.
const viewCost = 16 << 20

// adminScope is the scope of admins' answers.
const adminScope = ""

type viewStamp struct{ epoch, version uint64 }

// changes are what tell commits apart: the writers' commit count and the
// viewCache connection's data_version.
type changes struct{ commits, dataVersion int64 }

const sqlChanges = `SELECT (SELECT n FROM writer_commits WHERE id = 1), (SELECT data_version FROM pragma_data_version)`

type viewEntry struct {
	key   string
	stamp viewStamp
	value any
	cost  int
}

// newViewCache opens its own read-only connection to the database dsn.
func newViewCache(dsn string) (*viewCache, error) {
	db, err := sql.Open(driverName, dsn)
	if err != nil {
		return nil, err
	}
	conn, err := db.Conn(context.Background())
	if err != nil {
		db.Close()
		return nil, err
	}
	c := &viewCache{versions: map[string]uint64{}, db: db, conn: conn, entries: map[string]*list.Element{}}
	if c.changes, err = conn.PrepareContext(context.Background(), sqlChanges); err != nil {
		c.close()
		return nil, err
	}
	if c.seen, err = c.readChanges(); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

// close closes the cache's connection; closing again does nothing.
func (c *viewCache) close() error {
	c.closeOnce.Do(func() {
		var errs []error
		if c.changes != nil {
			errs = append(errs, c.changes.Close())
		}
		c.closeErr = errors.Join(append(errs, c.conn.Close(), c.db.Close())...)
	})
	return c.closeErr
}

// readChanges runs with c.mu held (or before c is shared).
func (c *viewCache) readChanges() (changes, error) {
	var ch changes
	err := c.changes.QueryRowContext(context.Background()).Scan(&ch.commits, &ch.dataVersion)
	return ch, err
}

// lookup returns the answer kept for key if it is still valid, and
// otherwise the versions an answer for scope read from now on is valid at.
// ok is false when they cannot be known (then nothing is kept).
func (c *viewCache) lookup(key, scope string) (value any, hit bool, st viewStamp, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch, err := c.readChanges()
	if err != nil {
		return nil, false, st, false
	}
	if ch != c.seen {
		c.invalidateLocked()
		c.seen = ch
	}
	st = c.stampLocked(scope)
	if el, found := c.entries[key]; found {
		e := el.Value.(*viewEntry)
		if e.stamp == st {
			c.hits++
			c.lru.MoveToFront(el)
			return e.value, true, st, true
		}
		c.removeLocked(el)
	}
	c.misses++
	return nil, false, st, true
}

func (c *viewCache) stampLocked(scope string) viewStamp {
	if scope == adminScope {
		return viewStamp{c.epoch, c.all}
	}
	return viewStamp{c.epoch, c.versions[scope]}
}

// invalidateLocked makes every kept answer stale.
func (c *viewCache) invalidateLocked() {
	c.epoch++
	clear(c.entries)
	c.lru.Init()
	c.cost = 0
}

// committed raises the versions of the scopes a batch touched; the writer
// calls it after its commit number commit, and before telling anyone.
func (c *viewCache) committed(scopes []string, commit int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.all++
	for _, s := range scopes {
		c.versions[s]++
	}
	// Another process committed before this commit (unless a reader has
	// seen its count already), or after it.
	other := c.seen.commits != commit-1 && c.seen.commits != commit
	ch, err := c.readChanges()
	if err != nil || other || ch.commits != commit {
		c.invalidateLocked()
	}
	if err == nil {
		c.seen = ch
	}
}

// put keeps value in e (its key, and the stamp it was read at), unless it
// is already stale.
func (c *viewCache) put(e *viewEntry, scope string, value any, cost int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e.stamp != c.stampLocked(scope) || cost > viewCost/10 {
		return
	}
	if el, ok := c.entries[e.key]; ok {
		c.removeLocked(el)
	}
	e.value, e.cost = value, cost
	c.entries[e.key] = c.lru.PushFront(e)
	c.cost += cost
	c.evictLocked()
}

// charge adds delta bytes to what e holds, while it is kept: its answer's
// memo changed.
func (c *viewCache) charge(e *viewEntry, delta int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[e.key]; !ok || el.Value != e {
		return
	}
	e.cost += delta
	c.cost += delta
	c.evictLocked()
}

// evictLocked drops the least recently used answers until the rest fit.
func (c *viewCache) evictLocked() {
	for c.cost > viewCost {
		c.removeLocked(c.lru.Back())
	}
}

func (c *viewCache) removeLocked(el *list.Element) {
	e := c.lru.Remove(el).(*viewEntry)
	delete(c.entries, e.key)
	c.cost -= e.cost
}

// viewScope is the scope of the caller's answers.
func viewScope(caller agcom.Caller) string {
	if caller.IsAdmin {
		return adminScope
	}
	return agentScope(caller.Handle)
}

func agentScope(handle string) string { return "@" + handle }

// contactsScope is the address book's scope.
const contactsScope = "contacts"

// agentsScope is the scope of agents' records.
const agentsScope = "agents"

// cachedRead answers from the cache while the scope is unchanged since the
// answer was read, and otherwise reads (and keeps the answer). The key
// names the read and every parameter it depends on, the caller included.
// Callers must not change what it returns: the answer is shared. Lists
// carry the memo read is given, so that the HTTP layer encodes a kept list
// once; the bytes it keeps count against viewCost with the answer's.
func cachedRead[T any](s *Store, scope string, key string, cost func(T) int, read func(*agcom.Memo) (T, error)) (T, error) {
	kept, hit, st, ok := s.views.lookup(key, scope)
	if hit {
		return kept.(T), nil
	}
	e := &viewEntry{key: key, stamp: st}
	v, err := read(agcom.NewMemo(func(delta int) { s.views.charge(e, delta) }))
	if err == nil && ok {
		s.views.put(e, scope, v, cost(v)+entrySize)
	}
	return v, err
}

// viewKey joins a read's name and parameters into a cache key.
func viewKey(op string, caller agcom.Caller, params ...any) string {
	return fmt.Sprintf("%s %q %t %#v", op, caller.Handle, caller.IsAdmin, params)
}

// The reads whose answers are kept.

// ListThreads returns the caller's threads (every thread for an admin),
// newest activity first.
func (s *Store) ListThreads(ctx context.Context, caller agcom.Caller, f agcom.ThreadFilter) (agcom.ThreadList, error) {
	archived := "any"
	if f.Archived != nil {
		archived = fmt.Sprint(*f.Archived)
	}
	return cachedRead(s, viewScope(caller), viewKey("threads", caller, archived, f.Page),
		func(l agcom.ThreadList) int { return sizeOfAll(l.Threads, threadSize) },
		func(memo *agcom.Memo) (agcom.ThreadList, error) {
			l, err := s.listThreads(ctx, caller, f)
			l.Memo = memo
			return l, err
		})
}

// ListMessages returns the messages the caller can see, newest first.
func (s *Store) ListMessages(ctx context.Context, caller agcom.Caller, f agcom.MessageFilter) (agcom.MessageList, error) {
	return cachedRead(s, viewScope(caller), viewKey("messages", caller, f),
		func(l agcom.MessageList) int { return sizeOfAll(l.Messages, messageSize) },
		func(memo *agcom.Memo) (agcom.MessageList, error) {
			l, err := s.listMessages(ctx, caller, f)
			l.Memo = memo
			return l, err
		})
}

// ListThreadMessages returns the messages of thread id, oldest first.
func (s *Store) ListThreadMessages(ctx context.Context, caller agcom.Caller, id string, p agcom.Page) (agcom.MessageList, error) {
	return cachedRead(s, viewScope(caller), viewKey("thread messages", caller, id, p),
		func(l agcom.MessageList) int { return sizeOfAll(l.Messages, messageSize) },
		func(memo *agcom.Memo) (agcom.MessageList, error) {
			l, err := s.listThreadMessages(ctx, caller, id, p)
			l.Memo = memo
			return l, err
		})
}

// SearchMessages returns the visible messages that contain the query.
func (s *Store) SearchMessages(ctx context.Context, caller agcom.Caller, q agcom.MessageSearch) (agcom.MessageSearchResult, error) {
	return cachedRead(s, viewScope(caller), viewKey("search", caller, q),
		func(r agcom.MessageSearchResult) int { return sizeOfAll(r.Messages, messageSize) },
		func(*agcom.Memo) (agcom.MessageSearchResult, error) { return s.searchMessages(ctx, caller, q) })
}

// ListInbox returns the messages addressed to the caller, newest first.
func (s *Store) ListInbox(ctx context.Context, caller agcom.Caller, f agcom.InboxFilter) (agcom.InboxList, error) {
	return cachedRead(s, viewScope(caller), viewKey("inbox", caller, f),
		func(l agcom.InboxList) int { return sizeOfAll(l.Entries, inboxEntrySize) },
		func(memo *agcom.Memo) (agcom.InboxList, error) {
			l, err := s.listInbox(ctx, caller, f)
			l.Memo = memo
			return l, err
		})
}

// ListAuditEvents returns audit events newest first: every event for an
// admin, otherwise those where the caller is the actor or the target.
func (s *Store) ListAuditEvents(ctx context.Context, caller agcom.Caller, f agcom.AuditFilter) (agcom.AuditEventList, error) {
	return cachedRead(s, viewScope(caller), viewKey("audit", caller, f),
		func(l agcom.AuditEventList) int { return sizeOfAll(l.Events, auditEventSize) },
		func(memo *agcom.Memo) (agcom.AuditEventList, error) {
			l, err := s.listAuditEvents(ctx, caller, f)
			l.Memo = memo
			return l, err
		})
}

// ListContacts returns a page of the address book.
func (s *Store) ListContacts(ctx context.Context, f agcom.ContactFilter) (agcom.ContactList, error) {
	return cachedRead(s, contactsScope, viewKey("contacts", agcom.Caller{}, f),
		func(l agcom.ContactList) int { return sizeOfAll(l.Contacts, contactSize) },
		func(memo *agcom.Memo) (agcom.ContactList, error) {
			l, err := s.listContacts(ctx, f)
			l.Memo = memo
			return l, err
		})
}
