package auth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/agcom/agcom/internal/agcom"
	"github.com/agcom/agcom/internal/auth"
)

const testAudience = "agcom"

// idp is an identity provider in miniature: discovery and a JWKS whose
// keys the test changes, counting the fetches of the JWKS.
type idp struct {
	*httptest.Server
	mu      sync.Mutex
	public  jwk.Set
	fetches atomic.Int32
}

func newIDP(t *testing.T) *idp {
	t.Helper()
	p := &idp{public: jwk.NewSet()}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"issuer": p.URL, "jwks_uri": p.URL + "/jwks"})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		p.fetches.Add(1)
		p.mu.Lock()
		defer p.mu.Unlock()
		json.NewEncoder(w).Encode(p.public)
	})
	p.Server = httptest.NewServer(mux)
	t.Cleanup(p.Close)
	return p
}

// signer is a private key of the provider's and the algorithm it signs with.
type signer struct {
	alg jwa.SignatureAlgorithm
	key jwk.Key
}

// newSigner makes a key of the kind alg needs, with the id kid.
func newSigner(t *testing.T, alg jwa.SignatureAlgorithm, kid string) signer {
	t.Helper()
	var raw any
	var err error
	switch alg.String() {
	case "RS256":
		raw, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ES256":
		raw, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "EdDSA":
		_, raw, err = ed25519.GenerateKey(rand.Reader)
	}
	if err != nil {
		t.Fatal(err)
	}
	key, err := jwk.Import(raw)
	if err != nil {
		t.Fatal(err)
	}
	key.Set(jwk.KeyIDKey, kid)
	return signer{alg: alg, key: key}
}

// publish adds s's public key to the provider's JWKS.
func (p *idp) publish(t *testing.T, s signer) {
	t.Helper()
	pub, err := s.key.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.public.AddKey(pub)
}

// token signs claims (iss, aud, exp, agent_handle by default) with s.
func (s signer) token(t *testing.T, iss string, edit func(*jwt.Builder) *jwt.Builder) string {
	t.Helper()
	b := jwt.NewBuilder().Issuer(iss).Audience([]string{testAudience}).
		IssuedAt(time.Now()).Expiration(time.Now().Add(time.Hour)).Claim("agent_handle", "svc-robot")
	if edit != nil {
		b = edit(b)
	}
	tok, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(s.alg, s.key))
	if err != nil {
		t.Fatal(err)
	}
	return string(signed)
}

