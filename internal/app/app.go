// Package app wires AgCom together: the store, the HTTP API and the HTTP
// server. cmd/agcomd runs it; tests boot it whole on a temporary database.
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

	contract "github.com/agcom/agcom"
	"github.com/agcom/agcom/internal/agcom"
	"github.com/agcom/agcom/internal/auth"
	"github.com/agcom/agcom/internal/config"
	"github.com/agcom/agcom/internal/httpapi"
	"github.com/agcom/agcom/internal/metrics"
)

// HTTP server timeouts: slow clients cannot hold connections forever.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 90 * time.Second // above the longest long-poll (60 s); streams extend their own
	idleTimeout       = 120 * time.Second
)

// App is the whole program, ready to serve.
type App struct {
	Config  config.Config
	Store   Store
	Keys    *auth.Keys
	Handler http.Handler
	Log     *slog.Logger

	stopPruning func()
	// closeLimits closes the rate limits' Redis client, if any.
	closeLimits func() error
}

// New opens the store (migrating it), applies the admin bootstrap and
// builds the HTTP API. Logs go to logOut.
func New(ctx context.Context, cfg config.Config, version string, logOut io.Writer) (*App, error) {
	log := NewLogger(cfg, logOut)
	keys, err := auth.NewKeys(cfg.SecretKey, auth.WithPreviousKey(cfg.SecretKeyPrevious), auth.WithClockSkew(cfg.ClockSkew))
	if err != nil {
		return nil, err
	}
	store, err := openStore(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	if err := bootstrapAdmin(ctx, cfg, store); err != nil {
		store.Close()
		return nil, err
	}
	m := metrics.New()
	store.SetObserver(m.ObserveTx)
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
				return nil, err
			}
			limits.NewCounter, closeLimits = counters.NewCounter, counters.Close
		}
	}
	handler, err := httpapi.NewHandler(httpapi.Options{
		Store:          store,
		Keys:           keys,
		Lookup:         statusLookup(store),
		Hasher:         auth.NewHasher(cfg.HashConcurrency),
		TrustedProxies: cfg.TrustedProxies,
		Streams:        httpapi.StreamLimits{PerAgent: cfg.StreamsPerAgent, Total: cfg.Streams},
		KeepAlive:      cfg.StreamKeepAlive,
		Logger:         log,
		TokenTTL:       cfg.TokenTTL,
		MaxBodyBytes:   cfg.MaxBodyBytes,
		Version:        version,
		SpecYAML:       contract.OpenAPIYAML,
		RateLimits:     limits,
		CORSOrigins:    cfg.CORSOrigins,
		Observer:       m,
		Metrics:        m.Handler(),
		Pprof:          cfg.Pprof,
	})
	if err != nil {
		closeLimits()
		store.Close()
		return nil, err
	}
	a := &App{Config: cfg, Store: store, Keys: keys, Handler: handler, Log: log}
	a.closeLimits = closeLimits
	stop, done := make(chan struct{}), make(chan struct{})
	go func() { defer close(done); a.prune(stop) }()
	var once sync.Once
	a.stopPruning = func() { once.Do(func() { close(stop); <-done }) }
	return a, nil
}

// Close stops pruning and closes the store and the rate limits' Redis
// client.
func (a *App) Close() error {
	a.stopPruning()
	return errors.Join(a.Store.Close(), a.closeLimits())
}

// pruneEvery is how often expired events and idempotency keys are deleted.
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
		select {
		case <-t.C:
		case <-stop:
			return
		}
	}
}

// Serve serves on ln until ctx is cancelled, then stops accepting, drains
// in-flight requests for up to the configured shutdown timeout, and
// returns.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           a.Handler,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		ErrorLog:          slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn),
	}
	where := []any{"store", "sqlite", "db_path", a.Config.DBPath}
	if a.Config.DatabaseURL != "" {
		where = []any{"store", "postgres"} // the URL may hold a password
	}
	a.Log.Info("agcomd listening", append([]any{"addr", ln.Addr().String()}, where...)...)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	a.Log.Info("agcomd shutting down: draining requests", "timeout", a.Config.ShutdownTimeout.String())
	shutdownCtx, cancel := context.WithTimeout(context.Background(), a.Config.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	a.Log.Info("agcomd stopped")
	return nil
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
	if err := store.EnsureAdmin(ctx, cfg.AdminHandle, hash); err != nil {
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
