// Package store_test runs one set of store tests on every store: SQLite
// always (also read through the cache, as the API reads it), PostgreSQL
// when AGCOM_TEST_DATABASE_URL names a database
// (scripts/test-services starts a throwaway one; `make test` always does).
// They check, below the HTTP layer, what concurrency can break: cursors
// that never skip an event, creates that happen once per idempotency key,
// counts that stay true, and the exact search semantics.
package store_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/agcom/agcom/internal/agcom"
	"github.com/agcom/agcom/internal/app"
	"github.com/agcom/agcom/internal/config"
	"github.com/agcom/agcom/internal/testdb"
)

// eachStore runs test once per store, each on a new, empty database.
func eachStore(t *testing.T, test func(t *testing.T, s app.Store)) {
	eachStoreWith(t, nil, test)
}

// eachStoreWith is eachStore with the configuration adjusted (when adjust
// is not nil) before each store opens.
func eachStoreWith(t *testing.T, adjust func(*config.Config), test func(t *testing.T, s app.Store)) {
	sqliteConfig := func(t *testing.T) config.Config {
		return config.Config{DBPath: filepath.Join(t.TempDir(), "agcom.db"), DBBusyTimeout: 5 * time.Second}
	}
	stores := []struct {
		name   string
		cfg    func(t *testing.T) config.Config
		cached bool // read through app.WithCache, as the API does
	}{
		{"sqlite", sqliteConfig, false},
		{"sqlite-cached", sqliteConfig, true},
		{"postgres", func(t *testing.T) config.Config {
			return config.Config{DatabaseURL: testdb.NeedPostgres(t)}
		}, false},
	}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			cfg := st.cfg(t)
			if adjust != nil {
				adjust(&cfg)
			}
			s, err := app.OpenStore(t.Context(), cfg)
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("close: %v", err)
				}
			})
			if st.cached {
				if s, err = app.WithCache(s); err != nil {
					t.Fatalf("cache: %v", err)
				}
			}
			test(t, s)
		})
	}
}

func caller(handle string) agcom.Caller { return agcom.Caller{Handle: handle} }

func send(t *testing.T, s app.Store, from string, to []string, subject, body string) agcom.Message {
	t.Helper()
	m, _, err := agcom.NewService(s).SendMessage(context.Background(), caller(from), agcom.NewMessage{ToHandles: to, Subject: subject, Body: body}, nil)
	if err != nil {
		t.Fatalf("send %s→%v: %v", from, to, err)
	}
	return m
}

// A reader that follows its cursor while many writers commit at once sees
// every event exactly once: no cursor is ever handed out below one already
// visible.
func TestEventsNeverSkipUnderConcurrentWriters(t *testing.T) {
	eachStore(t, func(t *testing.T, s app.Store) {
		ctx := context.Background()
		bob := caller("bob")
		start, err := s.Events(ctx, bob, nil, 100)
		if err != nil {
			t.Fatalf("events head: %v", err)
		}
		const writers, each = 8, 25
		var wg sync.WaitGroup
		sent := make(chan string, writers*each)
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					m, _, err := agcom.NewService(s).SendMessage(ctx, caller(fmt.Sprintf("w%d", w)), agcom.NewMessage{
						ToHandles: []string{"bob"}, Subject: "s", Body: fmt.Sprintf("%d-%d", w, i)}, nil)
					if err != nil {
						t.Errorf("send: %v", err)
						return
					}
					sent <- m.ID
				}
			}()
		}
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()

		seen := map[string]int{}
		cursor := start.Next
		read := func() agcom.EventPage {
			page, err := s.Events(ctx, bob, &cursor, 50)
			if err != nil {
				t.Fatalf("events after %d: %v", cursor, err)
			}
			for _, e := range page.Events {
				if e.Cursor <= cursor {
					t.Fatalf("cursor %d after %d", e.Cursor, cursor)
				}
				cursor = e.Cursor
				if e.Type == agcom.EventMessageCreated {
					seen[e.Message.ID]++
				}
			}
			return page
		}
	follow:
		for {
			select {
			case <-done:
				break follow
			default:
				read()
			}
		}
		if err := untilSettled(func() (agcom.EventPage, bool) { return read(), true }); err != nil {
			t.Fatal(err)
		}
		close(sent)
		n := 0
		for id := range sent {
			n++
			if seen[id] != 1 {
				t.Errorf("message %s seen %d times, want 1", id, seen[id])
			}
		}
		if n != writers*each || len(seen) != n {
			t.Errorf("sent %d, saw %d distinct messages; want %d", n, len(seen), writers*each)
		}
	})
}

