package tests

// Contract tests for the per-agent event log (issue 7, items 2, 3 and 6):
// GET /events (long-poll) and GET /events/stream (Server-Sent Events).
// Every wait is bounded, so a broken server fails a test instead of
// hanging the suite.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agcom/agcom/gen/agcomv1"
	"github.com/agcom/agcom/internal/config"
)

const (
	evRootHandle = "root"
	evRootSecret = "root-secret-for-event-tests-0123456789abcdef"
	// evQuick bounds every wait for something that should happen at once.
	evQuick = 3 * time.Second
)

// evGet sends GET /api/v1/events?query as token, bounded by a timeout.
func evGet(t *testing.T, e *env, token, query string) (*http.Response, []byte, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	u := e.URL + "/api/v1/events"
	if query != "" {
		u += "?" + query
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp, body, time.Since(start)
}

// evPage reads a page of events and fails unless it is a 200 EventPage.
func evPage(t *testing.T, e *env, token, query string) agcomv1.EventPage {
	t.Helper()
	resp, body, _ := evGet(t, e, token, query)
	return evDecodePage(t, resp, body)
}

func evDecodePage(t *testing.T, resp *http.Response, body []byte) agcomv1.EventPage {
	t.Helper()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /events: status %d, body %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var p agcomv1.EventPage
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("decode EventPage: %v: %s", err, body)
	}
	if p.Events == nil {
		t.Fatalf("events is null, want an array: %s", body)
	}
	evNum(t, p.NextCursor)
	return p
}

// evAfter reads the events after cursor.
func evAfter(t *testing.T, e *env, token, cursor string) agcomv1.EventPage {
	t.Helper()
	return evPage(t, e, token, "after="+url.QueryEscape(cursor))
}

// evHead returns the caller's current cursor (GET /events without after),
// checking that it returns no events.
func evHead(t *testing.T, e *env, token string) string {
	t.Helper()
	p := evPage(t, e, token, "")
	if len(p.Events) != 0 {
		t.Fatalf("GET /events without after returned %d events, want none: %+v", len(p.Events), p.Events)
	}
	return p.NextCursor
}

// evNum parses a cursor.
func evNum(t *testing.T, cursor string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(cursor, 10, 64)
	if err != nil || n < 0 {
		t.Fatalf("cursor %q is not a non-negative integer", cursor)
	}
	return n
}

// evCheckOrder checks that the page's cursors strictly increase, start
// after `after` and end at next_cursor.
func evCheckOrder(t *testing.T, after string, p agcomv1.EventPage) {
	t.Helper()
	prev := evNum(t, after)
	for i, ev := range p.Events {
		c := evNum(t, ev.Cursor)
		if c <= prev {
			t.Fatalf("event %d: cursor %d is not after %d (events must come oldest first)", i, c, prev)
		}
		prev = c
	}
	if len(p.Events) > 0 && p.NextCursor != p.Events[len(p.Events)-1].Cursor {
		t.Errorf("next_cursor = %s, want the last event's cursor %s", p.NextCursor, p.Events[len(p.Events)-1].Cursor)
	}
	if len(p.Events) == 0 && p.NextCursor != after {
		t.Errorf("no events, but next_cursor = %s, want the same cursor %s", p.NextCursor, after)
	}
}

// evJSON turns v into generic JSON for comparison.
func evJSON(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	return out
}

// evData decodes data[key] of an event into out.
func evData(t *testing.T, ev agcomv1.Event, key string, out any) {
	t.Helper()
	v, ok := ev.Data[key]
	if !ok {
		t.Fatalf("%s event %s has no data.%s: %v", ev.Type, ev.Cursor, key, ev.Data)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal data.%s: %v", key, err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("decode data.%s: %v: %s", key, err, b)
	}
}

// evWantMessage checks that ev is message.created for msg.
func evWantMessage(t *testing.T, ev agcomv1.Event, msg agcomv1.Message) {
	t.Helper()
	if ev.Type != "message.created" {
		t.Fatalf("event type = %q, want message.created (event %+v)", ev.Type, ev)
	}
	if ev.ThreadId != msg.ThreadId {
		t.Errorf("thread_id = %s, want %s", ev.ThreadId, msg.ThreadId)
	}
	if ev.CreatedAt.IsZero() {
		t.Errorf("created_at is zero")
	}
	got := evJSON(t, ev.Data["message"])
	if want := evJSON(t, msg); !reflect.DeepEqual(got, want) {
		t.Errorf("data.message = %v\nwant the sent message %v", got, want)
	}
}

