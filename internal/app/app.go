// Package app wires AgCom together: the store, the HTTP API, the metrics
// and the HTTP servers. cmd/agcomd runs it; tests boot it whole on a
// temporary database.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	chimw "github.com/go-chi/chi/v5/middleware"

	contract "github.com/agcom/agcom"
	"github.com/agcom/agcom/gen/agcomv1"
	"github.com/agcom/agcom/internal/agcom"
	"github.com/agcom/agcom/internal/auth"
	"github.com/agcom/agcom/internal/config"
	"github.com/agcom/agcom/internal/httpapi"
	"github.com/agcom/agcom/internal/mcp"
	"github.com/agcom/agcom/internal/metrics"
)

// HTTP server timeouts: slow clients cannot hold connections forever.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 90 * time.Second // above the longest long-poll (GET /events?wait); streams extend their own
	idleTimeout       = 120 * time.Second
)

// App is the whole program, ready to serve.
type App struct {
	Config config.Config
	Store  Store
	Keys   *auth.Keys
	// Handler is the API.
	Handler http.Handler
	// MetricsHandler serves /metrics, and Go's profiler at /debug/pprof/
	// when PPROF_ENABLED, on a listener of its own (METRICS_ADDR), never
	// the API's. It is nil when METRICS_ADDR is empty.
	MetricsHandler http.Handler
	Log            *slog.Logger

	// cert is the API's TLS certificate; nil serves plain HTTP.
	cert *certificate

	stopPruning func()
	// closeLimits closes the rate limits' Redis client, if any.
	closeLimits func() error
	// mcp serves /mcp; closing it ends its sessions and their streams.
	mcp *mcp.Server
	// provider keeps the identity provider's keys fetched, if one is
	// trusted.
	provider trustedProvider
}

// New opens the store (migrating it), applies the admin bootstrap and
// builds the HTTP API. Logs go to logOut.
func New(ctx context.Context, cfg config.Config, version string, logOut io.Writer) (*App, error) {
	log := NewLogger(cfg, logOut)
	keys, err := auth.NewKeys(cfg.SecretKey, auth.WithPreviousKey(cfg.SecretKeyPrevious), auth.WithClockSkew(cfg.ClockSkew))
	if err != nil {
		return nil, err
	}
	var cert *certificate
	if cfg.TLS() {
		if cert, err = loadCertificate(cfg.TLSCertFile, cfg.TLSKeyFile); err != nil {
			return nil, fmt.Errorf("cannot serve HTTPS: %w", err)
		}
	}
	provider, err := newProvider(cfg, keys, log)
	if err != nil {
		return nil, err
	}
	store, err := openStore(ctx, cfg, log)
	if err != nil {
		provider.Close()
		return nil, err
	}
	if err := bootstrapAdmin(ctx, cfg, store); err != nil {
		store.Close()
		provider.Close()
		return nil, err
	}
	m := metrics.New()
	store.SetObserver(m.ObserveTx)
	api, err := WithCache(store)
	if err != nil {
		store.Close()
		provider.Close()
		return nil, err
	}
	var limits *httpapi.RateLimits
	closeLimits := func() error { return nil }
	if cfg.RateLimits {
		limits = &httpapi.RateLimits{
			Write: cfg.RateWrite, Read: cfg.RateRead, Search: cfg.RateSearch, Audit: cfg.RateAudit,
			Auth: cfg.RateAuth, AuthAddress: cfg.RateAuthAddress,
		}
		if cfg.RedisURL != "" {
			counters, err := httpapi.NewRedisCounters(ctx, httpapi.RedisOptions{
				URL: cfg.RedisURL, FailOpen: cfg.RateLimitFailOpen, Logger: log, Observer: m,
			})
			if err != nil {
				store.Close()
				provider.Close()
				return nil, err
			}
			limits.NewCounter, closeLimits = counters.NewCounter, counters.Close
		}
	}
	spec, err := agcomv1.GetSwagger()
	if err != nil {
		closeLimits()
		store.Close()
		provider.Close()
		return nil, fmt.Errorf("load embedded spec: %w", err)
	}
	mcpServer, err := mcp.New(mcp.Options{
		Spec: spec, BasePath: httpapi.BasePath, Events: api, MaxBodyBytes: cfg.MaxBodyBytes, MaxAttachmentBytes: cfg.MCPAttachmentBytes,
		Logger: log, Version: version,
		Limits: mcp.Limits{PerAgent: cfg.MCPSessionsPerAgent, Total: cfg.MCPSessions, IdleTimeout: cfg.MCPSessionIdle},
	})
	if err != nil {
		closeLimits()
		store.Close()
		provider.Close()
		return nil, err
	}
	handler, err := httpapi.NewHandler(httpapi.Options{
		Store:          api,
		Writes:         agcom.NewService(store).WithAttachments(store),
		Keys:           keys,
		Provider:       provider.Provider,
		Lookup:         statusLookup(api),
		Hasher:         auth.NewHasher(cfg.HashConcurrency),
		TrustedProxies: cfg.TrustedProxies,
		Streams:        httpapi.StreamLimits{PerAgent: cfg.StreamsPerAgent, Total: cfg.Streams},
		KeepAlive:      cfg.StreamKeepAlive,
		Logger:         log,
		TokenTTL:       cfg.TokenTTL,
		MaxBodyBytes:   cfg.MaxBodyBytes,
		MaxUploadBytes: storeLimits(cfg).WithDefaults().AttachmentBytes,
		TransferIdle:   cfg.AttachmentIdleTimeout,
		Version:        version,
		SpecYAML:       contract.OpenAPIYAML,
		RateLimits:     limits,
		CORSOrigins:    cfg.CORSOrigins,
		Observer:       m,
		KeptEncodings:  keptEncodings(api),
		MCP:            mcpServer.Mount,
	})
	if err != nil {
		mcpServer.Close()
		closeLimits()
		store.Close()
		provider.Close()
		return nil, err
	}
	a := &App{Config: cfg, Store: store, Keys: keys, Handler: handler, Log: log, cert: cert, mcp: mcpServer, provider: provider}
	if cfg.MetricsAddr != "" {
		a.MetricsHandler = metricsHandler(m, cfg.Pprof)
	}
	a.closeLimits = closeLimits
	stop, done := make(chan struct{}), make(chan struct{})
	go func() { defer close(done); a.prune(stop) }()
	var once sync.Once
	a.stopPruning = func() { once.Do(func() { close(stop); <-done }) }
	return a, nil
}

