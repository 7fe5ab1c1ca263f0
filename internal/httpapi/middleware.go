package httpapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"regexp"
	"runtime/debug"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"
	"github.com/oklog/ulid/v2"

	"github.com/agcom/agcom/internal/agcom"
	"github.com/agcom/agcom/internal/auth"
)

// requestInfo travels in the context from the access log down, so that
// inner layers can tell the log who the caller was, and handlers how the
// answer will be compressed.
type requestInfo struct {
	id     string
	agent  string
	client string // the client's address (see clientAddress)
	gzip   bool   // compress will gzip a large answer (see gzipChosen)
	// idempotency is the key of a create that carries one (see idempotency).
	idempotency *agcom.IdempotencyKey
}

// requestInfoFrom returns the request's info, or a blank one (which goes
// nowhere) outside requestID.
func requestInfoFrom(ctx context.Context) *requestInfo {
	ri, _ := ctx.Value(requestInfoKey{}).(*requestInfo)
	if ri == nil {
		return &requestInfo{}
	}
	return ri
}

type requestInfoKey struct{}

func requestIDFrom(ctx context.Context) string { return requestInfoFrom(ctx).id }

// clientRequestID is what we accept as a caller-chosen X-Request-ID.
var clientRequestID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

// requestID gives every request an id (the caller's X-Request-ID when it is
// sane), echoes it in the X-Request-ID response header, and notes the
// client's address.
func requestID(trusted []netip.Prefix) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id := r.Header.Get("X-Request-ID")
			if !clientRequestID.MatchString(id) {
				id = ulid.MustNew(ulid.Now(), rand.Reader).String()
			}
			w.Header().Set("X-Request-ID", id)
			ri := &requestInfo{id: id, client: clientAddress(r, trusted)}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, ri)))
		})
	}
}

// clientAddress is the address of the client that sent r: the peer's, or,
// when the peer is a trusted proxy, the nearest address in X-Forwarded-For
// that is not a trusted proxy. Nobody else's X-Forwarded-For is believed:
// a client could write anything there.
func clientAddress(r *http.Request, trusted []netip.Prefix) string {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	addr := peer.Addr().Unmap()
	if !isTrusted(addr, trusted) {
		return addr.String()
	}
	hops := r.Header.Values("X-Forwarded-For")
	for i := len(hops) - 1; i >= 0; i-- {
		parts := strings.Split(hops[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			hop, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
			if err != nil {
				return addr.String() // a malformed hop: believe nothing before it
			}
			addr = hop.Unmap()
			if !isTrusted(addr, trusted) {
				return addr.String()
			}
		}
	}
	return addr.String()
}

func isTrusted(addr netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += n
	return n, err
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Observer receives request measurements (the Prometheus metrics).
type Observer interface {
	RequestStarted()
	RequestDone(route, method string, status int, d time.Duration)
	RateLimited(category string)
}

// accessLog logs one line per request (id, agent, method, route pattern,
// status, duration) and reports it to obs. It never logs headers, so never
// a token.
func accessLog(log *slog.Logger, obs Observer) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			obs.RequestStarted()
			rec := &statusRecorder{ResponseWriter: w}
			next.ServeHTTP(rec, r)
			if rec.status == 0 {
				rec.status = http.StatusOK
			}
			d := time.Since(start)
			ri := requestInfoFrom(r.Context())
			route := ""
			if rctx := chi.RouteContext(r.Context()); rctx != nil {
				route = rctx.RoutePattern()
			}
			obs.RequestDone(route, r.Method, rec.status, d)
			attrs := []slog.Attr{
				slog.String("request_id", ri.id),
				slog.String("method", r.Method),
				slog.String("route", route),
				slog.String("path", r.URL.Path),
				slog.String("client", ri.client),
				slog.Int("status", rec.status),
				slog.Int("bytes", rec.bytes),
				slog.Duration("duration", d),
			}
			if ri.agent != "" {
				attrs = append(attrs, slog.String("agent", ri.agent))
			}
			log.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
		})
	}
}

// nopObserver discards measurements.
type nopObserver struct{}

func (nopObserver) RequestStarted()                                {}
func (nopObserver) RequestDone(string, string, int, time.Duration) {}
func (nopObserver) RateLimited(string)                             {}