// evThread checks that ev is thread.updated for threadID and returns its
// data.thread.
func evThread(t *testing.T, ev agcomv1.Event, threadID string) agcomv1.Thread {
	t.Helper()
	if ev.Type != "thread.updated" {
		t.Fatalf("event type = %q, want thread.updated (event %+v)", ev.Type, ev)
	}
	if ev.ThreadId != threadID {
		t.Errorf("thread_id = %s, want %s", ev.ThreadId, threadID)
	}
	var th agcomv1.Thread
	evData(t, ev, "thread", &th)
	if th.ThreadId != threadID {
		t.Errorf("data.thread.thread_id = %s, want %s", th.ThreadId, threadID)
	}
	return th
}

// evTypes lists the types of events, for messages.
func evTypes(evs []agcomv1.Event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = string(ev.Type) + "@" + ev.ThreadId
	}
	return out
}

// evLogin exchanges a secret for a token through POST /auth/token.
func evLogin(t *testing.T, e *env, handle, secret string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"agent_handle": handle, "agent_secret": secret})
	resp, b := e.do(http.MethodPost, "/api/v1/auth/token", "", string(body))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /auth/token as %s: status %d, body %s", handle, resp.StatusCode, b)
	}
	var tok agcomv1.TokenResponse
	if err := json.Unmarshal(b, &tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token response: %v: %s", err, b)
	}
	return tok.AccessToken
}

// --- a hand-written Server-Sent Events reader ---

// evFrame is one block of the stream, up to a blank line.
type evFrame struct {
	Lines              []string
	ID, Event, Data    string
	HasID, HasRetry    bool
	Retry              string
	Comments           []string
	first              bool // the first frame of the stream
	dataLines, idLines int
}

// evStream is an open event stream read by a goroutine.
type evStream struct {
	t      *testing.T
	resp   *http.Response
	frames chan evFrame
	cancel context.CancelFunc
	done   chan struct{}
	err    error // set before frames is closed
}

// evStreamRequest opens GET /api/v1/events/stream. It returns the
// response; the caller reads or closes the body. cancel ends the request.
func evStreamRequest(t *testing.T, e *env, token, after, lastEventID string) (*http.Response, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	u := e.URL + "/api/v1/events/stream"
	if after != "" {
		u += "?after=" + url.QueryEscape(after)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		cancel()
		t.Fatalf("request: %v", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "text/event-stream")
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	tr := &http.Transport{ResponseHeaderTimeout: 5 * time.Second}
	t.Cleanup(tr.CloseIdleConnections)
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		cancel()
		t.Fatalf("GET %s: %v", u, err)
	}
	return resp, cancel
}

// evStreamError opens a stream that must fail, and returns its response
// and body.
func evStreamError(t *testing.T, e *env, token, after, lastEventID string) (*http.Response, []byte) {
	t.Helper()
	resp, cancel := evStreamRequest(t, e, token, after, lastEventID)
	defer cancel()
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Fatalf("GET /events/stream (after %q, Last-Event-ID %q): status 200, want an error", after, lastEventID)
	}
	timer := time.AfterFunc(evQuick, cancel)
	defer timer.Stop()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read error body: %v", err)
	}
	return resp, body
}

// evOpen opens a stream that must succeed and starts reading it. The
// first frame must be the retry advice.
func evOpen(t *testing.T, e *env, token, after, lastEventID string) *evStream {
	t.Helper()
	resp, cancel := evStreamRequest(t, e, token, after, lastEventID)
	if resp.StatusCode != http.StatusOK {
		defer cancel()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		t.Fatalf("GET /events/stream: status %d, body %s", resp.StatusCode, b)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		cancel()
		resp.Body.Close()
		t.Fatalf("Content-Type = %q, want text/event-stream", ct)
	}
	s := &evStream{t: t, resp: resp, frames: make(chan evFrame, 256), cancel: cancel, done: make(chan struct{})}
	go s.read()
	t.Cleanup(s.close)
	f, ok := s.frame(evQuick)
	if !ok {
		t.Fatalf("stream: no first frame within %s (%v)", evQuick, s.err)
	}
	if !f.first || len(f.Lines) == 0 || !strings.HasPrefix(f.Lines[0], "retry:") {
		t.Fatalf("stream must start with a retry: line; first frame %q", f.Lines)
	}
	if n, err := strconv.Atoi(f.Retry); err != nil || n <= 0 {
		t.Errorf("retry: %q, want a positive number of milliseconds", f.Retry)
	}
	return s
}

