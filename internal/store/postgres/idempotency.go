package postgres

import (
	"encoding/json"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/agcom/agcom/internal/agcom"
)

const (
	// Creates with the same key take turns from here to their commit, so
	// that a concurrent retry finds the record of the one before it.
	sqlLockIdempotency = `SELECT pg_advisory_xact_lock(hashtextextended($1 || ' ' || $2, 0))`
	sqlGetIdempotency  = `SELECT request, kind, ids FROM idempotency_keys
		WHERE handle = $1 AND key = $2 AND created_at >= $3`
	// A key whose record is older than the window is taken over.
	sqlPutIdempotency = `INSERT INTO idempotency_keys (handle, key, request, kind, ids, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (handle, key) DO UPDATE SET request = excluded.request, kind = excluded.kind,
			ids = excluded.ids, created_at = excluded.created_at`
)

// IdempotentRecord returns the record under the agent's key made within
// the window, after any transaction using the key now has ended.
func (t *tx) IdempotentRecord(handle, key string) (agcom.IdempotentRecord, bool, error) {
	var (
		r   agcom.IdempotentRecord
		ids string
	)
	if _, err := t.exec(sqlLockIdempotency, handle, key); err != nil {
		return r, false, err
	}
	since := toMicros(t.now.Add(-agcom.IdempotencyWindow))
	err := t.queryRow(sqlGetIdempotency, handle, key, since).Scan(&r.Fingerprint, &r.Kind, &ids)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, false, nil
	} else if err != nil {
		return r, false, err
	}
	return r, true, json.Unmarshal([]byte(ids), &r.IDs)
}

// SaveIdempotentRecord stores r under the agent's key, which
// IdempotentRecord locked.
func (t *tx) SaveIdempotentRecord(handle, key string, r agcom.IdempotentRecord) error {
	ids, err := json.Marshal(r.IDs)
	if err != nil {
		return err
	}
	_, err = t.exec(sqlPutIdempotency, handle, key, r.Fingerprint, r.Kind, string(ids), toMicros(t.now))
	return err
}
