package tests

// A multi-node test: two real agcomd processes on one PostgreSQL database
// and one Redis, as two replicas behind a load balancer would run. What one
// node writes, the other lists; an event committed through one node wakes
// the streams, long-polls and MCP inbox subscriptions of the other;
// cursors are good on either node; the write limit is one budget across
// both; and killing a node loses nothing it acknowledged.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agcom/agcom/gen/agcomv1"
	"github.com/agcom/agcom/internal/auth"
	"github.com/agcom/agcom/internal/testdb"
)

// mnWriteLimit is the nodes' RATE_LIMIT_WRITE_PER_MINUTE; the other limits
// are far above what the test sends.
const (
	mnWriteLimit = 6
	mnOtherLimit = 100000
)

// mnSpawn starts the real binary as one node on databaseURL and redisURL,
// with rate limits on and counted in Redis only (fail closed, so that a
// node never silently counts on its own). It does not wait for readiness.
func mnSpawn(t *testing.T, databaseURL, redisURL string) *hardProc {
	t.Helper()
	return hardSpawnAgcomd(t, t.TempDir(), // no .env there, and no SQLite file to fall back on
		"DATABASE_URL="+databaseURL,
		"REDIS_URL="+redisURL,
		"RATE_LIMIT_ENABLED=true",
		"RATE_LIMIT_FAIL_OPEN=false",
		"RATE_LIMIT_WRITE_PER_MINUTE="+strconv.Itoa(mnWriteLimit),
		"RATE_LIMIT_READ_PER_MINUTE="+strconv.Itoa(mnOtherLimit),
		"RATE_LIMIT_SEARCH_PER_MINUTE="+strconv.Itoa(mnOtherLimit),
		"RATE_LIMIT_AUDIT_PER_MINUTE="+strconv.Itoa(mnOtherLimit),
		"RATE_LIMIT_AUTH_PER_MINUTE="+strconv.Itoa(mnOtherLimit),
		"SHUTDOWN_TIMEOUT_SECONDS=5")
}

// mnEnv lets the env helpers (do, the ev* event helpers, clientWithToken)
// drive a node from test t. It has no App: tokens come from mnTokens.
func mnEnv(t *testing.T, p *hardProc) *env {
	return &env{t: t, URL: p.url}
}

// mnTokens mints tokens with the nodes' SECRET_KEY.
type mnTokens struct {
	t    *testing.T
	keys *auth.Keys
}

// of returns a token for handle.
func (m mnTokens) of(handle string) string {
	m.t.Helper()
	tok, err := m.keys.Mint(handle, "", time.Hour, time.Now())
	if err != nil {
		m.t.Fatalf("mint token for %s: %v", handle, err)
	}
	return tok
}

// mnSuffix makes handles no earlier run used: the write counters in Redis
// are per handle, and Redis outlives the test.
func mnSuffix(t *testing.T) string {
	t.Helper()
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}

// mnSend sends a message on node e as token and returns it as stored.
func mnSend(t *testing.T, e *env, token string, to []string, subject, body string) agcomv1.Message {
	t.Helper()
	resp, err := e.clientWithToken(token).SendMessageWithResponse(context.Background(), nil,
		agcomv1.SendMessageRequest{ToHandles: to, Subject: subject, Body: body})
	if err != nil {
		t.Fatalf("send on %s: %v", e.URL, err)
	}
	if resp.JSON201 == nil {
		t.Fatalf("send on %s: status %d, body %s", e.URL, resp.StatusCode(), resp.Body)
	}
	return *resp.JSON201
}

// mnSameJSON fails unless got and want encode to the same JSON.
func mnSameJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	if g, w := evJSON(t, got), evJSON(t, want); !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %v\nwant %v", what, g, w)
	}
}

// mnEventMessageIDs returns the message ids of message.created events, in
// order, failing on any other type.
func mnEventMessageIDs(t *testing.T, evs []agcomv1.Event) []string {
	t.Helper()
	ids := make([]string, 0, len(evs))
	for _, ev := range evs {
		if ev.Type != "message.created" {
			t.Fatalf("event %s is %s, want only message.created", ev.Cursor, ev.Type)
		}
		var m agcomv1.Message
		evData(t, ev, "message", &m)
		ids = append(ids, m.MessageId)
	}
	return ids
}

