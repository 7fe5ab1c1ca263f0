// Package mcp serves AgCom to LLM agents over the Model Context Protocol
// (streamable HTTP), with the official Go SDK.
//
// Its tools are derived from the contract at start-up (deriveTools): every
// operation an agent calls is a tool named after its operationId, and a
// call is a request to the REST API's own handler carrying the caller's
// token and request id, so that authentication, visibility, rate limits,
// validation, the audit trail, logs and metrics are the REST API's, and an
// error is its envelope. On top of them, wait_for_events long-polls the
// caller's events; upload_attachment and get_attachment, made by hand of
// the contract's attachment operations, carry a file's bytes as text or
// base64; and the resource agcom://inbox is the caller's inbox, whose
// subscribers are told when it changes.
//
// Each MCP session has a server of its own (the SDK sends resource
// notifications to every session of a server, and each agent's inbox is
// its own); sessions are bounded per agent and in all, and closed when
// idle.
package mcp

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	sdkauth "github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	mcpsdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agcom/agcom/internal/agcom"
	"github.com/agcom/agcom/internal/auth"
)

// Events wakes the watchers of an agent's inbox whenever an event for the
// agent is committed, on any node (the store's event hub, as the event
// stream uses it).
type Events interface {
	Subscribe(caller agcom.Caller) (<-chan struct{}, func())
}

// Limits bound the MCP sessions open at once; zero means no bound.
type Limits struct {
	PerAgent int
	Total    int
	// IdleTimeout closes a session that has had no request open for this
	// long; zero keeps idle sessions open.
	IdleTimeout time.Duration
}

// Options configure the MCP server.
type Options struct {
	// Spec is the contract whose operations become tools.
	Spec *openapi3.T
	// BasePath is where the REST API serves the contract's paths.
	BasePath string
	Events   Events
	Limits   Limits
	// MaxBodyBytes bounds the body of a request to /mcp, as the API's
	// bodies are bounded; larger ones get 413. Zero is the SDK's default.
	MaxBodyBytes int64
	// MaxAttachmentBytes bounds the file get_attachment answers with;
	// zero is DefaultMaxAttachmentBytes.
	MaxAttachmentBytes int64
	Logger             *slog.Logger
	Version            string
}

// sessionsFullRetry is the advice given when no session slot is free.
const sessionsFullRetry = 5

// Server serves MCP. Mount it on the API (Mount), behind the API's
// authentication.
type Server struct {
	tools    []tool
	basePath string
	events   Events
	limits   Limits
	maxBody  int64
	log      *slog.Logger
	sdkLog   *slog.Logger
	impl     *mcpsdk.Implementation
	// uploadPath is the REST API's upload, for files too large for MCP.
	uploadPath string
	// eventsBatch is how many events the inbox watcher reads at a time:
	// the most GET /events gives.
	eventsBatch int

	// Set by Mount.
	api        http.Handler
	writeError func(http.ResponseWriter, *http.Request, error)
	handler    http.Handler

	// base answers the SDK's questions about the protocol for requests
	// of sessions that exist; sessions get servers of their own.
	base *mcpsdk.Server

	mu       sync.Mutex
	sessions map[string]*session
	// perAgent counts each agent's sessions, those being opened included;
	// opening counts the sessions being opened, not yet in sessions.
	perAgent map[string]int
	opening  int
	closed   bool
	stop     chan struct{}
	stopped  chan struct{}
}

// New derives the tools from the contract and starts closing idle
// sessions; Close stops it.
func New(o Options) (*Server, error) {
	tools, err := deriveTools(o.Spec)
	if err != nil {
		return nil, err
	}
	wait, batch, err := waitTool(tools)
	if err != nil {
		return nil, err
	}
	tools = append(tools, wait)
	maxBody := cmp.Or(o.MaxBodyBytes, mcpsdk.DefaultMaxRequestBodyBytes)
	attachments, err := attachmentTools(o.Spec, o.BasePath, maxBody, cmp.Or(o.MaxAttachmentBytes, DefaultMaxAttachmentBytes))
	if err != nil {
		return nil, err
	}
	tools = append(tools, attachments...)
	// A tool made by hand for an operation the contract later lets
	// deriveTools make too would be there twice.
	seen := map[string]bool{}
	for _, t := range tools {
		if seen[t.def.Name] {
			return nil, fmt.Errorf("mcp: two tools are named %q", t.def.Name)
		}
		seen[t.def.Name] = true
	}
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	s := &Server{
		tools: tools, basePath: o.BasePath, events: o.Events, limits: o.Limits, maxBody: maxBody, log: log,
		// The SDK reports every connection and notification at INFO;
		// the access log already has every request.
		sdkLog:      slog.New(minLevel{slog.LevelWarn, log.Handler()}),
		impl:        &mcpsdk.Implementation{Name: "agcom", Title: "AgCom", Version: o.Version},
		eventsBatch: batch,
		uploadPath:  o.BasePath + attachments[0].op.path, // upload_attachment's
		sessions:    map[string]*session{},
		perAgent:    map[string]int{},
		stop:        make(chan struct{}),
		stopped:     make(chan struct{}),
	}
	s.base = mcpsdk.NewServer(s.impl, &mcpsdk.ServerOptions{Logger: s.sdkLog})
	go s.closeIdle()
	return s, nil
}

