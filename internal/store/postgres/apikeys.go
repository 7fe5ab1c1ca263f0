package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/agcom/agcom/internal/agcom"
)

const apiKeyColumns = `key_id, handle, name, token_gen, created_at, expires_at, last_used_at`

const (
	sqlGetAPIKey    = `SELECT ` + apiKeyColumns + `, secret_digest FROM api_keys WHERE key_id = $1`
	sqlCountAPIKeys = `SELECT count(*) FROM api_keys WHERE handle = $1`
	sqlListAPIKeys  = `SELECT ` + apiKeyColumns + ` FROM api_keys WHERE handle = $1 ORDER BY key_id DESC LIMIT $2 OFFSET $3`
	sqlInsertAPIKey = `
		INSERT INTO api_keys (key_id, handle, name, secret_digest, token_gen, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`
	sqlDeleteAPIKey = `DELETE FROM api_keys WHERE key_id = $1 AND handle = $2 RETURNING ` + apiKeyColumns
	sqlTouchAPIKey  = `
		UPDATE api_keys SET last_used_at = $1
		WHERE key_id = $2 AND (last_used_at IS NULL OR last_used_at < $3)`
)

// APIKey returns the key id and the digest of its secret. Returns
// ENOTFOUND when there is none. It runs on every request that presents a
// key: one statement, no transaction.
func (s *Store) APIKey(ctx context.Context, id string) (agcom.APIKey, string, error) {
	var digest string
	k, err := scanAPIKey(s.pool.QueryRow(ctx, sqlGetAPIKey, id), &digest)
	if errors.Is(err, pgx.ErrNoRows) {
		return k, "", agcom.Errorf(agcom.ENOTFOUND, "API key not found")
	}
	return k, digest, translate(err)
}

// ListAPIKeys returns a page of handle's keys, newest first.
func (s *Store) ListAPIKeys(ctx context.Context, handle string, p agcom.Page) (agcom.APIKeyList, error) {
	return agcom.ListAPIKeys(ctx, s, handle, p)
}

// CountAPIKeys returns how many keys handle holds.
func (t *tx) CountAPIKeys(handle string) (int, error) {
	var n int
	err := t.queryRow(sqlCountAPIKeys, handle).Scan(&n)
	return n, err
}

// APIKeys returns a page of handle's keys, newest first (ids are ULIDs).
func (t *tx) APIKeys(handle string, p agcom.Page) ([]agcom.APIKey, error) {
	rows, err := t.query(sqlListAPIKeys, handle, p.Limit, p.Offset)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (agcom.APIKey, error) { return scanAPIKey(row) })
}

// InsertAPIKey stores k with its secret's digest.
func (t *tx) InsertAPIKey(k *agcom.APIKey, secretDigest string) error {
	k.ID, k.CreatedAt = t.newID(), t.now
	_, err := t.exec(sqlInsertAPIKey, k.ID, k.Handle, k.Name, secretDigest, k.Generation, toMicros(k.CreatedAt),
		nullMicros(k.ExpiresAt))
	return err
}

// DeleteAPIKey removes handle's key id.
func (t *tx) DeleteAPIKey(handle, id string) (agcom.APIKey, error) {
	k, err := scanAPIKey(t.queryRow(sqlDeleteAPIKey, id, handle))
	if errors.Is(err, pgx.ErrNoRows) {
		return k, agcom.Errorf(agcom.ENOTFOUND, "%s has no API key %s", handle, id)
	}
	return k, err
}

// TouchAPIKey sets the key's last use to now unless it is since or later.
func (t *tx) TouchAPIKey(id string, since time.Time) error {
	_, err := t.exec(sqlTouchAPIKey, toMicros(t.now), id, toMicros(since))
	return err
}

// scanAPIKey scans apiKeyColumns, then any extra destinations.
func scanAPIKey(row scanner, extra ...any) (agcom.APIKey, error) {
	var (
		k                 agcom.APIKey
		created           int64
		expires, lastUsed *int64
	)
	dest := append([]any{&k.ID, &k.Handle, &k.Name, &k.Generation, &created, &expires, &lastUsed}, extra...)
	if err := row.Scan(dest...); err != nil {
		return k, err
	}
	k.CreatedAt = fromMicros(created)
	k.ExpiresAt, k.LastUsedAt = timeOrNil(expires), timeOrNil(lastUsed)
	return k, nil
}

// nullMicros stores a nil time as NULL.
func nullMicros(t *time.Time) any {
	if t == nil {
		return nil
	}
	return toMicros(*t)
}

func timeOrNil(us *int64) *time.Time {
	if us == nil {
		return nil
	}
	t := fromMicros(*us)
	return &t
}
