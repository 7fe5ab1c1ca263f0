package sdk_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agcom/agcom/gen/agcomv1"
	"github.com/agcom/agcom/sdk"
)

// roundTripFunc is an http.RoundTripper made of a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// messageOf returns the id of the message a message.created event carries.
func messageOf(t *testing.T, ev agcomv1.Event) string {
	t.Helper()
	m, _ := ev.Data["message"].(map[string]any)
	id, _ := m["message_id"].(string)
	if ev.Type != agcomv1.MessageCreated || id == "" {
		t.Fatalf("event %+v, want message.created with a message", ev)
	}
	return id
}

// next reads the next event or fails the test.
func next(t *testing.T, s *sdk.EventStream) agcomv1.Event {
	t.Helper()
	if !s.Next() {
		t.Fatalf("stream ended: %v", s.Err())
	}
	return s.Event()
}

func TestEventsReceivesNewMessage(t *testing.T) {
	s := newServer(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	alice, bob := s.client(t, "alice"), s.client(t, "bob")
	if _, err := alice.SendMessage(ctx, agcomv1.SendMessageRequest{ToHandles: []string{"bob"}, Subject: "old", Body: "before"}); err != nil {
		t.Fatal(err)
	}

	stream, err := bob.Events(ctx, "")
	if err != nil {
		t.Fatalf("Events: %v", err)
	}
	defer stream.Close()
	msg, err := alice.SendMessage(ctx, agcomv1.SendMessageRequest{ToHandles: []string{"bob"}, Subject: "new", Body: "after"})
	if err != nil {
		t.Fatal(err)
	}
	ev := next(t, stream)
	if id := messageOf(t, ev); id != msg.MessageId || ev.ThreadId != msg.ThreadId {
		t.Errorf("event for message %s in %s, want %s in %s (not the older one)", id, ev.ThreadId, msg.MessageId, msg.ThreadId)
	}
	if stream.Cursor() != ev.Cursor || ev.Cursor == "" {
		t.Errorf("Cursor() = %q, want the event's %q", stream.Cursor(), ev.Cursor)
	}

	cancel()
	if stream.Next() {
		t.Fatalf("Next after cancel = true, want false")
	}
	if !errors.Is(stream.Err(), context.Canceled) {
		t.Errorf("Err after cancel = %v, want context.Canceled", stream.Err())
	}
}

// cutStreams returns an HTTP client whose event streams break after
// every events events, in the middle of the next one, and the
// Last-Event-ID headers of the streams it opened.
func cutStreams(events int) (*http.Client, func() []string) {
	var mu sync.Mutex
	var resumed []string
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := http.DefaultTransport.RoundTrip(r)
		if err != nil || !strings.HasSuffix(r.URL.Path, "/events/stream") || resp.StatusCode != http.StatusOK {
			return resp, err
		}
		mu.Lock()
		resumed = append(resumed, r.Header.Get("Last-Event-ID"))
		mu.Unlock()
		body := resp.Body
		pr, pw := io.Pipe()
		go func() {
			defer body.Close()
			lines := bufio.NewScanner(body)
			lines.Buffer(nil, 1<<20)
			seen := 0
			for lines.Scan() {
				if strings.HasPrefix(lines.Text(), "id:") {
					if seen == events {
						// Half an event, then the connection drops.
						fmt.Fprintf(pw, "%s\nevent: message.created\n", lines.Text())
						pw.CloseWithError(io.ErrUnexpectedEOF)
						return
					}
					seen++
				}
				if _, err := fmt.Fprintf(pw, "%s\n", lines.Text()); err != nil {
					return
				}
			}
			pw.CloseWithError(lines.Err())
		}()
		resp.Body = pr
		return resp, nil
	})
	return &http.Client{Transport: rt, Timeout: time.Minute}, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), resumed...)
	}
}

