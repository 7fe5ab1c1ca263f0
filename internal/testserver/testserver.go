// Package testserver boots the whole program for tests: the real app, on
// a database of its own, behind an httptest server (or, with
// Options.Listen, on the listeners agcomd opens). The contract tests, the
// SDK's and the command line client's all start their servers here.
package testserver

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/agcom/agcom/internal/app"
	"github.com/agcom/agcom/internal/config"
)

// SecretKey signs the tokens of every test server.
const SecretKey = "test-secret-key-0123456789abcdef0123456789"

// Options describe a server beyond the defaults: SecretKey, a SQLite file
// in the server's directory, ERROR logs, rate limits off.
type Options struct {
	// Env sets configuration variables over the defaults, such as
	// ADMIN_HANDLE and ADMIN_SECRET for a bootstrap admin.
	Env map[string]string
	// Logs receives the program's logs; nil discards them.
	Logs io.Writer
	// Wrap, when set, stands in front of the program's handler (and of the
	// contract check: answers it makes itself are not checked).
	Wrap func(http.Handler) http.Handler
	// Config adjusts the loaded configuration, in order.
	Config []func(*config.Config)
	// Listen serves as agcomd does, through App.Listen and App.Serve: the
	// API on HOST:PORT (127.0.0.1 and a free port unless Env says
	// otherwise), over HTTPS when TLS_CERT_FILE and TLS_KEY_FILE are set,
	// and the metrics on METRICS_ADDR (127.0.0.1 and a free port unless
	// Env says otherwise; empty serves none). Wrap is not used.
	Listen bool
}

// Server is the program, serving its API at URL and its metrics at
// MetricsURL (empty when METRICS_ADDR is empty).
type Server struct {
	URL        string
	MetricsURL string
	App        *app.App

	// Behind httptest.
	srv, metrics *httptest.Server
	// With Options.Listen: stop ends Serve, which sends its result on served.
	stop   context.CancelFunc
	served chan error
	// contract checks every answer against openapi.yaml (see contract.go).
	contract *contractCheck
}

// Start starts a server whose database lives in dir. Every answer of the
// program is checked against openapi.yaml; see ReportTo.
func Start(dir string, o Options) (*Server, error) {
	env := map[string]string{
		"SECRET_KEY":         SecretKey,
		"DB_PATH":            filepath.Join(dir, "agcom.db"),
		"LOG_LEVEL":          "ERROR",
		"RATE_LIMIT_ENABLED": "false",
	}
	if o.Listen {
		env["HOST"], env["PORT"], env["METRICS_ADDR"] = "127.0.0.1", "0", "127.0.0.1:0"
	}
	for k, v := range o.Env {
		env[k] = v
	}
	cfg, err := config.Load(func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	})
	if err != nil {
		return nil, err
	}
	for _, adjust := range o.Config {
		adjust(&cfg)
	}
	logs := o.Logs
	if logs == nil {
		logs = io.Discard
	}
	a, err := app.New(context.Background(), cfg, "test", logs)
	if err != nil {
		return nil, err
	}
	check, err := newContractCheck()
	if err != nil {
		a.Close()
		return nil, err
	}
	a.Handler = check.wrap(a.Handler)
	if o.Listen {
		return listen(a, check)
	}
	h := a.Handler
	if o.Wrap != nil {
		h = o.Wrap(h)
	}
	s := &Server{App: a, srv: httptest.NewServer(h), contract: check}
	s.URL = s.srv.URL
	if a.MetricsHandler != nil {
		s.metrics = httptest.NewServer(a.MetricsHandler)
		s.MetricsURL = s.metrics.URL
	}
	return s, nil
}

// listen serves a on the listeners its configuration names.
func listen(a *app.App, check *contractCheck) (*Server, error) {
	ls, err := a.Listen()
	if err != nil {
		a.Close()
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	s := &Server{App: a, stop: stop, served: make(chan error, 1), contract: check}
	scheme := "http://"
	if a.Config.TLS() {
		scheme = "https://"
	}
	s.URL = scheme + ls.API.Addr().String()
	if ls.Metrics != nil {
		s.MetricsURL = "http://" + ls.Metrics.Addr().String()
	}
	go func() { s.served <- a.Serve(ctx, ls) }()
	return s, nil
}

// New starts a server for the test tb, on a temporary directory, and
// closes it when the test ends.
func New(tb testing.TB, o Options) *Server {
	tb.Helper()
	s, err := Start(tb.TempDir(), o)
	if err != nil {
		tb.Fatalf("start the server: %v", err)
	}
	if _, fuzz := tb.(*testing.F); !fuzz {
		// A fuzz test may not fail while its target runs; Close reports
		// to it instead, unless the target takes the reports itself.
		s.ReportTo(tb)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("close the server: %v", err)
		}
	})
	return s
}

// ReportTo fails tb (tb.Errorf) for every answer of the server that
// openapi.yaml does not allow, from now on and those kept so far.
func (s *Server) ReportTo(tb testing.TB) { s.contract.reportTo(tb) }

// Close stops serving, then closes the program. Its error includes the
// answers that broke openapi.yaml while no test was being reported to.
func (s *Server) Close() error {
	var served error
	if s.stop != nil {
		s.stop()
		served = <-s.served
	} else {
		s.srv.Close()
		if s.metrics != nil {
			s.metrics.Close()
		}
	}
	return errors.Join(served, s.App.Close(), s.contract.err())
}

// Mint returns a token for handle, valid for an hour, signed with the
// server's key.
func (s *Server) Mint(handle string) (string, error) {
	return s.App.Keys.Mint(handle, "", time.Hour, time.Now())
}
