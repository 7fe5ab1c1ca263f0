package sdk

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/agcom/agcom/gen/agcomv1"
)

// Event stream tuning.
const (
	// defaultReconnectWait is the wait before reconnecting until the
	// server advises one with `retry:`.
	defaultReconnectWait = 2 * time.Second
	// maxReconnectWait bounds the server's advice and the backoff while
	// reconnecting fails.
	maxReconnectWait = 30 * time.Second
	// streamIdleTimeout ends a connection that has been silent this long,
	// neither events nor keep-alive comments, and reconnects: the
	// connection is probably dead.
	streamIdleTimeout = DefaultTimeout
	// maxEventLine bounds one line of the stream; an event's data is one
	// line of JSON.
	maxEventLine = 16 << 20
)

// EventStream reads the caller's events, oldest first, from the
// Server-Sent Events stream GET /events/stream. Get one from
// Client.Events and read it like a bufio.Scanner:
//
//	stream, err := c.Events(ctx, cursor)
//	if err != nil { ... }
//	defer stream.Close()
//	for stream.Next() {
//		ev := stream.Event() // ev.Cursor is where to resume later
//	}
//	if err := stream.Err(); err != nil { ... }
//
// When the connection drops, or stays silent too long, Next reconnects on
// its own after the wait the server advised with `retry:`, resuming with
// Last-Event-ID set to the last cursor it delivered, so no event is
// missed and none is delivered twice. It keeps reconnecting while the
// server is unreachable or answers 429 or 5xx, backing off, and stops
// when the context ends (Err is then the context's error) or the server
// refuses the stream: a 410 CursorExpired, say, is an *Error for which
// IsCursorExpired is true; resynchronise and start again without a
// cursor.
//
// An EventStream is not safe for concurrent use.
type EventStream struct {
	c   *Client
	ctx context.Context

	// cursor is the last event delivered, or the starting cursor; last
	// is its value, for dropping repeats.
	cursor string
	last   uint64
	// wait is the server's reconnection advice.
	wait time.Duration

	// The current connection; lines is nil between connections.
	lines  *bufio.Scanner
	body   io.Closer
	cancel context.CancelFunc
	idle   *time.Timer

	event  agcomv1.Event
	err    error
	closed bool
}

// Events opens the caller's event stream after the cursor after: the
// events after it first, then new ones as they happen. An empty after
// means from now on (the Client asks GET /events for the current cursor
// first, so that even a reconnect before the first event misses nothing).
// Errors in connecting, such as a 401 or a 410 CursorExpired, are
// returned here; see EventStream for what happens after.
//
// The stream is not bounded by the HTTP client's Timeout, which would cut
// it: a connection silent for longer than DefaultTimeout (the server
// sends keep-alive comments) is replaced instead.
func (c *Client) Events(ctx context.Context, after string) (*EventStream, error) {
	if after == "" {
		page, err := c.ListEvents(ctx, nil)
		if err != nil {
			return nil, err
		}
		after = page.NextCursor
	}
	s := &EventStream{c: c, ctx: ctx, wait: defaultReconnectWait}
	if err := s.setCursor(after); err != nil {
		return nil, err
	}
	if err := s.connect(); err != nil {
		return nil, err
	}
	return s, nil
}

// Next waits for the next event and reports whether there is one; read it
// with Event. It returns false when the context ends, the stream fails
// for good or it was closed; Err tells which.
func (s *EventStream) Next() bool {
	for !s.closed && s.err == nil {
		if s.lines == nil {
			s.err = s.reconnect()
			continue
		}
		ev, ok, err := s.read()
		switch {
		case err != nil:
			s.err = err
		case ok:
			n, err := strconv.ParseUint(ev.Cursor, 10, 64)
			if err != nil {
				s.err = fmt.Errorf("agcom: event stream: an event with cursor %q", ev.Cursor)
			} else if n > s.last { // else it was sent again after a reconnect
				s.event, s.cursor, s.last = ev, ev.Cursor, n
				return true
			}
		default: // the connection ended
			s.disconnect()
			s.err = s.ctx.Err()
		}
	}
	s.disconnect()
	return false
}

// Event returns the event Next found.
func (s *EventStream) Event() agcomv1.Event { return s.event }

