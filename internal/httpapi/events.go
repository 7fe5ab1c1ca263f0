package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/agcom/agcom/gen/agcomv1"
	"github.com/agcom/agcom/internal/agcom"
	"github.com/agcom/agcom/internal/auth"
)

// eventSource is what the event handlers read and wait on.
type eventSource interface {
	// Events returns the caller's events after the cursor after (or, when
	// after is nil, none, with the current head as Next). Returns EGONE for
	// a cursor older than the retention period.
	Events(ctx context.Context, caller agcom.Caller, after *int64, limit int) (agcom.EventPage, error)
	// Subscribe signals on the channel whenever an event the caller reads
	// is committed; the function ends the subscription.
	Subscribe(caller agcom.Caller) (<-chan struct{}, func())
}

// Event delivery tuning.
const (
	// defaultEventLimit is the default of GET /events?limit in openapi.yaml,
	// and streamBatch, how many events a stream reads at a time, its
	// maximum (defaults_test.go keeps them equal).
	defaultEventLimit = 100
	streamBatch       = 500
	defaultKeepAlive  = 15 * time.Second
	retryAdviceMillis = 2000
	streamWriteWait   = 30 * time.Second // a client that stops reading is dropped
	// streamsFullRetry is the advice given when no stream slot is free.
	streamsFullRetry = 5
	// pendingRetry is how soon a wait reads again when the store has
	// events it cannot deliver yet (EventPage.Pending): their wake-up has
	// come already.
	pendingRetry = 20 * time.Millisecond
	// pendingWait is how long a long-poll that does not wait still waits
	// for such events.
	pendingWait = time.Second
)