// Many writers (sends, replies, admins joining threads, read marks) and
// many readers following their cursors at once: afterwards each reader has
// seen its log exactly once, in increasing cursor order, the same as a
// full read from its start, with every message sent to it; each admin has
// seen every message once, also in the threads it joined.
func TestEventLogsExactlyOnceUnderConcurrentWritersAndReaders(t *testing.T) {
	eachStore(t, func(t *testing.T, s app.Store) {
		ctx := context.Background()
		service := agcom.NewService(s)
		recipients := []string{"r0", "r1", "r2", "r3", "r4"}
		admins := []agcom.Caller{{Handle: "root", IsAdmin: true}, {Handle: "ops", IsAdmin: true}}
		readers := slices.Clone(admins)
		for _, h := range recipients {
			readers = append(readers, caller(h))
		}
		starts := make([]int64, len(readers))
		for i, r := range readers {
			page, err := s.Events(ctx, r, nil, 100)
			if err != nil {
				t.Fatal(err)
			}
			starts[i] = page.Next
		}

		var (
			mu       sync.Mutex
			messages []string                // every message written
			sentTo   = map[string][]string{} // by recipient, the messages sent to it
		)
		wrote := func(m agcom.Message, to ...string) {
			mu.Lock()
			defer mu.Unlock()
			messages = append(messages, m.ID)
			for _, h := range to {
				sentTo[h] = append(sentTo[h], m.ID)
			}
		}
		const writers, each = 6, 12
		var writing sync.WaitGroup
		for w := range writers {
			writing.Add(1)
			go func() {
				defer writing.Done()
				me := caller(fmt.Sprintf("w%d", w))
				for i := range each {
					to := []string{recipients[(w+i)%len(recipients)], recipients[(w+2*i+1)%len(recipients)]}
					m, _, err := service.SendMessage(ctx, me, agcom.NewMessage{ToHandles: to, Subject: "s", Body: fmt.Sprintf("%d-%d", w, i)}, nil)
					if err != nil {
						t.Errorf("send: %v", err)
						return
					}
					wrote(m, to...)
					switch i % 3 {
					case 0: // a recipient answers the sender
						r, _, err := service.ReplyToMessage(ctx, caller(to[0]), m.ID, agcom.Reply{Body: "re"}, nil)
						if err != nil {
							t.Errorf("reply: %v", err)
							return
						}
						wrote(r)
					case 1: // an admin joins the thread
						r, _, err := service.ReplyToThread(ctx, admins[i%2], m.ThreadID, agcom.Reply{Body: "joining"}, nil)
						if err != nil {
							t.Errorf("admin reply: %v", err)
							return
						}
						wrote(r)
					case 2:
						if _, err := agcom.NewService(s).MarkRead(ctx, caller(to[0]), m.ID, true); err != nil {
							t.Errorf("mark read: %v", err)
							return
						}
					}
				}
			}()
		}

		// Each reader follows its log in small pages while the writers run,
		// then reads what is left.
		seen := make([][]agcom.Event, len(readers))
		done := make(chan struct{})
		var reading sync.WaitGroup
		for i, r := range readers {
			reading.Add(1)
			go func() {
				defer reading.Done()
				cursor := starts[i]
				read := func() (agcom.EventPage, bool) {
					page, err := s.Events(ctx, r, &cursor, 7)
					if err != nil {
						t.Errorf("%s: events after %d: %v", r.Handle, cursor, err)
						return page, false
					}
					for _, e := range page.Events {
						if e.Cursor <= cursor {
							t.Errorf("%s: cursor %d after %d", r.Handle, e.Cursor, cursor)
							return page, false
						}
						cursor = e.Cursor
					}
					seen[i] = append(seen[i], page.Events...)
					return page, true
				}
				for {
					select {
					case <-done:
						if err := untilSettled(read); err != nil {
							t.Errorf("%s: %v", r.Handle, err)
						}
						return
					default:
						if _, ok := read(); !ok {
							return
						}
						time.Sleep(time.Millisecond)
					}
				}
			}()
		}
		writing.Wait()
		close(done)
		reading.Wait()
		if t.Failed() {
			return
		}

		for i, r := range readers {
			// The whole log from the same start, read at once.
			var full []agcom.Event
			cursor := starts[i]
			err := untilSettled(func() (agcom.EventPage, bool) {
				page, err := s.Events(ctx, r, &cursor, 100)
				if err != nil {
					t.Fatalf("%s: full read: %v", r.Handle, err)
				}
				full = append(full, page.Events...)
				page.Next = max(page.Next, cursor)
				cursor = page.Next
				return page, true
			})
			if err != nil {
				t.Fatalf("%s: full read: %v", r.Handle, err)
			}
			cursors := func(es []agcom.Event) []int64 {
				var out []int64
				for _, e := range es {
					out = append(out, e.Cursor)
				}
				return out
			}
			if got, want := cursors(seen[i]), cursors(full); !slices.Equal(got, want) {
				t.Errorf("%s followed %d events, a full read finds %d:\n got %v\nwant %v", r.Handle, len(got), len(want), got, want)
			}
			created := map[string]int{}
			for _, e := range seen[i] {
				if e.Type == agcom.EventMessageCreated {
					created[e.Message.ID]++
				}
			}
			for id, n := range created {
				if n != 1 {
					t.Errorf("%s saw message %s %d times", r.Handle, id, n)
				}
			}
			want := sentTo[r.Handle]
			if r.IsAdmin {
				want = messages
			}
			for _, id := range want {
				if created[id] != 1 {
					t.Errorf("%s saw message %s %d times, want once", r.Handle, id, created[id])
				}
			}
		}
	})
}

