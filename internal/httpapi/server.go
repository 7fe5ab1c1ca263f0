// Package httpapi implements the generated strict-server interface of
// openapi.yaml on top of a Store, and owns the HTTP pipeline around it: the
// request id, panic recovery, access log, body limit, authentication, the
// OpenAPI request validator, and the one error writer every layer uses.
package httpapi

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/go-chi/chi/v5"
	"github.com/go-chi/cors"
	"github.com/klauspost/compress/gzhttp"
	"github.com/klauspost/compress/gzip"
	"github.com/swaggest/swgui"
	"github.com/swaggest/swgui/v5emb"
	"go.yaml.in/yaml/v3"

	"github.com/agcom/agcom/gen/agcomv1"
	"github.com/agcom/agcom/internal/agcom"
	"github.com/agcom/agcom/internal/auth"
	"github.com/agcom/agcom/internal/console"
)

// BasePath is where the API is served.
const BasePath = "/api/v1"

// MCPPath is where Options.MCP is served.
const MCPPath = "/mcp"

// Store is what the handlers read, as each group declares it beside its
// handlers. Every method is one transaction; methods taking a caller
// enforce visibility themselves.
type Store interface {
	pinger
	messageReader
	threadReader
	contactReader
	auditReader
	inboxReader
	eventSource
	credentialReader
	agentReader
	apiKeyReader
}

// Writes are the use cases that change something (agcom.Service), as
// the handlers of each group declare them.
type Writes interface {
	messageSender
	threadWriter
	contactWriter
	readMarker
	agentWriter
	loginAuditor
	apiKeyWriter
	attachmentKeeper
}

// Options configures the HTTP API.
type Options struct {
	Store Store
	// Writes runs the use cases that write: agcom.Service over the store.
	Writes Writes
	Keys   *auth.Keys
	// Lookup reads an agent's admin and disabled flags and token
	// generation on every request.
	Lookup auth.StatusLookup
	// Provider, when set, verifies the identity provider's access tokens.
	Provider *auth.Provider
	// Hasher checks and hashes secrets, a bounded number at a time.
	Hasher *auth.Hasher
	// TrustedProxies are the peers whose X-Forwarded-For names the client.
	TrustedProxies []netip.Prefix
	// Streams bounds event streams and waiting long-polls; KeepAlive is
	// how often a quiet stream sends a comment and checks its caller.
	Streams   StreamLimits
	KeepAlive time.Duration
	Logger    *slog.Logger
	// TokenTTL is the lifetime of tokens issued by POST /auth/token.
	TokenTTL time.Duration
	// MaxBodyBytes bounds request bodies; larger ones get 413.
	MaxBodyBytes int64
	// MaxUploadBytes bounds the file of an upload (a multipart body),
	// which MaxBodyBytes does not.
	MaxUploadBytes int64
	// TransferIdle is how long an upload's body or a download may stand
	// still before it is cut off; 0: agcom.DefaultAttachmentIdle.
	TransferIdle time.Duration
	// Version is reported by GET / and the health check.
	Version string
	// SpecYAML is the contract as written, served at /api/v1/openapi.yaml.
	SpecYAML []byte
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// RateLimits are the per-agent limits; nil turns rate limiting off.
	RateLimits *RateLimits
	// CORSOrigins are the browser origins allowed to call the API.
	CORSOrigins []string
	// Observer receives request measurements; nil discards them. The
	// metrics themselves are served apart from the API (internal/app).
	Observer Observer
	// KeptEncodings is how many list answers' encodings to keep (see
	// encodings), for a Store that gives one answer to many requests
	// (internal/store/cache); 0 keeps none.
	KeptEncodings int
	// MCP, when set, makes the Model Context Protocol endpoint served at
	// MCPPath behind the API's request id, access log and authentication
	// (a 401 there says WWW-Authenticate: Bearer). It is given the API's
	// handler, which its tool calls go through, and the error writer.
	MCP func(api http.Handler, writeError func(http.ResponseWriter, *http.Request, error)) http.Handler
}