// Mount returns the MCP endpoint's handler, which sends tool calls to api
// and writes its errors with writeError (the API's error envelope). It
// expects the API's authentication before it: every request carries its
// caller.
func (s *Server) Mount(api http.Handler, writeError func(http.ResponseWriter, *http.Request, error)) http.Handler {
	s.api, s.writeError = api, writeError
	streamable := mcpsdk.NewStreamableHTTPHandler(s.serverFor, &mcpsdk.StreamableHTTPOptions{
		// Answers to POSTs are plain JSON: nothing is streamed during a call.
		JSONResponse:        true,
		Logger:              s.sdkLog,
		MaxRequestBodyBytes: s.maxBody,
	})
	// The SDK's bearer-token middleware is how a request's caller reaches
	// the tools; it also keeps a session to the agent that opened it.
	s.handler = sdkauth.RequireBearerToken(s.verify, &sdkauth.RequireBearerTokenOptions{AllowMissingExpiration: true})(streamable)
	return s
}

// verify hands the SDK the caller the API's authentication found.
func (s *Server) verify(ctx context.Context, _ string, r *http.Request) (*sdkauth.TokenInfo, error) {
	c, ok := callerFrom(r)
	if !ok {
		return nil, sdkauth.ErrInvalidToken
	}
	return &sdkauth.TokenInfo{UserID: c.handle, Extra: map[string]any{callerKey: c}}, nil
}

type callerCtxKey struct{}

// authorization is the request's credential as an Authorization header,
// for the API calls its tool calls make: an API key sent as X-API-Key
// goes as a bearer token.
func authorization(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		return h
	}
	if key := r.Header.Get(auth.APIKeyHeader); key != "" {
		return "Bearer " + key
	}
	return ""
}

func callerFrom(r *http.Request) (caller, bool) {
	c, ok := r.Context().Value(callerCtxKey{}).(caller)
	return c, ok
}

// ServeHTTP serves one MCP request: it opens a session (within the
// limits), or serves one of the caller's sessions.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ac, ok := auth.CallerFrom(r.Context())
	if !ok {
		s.writeError(w, r, agcom.Errorf(agcom.EUNAUTHENTICATED, "missing bearer token: send Authorization: Bearer <token>"))
		return
	}
	c := caller{
		handle: ac.Handle, admin: ac.IsAdmin,
		authorization: authorization(r),
		// The API's request id middleware has already set it.
		requestID:    w.Header().Get("X-Request-ID"),
		remoteAddr:   r.RemoteAddr,
		forwardedFor: r.Header.Values("X-Forwarded-For"),
	}
	ctx := context.WithValue(r.Context(), callerCtxKey{}, c)
	ew := &errorWriter{ResponseWriter: w, r: r, write: s.writeError, maxBody: s.maxBody, uploadPath: s.uploadPath}
	if r.Method == http.MethodPost && r.Body != nil {
		ew.head = &bodyHead{ReadCloser: r.Body}
		r.Body = ew.head
	}
	defer ew.finish()
	if id := r.Header.Get("Mcp-Session-Id"); id != "" {
		if sess := s.session(id); sess != nil && sess.handle == c.handle {
			sess.begin()
			defer sess.end()
		}
		var rw http.ResponseWriter = ew
		if r.Method == http.MethodGet {
			rw = streamWriter(ew)
		}
		s.handler.ServeHTTP(rw, r.WithContext(ctx))
		return
	}
	if r.Method != http.MethodPost {
		s.handler.ServeHTTP(ew, r.WithContext(ctx))
		return
	}
	sess, err := s.open(c.handle)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	sess.begin()
	s.handler.ServeHTTP(ew, r.WithContext(context.WithValue(ctx, sessionCtxKey{}, sess)))
	sess.end()
	s.started(sess)
}

type sessionCtxKey struct{}

// serverFor gives the SDK the server of the session a request opens, and
// the shared base server to any other request.
func (s *Server) serverFor(r *http.Request) *mcpsdk.Server {
	if sess, ok := r.Context().Value(sessionCtxKey{}).(*session); ok {
		return sess.server
	}
	return s.base
}

