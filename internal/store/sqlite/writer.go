package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/agcom/agcom/internal/agcom"
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
// writer anyway). It takes whatever transactions are waiting and commits
// them together (group commit), and nobody hears "done" before the shared
// commit has succeeded.
//
// fn runs exactly once (or never, when its caller has gone or its batch
// was undone before its turn), in the batch's transaction, without a
// savepoint of its own: a failure that changed nothing fails alone, but
// one after a write undoes the whole batch (see runBatch). So a use case
// must do its checks and reads before its first write, so that a refusal
// changes nothing.
func (s *Store) writeTx(ctx context.Context, fn func(*tx) error) error {
	return s.submit(&writeJob{ctx: ctx, fn: fn})
}

// submit hands job to the writer and waits for its outcome.
func (s *Store) submit(job *writeJob) (err error) {
	if s.Observe != nil {
		defer func(start time.Time) { s.Observe("write", time.Since(start), err) }(time.Now())
	}
	ctx := job.ctx
	job.done = make(chan error, 1)
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
		s.versions.committed(touched, s.commitNo) // before anyone hears "done" and reads again
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

// runBatch runs the batch's jobs, each once, in one transaction and
// commits it. It returns an error that fails the whole batch; each job's
// own failure goes into errs.
//
// Jobs run without savepoints: SQLite would first copy every page a job
// changes into the savepoint's journal. A job that fails before it
// changed a row has nothing to undo, and the batch goes on without it. One
// that fails after changing rows cannot be undone alone: the whole batch
// is rolled back, and its other jobs are told to retry.
func (s *Store) runBatch(batch []*writeJob, errs []error, notify, touched *[]string) error {
	sqlTx, err := s.write.BeginTx(context.Background(), nil)
	if err != nil {
		return err
	}
	defer sqlTx.Rollback()
	done := 0
	for i, j := range batch {
		if err := j.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		// Statements run without the caller's cancellation. A cancelled
		// statement would interrupt the shared connection, and SQLite
		// then rolls back the whole batch's transaction, not just this
		// job. The driver would also run each cancellable statement on a
		// goroutine of its own, a hand-off per statement that leaves the
		// writer queuing behind request goroutines for a CPU. A job whose
		// caller has gone is skipped above, before it starts.
		t := &tx{Tx: sqlTx, ctx: context.WithoutCancel(j.ctx), now: s.writeNow(), s: s, stmts: s.writeStmts}
		if errs[i] = j.fn(t); errs[i] != nil {
			if t.changed > 0 || isFatal(errs[i]) {
				// A refusal earlier in the batch may rest on writes now
				// undone: those jobs retry too.
				for k := range i {
					if batch[k].ctx.Err() == nil {
						errs[k] = nil
					}
				}
				return batchUndone()
			}
			continue
		}
		done++
		*notify = append(*notify, t.notify...)
		*touched = append(*touched, t.touched...)
	}
	if done == 0 {
		return nil // nothing to commit
	}
	// Count the commit (see versions): the count before this one, read
	// while this transaction holds the write lock, tells whether another
	// process committed since this writer last did.
	t := &tx{Tx: sqlTx, ctx: context.Background(), s: s, stmts: s.writeStmts}
	if err := t.queryRow(sqlCountCommit).Scan(&s.commitNo); err != nil {
		return err
	}
	return sqlTx.Commit()
}

// sqlCountCommit raises the writer's commit count and returns it.
const sqlCountCommit = `UPDATE writer_commits SET n = n + 1 WHERE id = 1 RETURNING n`

// batchUndone answers the jobs of a batch that was rolled back because
// another of its jobs failed after writing: theirs was not made, and
// trying again will most likely succeed.
func batchUndone() error {
	return &agcom.Error{Code: agcom.EBUSY, Message: "a write committed together with this one failed, so this one was not made; retry"}
}

// isFatal reports whether err may have left the transaction unusable for
// the rest of the batch: the database itself failing, not a use case's own
// error. After some errors (a full disk, an I/O error) SQLite rolls back
// the whole transaction by itself; only a constraint failure is known to
// undo no more than its own statement.
func isFatal(err error) bool {
	if errors.Is(err, sql.ErrTxDone) || errors.Is(err, sql.ErrConnDone) {
		return true
	}
	var se sqlite3.Error
	return errors.As(err, &se) && se.Code != sqlite3.ErrConstraint
}
