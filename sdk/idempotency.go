package sdk

import (
	"context"
	"crypto/rand"
	"encoding/hex"
)

// idempotencyKeyBytes is the length of a generated Idempotency-Key, before
// hex encoding.
const idempotencyKeyBytes = 16

type idempotencyKeyCtx struct{}

// WithIdempotencyKey returns a context that makes the create called with
// it (SendMessage, SendGroupMessage, BroadcastMessage, ReplyToMessage,
// ReplyToThread, CreateContact) send key as its Idempotency-Key, instead
// of one generated for the call. Use it to make a create safe to repeat
// across calls or restarts: the server answers a repeat of the same
// request with the same key, within 24 hours, with the original answer
// and creates nothing. A key names one request: reusing it for a
// different one is a 409 IdempotencyKeyReused.
func WithIdempotencyKey(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, idempotencyKeyCtx{}, key)
}

// idempotencyKey returns the key for one logical create: the caller's,
// or a random one. The transport sends the same request, key included, on
// every attempt, so the server creates at most one thing.
func idempotencyKey(ctx context.Context) *string {
	if key, ok := ctx.Value(idempotencyKeyCtx{}).(string); ok && key != "" {
		return &key
	}
	b := make([]byte, idempotencyKeyBytes)
	_, _ = rand.Read(b) // never fails
	key := hex.EncodeToString(b)
	return &key
}