// untilSettled calls read until a page is empty and nothing waits to be
// delivered (a store may hold events back behind transactions still
// running, even other tests'), for at most 10 seconds.
func untilSettled(read func() (agcom.EventPage, bool)) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		page, ok := read()
		switch {
		case !ok:
			return errors.New("read failed")
		case len(page.Events) > 0:
			continue
		case !page.Pending:
			return nil
		case time.Now().After(deadline):
			return errors.New("events still pending after 10 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Concurrent retries of one create with one idempotency key create once,
// and every retry gets the first answer.
func TestIdempotentCreateOnceUnderConcurrency(t *testing.T) {
	eachStore(t, func(t *testing.T, s app.Store) {
		key := &agcom.IdempotencyKey{Handle: "alice", Key: "k1", Fingerprint: "POST /messages #1"}
		ctx := context.Background()
		service := agcom.NewService(s)
		const tries = 10
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			created []string
			replays []string
		)
		for range tries {
			wg.Add(1)
			go func() {
				defer wg.Done()
				m, replayed, err := service.SendMessage(ctx, caller("alice"), agcom.NewMessage{ToHandles: []string{"bob"}, Subject: "once", Body: "b"}, key)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil && !replayed:
					created = append(created, m.ID)
				case err == nil:
					replays = append(replays, m.ID)
				default:
					t.Errorf("send: %v", err)
				}
			}()
		}
		wg.Wait()
		if len(created) != 1 || len(replays) != tries-1 {
			t.Fatalf("created %d, replayed %d; want 1 and %d", len(created), len(replays), tries-1)
		}
		for _, id := range replays {
			if id != created[0] {
				t.Errorf("replay answered message %s, want %s", id, created[0])
			}
		}
		list, err := s.ListMessages(context.Background(), caller("bob"), agcom.MessageFilter{})
		if err != nil || list.Pagination.Total != 1 {
			t.Errorf("bob's messages: total %d (err %v), want 1", list.Pagination.Total, err)
		}
		// The same key for another request is refused and changes nothing.
		other := *key
		other.Fingerprint = "POST /messages #2"
		_, _, err = service.SendMessage(ctx, caller("alice"),
			agcom.NewMessage{ToHandles: []string{"bob"}, Subject: "other", Body: "b"}, &other)
		if agcom.ErrorCode(err) != agcom.EIDEMPOTENCY {
			t.Errorf("reused key: %v, want %s", err, agcom.EIDEMPOTENCY)
		}
		if st, _ := s.Stats(context.Background()); st.Messages != 1 || st.Threads != 1 {
			t.Errorf("stats %+v, want 1 message in 1 thread", st)
		}
	})
}

