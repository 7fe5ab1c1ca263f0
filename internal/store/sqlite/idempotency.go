package sqlite

import (
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/agcom/agcom/internal/agcom"
)

const (
	sqlGetIdempotency = `SELECT request, kind, ids FROM idempotency_keys
		WHERE handle = ? AND key = ? AND created_at >= ?`
	// A key whose record is older than the window is taken over.
	sqlPutIdempotency = `INSERT INTO idempotency_keys (handle, key, request, kind, ids, created_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (handle, key) DO UPDATE SET request = excluded.request, kind = excluded.kind,
			ids = excluded.ids, created_at = excluded.created_at`
)

// IdempotentRecord returns the record under the agent's key made within
// the window.
func (t *tx) IdempotentRecord(handle, key string) (agcom.IdempotentRecord, bool, error) {
	var (
		r   agcom.IdempotentRecord
		ids string
	)
	since := toMicros(t.now.Add(-agcom.IdempotencyWindow))
	err := t.queryRow(sqlGetIdempotency, handle, key, since).Scan(&r.Fingerprint, &r.Kind, &ids)
	if errors.Is(err, sql.ErrNoRows) {
		return r, false, nil
	} else if err != nil {
		return r, false, err
	}
	return r, true, json.Unmarshal([]byte(ids), &r.IDs)
}

// SaveIdempotentRecord stores r under the agent's key. The writer runs one
// transaction at a time, so no other create took the key since
// IdempotentRecord looked.
func (t *tx) SaveIdempotentRecord(handle, key string, r agcom.IdempotentRecord) error {
	ids, err := json.Marshal(r.IDs)
	if err != nil {
		return err
	}
	_, err = t.exec(sqlPutIdempotency, handle, key, r.Fingerprint, r.Kind, string(ids), toMicros(t.now))
	return err
}