// Server implements the generated strict-server interface.
type Server struct {
	store     Store
	writes    Writes
	keys      *auth.Keys
	authn     auth.Authenticator
	provider  *auth.Provider // nil: none trusted
	hasher    *auth.Hasher
	streams   *streamSlots
	keepAlive time.Duration
	tokenTTL  time.Duration
	version   string
	now       func() time.Time
	encodings *encodings // nil: none kept
	// transferIdle: see Options.TransferIdle.
	transferIdle time.Duration
}

var _ agcomv1.StrictServerInterface = (*Server)(nil)

// NewHandler returns the whole HTTP API as one handler.
func NewHandler(o Options) (http.Handler, error) {
	spec, err := agcomv1.GetSwagger()
	if err != nil {
		return nil, fmt.Errorf("httpapi: load embedded spec: %w", err)
	}
	specJSON, err := yamlToJSON(o.SpecYAML)
	if err != nil {
		return nil, fmt.Errorf("httpapi: encode spec: %w", err)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	ew := errorWriter{log: log}
	if o.Hasher == nil {
		o.Hasher = auth.NewHasher(1)
	}
	if o.KeepAlive <= 0 {
		o.KeepAlive = defaultKeepAlive
	}
	if o.TransferIdle <= 0 {
		o.TransferIdle = agcom.DefaultAttachmentIdle
	}
	encodings, err := newEncodings(o.KeptEncodings)
	if err != nil {
		return nil, err
	}
	authn := auth.Authenticator{
		Keys: o.Keys, Lookup: o.Lookup, APIKeys: o.Store.APIKey, TouchAPIKey: o.Writes.TouchAPIKey,
		Provider: o.Provider, Register: o.Writes.RegisterProviderAgent,
	}
	srv := &Server{
		store: o.Store, writes: o.Writes, keys: o.Keys, authn: authn, provider: o.Provider, hasher: o.Hasher, streams: newStreamSlots(o.Streams),
		keepAlive: o.KeepAlive, tokenTTL: o.TokenTTL, version: o.Version, now: o.Now, encodings: encodings,
		transferIdle: o.TransferIdle,
	}
	public := publicRoutes(spec)
	categories, err := rateLimitCategories(spec)
	if err != nil {
		return nil, err
	}
	validate, err := validator(spec, streamedRoutes(spec), ew)
	if err != nil {
		return nil, err
	}

	obs := o.Observer
	if obs == nil {
		obs = nopObserver{}
	}

	r := chi.NewRouter()
	r.Use(
		requestID(o.TrustedProxies),
		accessLog(log, obs),
		recoverer(log, ew),
		securityHeaders,
		cors.Handler(cors.Options{
			AllowedOrigins: o.CORSOrigins,
			AllowedMethods: []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete},
			AllowedHeaders: []string{"Authorization", auth.APIKeyHeader, "Content-Type", "X-Request-ID", "Mcp-Session-Id", "Mcp-Protocol-Version", "Last-Event-ID"},
			ExposedHeaders: []string{"X-Request-ID", "Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Mcp-Session-Id"},
			MaxAge:         600,
		}),
		compress,
	)
	notFound := func(w http.ResponseWriter, r *http.Request) {
		ew.Write(w, r, agcom.Errorf(agcom.ENOTFOUND, "no such endpoint: %s %s", r.Method, r.URL.Path))
	}
	r.NotFound(notFound)
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		ew.Write(w, r, agcom.Errorf(agcom.EMETHOD, "method %s not allowed here", r.Method))
	})

	r.Get("/", srv.root)
	r.Get(BasePath+"/openapi.json", serveBytes("application/json", specJSON))
	r.Get(BasePath+"/openapi.yaml", serveBytes("application/yaml", o.SpecYAML))
	docs := v5emb.NewHandlerWithConfig(swgui.Config{
		Title:       "AgCom API",
		SwaggerJSON: BasePath + "/openapi.json",
		BasePath:    BasePath + "/docs/",
		ShowTopBar:  false,
	})
	r.Get(BasePath+"/docs", http.RedirectHandler(BasePath+"/docs/", http.StatusMovedPermanently).ServeHTTP)
	r.Get(BasePath+"/docs/*", docs.ServeHTTP)
	r.Get(strings.TrimSuffix(console.Path, "/"), http.RedirectHandler(console.Path, http.StatusMovedPermanently).ServeHTTP)
	r.Get(console.Path+"*", console.New(http.HandlerFunc(notFound)).ServeHTTP)

	r.Group(func(r chi.Router) {
		r.Use(
			// Here, after routing, so that it knows the operation.
			limitBody(o.MaxBodyBytes, routesWithBody(spec), streamedBodies{o.MaxUploadBytes + multipartOverhead, o.TransferIdle, streamedRoutes(spec)}, ew),
			auth.Middleware(authn, func(r *http.Request) bool {
				return public[r.Method+" "+chi.RouteContext(r.Context()).RoutePattern()]
			}, ew.Write),
			noteAgent,
		)
		if o.RateLimits != nil {
			r.Use(newRateLimiter(*o.RateLimits, categories, ew, obs.RateLimited).Handler)
		}
		r.Use(
			validate,
			idempotency(routesWithHeader(spec, "Idempotency-Key"), ew),
		)
		strict := agcomv1.NewStrictHandlerWithOptions(srv, nil, agcomv1.StrictHTTPServerOptions{
			RequestErrorHandlerFunc:  ew.requestError,
			ResponseErrorHandlerFunc: ew.Write,
		})
		agcomv1.HandlerWithOptions(strict, agcomv1.ChiServerOptions{
			BaseURL:          BasePath,
			BaseRouter:       r,
			ErrorHandlerFunc: ew.paramError,
		})
	})
	if o.MCP != nil {
		mcp := o.MCP(r, ew.Write)
		challenge := func(w http.ResponseWriter, r *http.Request, err error) {
			if agcom.ErrorCode(err) == agcom.EUNAUTHENTICATED {
				w.Header().Set("WWW-Authenticate", "Bearer")
			}
			ew.Write(w, r, err)
		}
		r.Group(func(r chi.Router) {
			r.Use(auth.Middleware(authn, func(*http.Request) bool { return false }, challenge), noteAgent)
			r.Handle(MCPPath, mcp)
		})
	}
	return r, nil
}

