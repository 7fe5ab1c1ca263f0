package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCache keeps one prepared statement per query text, so that SQLite
// parses and plans each query once per connection instead of on every use.
// The set of query texts is fixed by the code (filters combine a bounded
// number of ways), so the cache needs no eviction.
//
// A statement is prepared in the background on first use: preparing on the
// pool from inside a transaction could wait for a connection the caller's
// own transaction holds (the writer has exactly one). Until it is ready the
// query runs unprepared on the transaction.
type stmtCache struct {
	db      *sql.DB
	mu      sync.RWMutex
	m       map[string]*sql.Stmt
	pending map[string]bool
	wg      sync.WaitGroup
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, m: map[string]*sql.Stmt{}, pending: map[string]bool{}}
}

// get returns the prepared statement for query, or nil while it is not
// ready yet.
func (c *stmtCache) get(query string) *sql.Stmt {
	c.mu.RLock()
	st, ok := c.m[query]
	c.mu.RUnlock()
	if ok {
		return st
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || c.pending[query] {
		return nil
	}
	c.pending[query] = true
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		st, err := c.db.Prepare(query)
		c.mu.Lock()
		defer c.mu.Unlock()
		if err != nil || c.m == nil {
			if st != nil {
				st.Close()
			}
			delete(c.pending, query) // try again on a later use
			return
		}
		c.m[query] = st
	}()
	return nil
}

func (c *stmtCache) close() {
	c.mu.Lock()
	for _, st := range c.m {
		st.Close()
	}
	c.m = nil
	c.mu.Unlock()
	c.wg.Wait()
}

// readOne runs a one-row query outside any transaction (a single statement
// reads one consistent snapshot), prepared when it can be.
func (s *Store) readOne(ctx context.Context, query string, args ...any) *sql.Row {
	if st := s.readStmts.get(query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return s.read.QueryRowContext(ctx, query, args...)
}

// exec runs a statement in the transaction, prepared when it can be, and
// counts the rows it changed.
func (t *tx) exec(query string, args ...any) (res sql.Result, err error) {
	if st := t.stmts.get(query); st != nil {
		res, err = t.StmtContext(t.ctx, st).ExecContext(t.ctx, args...)
	} else {
		res, err = t.ExecContext(t.ctx, query, args...)
	}
	if err == nil {
		n, nerr := res.RowsAffected()
		if nerr != nil {
			n = 1 // unknown: assume it changed something
		}
		t.changed += n
	}
	return res, err
}

// query runs a query in the transaction, prepared when it can be.
func (t *tx) query(query string, args ...any) (*sql.Rows, error) {
	if st := t.stmts.get(query); st != nil {
		return t.StmtContext(t.ctx, st).QueryContext(t.ctx, args...)
	}
	return t.QueryContext(t.ctx, query, args...)
}

// queryChanges runs a statement that changes rows and returns one row for
// each of them (RETURNING), counting the rows as they are read: once the
// first row is read, all of its changes are made.
func (t *tx) queryChanges(query string, args ...any) (*changedRows, error) {
	rows, err := t.query(query, args...)
	if err != nil {
		return nil, err
	}
	return &changedRows{Rows: rows, t: t}, nil
}

// changedRows are the rows of a RETURNING statement: each is a changed row.
type changedRows struct {
	*sql.Rows
	t *tx
}

// Next counts the row it advances to as changed.
func (r *changedRows) Next() bool {
	if !r.Rows.Next() {
		return false
	}
	r.t.changed++
	return true
}

// queryRow runs a one-row query in the transaction, prepared when it can be.
func (t *tx) queryRow(query string, args ...any) *sql.Row {
	if st := t.stmts.get(query); st != nil {
		return t.StmtContext(t.ctx, st).QueryRowContext(t.ctx, args...)
	}
	return t.QueryRowContext(t.ctx, query, args...)
}