// ListEvents implements GET /events: a long-poll from a cursor.
func (s *Server) ListEvents(ctx context.Context, req agcomv1.ListEventsRequestObject) (agcomv1.ListEventsResponseObject, error) {
	caller, err := callerFrom(ctx)
	if err != nil {
		return nil, err
	}
	after, err := parseCursor("after", req.Params.After)
	if err != nil {
		return nil, err
	}
	limit := orDefault(req.Params.Limit, defaultEventLimit)
	wait := time.Duration(deref(req.Params.Wait)) * time.Second
	if wait > 0 {
		release, err := s.streams.acquire(caller.Handle)
		if err != nil {
			return nil, err
		}
		defer release()
	}
	// Subscribe before reading, so that an event committed in between
	// still wakes the wait.
	wake, unsubscribe := s.store.Subscribe(caller)
	defer unsubscribe()
	page, err := s.store.Events(ctx, caller, after, limit)
	if err != nil {
		return nil, err
	}
	// Events after the cursor that wait behind an older transaction are as
	// good as there: even a caller that does not wait gets them, within
	// pendingWait.
	waits := func(p agcom.EventPage) bool { return wait > 0 || (p.Pending && after != nil) }
	if len(page.Events) == 0 && waits(page) {
		cursor := page.Next
		timer := time.NewTimer(max(wait, pendingWait))
		defer timer.Stop()
	waiting:
		for len(page.Events) == 0 && waits(page) {
			select {
			case <-wake:
			case <-retryIfPending(page):
			case <-timer.C:
				break waiting
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			// The caller may have lost its rights while it waited.
			if caller, err = s.recheck(ctx); err != nil {
				return nil, err
			}
			if page, err = s.store.Events(ctx, caller, &cursor, limit); err != nil {
				return nil, err
			}
		}
	}
	return agcomv1.ListEvents200JSONResponse(toAPIEventPage(page)), nil
}

// retryIfPending fires after pendingRetry when page has events waiting
// to be delivered, and never otherwise.
func retryIfPending(page agcom.EventPage) <-chan time.Time {
	if !page.Pending {
		return nil
	}
	return time.After(pendingRetry)
}

// recheck answers who the caller of a request still open is now: its
// token may have expired or been revoked, its agent disabled or demoted.
func (s *Server) recheck(ctx context.Context) (agcom.Caller, error) {
	claims, ok := auth.ClaimsFrom(ctx)
	if !ok {
		return callerFrom(ctx)
	}
	return s.authn.Recheck(ctx, claims)
}

// StreamEvents implements GET /events/stream: Server-Sent Events from a
// cursor. It answers errors (no free stream slot, a bad or expired cursor)
// before the stream starts; the stream itself is written by eventStream.
func (s *Server) StreamEvents(ctx context.Context, req agcomv1.StreamEventsRequestObject) (agcomv1.StreamEventsResponseObject, error) {
	caller, err := callerFrom(ctx)
	if err != nil {
		return nil, err
	}
	raw := req.Params.After
	if req.Params.LastEventID != nil && *req.Params.LastEventID != "" {
		raw = req.Params.LastEventID
	}
	after, err := parseCursor("Last-Event-ID", raw)
	if err != nil {
		return nil, err
	}
	release, err := s.streams.acquire(caller.Handle)
	if err != nil {
		return nil, err
	}
	// Check the cursor now, while an error can still be an error response.
	first, err := s.store.Events(ctx, caller, after, streamBatch)
	if err != nil {
		release()
		return nil, err
	}
	return eventStream{ctx: ctx, s: s, caller: caller, first: first, release: release}, nil
}

// eventStream writes the event stream: the backlog, then live events as
// the store signals them, with keep-alive comments in between. It checks
// its caller again and reads again at every wake and keep-alive, and ends
// once the answer changed.
type eventStream struct {
	ctx     context.Context
	s       *Server
	caller  agcom.Caller
	first   agcom.EventPage
	release func()
}

// VisitStreamEventsResponse writes the stream until the client leaves or
// the caller's rights change.
func (es eventStream) VisitStreamEventsResponse(w http.ResponseWriter) error {
	defer es.release()
	wake, unsubscribe := es.s.store.Subscribe(es.caller)
	defer unsubscribe()
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	write := func(s string) error {
		rc.SetWriteDeadline(time.Now().Add(streamWriteWait))
		if _, err := fmt.Fprint(w, s); err != nil {
			return err
		}
		return rc.Flush()
	}
	if err := write(fmt.Sprintf("retry: %d\n\n", retryAdviceMillis)); err != nil {
		return nil // the client left
	}
	keepAlive := time.NewTicker(es.s.keepAlive)
	defer keepAlive.Stop()
	page := es.first
	for {
		for _, e := range page.Events {
			data, err := json.Marshal(toAPIEvent(e))
			if err != nil {
				return err
			}
			if err := write(fmt.Sprintf("id: %d\nevent: %s\ndata: %s\n\n", e.Cursor, e.Type, data)); err != nil {
				return nil
			}
		}
		cursor := page.Next
		// A full page means more backlog is waiting; otherwise wait for
		// a wake, with keep-alives (and checks of the caller) meanwhile.
		for woken := len(page.Events) == streamBatch; !woken; {
			select {
			case <-wake:
				woken = true
			case <-retryIfPending(page):
				woken = true
			case <-keepAlive.C:
				if err := write(": keep-alive\n\n"); err != nil {
					return nil
				}
				// Read again too: a wake-up from another node can be
				// lost if that node stops right after its commit.
				woken = true
			case <-es.ctx.Done():
				return nil
			}
		}
		if ended := es.ended(); ended != "" {
			write(": " + ended + "\n\n")
			return nil
		}
		var err error
		if page, err = es.s.store.Events(es.ctx, es.caller, &cursor, streamBatch); err != nil {
			// The stream has started: say so in a comment and end it; the
			// client reconnects from its last id.
			write(": error reading events; reconnect\n\n")
			return nil
		}
	}
}

// ended checks the caller again and says why the stream must end, or
// returns "" while the caller may go on seeing what it saw.
func (es eventStream) ended() string {
	now, err := es.s.recheck(es.ctx)
	var e *agcom.Error
	switch {
	case errors.As(err, &e) && e.Code == agcom.EUNAUTHENTICATED:
		return "authentication ended: " + e.Message
	case err != nil:
		return "error checking the caller; reconnect"
	case now.IsAdmin != es.caller.IsAdmin:
		return "the agent's rights changed; reconnect"
	}
	return ""
}

// StreamLimits bound the event streams and waiting long-polls open at
// once; zero means no bound.
type StreamLimits struct {
	PerAgent int
	Total    int
}

// streamSlots counts open streams, per agent and in all.
type streamSlots struct {
	limits   StreamLimits
	mu       sync.Mutex
	total    int
	perAgent map[string]int
}

func newStreamSlots(l StreamLimits) *streamSlots {
	return &streamSlots{limits: l, perAgent: map[string]int{}}
}

// acquire takes a slot for handle, or answers RateLimitExceeded when the
// agent's or the server's slots are all taken. release gives it back.
func (s *streamSlots) acquire(handle string) (release func(), err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	full := func(scope string, limit int) error {
		return &agcom.Error{Code: agcom.ERATELIMIT, RetryAfter: streamsFullRetry,
			Message: fmt.Sprintf("too many open event streams (%s limit %d): close one first", scope, limit),
			Details: map[string]any{"limit": limit, "scope": scope}}
	}
	if l := s.limits.PerAgent; l > 0 && s.perAgent[handle] >= l {
		return nil, full("agent", l)
	}
	if l := s.limits.Total; l > 0 && s.total >= l {
		return nil, full("server", l)
	}
	s.total++
	s.perAgent[handle]++
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.total--
			if s.perAgent[handle]--; s.perAgent[handle] == 0 {
				delete(s.perAgent, handle)
			}
		})
	}, nil
}

// parseCursor reads an optional cursor parameter.
func parseCursor(name string, raw *string) (*int64, error) {
	if raw == nil || *raw == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(*raw, 10, 64)
	if err != nil || n < 0 {
		return nil, agcom.Invalid(name, "must be a cursor from an earlier event")
	}
	return &n, nil
}

func toAPIEventPage(p agcom.EventPage) agcomv1.EventPage {
	return agcomv1.EventPage{Events: convertAll(p.Events, toAPIEvent), NextCursor: strconv.FormatInt(p.Next, 10)}
}

func toAPIEvent(e agcom.Event) agcomv1.Event {
	data := map[string]any{}
	switch {
	case e.Message != nil:
		data["message"] = toAPIMessage(*e.Message)
	case e.Thread != nil:
		data["thread"] = toAPIThread(*e.Thread)
	case e.Type == agcom.EventMessageRead:
		data["message_ids"] = nonNil(e.MessageIDs)
		data["read_at"] = e.ReadAt
	}
	return agcomv1.Event{
		Cursor: strconv.FormatInt(e.Cursor, 10), Type: agcomv1.EventType(e.Type),
		ThreadId: e.ThreadID, CreatedAt: e.CreatedAt, Data: data,
	}
}
