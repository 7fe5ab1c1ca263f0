// Package auth verifies bearer tokens, mints them, and carries the
// authenticated caller in the request context.
package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/agcom/agcom/internal/agcom"
)

// MinKeyLen is the shortest signing key accepted, in bytes.
const MinKeyLen = 32

// Token claims.
const (
	claimHandle      = "agent_handle"
	claimDisplayName = "agent_display_name"
)

// Claims is what a token says about its holder.
type Claims struct {
	Handle      string
	DisplayName string
	ExpiresAt   time.Time
}

// verifiedCacheSize bounds the cache of verified tokens.
const verifiedCacheSize = 10_000

// Keys signs and verifies HS256 tokens with one secret key.
type Keys struct {
	key []byte

	// verified remembers tokens whose signature and claims checked out,
	// until they expire, so that an agent's every request does not parse
	// and verify its token again. It caches only what the token itself
	// says: admin and disabled flags are still read on every request.
	mu       sync.Mutex
	verified map[string]Claims
}

// NewKeys returns Keys for secret, which must be at least MinKeyLen bytes.
func NewKeys(secret string) (*Keys, error) {
	if len(secret) < MinKeyLen {
		return nil, fmt.Errorf("auth: the signing key must be at least %d bytes, got %d", MinKeyLen, len(secret))
	}
	return &Keys{key: []byte(secret), verified: map[string]Claims{}}, nil
}

// Mint returns a token for handle that expires after ttl.
func (k *Keys) Mint(handle, displayName string, ttl time.Duration, now time.Time) (string, error) {
	if !agcom.ValidHandle(handle) {
		return "", fmt.Errorf("auth: %q is not a valid handle", handle)
	}
	if ttl <= 0 {
		return "", errors.New("auth: the token lifetime must be positive")
	}
	b := jwt.NewBuilder().
		IssuedAt(now).
		Expiration(now.Add(ttl)).
		Claim(claimHandle, handle)
	if displayName != "" {
		b = b.Claim(claimDisplayName, displayName)
	}
	tok, err := b.Build()
	if err != nil {
		return "", fmt.Errorf("auth: build token: %w", err)
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.HS256(), k.key))
	if err != nil {
		return "", fmt.Errorf("auth: sign token: %w", err)
	}
	return string(signed), nil
}

// Verify checks the token's HS256 signature, its expiry (required) and its
// handle, and returns its claims. Any failure is EUNAUTHENTICATED.
func (k *Keys) Verify(token string) (Claims, error) {
	now := time.Now()
	k.mu.Lock()
	c, ok := k.verified[token]
	k.mu.Unlock()
	if ok && now.Before(c.ExpiresAt) {
		return c, nil
	}
	c, err := k.verify(token)
	if err != nil {
		return Claims{}, err
	}
	k.mu.Lock()
	if len(k.verified) >= verifiedCacheSize {
		clear(k.verified) // simple and bounded; hot tokens come back at once
	}
	k.verified[token] = c
	k.mu.Unlock()
	return c, nil
}

func (k *Keys) verify(token string) (Claims, error) {
	tok, err := jwt.Parse([]byte(token),
		jwt.WithKey(jwa.HS256(), k.key),
		jwt.WithValidate(true),
		jwt.WithRequiredClaim("exp"),
	)
	if err != nil {
		return Claims{}, unauthenticated("invalid or expired token")
	}
	var c Claims
	if err := tok.Get(claimHandle, &c.Handle); err != nil || !agcom.ValidHandle(c.Handle) {
		return Claims{}, unauthenticated("token has no valid agent_handle")
	}
	if tok.Has(claimDisplayName) {
		if err := tok.Get(claimDisplayName, &c.DisplayName); err != nil {
			return Claims{}, unauthenticated("token has an invalid agent_display_name")
		}
	}
	c.ExpiresAt, _ = tok.Expiration()
	return c, nil
}

func unauthenticated(msg string) error {
	return &agcom.Error{Code: agcom.EUNAUTHENTICATED, Message: msg}
}

type callerKey struct{}

// WithCaller returns ctx carrying the authenticated caller.
func WithCaller(ctx context.Context, c agcom.Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the authenticated caller of the request, if any.
func CallerFrom(ctx context.Context) (agcom.Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(agcom.Caller)
	return c, ok
}

// AgentStatus is what the store knows of a handle: registered agents may be
// admins or disabled; unregistered ones are ordinary agents.
type AgentStatus struct {
	Registered bool
	IsAdmin    bool
	Disabled   bool
}

// StatusLookup reads an agent's current status; it runs on every request so
// that promotion, demotion and disabling take effect at once.
type StatusLookup func(ctx context.Context, handle string) (AgentStatus, error)

// Middleware authenticates requests: it verifies the bearer token once,
// reads the agent's current status, and puts the caller in the context.
// Requests for which public returns true pass without a token. Failures go
// to fail, which writes the response.
func Middleware(keys *Keys, lookup StatusLookup, public func(*http.Request) bool, fail func(http.ResponseWriter, *http.Request, error)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if public(r) {
				next.ServeHTTP(w, r)
				return
			}
			header := r.Header.Get("Authorization")
			scheme, token, ok := strings.Cut(header, " ")
			if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
				fail(w, r, unauthenticated("missing bearer token: send Authorization: Bearer <token>"))
				return
			}
			claims, err := keys.Verify(strings.TrimSpace(token))
			if err != nil {
				fail(w, r, err)
				return
			}
			status, err := lookup(r.Context(), claims.Handle)
			if err != nil {
				fail(w, r, err)
				return
			}
			if status.Disabled {
				fail(w, r, unauthenticated("agent is disabled"))
				return
			}
			caller := agcom.Caller{Handle: claims.Handle, DisplayName: claims.DisplayName, IsAdmin: status.IsAdmin}
			next.ServeHTTP(w, r.WithContext(WithCaller(r.Context(), caller)))
		})
	}
}