// routesWithHeader lists, as "METHOD /api/v1/path", the operations that
// take the header parameter name.
func routesWithHeader(spec *openapi3.T, name string) map[string]bool {
	routes := map[string]bool{}
	for path, item := range spec.Paths.Map() {
		for method, op := range item.Operations() {
			for _, p := range op.Parameters {
				if p.Value != nil && p.Value.In == openapi3.ParameterInHeader && p.Value.Name == name {
					routes[method+" "+BasePath+path] = true
				}
			}
		}
	}
	return routes
}

// routesWithBody lists, as "METHOD /api/v1/path", the operations that take
// a request body.
func routesWithBody(spec *openapi3.T) map[string]bool {
	routes := map[string]bool{}
	for path, item := range spec.Paths.Map() {
		for method, op := range item.Operations() {
			if op.RequestBody != nil {
				routes[method+" "+BasePath+path] = true
			}
		}
	}
	return routes
}

// streamedRoutes lists, as "METHOD /api/v1/path", the operations whose
// body is multipart/form-data: a file streamed to the store, which neither
// limitBody nor the validator reads ahead.
func streamedRoutes(spec *openapi3.T) map[string]bool {
	routes := map[string]bool{}
	for path, item := range spec.Paths.Map() {
		for method, op := range item.Operations() {
			if op.RequestBody != nil && op.RequestBody.Value != nil && op.RequestBody.Value.Content.Get("multipart/form-data") != nil {
				routes[method+" "+BasePath+path] = true
			}
		}
	}
	return routes
}

