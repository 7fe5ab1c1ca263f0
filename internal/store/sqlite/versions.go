package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sync"

	"github.com/agcom/agcom/internal/agcom"
)

// What changed, for a cache of answers kept outside the store
// (internal/store/cache): the store knows which readers each commit can
// change, and tells it as versions.
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
// the same file, such as `agcomd agent disable`) raises every version.
// Every store's writer counts its commits in writer_commits, inside the
// transaction, so the count read before each version changes with each
// commit, and the writer knows whether the count before its own commit
// was the one it last wrote. A program that writes the file without a
// store does not count, but shows in PRAGMA data_version, which is read
// with the count: its commit is seen unless this store's writer commits
// in the same instant (the writer's own commits change data_version too,
// so it takes the value that follows them).
//
// A version is the number of the latest commit, in this store's own count
// of the commits it has seen, that changed its scope; numbers only grow,
// so an old answer never matches again.
type versions struct {
	mu     sync.Mutex
	last   uint64            // the latest commit seen: the admin scope's version
	scopes map[string]uint64 // by scope, the latest commit that touched it
	floor  uint64            // the latest commit from elsewhere, which touched every scope

	db      *sql.DB
	conn    *sql.Conn // a connection that never writes,
	changes *sql.Stmt // and sqlChanges prepared on it
	seen    changes   // what it read last

	closeOnce sync.Once
	closeErr  error
}

// adminScope is the scope of admins' answers.
const adminScope = ""

// changes are what tell commits apart: the writers' commit count and the
// versions connection's data_version.
type changes struct{ commits, dataVersion int64 }

const sqlChanges = `SELECT (SELECT n FROM writer_commits WHERE id = 1), (SELECT data_version FROM pragma_data_version)`

// newVersions opens its own read-only connection to the database dsn.
func newVersions(dsn string) (*versions, error) {
	db, err := sql.Open(driverName, dsn)
	if err != nil {
		return nil, err
	}
	conn, err := db.Conn(context.Background())
	if err != nil {
		db.Close()
		return nil, err
	}
	v := &versions{scopes: map[string]uint64{}, db: db, conn: conn}
	if v.changes, err = conn.PrepareContext(context.Background(), sqlChanges); err != nil {
		v.close()
		return nil, err
	}
	if v.seen, err = v.readChanges(); err != nil {
		v.close()
		return nil, err
	}
	return v, nil
}

// close closes the connection; closing again does nothing.
func (v *versions) close() error {
	v.closeOnce.Do(func() {
		var errs []error
		if v.changes != nil {
			errs = append(errs, v.changes.Close())
		}
		v.closeErr = errors.Join(append(errs, v.conn.Close(), v.db.Close())...)
	})
	return v.closeErr
}

// readChanges runs with v.mu held (or before v is shared). It runs without
// a cancellable context: the driver would run the statement on a goroutine
// of its own, and interrupt the shared connection when cancelled.
func (v *versions) readChanges() (changes, error) {
	var ch changes
	err := v.changes.QueryRowContext(context.Background()).Scan(&ch.commits, &ch.dataVersion)
	return ch, err
}

// version returns the version of scope now, having first looked for
// commits from elsewhere.
func (v *versions) version(scope string) (uint64, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	ch, err := v.readChanges()
	if err != nil {
		return 0, err
	}
	if ch != v.seen {
		v.elsewhereLocked()
		v.seen = ch
	}
	if scope == adminScope {
		return v.last, nil
	}
	return max(v.scopes[scope], v.floor), nil
}

// elsewhereLocked counts a commit from elsewhere, which may have changed
// any scope.
func (v *versions) elsewhereLocked() {
	v.last++
	v.floor = v.last
}

// committed raises the versions of the scopes a batch touched; the writer
// calls it after its commit number commit, and before telling anyone.
func (v *versions) committed(scopes []string, commit int64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.last++
	for _, s := range scopes {
		v.scopes[s] = v.last
	}
	// Another process committed before this commit (unless a reader has
	// seen its count already), or after it.
	other := v.seen.commits != commit-1 && v.seen.commits != commit
	ch, err := v.readChanges()
	if err != nil || other || ch.commits != commit {
		v.elsewhereLocked()
	}
	if err == nil {
		v.seen = ch
	}
}

// readerScope is the scope of the caller's reads.
func readerScope(caller agcom.Caller) string {
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

// CallerVersion returns the version of everything caller's list and search
// reads can show (ListThreads, ListMessages, ListThreadMessages,
// SearchMessages, ListInbox, ListAuditEvents): for an admin, every commit.
// It grows with each commit that may change them, this process's or
// another's, and a version taken before a read is never newer than what
// the read returns.
func (s *Store) CallerVersion(_ context.Context, caller agcom.Caller) (uint64, error) {
	return s.versions.version(readerScope(caller))
}

// ContactsVersion is CallerVersion for the address book (ListContacts).
func (s *Store) ContactsVersion(context.Context) (uint64, error) {
	return s.versions.version(contactsScope)
}

// AgentsVersion is CallerVersion for the agents' records (Agent).
func (s *Store) AgentsVersion(context.Context) (uint64, error) {
	return s.versions.version(agentsScope)
}