// Replies racing on one thread each add their participants: none is lost
// from the thread's participant list, and counts match the messages.
func TestConcurrentRepliesKeepParticipantsAndCounts(t *testing.T) {
	eachStore(t, func(t *testing.T, s app.Store) {
		ctx := context.Background()
		first := send(t, s, "alice", []string{"bob"}, "party", "hello")
		// bob replies to alice's message addressed... each new agent is
		// brought in by alice replying to herself with a new recipient set
		// is not possible; instead admins reply, which adds them.
		const n = 12
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				admin := agcom.Caller{Handle: fmt.Sprintf("op%02d", i), IsAdmin: true}
				if _, _, err := agcom.NewService(s).ReplyToThread(ctx, admin, first.ThreadID, agcom.Reply{Body: "joining"}, nil); err != nil {
					t.Errorf("reply: %v", err)
				}
			}()
		}
		wg.Wait()
		th, err := s.GetThread(ctx, caller("alice"), first.ThreadID)
		if err != nil {
			t.Fatalf("get thread: %v", err)
		}
		want := []string{"alice", "bob"}
		for i := range n {
			want = append(want, fmt.Sprintf("op%02d", i))
		}
		slices.Sort(want)
		if !slices.Equal(th.Participants, want) {
			t.Errorf("participants %v, want %v", th.Participants, want)
		}
		msgs, err := s.ListThreadMessages(ctx, caller("bob"), first.ThreadID, agcom.Page{Limit: 100})
		if err != nil || msgs.Pagination.Total != n+1 || len(msgs.Messages) != n+1 {
			t.Errorf("thread messages: total %d, %d listed (err %v), want %d", msgs.Pagination.Total, len(msgs.Messages), err, n+1)
		}
		// Every joiner's mailbox holds the whole thread.
		mine, err := s.ListMessages(ctx, caller("op00"), agcom.MessageFilter{})
		if err != nil || mine.Pagination.Total != n+1 {
			t.Errorf("op00's messages: total %d (err %v), want %d", mine.Pagination.Total, err, n+1)
		}
		if st, _ := s.Stats(ctx); st.Messages != n+1 || st.Threads != 1 {
			t.Errorf("stats %+v, want %d messages in 1 thread", st, n+1)
		}
	})
}

