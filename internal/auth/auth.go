// Package auth verifies bearer tokens, mints them, and carries the
// authenticated caller in the request context.
package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/agcom/agcom/internal/agcom"
)

// MinKeyLen is the shortest signing key accepted, in bytes.
const MinKeyLen = 32

// Token claims.
const (
	claimHandle      = "agent_handle"
	claimDisplayName = "agent_display_name"
	// claimGeneration is the agent's token generation when the token was
	// issued: revoking an agent's tokens raises its generation, and every
	// token of an older generation stops working.
	claimGeneration = "agent_token_gen"
)

// Claims is what a token says about its holder.
type Claims struct {
	Handle      string
	DisplayName string
	// Generation is the agent's token generation at issue (0 when the
	// token does not say).
	Generation int64
	// ExpiresAt is when the credential stops working; zero for an API key
	// that never expires.
	ExpiresAt time.Time
	// APIKeyID is the API key the request authenticated with, if any.
	APIKeyID string
	// Provider is set for an access token of the identity provider, and
	// ProviderAdmin when it carries the admin claim.
	Provider      bool
	ProviderAdmin bool
}

// verifiedCacheSize is how many verified tokens are remembered; the least
// recently used is forgotten first.
const verifiedCacheSize = 10_000

// signingKey is one HS256 key and the id tokens signed with it carry.
type signingKey struct {
	id     string
	secret []byte
}

func newSigningKey(secret string) (signingKey, error) {
	if len(secret) < MinKeyLen {
		return signingKey{}, fmt.Errorf("auth: the signing key must be at least %d bytes, got %d", MinKeyLen, len(secret))
	}
	// The id names the key without revealing it: a digest of a random
	// key of 32 bytes or more says nothing usable about the key.
	sum := sha256.Sum256([]byte("agcom key id\x00" + secret))
	return signingKey{id: hex.EncodeToString(sum[:8]), secret: []byte(secret)}, nil
}

// Keys signs tokens with the current key and verifies them with the
// current key or, while keys rotate, the previous one.
type Keys struct {
	current  signingKey
	previous *signingKey
	skew     time.Duration
	now      func() time.Time

	// verified remembers tokens whose signature and claims checked out,
	// until they expire, so that an agent's every request does not parse
	// and verify its token again. It caches only what the token itself
	// says: admin and disabled flags and the token generation are still
	// read on every request.
	verified *lru.Cache[string, Claims]
}

// KeyOption adjusts Keys.
type KeyOption func(*Keys) error

// WithPreviousKey accepts tokens signed with secret (but never signs with
// it), so that the signing key can be rotated without logging anyone out.
func WithPreviousKey(secret string) KeyOption {
	return func(k *Keys) error {
		if secret == "" {
			return nil
		}
		p, err := newSigningKey(secret)
		if err != nil {
			return fmt.Errorf("auth: previous key: %w", err)
		}
		k.previous = &p
		return nil
	}
}

// WithClockSkew tolerates clocks up to d apart on exp, nbf and iat.
func WithClockSkew(d time.Duration) KeyOption {
	return func(k *Keys) error { k.skew = d; return nil }
}

// WithClock replaces time.Now (tests that control time).
func WithClock(now func() time.Time) KeyOption {
	return func(k *Keys) error { k.now = now; return nil }
}

// NewKeys returns Keys that sign with secret, which must be at least
// MinKeyLen bytes.
func NewKeys(secret string, opts ...KeyOption) (*Keys, error) {
	return newKeys(secret, verifiedCacheSize, opts...)
}

