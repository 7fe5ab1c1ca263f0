package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/agcom/agcom/internal/agcom"
)

// APIKeyPrefix starts every API key, so that a key is recognised as one
// (by the server, and by secret scanners) without a lookup.
const APIKeyPrefix = "agk_"

// An API key is APIKeyPrefix, the key's id (a ULID, 26 characters), "_"
// and its secret: apiKeySecretLen random bytes in lowercase base32.
const (
	apiKeyIDLen     = 26
	apiKeySecretLen = 32
)

// APIKeyTouchInterval is how stale a key's last-used time may get: a key
// used again within it is not written again.
const APIKeyTouchInterval = time.Minute

var apiKeyEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewAPIKeySecret returns a new API key secret and the digest to store.
func NewAPIKeySecret() (secret, digest string, err error) {
	b := make([]byte, apiKeySecretLen)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("auth: generate API key: %w", err)
	}
	secret = apiKeyEncoding.EncodeToString(b)
	return secret, APIKeyDigest(secret), nil
}

// APIKeyDigest is what is stored of an API key's secret: its SHA-256. The
// secret is 256 random bits, so the digest cannot be reversed or guessed
// from, and a fast digest keeps a key's check off the request's cost (see
// docs/SECURITY.md).
func APIKeyDigest(secret string) string {
	sum := sha256.Sum256([]byte("agcom api key\x00" + secret))
	return hex.EncodeToString(sum[:])
}

// FormatAPIKey returns the key its owner sends: prefix, id and secret.
func FormatAPIKey(id, secret string) string {
	return APIKeyPrefix + id + "_" + secret
}

// ParseAPIKey splits a key into its id and secret; ok is false when key
// is not shaped like one.
func ParseAPIKey(key string) (id, secret string, ok bool) {
	rest, found := strings.CutPrefix(key, APIKeyPrefix)
	if !found || len(rest) < apiKeyIDLen+2 || rest[apiKeyIDLen] != '_' {
		return "", "", false
	}
	return rest[:apiKeyIDLen], rest[apiKeyIDLen+1:], true
}

// APIKeyLookup returns the API key id and its secret's digest; ENOTFOUND
// when there is none.
type APIKeyLookup func(ctx context.Context, id string) (agcom.APIKey, string, error)

// APIKeyTouch records that the key id was used now, unless it was used at
// or after since.
type APIKeyTouch func(ctx context.Context, id string, since time.Time) error

var invalidAPIKey = unauthenticated("invalid API key")

// verifyAPIKey checks key against its stored digest and expiry, notes its
// use (coarsely), and returns what it stands for.
func (a Authenticator) verifyAPIKey(ctx context.Context, key string) (Claims, error) {
	id, secret, ok := ParseAPIKey(key)
	if !ok || a.APIKeys == nil {
		return Claims{}, invalidAPIKey
	}
	k, err := a.lookupAPIKey(ctx, id)
	if err != nil {
		return Claims{}, err
	}
	if k.digest == "" || subtle.ConstantTimeCompare([]byte(k.digest), []byte(APIKeyDigest(secret))) != 1 {
		return Claims{}, invalidAPIKey
	}
	now := a.Keys.now()
	if k.LastUsedAt == nil || now.Sub(*k.LastUsedAt) >= APIKeyTouchInterval {
		if a.TouchAPIKey != nil {
			// The last-used time is advice, not a condition of the request:
			// a failed write does not refuse it.
			_ = a.TouchAPIKey(ctx, k.ID, now.Add(-APIKeyTouchInterval))
		}
	}
	return k.claims, nil
}

// storedAPIKey is a key as looked up, with the claims it stands for.
type storedAPIKey struct {
	agcom.APIKey
	digest string
	claims Claims
}

// lookupAPIKey reads the key id and fails unless it exists and has not
// expired.
func (a Authenticator) lookupAPIKey(ctx context.Context, id string) (storedAPIKey, error) {
	k, digest, err := a.APIKeys(ctx, id)
	if agcom.ErrorCode(err) == agcom.ENOTFOUND {
		return storedAPIKey{}, invalidAPIKey
	} else if err != nil {
		return storedAPIKey{}, err
	}
	if k.ExpiresAt != nil && !a.Keys.now().Before(*k.ExpiresAt) {
		return storedAPIKey{}, unauthenticated("API key has expired")
	}
	c := Claims{Handle: k.Handle, Generation: k.Generation, APIKeyID: k.ID}
	if k.ExpiresAt != nil {
		c.ExpiresAt = *k.ExpiresAt
	}
	return storedAPIKey{APIKey: k, digest: digest, claims: c}, nil
}
