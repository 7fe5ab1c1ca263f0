package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/agcom/agcom/gen/agcomv1"
	"github.com/agcom/agcom/internal/agcom"
)

// Event delivery tuning.
const (
	defaultEventLimit = 100
	streamBatch       = 500
	keepAliveEvery    = 15 * time.Second
	retryAdviceMillis = 2000
	streamWriteWait   = 30 * time.Second // a client that stops reading is dropped
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
	limit := deref(req.Params.Limit)
	if limit <= 0 {
		limit = defaultEventLimit
	}
	// Subscribe before reading, so that an event committed in between
	// still wakes the wait.
	wake, unsubscribe := s.store.Subscribe(caller.Handle)
	defer unsubscribe()
	page, err := s.store.Events(ctx, caller, after, limit)
	if err != nil {
		return nil, err
	}
	if wait := time.Duration(deref(req.Params.Wait)) * time.Second; len(page.Events) == 0 && wait > 0 {
		cursor := page.Next
		timer := time.NewTimer(wait)
		defer timer.Stop()
	waiting:
		for len(page.Events) == 0 {
			select {
			case <-wake:
				if page, err = s.store.Events(ctx, caller, &cursor, limit); err != nil {
					return nil, err
				}
			case <-timer.C:
				break waiting
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
	}
	return agcomv1.ListEvents200JSONResponse(toAPIEventPage(page)), nil
}

// StreamEvents implements GET /events/stream: Server-Sent Events from a
// cursor. It answers errors (a bad or expired cursor) before the stream
// starts; the stream itself is written by eventStream.
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
	// Check the cursor now, while an error can still be an error response.
	first, err := s.store.Events(ctx, caller, after, streamBatch)
	if err != nil {
		return nil, err
	}
	return eventStream{ctx: ctx, s: s, caller: caller, first: first}, nil
}

// eventStream writes the event stream: the backlog, then live events as
// the store signals them, with keep-alive comments in between.
type eventStream struct {
	ctx    context.Context
	s      *Server
	caller agcom.Caller
	first  agcom.EventPage
}

// VisitStreamEventsResponse writes the stream until the client leaves.
func (es eventStream) VisitStreamEventsResponse(w http.ResponseWriter) error {
	wake, unsubscribe := es.s.store.Subscribe(es.caller.Handle)
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
	page := es.first
	keepAlive := time.NewTicker(keepAliveEvery)
	defer keepAlive.Stop()
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
		if len(page.Events) < streamBatch { // otherwise more backlog is waiting
			select {
			case <-wake:
			case <-keepAlive.C:
				if err := write(": keep-alive\n\n"); err != nil {
					return nil
				}
				continue
			case <-es.ctx.Done():
				return nil
			}
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
