package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"time"
)

// tx is one transaction with its fixed timestamp.
type tx struct {
	*sql.Tx
	ctx   context.Context
	now   time.Time
	s     *Store
	stmts *stmtCache

	// notify lists the agents whose event logs this transaction grew.
	notify []string
	// touched lists the scopes whose versions it may have changed.
	touched []string
	// changed counts the rows its statements changed: a write job that
	// fails having changed none can fail alone (see runBatch).
	changed int64
}

// newID returns a new ULID at the transaction's time; ids made in one
// process are strictly increasing.
func (t *tx) newID() string { return t.s.clock.NewID(t.now) }

// readTx runs fn in a read-only transaction: one consistent snapshot.
func (s *Store) readTx(ctx context.Context, fn func(*tx) error) (err error) {
	if s.Observe != nil {
		defer func(start time.Time) { s.Observe("read", time.Since(start), err) }(time.Now())
	}
	sqlTx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return translate(err)
	}
	defer sqlTx.Rollback()
	t := &tx{Tx: sqlTx, ctx: ctx, now: s.now(), s: s, stmts: s.readStmts}
	if err := fn(t); err != nil {
		return translate(err)
	}
	return translate(sqlTx.Commit())
}

// now is the store's clock at the precision it stores: microseconds, UTC.
func (s *Store) now() time.Time { return s.clock.Now() }

// sqlLatestWrite finds the latest timestamp stored; each part is one
// lookup (the last row, or the top of an index).
const sqlLatestWrite = `SELECT max(
	coalesce((SELECT created_at FROM messages ORDER BY seq DESC LIMIT 1), 0),
	coalesce((SELECT created_at FROM audit_events ORDER BY seq DESC LIMIT 1), 0),
	coalesce((SELECT max(last_activity_at) FROM threads), 0))`

// writeNow is the time of a write transaction. It never runs backwards,
// even when the wall clock does, so the order in which writes are stored
// is also their (timestamp, id) order: lists can walk storage order.
func (s *Store) writeNow() time.Time { return s.clock.WriteNow() }

func toMicros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// placeholders returns "?, ?, ?" for n values.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
