package auth

import (
	"testing"
	"time"

	"github.com/agcom/agcom/internal/agcom"
)

const testKey = "a-signing-key-for-the-cache-tests-0123456789"

// mintAll returns a token for each handle, valid for an hour from now.
func mintAll(t *testing.T, k *Keys, now time.Time, handles ...string) []string {
	t.Helper()
	var toks []string
	for _, h := range handles {
		tok, err := k.Mint(h, "", time.Hour, now)
		if err != nil {
			t.Fatal(err)
		}
		toks = append(toks, tok)
	}
	return toks
}

// TestVerifiedCacheEvictsLeastRecentlyUsed: a full cache forgets the token
// used longest ago, not every token at once.
func TestVerifiedCacheEvictsLeastRecentlyUsed(t *testing.T) {
	k, err := newKeys(testKey, 2)
	if err != nil {
		t.Fatal(err)
	}
	toks := mintAll(t, k, time.Now(), "alice", "bob", "carol")
	alice, bob, carol := toks[0], toks[1], toks[2]
	for _, tok := range []string{alice, bob, alice, carol} { // alice used after bob
		if _, err := k.Verify(tok); err != nil {
			t.Fatal(err)
		}
	}
	for name, c := range map[string]struct {
		tok  string
		want bool
	}{"alice": {alice, true}, "bob": {bob, false}, "carol": {carol, true}} {
		if got := k.verified.Contains(c.tok); got != c.want {
			t.Errorf("%s's token cached = %t, want %t", name, got, c.want)
		}
	}
	if got, err := k.Verify(bob); err != nil || got.Handle != "bob" {
		t.Errorf("bob's evicted token verifies again: %+v, %v; want bob's claims", got, err)
	}
}

// TestVerifiedCacheExpiry: a cached token is refused once it expires,
// allowing for clock skew, and is then forgotten.
func TestVerifiedCacheExpiry(t *testing.T) {
	const skew = 30 * time.Second
	now := time.Now().Truncate(time.Second) // exp is in whole seconds
	k, err := newKeys(testKey, 10, WithClock(func() time.Time { return now }), WithClockSkew(skew))
	if err != nil {
		t.Fatal(err)
	}
	tok := mintAll(t, k, now, "alice")[0]
	issued := now
	if _, err := k.Verify(tok); err != nil {
		t.Fatal(err)
	}
	if !k.verified.Contains(tok) {
		t.Fatal("a verified token is not cached")
	}
	now = issued.Add(time.Hour + skew - time.Second)
	if _, err := k.Verify(tok); err != nil {
		t.Errorf("cached token within the skew after expiry: %v, want it accepted", err)
	}
	now = issued.Add(time.Hour + skew)
	if _, err := k.Verify(tok); agcom.ErrorCode(err) != agcom.EUNAUTHENTICATED {
		t.Errorf("cached token past expiry and skew: %v, want EUNAUTHENTICATED", err)
	}
	if k.verified.Contains(tok) {
		t.Error("an expired token is still cached")
	}
}