func newProvider(t *testing.T, p *idp, edit func(*auth.ProviderConfig)) *auth.Provider {
	t.Helper()
	cfg := auth.ProviderConfig{Issuer: p.URL, Audience: testAudience, Skew: 3 * time.Second, MinRefresh: time.Hour,
		AdminClaim: "scope", AdminValue: "agcom.admin"}
	if edit != nil {
		edit(&cfg)
	}
	prov, err := auth.NewProvider(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(prov.Close)
	if st := prov.Status(context.Background()); !st.KeysLoaded {
		t.Fatalf("keys not loaded after start")
	}
	return prov
}

func wantRefused(t *testing.T, prov *auth.Provider, name, token, wantMessage string) {
	t.Helper()
	_, err := prov.Verify(context.Background(), token)
	if agcom.ErrorCode(err) != agcom.EUNAUTHENTICATED {
		t.Errorf("%s: err = %v, want AuthenticationError", name, err)
		return
	}
	if wantMessage != "" && !strings.Contains(err.Error(), wantMessage) {
		t.Errorf("%s: err = %v, want it to say %q", name, err, wantMessage)
	}
}

func TestProviderAcceptsEachKeyAlgorithm(t *testing.T) {
	p := newIDP(t)
	signers := []signer{
		newSigner(t, jwa.RS256(), "rsa"), newSigner(t, jwa.ES256(), "ec"), newSigner(t, jwa.EdDSA(), "ed"),
	}
	for _, s := range signers {
		p.publish(t, s)
	}
	prov := newProvider(t, p, nil)
	for _, s := range signers {
		c, err := prov.Verify(context.Background(), s.token(t, p.URL, func(b *jwt.Builder) *jwt.Builder {
			return b.Claim("scope", "read agcom.admin")
		}))
		if err != nil {
			t.Errorf("%s: %v", s.alg, err)
			continue
		}
		if c.Handle != "svc-robot" || !c.Provider || !c.ProviderAdmin {
			t.Errorf("%s: claims %+v, want svc-robot, from the provider, admin", s.alg, c)
		}
	}
	if st := prov.Status(context.Background()); st.Keys != 3 {
		t.Errorf("status keys = %d, want 3", st.Keys)
	}
}

func TestProviderRefusesAlgorithmConfusion(t *testing.T) {
	p := newIDP(t)
	rsaSigner := newSigner(t, jwa.RS256(), "rsa")
	ecSigner := newSigner(t, jwa.ES256(), "ec")
	p.publish(t, rsaSigner)
	p.publish(t, ecSigner)
	prov := newProvider(t, p, nil)

	// HS256 with the provider's public key (as PEM, and as the JWK's n) as
	// the HMAC secret: what a verifier that trusts the header would accept.
	var rawPub rsa.PublicKey
	pub, _ := rsaSigner.key.PublicKey()
	if err := jwk.Export(pub, &rawPub); err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&rawPub)
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	for name, secret := range map[string][]byte{"pem": pemKey, "der": der} {
		hs := signer{alg: jwa.HS256()}
		k, err := jwk.Import(secret)
		if err != nil {
			t.Fatal(err)
		}
		k.Set(jwk.KeyIDKey, "rsa")
		hs.key = k
		wantRefused(t, prov, "HS256 with the public key as "+name, hs.token(t, p.URL, nil), "")
	}

	// alg none, with and without a kid.
	claims := base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"` + p.URL + `","aud":"agcom","exp":9999999999,"agent_handle":"svc-robot"}`))
	for _, hdr := range []string{`{"alg":"none"}`, `{"alg":"none","kid":"rsa"}`} {
		wantRefused(t, prov, "none "+hdr, base64.RawURLEncoding.EncodeToString([]byte(hdr))+"."+claims+".", "")
	}

	// The EC key's kid with RS256 signed by the RSA key: a key verifies
	// only with its own algorithm.
	mixed := signer{alg: jwa.RS256()}
	mixed.key, _ = rsaSigner.key.Clone()
	mixed.key.Set(jwk.KeyIDKey, "ec")
	wantRefused(t, prov, "RS256 naming the EC key", mixed.token(t, p.URL, nil), "")

	// A key of the attacker's, sent along in the header (jwk), and named
	// by kid but absent from the provider's set.
	stranger := newSigner(t, jwa.RS256(), "stranger")
	strangerPub, _ := stranger.key.PublicKey()
	hdr := jws.NewHeaders()
	hdr.Set(jws.JWKKey, strangerPub)
	tok, _ := jwt.NewBuilder().Issuer(p.URL).Audience([]string{testAudience}).Expiration(time.Now().Add(time.Hour)).
		Claim("agent_handle", "svc-robot").Build()
	embedded, err := jwt.Sign(tok, jwt.WithKey(jwa.RS256(), stranger.key, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		t.Fatal(err)
	}
	wantRefused(t, prov, "key in the jwk header", string(embedded), "")
	wantRefused(t, prov, "key not in the JWKS", stranger.token(t, p.URL, nil), "")

	// And the good token still passes, so the refusals above are about
	// the algorithm, not the set-up.
	if _, err := prov.Verify(context.Background(), rsaSigner.token(t, p.URL, nil)); err != nil {
		t.Errorf("good token: %v", err)
	}
}

func TestProviderRefusesBadClaims(t *testing.T) {
	p := newIDP(t)
	s := newSigner(t, jwa.ES256(), "ec")
	p.publish(t, s)
	prov := newProvider(t, p, nil)
	cases := map[string]struct {
		iss  string
		edit func(*jwt.Builder) *jwt.Builder
		want string
	}{
		"wrong audience": {p.URL, func(b *jwt.Builder) *jwt.Builder { return b.Audience([]string{"other"}) }, "audience"},
		"other issuer":   {"https://other.example", nil, "issuer"},
		"expired": {p.URL, func(b *jwt.Builder) *jwt.Builder {
			return b.Expiration(time.Now().Add(-10 * time.Second))
		}, "expired"},
		"no exp":         {p.URL, func(b *jwt.Builder) *jwt.Builder { return b.Expiration(time.Time{}) }, ""},
		"invalid handle": {p.URL, func(b *jwt.Builder) *jwt.Builder { return b.Claim("agent_handle", "Not A Handle") }, "not a valid AgCom handle"},
		"no handle":      {p.URL, func(b *jwt.Builder) *jwt.Builder { return b.Claim("agent_handle", 42) }, "agent_handle"},
	}
	for name, tc := range cases {
		tok := s.token(t, tc.iss, tc.edit)
		if name == "no exp" {
			parsed, _ := jwt.ParseInsecure([]byte(tok))
			parsed.Remove(jwt.ExpirationKey)
			signed, _ := jwt.Sign(parsed, jwt.WithKey(s.alg, s.key))
			tok = string(signed)
		}
		wantRefused(t, prov, name, tok, tc.want)
	}
	// Within the skew, a just-expired token still passes.
	if _, err := prov.Verify(context.Background(), s.token(t, p.URL, func(b *jwt.Builder) *jwt.Builder {
		return b.Expiration(time.Now().Add(-time.Second))
	})); err != nil {
		t.Errorf("within skew: %v", err)
	}
}

// TestProviderKeyRotation: a token signed by a key the provider published
// after AgCom fetched its keys verifies after one fetch; unknown kids
// after that do not fetch again until MinRefresh has passed.
func TestProviderKeyRotation(t *testing.T) {
	p := newIDP(t)
	old := newSigner(t, jwa.RS256(), "old")
	p.publish(t, old)
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	prov := newProvider(t, p, func(c *auth.ProviderConfig) { c.MinRefresh = time.Minute; c.Now = clock })
	start := p.fetches.Load()

	rotated := newSigner(t, jwa.EdDSA(), "rotated")
	p.publish(t, rotated)
	// Too soon after the start-up fetch: refused without a fetch.
	wantRefused(t, prov, "rotated key, too soon", rotated.token(t, p.URL, nil), "")
	if got := p.fetches.Load() - start; got != 0 {
		t.Fatalf("fetches = %d, want 0 within MinRefresh", got)
	}
	advance(time.Minute)
	if _, err := prov.Verify(context.Background(), rotated.token(t, p.URL, nil)); err != nil {
		t.Fatalf("rotated key after MinRefresh: %v", err)
	}
	if got := p.fetches.Load() - start; got != 1 {
		t.Errorf("fetches = %d, want 1", got)
	}
	// A flood of unknown kids fetches nothing more.
	stranger := newSigner(t, jwa.RS256(), "stranger")
	for range 5 {
		wantRefused(t, prov, "unknown kid", stranger.token(t, p.URL, nil), "")
	}
	if got := p.fetches.Load() - start; got != 1 {
		t.Errorf("fetches after unknown kids = %d, want still 1", got)
	}
	// The old key is still in the set and verifies.
	if _, err := prov.Verify(context.Background(), old.token(t, p.URL, nil)); err != nil {
		t.Errorf("old key: %v", err)
	}
}

// TestProviderWithoutKeys: a provider that cannot be reached leaves its
// tokens refused and says so, without stopping the start.
func TestProviderWithoutKeys(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	start := time.Now()
	prov, err := auth.NewProvider(auth.ProviderConfig{JWKSURL: dead.URL + "/jwks", Audience: testAudience, StartWait: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer prov.Close()
	if time.Since(start) > 5*time.Second {
		t.Errorf("start took %s", time.Since(start))
	}
	if st := prov.Status(context.Background()); st.KeysLoaded {
		t.Errorf("status = %+v, want keys not loaded", st)
	}
	s := newSigner(t, jwa.RS256(), "k")
	_, err = prov.Verify(context.Background(), s.token(t, "", nil))
	if agcom.ErrorCode(err) != agcom.EUNAUTHENTICATED || !strings.Contains(err.Error(), "not loaded") {
		t.Errorf("err = %v, want 401 saying the keys are not loaded", err)
	}
}