// read parses the stream into frames until it ends.
func (s *evStream) read() {
	defer close(s.done)
	defer close(s.frames)
	r := bufio.NewReader(s.resp.Body)
	var f evFrame
	first := true
	var data []string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			s.err = err
			return
		}
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		if line == "" {
			if len(f.Lines) == 0 {
				continue
			}
			f.Data = strings.Join(data, "\n")
			f.first = first
			first = false
			s.frames <- f // buffered generously; tests read what they expect
			f, data = evFrame{}, nil
			continue
		}
		f.Lines = append(f.Lines, line)
		if strings.HasPrefix(line, ":") {
			f.Comments = append(f.Comments, line)
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "id":
			f.ID, f.HasID = value, true
			f.idLines++
		case "event":
			f.Event = value
		case "data":
			data = append(data, value)
			f.dataLines++
		case "retry":
			f.Retry, f.HasRetry = value, true
		}
	}
}

// frame returns the next frame, or false when none came within d or the
// stream ended.
func (s *evStream) frame(d time.Duration) (evFrame, bool) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case f, ok := <-s.frames:
		return f, ok
	case <-timer.C:
		return evFrame{}, false
	}
}

// next returns the next event (skipping comments) within d, checking
// that its id is its cursor, its event name its type and its data the
// Event as JSON. ok is false when none came.
func (s *evStream) next(d time.Duration) (agcomv1.Event, bool) {
	s.t.Helper()
	deadline := time.Now().Add(d)
	for {
		f, ok := s.frame(time.Until(deadline))
		if !ok {
			return agcomv1.Event{}, false
		}
		if f.Event == "" && f.dataLines == 0 && !f.HasID {
			continue // a comment or retry advice
		}
		if f.idLines != 1 || f.dataLines != 1 || f.Event == "" {
			s.t.Fatalf("event frame must have one id:, one event: and one data: line; got %q", f.Lines)
		}
		var ev agcomv1.Event
		if err := json.Unmarshal([]byte(f.Data), &ev); err != nil {
			s.t.Fatalf("data: is not an Event: %v: %s", err, f.Data)
		}
		if f.ID != ev.Cursor {
			s.t.Errorf("id: %q, want the event's cursor %q", f.ID, ev.Cursor)
		}
		if f.Event != string(ev.Type) {
			s.t.Errorf("event: %q, want the event's type %q", f.Event, ev.Type)
		}
		evNum(s.t, ev.Cursor)
		return ev, true
	}
}

// must returns the next event or fails.
func (s *evStream) must(what string) agcomv1.Event {
	s.t.Helper()
	ev, ok := s.next(evQuick)
	if !ok {
		s.t.Fatalf("stream: no event within %s, waiting for %s (stream error: %v)", evQuick, what, s.err)
	}
	return ev
}

// none checks that no event arrives within d.
func (s *evStream) none(d time.Duration, why string) {
	s.t.Helper()
	if ev, ok := s.next(d); ok {
		s.t.Fatalf("stream: unexpected %s event %s on thread %s (%s)", ev.Type, ev.Cursor, ev.ThreadId, why)
	}
}

// close disconnects and waits (bounded) for the reader to stop.
func (s *evStream) close() {
	s.cancel()
	s.resp.Body.Close()
	select {
	case <-s.done:
	case <-time.After(evQuick):
		s.t.Errorf("stream reader did not stop after disconnect")
	}
}

// --- tests ---