// newKeys is NewKeys remembering up to cacheSize verified tokens.
func newKeys(secret string, cacheSize int, opts ...KeyOption) (*Keys, error) {
	cur, err := newSigningKey(secret)
	if err != nil {
		return nil, err
	}
	verified, err := lru.New[string, Claims](cacheSize)
	if err != nil {
		return nil, fmt.Errorf("auth: token cache: %w", err)
	}
	k := &Keys{current: cur, now: time.Now, verified: verified}
	for _, o := range opts {
		if err := o(k); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// KeyID is the id (the JWS kid header) of the key tokens are signed with.
func (k *Keys) KeyID() string { return k.current.id }

// Mint returns a token for handle that expires after ttl.
func (k *Keys) Mint(handle, displayName string, ttl time.Duration, now time.Time) (string, error) {
	return k.Issue(Claims{Handle: handle, DisplayName: displayName}, ttl, now)
}

// Issue returns a token carrying c's handle, display name and generation
// that expires after ttl.
func (k *Keys) Issue(c Claims, ttl time.Duration, now time.Time) (string, error) {
	if !agcom.ValidHandle(c.Handle) {
		return "", fmt.Errorf("auth: %q is not a valid handle", c.Handle)
	}
	if ttl <= 0 {
		return "", errors.New("auth: the token lifetime must be positive")
	}
	b := jwt.NewBuilder().
		IssuedAt(now).
		Expiration(now.Add(ttl)).
		Claim(claimHandle, c.Handle)
	if c.DisplayName != "" {
		b = b.Claim(claimDisplayName, c.DisplayName)
	}
	if c.Generation != 0 {
		b = b.Claim(claimGeneration, c.Generation)
	}
	tok, err := b.Build()
	if err != nil {
		return "", fmt.Errorf("auth: build token: %w", err)
	}
	hdr := jws.NewHeaders()
	if err := hdr.Set(jws.KeyIDKey, k.current.id); err != nil {
		return "", fmt.Errorf("auth: token header: %w", err)
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.HS256(), k.current.secret, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		return "", fmt.Errorf("auth: sign token: %w", err)
	}
	return string(signed), nil
}

// Verify checks the token's HS256 signature, its expiry (required), its
// issue and not-before times (when present) and its handle, and returns
// its claims. Any failure is EUNAUTHENTICATED.
func (k *Keys) Verify(token string) (Claims, error) {
	if c, ok := k.verified.Get(token); ok {
		if err := k.checkExpiry(c); err != nil {
			k.verified.Remove(token) // an expired token only takes a slot
			return Claims{}, err
		}
		return c, nil
	}
	c, err := k.verify(token)
	if err != nil {
		return Claims{}, err
	}
	k.verified.Add(token, c)
	return c, nil
}

// checkExpiry fails once c's token has expired, allowing for clock skew.
func (k *Keys) checkExpiry(c Claims) error {
	if !k.now().Before(c.ExpiresAt.Add(k.skew)) {
		return unauthenticated("invalid or expired token")
	}
	return nil
}

// keyProvider offers the key a token's kid names, or every accepted key
// when it names none; a kid of no accepted key verifies nothing.
func (k *Keys) keyProvider() jws.KeyProvider {
	return jws.KeyProviderFunc(func(_ context.Context, sink jws.KeySink, sig *jws.Signature, _ *jws.Message) error {
		kid, named := sig.ProtectedHeaders().KeyID()
		for _, key := range []*signingKey{&k.current, k.previous} {
			if key != nil && (!named || kid == key.id) {
				sink.Key(jwa.HS256(), key.secret)
			}
		}
		return nil
	})
}

func (k *Keys) verify(token string) (Claims, error) {
	tok, err := jwt.Parse([]byte(token),
		jwt.WithKeyProvider(k.keyProvider()),
		jwt.WithValidate(true),
		jwt.WithRequiredClaim("exp"),
		jwt.WithAcceptableSkew(k.skew),
		jwt.WithClock(jwt.ClockFunc(k.now)),
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
	if tok.Has(claimGeneration) {
		var gen float64 // JSON numbers decode as float64
		if err := tok.Get(claimGeneration, &gen); err != nil || gen < 0 || gen != float64(int64(gen)) {
			return Claims{}, unauthenticated("token has an invalid agent_token_gen")
		}
		c.Generation = int64(gen)
	}
	c.ExpiresAt, _ = tok.Expiration()
	return c, nil
}

func unauthenticated(msg string) error {
	return &agcom.Error{Code: agcom.EUNAUTHENTICATED, Message: msg}
}

type sessionKey struct{}

// session is what the context carries of an authenticated request.
type session struct {
	caller agcom.Caller
	claims Claims
}

// WithCaller returns ctx carrying the authenticated caller.
func WithCaller(ctx context.Context, c agcom.Caller) context.Context {
	return context.WithValue(ctx, sessionKey{}, session{caller: c})
}

// CallerFrom returns the authenticated caller of the request, if any.
func CallerFrom(ctx context.Context) (agcom.Caller, bool) {
	s, ok := ctx.Value(sessionKey{}).(session)
	return s.caller, ok
}

// ClaimsFrom returns the claims of the token the request authenticated
// with, if any.
func ClaimsFrom(ctx context.Context) (Claims, bool) {
	s, ok := ctx.Value(sessionKey{}).(session)
	return s.claims, ok && s.claims.Handle != ""
}

// AgentStatus is what the store knows of a handle: registered agents may be
// admins or disabled, and may have had their tokens revoked; unregistered
// ones are ordinary agents.
type AgentStatus struct {
	Registered bool
	IsAdmin    bool
	Disabled   bool
	// TokenGeneration is the oldest token generation still accepted.
	TokenGeneration int64
}

// StatusLookup reads an agent's current status; it runs on every request so
// that promotion, demotion, disabling and revocation take effect at once.
type StatusLookup func(ctx context.Context, handle string) (AgentStatus, error)

// Authenticator turns a bearer token or an API key into the caller it
// stands for, now.
type Authenticator struct {
	Keys   *Keys
	Lookup StatusLookup
	// APIKeys reads API keys; nil refuses every key.
	APIKeys APIKeyLookup
	// TouchAPIKey records a key's use; nil records none.
	TouchAPIKey APIKeyTouch
	// Provider verifies the identity provider's access tokens; nil trusts
	// none.
	Provider *Provider
	// Register registers a handle seen for the first time in a provider's
	// token, and audits it with details.
	Register func(ctx context.Context, handle, displayName string, details map[string]any) error
}

// Authenticate verifies token (a JWT or an API key) and reads its agent's
// current status.
func (a Authenticator) Authenticate(ctx context.Context, token string) (agcom.Caller, Claims, error) {
	var (
		claims Claims
		err    error
	)
	switch {
	case strings.HasPrefix(token, APIKeyPrefix):
		claims, err = a.verifyAPIKey(ctx, token)
	case a.Provider != nil && !isHS256(token):
		claims, err = a.Provider.Verify(ctx, token)
	default:
		claims, err = a.Keys.Verify(token)
	}
	if err != nil {
		return agcom.Caller{}, Claims{}, err
	}
	caller, err := a.caller(ctx, claims)
	return caller, claims, err
}

// Recheck answers, for a request that authenticated earlier and is still
// open (an event stream), who its caller is now: its token may have
// expired or been revoked, and its agent disabled, promoted or demoted
// since.
func (a Authenticator) Recheck(ctx context.Context, claims Claims) (agcom.Caller, error) {
	if claims.APIKeyID != "" {
		// The key may have been revoked since: it is read again.
		if _, err := a.lookupAPIKey(ctx, claims.APIKeyID); err != nil {
			return agcom.Caller{}, err
		}
	} else if err := a.Keys.checkExpiry(claims); err != nil {
		return agcom.Caller{}, err
	}
	return a.caller(ctx, claims)
}

func (a Authenticator) caller(ctx context.Context, claims Claims) (agcom.Caller, error) {
	status, err := a.Lookup(ctx, claims.Handle)
	if err != nil {
		return agcom.Caller{}, err
	}
	if claims.Provider && !status.Registered && a.Register != nil {
		// Registered, so that admins see it in lists, can disable it, and
		// find it in the audit.
		if err := a.Register(ctx, claims.Handle, "", map[string]any{"via": "identity_provider"}); err != nil {
			return agcom.Caller{}, err
		}
	}
	if status.Disabled {
		return agcom.Caller{}, unauthenticated("agent is disabled")
	}
	// The provider's tokens are the provider's to revoke (or the agent is
	// disabled here); the generation counts AgCom's own credentials.
	if !claims.Provider && claims.Generation < status.TokenGeneration {
		if claims.APIKeyID != "" {
			return agcom.Caller{}, unauthenticated("API key has been revoked with the agent's tokens")
		}
		return agcom.Caller{}, unauthenticated("token has been revoked: log in again")
	}
	return agcom.Caller{Handle: claims.Handle, DisplayName: claims.DisplayName, IsAdmin: status.IsAdmin || claims.ProviderAdmin}, nil
}

// APIKeyHeader carries an API key, as an alternative to
// `Authorization: Bearer agk_…`.
const APIKeyHeader = "X-API-Key"

// credential returns the request's bearer token, or else its API key.
func credential(r *http.Request) (string, error) {
	if header := r.Header.Get("Authorization"); header != "" {
		scheme, token, ok := strings.Cut(header, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			return "", unauthenticated("malformed Authorization header: send Authorization: Bearer <token>")
		}
		return strings.TrimSpace(token), nil
	}
	if key := strings.TrimSpace(r.Header.Get(APIKeyHeader)); key != "" {
		if !strings.HasPrefix(key, APIKeyPrefix) {
			return "", unauthenticated(APIKeyHeader + " takes an API key (" + APIKeyPrefix + "…)")
		}
		return key, nil
	}
	return "", unauthenticated("missing bearer token: send Authorization: Bearer <token> or " + APIKeyHeader + ": <API key>")
}

// Middleware authenticates requests: it verifies the bearer token (or
// API key) once, reads the agent's current status, and puts the caller in
// the context. Requests for which public returns true pass without a
// token. Failures go to fail, which writes the response.
func Middleware(a Authenticator, public func(*http.Request) bool, fail func(http.ResponseWriter, *http.Request, error)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if public(r) {
				next.ServeHTTP(w, r)
				return
			}
			token, err := credential(r)
			if err != nil {
				fail(w, r, err)
				return
			}
			caller, claims, err := a.Authenticate(r.Context(), token)
			if err != nil {
				fail(w, r, err)
				return
			}
			ctx := context.WithValue(r.Context(), sessionKey{}, session{caller: caller, claims: claims})
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}
