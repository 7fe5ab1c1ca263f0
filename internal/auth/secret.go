package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/agcom/agcom/internal/agcom"
)

// argon2id parameters (the OWASP baseline): slow enough to make guessing
// expensive, small enough to keep many logins in memory at once.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024 // KiB
	argonThreads = 1
	argonKeyLen  = 32
	saltLen      = 16
	secretLen    = 32
)

// NewSecret returns a new agent secret: 32 random bytes, URL-safe base64.
func NewSecret() (string, error) {
	b := make([]byte, secretLen)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("auth: generate secret: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// HashSecret returns an argon2id hash of secret with a random salt, in the
// PHC string format.
func HashSecret(secret string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("auth: generate salt: %w", err)
	}
	key := argon2.IDKey([]byte(secret), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

var errBadHash = errors.New("auth: malformed secret hash")

// CheckSecret reports whether secret matches hash, in constant time.
func CheckSecret(hash, secret string) bool {
	ok, err := checkSecret(hash, secret)
	return err == nil && ok
}

func checkSecret(hash, secret string) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errBadHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errBadHash
	}
	var memory, time uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &memory, &time, &threads); err != nil {
		return false, errBadHash
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return false, errBadHash
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil {
		return false, errBadHash
	}
	got := argon2.IDKey([]byte(secret), salt, time, memory, threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// dummyHash is checked against when no agent exists, so that an unknown
// handle costs the same time as a wrong secret.
var dummyHash = func() string {
	h, err := HashSecret("agcom-timing-equaliser")
	if err != nil {
		panic(err)
	}
	return h
}()

// CheckSecretOrDummy checks secret against hash, or against a fixed hash
// when hash is empty, and reports a match only for a real hash.
func CheckSecretOrDummy(hash, secret string) bool {
	if hash == "" {
		CheckSecret(dummyHash, secret)
		return false
	}
	return CheckSecret(hash, secret)
}

// NewCredentials returns a new secret and its hash: the secret is shown to
// its owner once, the hash is what gets stored.
func NewCredentials() (secret, hash string, err error) {
	if secret, err = NewSecret(); err != nil {
		return "", "", err
	}
	if hash, err = HashSecret(secret); err != nil {
		return "", "", err
	}
	return secret, hash, nil
}

// hashWait is how long a login waits for a free hashing slot before it is
// answered 503: long enough to ride out a burst, short enough that a flood
// does not pile up requests.
const hashWait = 2 * time.Second

// Hasher hashes and checks secrets, a bounded number at a time: each
// argon2id computation holds argonMemory KiB, so a flood of logins waits
// for a slot instead of exhausting memory.
type Hasher struct {
	slots chan struct{}
}

// NewHasher returns a Hasher that runs at most concurrency hashes at once.
func NewHasher(concurrency int) *Hasher {
	return &Hasher{slots: make(chan struct{}, max(1, concurrency))}
}

// acquire takes a slot, or fails with EUNAVAILABLE after hashWait.
func (h *Hasher) acquire(ctx context.Context) (release func(), err error) {
	t := time.NewTimer(hashWait)
	defer t.Stop()
	select {
	case h.slots <- struct{}{}:
		return func() { <-h.slots }, nil
	case <-t.C:
		return nil, &agcom.Error{Code: agcom.EUNAVAILABLE,
			Message: "too many secrets are being checked at once; retry shortly",
			Details: map[string]any{"max_concurrent_hashes": cap(h.slots)}}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Check reports whether secret matches hash; an empty hash (no such
// agent) costs the same time and never matches.
func (h *Hasher) Check(ctx context.Context, hash, secret string) (bool, error) {
	release, err := h.acquire(ctx)
	if err != nil {
		return false, err
	}
	defer release()
	return CheckSecretOrDummy(hash, secret), nil
}

// Hash returns the hash of secret to store.
func (h *Hasher) Hash(ctx context.Context, secret string) (string, error) {
	release, err := h.acquire(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	return HashSecret(secret)
}

// NewCredentials returns a new secret and its hash.
func (h *Hasher) NewCredentials(ctx context.Context) (secret, hash string, err error) {
	release, err := h.acquire(ctx)
	if err != nil {
		return "", "", err
	}
	defer release()
	return NewCredentials()
}