func TestEventsCursorAndMessageCreated(t *testing.T) {
	e := newEnv(t)
	alice, bob, carol, dave := e.token("alice"), e.token("bob"), e.token("carol"), e.token("dave")

	heads := map[string]string{}
	for h, tok := range map[string]string{"alice": alice, "bob": bob, "carol": carol, "dave": dave} {
		heads[h] = evHead(t, e, tok)
	}

	msg := e.send("alice", []string{"bob", "carol"}, "Plan", "Shall we plan?")

	for h, tok := range map[string]string{"alice": alice, "bob": bob, "carol": carol} {
		p := evAfter(t, e, tok, heads[h])
		if len(p.Events) != 1 {
			t.Fatalf("%s: %d events after the send, want 1 message.created: %v", h, len(p.Events), evTypes(p.Events))
		}
		evWantMessage(t, p.Events[0], msg)
		evCheckOrder(t, heads[h], p)
		if evNum(t, p.NextCursor) <= evNum(t, heads[h]) {
			t.Errorf("%s: next_cursor %s did not advance past %s", h, p.NextCursor, heads[h])
		}
		// Without a cursor: no events, and the current cursor.
		if head := evHead(t, e, tok); head != p.NextCursor {
			t.Errorf("%s: GET /events without after: next_cursor = %s, want the current cursor %s", h, head, p.NextCursor)
		}
		// Reading again from the new cursor: nothing.
		if again := evAfter(t, e, tok, p.NextCursor); len(again.Events) != 0 || again.NextCursor != p.NextCursor {
			t.Errorf("%s: after next_cursor: %v, next %s; want no events and the same cursor", h, evTypes(again.Events), again.NextCursor)
		}
	}
	if p := evAfter(t, e, dave, heads["dave"]); len(p.Events) != 0 {
		t.Errorf("dave (not in the thread) got %v", evTypes(p.Events))
	}

	// Order and limit: bob gets four messages, oldest first.
	start := evHead(t, e, bob)
	var sent []agcomv1.Message
	for i := range 4 {
		sent = append(sent, e.send("alice", []string{"bob"}, fmt.Sprintf("Order %d", i), fmt.Sprintf("body %d", i)))
	}
	all := evAfter(t, e, bob, start)
	if len(all.Events) != 4 {
		t.Fatalf("bob: %d events, want 4: %v", len(all.Events), evTypes(all.Events))
	}
	evCheckOrder(t, start, all)
	for i, ev := range all.Events {
		evWantMessage(t, ev, sent[i])
	}

	first := evPage(t, e, bob, "after="+start+"&limit=3")
	if len(first.Events) != 3 {
		t.Fatalf("limit=3: %d events, want 3", len(first.Events))
	}
	evCheckOrder(t, start, first)
	if first.NextCursor != all.Events[2].Cursor {
		t.Errorf("limit=3: next_cursor = %s, want %s", first.NextCursor, all.Events[2].Cursor)
	}
	rest := evPage(t, e, bob, "after="+first.NextCursor+"&limit=3")
	if len(rest.Events) != 1 || rest.Events[0].Cursor != all.Events[3].Cursor {
		t.Fatalf("second page: %v, want only the fourth event %s", evTypes(rest.Events), all.Events[3].Cursor)
	}
	evWantMessage(t, rest.Events[0], sent[3])
	for _, q := range []string{"limit=0", "limit=501", "limit=x"} {
		resp, body, _ := evGet(t, e, bob, "after="+start+"&"+q)
		wantError(t, resp, body, http.StatusBadRequest, "ValidationError")
	}

	// Unauthenticated.
	resp, body := e.do(http.MethodGet, "/api/v1/events", "", "")
	wantError(t, resp, body, http.StatusUnauthorized, "AuthenticationError")
}

func TestEventsLongPoll(t *testing.T) {
	e := newEnv(t)
	bob := e.token("bob")
	c0 := evHead(t, e, bob)

	type result struct {
		resp    *http.Response
		body    []byte
		elapsed time.Duration
	}
	done := make(chan result, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.URL+"/api/v1/events?wait=5&after="+c0, nil)
		req.Header.Set("Authorization", "Bearer "+bob)
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- result{elapsed: time.Since(start), body: []byte(err.Error())}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		done <- result{resp: resp, body: b, elapsed: time.Since(start)}
	}()
	time.Sleep(400 * time.Millisecond) // the poll is waiting now
	select {
	case r := <-done:
		t.Fatalf("long-poll returned before anything happened (after %s): %s", r.elapsed, r.body)
	default:
	}
	sentAt := time.Now()
	msg := e.send("alice", []string{"bob"}, "Wake", "up")
	var r result
	select {
	case r = <-done:
	case <-time.After(evQuick):
		t.Fatalf("long-poll did not return within %s of the send", evQuick)
	}
	if r.resp == nil {
		t.Fatalf("long-poll failed: %s", r.body)
	}
	if since := time.Since(sentAt); since > 2*time.Second {
		t.Errorf("long-poll returned %s after the send, want well under the 5 s wait", since)
	}
	p := evDecodePage(t, r.resp, r.body)
	if len(p.Events) != 1 {
		t.Fatalf("long-poll: %d events, want the new message: %s", len(p.Events), r.body)
	}
	evWantMessage(t, p.Events[0], msg)
	evCheckOrder(t, c0, p)

	// Events already waiting: the answer comes at once.
	resp, body, elapsed := evGet(t, e, bob, "wait=5&after="+c0)
	if q := evDecodePage(t, resp, body); len(q.Events) != 1 || elapsed > 2*time.Second {
		t.Errorf("with an event waiting: %d events after %s, want 1 at once", len(q.Events), elapsed)
	}

	// Nothing happens: after about `wait`, an empty list and the same cursor.
	resp, body, elapsed = evGet(t, e, bob, "wait=1&after="+p.NextCursor)
	q := evDecodePage(t, resp, body)
	if len(q.Events) != 0 || q.NextCursor != p.NextCursor {
		t.Errorf("idle long-poll: %v, next %s; want none and %s", evTypes(q.Events), q.NextCursor, p.NextCursor)
	}
	if elapsed < 900*time.Millisecond || elapsed > 3*time.Second {
		t.Errorf("idle long-poll with wait=1 took %s, want about 1 s", elapsed)
	}

	// Bad parameters.
	for _, q := range []string{"wait=61&after=" + c0, "wait=-1", "wait=x", "after=abc", "after=-1", "after=1.5"} {
		resp, body, _ := evGet(t, e, bob, q)
		wantError(t, resp, body, http.StatusBadRequest, "ValidationError")
	}
	resp, body = evStreamError(t, e, bob, "abc", "")
	wantError(t, resp, body, http.StatusBadRequest, "ValidationError")
	resp, body = evStreamError(t, e, bob, "", "not-a-cursor")
	wantError(t, resp, body, http.StatusBadRequest, "ValidationError")
}