// mnLongPoll starts GET /events?wait=…&after=after on e as token and
// returns where its answer will arrive.
func mnLongPoll(e *env, token, after string, wait int) <-chan mnPollResult {
	done := make(chan mnPollResult, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(wait+5)*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet,
			fmt.Sprintf("%s/api/v1/events?wait=%d&after=%s", e.URL, wait, after), nil)
		if err != nil {
			done <- mnPollResult{err: err}
			return
		}
		req.Header.Set("Authorization", "Bearer "+token)
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- mnPollResult{err: err}
			return
		}
		defer r.Body.Close()
		body, err := io.ReadAll(r.Body)
		done <- mnPollResult{resp: r, body: body, err: err}
	}()
	return done
}

// mnPollResult is the answer to a long-poll.
type mnPollResult struct {
	resp *http.Response
	body []byte
	err  error
}

func TestMultiNode(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the real binary and runs two of it")
	}
	redisURL := testdb.NeedRedis(t)
	redisTestClient(t, redisURL) // fail here, not in the nodes, when Redis is down
	databaseURL := testdb.NeedPostgres(t)

	// Both nodes start together on an empty schema: they take turns
	// migrating it.
	a, b := mnSpawn(t, databaseURL, redisURL), mnSpawn(t, databaseURL, redisURL)
	a.hardWaitReady(t, "node a")
	b.hardWaitReady(t, "node b")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("node a log:\n%s\nnode b log:\n%s", a.logs.String(), b.logs.String())
		}
	})
	keys, err := auth.NewKeys(testSecretKey)
	if err != nil {
		t.Fatal(err)
	}
	suffix := mnSuffix(t)
	handle := func(name string) string { return name + "-" + suffix }

	t.Run("lists", func(t *testing.T) {
		ea, eb := mnEnv(t, a), mnEnv(t, b)
		tok := mnTokens{t, keys}
		alice, bob := handle("alice"), handle("bob")
		ta, tb := tok.of(alice), tok.of(bob)
		ctx := context.Background()

		msg := mnSend(t, ea, ta, []string{bob}, "Across nodes", "sent through node a")
		cb := eb.clientWithToken(tb)

		threads, err := cb.ListThreadsWithResponse(ctx, &agcomv1.ListThreadsParams{})
		if err != nil || threads.JSON200 == nil {
			t.Fatalf("GET /threads on b: %v %v", err, threads.Status())
		}
		if got := threads.JSON200.Threads; len(got) != 1 || threads.JSON200.Pagination.Total != 1 {
			t.Fatalf("bob's threads on b: %d (total %d), want the one thread %s", len(got), threads.JSON200.Pagination.Total, msg.ThreadId)
		}
		th := threads.JSON200.Threads[0]
		wantParticipants := []string{alice, bob}
		slices.Sort(wantParticipants)
		if th.ThreadId != msg.ThreadId || th.Subject != msg.Subject || !slices.Equal(th.ParticipantHandles, wantParticipants) || th.UnreadCount != 1 {
			t.Errorf("bob's thread on b = %+v, want id %s, subject %q, participants %v, 1 unread",
				th, msg.ThreadId, msg.Subject, wantParticipants)
		}

		msgs, err := cb.ListMessagesWithResponse(ctx, &agcomv1.ListMessagesParams{})
		if err != nil || msgs.JSON200 == nil {
			t.Fatalf("GET /messages on b: %v %v", err, msgs.Status())
		}
		mnSameJSON(t, "bob's messages on b", msgs.JSON200.Messages, []agcomv1.Message{msg})

		tm, err := cb.ListThreadMessagesWithResponse(ctx, msg.ThreadId, &agcomv1.ListThreadMessagesParams{})
		if err != nil || tm.JSON200 == nil {
			t.Fatalf("GET /threads/%s/messages on b: %v %v", msg.ThreadId, err, tm.Status())
		}
		mnSameJSON(t, "the thread's messages on b", tm.JSON200.Messages, []agcomv1.Message{msg})

		inbox, err := cb.ListInboxWithResponse(ctx, &agcomv1.ListInboxParams{})
		if err != nil || inbox.JSON200 == nil {
			t.Fatalf("GET /inbox on b: %v %v", err, inbox.Status())
		}
		if got := inbox.JSON200.Messages; len(got) != 1 || got[0].MessageId != msg.MessageId || got[0].Body != msg.Body || got[0].ReadAt != nil {
			t.Errorf("bob's inbox on b = %+v, want only message %s, unread", got, msg.MessageId)
		}

		got, err := eb.clientWithToken(ta).GetMessageWithResponse(ctx, msg.MessageId)
		if err != nil || got.JSON200 == nil {
			t.Fatalf("GET /messages/%s on b as the sender: %v %v", msg.MessageId, err, got.Status())
		}
		mnSameJSON(t, "the message read back on b", *got.JSON200, msg)

		// And the other way: bob answers on b, alice reads the thread on a.
		reply, err := cb.ReplyToThreadWithResponse(ctx, msg.ThreadId, nil, agcomv1.ReplyRequest{Body: "answered through node b"})
		if err != nil || reply.JSON201 == nil {
			t.Fatalf("reply on b: %v %v", err, reply.Status())
		}
		tm, err = ea.clientWithToken(ta).ListThreadMessagesWithResponse(ctx, msg.ThreadId, &agcomv1.ListThreadMessagesParams{})
		if err != nil || tm.JSON200 == nil {
			t.Fatalf("GET /threads/%s/messages on a: %v %v", msg.ThreadId, err, tm.Status())
		}
		mnSameJSON(t, "the thread's messages on a", tm.JSON200.Messages, []agcomv1.Message{msg, *reply.JSON201})
	})

	t.Run("events", func(t *testing.T) {
		ea, eb := mnEnv(t, a), mnEnv(t, b)
		tok := mnTokens{t, keys}
		carol, dave := handle("carol"), handle("dave")
		tc, td := tok.of(carol), tok.of(dave)

		// Dave streams on b; carol writes on a.
		start := evHead(t, eb, td)
		s := evOpen(t, eb, td, start, "")
		s.none(200*time.Millisecond, "dave has no events yet")
		sentAt := time.Now()
		m1 := mnSend(t, ea, tc, []string{dave}, "Stream", "sent on a, streamed on b")
		e1 := s.must("message.created on b for a message sent on a")
		if d := time.Since(sentAt); d > 2*time.Second {
			t.Errorf("the event reached b's stream %s after the send on a, want well under 2 s", d)
		}
		evWantMessage(t, e1, m1)

		// A long-poll on b, woken by a send on a.
		poll := mnLongPoll(eb, td, e1.Cursor, 10)
		time.Sleep(300 * time.Millisecond) // the poll is waiting now
		select {
		case r := <-poll:
			t.Fatalf("long-poll on b returned before anything happened: %v %s", r.err, r.body)
		default:
		}
		sentAt = time.Now()
		m2 := mnSend(t, ea, tc, []string{dave}, "Poll", "sent on a, polled on b")
		var r mnPollResult
		select {
		case r = <-poll:
		case <-time.After(evQuick):
			t.Fatalf("long-poll on b did not return within %s of the send on a", evQuick)
		}
		if r.err != nil {
			t.Fatalf("long-poll on b: %v", r.err)
		}
		if d := time.Since(sentAt); d > 2*time.Second {
			t.Errorf("long-poll on b returned %s after the send on a, want well under the 10 s wait", d)
		}
		p := evDecodePage(t, r.resp, r.body)
		if len(p.Events) != 1 {
			t.Fatalf("long-poll on b: %d events, want the message sent on a: %s", len(p.Events), r.body)
		}
		evWantMessage(t, p.Events[0], m2)
		evCheckOrder(t, e1.Cursor, p)
		e2 := s.must("the second message on b's stream")
		evWantMessage(t, e2, m2)
		if e2.Cursor != p.Events[0].Cursor {
			t.Errorf("stream and long-poll on b disagree on the cursor of %s: %s and %s", m2.MessageId, e2.Cursor, p.Events[0].Cursor)
		}
		s.close()

		// Dave is away; messages come through both nodes. He resumes on a
		// with the cursor b gave him.
		m3 := mnSend(t, ea, tc, []string{dave}, "Away 1", "sent on a")
		m4 := mnSend(t, eb, tc, []string{dave}, "Away 2", "sent on b")
		s2 := evOpen(t, ea, td, "", e2.Cursor)
		g3 := s2.must("the first missed message, on a")
		evWantMessage(t, g3, m3)
		g4 := s2.must("the second missed message, on a")
		evWantMessage(t, g4, m4)
		s2.none(300*time.Millisecond, "both missed messages were delivered")
		m5 := mnSend(t, eb, tc, []string{dave}, "Live", "sent on b, streamed on a")
		g5 := s2.must("message.created on a for a message sent on b")
		evWantMessage(t, g5, m5)
		s2.none(300*time.Millisecond, "everything was delivered once")

		// The cursor from b pages the same events on a.
		q := evAfter(t, ea, td, e2.Cursor)
		evCheckOrder(t, e2.Cursor, q)
		mnSameJSON(t, "events after b's cursor, read on a", q.Events, []agcomv1.Event{g3, g4, g5})

		// Dave's whole log, read on b, is what his two streams delivered:
		// nothing lost, nothing twice.
		all := evAfter(t, eb, td, start)
		evCheckOrder(t, start, all)
		want := []string{m1.MessageId, m2.MessageId, m3.MessageId, m4.MessageId, m5.MessageId}
		if got := mnEventMessageIDs(t, all.Events); !slices.Equal(got, want) {
			t.Errorf("dave's events on b: %v\nwant exactly %v", got, want)
		}
		mnSameJSON(t, "the streams' events and the log on b", []agcomv1.Event{e1, e2, g3, g4, g5}, all.Events)
	})

	t.Run("mcp", func(t *testing.T) {
		// Frank's MCP session is on b, subscribed to his inbox and waiting
		// for events; erin sends through a's /mcp.
		tok := mnTokens{t, keys}
		erin, frank := handle("erin"), handle("frank")
		onA, err := mcpConnectVia(t, a.url, mcpAuth{token: tok.of(erin), base: http.DefaultTransport})
		if err != nil {
			t.Fatal(err)
		}
		onB, err := mcpConnectVia(t, b.url, mcpAuth{token: tok.of(frank), base: http.DefaultTransport})
		if err != nil {
			t.Fatal(err)
		}
		var head agcomv1.EventPage
		onB.ok("wait_for_events", map[string]any{"wait": 0}, &head)
		if err := onB.cs.Subscribe(t.Context(), &mcp.SubscribeParams{URI: "agcom://inbox"}); err != nil {
			t.Fatal(err)
		}
		waited := make(chan agcomv1.EventPage, 1)
		go func() {
			var page agcomv1.EventPage
			res, err := onB.cs.CallTool(context.Background(), &mcp.CallToolParams{
				Name: "wait_for_events", Arguments: map[string]any{"after": head.NextCursor, "wait": 20},
			})
			if err == nil && !res.IsError {
				b, _ := json.Marshal(res.StructuredContent)
				json.Unmarshal(b, &page)
			}
			waited <- page
		}()
		time.Sleep(200 * time.Millisecond)
		var sent agcomv1.Message
		onA.ok("send_message", map[string]any{"to_handles": []string{frank}, "subject": "Across nodes", "body": "through a's /mcp"}, &sent)
		if !onB.waitNotified(10 * time.Second) {
			t.Error("frank's subscription on b was not told of the message sent on a")
		}
		select {
		case page := <-waited:
			if len(page.Events) != 1 || page.Events[0].ThreadId != sent.ThreadId {
				t.Errorf("frank's wait_for_events on b = %+v, want the message of thread %s", page, sent.ThreadId)
			}
		case <-time.After(15 * time.Second):
			t.Error("frank's wait_for_events on b did not return")
		}
	})

	t.Run("shared write limit", func(t *testing.T) {
		ea, eb := mnEnv(t, a), mnEnv(t, b)
		tok := mnTokens{t, keys}
		eve := handle("eve")
		te := tok.of(eve)
		to := handle("frank")

		// The budget is spent across the two nodes: every answer's
		// X-RateLimit-Remaining counts the other node's writes too.
		for i := 1; i <= mnWriteLimit; i++ {
			e, name := ea, "a"
			if i%2 == 0 {
				e, name = eb, "b"
			}
			resp, body := e.do("POST", "/api/v1/messages", te, hardSendBody(to, "limited", fmt.Sprintf("write %d", i)))
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("write %d on %s: status %d, want 201; body %s", i, name, resp.StatusCode, body)
			}
			what := fmt.Sprintf("write %d on %s", i, name)
			if got := hardRateHeaders(t, what, resp, mnWriteLimit); got != mnWriteLimit-i {
				t.Errorf("%s: X-RateLimit-Remaining = %d, want %d (counted on both nodes)", what, got, mnWriteLimit-i)
			}
		}
		for _, n := range []struct {
			name string
			e    *env
		}{{"b", eb}, {"a", ea}} {
			resp, body := n.e.do("POST", "/api/v1/messages", te, hardSendBody(to, "limited", "one too many"))
			wantError(t, resp, body, http.StatusTooManyRequests, "RateLimitExceeded")
			if p := hardEnvelopeProblem(resp, body); p != "" {
				t.Errorf("429 on %s: %s", n.name, p)
			}
			if after := hardRetryAfter(t, resp, body); after > 60 {
				t.Errorf("429 on %s: retry_after = %d, want at most the 60 s window", n.name, after)
			}
			if got := hardRateHeaders(t, "429 on "+n.name, resp, mnWriteLimit); got != 0 {
				t.Errorf("429 on %s: X-RateLimit-Remaining = %d, want 0", n.name, got)
			}
		}

		// Exactly the admitted writes were stored.
		resp, err := eb.clientWithToken(te).ListMessagesWithResponse(context.Background(), &agcomv1.ListMessagesParams{})
		if err != nil || resp.JSON200 == nil {
			t.Fatalf("GET /messages on b: %v %v", err, resp.Status())
		}
		if got := resp.JSON200.Pagination.Total; got != mnWriteLimit {
			t.Errorf("eve's messages after the limit = %d, want the %d admitted writes", got, mnWriteLimit)
		}
		// Reads have a budget of their own, and another agent too.
		if resp, body := eb.do("GET", "/api/v1/threads", te, ""); resp.StatusCode != http.StatusOK {
			t.Errorf("eve reads on b after the write limit: status %d, want 200; body %s", resp.StatusCode, body)
		}
		resp2, body := ea.do("POST", "/api/v1/messages", tok.of(to), hardSendBody(eve, "mine", "my own budget"))
		if resp2.StatusCode != http.StatusCreated {
			t.Fatalf("another agent's write on a: status %d, want 201; body %s", resp2.StatusCode, body)
		}
		if got := hardRateHeaders(t, "another agent", resp2, mnWriteLimit); got != mnWriteLimit-1 {
			t.Errorf("another agent: X-RateLimit-Remaining = %d, want %d", got, mnWriteLimit-1)
		}
	})

	t.Run("kill a node", func(t *testing.T) {
		eb := mnEnv(t, b)
		tok := mnTokens{t, keys}
		reader := handle("reader")
		tr := tok.of(reader)

		// The reader listens on b while writers hammer a.
		rs := evOpen(t, eb, tr, evHead(t, eb, tr), "")

		const writers = 8
		const killAfter = 20 // acknowledgements, of the writers' 8×6 at most
		var (
			mu    sync.Mutex
			acked = map[string][]hardAck{} // by writer
			total int
			wg    sync.WaitGroup
		)
		enough := make(chan struct{})
		hc := &http.Client{Timeout: 10 * time.Second}
		for w := range writers {
			from := handle(fmt.Sprintf("w%d", w))
			tf := tok.of(from)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range mnWriteLimit {
					body := fmt.Sprintf("%s message %d", from, i)
					resp, b, err := hardTry(hc, "POST", a.url+"/api/v1/messages", tf, strings.NewReader(hardSendBody(reader, "before the kill", body)), nil)
					if err != nil {
						return // the kill: this write's fate is unknown
					}
					if resp.StatusCode != http.StatusCreated {
						t.Errorf("%s: write %d on a: status %d, want 201; body %s", from, i, resp.StatusCode, b)
						return
					}
					var m agcomv1.Message
					if err := json.Unmarshal(b, &m); err != nil || m.MessageId == "" {
						t.Errorf("%s: 201 without a message: %s", from, b)
						return
					}
					mu.Lock()
					acked[from] = append(acked[from], hardAck{id: m.MessageId, from: from, body: body})
					total++
					if total == killAfter {
						close(enough)
					}
					mu.Unlock()
				}
			}()
		}
		slow := false
		select {
		case <-enough:
		case <-time.After(10 * time.Second):
			slow = true
		}
		if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatalf("SIGKILL a: %v", err)
		}
		a.hardWaitExit(t, 5*time.Second)
		wg.Wait() // the writers end with a: none outlives the test
		if slow {
			t.Fatalf("fewer than %d writes acknowledged by a within 10 s", killAfter)
		}
		if t.Failed() {
			return
		}
		if total >= writers*mnWriteLimit {
			t.Logf("all %d writes were acknowledged before a died: the kill came late", total)
		}

		// Everything a acknowledged is on b: each writer's messages are
		// its acknowledged ones, plus at most the one in flight at the kill.
		stored := map[string]bool{}
		for w := range writers {
			from := handle(fmt.Sprintf("w%d", w))
			resp, err := eb.clientWithToken(tok.of(from)).ListMessagesWithResponse(context.Background(), &agcomv1.ListMessagesParams{Limit: ptr(100)})
			if err != nil || resp.JSON200 == nil {
				t.Fatalf("GET /messages on b as %s: %v %v", from, err, resp.Status())
			}
			page := resp.JSON200
			byID := map[string]agcomv1.Message{}
			for _, m := range page.Messages {
				byID[m.MessageId] = m
				stored[m.MessageId] = true
			}
			if page.Pagination.Total != len(page.Messages) {
				t.Errorf("%s on b: total %d, but %d messages listed", from, page.Pagination.Total, len(page.Messages))
			}
			for _, ack := range acked[from] {
				m, ok := byID[ack.id]
				switch {
				case !ok:
					t.Errorf("%s: message %s was acknowledged by a but is not on b", from, ack.id)
				case m.Body != ack.body || m.FromHandle != from:
					t.Errorf("%s: message %s on b is %q from %s, want %q", from, ack.id, m.Body, m.FromHandle, ack.body)
				}
			}
			if n, k := len(page.Messages), len(acked[from]); n < k || n > k+1 {
				t.Errorf("%s: %d messages on b, want the %d acknowledged (plus at most one in flight)", from, n, k)
			}
		}

		t.Logf("a acknowledged %d writes before it died; b has %d", total, len(stored))

		// The reader's inbox on b holds them all, and b's stream (which
		// never left b) delivered each one once.
		inbox, err := eb.clientWithToken(tr).ListInboxWithResponse(context.Background(), &agcomv1.ListInboxParams{Limit: ptr(100)})
		if err != nil || inbox.JSON200 == nil {
			t.Fatalf("GET /inbox on b: %v %v", err, inbox.Status())
		}
		inInbox := map[string]bool{}
		for _, m := range inbox.JSON200.Messages {
			inInbox[m.MessageId] = true
		}
		if !maps.Equal(inInbox, stored) {
			t.Errorf("the reader's inbox on b has %d messages, the writers' lists %d; want the same ids", len(inInbox), len(stored))
		}
		streamed := map[string]bool{}
		for len(streamed) < len(stored) {
			ev, ok := rs.next(evQuick)
			if !ok {
				t.Fatalf("b's stream delivered %d of the %d stored messages", len(streamed), len(stored))
			}
			ids := mnEventMessageIDs(t, []agcomv1.Event{ev})
			if streamed[ids[0]] {
				t.Errorf("b's stream delivered message %s twice", ids[0])
			}
			streamed[ids[0]] = true
		}
		if !maps.Equal(streamed, stored) {
			t.Errorf("b's stream delivered other messages than the stored ones")
		}
		rs.none(300*time.Millisecond, "every stored message was delivered")

		// b goes on serving writes, and its stream goes on.
		after := mnSend(t, eb, tr, []string{handle("w0")}, "After the kill", "b still writes")
		ev := rs.must("the reader's own message after the kill")
		evWantMessage(t, ev, after)
	})
}