// open makes a session for handle, or answers RateLimitExceeded when the
// agent's or the server's sessions are all taken. The session's server is
// made outside the lock, its slot taken before.
func (s *Server) open(handle string) (*session, error) {
	if err := s.reserve(handle); err != nil {
		return nil, err
	}
	sess := newSession(s, handle)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opening--
	s.sessions[sess.id] = sess
	return sess, nil
}

func (s *Server) reserve(handle string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	full := func(scope string, limit int) error {
		return &agcom.Error{Code: agcom.ERATELIMIT, RetryAfter: sessionsFullRetry,
			Message: fmt.Sprintf("too many open MCP sessions (%s limit %d): end one first (HTTP DELETE with its Mcp-Session-Id)", scope, limit),
			Details: map[string]any{"limit": limit, "scope": scope}}
	}
	switch {
	case s.closed:
		return agcom.Errorf(agcom.EUNAVAILABLE, "the server is shutting down")
	case s.limits.PerAgent > 0 && s.perAgent[handle] >= s.limits.PerAgent:
		return full("agent", s.limits.PerAgent)
	case s.limits.Total > 0 && len(s.sessions)+s.opening >= s.limits.Total:
		return full("server", s.limits.Total)
	}
	s.perAgent[handle]++
	s.opening++
	return nil
}

// started follows a session after the request that opened it: until it
// closes, or at once when the request did not leave one open.
func (s *Server) started(sess *session) {
	var ss *mcpsdk.ServerSession
	for x := range sess.server.Sessions() {
		ss = x
	}
	if ss == nil {
		s.forget(sess)
		return
	}
	sess.setSDKSession(ss)
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		ss.Close() // Close ran while the session was opening
	}
	go func() {
		ss.Wait()
		s.forget(sess)
	}()
}

// forget drops a closed session and gives its slot back.
func (s *Server) forget(sess *session) {
	sess.stopWatch()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sessions[sess.id] != sess {
		return
	}
	delete(s.sessions, sess.id)
	if s.perAgent[sess.handle]--; s.perAgent[sess.handle] <= 0 {
		delete(s.perAgent, sess.handle)
	}
}

func (s *Server) session(id string) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions[id]
}

// closeIdle closes, every little while, the sessions idle for longer
// than the idle timeout.
func (s *Server) closeIdle() {
	defer close(s.stopped)
	if s.limits.IdleTimeout <= 0 {
		<-s.stop
		return
	}
	t := time.NewTicker(max(s.limits.IdleTimeout/4, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case now := <-t.C:
			s.mu.Lock()
			var idle []*session
			for _, sess := range s.sessions {
				if sess.idleSince(now) > s.limits.IdleTimeout {
					idle = append(idle, sess)
				}
			}
			s.mu.Unlock()
			for _, sess := range idle {
				sess.close()
			}
		}
	}
}

// Close closes every session (which ends their streams) and refuses new
// ones.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	open := make([]*session, 0, len(s.sessions))
	for _, sess := range s.sessions {
		open = append(open, sess)
	}
	s.mu.Unlock()
	close(s.stop)
	<-s.stopped
	for _, sess := range open {
		sess.close()
		sess.stopWatch()
	}
	return nil
}

// errorWriter answers the SDK's own plain-text HTTP errors (an unknown
// session, a wrong media type, a body too large) in the API's error
// envelope, like every other error of the API.
type errorWriter struct {
	http.ResponseWriter
	r       *http.Request
	write   func(http.ResponseWriter, *http.Request, error)
	maxBody int64
	// uploadPath is where a file too large for an MCP request can go.
	uploadPath string
	// head is the start of a POST's body, whose JSON-RPC id a 413
	// answers.
	head *bodyHead
	// status is the error being held back; msg its text.
	status int
	msg    bytes.Buffer
	sent   bool
}

// maxErrorText bounds the SDK's error text kept for the envelope.
const maxErrorText = 1024

func (w *errorWriter) WriteHeader(code int) {
	if !w.sent && w.status == 0 && code >= http.StatusBadRequest {
		if mt, _, _ := mime.ParseMediaType(w.Header().Get("Content-Type")); mt == "text/plain" {
			w.status = code
			return
		}
	}
	if w.status == 0 {
		w.sent = true
		w.ResponseWriter.WriteHeader(code)
	}
}

func (w *errorWriter) Write(b []byte) (int, error) {
	if w.status != 0 {
		if room := maxErrorText - w.msg.Len(); room > 0 {
			w.msg.Write(b[:min(len(b), room)])
		}
		return len(b), nil
	}
	w.sent = true
	return w.ResponseWriter.Write(b)
}

func (w *errorWriter) Flush() {
	if w.status == 0 {
		http.NewResponseController(w.ResponseWriter).Flush()
	}
}