// Close stops pruning, ends the MCP sessions, and closes the store and the
// rate limits' Redis client.
func (a *App) Close() error {
	a.stopPruning()
	a.mcp.Close()
	a.provider.Close()
	return errors.Join(a.Store.Close(), a.closeLimits())
}

// pruneEvery is how often expired events and idempotency keys, and
// uploads left unattached, are deleted.
const pruneEvery = time.Hour

// prune deletes what retention no longer keeps, now and then every
// pruneEvery, until stop is closed.
func (a *App) prune(stop <-chan struct{}) {
	t := time.NewTicker(pruneEvery)
	defer t.Stop()
	for {
		if err := a.Store.Prune(context.Background(), time.Now().Add(-a.Config.EventRetention)); err != nil {
			a.Log.Error("prune events", "error", err.Error())
		}
		if _, err := a.Store.PruneAttachments(context.Background()); err != nil {
			a.Log.Error("prune attachments", "error", err.Error())
		}
		select {
		case <-t.C:
		case <-stop:
			return
		}
	}
}

// metricsHandler serves the metrics and, with pprof, Go's profiler; any
// other path is a plain 404.
func metricsHandler(m *metrics.Metrics, pprof bool) http.Handler {
	r := chi.NewRouter()
	r.Method(http.MethodGet, "/metrics", m.Handler())
	if pprof {
		r.Mount("/debug", chimw.Profiler())
	}
	return r
}

// ReloadTLS reads the API's certificate and key files again; connections
// opened from then on get the new certificate, open ones keep theirs. When
// the files are bad, the certificate in use stays and the error is logged
// and returned. Without TLS it does nothing. agcomd calls it on SIGHUP.
func (a *App) ReloadTLS() error {
	if a.cert == nil {
		a.Log.Info("no TLS certificate to reload: TLS_CERT_FILE and TLS_KEY_FILE are not set")
		return nil
	}
	if err := a.cert.load(); err != nil {
		a.Log.Error("TLS certificate not reloaded: still serving the previous one", "error", err.Error())
		return err
	}
	a.Log.Info("TLS certificate reloaded", "cert_file", a.cert.certFile, "key_file", a.cert.keyFile)
	return nil
}

// Listeners are the sockets the program serves on.
type Listeners struct {
	// API serves the API (HTTPS when TLS is configured).
	API net.Listener
	// Metrics serves MetricsHandler; nil serves no metrics.
	Metrics net.Listener
}

// Listen opens the listeners the configuration names: HOST:PORT for the
// API and METRICS_ADDR, unless it is empty, for the metrics.
func (a *App) Listen() (Listeners, error) {
	api, err := net.Listen("tcp", a.Config.Addr())
	if err != nil {
		return Listeners{}, fmt.Errorf("listen on HOST:PORT: %w", err)
	}
	ls := Listeners{API: api}
	if a.MetricsHandler != nil {
		if ls.Metrics, err = net.Listen("tcp", a.Config.MetricsAddr); err != nil {
			api.Close()
			return Listeners{}, fmt.Errorf("listen on METRICS_ADDR (set another address, or empty to serve no metrics): %w", err)
		}
	}
	return ls, nil
}

