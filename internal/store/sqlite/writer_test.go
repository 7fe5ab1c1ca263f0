package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agcom/agcom/internal/agcom"
)

// runOneBatch starts the calls, in order, while the writer is held, so
// that the jobs they submit share the next batch, and returns each call's
// outcome.
func runOneBatch(t *testing.T, s *Store, calls []func() error) []error {
	t.Helper()
	started, release := make(chan struct{}), make(chan struct{})
	var releaseOnce sync.Once
	releaseWriter := func() { releaseOnce.Do(func() { close(release) }) }
	defer releaseWriter() // also when a check below stops the test
	held := make(chan error, 1)
	go func() {
		held <- s.writeTx(context.Background(), func(*tx) error {
			close(started)
			<-release
			return nil
		})
	}()
	<-started

	errs := make([]error, len(calls))
	var wg sync.WaitGroup
	for i, call := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = call()
		}()
		// One at a time, so that the batch runs them in this order.
		for deadline := time.Now().Add(10 * time.Second); len(s.jobs) <= i; {
			if time.Now().After(deadline) {
				t.Fatalf("only %d of %d jobs queued", len(s.jobs), len(calls))
			}
			time.Sleep(100 * time.Microsecond)
		}
	}
	releaseWriter()
	wg.Wait()
	if err := <-held; err != nil {
		t.Fatalf("holding job: %v", err)
	}
	return errs
}

// job submits fn as a write job; once marks a job that must not run twice.
func job(s *Store, fn func(*tx) error, once bool) func() error {
	return func() error { return s.submit(&writeJob{ctx: context.Background(), fn: fn, once: once}) }
}

// insertJob writes one counter row named name, counting its runs; with
// fail set it writes and then fails.
func insertJob(name string, runs *atomic.Int32, fail bool) func(*tx) error {
	return func(t *tx) error {
		runs.Add(1)
		if _, err := t.exec(`INSERT INTO counters (name, value) VALUES (?, 1)`, name); err != nil {
			return err
		}
		if fail {
			return agcom.Errorf(agcom.EINVALID, "%s fails after writing", name)
		}
		return nil
	}
}