func TestEventsThreadUpdated(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.AdminHandle = evRootHandle; c.AdminSecret = evRootSecret })
	alice, bob := e.token("alice"), e.token("bob")
	msg := e.send("alice", []string{"bob"}, "Meta", "let's tag this")
	tid := msg.ThreadId
	ca, cb := evHead(t, e, alice), evHead(t, e, bob)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// expect reads exactly one new thread.updated for both participants.
	expect := func(step string) (agcomv1.Thread, agcomv1.Thread) {
		t.Helper()
		var out [2]agcomv1.Thread
		for i, c := range []*string{&ca, &cb} {
			tok := []string{alice, bob}[i]
			p := evAfter(t, e, tok, *c)
			if len(p.Events) != 1 {
				t.Fatalf("%s: %s got %v, want one thread.updated", step, []string{"alice", "bob"}[i], evTypes(p.Events))
			}
			evCheckOrder(t, *c, p)
			out[i] = evThread(t, p.Events[0], tid)
			*c = p.NextCursor
		}
		return out[0], out[1]
	}

	ac := e.clientWithToken(alice)
	if r, err := ac.PutThreadMetadataWithResponse(ctx, tid, agcomv1.MetadataUpdate{Key: "priority", Value: ptr("high")}); err != nil || r.StatusCode() != http.StatusOK {
		t.Fatalf("put metadata: %v %v", err, r)
	}
	ta, tb := expect("metadata")
	for _, th := range []agcomv1.Thread{ta, tb} {
		if th.Metadata["priority"] != "high" {
			t.Errorf("metadata: data.thread.metadata = %v, want priority=high", th.Metadata)
		}
	}

	if r, err := e.clientWithToken(bob).ArchiveThreadWithResponse(ctx, tid); err != nil || r.StatusCode() != http.StatusOK {
		t.Fatalf("archive: %v %v", err, r)
	}
	ta, tb = expect("archive")
	for _, th := range []agcomv1.Thread{ta, tb} {
		if th.Metadata["archived"] != "true" {
			t.Errorf("archive: data.thread.metadata = %v, want archived=true", th.Metadata)
		}
	}
	if r, err := ac.UnarchiveThreadWithResponse(ctx, tid); err != nil || r.StatusCode() != http.StatusOK {
		t.Fatalf("unarchive: %v %v", err, r)
	}
	ta, tb = expect("unarchive")
	for _, th := range []agcomv1.Thread{ta, tb} {
		if _, ok := th.Metadata["archived"]; ok {
			t.Errorf("unarchive: data.thread.metadata = %v, want no archived key", th.Metadata)
		}
	}

	// An admin who replies joins the thread: thread.updated with the new
	// participant, then message.created, for everyone including the admin.
	root := evLogin(t, e, evRootHandle, evRootSecret)
	cr := evHead(t, e, root)
	r, err := e.clientWithToken(root).ReplyToThreadWithResponse(ctx, tid, nil, agcomv1.ReplyRequest{Body: "admin here"})
	if err != nil || r.JSON201 == nil {
		t.Fatalf("admin reply: %v %v", err, r)
	}
	reply := *r.JSON201
	for _, who := range []struct {
		name string
		tok  string
		c    string
	}{{"alice", alice, ca}, {"bob", bob, cb}, {"root", root, cr}} {
		p := evAfter(t, e, who.tok, who.c)
		if len(p.Events) != 2 {
			t.Fatalf("admin joins: %s got %v, want thread.updated then message.created", who.name, evTypes(p.Events))
		}
		evCheckOrder(t, who.c, p)
		th := evThread(t, p.Events[0], tid)
		if !slices.Contains(th.ParticipantHandles, evRootHandle) {
			t.Errorf("admin joins: %s: participant_handles = %v, want root among them", who.name, th.ParticipantHandles)
		}
		evWantMessage(t, p.Events[1], reply)
	}
}

