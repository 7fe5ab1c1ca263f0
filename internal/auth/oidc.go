package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/lestrrat-go/httprc/v3"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/agcom/agcom/internal/agcom"
)

// Defaults of ProviderConfig.
const (
	DefaultHandleClaim = "agent_handle"
	// DefaultJWKSRefresh is how often the provider's keys are fetched again
	// in the background.
	DefaultJWKSRefresh = 15 * time.Minute
	// DefaultJWKSMinRefresh is how soon after a fetch a token naming an
	// unknown key may make the keys be fetched again.
	DefaultJWKSMinRefresh = 10 * time.Second
)

// DefaultProviderStartWait bounds how long start-up waits for the
// provider's keys; when they are not loaded by then, they keep being
// fetched in the background and readiness says so.
const DefaultProviderStartWait = 10 * time.Second

// providerRetry is how often discovery is tried again while it fails.
const providerRetry = 5 * time.Second

// ProviderConfig says which identity provider's access tokens to trust.
type ProviderConfig struct {
	// Issuer is the provider's issuer URL: its keys are found through
	// Issuer/.well-known/openid-configuration (unless JWKSURL is set), and
	// a token's iss must be it.
	Issuer string
	// JWKSURL is where the provider's keys are, when they are not to be
	// found by discovery. With JWKSURL alone, iss is not checked.
	JWKSURL string
	// Audience must be one of a token's aud.
	Audience string
	// HandleClaim names the claim that holds the agent's handle.
	HandleClaim string
	// AdminClaim and AdminValue, both set, make a token whose AdminClaim
	// is AdminValue (or a list, or a space-separated string, holding it)
	// act as an admin.
	AdminClaim, AdminValue string
	// Skew is tolerated on exp, nbf and iat.
	Skew time.Duration
	// Refresh and MinRefresh: see DefaultJWKSRefresh and
	// DefaultJWKSMinRefresh.
	Refresh, MinRefresh time.Duration
	// StartWait: see DefaultProviderStartWait.
	StartWait time.Duration
	// HTTPClient fetches discovery and keys; nil uses a client with a
	// timeout.
	HTTPClient *http.Client
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// Provider verifies access tokens of an OIDC / OAuth2 identity provider:
// JWTs signed by a key of the provider's JWKS, which it keeps fetched.
type Provider struct {
	cfg   ProviderConfig
	cache *jwk.Cache
	// stop ends the background work.
	stop context.CancelFunc

	mu sync.Mutex
	// jwksURL and issuer are known once discovery succeeded ("" before).
	jwksURL, issuer string
	// lastFetch is when the keys were last fetched for an unknown key.
	lastFetch time.Time

	verified *lru.Cache[string, Claims]
}

// NewProvider starts trusting the provider cfg names: it discovers its
// keys and fetches them, waiting up to cfg.StartWait; when that fails,
// it keeps trying in the background (Status says how it stands) and
// refuses the provider's tokens meanwhile. Close stops it.
func NewProvider(cfg ProviderConfig) (*Provider, error) {
	if cfg.Issuer == "" && cfg.JWKSURL == "" {
		return nil, errors.New("auth: an identity provider needs an issuer or a JWKS URL")
	}
	if cfg.Audience == "" {
		return nil, errors.New("auth: an identity provider needs an audience")
	}
	if cfg.HandleClaim == "" {
		cfg.HandleClaim = DefaultHandleClaim
	}
	if cfg.Refresh <= 0 {
		cfg.Refresh = DefaultJWKSRefresh
	}
	if cfg.MinRefresh <= 0 {
		cfg.MinRefresh = DefaultJWKSMinRefresh
	}
	if cfg.StartWait <= 0 {
		cfg.StartWait = DefaultProviderStartWait
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	ctx, stop := context.WithCancel(context.Background())
	cache, err := jwk.NewCache(ctx, httprc.NewClient())
	if err != nil {
		stop()
		return nil, fmt.Errorf("auth: key cache: %w", err)
	}
	verified, err := lru.New[string, Claims](verifiedCacheSize)
	if err != nil {
		stop()
		return nil, fmt.Errorf("auth: token cache: %w", err)
	}
	p := &Provider{cfg: cfg, cache: cache, stop: stop, verified: verified}
	started := make(chan struct{})
	go p.start(ctx, started)
	select {
	case <-started:
	case <-time.After(cfg.StartWait):
	}
	return p, nil
}

// Close stops fetching the provider's keys.
func (p *Provider) Close() {
	p.stop()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	p.cache.Shutdown(ctx)
}

// start discovers the provider until it succeeds, then registers its keys
// with the cache, which fetches them now and every cfg.Refresh.
func (p *Provider) start(ctx context.Context, started chan<- struct{}) {
	defer close(started)
	for {
		jwksURL, issuer, err := p.discover(ctx)
		if err == nil {
			err = p.cache.Register(ctx, jwksURL,
				jwk.WithHTTPClient(p.cfg.HTTPClient),
				jwk.WithMinInterval(p.cfg.MinRefresh),
				jwk.WithMaxInterval(p.cfg.Refresh),
				jwk.WithWaitReady(false))
		}
		if err == nil {
			p.mu.Lock()
			p.jwksURL, p.issuer, p.lastFetch = jwksURL, issuer, p.cfg.Now()
			p.mu.Unlock()
			wait, cancel := context.WithTimeout(ctx, p.cfg.StartWait)
			p.cache.Ready(wait, jwksURL)
			cancel()
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(providerRetry):
		}
	}
}

// discover returns the JWKS URL and the issuer tokens must name: JWKSURL
// and Issuer as configured, or what the issuer's discovery document says.
func (p *Provider) discover(ctx context.Context) (jwksURL, issuer string, err error) {
	if p.cfg.JWKSURL != "" {
		return p.cfg.JWKSURL, p.cfg.Issuer, nil
	}
	u := strings.TrimSuffix(p.cfg.Issuer, "/") + "/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", "", err
	}
	resp, err := p.cfg.HTTPClient.Do(req)
	if err != nil {
		return "", "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", "", fmt.Errorf("auth: %s: %s", u, resp.Status)
	}
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&doc); err != nil {
		return "", "", fmt.Errorf("auth: %s: %w", u, err)
	}
	// The document must be the issuer's own (OpenID Connect Discovery 4.3).
	if strings.TrimSuffix(doc.Issuer, "/") != strings.TrimSuffix(p.cfg.Issuer, "/") || doc.JWKSURI == "" {
		return "", "", fmt.Errorf("auth: %s names issuer %q and jwks_uri %q", u, doc.Issuer, doc.JWKSURI)
	}
	return doc.JWKSURI, doc.Issuer, nil
}