func (w *errorWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// finish writes the error held back, if any.
func (w *errorWriter) finish() {
	if w.status == 0 {
		return
	}
	w.Header().Del("Content-Type")
	msg := strings.TrimSpace(w.msg.String())
	e := &agcom.Error{Code: sdkErrorCode(w.status), Message: msg}
	if w.status == http.StatusRequestEntityTooLarge && w.maxBody > 0 {
		e.Message = fmt.Sprintf("the MCP request is larger than the limit of %d bytes (MAX_REQUEST_BODY_BYTES); "+
			"upload_attachment's content counts in it, base64 adding a third: upload a larger file with POST %s", w.maxBody, w.uploadPath)
		e.Details = map[string]any{"max_bytes": w.maxBody}
		if id := w.head.jsonrpcID(); id != nil {
			w.rpcError(e, id)
			return
		}
	}
	var err error = e
	if w.status >= http.StatusInternalServerError {
		err = errors.New("mcp: " + msg) // logged; the client sees InternalError
	}
	w.write(w.ResponseWriter, w.r, err)
}

// rpcError writes e's envelope as the JSON-RPC error answer to the
// request id as well: the envelope's error gains the JSON-RPC code, beside
// the id. A client then fails that call only; one that got a bare 413
// would take its session for broken.
func (w *errorWriter) rpcError(e *agcom.Error, id json.RawMessage) {
	rec := &recorder{header: w.Header()}
	w.write(rec, w.r, e)
	var env struct {
		Error map[string]any `json:"error"`
	}
	if json.Unmarshal(rec.body.Bytes(), &env) != nil || env.Error == nil {
		w.ResponseWriter.WriteHeader(rec.status)
		w.ResponseWriter.Write(rec.body.Bytes())
		return
	}
	env.Error["code"] = jsonrpc.CodeInvalidRequest
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "error": env.Error})
	w.ResponseWriter.WriteHeader(rec.status)
	w.ResponseWriter.Write(body)
}

// bodyHeadBytes is how much of a request body bodyHead keeps.
const bodyHeadBytes = 512

// bodyHead keeps the first bytes read of a request body.
type bodyHead struct {
	io.ReadCloser
	head []byte
}

func (b *bodyHead) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if room := bodyHeadBytes - len(b.head); room > 0 {
		b.head = append(b.head, p[:min(n, room)]...)
	}
	return n, err
}

// jsonrpcID is the id of the JSON-RPC request whose body starts with the
// bytes kept, when they hold it (nil when not: a client that writes the
// id after the params).
func (b *bodyHead) jsonrpcID() json.RawMessage {
	if b == nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b.head))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return nil
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil
		}
		if key == "id" {
			if v[0] == '"' || v[0] == '-' || (v[0] >= '0' && v[0] <= '9') {
				return v
			}
			return nil
		}
	}
	return nil
}

// sdkErrorCode maps the statuses the SDK answers with onto the API's
// error types.
func sdkErrorCode(status int) agcom.Code {
	switch status {
	case http.StatusUnauthorized:
		return agcom.EUNAUTHENTICATED
	case http.StatusForbidden:
		return agcom.EFORBIDDEN
	case http.StatusNotFound:
		return agcom.ENOTFOUND
	case http.StatusMethodNotAllowed:
		return agcom.EMETHOD
	case http.StatusRequestEntityTooLarge:
		return agcom.ETOOLARGE
	}
	return agcom.EINVALID
}

// streamWriteWait is how long one write to a notification stream may
// take; a client that stops reading is dropped.
const streamWriteWait = 30 * time.Second

// streamWriter lifts the server's write timeout from a notification
// stream, which lives as long as its session, and bounds each write
// instead.
func streamWriter(w http.ResponseWriter) http.ResponseWriter {
	rc := http.NewResponseController(w)
	rc.SetWriteDeadline(time.Time{})
	return &deadlineWriter{ResponseWriter: w, rc: rc}
}

type deadlineWriter struct {
	http.ResponseWriter
	rc *http.ResponseController
}

func (w *deadlineWriter) Write(b []byte) (int, error) {
	w.rc.SetWriteDeadline(time.Now().Add(streamWriteWait))
	return w.ResponseWriter.Write(b)
}

func (w *deadlineWriter) Flush() {
	w.rc.SetWriteDeadline(time.Now().Add(streamWriteWait))
	w.rc.Flush()
}

func (w *deadlineWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// minLevel drops records below its level.
type minLevel struct {
	level slog.Level
	slog.Handler
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.level && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(attrs []slog.Attr) slog.Handler {
	return minLevel{h.level, h.Handler.WithAttrs(attrs)}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{h.level, h.Handler.WithGroup(name)}
}