func TestEventsMessageRead(t *testing.T) {
	e := newEnv(t)
	alice, bob, carol := e.token("alice"), e.token("bob"), e.token("carol")
	msg := e.send("alice", []string{"bob", "carol"}, "Read me", "please")
	ca, cb, cc := evHead(t, e, alice), evHead(t, e, bob), evHead(t, e, carol)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	bc := e.clientWithToken(bob)

	r, err := bc.MarkMessageReadWithResponse(ctx, msg.MessageId)
	if err != nil || r.StatusCode() != http.StatusOK {
		t.Fatalf("mark read: %v %v", err, r)
	}
	p := evAfter(t, e, bob, cb)
	if len(p.Events) != 1 || p.Events[0].Type != "message.read" {
		t.Fatalf("bob after marking read: %v, want one message.read", evTypes(p.Events))
	}
	evCheckOrder(t, cb, p)
	ev := p.Events[0]
	if ev.ThreadId != msg.ThreadId {
		t.Errorf("message.read thread_id = %s, want %s", ev.ThreadId, msg.ThreadId)
	}
	var ids []string
	evData(t, ev, "message_ids", &ids)
	if !slices.Equal(ids, []string{msg.MessageId}) {
		t.Errorf("data.message_ids = %v, want [%s]", ids, msg.MessageId)
	}
	var readAt *time.Time
	evData(t, ev, "read_at", &readAt)
	if readAt == nil || readAt.IsZero() || time.Since(*readAt) > time.Minute || time.Until(*readAt) > time.Minute {
		t.Errorf("data.read_at = %v, want the time it was marked read", readAt)
	}

	// Marked unread: message.read with read_at null.
	u, err := bc.MarkMessageUnreadWithResponse(ctx, msg.MessageId)
	if err != nil || u.StatusCode() != http.StatusOK {
		t.Fatalf("mark unread: %v %v", err, u)
	}
	p2 := evAfter(t, e, bob, p.NextCursor)
	if len(p2.Events) != 1 || p2.Events[0].Type != "message.read" {
		t.Fatalf("bob after marking unread: %v, want one message.read", evTypes(p2.Events))
	}
	if v, ok := p2.Events[0].Data["read_at"]; !ok || v != nil {
		t.Errorf("unread: data.read_at = %v (present %v), want null", v, ok)
	}

	// Nobody else hears about bob's reading.
	for h, c := range map[string][2]string{"alice": {alice, ca}, "carol": {carol, cc}} {
		if q := evAfter(t, e, c[0], c[1]); len(q.Events) != 0 {
			t.Errorf("%s got %v: message.read must go only to the reader's own log", h, evTypes(q.Events))
		}
	}
}

