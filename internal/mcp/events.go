package mcp

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	mcpsdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agcom/agcom/internal/agcom"
)

// The long-poll operation and its parameters, as the contract names them.
const (
	listEventsTool = "list_events"
	waitArg        = "wait"
	limitArg       = "limit"
)

// defaultWaitSeconds is how long wait_for_events waits when not told:
// well inside the 60 s most MCP clients give a request.
const defaultWaitSeconds = 30

// waitTool is wait_for_events: the long-poll (list_events) with a wait by
// default, for a model that must block until something arrives. It also
// returns the most events one read of the log may return.
func waitTool(tools []tool) (tool, int, error) {
	i := slices.IndexFunc(tools, func(t tool) bool { return t.def.Name == listEventsTool })
	if i < 0 {
		return tool{}, 0, fmt.Errorf("mcp: the contract has no operation listEvents for wait_for_events")
	}
	list := tools[i]
	input := maps.Clone(list.def.InputSchema.(map[string]any))
	props := maps.Clone(input["properties"].(map[string]any))
	wait, ok := props[waitArg].(map[string]any)
	if !ok {
		return tool{}, 0, fmt.Errorf("mcp: listEvents has no parameter %q", waitArg)
	}
	wait = maps.Clone(wait)
	seconds := float64(defaultWaitSeconds)
	if most, ok := wait["maximum"].(float64); ok && most < seconds {
		seconds = most
	}
	wait["default"] = int(seconds)
	props[waitArg] = wait
	input["properties"] = props
	batch := 0
	if limit, ok := props[limitArg].(map[string]any); ok {
		if most, ok := limit["maximum"].(float64); ok {
			batch = int(most)
		}
	}
	op := list.op
	op.defaults = map[string]any{waitArg: int(seconds)}
	def := *list.def
	def.Name = "wait_for_events"
	def.Title = "Wait for your next events"
	def.Description = fmt.Sprintf(`Waits until an event for you is in your log after the cursor "after", then returns the events and next_cursor; after "wait" seconds (default %d) with none, returns no events and the same cursor. Pass next_cursor as "after" next time, so nothing is missed or seen twice; without "after", only events from now on. Event types: message.created (a message in one of your threads; data.message), thread.updated (data.thread), message.read (your read state changed elsewhere).

`, int(seconds)) + list.def.Description
	def.InputSchema = input
	return tool{def: &def, op: op}, batch, nil
}

// inboxWatch tells a session's subscriber when its inbox changes.
type inboxWatch struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// eventPage is the part of GET /events the watch reads.
type eventPage struct {
	Events []struct {
		Type string `json:"type"`
		Data struct {
			Message *struct {
				ToHandles []string `json:"to_handles"`
			} `json:"message"`
		} `json:"data"`
	} `json:"events"`
	NextCursor string `json:"next_cursor"`
}

// subscribe starts watching the caller's inbox: from its events' head,
// woken by the event hub, as the event stream is.
func (sess *session) subscribe(ctx context.Context, req *mcpsdk.SubscribeRequest) error {
	if req.Params.URI != inboxURI {
		return mcpsdk.ResourceNotFoundError(req.Params.URI)
	}
	c, ok := callerOf(req.Extra)
	if !ok {
		return fmt.Errorf("no caller")
	}
	sess.mu.Lock()
	watching := sess.watch != nil
	sess.mu.Unlock()
	if watching {
		return nil
	}
	// Subscribe before reading the head, so that an event committed in // its own log: its inbox holds only what is addressed to it
	// between still wakes the watch.
	wake, unsubscribe := sess.s.events.Subscribe(agcom.Caller{Handle: sess.handle})
	status, body := sess.s.call(ctx, c, apiRequest{method: http.MethodGet, target: "/events"})
	var page eventPage
	if status != http.StatusOK || json.Unmarshal(body, &page) != nil {
		unsubscribe()
		return apiError(status, body)
	}
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if sess.watch != nil {
		unsubscribe() // a concurrent subscribe won
		return nil
	}
	wctx, cancel := context.WithCancel(context.Background())
	w := &inboxWatch{cancel: cancel, done: make(chan struct{})}
	sess.watch = w
	go func() {
		defer close(w.done)
		defer unsubscribe()
		sess.watchInbox(wctx, wake, page.NextCursor)
	}()
	return nil
}

func (sess *session) unsubscribe(_ context.Context, req *mcpsdk.UnsubscribeRequest) error {
	if req.Params.URI != inboxURI {
		return mcpsdk.ResourceNotFoundError(req.Params.URI)
	}
	sess.stopWatch()
	return nil
}

// stopWatch ends the inbox watch, if any, and waits for it to end.
func (sess *session) stopWatch() {
	sess.mu.Lock()
	w := sess.watch
	sess.watch = nil
	sess.mu.Unlock()
	if w != nil {
		w.cancel()
		<-w.done
	}
}

// watchInbox reads the caller's events after cursor whenever the hub
// wakes it, and notifies the subscriber when one changed its inbox: a
// message addressed to it, or a change of its read state. Each read goes
// through the API with the session's latest credentials, so it checks
// the caller again: once they are refused, the session ends.
func (sess *session) watchInbox(ctx context.Context, wake <-chan struct{}, cursor string) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-wake:
		}
		changed := false
		for more := true; more; {
			sess.mu.Lock()
			c := sess.latest
			sess.mu.Unlock()
			q := url.Values{"after": {cursor}}
			if sess.s.eventsBatch > 0 {
				q.Set(limitArg, strconv.Itoa(sess.s.eventsBatch))
			}
			status, body := sess.s.call(ctx, c, apiRequest{method: http.MethodGet, target: "/events?" + q.Encode()})
			var page eventPage
			switch {
			case ctx.Err() != nil:
				return
			case status == http.StatusOK && json.Unmarshal(body, &page) == nil:
				for _, e := range page.Events {
					switch {
					case e.Type == "message.read":
						changed = true
					case e.Type == "message.created" && e.Data.Message != nil && slices.Contains(e.Data.Message.ToHandles, sess.handle):
						changed = true
					}
				}
				cursor = page.NextCursor
				more = sess.s.eventsBatch > 0 && len(page.Events) >= sess.s.eventsBatch
			case status == http.StatusUnauthorized || status == http.StatusForbidden:
				sess.s.log.Info("mcp: session ended: its caller was refused", "agent", sess.handle, "request_id", c.requestID, "status", status)
				go sess.close()
				return
			case status == http.StatusGone:
				// Events were pruned past the cursor: start again from
				// the head, and say the inbox may have changed.
				status, body = sess.s.call(ctx, c, apiRequest{method: http.MethodGet, target: "/events"})
				if status == http.StatusOK && json.Unmarshal(body, &page) == nil {
					cursor = page.NextCursor
				}
				changed, more = true, false
			default:
				// Rate limited or unavailable: the inbox may have changed;
				// the next wake reads again from the same cursor.
				changed, more = true, false
			}
		}
		if changed {
			sess.server.ResourceUpdated(ctx, &mcpsdk.ResourceUpdatedNotificationParams{URI: inboxURI})
		}
	}
}
