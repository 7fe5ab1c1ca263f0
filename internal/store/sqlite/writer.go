package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"time"
)

// maxBatch bounds how many write transactions share one commit.
const maxBatch = 256

// errClosed answers writes submitted after Close.
var errClosed = errors.New("store: closed")

// writeJob is one use case's write transaction, waiting for the writer.
type writeJob struct {
	ctx  context.Context
	fn   func(*tx) error
	done chan error
}

// writeTx runs fn as one write transaction: all of it is committed before
// writeTx returns nil, or none of it is.
//
// Every write goes through a single writer goroutine (SQLite has one
// writer anyway). It takes whatever transactions are waiting, runs each in
// its own savepoint, and commits them together (group commit): one failing
// use case rolls back to its savepoint and fails alone, and nobody hears
// "done" before the shared commit has succeeded.
func (s *Store) writeTx(ctx context.Context, fn func(*tx) error) (err error) {
	if s.Observe != nil {
		defer func(start time.Time) { s.Observe("write", time.Since(start), err) }(time.Now())
	}
	job := &writeJob{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case s.jobs <- job:
	case <-s.closing:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once submitted, the outcome is awaited even if ctx ends: the caller
	// must not report failure for a write that was committed.
	select {
	case err := <-job.done:
		return err
	case <-s.writerDone:
		// The writer stopped; it either ran the job before stopping or
		// never saw it.
		select {
		case err := <-job.done:
			return err
		default:
			return errClosed
		}
	}
}

// writer runs write jobs until the store closes.
func (s *Store) writer() {
	defer close(s.writerDone)
	batch := make([]*writeJob, 0, maxBatch)
	for {
		s.checkpointIfLong()
		var first *writeJob
		select {
		case first = <-s.jobs:
		case <-s.closing:
			// Finish what was submitted before closing.
			for {
				select {
				case j := <-s.jobs:
					s.commit([]*writeJob{j})
				default:
					return
				}
			}
		}
		batch = append(batch[:0], first)
	fill:
		for len(batch) < maxBatch {
			select {
			case j := <-s.jobs:
				batch = append(batch, j)
			default:
				break fill
			}
		}
		s.commit(batch)
	}
}

// commit runs the batch in one transaction and tells each job its outcome.
func (s *Store) commit(batch []*writeJob) {
	errs := make([]error, len(batch))
	var notify, touched []string
	err := s.runBatch(batch, errs, &notify, &touched)
	if err == nil {
		s.views.committed(touched) // before anyone hears "done" and reads again
	}
	for i, j := range batch {
		if err != nil && errs[i] == nil {
			errs[i] = err
		}
		j.done <- translate(errs[i])
	}
	if err == nil {
		s.hub.Notify(notify)
	}
}

// runBatch returns an error that fails the whole batch; each job's own
// failure goes into errs.
func (s *Store) runBatch(batch []*writeJob, errs []error, notify, touched *[]string) error {
	ctx := context.Background()
	sqlTx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer sqlTx.Rollback()
	single := len(batch) == 1
	for i, j := range batch {
		if err := j.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		t := &tx{Tx: sqlTx, ctx: j.ctx, now: s.writeNow(), s: s, stmts: s.writeStmts}
		fn := func(t *tx) error {
			if err := j.fn(t); err != nil {
				return err
			}
			return t.saveIdempotency()
		}
		if single {
			errs[i] = fn(t)
			if errs[i] != nil {
				return nil // nothing else to commit
			}
			*notify = append(*notify, t.notify...)
			*touched = append(*touched, t.touched...)
			continue
		}
		errs[i] = runInSavepoint(t, i, fn)
		if isFatal(errs[i]) {
			return errs[i]
		}
		if errs[i] == nil {
			*notify = append(*notify, t.notify...)
			*touched = append(*touched, t.touched...)
		}
	}
	return sqlTx.Commit()
}

// runInSavepoint runs fn so that its failure undoes only its own work.
func runInSavepoint(t *tx, i int, fn func(*tx) error) error {
	name := "job" + strconv.Itoa(i)
	if _, err := t.ExecContext(context.Background(), "SAVEPOINT "+name); err != nil {
		return err
	}
	if err := fn(t); err != nil {
		if _, rerr := t.ExecContext(context.Background(), "ROLLBACK TO "+name); rerr != nil {
			return errors.Join(err, rerr)
		}
		t.ExecContext(context.Background(), "RELEASE "+name)
		return err
	}
	_, err := t.ExecContext(context.Background(), "RELEASE "+name)
	return err
}

// isFatal reports whether err leaves the transaction unusable for the rest
// of the batch (the database itself failing, not a use case's own error).
func isFatal(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, sql.ErrTxDone) || errors.Is(err, sql.ErrConnDone) {
		return true
	}
	return false
}
