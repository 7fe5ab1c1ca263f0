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

// job submits fn as a write job.
func job(s *Store, fn func(*tx) error) func() error {
	return func() error { return s.writeTx(context.Background(), fn) }
}

// insertJob writes one counter row named name, counting its runs. With
// refuse set it fails before writing, with fail set after writing.
func insertJob(name string, runs *atomic.Int32, refuse, fail bool) func(*tx) error {
	return func(t *tx) error {
		runs.Add(1)
		var n int
		if err := t.queryRow(`SELECT count(*) FROM counters WHERE name = ?`, name).Scan(&n); err != nil {
			return err
		}
		if refuse {
			return agcom.Errorf(agcom.EINVALID, "%s refuses before writing", name)
		}
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

// A job that refuses before writing fails alone: the others of its batch
// are committed, and every job runs exactly once.
func TestBatchRefusalFailsAlone(t *testing.T) {
	s := openTestStore(t, filepath.Join(t.TempDir(), "agcom.db"))

	const n = 6
	runs := make([]atomic.Int32, n)
	var jobs []func() error
	for i := range n {
		jobs = append(jobs, job(s, insertJob(fmt.Sprintf("a-job%d", i), &runs[i], i == 3, false)))
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
	for i := range runs {
		if got := runs[i].Load(); got != 1 {
			t.Errorf("job %d ran %d times, want 1", i, got)
		}
	}
}

// A job that fails after writing undoes its whole batch: it gets its own
// error, the others a retryable one (a refusal before it too: it may rest
// on writes now undone), nothing of the batch is committed, and no job
// runs twice (those after the failure do not run at all).
func TestBatchFailureAfterWriteUndoesBatch(t *testing.T) {
	s := openTestStore(t, filepath.Join(t.TempDir(), "agcom.db"))

	const n, refusing, failing = 6, 1, 3
	runs := make([]atomic.Int32, n)
	var jobs []func() error
	for i := range n {
		jobs = append(jobs, job(s, insertJob(fmt.Sprintf("b-job%d", i), &runs[i], i == refusing, i == failing)))
	}
	errs := runOneBatch(t, s, jobs)
	for i, err := range errs {
		want := agcom.EBUSY
		if i == failing {
			want = agcom.EINVALID
		}
		if got := agcom.ErrorCode(err); got != want {
			t.Errorf("job %d: got %v, want %s", i, err, want)
		}
	}
	if got := jobRows(t, s, "b-"); len(got) != 0 {
		t.Errorf("the undone batch left rows %v", got)
	}
	for i := range runs {
		want := int32(1)
		if i > failing {
			want = 0
		}
		if got := runs[i].Load(); got != want {
			t.Errorf("job %d ran %d times, want %d", i, got, want)
		}
	}

	// The writer goes on: the jobs told to retry succeed when they do.
	for i := range n {
		if i == failing {
			continue
		}
		if err := job(s, insertJob(fmt.Sprintf("b-job%d", i), &runs[i], false, false))(); err != nil {
			t.Errorf("retry of job %d: %v", i, err)
		}
	}
	if got, want := jobRows(t, s, "b-"), []string{"b-job0", "b-job1", "b-job2", "b-job4", "b-job5"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("rows after the retries: got %v, want %v", got, want)
	}
}

// Rows a statement changed count whether it ran with exec or as a query
// with RETURNING, and an error of the database itself, changes or not,
// undoes the batch: the transaction may have gone with it.
func TestBatchCountsEveryChange(t *testing.T) {
	s := openTestStore(t, filepath.Join(t.TempDir(), "agcom.db"))
	if _, err := s.write.Exec(`INSERT INTO counters (name, value) VALUES ('c-row', 1)`); err != nil {
		t.Fatal(err)
	}
	var okRuns atomic.Int32
	for _, c := range []struct {
		name string
		fn   func(*tx) error
	}{
		{"delete returning", func(t *tx) error {
			rows, err := t.queryChanges(`DELETE FROM counters WHERE name = 'c-row' RETURNING value`)
			if err != nil {
				return err
			}
			for rows.Next() {
			}
			rows.Close()
			return agcom.Errorf(agcom.EINVALID, "fails after deleting")
		}},
		{"database error", func(t *tx) error {
			_, err := t.exec(`INSERT INTO no_such_table VALUES (1)`)
			return err
		}},
	} {
		errs := runOneBatch(t, s, []func() error{
			job(s, insertJob("c-ok", &okRuns, false, false)),
			job(s, c.fn),
		})
		if agcom.ErrorCode(errs[0]) != agcom.EBUSY || errs[1] == nil || agcom.ErrorCode(errs[1]) == agcom.EBUSY {
			t.Errorf("%s: outcomes %v, want a retry for the first job and its own error for the second", c.name, errs)
		}
		if got, want := jobRows(t, s, "c-"), []string{"c-row"}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: rows %v, want %v", c.name, got, want)
		}
	}
}

// A job alone in its batch gets its own error, whether it failed before
// or after writing, and leaves nothing behind.
func TestLoneJobFails(t *testing.T) {
	s := openTestStore(t, filepath.Join(t.TempDir(), "agcom.db"))
	for _, c := range []struct {
		name          string
		refuse, fails bool
	}{{"d-refuses", true, false}, {"d-fails", false, true}} {
		var runs atomic.Int32
		err := job(s, insertJob(c.name, &runs, c.refuse, c.fails))()
		if agcom.ErrorCode(err) != agcom.EINVALID {
			t.Errorf("%s: got %v, want its own EINVALID", c.name, err)
		}
		if got := runs.Load(); got != 1 {
			t.Errorf("%s ran %d times, want 1", c.name, got)
		}
	}
	if got := jobRows(t, s, "d-"); len(got) != 0 {
		t.Errorf("failed jobs left rows %v", got)
	}
}

// Every use case refuses before it writes: batched with a job that
// succeeds, a refusal leaves that job to be committed.
func TestUseCasesRefuseWithoutWriting(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "agcom.db"), WithLimits(agcom.Limits{MetadataKeys: 1}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	alice, carol := agcom.Caller{Handle: "alice"}, agcom.Caller{Handle: "carol"}
	msg, _, err := agcom.NewService(s).SendMessage(ctx, alice, agcom.NewMessage{ToHandles: []string{"bob"}, Subject: "hi", Body: "hello"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := agcom.NewService(s).CreateAgent(ctx, agcom.Caller{Handle: "admin", IsAdmin: true}, agcom.Agent{Handle: "dave"}, "hash"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := agcom.NewService(s).CreateContact(ctx, alice, agcom.Contact{Handle: "erin"}, nil); err != nil {
		t.Fatal(err)
	}
	one := "1"
	if err := agcom.NewService(s).SetThreadMetadata(ctx, alice, msg.ThreadID, "first", &one); err != nil {
		t.Fatal(err)
	}
	reply := agcom.Reply{Body: "re"}

	for i, c := range []struct {
		name string
		want agcom.Code
		call func() error
	}{
		{"CreateAgent taken", agcom.ECONFLICT, func() error {
			_, err := agcom.NewService(s).CreateAgent(ctx, agcom.Caller{Handle: "admin", IsAdmin: true}, agcom.Agent{Handle: "dave"}, "hash")
			return err
		}},
		{"UpdateAgent missing", agcom.ENOTFOUND, func() error {
			_, err := agcom.NewService(s).UpdateAgent(ctx, agcom.Caller{Handle: "admin", IsAdmin: true}, "nobody", agcom.AgentUpdate{DisplayName: &one})
			return err
		}},
		{"SetAgentSecret missing", agcom.ENOTFOUND, func() error {
			_, err := agcom.NewService(s).SetAgentSecret(ctx, agcom.Caller{Handle: "admin", IsAdmin: true}, "nobody", "hash")
			return err
		}},
		{"RevokeAgentTokens missing", agcom.ENOTFOUND, func() error {
			_, err := agcom.NewService(s).RevokeAgentTokens(ctx, agcom.Caller{Handle: "admin", IsAdmin: true}, "nobody")
			return err
		}},
		{"CreateContact taken", agcom.ECONFLICT, func() error {
			_, _, err := agcom.NewService(s).CreateContact(ctx, alice, agcom.Contact{Handle: "erin"}, nil)
			return err
		}},
		{"UpdateContact old version", agcom.EVERSION, func() error {
			_, err := agcom.NewService(s).UpdateContact(ctx, alice, "erin", agcom.ContactUpdate{ExpectedVersion: 7, IsActive: true})
			return err
		}},
		{"UpdateContact missing", agcom.ENOTFOUND, func() error {
			_, err := agcom.NewService(s).UpdateContact(ctx, alice, "nobody", agcom.ContactUpdate{ExpectedVersion: 1, IsActive: true})
			return err
		}},
		{"DeactivateContact missing", agcom.ENOTFOUND, func() error {
			_, err := agcom.NewService(s).DeactivateContact(ctx, alice, "nobody")
			return err
		}},
		{"MarkRead not a recipient", agcom.ENOTFOUND, func() error {
			_, err := agcom.NewService(s).MarkRead(ctx, carol, msg.ID, true)
			return err
		}},
		{"MarkThreadRead not visible", agcom.ENOTFOUND, func() error {
			_, err := agcom.NewService(s).MarkThreadRead(ctx, carol, msg.ThreadID)
			return err
		}},
		{"SetThreadMetadata not visible", agcom.ENOTFOUND, func() error {
			return agcom.NewService(s).SetThreadMetadata(ctx, carol, msg.ThreadID, "k", &one)
		}},
		{"SetThreadMetadata over the limit", agcom.EINVALID, func() error {
			return agcom.NewService(s).SetThreadMetadata(ctx, alice, msg.ThreadID, "second", &one)
		}},
		{"ReplyToMessage not visible", agcom.ENOTFOUND, func() error {
			_, _, err := agcom.NewService(s).ReplyToMessage(ctx, carol, msg.ID, reply, nil)
			return err
		}},
		{"ReplyToThread not visible", agcom.ENOTFOUND, func() error {
			_, _, err := agcom.NewService(s).ReplyToThread(ctx, carol, msg.ThreadID, reply, nil)
			return err
		}},
		{"Seed refused reply", agcom.ENOTFOUND, func() error {
			return s.Seed(ctx, func(tx agcom.Tx) error {
				_, err := agcom.NewSeeder(tx).Reply(carol, msg.ID, reply)
				return err
			})
		}},
	} {
		var runs atomic.Int32
		errs := runOneBatch(t, s, []func() error{c.call, job(s, insertJob(fmt.Sprintf("e-%d", i), &runs, false, false))})
		if got := agcom.ErrorCode(errs[0]); got != c.want {
			t.Errorf("%s: got %v, want %s", c.name, errs[0], c.want)
		}
		if errs[1] != nil {
			t.Errorf("%s changed rows before refusing: the job after it got %v", c.name, errs[1])
		}
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