// Serve serves the API on ls.API and the metrics on ls.Metrics (if any)
// until ctx is cancelled, then stops accepting, drains in-flight requests
// for up to the configured shutdown timeout, and returns. When one
// listener fails, the other is shut down too.
func (a *App) Serve(ctx context.Context, ls Listeners) error {
	api := a.newServer(a.Handler)
	// MCP notification streams last as long as their sessions: end them,
	// so that draining does not wait for them.
	api.RegisterOnShutdown(func() { a.mcp.Close() })
	serveAPI := func() error { return api.Serve(ls.API) }
	if a.cert != nil {
		api.TLSConfig = a.cert.tlsConfig()
		serveAPI = func() error { return api.ServeTLS(ls.API, "", "") }
	}
	where := []any{"store", "sqlite", "db_path", a.Config.DBPath}
	if a.Config.DatabaseURL != "" {
		where = []any{"store", "postgres"} // the URL may hold a password
	}
	if a.Config.S3() {
		where = append(where, "s3_endpoint", a.Config.S3Endpoint, "s3_bucket", a.Config.S3Bucket)
	}
	a.Log.Info("agcomd listening", append([]any{"addr", ls.API.Addr().String(), "tls", a.cert != nil}, where...)...)

	servers := []*http.Server{api}
	errc := make(chan error, 2)
	go func() { errc <- serveAPI() }()
	if ls.Metrics != nil && a.MetricsHandler != nil {
		m := a.newServer(a.MetricsHandler)
		servers = append(servers, m)
		a.Log.Info("metrics listening", "addr", ls.Metrics.Addr().String(), "pprof", a.Config.Pprof)
		go func() { errc <- m.Serve(ls.Metrics) }()
	}

	running := len(servers)
	var failed error
	select {
	case failed = <-errc:
		running--
	case <-ctx.Done():
		a.Log.Info("agcomd shutting down: draining requests", "timeout", a.Config.ShutdownTimeout.String())
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), a.Config.ShutdownTimeout)
	defer cancel()
	errs := []error{failed}
	for _, srv := range servers {
		if err := srv.Shutdown(shutdownCtx); err != nil {
			errs = append(errs, fmt.Errorf("shutdown: %w", err))
		}
	}
	for ; running > 0; running-- {
		if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	a.Log.Info("agcomd stopped")
	return nil
}

// newServer is an HTTP server for h with the program's timeouts and error
// log.
func (a *App) newServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		ErrorLog:          slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn),
	}
}

// statusLookup reads an agent's admin and disabled flags and token
// generation from the store;
// a handle that is not registered is an ordinary agent.
func statusLookup(store Store) auth.StatusLookup {
	return func(ctx context.Context, handle string) (auth.AgentStatus, error) {
		a, err := store.Agent(ctx, handle)
		if agcom.ErrorCode(err) == agcom.ENOTFOUND {
			return auth.AgentStatus{}, nil
		} else if err != nil {
			return auth.AgentStatus{}, err
		}
		return auth.AgentStatus{Registered: true, IsAdmin: a.IsAdmin, Disabled: a.Disabled, TokenGeneration: a.TokenGeneration}, nil
	}
}

// bootstrapAdmin applies ADMIN_HANDLE and ADMIN_SECRET when both are set.
func bootstrapAdmin(ctx context.Context, cfg config.Config, store Store) error {
	if cfg.AdminHandle == "" {
		return nil
	}
	hash, err := auth.HashSecret(cfg.AdminSecret)
	if err != nil {
		return err
	}
	if err := agcom.NewService(store).EnsureAdmin(ctx, cfg.AdminHandle, hash); err != nil {
		return fmt.Errorf("ADMIN_HANDLE: %w", err)
	}
	return nil
}

// NewLogger returns the structured logger the configuration asks for.
func NewLogger(cfg config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// trustedProvider is the identity provider the server trusts; its
// Provider is nil when there is none.
type trustedProvider struct{ *auth.Provider }

// Close stops fetching the provider's keys, if any.
func (p trustedProvider) Close() {
	if p.Provider != nil {
		p.Provider.Close()
	}
}

// newProvider starts trusting the identity provider the configuration
// names, if any.
func newProvider(cfg config.Config, keys *auth.Keys, log *slog.Logger) (trustedProvider, error) {
	if !cfg.OIDC() {
		return trustedProvider{}, nil
	}
	p, err := auth.NewProvider(auth.ProviderConfig{
		Issuer: cfg.OIDCIssuer, JWKSURL: cfg.JWKSURL, Audience: cfg.OIDCAudience,
		HandleClaim: cfg.OIDCHandleClaim, AdminClaim: cfg.OIDCAdminClaim, AdminValue: cfg.OIDCAdminValue,
		Skew: cfg.ClockSkew, Refresh: cfg.OIDCJWKSRefresh, MinRefresh: cfg.OIDCJWKSMinRefresh,
	})
	if err != nil {
		return trustedProvider{}, err
	}
	if st := p.Status(context.Background()); st.KeysLoaded {
		log.Info("identity provider trusted", "issuer", cfg.OIDCIssuer, "jwks_url", cfg.JWKSURL, "keys", st.Keys)
	} else {
		log.Warn("identity provider's keys not loaded yet: its tokens are refused until they are", "issuer", cfg.OIDCIssuer, "jwks_url", cfg.JWKSURL)
	}
	return trustedProvider{p}, nil
}