// publicRoutes lists, as "METHOD /api/v1/path", the operations the spec
// marks `security: []`.
func publicRoutes(spec *openapi3.T) map[string]bool {
	public := map[string]bool{}
	for path, item := range spec.Paths.Map() {
		for method, op := range item.Operations() {
			if op.Security != nil && len(*op.Security) == 0 {
				public[method+" "+BasePath+path] = true
			}
		}
	}
	return public
}

// rateLimitCategory is the extension by which every operation of the
// spec names its rate-limit category.
const rateLimitCategory = "x-rate-limit-category"

// rateLimitCategories maps every operation, as "METHOD /api/v1/path", to
// the rate-limit category its x-rate-limit-category names. An operation
// without one, or with one the limiter does not know, is an error: it
// would be limited by guesswork.
func rateLimitCategories(spec *openapi3.T) (map[string]string, error) {
	categories := map[string]string{}
	for path, item := range spec.Paths.Map() {
		for method, op := range item.Operations() {
			route := method + " " + BasePath + path
			cat, _ := op.Extensions[rateLimitCategory].(string)
			if !slices.Contains(rateCategories, cat) {
				return nil, fmt.Errorf("httpapi: %s: %s is %q, want one of %q", route, rateLimitCategory, cat, rateCategories)
			}
			categories[route] = cat
		}
	}
	return categories, nil
}

// yamlToJSON serves the contract as written in JSON too: the same
// document, not the generator's re-encoding of it.
func yamlToJSON(doc []byte) ([]byte, error) {
	var v any
	if err := yaml.Unmarshal(doc, &v); err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// compress gzips responses of 1 KB (gzhttp.DefaultMinSize) and more for
// clients that accept it; never an event stream, whose events must go out
// as they happen. The fastest level: JSON pages shrink nearly as much, for
// about half the CPU of the default level. It notes in the request's info
// when it will choose gzip, so that a kept answer (listJSON) can be sent
// compressed as it was kept: the wrapper passes on a body that already has
// a Content-Encoding.
var compress = func() func(http.Handler) http.Handler {
	wrap, err := gzhttp.NewWrapper(gzhttp.ExceptContentTypes([]string{"text/event-stream"}),
		gzhttp.CompressionLevel(compressLevel))
	if err != nil {
		panic(err) // the options are constant
	}
	return func(next http.Handler) http.Handler {
		h := wrap(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			requestInfoFrom(r.Context()).gzip = gzipChosen(r.Header.Values("Accept-Encoding"))
			h.ServeHTTP(w, r)
		})
	}
}()

const compressLevel = gzip.BestSpeed

// gzipChosen reports whether the compress wrapper answers a request with
// these Accept-Encoding values in gzip: when they accept gzip, and neither
// zstd (which the wrapper prefers) nor "*" (whatever it makes of it).
func gzipChosen(acceptEncoding []string) bool {
	gz := false
	for _, v := range acceptEncoding {
		for _, part := range strings.Split(v, ",") {
			coding, params, _ := strings.Cut(part, ";")
			if q := strings.TrimSpace(params); strings.HasPrefix(q, "q=") && strings.Trim(q[2:], "0.") == "" {
				continue // q=0: not acceptable
			}
			switch strings.ToLower(strings.TrimSpace(coding)) {
			case "gzip":
				gz = true
			case "zstd", "*":
				return false
			}
		}
	}
	return gz
}

func serveBytes(contentType string, body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.Write(body)
	}
}

// root answers GET / with the service's name, version and docs link.
func (s *Server) root(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{
		"name": "AgCom REST API", "version": s.version, "docs": BasePath + "/docs/",
	})
}