// Content security policies: the API returns only JSON; the docs page runs
// Swagger UI, whose page has inline script and style, from this origin only.
const (
	cspAPI  = "default-src 'none'; frame-ancestors 'none'"
	cspDocs = "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; " +
		"img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'"
)

// securityHeaders sets headers that keep browsers from misusing responses.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		if strings.HasPrefix(r.URL.Path, BasePath+"/docs") {
			h.Set("Content-Security-Policy", cspDocs)
		} else {
			h.Set("Content-Security-Policy", cspAPI)
		}
		next.ServeHTTP(w, r)
	})
}

// recoverer turns a panic into a logged InternalError.
func recoverer(log *slog.Logger, ew errorWriter) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				if v := recover(); v != nil {
					if v == http.ErrAbortHandler {
						panic(v)
					}
					log.ErrorContext(r.Context(), "panic", "request_id", requestIDFrom(r.Context()),
						"panic", v, "stack", string(debug.Stack()))
					ew.Write(w, r, errors.New("panic"))
				}
			}()
			next.ServeHTTP(w, r)
		})
	}
}

// streamedBodies are the routes whose bodies are streamed (uploads), the
// bytes such a body may hold, and how long it may stand still.
type streamedBodies struct {
	max    int64
	idle   time.Duration
	routes map[string]bool
}

// limitBody reads the request body of the operations that take one
// (routes, as "METHOD /pattern"), up to max bytes, before anything else
// looks at it: a larger body is 413, and a body that is not valid UTF-8 is
// 400. Later layers read the buffered copy. Other operations never read a
// body, so one sent to them changes nothing: they cannot answer 413. The
// body of a streamed route (an upload) is not read ahead: it is only held
// to its own limit, and cut off when it stands still.
func limitBody(max int64, routes map[string]bool, streamed streamedBodies, ew errorWriter) func(http.Handler) http.Handler {
	tooLarge := &agcom.Error{Code: agcom.ETOOLARGE, Message: "request body is larger than the limit",
		Details: map[string]any{"max_bytes": max}}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			route := r.Method + " " + chi.RouteContext(r.Context()).RoutePattern()
			if r.Body == nil || r.Body == http.NoBody || !routes[route] {
				next.ServeHTTP(w, r)
				return
			}
			if streamed.routes[route] {
				if r.ContentLength > streamed.max {
					ew.Write(w, r, &agcom.Error{Code: agcom.ETOOLARGE, Message: "request body is larger than the limit",
						Details: map[string]any{"max_bytes": streamed.max}})
					return
				}
				r.Body = movingBody{http.MaxBytesReader(w, r.Body, streamed.max), http.NewResponseController(w), streamed.idle}
				next.ServeHTTP(w, r)
				return
			}
			if r.ContentLength > max {
				ew.Write(w, r, tooLarge)
				return
			}
			body, err := io.ReadAll(io.LimitReader(r.Body, max+1))
			if err != nil {
				ew.Write(w, r, agcom.Errorf(agcom.EINVALID, "could not read the request body"))
				return
			}
			if int64(len(body)) > max {
				ew.Write(w, r, tooLarge)
				return
			}
			if !utf8.Valid(body) {
				ew.Write(w, r, agcom.Invalid("body", "must be valid UTF-8"))
				return
			}
			// One JSON value and nothing after it: the decoders downstream
			// would stop at the first value and ignore the rest.
			if len(body) > 0 && !json.Valid(body) {
				ew.Write(w, r, agcom.Invalid("body", "must be one well-formed JSON object"))
				return
			}
			if hasNUL(body) {
				ew.Write(w, r, agcom.Invalid("body", "text must not contain the NUL character (U+0000)"))
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
			r.ContentLength = int64(len(body))
			next.ServeHTTP(w, r)
		})
	}
}

// noteAgent records the authenticated caller for the access log.
func noteAgent(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, ok := auth.CallerFrom(r.Context()); ok {
			requestInfoFrom(r.Context()).agent = c.Handle
		}
		next.ServeHTTP(w, r)
	})
}

// hasNUL reports whether a string of the well-formed JSON document doc
// holds U+0000, which it can only spell as an escape. The scan runs only
// when the escape's text appears at all, which also matches an escaped
// backslash followed by "u0000": that is literal text, not NUL.
func hasNUL(doc []byte) bool {
	if !bytes.Contains(doc, []byte(`\u0000`)) {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		if s, ok := tok.(string); ok && strings.IndexByte(s, 0) >= 0 {
			return true
		}
	}
}
