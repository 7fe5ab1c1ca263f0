package sdk_test

import (
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/agcom/agcom/internal/config"
	"github.com/agcom/agcom/internal/testserver"
	"github.com/agcom/agcom/sdk"
)

// The agent that logs in with a secret: the bootstrap admin.
const aliceSecret = "alice-secret-0123456789"

// server is the real program on a temporary database, behind a recorder
// that counts the requests it sees and can inject failures.
type server struct {
	*testserver.Server

	mu     sync.Mutex
	seen   map[string]int // "METHOD /path STATUS" → count
	inject func(r *http.Request) (status int, body string, ok bool)
}

// boot starts the whole program on a database in dir, with alice as the
// bootstrap admin (secret aliceSecret) and rate limits off unless an
// option turns them on.
func boot(dir string, opts ...func(*config.Config)) (*server, func(), error) {
	s := &server{seen: map[string]int{}}
	var err error
	s.Server, err = testserver.Start(dir, testserver.Options{
		Env:    map[string]string{"ADMIN_HANDLE": "alice", "ADMIN_SECRET": aliceSecret},
		Wrap:   s.wrap,
		Config: opts,
	})
	if err != nil {
		return nil, nil, err
	}
	return s, func() { s.Close() }, nil
}

// newServer boots a server for one test.
func newServer(t *testing.T, opts ...func(*config.Config)) *server {
	t.Helper()
	s, stop, err := boot(t.TempDir(), opts...)
	if err != nil {
		t.Fatalf("boot: %v", err)
	}
	s.ReportTo(t)
	t.Cleanup(stop)
	return s
}

func (s *server) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		inject := s.inject
		s.mu.Unlock()
		if inject != nil {
			if status, body, ok := inject(r); ok {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(status)
				io.WriteString(w, body)
				s.count(r, status)
				return
			}
		}
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		s.count(r, rec.status)
	})
}

func (s *server) count(r *http.Request, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen[fmt.Sprintf("%s %s %d", r.Method, r.URL.Path, status)]++
}

// seenCount returns how often the server answered method path with status.
func (s *server) seenCount(method, path string, status int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen[fmt.Sprintf("%s %s %d", method, path, status)]
}

// setInject makes the server answer requests f picks itself.
func (s *server) setInject(f func(r *http.Request) (int, string, bool)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inject = f
}

// mint returns a token for handle signed with the server's key.
func (s *server) mint(handle string) string {
	tok, err := s.Mint(handle)
	if err != nil {
		panic(err)
	}
	return tok
}

// client returns a Client acting as handle with a minted token.
func (s *server) client(t *testing.T, handle string, opts ...sdk.Option) *sdk.Client {
	t.Helper()
	c, err := sdk.New(s.URL, append([]sdk.Option{sdk.WithToken(s.mint(handle))}, opts...)...)
	if err != nil {
		t.Fatalf("sdk.New: %v", err)
	}
	return c
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

// Unwrap lets http.NewResponseController flush the event stream.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