func TestEventsResumeAfterDisconnect(t *testing.T) {
	s := newServer(t)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	alice := s.client(t, "alice")
	hc, resumed := cutStreams(2)
	bob := s.client(t, "bob", sdk.WithHTTPClient(hc))
	var mu sync.Mutex
	var waits []time.Duration
	sdk.SetSleep(bob, func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		defer mu.Unlock()
		waits = append(waits, d)
		return ctx.Err()
	})
	send := func(i int) string {
		m, err := alice.SendMessage(ctx, agcomv1.SendMessageRequest{ToHandles: []string{"bob"}, Subject: fmt.Sprint("m", i), Body: "b"})
		if err != nil {
			t.Fatal(err)
		}
		return m.MessageId
	}

	page, err := bob.ListEvents(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range 5 { // a backlog after the cursor
		want = append(want, send(i))
	}
	stream, err := bob.Events(ctx, page.NextCursor)
	if err != nil {
		t.Fatalf("Events: %v", err)
	}
	defer stream.Close()
	var got, cursors []string
	for len(got) < 10 {
		ev := next(t, stream)
		got, cursors = append(got, messageOf(t, ev)), append(cursors, ev.Cursor)
		if len(got) == 3 { // and live ones, while the stream breaks
			for i := 5; i < 10; i++ {
				want = append(want, send(i))
			}
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("messages streamed:\n%v\nwant each sent, once, in order:\n%v", got, want)
	}

	// Every reconnect resumed after the last event delivered.
	opened := resumed()
	if len(opened) < 5 {
		t.Fatalf("streams opened = %d, want a reconnect after every 2 events", len(opened))
	}
	if opened[0] != page.NextCursor {
		t.Errorf("first Last-Event-ID = %q, want %q", opened[0], page.NextCursor)
	}
	for i, id := range opened[1:] {
		if want := cursors[2*i+1]; id != want {
			t.Errorf("reconnect %d: Last-Event-ID = %q, want %q, the last cursor delivered", i+1, id, want)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, d := range waits {
		if d != 2*time.Second {
			t.Errorf("reconnect waits = %v, want the server's retry: 2000 advice", waits)
			break
		}
	}
}

func TestEventsCursorExpired(t *testing.T) {
	s := newServer(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	const gone = `{"error":{"type":"CursorExpired","message":"cursor has expired","request_id":"x"}}`
	expire := func(r *http.Request) (int, string, bool) {
		return http.StatusGone, gone, r.URL.Path == "/api/v1/events/stream"
	}

	// When connecting.
	s.setInject(expire)
	bob := s.client(t, "bob")
	_, err := bob.Events(ctx, "1")
	apiErr, ok := errors.AsType[*sdk.Error](err)
	if !ok || !sdk.IsCursorExpired(err) || apiErr.Type != agcomv1.CursorExpired {
		t.Fatalf("Events with an expired cursor: %v, want a 410 CursorExpired *sdk.Error", err)
	}
	if n := s.seenCount("GET", "/api/v1/events/stream", http.StatusGone); n != 1 {
		t.Errorf("410s = %d, want 1 (not retried)", n)
	}

	// When reconnecting.
	s.setInject(nil)
	hc, _ := cutStreams(1)
	bob = s.client(t, "bob", sdk.WithHTTPClient(hc))
	recordSleeps(bob, func() { s.setInject(expire) })
	stream, err := bob.Events(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	for i := range 2 {
		if _, err := s.client(t, "alice").SendMessage(ctx, agcomv1.SendMessageRequest{ToHandles: []string{"bob"}, Subject: fmt.Sprint(i), Body: "b"}); err != nil {
			t.Fatal(err)
		}
	}
	next(t, stream)
	if stream.Next() {
		t.Fatalf("Next after the cursor expired = true, want false")
	}
	if !sdk.IsCursorExpired(stream.Err()) {
		t.Errorf("Err = %v, want 410 CursorExpired", stream.Err())
	}
	if n := s.seenCount("GET", "/api/v1/events/stream", http.StatusGone); n != 2 {
		t.Errorf("410s = %d, want 2 (not retried)", n)
	}
}

func TestListEventsAndReadState(t *testing.T) {
	s := newServer(t)
	ctx := t.Context()
	alice, bob := s.client(t, "alice"), s.client(t, "bob")
	now, err := bob.ListEvents(ctx, nil)
	if err != nil || len(now.Events) != 0 || now.NextCursor == "" {
		t.Fatalf("ListEvents without a cursor = %+v, %v; want no events and the cursor of now", now, err)
	}

	// A long-poll answers when the message arrives.
	sent := make(chan agcomv1.Message, 1)
	time.AfterFunc(100*time.Millisecond, func() {
		m, _ := alice.SendMessage(ctx, agcomv1.SendMessageRequest{ToHandles: []string{"bob"}, Subject: "s", Body: "b"})
		sent <- m
	})
	page, err := bob.ListEvents(ctx, &agcomv1.ListEventsParams{After: &now.NextCursor, Wait: new(10)})
	if err != nil || len(page.Events) != 1 {
		t.Fatalf("long-poll = %+v, %v; want the new message's event", page, err)
	}
	msg := <-sent
	if id := messageOf(t, page.Events[0]); id != msg.MessageId || page.NextCursor != page.Events[0].Cursor {
		t.Errorf("long-poll event for %s, next %s; want %s, next its cursor", id, page.NextCursor, msg.MessageId)
	}

	unread := &agcomv1.ListInboxParams{UnreadOnly: new(true)}
	if st, err := bob.MarkRead(ctx, msg.MessageId); err != nil || st.ReadAt == nil {
		t.Fatalf("MarkRead = %+v, %v", st, err)
	}
	if in, err := bob.Inbox(ctx, unread); err != nil || len(in.Messages) != 0 {
		t.Errorf("unread inbox after MarkRead = %+v, %v; want empty", in.Messages, err)
	}
	if st, err := bob.MarkUnread(ctx, msg.MessageId); err != nil || st.ReadAt != nil {
		t.Fatalf("MarkUnread = %+v, %v", st, err)
	}
	if in, err := bob.Inbox(ctx, unread); err != nil || len(in.Messages) != 1 || in.Messages[0].MessageId != msg.MessageId {
		t.Errorf("unread inbox after MarkUnread = %+v, %v; want the message", in.Messages, err)
	}
	if st, err := bob.MarkThreadRead(ctx, msg.ThreadId); err != nil || st.Marked != 1 {
		t.Errorf("MarkThreadRead = %+v, %v; want 1 marked", st, err)
	}
	if _, err := alice.MarkRead(ctx, msg.MessageId); !sdk.IsNotFound(err) {
		t.Errorf("the sender marks her own message: %v, want 404 (not a recipient)", err)
	}
}