func TestEventsVisibility(t *testing.T) {
	e := newEnv(t)
	alice, dave := e.token("alice"), e.token("dave")
	private := e.send("alice", []string{"bob"}, "Private", "between us")
	dc := evHead(t, e, dave)
	stream := evOpen(t, e, dave, dc, "")

	// A long-poll by the outsider sees nothing while the private thread
	// changes.
	done := make(chan agcomv1.EventPage, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.URL+"/api/v1/events?wait=2&after="+dc, nil)
		req.Header.Set("Authorization", "Bearer "+dave)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- agcomv1.EventPage{NextCursor: "error: " + err.Error()}
			return
		}
		defer resp.Body.Close()
		var p agcomv1.EventPage
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &p) != nil {
			p.NextCursor = fmt.Sprintf("status %d: %s", resp.StatusCode, b)
		}
		done <- p
	}()
	time.Sleep(200 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e.send("bob", []string{"alice"}, "Private 2", "still between us")
	if _, err := e.client("bob").ReplyToThreadWithResponse(ctx, private.ThreadId, nil, agcomv1.ReplyRequest{Body: "reply"}); err != nil {
		t.Fatalf("reply: %v", err)
	}
	if r, err := e.clientWithToken(alice).PutThreadMetadataWithResponse(ctx, private.ThreadId, agcomv1.MetadataUpdate{Key: "k", Value: ptr("v")}); err != nil || r.StatusCode() != http.StatusOK {
		t.Fatalf("put metadata: %v %v", err, r)
	}
	if r, err := e.client("bob").MarkMessageReadWithResponse(ctx, private.MessageId); err != nil || r.StatusCode() != http.StatusOK {
		t.Fatalf("mark read: %v %v", err, r)
	}
	select {
	case p := <-done:
		if len(p.Events) != 0 || p.NextCursor != dc {
			t.Errorf("outsider long-poll: %v, next %q; want nothing and the same cursor %s", evTypes(p.Events), p.NextCursor, dc)
		}
	case <-time.After(6 * time.Second):
		t.Fatalf("outsider long-poll did not return")
	}

	// The stream, too: the first event dave receives is of his own thread,
	// sent after all of the above.
	mine := e.send("carol", []string{"dave"}, "For dave", "hello")
	ev := stream.must("dave's own message")
	evWantMessage(t, ev, mine)
	stream.none(300*time.Millisecond, "nothing else is dave's")

	// And the log read later still holds only dave's thread.
	if p := evAfter(t, e, dave, dc); len(p.Events) != 1 || p.Events[0].ThreadId != mine.ThreadId {
		t.Errorf("dave's log: %v, want only his own thread %s", evTypes(p.Events), mine.ThreadId)
	}
}

func TestEventsStream(t *testing.T) {
	e := newEnv(t)
	bob := e.token("bob")
	c0 := evHead(t, e, bob)
	m1 := e.send("alice", []string{"bob"}, "One", "1")
	m2 := e.send("alice", []string{"bob"}, "Two", "2")

	// Backlog after `after` first, then live events.
	s := evOpen(t, e, bob, c0, "")
	if got := s.resp.Header.Get("Cache-Control"); got != "no-cache" {
		t.Errorf("Cache-Control = %q, want no-cache", got)
	}
	e1 := s.must("backlog m1")
	evWantMessage(t, e1, m1)
	e2 := s.must("backlog m2")
	evWantMessage(t, e2, m2)
	if evNum(t, e1.Cursor) <= evNum(t, c0) || evNum(t, e2.Cursor) <= evNum(t, e1.Cursor) {
		t.Errorf("cursors %s, %s must increase after %s", e1.Cursor, e2.Cursor, c0)
	}
	s.none(200*time.Millisecond, "the backlog had two events")
	sentAt := time.Now()
	m3 := e.send("alice", []string{"bob"}, "Three", "3")
	e3 := s.must("live m3")
	if d := time.Since(sentAt); d > 2*time.Second {
		t.Errorf("live event arrived %s after the send", d)
	}
	evWantMessage(t, e3, m3)
	// The same events as the long-poll shows.
	p := evAfter(t, e, bob, c0)
	if got, want := evJSON(t, p.Events), evJSON(t, []agcomv1.Event{e1, e2, e3}); !reflect.DeepEqual(got, want) {
		t.Errorf("stream events differ from GET /events:\n stream %v\n   poll %v", want, got)
	}
	s.close()

	// Last-Event-ID takes precedence over after.
	s2 := evOpen(t, e, bob, c0, e1.Cursor)
	if ev := s2.must("m2 after Last-Event-ID"); ev.Cursor != e2.Cursor {
		t.Errorf("with Last-Event-ID %s and after %s: first event %s, want %s", e1.Cursor, c0, ev.Cursor, e2.Cursor)
	}
	if ev := s2.must("m3"); ev.Cursor != e3.Cursor {
		t.Errorf("second event %s, want %s", ev.Cursor, e3.Cursor)
	}
	s2.close()

	// Without a cursor: no backlog, only what happens from now on.
	s3 := evOpen(t, e, bob, "", "")
	s3.none(300*time.Millisecond, "a stream without a cursor starts from now")
	m4 := e.send("alice", []string{"bob"}, "Four", "4")
	evWantMessage(t, s3.must("live m4"), m4)
	s3.close()

	// Unauthenticated.
	resp, body := e.do(http.MethodGet, "/api/v1/events/stream", "", "")
	wantError(t, resp, body, http.StatusUnauthorized, "AuthenticationError")
}

