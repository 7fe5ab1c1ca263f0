// Package testserver boots the whole program for tests: the real app, on
// a database of its own, behind an httptest server. The contract tests,
// the SDK's and the command line client's all start their servers here.
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
}

// Server is the program, serving at URL.
type Server struct {
	URL string
	App *app.App
	srv *httptest.Server
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
	h := check.wrap(a.Handler)
	if o.Wrap != nil {
		h = o.Wrap(h)
	}
	srv := httptest.NewServer(h)
	return &Server{URL: srv.URL, App: a, srv: srv, contract: check}, nil
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
	s.srv.Close()
	return errors.Join(s.App.Close(), s.contract.err())
}

// Mint returns a token for handle, valid for an hour, signed with the
// server's key.
func (s *Server) Mint(handle string) (string, error) {
	return s.App.Keys.Mint(handle, "", time.Hour, time.Now())
}
