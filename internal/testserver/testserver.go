// Package testserver boots the whole program for tests: the real app, on
// a database of its own, behind an httptest server. The contract tests,
// the SDK's and the command line client's all start their servers here.
package testserver

import (
	"context"
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
	// Wrap, when set, stands in front of the program's handler.
	Wrap func(http.Handler) http.Handler
	// Config adjusts the loaded configuration, in order.
	Config []func(*config.Config)
}

// Server is the program, serving at URL.
type Server struct {
	URL string
	App *app.App
	srv *httptest.Server
}

// Start starts a server whose database lives in dir.
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
	h := a.Handler
	if o.Wrap != nil {
		h = o.Wrap(h)
	}
	srv := httptest.NewServer(h)
	return &Server{URL: srv.URL, App: a, srv: srv}, nil
}

// New starts a server for the test tb, on a temporary directory, and
// closes it when the test ends.
func New(tb testing.TB, o Options) *Server {
	tb.Helper()
	s, err := Start(tb.TempDir(), o)
	if err != nil {
		tb.Fatalf("start the server: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("close the server: %v", err)
		}
	})
	return s
}

// Close stops serving, then closes the program.
func (s *Server) Close() error {
	s.srv.Close()
	return s.App.Close()
}

// Mint returns a token for handle, valid for an hour, signed with the
// server's key.
func (s *Server) Mint(handle string) (string, error) {
	return s.App.Keys.Mint(handle, "", time.Hour, time.Now())
}