// Of many updates expecting the same contact version, exactly one wins.
func TestContactVersionCheckUnderConcurrency(t *testing.T) {
	eachStore(t, func(t *testing.T, s app.Store) {
		ctx := context.Background()
		if _, _, err := agcom.NewService(s).CreateContact(ctx, caller("alice"), agcom.Contact{Handle: "carol", DisplayName: "Carol"}, nil); err != nil {
			t.Fatalf("create: %v", err)
		}
		const n = 10
		var (
			wg        sync.WaitGroup
			mu        sync.Mutex
			won, lost int
		)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := agcom.NewService(s).UpdateContact(ctx, caller("alice"), "carol", agcom.ContactUpdate{
					DisplayName: fmt.Sprintf("Carol %d", i), IsActive: true, ExpectedVersion: 1})
				mu.Lock()
				defer mu.Unlock()
				switch agcom.ErrorCode(err) {
				case "":
					won++
				case agcom.EVERSION:
					lost++
				default:
					t.Errorf("update: %v", err)
				}
			}()
		}
		wg.Wait()
		c, err := s.GetContact(ctx, "carol")
		if won != 1 || lost != n-1 || err != nil || c.Version != 2 {
			t.Errorf("won %d, lost %d, version %d (err %v); want 1, %d, 2", won, lost, c.Version, err, n-1)
		}
	})
}

// Marking one message read from many requests at once moves the unread
// count once.
func TestMarkReadRaceCountsOnce(t *testing.T) {
	eachStore(t, func(t *testing.T, s app.Store) {
		ctx := context.Background()
		m1 := send(t, s, "alice", []string{"bob"}, "s", "one")
		if _, _, err := agcom.NewService(s).ReplyToMessage(ctx, caller("alice"), m1.ID, agcom.Reply{Body: "two"}, nil); err != nil {
			t.Fatalf("reply: %v", err)
		}
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := agcom.NewService(s).MarkRead(ctx, caller("bob"), m1.ID, true); err != nil {
					t.Errorf("mark read: %v", err)
				}
			}()
		}
		wg.Wait()
		th, err := s.GetThread(ctx, caller("bob"), m1.ThreadID)
		if err != nil || th.UnreadCount != 1 {
			t.Errorf("unread %d (err %v), want 1", th.UnreadCount, err)
		}
		if _, err := agcom.NewService(s).MarkThreadRead(ctx, caller("bob"), m1.ThreadID); err != nil {
			t.Fatalf("mark thread read: %v", err)
		}
		if th, _ := s.GetThread(ctx, caller("bob"), m1.ThreadID); th.UnreadCount != 0 {
			t.Errorf("unread after reading the thread: %d, want 0", th.UnreadCount)
		}
	})
}

// Search is a case-insensitive substring match in which % and _ are
// plain characters, the same on every store.
func TestSearchSemantics(t *testing.T) {
	eachStore(t, func(t *testing.T, s app.Store) {
		ctx := context.Background()
		texts := map[string]string{
			"pct":     "discount 100% today",
			"pctlike": "discount 1000 today", // what 100% would match as a LIKE pattern
			"under":   "file_name.txt",
			"nounder": "filename.txt",
			"accent":  "ÉCOLE normale",
			"greek":   "ΣΊΣΥΦΟΣ rolls",
			"plain":   "nothing to see",
		}
		ids := map[string]string{}
		for name, body := range texts {
			ids[send(t, s, "alice", []string{"bob"}, "subject "+name, body).ID] = name
		}
		for _, tc := range []struct {
			query string
			want  []string
		}{
			{"100%", []string{"pct"}},
			{"e_n", []string{"under"}},
			{"école", []string{"accent"}},
			{"σίσυφος", []string{"greek"}},
			{"ROLLS", []string{"greek"}},
			{"%", []string{"pct"}},
			{"_", []string{"under"}},
			{"no match here", nil},
		} {
			for _, who := range []agcom.Caller{caller("bob"), {Handle: "root", IsAdmin: true}} {
				got, err := s.SearchMessages(ctx, who, agcom.MessageSearch{Query: tc.query, InBody: true, InSubject: true, Limit: 50})
				if err != nil {
					t.Fatalf("search %q: %v", tc.query, err)
				}
				var names []string
				for _, m := range got.Messages {
					names = append(names, ids[m.ID])
				}
				if got.Truncated {
					t.Errorf("search %q as %s: truncated, with the default scan limit", tc.query, who.Handle)
				}
				slices.Sort(names)
				if !slices.Equal(names, tc.want) {
					t.Errorf("search %q as %s: %v, want %v", tc.query, who.Handle, names, tc.want)
				}
			}
		}
		// Others see none of it.
		if got, _ := s.SearchMessages(ctx, caller("eve"), agcom.MessageSearch{Query: "discount", InBody: true, Limit: 50}); len(got.Messages) != 0 {
			t.Errorf("eve found %d messages, want 0", len(got.Messages))
		}
	})
}