func TestEventsStreamResume(t *testing.T) {
	e := newEnv(t)
	bob, carol := e.token("bob"), e.token("carol")
	start := evHead(t, e, bob)

	var want []string // message ids bob must see, in order
	var seen []string // what bob's streams delivered
	var last string
	s := evOpen(t, e, bob, start, "")
	for i := range 3 {
		m := e.send("alice", []string{"bob"}, fmt.Sprintf("Live %d", i), "x")
		want = append(want, m.MessageId)
		ev := s.must("live message")
		var got agcomv1.Message
		evData(t, ev, "message", &got)
		seen, last = append(seen, got.MessageId), ev.Cursor
	}
	s.close()

	// While bob is away: messages to him, and traffic he must not see.
	for i := range 3 {
		want = append(want, e.send("alice", []string{"bob", "carol"}, fmt.Sprintf("Away %d", i), "y").MessageId)
		e.send("alice", []string{"carol"}, "Not for bob", "z")
	}
	_ = carol

	s = evOpen(t, e, bob, "", last)
	for range 3 {
		ev := s.must("missed message")
		var got agcomv1.Message
		evData(t, ev, "message", &got)
		seen, last = append(seen, got.MessageId), ev.Cursor
	}
	m := e.send("carol", []string{"bob"}, "Back", "welcome back")
	want = append(want, m.MessageId)
	ev := s.must("live after resume")
	evWantMessage(t, ev, m)
	seen = append(seen, m.MessageId)
	s.none(300*time.Millisecond, "everything was delivered once")

	if !slices.Equal(seen, want) {
		t.Errorf("bob saw %v\nwant exactly %v (nothing missed, nothing twice, in order)", seen, want)
	}

	// A second disconnect right at the head: resuming yields only new events.
	s.close()
	s = evOpen(t, e, bob, "", ev.Cursor)
	s.none(300*time.Millisecond, "resumed at the head")
	m5 := e.send("alice", []string{"bob"}, "Last", "z")
	evWantMessage(t, s.must("m5"), m5)
}

func TestEventsCursorExpired(t *testing.T) {
	e := newEnv(t)
	bob := e.token("bob")
	c0 := evHead(t, e, bob)
	e.send("alice", []string{"bob"}, "Old", "soon pruned")
	old := evAfter(t, e, bob, c0)
	if len(old.Events) != 1 {
		t.Fatalf("before pruning: %v, want one event", evTypes(old.Events))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.App.Store.Prune(ctx, time.Now().Add(time.Hour)); err != nil {
		t.Fatalf("prune: %v", err)
	}

	resp, body, _ := evGet(t, e, bob, "after="+c0)
	wantError(t, resp, body, http.StatusGone, "CursorExpired")
	resp, body, _ = evGet(t, e, bob, "wait=5&after="+c0)
	wantError(t, resp, body, http.StatusGone, "CursorExpired")
	resp, body = evStreamError(t, e, bob, "", c0)
	wantError(t, resp, body, http.StatusGone, "CursorExpired")
	resp, body = evStreamError(t, e, bob, c0, "")
	wantError(t, resp, body, http.StatusGone, "CursorExpired")

	// Resynchronise: a request without after works and gives a cursor that
	// works.
	head := evHead(t, e, bob)
	if evNum(t, head) < evNum(t, old.NextCursor) {
		t.Errorf("cursor after pruning %s went back before %s", head, old.NextCursor)
	}
	if p := evAfter(t, e, bob, head); len(p.Events) != 0 || p.NextCursor != head {
		t.Errorf("after the new head: %v, next %s", evTypes(p.Events), p.NextCursor)
	}
	s := evOpen(t, e, bob, "", "")
	s2 := evOpen(t, e, bob, "", head)
	m := e.send("alice", []string{"bob"}, "New", "after pruning")
	p := evAfter(t, e, bob, head)
	if len(p.Events) != 1 {
		t.Fatalf("after pruning and a new send: %v, want one event", evTypes(p.Events))
	}
	evWantMessage(t, p.Events[0], m)
	evWantMessage(t, s.must("new message on a fresh stream"), m)
	evWantMessage(t, s2.must("new message on a stream from the new head"), m)
}