// Cursor returns the cursor of the last event Next delivered (the
// starting cursor before the first): keep it to resume from later.
func (s *EventStream) Cursor() string { return s.cursor }

// Err returns why Next returned false: nil after Close, the context's
// error when it ended, else what stopped the stream.
func (s *EventStream) Err() error { return s.err }

// Close ends the stream. It is safe to call more than once.
func (s *EventStream) Close() error {
	s.closed = true
	s.disconnect()
	return nil
}

// setCursor sets the cursor a connection resumes after.
func (s *EventStream) setCursor(cursor string) error {
	n, err := strconv.ParseUint(cursor, 10, 64)
	if err != nil {
		return fmt.Errorf("agcom: event cursor %q: want digits from an event or an EventPage", cursor)
	}
	s.cursor, s.last = cursor, n
	return nil
}

// connect opens a connection that resumes after s.cursor.
func (s *EventStream) connect() error {
	req, err := agcomv1.NewStreamEventsRequest(s.c.server, &agcomv1.StreamEventsParams{LastEventID: &s.cursor})
	if err != nil {
		return fmt.Errorf("agcom: %w", err)
	}
	ctx, cancel := context.WithCancel(s.ctx)
	req = req.WithContext(ctx)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := s.c.stream.Do(req)
	if err != nil {
		cancel()
		return err
	}
	if resp.StatusCode != http.StatusOK {
		defer cancel()
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxPeekBytes))
		if err != nil {
			return fmt.Errorf("agcom: read response: %w", err)
		}
		return newError(resp.StatusCode, body)
	}
	s.lines = bufio.NewScanner(resp.Body)
	s.lines.Buffer(nil, maxEventLine)
	s.body, s.cancel = resp.Body, cancel
	s.idle = time.AfterFunc(streamIdleTimeout, cancel)
	return nil
}

// reconnect waits the advised time and connects again, for as long as
// the failures are worth retrying, waiting longer each time.
func (s *EventStream) reconnect() error {
	wait := s.wait
	for {
		if err := s.c.sleep(s.ctx, wait); err != nil {
			return err
		}
		err := s.connect()
		if err == nil || s.ctx.Err() != nil || !transient(err) {
			return err
		}
		wait = min(2*wait, maxReconnectWait)
	}
}

// transient reports whether a failure to connect may pass: no answer at
// all, a rate limit or a server error.
func transient(err error) bool {
	e, ok := errors.AsType[*Error](err)
	return !ok || e.Status == http.StatusTooManyRequests || e.Status >= http.StatusInternalServerError
}

// disconnect closes the current connection, if any.
func (s *EventStream) disconnect() {
	if s.lines == nil {
		return
	}
	s.idle.Stop()
	s.cancel()
	s.body.Close()
	s.lines, s.body, s.cancel, s.idle = nil, nil, nil, nil
}

// read reads the current connection up to the next event. It returns
// ok false when the connection ends, which drops an event it cut short.
// A frame is `field: value` lines ended by a blank line; comments (lines
// starting with a colon) keep the connection alive.
func (s *EventStream) read() (ev agcomv1.Event, ok bool, err error) {
	var id string
	var data []byte
	for s.lines.Scan() {
		s.idle.Reset(streamIdleTimeout)
		line := s.lines.Text()
		if line == "" { // the end of a frame
			if data == nil {
				continue
			}
			if err := json.Unmarshal(data, &ev); err != nil {
				return ev, false, fmt.Errorf("agcom: event %s: %w", id, err)
			}
			if ev.Cursor == "" {
				ev.Cursor = id
			}
			return ev, true, nil
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "id":
			id = value
		case "data":
			data = append(append(data, value...), '\n')
		case "retry":
			if ms, err := strconv.Atoi(value); err == nil && ms >= 0 {
				s.wait = min(time.Duration(ms)*time.Millisecond, maxReconnectWait)
			}
		}
		// "event" repeats the JSON's type; "" is a comment.
	}
	if errors.Is(s.lines.Err(), bufio.ErrTooLong) {
		return ev, false, fmt.Errorf("agcom: event stream: a line longer than %d bytes", maxEventLine)
	}
	return ev, false, nil
}
