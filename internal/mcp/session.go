package mcp

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	mcpsdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// instructions tell a client's model what the server is for.
const instructions = `AgCom is an email-like messaging service for agents.
send_message opens a thread with other agents; reply_to_message and
reply_to_thread answer; list_inbox shows the messages addressed to you, with
their read state; list_threads and list_thread_messages show conversations.
To wait for mail, call wait_for_events with the next_cursor of your previous
call, or subscribe to the resource agcom://inbox. Every tool is the REST API
operation of the same name (openapi.yaml); a failed call returns the API's
error type and message.`

// session is one MCP session: its own SDK server, and the inbox watch of
// its subscription.
type session struct {
	s      *Server
	id     string
	handle string
	server *mcpsdk.Server

	mu sync.Mutex
	ss *mcpsdk.ServerSession
	// latest is the caller of the session's latest request, whose
	// credentials the inbox watch uses: a client that renews its token
	// keeps its subscription.
	latest   caller
	open     int // requests in progress, notification streams included
	lastUsed time.Time
	watch    *inboxWatch
}

func newSession(s *Server, handle string) *session {
	sess := &session{s: s, id: rand.Text(), handle: handle, lastUsed: time.Now()}
	srv := mcpsdk.NewServer(s.impl, &mcpsdk.ServerOptions{
		Instructions:       instructions,
		Logger:             s.sdkLog,
		GetSessionID:       func() string { return sess.id },
		SubscribeHandler:   sess.subscribe,
		UnsubscribeHandler: sess.unsubscribe,
		// No logging capability; the tools and the inbox never change
		// during a session.
		Capabilities: &mcpsdk.ServerCapabilities{
			Tools:     &mcpsdk.ToolCapabilities{},
			Resources: &mcpsdk.ResourceCapabilities{Subscribe: true},
		},
	})
	srv.AddReceivingMiddleware(sess.middleware)
	for _, t := range s.tools {
		srv.AddTool(t.def, s.toolHandler(t))
	}
	srv.AddResource(inboxResource, s.readInbox)
	sess.server = srv
	return sess
}

func (sess *session) setSDKSession(ss *mcpsdk.ServerSession) {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	sess.ss = ss
}

// begin and end bracket every HTTP request of the session.
func (sess *session) begin() {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	sess.open++
}

func (sess *session) end() {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	sess.open--
	sess.lastUsed = time.Now()
}

// idleSince says how long the session has had no request open at now.
func (sess *session) idleSince(now time.Time) time.Duration {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if sess.open > 0 {
		return 0
	}
	return now.Sub(sess.lastUsed)
}

// close ends the session, if it started; its follower (Server.started)
// then forgets it.
func (sess *session) close() {
	sess.mu.Lock()
	ss := sess.ss
	sess.mu.Unlock()
	if ss != nil {
		ss.Close()
	}
}

// middleware notes each request's caller for the inbox watch, and lists
// the admin tools to admins only (a non-admin's call of one is refused by
// the API, as any other call of an admin operation).
func (sess *session) middleware(next mcpsdk.MethodHandler) mcpsdk.MethodHandler {
	return func(ctx context.Context, method string, req mcpsdk.Request) (mcpsdk.Result, error) {
		c, ok := callerOf(req.GetExtra())
		if ok {
			sess.mu.Lock()
			sess.latest = c
			sess.mu.Unlock()
		}
		res, err := next(ctx, method, req)
		if list, isList := res.(*mcpsdk.ListToolsResult); isList && err == nil && !(ok && c.admin) {
			visible := *list
			visible.Tools = slices.DeleteFunc(slices.Clone(list.Tools), sess.s.adminOnly)
			return &visible, nil
		}
		return res, err
	}
}

// adminOnly reports whether t is the tool of an admin operation.
func (s *Server) adminOnly(t *mcpsdk.Tool) bool {
	for _, x := range s.tools {
		if x.def.Name == t.Name {
			return x.admin
		}
	}
	return false
}

// toolHandler calls t's operation with the caller's own credentials.
func (s *Server) toolHandler(t tool) mcpsdk.ToolHandler {
	return func(ctx context.Context, req *mcpsdk.CallToolRequest) (*mcpsdk.CallToolResult, error) {
		c, ok := callerOf(req.Extra)
		if !ok {
			return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidRequest, Message: "no caller: the request was not authenticated"}
		}
		args, err := decodeArgs(req.Params.Arguments)
		if err != nil {
			return toolResult(http.StatusBadRequest, envelope(c, err)), nil
		}
		if t.handle != nil {
			return t.handle(ctx, s, c, args), nil
		}
		r, err := t.op.request(args)
		if err != nil {
			return toolResult(http.StatusBadRequest, envelope(c, err)), nil
		}
		return toolResult(s.call(ctx, c, r)), nil
	}
}

// inboxURI is the resource of the caller's inbox.
const inboxURI = "agcom://inbox"

var inboxResource = &mcpsdk.Resource{
	URI:         inboxURI,
	Name:        "inbox",
	Title:       "Your inbox",
	Description: "The messages addressed to you, newest first, with their read state: the first page of list_inbox. Subscribe to be told when a message arrives for you or a message's read state changes.",
	MIMEType:    "application/json",
}

// readInbox reads the caller's inbox (GET /inbox).
func (s *Server) readInbox(ctx context.Context, req *mcpsdk.ReadResourceRequest) (*mcpsdk.ReadResourceResult, error) {
	c, ok := callerOf(req.Extra)
	if !ok {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidRequest, Message: "no caller: the request was not authenticated"}
	}
	status, body := s.call(ctx, c, apiRequest{method: http.MethodGet, target: "/inbox"})
	if status != http.StatusOK {
		return nil, apiError(status, body)
	}
	return &mcpsdk.ReadResourceResult{Contents: []*mcpsdk.ResourceContents{
		{URI: inboxURI, MIMEType: "application/json", Text: string(body)},
	}}, nil
}

// apiError is an error answer of the API as a JSON-RPC error: its text
// leads with the envelope's type and message, and its data is the
// envelope.
func apiError(status int, body []byte) error {
	res := toolResult(status, body)
	data, _ := json.Marshal(res.StructuredContent)
	return &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: res.Content[0].(*mcpsdk.TextContent).Text, Data: data}
}
