package agcom

import "context"

// Idempotency asks a create to record its answer under Key, in the
// transaction of the write, so that a retry can be answered with it.
type Idempotency struct {
	Handle string
	Key    string
	// Request identifies the request (a hash of method, path and body): the
	// same key with another request is IdempotencyKeyReused.
	Request string
	// Render turns the create's result into the status and body the client
	// receives.
	Render func(result any) (status int, body []byte, err error)
}

type idempotencyKey struct{}

// WithIdempotency returns ctx carrying i.
func WithIdempotency(ctx context.Context, i *Idempotency) context.Context {
	return context.WithValue(ctx, idempotencyKey{}, i)
}

// IdempotencyFrom returns the Idempotency of ctx, or nil.
func IdempotencyFrom(ctx context.Context) *Idempotency {
	i, _ := ctx.Value(idempotencyKey{}).(*Idempotency)
	return i
}

// Replay is the stored answer to an earlier request with the same
// idempotency key. It travels as an error so that the create does nothing;
// the HTTP layer answers with it as it is.
type Replay struct {
	Status int
	Body   []byte
}

// Error implements the error interface.
func (r *Replay) Error() string { return "agcom: idempotent replay" }