// ProviderStatus is whether the provider's keys are loaded, and how many.
type ProviderStatus struct {
	KeysLoaded bool
	Keys       int
}

// Status reports whether the provider's keys are loaded.
func (p *Provider) Status(ctx context.Context) ProviderStatus {
	set, err := p.keys(ctx)
	if err != nil {
		return ProviderStatus{}
	}
	return ProviderStatus{KeysLoaded: true, Keys: set.Len()}
}

// keys returns the provider's key set as last fetched.
func (p *Provider) keys(ctx context.Context) (jwk.Set, error) {
	p.mu.Lock()
	u := p.jwksURL
	p.mu.Unlock()
	if u == "" {
		return nil, errors.New("auth: the identity provider is not discovered yet")
	}
	return p.cache.Lookup(ctx, u)
}

// refreshFor fetches the keys again for a token naming a key, kid, that
// they do not hold (the provider may have rotated its keys), unless they
// were fetched less than cfg.MinRefresh ago: unknown kids cannot make
// AgCom hammer the provider.
func (p *Provider) refreshFor(ctx context.Context, kid string) (jwk.Set, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.jwksURL == "" {
		return nil, false
	}
	// Another request may have fetched them meanwhile.
	if set, err := p.cache.Lookup(ctx, p.jwksURL); err == nil {
		if _, ok := set.LookupKeyID(kid); ok {
			return set, true
		}
	}
	now := p.cfg.Now()
	if now.Sub(p.lastFetch) < p.cfg.MinRefresh {
		return nil, false
	}
	p.lastFetch = now
	set, err := p.cache.Refresh(ctx, p.jwksURL)
	return set, err == nil
}

// algorithmFor is the one signature algorithm key may verify: RS256 for
// RSA, ES256 for P-256, EdDSA for Ed25519, and only when the key's own
// alg (if any) says the same. Any other key verifies nothing: never an
// HMAC (a public key is no secret), never none.
func algorithmFor(key jwk.Key) (jwa.SignatureAlgorithm, bool) {
	var alg jwa.SignatureAlgorithm
	switch key.KeyType() {
	case jwa.RSA():
		alg = jwa.RS256()
	case jwa.EC():
		var crv jwa.EllipticCurveAlgorithm
		if err := key.Get(jwk.ECDSACrvKey, &crv); err != nil || crv != jwa.P256() {
			return alg, false
		}
		alg = jwa.ES256()
	case jwa.OKP():
		var crv jwa.EllipticCurveAlgorithm
		if err := key.Get(jwk.OKPCrvKey, &crv); err != nil || crv != jwa.Ed25519() {
			return alg, false
		}
		alg = jwa.EdDSA()
	default:
		return alg, false
	}
	if use, ok := key.KeyUsage(); ok && use != "sig" {
		return alg, false
	}
	if ka, ok := key.Algorithm(); ok && ka.String() != alg.String() {
		return alg, false
	}
	return alg, true
}