func jobRows(t *testing.T, s *Store, prefix string) []string {
	t.Helper()
	rows, err := s.write.Query(`SELECT name FROM counters WHERE name LIKE ? || '%'`, prefix)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// A failing job in a batch fails alone: the others are committed, once
// each, and the failing one leaves nothing behind. The batch runs without
// savepoints first, again with them after the failure, and the batch after
// a failure starts with them.
func TestBatchJobFailsAlone(t *testing.T) {
	s := openTestStore(t, filepath.Join(t.TempDir(), "agcom.db"))

	const n = 6
	runs := make([]atomic.Int32, n)
	var jobs []func() error
	for i := range n {
		jobs = append(jobs, job(s, insertJob(fmt.Sprintf("a-job%d", i), &runs[i], i == 3), false))
	}
	errs := runOneBatch(t, s, jobs)
	for i, err := range errs {
		if i == 3 {
			if agcom.ErrorCode(err) != agcom.EINVALID {
				t.Errorf("job 3: got %v, want its own EINVALID", err)
			}
			continue
		}
		if err != nil {
			t.Errorf("job %d: %v", i, err)
		}
	}
	want := []string{"a-job0", "a-job1", "a-job2", "a-job4", "a-job5"}
	if got := jobRows(t, s, "a-"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("rows: got %v, want %v", got, want)
	}
	// Jobs before the failure ran twice (without, then with savepoints),
	// the failing one twice, the ones after it once.
	for i, want := range []int32{2, 2, 2, 2, 1, 1} {
		if got := runs[i].Load(); got != want {
			t.Errorf("job %d ran %d times, want %d", i, got, want)
		}
	}

	// The next batch starts with savepoints: every job runs once, its
	// failing last one too.
	runs = make([]atomic.Int32, n)
	jobs = jobs[:0]
	for i := range n {
		jobs = append(jobs, job(s, insertJob(fmt.Sprintf("b-job%d", i), &runs[i], i == n-1), false))
	}
	for i, err := range runOneBatch(t, s, jobs) {
		if (err != nil) != (i == n-1) {
			t.Errorf("b job %d: %v", i, err)
		}
		if got := runs[i].Load(); got != 1 {
			t.Errorf("b job %d ran %d times, want 1", i, got)
		}
	}
	if got := jobRows(t, s, "b-"); len(got) != n-1 {
		t.Errorf("b rows: got %v, want %d", got, n-1)
	}
	if !s.jobsFailing {
		t.Error("a batch with a failure left the writer expecting none")
	}

	// A batch without failures runs once each, and the writer goes back
	// to batches without savepoints.
	runs = make([]atomic.Int32, n)
	jobs = jobs[:0]
	for i := range n {
		jobs = append(jobs, job(s, insertJob(fmt.Sprintf("c-job%d", i), &runs[i], false), false))
	}
	for i, err := range runOneBatch(t, s, jobs) {
		if err != nil {
			t.Errorf("c job %d: %v", i, err)
		}
		if got := runs[i].Load(); got != 1 {
			t.Errorf("c job %d ran %d times, want 1", i, got)
		}
	}
	if s.jobsFailing {
		t.Error("a batch without failures left the writer expecting failures")
	}
}

// A job that must not run twice (a seeding function keeping its own
// state) runs once even when another job of its batch fails.
func TestBatchOnceJobRunsOnce(t *testing.T) {
	s := openTestStore(t, filepath.Join(t.TempDir(), "agcom.db"))
	var onceRuns, okRuns, failRuns atomic.Int32
	errs := runOneBatch(t, s, []func() error{
		job(s, insertJob("o-ok", &okRuns, false), false),
		job(s, insertJob("o-once", &onceRuns, false), true),
		job(s, insertJob("o-fail", &failRuns, true), false),
	})
	if errs[0] != nil || errs[1] != nil || agcom.ErrorCode(errs[2]) != agcom.EINVALID {
		t.Fatalf("outcomes: %v", errs)
	}
	if got := onceRuns.Load(); got != 1 {
		t.Errorf("the once job ran %d times", got)
	}
	if got := okRuns.Load(); got != 1 {
		t.Errorf("a batch holding a once job ran again: the ok job ran %d times", got)
	}
	if got, want := jobRows(t, s, "o-"), []string{"o-ok", "o-once"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("rows: got %v, want %v", got, want)
	}
}

// Use cases run again when their batch does, and answer only what the
// run that was committed did: a broadcast before a failing job reports
// one message per recipient, not one per run.
func TestBatchRunAgainAnswersOnce(t *testing.T) {
	s := openTestStore(t, filepath.Join(t.TempDir(), "agcom.db"))
	alice := agcom.Caller{Handle: "alice"}
	var sent []agcom.Message
	var failRuns atomic.Int32
	errs := runOneBatch(t, s, []func() error{
		func() (err error) {
			sent, _, err = agcom.NewService(s).Broadcast(context.Background(), alice, agcom.NewMessage{
				ToHandles: []string{"bob", "carol"}, Subject: "hello", Body: "to both",
			}, nil)
			return err
		},
		job(s, insertJob("r-fail", &failRuns, true), false),
	})
	if errs[0] != nil || agcom.ErrorCode(errs[1]) != agcom.EINVALID {
		t.Fatalf("outcomes: %v", errs)
	}
	if failRuns.Load() != 2 {
		t.Fatalf("the batch did not run again (the failing job ran %d times)", failRuns.Load())
	}
	if len(sent) != 2 || sent[0].ToHandles[0] != "bob" || sent[1].ToHandles[0] != "carol" {
		t.Fatalf("broadcast answered %+v, want one message to bob and one to carol", sent)
	}
	for _, m := range sent {
		got, err := s.GetMessage(context.Background(), alice, m.ID)
		if err != nil || got.ThreadID != m.ThreadID {
			t.Errorf("message %s as answered: %v, %+v", m.ID, err, got)
		}
	}
	var threads int
	if err := s.write.QueryRow(`SELECT count(*) FROM threads`).Scan(&threads); err != nil || threads != 2 {
		t.Errorf("threads stored: %d (%v), want 2", threads, err)
	}
}

// A job whose caller goes away while it runs still runs to its end and
// is committed: its statements never see the caller's cancellation, which
// would interrupt the shared connection (and with it the whole batch).
func TestJobOutlivesItsCaller(t *testing.T) {
	s := openTestStore(t, filepath.Join(t.TempDir(), "agcom.db"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	err := s.writeTx(ctx, func(t *tx) error {
		if _, err := t.exec(`INSERT INTO counters (name, value) VALUES ('d-before', 1)`); err != nil {
			return err
		}
		cancel()
		_, err := t.exec(`INSERT INTO counters (name, value) VALUES ('d-after', 1)`)
		return err
	})
	if err != nil {
		t.Fatalf("a started job failed when its caller went away: %v", err)
	}
	if got, want := jobRows(t, s, "d-"), []string{"d-after", "d-before"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("rows: got %v, want %v", got, want)
	}
	// A job whose caller has gone before it starts does not run.
	err = s.writeTx(ctx, func(t *tx) error {
		_, err := t.exec(`INSERT INTO counters (name, value) VALUES ('d-late', 1)`)
		return err
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("late job: got %v, want context.Canceled", err)
	}
	if got := jobRows(t, s, "d-late"); len(got) != 0 {
		t.Errorf("late job wrote %v", got)
	}
}
