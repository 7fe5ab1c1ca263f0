package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/agcom/agcom/internal/agcom"
)

// IdempotencyWindow is how long an idempotency key answers retries.
const IdempotencyWindow = 24 * time.Hour

const (
	sqlGetIdempotency = `SELECT request, status, body FROM idempotency_keys
		WHERE handle = ? AND key = ? AND created_at >= ?`
	sqlPutIdempotency = `INSERT INTO idempotency_keys (handle, key, request, status, body, created_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (handle, key) DO UPDATE SET request = excluded.request, status = excluded.status,
			body = excluded.body, created_at = excluded.created_at`
)

// IdempotentAnswer returns the answer stored for an agent's idempotency
// key within the window: the request it answered, its status and body. It
// returns ENOTFOUND when there is none.
func (s *Store) IdempotentAnswer(ctx context.Context, handle, key string) (request string, status int, body []byte, err error) {
	since := toMicros(s.now().Add(-IdempotencyWindow))
	err = s.readOne(ctx, sqlGetIdempotency, handle, key, since).Scan(&request, &status, &body)
	if errors.Is(err, sql.ErrNoRows) {
		return "", 0, nil, agcom.Errorf(agcom.ENOTFOUND, "no answer stored for this idempotency key")
	}
	return request, status, body, translate(err)
}

// saveIdempotency stores the create's answer under the request's
// idempotency key, in the create's own transaction. If a request with the
// same key committed first (concurrent retries), the create is undone and
// answered with the stored answer, or with IdempotencyKeyReused when that
// answer was for a different request.
func (t *tx) saveIdempotency() error {
	idem := agcom.IdempotencyFrom(t.ctx)
	if idem == nil || idem.Render == nil || t.result == nil {
		return nil
	}
	var (
		request string
		status  int
		body    []byte
	)
	err := t.queryRow(sqlGetIdempotency, idem.Handle, idem.Key, toMicros(t.now.Add(-IdempotencyWindow))).Scan(&request, &status, &body)
	switch {
	case err == nil && request != idem.Request:
		return reusedKey()
	case err == nil:
		return &agcom.Replay{Status: status, Body: body}
	case !errors.Is(err, sql.ErrNoRows):
		return err
	}
	status, body, err = idem.Render(t.result)
	if err != nil {
		return err
	}
	_, err = t.exec(sqlPutIdempotency, idem.Handle, idem.Key, idem.Request, status, body, toMicros(t.now))
	return err
}

func reusedKey() error {
	return agcom.Errorf(agcom.EIDEMPOTENCY, "this Idempotency-Key was used for a different request; use a new key")
}