// Admin list totals come from maintained counters, not from counting whole
// tables; they must equal what the lists hold, after concurrent archiving
// and unarchiving of the same threads, and after archiving that changes
// nothing.
func TestAdminTotalsMatchTheLists(t *testing.T) {
	eachStore(t, func(t *testing.T, s app.Store) {
		ctx := context.Background()
		admin := agcom.Caller{Handle: "root", IsAdmin: true}
		var threads []string
		for i := range 6 {
			threads = append(threads, send(t, s, "alice", []string{"bob"}, fmt.Sprintf("t%d", i), "x").ThreadID)
		}
		setArchived := func(id string, archived bool) {
			v := fmt.Sprint(archived)
			if err := agcom.NewService(s).SetThreadMetadata(ctx, caller("alice"), id, agcom.MetadataArchived, &v); err != nil {
				t.Errorf("archive %s = %v: %v", id, archived, err)
			}
		}
		// wantArchived < 0: any number, as long as the totals are right.
		checkThreads := func(step string, wantArchived int) {
			t.Helper()
			for _, f := range []struct {
				name     string
				archived *bool
				want     int
			}{
				{"all", nil, len(threads)}, {"archived", ptr(true), wantArchived}, {"not archived", ptr(false), len(threads) - wantArchived},
			} {
				if wantArchived < 0 && f.archived != nil {
					f.want = -1 // unknown: only the total is checked
				}
				list, err := s.ListThreads(ctx, admin, agcom.ThreadFilter{Archived: f.archived, Page: agcom.Page{Limit: 100}})
				if err != nil {
					t.Fatalf("%s: list %s: %v", step, f.name, err)
				}
				if list.Pagination.Total != len(list.Threads) || (f.want >= 0 && len(list.Threads) != f.want) {
					t.Errorf("%s: %s threads: total %d, listed %d, want %d", step, f.name, list.Pagination.Total, len(list.Threads), f.want)
				}
			}
		}

		var wg sync.WaitGroup
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i, id := range threads {
					setArchived(id, (i+w)%2 == 0)
				}
			}()
		}
		wg.Wait()
		checkThreads("after concurrent toggles", -1)

		for _, id := range threads {
			setArchived(id, false)
		}
		checkThreads("all unarchived", 0)
		for range 2 {
			for _, id := range threads[:4] {
				setArchived(id, true)
			}
		}
		checkThreads("four archived twice", 4)
		setArchived(threads[0], false)
		checkThreads("one unarchived", 3)

		// Every audit event, paged through, against the unfiltered total.
		var listed, total int
		for offset := 0; ; offset += agcom.MaxLimit {
			page, err := s.ListAuditEvents(ctx, admin, agcom.AuditFilter{Page: agcom.Page{Limit: agcom.MaxLimit, Offset: offset}})
			if err != nil {
				t.Fatalf("audit page at %d: %v", offset, err)
			}
			listed += len(page.Events)
			total = page.Pagination.Total
			if len(page.Events) == 0 {
				break
			}
		}
		if want := 6 + 8*6 + 6 + 8 + 1; listed < want || total != listed {
			t.Errorf("audit events: total %d, listed %d, want at least %d and equal", total, listed, want)
		}
	})
}

func ptr[T any](v T) *T { return &v }
