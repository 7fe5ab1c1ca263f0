package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/agcom/agcom/internal/agcom"
)

// IdempotencyWindow is how long an idempotency key answers retries.
const IdempotencyWindow = 24 * time.Hour

const (
	sqlGetIdempotency = `SELECT request, status, body FROM idempotency_keys
		WHERE handle = $1 AND key = $2 AND created_at >= $3`
	// A key whose answer is older than the window is taken over; a fresh
	// one is left alone (and the insert reports no row).
	sqlPutIdempotency = `INSERT INTO idempotency_keys (handle, key, request, status, body, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (handle, key) DO UPDATE SET request = excluded.request, status = excluded.status,
			body = excluded.body, created_at = excluded.created_at
		WHERE idempotency_keys.created_at < $7`
)

// IdempotentAnswer returns the answer stored for an agent's idempotency
// key within the window: the request it answered, its status and body. It
// returns ENOTFOUND when there is none.
func (s *Store) IdempotentAnswer(ctx context.Context, handle, key string) (request string, status int, body []byte, err error) {
	since := toMicros(s.now().Add(-IdempotencyWindow))
	err = s.pool.QueryRow(ctx, sqlGetIdempotency, handle, key, since).Scan(&request, &status, &body)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", 0, nil, agcom.Errorf(agcom.ENOTFOUND, "no answer stored for this idempotency key")
	}
	return request, status, body, translate(err)
}

// saveIdempotency stores the create's answer under the request's
// idempotency key, in the create's own transaction. If a request with the
// same key committed first (concurrent retries, on any node), the insert
// waits for it and finds its row: the create is undone and answered with
// the stored answer, or with IdempotencyKeyReused when that answer was for
// a different request.
func (t *tx) saveIdempotency() error {
	idem := agcom.IdempotencyFrom(t.ctx)
	if idem == nil || idem.Render == nil || t.result == nil {
		return nil
	}
	status, body, err := idem.Render(t.result)
	if err != nil {
		return err
	}
	window := toMicros(t.now.Add(-IdempotencyWindow))
	tag, err := t.exec(sqlPutIdempotency, idem.Handle, idem.Key, idem.Request, status, body, toMicros(t.now), window)
	if err != nil || tag.RowsAffected() == 1 {
		return err
	}
	var request string
	err = t.queryRow(sqlGetIdempotency, idem.Handle, idem.Key, window).Scan(&request, &status, &body)
	switch {
	case err != nil:
		return err
	case request != idem.Request:
		return agcom.Errorf(agcom.EIDEMPOTENCY, "this Idempotency-Key was used for a different request; use a new key")
	}
	return &agcom.Replay{Status: status, Body: body}
}
