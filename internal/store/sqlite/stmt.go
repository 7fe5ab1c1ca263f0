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

// exec runs a statement in the transaction, prepared when it can be.
func (t *tx) exec(query string, args ...any) (sql.Result, error) {
	if st := t.stmts.get(query); st != nil {
		return t.StmtContext(t.ctx, st).ExecContext(t.ctx, args...)
	}
	return t.ExecContext(t.ctx, query, args...)
}

// query runs a query in the transaction, prepared when it can be.
func (t *tx) query(query string, args ...any) (*sql.Rows, error) {
	if st := t.stmts.get(query); st != nil {
		return t.StmtContext(t.ctx, st).QueryContext(t.ctx, args...)
	}
	return t.QueryContext(t.ctx, query, args...)
}

// queryRow runs a one-row query in the transaction, prepared when it can be.
func (t *tx) queryRow(query string, args ...any) *sql.Row {
	if st := t.stmts.get(query); st != nil {
		return t.StmtContext(t.ctx, st).QueryRowContext(t.ctx, args...)
	}
	return t.QueryRowContext(t.ctx, query, args...)
}
