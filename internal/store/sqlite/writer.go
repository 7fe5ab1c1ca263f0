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

// errRerun stops a batch run without savepoints when one of its jobs
// failed: the batch is rolled back and run again with savepoints.
var errRerun = errors.New("store: a job failed; run the batch again with savepoints")

// writeJob is one use case's write transaction, waiting for the writer.
type writeJob struct {
	ctx  context.Context
	fn   func(*tx) error
	done chan error
	// once marks a job whose fn keeps state of its own between calls and
	// so must not run twice; a batch holding one uses savepoints at once.
	once bool
}

// writeTx runs fn as one write transaction: all of it is committed before
// writeTx returns nil, or none of it is.
//
// Every write goes through a single writer goroutine (SQLite has one
// writer anyway). It takes whatever transactions are waiting and commits
// them together (group commit): a failing use case fails alone, and nobody
// hears "done" before the shared commit has succeeded.
//
// fn may run more than once, each time on a fresh transaction, when
// another job of its batch fails (see runBatch). It must only write and set
// its results, never accumulate across calls.
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

// runBatch returns an error that fails the whole batch; each job's own
// failure goes into errs.
//
// Savepoints let one job of a batch fail alone, but they cost: SQLite
// first copies every page a job changes into the savepoint's journal. So
// while jobs succeed, a batch runs without them, and when one fails the
// batch is rolled back and run again with a savepoint per job. After a
// batch with a failing job, the next starts with savepoints: failures
// tend to come together, and running twice would then be the rule. A job
// alone in its batch needs none: its failure rolls back only itself.
func (s *Store) runBatch(batch []*writeJob, errs []error, notify, touched *[]string) error {
	if len(batch) == 1 {
		return s.runJobs(batch, errs, notify, touched, false)
	}
	if !s.jobsFailing && !holdsOnce(batch) {
		err := s.runJobs(batch, errs, notify, touched, false)
		if !errors.Is(err, errRerun) {
			s.jobsFailing = failed(batch, errs)
			return err
		}
		clear(errs)
		*notify, *touched = (*notify)[:0], (*touched)[:0]
	}
	err := s.runJobs(batch, errs, notify, touched, true)
	s.jobsFailing = failed(batch, errs)
	return err
}

// runJobs runs the batch in one transaction. With savepoints, a failing
// job rolls back to its own savepoint. Without, a failing job rolls back
// everything: alone in its batch it simply fails, and in a batch of more
// it makes runJobs return errRerun.
func (s *Store) runJobs(batch []*writeJob, errs []error, notify, touched *[]string, savepoints bool) error {
	sqlTx, err := s.write.BeginTx(context.Background(), nil)
	if err != nil {
		return err
	}
	defer sqlTx.Rollback()
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
		fn := func(t *tx) error {
			if err := j.fn(t); err != nil {
				return err
			}
			return t.saveIdempotency()
		}
		switch {
		case savepoints:
			errs[i] = runInSavepoint(t, i, fn)
			if isFatal(errs[i]) {
				return errs[i]
			}
		case len(batch) == 1:
			if errs[i] = fn(t); errs[i] != nil {
				return nil // nothing else to commit
			}
		default:
			if err := fn(t); err != nil {
				return errRerun
			}
		}
		if errs[i] == nil {
			*notify = append(*notify, t.notify...)
			*touched = append(*touched, t.touched...)
		}
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

// holdsOnce reports whether a job of the batch must not run twice.
func holdsOnce(batch []*writeJob) bool {
	for _, j := range batch {
		if j.once {
			return true
		}
	}
	return false
}

// failed reports whether a job of the batch failed by itself (not because
// its caller had gone before it started).
func failed(batch []*writeJob, errs []error) bool {
	for i, err := range errs {
		if err != nil && batch[i].ctx.Err() == nil {
			return true
		}
	}
	return false
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
