package sdk

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/agcom/agcom/gen/agcomv1"
)

// Token renewal: a token from a login is renewed a tenth of its lifetime
// (at most renewMaxMargin) before it expires, plus renewSkew because a
// token's expiry is counted in whole seconds.
const (
	renewMaxMargin = time.Minute
	renewSkew      = time.Second
)

// tokenSource hands out the bearer token: a static one, or one obtained by
// logging in and renewed before it expires. It is safe for concurrent use;
// concurrent callers that find the token due share one login.
type tokenSource struct {
	static string
	// fn supplies the token on every request (WithTokenFunc); nil
	// otherwise.
	fn func(ctx context.Context) (string, error)
	// login exchanges the handle and secret for a token; nil with a
	// static token.
	login func(ctx context.Context) (agcomv1.TokenResponse, error)
	now   func() time.Time

	// gate serializes logins; a channel rather than a mutex so that a
	// caller waiting for another's login can give up with its context.
	gate chan struct{}

	mu      sync.Mutex
	token   string
	renewAt time.Time
}

func newTokenSource(static string, login func(context.Context) (agcomv1.TokenResponse, error)) *tokenSource {
	return &tokenSource{static: static, login: login, now: time.Now, gate: make(chan struct{}, 1)}
}

// Token returns a token that is not due for renewal, logging in first
// when needed.
func (s *tokenSource) Token(ctx context.Context) (string, error) {
	if s.fn != nil {
		return s.fn(ctx)
	}
	if s.login == nil {
		return s.static, nil
	}
	if tok, ok := s.current(); ok {
		return tok, nil
	}
	select {
	case s.gate <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-s.gate }()
	// Another caller may have logged in while this one waited.
	if tok, ok := s.current(); ok {
		return tok, nil
	}
	start := s.now()
	resp, err := s.login(ctx)
	if err != nil {
		return "", err
	}
	if resp.AccessToken == "" {
		return "", errors.New("agcom: login: the server returned no access token")
	}
	ttl := time.Duration(resp.ExpiresIn) * time.Second
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = resp.AccessToken
	s.renewAt = start.Add(ttl - min(ttl/10, renewMaxMargin) - renewSkew)
	return s.token, nil
}

// current returns the token if there is one not yet due for renewal.
func (s *tokenSource) current() (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.token, s.token != "" && s.now().Before(s.renewAt)
}

// canLogin reports whether s can get a new token after one is refused.
func (s *tokenSource) canLogin() bool {
	return s != nil && s.login != nil
}

// invalidate drops tok after the server refused it, unless a newer token
// already replaced it.
func (s *tokenSource) invalidate(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token == tok {
		s.token = ""
	}
}
