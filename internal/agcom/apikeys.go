package agcom

import (
	"context"
	"fmt"
	"time"
)

// APIKey is a long-lived credential of an agent, for scripts and CI. Its
// secret is never stored, only a digest of it.
type APIKey struct {
	ID     string
	Handle string
	Name   string
	// Generation is the agent's token generation when the key was made:
	// revoking the agent's tokens ends its keys too.
	Generation int64
	CreatedAt  time.Time
	ExpiresAt  *time.Time // nil: never
	LastUsedAt *time.Time // nil: never; updated coarsely
}

// NewAPIKey is what a caller asks for when it creates a key.
type NewAPIKey struct {
	Name      string
	ExpiresAt *time.Time
}

// APIKeyList is a page of API keys.
type APIKeyList struct {
	Keys       []APIKey
	Pagination Pagination
}

// MaxAPIKeyNameLen bounds an API key's name, in characters.
const MaxAPIKeyNameLen = 100

// DefaultAPIKeysPerAgent is the default of Limits.APIKeysPerAgent.
const DefaultAPIKeysPerAgent = 50

// LimitAPIKeysPerAgent names the API key limit in an error's details.
const LimitAPIKeysPerAgent = "api_keys_per_agent"

// Audit event types of API keys and of the identity provider.
const (
	EventAPIKeyCreate        = "api_key_create"
	EventAPIKeyRevoke        = "api_key_revoke"
	EventAgentProviderSignin = "agent_provider_signin"
)

// APIKeyTx persists API keys.
type APIKeyTx interface {
	// CountAPIKeys returns how many keys handle holds.
	CountAPIKeys(handle string) (int, error)
	// InsertAPIKey stores k with the digest of its secret, filling in its
	// id and creation time.
	InsertAPIKey(k *APIKey, secretDigest string) error
	// DeleteAPIKey removes handle's key id and returns it; ENOTFOUND when
	// handle has no such key.
	DeleteAPIKey(handle, id string) (APIKey, error)
	// TouchAPIKey sets the key's last use to now, unless it was used at
	// or after since.
	TouchAPIKey(id string, since time.Time) error
}

// APIKeyReadTx is what listing API keys asks inside a read transaction.
type APIKeyReadTx interface {
	// CountAPIKeys returns how many keys handle holds.
	CountAPIKeys(handle string) (int, error)
	// APIKeys returns a page of handle's keys, newest first.
	APIKeys(handle string, p Page) ([]APIKey, error)
}

// CreateAPIKey stores a key for the caller whose secret has the digest
// secretDigest, at the caller's current token generation, and audits it.
// Returns EINVALID for a bad name, an expiry that is not in the future, or
// a caller holding Limits.APIKeysPerAgent keys already.
func (s *Service) CreateAPIKey(ctx context.Context, caller Caller, k NewAPIKey, secretDigest string) (out APIKey, err error) {
	if err := CheckText("name", k.Name, MaxAPIKeyNameLen); err != nil {
		return APIKey{}, err
	}
	if k.ExpiresAt != nil {
		at := k.ExpiresAt.UTC().Truncate(time.Microsecond) // as stored
		k.ExpiresAt = &at
	}
	err = s.w.Write(ctx, func(tx Tx) error {
		if k.ExpiresAt != nil && !k.ExpiresAt.After(tx.Now()) {
			return Invalid("expires_at", "must be in the future")
		}
		// Locking the agent makes its key creations take turns, so that
		// the count below stays true until the insert.
		var gen int64
		switch a, err := tx.LockAgent(caller.Handle); {
		case err == nil:
			gen = a.TokenGeneration
		case ErrorCode(err) != ENOTFOUND: // an unregistered agent is at generation 0
			return err
		}
		n, err := tx.CountAPIKeys(caller.Handle)
		if err != nil {
			return err
		}
		if max := tx.Limits().WithDefaults().APIKeysPerAgent; n >= max {
			return &Error{
				Code:    EINVALID,
				Message: fmt.Sprintf("an agent holds at most %d API keys and %s has %d; revoke one first", max, caller.Handle, n),
				Details: map[string]any{"limit": LimitAPIKeysPerAgent, "max": max, "current": n},
			}
		}
		out = APIKey{Handle: caller.Handle, Name: k.Name, Generation: gen, ExpiresAt: k.ExpiresAt}
		if err := tx.InsertAPIKey(&out, secretDigest); err != nil {
			return err
		}
		details := map[string]any{"key_id": out.ID, "name": out.Name}
		if out.ExpiresAt != nil {
			details["expires_at"] = out.ExpiresAt.UTC().Format(time.RFC3339Nano)
		}
		return tx.Audit(EventAPIKeyCreate, caller.Handle, []string{caller.Handle}, details)
	})
	return out, err
}

// RevokeAPIKey deletes handle's key id and audits it. Returns EFORBIDDEN
// when the caller revokes another agent's key without being an admin,
// ENOTFOUND when handle has no such key.
func (s *Service) RevokeAPIKey(ctx context.Context, caller Caller, handle, id string) error {
	if handle != caller.Handle {
		if err := requireAdmin(caller); err != nil {
			return err
		}
	}
	return s.w.Write(ctx, func(tx Tx) error {
		k, err := tx.DeleteAPIKey(handle, id)
		if err != nil {
			return err
		}
		return tx.Audit(EventAPIKeyRevoke, caller.Handle, []string{handle}, map[string]any{"key_id": k.ID, "name": k.Name})
	})
}

// TouchAPIKey records that the key id was used now, unless it was used
// at or after since: a key's last use is kept coarsely, not written on
// every request.
func (s *Service) TouchAPIKey(ctx context.Context, id string, since time.Time) error {
	return s.w.Write(ctx, func(tx Tx) error { return tx.TouchAPIKey(id, since) })
}

// ListAPIKeys returns a page of handle's keys, newest first.
func ListAPIKeys(ctx context.Context, r Reader, handle string, p Page) (APIKeyList, error) {
	page := p.Normalize()
	keys, pg, err := countedPage(ctx, r, page,
		func(tx ReadTx) (int, error) { return tx.CountAPIKeys(handle) },
		func(tx ReadTx) ([]APIKey, error) { return tx.APIKeys(handle, page) })
	return APIKeyList{Keys: keys, Pagination: pg}, err
}

// RegisterProviderAgent registers handle, seen for the first time in a
// token of the identity provider, as an ordinary agent without a secret
// (it signs in through the provider), and audits it with details. An
// agent registered meanwhile is left as it is. Returns EINVALID for a bad
// handle.
func (s *Service) RegisterProviderAgent(ctx context.Context, handle, displayName string, details map[string]any) error {
	if err := CheckHandle("handle", handle); err != nil {
		return err
	}
	if CheckOptionalText("display_name", displayName, MaxDisplayNameLen) != nil {
		displayName = "" // the provider's name for it is only a courtesy
	}
	return s.w.Write(ctx, func(tx Tx) error {
		now := tx.Now()
		err := tx.InsertAgent(Agent{Handle: handle, DisplayName: displayName, CreatedAt: now, UpdatedAt: now}, "")
		if ErrorCode(err) == ECONFLICT {
			return nil
		} else if err != nil {
			return err
		}
		return tx.Audit(EventAgentProviderSignin, handle, []string{handle}, details)
	})
}