// keyProvider offers, for a token's signature, the keys of the provider's
// set that its kid names (every key when it names none) whose algorithm
// is the one the header names; a kid the set lacks fetches the set again
// once (see refreshFor).
func (p *Provider) keyProvider(set jwk.Set) jws.KeyProvider {
	return jws.KeyProviderFunc(func(ctx context.Context, sink jws.KeySink, sig *jws.Signature, _ *jws.Message) error {
		hdr := sig.ProtectedHeaders()
		want, ok := hdr.Algorithm()
		if !ok {
			return errors.New("auth: token names no algorithm")
		}
		candidates := []jwk.Key{}
		if kid, named := hdr.KeyID(); named {
			key, found := set.LookupKeyID(kid)
			if !found {
				fresh, refreshed := p.refreshFor(ctx, kid)
				if !refreshed {
					return fmt.Errorf("auth: unknown key %q", kid)
				}
				if key, found = fresh.LookupKeyID(kid); !found {
					return fmt.Errorf("auth: unknown key %q", kid)
				}
			}
			candidates = append(candidates, key)
		} else {
			for i := range set.Len() {
				key, _ := set.Key(i)
				candidates = append(candidates, key)
			}
		}
		for _, key := range candidates {
			if alg, ok := algorithmFor(key); ok && alg.String() == want.String() {
				sink.Key(alg, key)
			}
		}
		return nil
	})
}

// Verify checks an access token of the provider: its signature by a key
// of the provider's set, iss (when the issuer is known), aud, exp
// (required) and nbf with the configured skew, and its handle claim.
// Any failure is EUNAUTHENTICATED.
func (p *Provider) Verify(ctx context.Context, token string) (Claims, error) {
	if c, ok := p.verified.Get(token); ok {
		if !p.cfg.Now().Before(c.ExpiresAt.Add(p.cfg.Skew)) {
			p.verified.Remove(token)
			return Claims{}, unauthenticated("invalid or expired token")
		}
		return c, nil
	}
	set, err := p.keys(ctx)
	if err != nil {
		return Claims{}, unauthenticated("the identity provider's keys are not loaded yet: try again shortly")
	}
	p.mu.Lock()
	issuer := p.issuer
	p.mu.Unlock()
	opts := []jwt.ParseOption{
		jwt.WithKeyProvider(p.keyProvider(set)),
		jwt.WithValidate(true),
		jwt.WithRequiredClaim("exp"),
		jwt.WithAudience(p.cfg.Audience),
		jwt.WithAcceptableSkew(p.cfg.Skew),
		jwt.WithClock(jwt.ClockFunc(p.cfg.Now)),
	}
	if issuer != "" {
		opts = append(opts, jwt.WithIssuer(issuer))
	}
	tok, err := jwt.Parse([]byte(token), append(opts, jwt.WithContext(ctx))...)
	if err != nil {
		return Claims{}, unauthenticated(providerRefusal(err))
	}
	var handle string
	if err := tok.Get(p.cfg.HandleClaim, &handle); err != nil {
		return Claims{}, unauthenticated(fmt.Sprintf("the identity provider's token has no string claim %s naming the agent", p.cfg.HandleClaim))
	}
	if !agcom.ValidHandle(handle) {
		return Claims{}, unauthenticated(fmt.Sprintf(
			"the identity provider's token names the agent %q (claim %s), which is not a valid AgCom handle: 2-64 characters of a-z 0-9 . _ -, not starting or ending with . or -",
			handle, p.cfg.HandleClaim))
	}
	c := Claims{Handle: handle, Provider: true, ProviderAdmin: p.isAdmin(tok)}
	c.ExpiresAt, _ = tok.Expiration()
	p.verified.Add(token, c)
	return c, nil
}

// providerRefusal says why a provider's token was refused, without
// echoing what an attacker wrote.
func providerRefusal(err error) string {
	switch {
	case errors.Is(err, jwt.TokenExpiredError()):
		return "the identity provider's token has expired"
	case errors.Is(err, jwt.InvalidAudienceError()):
		return "the identity provider's token is not for this audience (OIDC_AUDIENCE)"
	case errors.Is(err, jwt.InvalidIssuerError()):
		return "the identity provider's token has another issuer"
	case errors.Is(err, jwt.TokenNotYetValidError()):
		return "the identity provider's token is not valid yet"
	}
	return "invalid token: not signed by a key of the identity provider, or malformed"
}

// isAdmin reports whether tok's admin claim holds the admin value: as the
// claim itself, an element of a list, or a word of a space-separated
// string (as OAuth2's scope).
func (p *Provider) isAdmin(tok jwt.Token) bool {
	if p.cfg.AdminClaim == "" || p.cfg.AdminValue == "" || !tok.Has(p.cfg.AdminClaim) {
		return false
	}
	var v any
	if err := tok.Get(p.cfg.AdminClaim, &v); err != nil {
		return false
	}
	switch v := v.(type) {
	case string:
		return slices.Contains(strings.Fields(v), p.cfg.AdminValue)
	case []any:
		for _, e := range v {
			if s, ok := e.(string); ok && s == p.cfg.AdminValue {
				return true
			}
		}
	case []string:
		return slices.Contains(v, p.cfg.AdminValue)
	}
	return false
}

// isHS256 reports whether token's header names HS256: AgCom's own tokens.
// Any other (or unreadable) header is for the provider to verify, which
// refuses HS256 and none.
func isHS256(token string) bool {
	msg, err := jws.Parse([]byte(token))
	if err != nil || len(msg.Signatures()) != 1 {
		return false
	}
	alg, ok := msg.Signatures()[0].ProtectedHeaders().Algorithm()
	return ok && alg.String() == jwa.HS256().String()
}
