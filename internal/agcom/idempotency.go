package agcom

import "time"

// IdempotencyWindow is how long an idempotency key answers retries.
const IdempotencyWindow = 24 * time.Hour

// IdempotencyKey makes a create safe to retry: the agent's key, and the
// fingerprint of the request it came with.
type IdempotencyKey struct {
	Handle string
	Key    string
	// Fingerprint identifies the request (operation and body): the same
	// key with another request is EIDEMPOTENCY.
	Fingerprint string
}

// IdempotentRecord is what a create made under a key: the kind of thing
// and its ids, so that a retry answers with the same things.
type IdempotentRecord struct {
	Fingerprint string
	Kind        string
	IDs         []string
}

// The kinds of IdempotentRecord.
const (
	CreatedMessage  = "message"
	CreatedMessages = "messages"
	CreatedContact  = "contact"
)

// IdempotencyTx stores idempotency records in a write transaction.
type IdempotencyTx interface {
	// IdempotentRecord returns the record under the agent's key made
	// within IdempotencyWindow; ok is false when there is none.
	IdempotentRecord(handle, key string) (r IdempotentRecord, ok bool, err error)
	// SaveIdempotentRecord stores r under the agent's key, in place of
	// one older than the window.
	SaveIdempotentRecord(handle, key string, r IdempotentRecord) error
}

// idempotent runs create unless key's record exists: then it loads what
// that create made instead and reports replayed. Without a key it just
// creates. The record is written in create's transaction, so a create and
// its record are committed together or not at all.
func idempotent[T any](tx IdempotencyTx, key *IdempotencyKey, kind string,
	load func(ids []string) (T, error), create func() (T, []string, error)) (out T, replayed bool, err error) {
	if key == nil {
		out, _, err = create()
		return out, false, err
	}
	rec, ok, err := tx.IdempotentRecord(key.Handle, key.Key)
	if err != nil {
		return out, false, err
	}
	if ok {
		if rec.Fingerprint != key.Fingerprint || rec.Kind != kind {
			return out, false, Errorf(EIDEMPOTENCY, "this Idempotency-Key was used for a different request; use a new key")
		}
		out, err = load(rec.IDs)
		return out, true, err
	}
	out, ids, err := create()
	if err != nil {
		return out, false, err
	}
	err = tx.SaveIdempotentRecord(key.Handle, key.Key, IdempotentRecord{Fingerprint: key.Fingerprint, Kind: kind, IDs: ids})
	return out, false, err
}
