package postgres

import (
	"context"

	"github.com/agcom/agcom/internal/agcom"
)

// The store is the use cases' agcom.Writer and agcom.Reader, and its tx
// their agcom.Tx and agcom.ReadTx.
var (
	_ agcom.Writer         = (*Store)(nil)
	_ agcom.Tx             = (*tx)(nil)
	_ agcom.Reader         = (*Store)(nil)
	_ agcom.ReadTx         = (*tx)(nil)
	_ agcom.EventLogTx     = (*tx)(nil)
	_ agcom.EventLogReader = (*Store)(nil)
)

// Write runs fn as one write transaction (see writeTx).
func (s *Store) Write(ctx context.Context, fn func(agcom.Tx) error) error {
	return s.writeTx(ctx, func(t *tx) error { return fn(t) })
}

// Read runs fn as one read transaction (see readTx).
func (s *Store) Read(ctx context.Context, fn func(agcom.ReadTx) error) error {
	return s.readTx(ctx, func(t *tx) error { return fn(t) })
}

// Limits returns the limits the store enforces.
func (t *tx) Limits() agcom.Limits { return t.s.limits }

// Seed runs fn in one write transaction of its own, for loading data in
// bulk (benchmarks, imports) through the use cases. fn runs exactly once,
// never again after a conflict, so it may keep state (what it created so
// far, a random source).
func (s *Store) Seed(ctx context.Context, fn func(agcom.Tx) error) error {
	notify, err := s.tryWrite(ctx, func(t *tx) error { return fn(t) })
	if err == nil {
		s.announce(ctx, notify)
	}
	return translate(err)
}
