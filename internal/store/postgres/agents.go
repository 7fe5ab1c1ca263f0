package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/agcom/agcom/internal/agcom"
)

const agentColumns = `a.handle, a.display_name, a.is_admin, a.disabled, a.token_gen, a.created_at, a.updated_at`

const (
	sqlGetAgent         = `SELECT ` + agentColumns + ` FROM agents a WHERE a.handle = $1`
	sqlGetAgentWithHash = `SELECT ` + agentColumns + `, a.secret_hash FROM agents a WHERE a.handle = $1`
	sqlListAgents       = `SELECT ` + agentColumns + ` FROM agents a ORDER BY a.handle LIMIT $1 OFFSET $2`
	sqlCountAgents      = `SELECT count(*) FROM agents`
	sqlInsertAgent      = `
		INSERT INTO agents (handle, display_name, secret_hash, is_admin, disabled, created_at, updated_at)
		VALUES ($1, $2, $3, $4, false, $5, $5) ON CONFLICT (handle) DO NOTHING`
	sqlUpdateAgent = `
		UPDATE agents SET is_admin = coalesce($1, is_admin), disabled = coalesce($2, disabled),
			display_name = coalesce($3, display_name), updated_at = $4
		WHERE handle = $5`
	sqlSetAgentSecret = `UPDATE agents SET secret_hash = $1, token_gen = token_gen + 1, updated_at = $2 WHERE handle = $3`
	sqlRevokeTokens   = `UPDATE agents SET token_gen = token_gen + 1, updated_at = $1 WHERE handle = $2`
	sqlUpsertAdmin    = `
		INSERT INTO agents (handle, display_name, secret_hash, is_admin, disabled, created_at, updated_at)
		VALUES ($1, NULL, $2, true, false, $3, $3)
		ON CONFLICT (handle) DO UPDATE SET secret_hash = excluded.secret_hash, is_admin = true, disabled = false,
			updated_at = excluded.updated_at`
	sqlStats = `SELECT (SELECT coalesce(sum(value), 0) FROM counters WHERE name = 'threads'),
		(SELECT coalesce(sum(value), 0) FROM counters WHERE name = 'messages'),
		(SELECT count(*) FROM agents), (SELECT count(*) FROM contacts)`
)

// Agent returns the registered agent handle. Returns ENOTFOUND when there
// is none. It runs on every authenticated request: one statement, no
// transaction.
func (s *Store) Agent(ctx context.Context, handle string) (agcom.Agent, error) {
	a, err := scanAgent(s.pool.QueryRow(ctx, sqlGetAgent, handle))
	if errors.Is(err, pgx.ErrNoRows) {
		return a, agcom.Errorf(agcom.ENOTFOUND, "agent not found")
	}
	return a, translate(err)
}

func (t *tx) getAgent(handle string) (agcom.Agent, error) {
	a, err := scanAgent(t.queryRow(sqlGetAgent, handle))
	if errors.Is(err, pgx.ErrNoRows) {
		return a, agcom.Errorf(agcom.ENOTFOUND, "agent not found")
	}
	return a, err
}

// AgentCredentials returns the agent and its secret hash, for a login.
// Returns ENOTFOUND when there is no such agent.
func (s *Store) AgentCredentials(ctx context.Context, handle string) (agcom.Agent, string, error) {
	var hash string
	a, err := scanAgent(s.pool.QueryRow(ctx, sqlGetAgentWithHash, handle), &hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, "", agcom.Errorf(agcom.ENOTFOUND, "agent not found")
	}
	return a, hash, translate(err)
}

// RecordTokenFailure audits a failed login for the claimed handle, from
// the client address clientAddr. Nobody authenticated, so the entry has no
// actor: the handle is its target.
func (s *Store) RecordTokenFailure(ctx context.Context, handle, reason, clientAddr string) error {
	return s.writeTx(ctx, func(t *tx) error {
		return t.Audit(agcom.EventTokenIssueFailure, "", handle, map[string]any{"reason": reason, "client_address": clientAddr})
	})
}

// ListAgents returns registered agents by handle.
func (s *Store) ListAgents(ctx context.Context, p agcom.Page) (agcom.AgentList, error) {
	page := p.Normalize()
	var out agcom.AgentList
	err := s.readTx(ctx, func(t *tx) error {
		var total int
		if err := t.queryRow(sqlCountAgents).Scan(&total); err != nil {
			return err
		}
		rows, err := t.query(sqlListAgents, page.Limit, page.Offset)
		if err != nil {
			return err
		}
		defer rows.Close()
		agents := []agcom.Agent{}
		for rows.Next() {
			a, err := scanAgent(rows)
			if err != nil {
				return err
			}
			agents = append(agents, a)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		out = agcom.AgentList{Agents: agents, Pagination: agcom.NewPagination(page, len(agents), total)}
		return nil
	})
	return out, err
}

// CreateAgent registers a with the given secret hash. Returns ECONFLICT
// when the handle is taken, EINVALID for bad fields.
func (s *Store) CreateAgent(ctx context.Context, actor string, a agcom.Agent, secretHash string) (agcom.Agent, error) {
	if err := agcom.CheckHandle("handle", a.Handle); err != nil {
		return agcom.Agent{}, err
	}
	if err := agcom.CheckOptionalText("display_name", a.DisplayName, agcom.MaxDisplayNameLen); err != nil {
		return agcom.Agent{}, err
	}
	var out agcom.Agent
	err := s.writeTx(ctx, func(t *tx) error {
		tag, err := t.exec(sqlInsertAgent, a.Handle, nullString(a.DisplayName), secretHash, a.IsAdmin, toMicros(t.now))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return agcom.Errorf(agcom.ECONFLICT, "agent %s already exists", a.Handle)
		}
		out = agcom.Agent{Handle: a.Handle, DisplayName: a.DisplayName, IsAdmin: a.IsAdmin, CreatedAt: t.now, UpdatedAt: t.now}
		return t.Audit(agcom.EventAgentCreate, actor, a.Handle, map[string]any{"is_admin": a.IsAdmin})
	})
	return out, err
}

// UpdateAgent changes the fields of u that are set. Returns ENOTFOUND when
// there is no such agent, EINVALID for bad fields.
func (s *Store) UpdateAgent(ctx context.Context, actor, handle string, u agcom.AgentUpdate) (agcom.Agent, error) {
	if u.DisplayName != nil {
		if err := agcom.CheckText("display_name", *u.DisplayName, agcom.MaxDisplayNameLen); err != nil {
			return agcom.Agent{}, err
		}
	}
	var out agcom.Agent
	err := s.writeTx(ctx, func(t *tx) error {
		tag, err := t.exec(sqlUpdateAgent, u.IsAdmin, u.Disabled, u.DisplayName, toMicros(t.now), handle)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return agcom.Errorf(agcom.ENOTFOUND, "agent not found")
		}
		if out, err = t.getAgent(handle); err != nil {
			return err
		}
		if err := t.wake(handle); err != nil {
			return err
		}
		details := map[string]any{}
		if u.IsAdmin != nil {
			details["is_admin"] = *u.IsAdmin
		}
		if u.Disabled != nil {
			details["disabled"] = *u.Disabled
		}
		if u.DisplayName != nil {
			details["display_name"] = *u.DisplayName
		}
		return t.Audit(agcom.EventAgentUpdate, actor, handle, details)
	})
	return out, err
}

// SetAgentSecret replaces the agent's secret hash. Returns ENOTFOUND when
// there is no such agent.
func (s *Store) SetAgentSecret(ctx context.Context, actor, handle, secretHash string) (agcom.Agent, error) {
	var out agcom.Agent
	err := s.writeTx(ctx, func(t *tx) error {
		tag, err := t.exec(sqlSetAgentSecret, secretHash, toMicros(t.now), handle)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return agcom.Errorf(agcom.ENOTFOUND, "agent not found")
		}
		if out, err = t.getAgent(handle); err != nil {
			return err
		}
		if err := t.wake(handle); err != nil {
			return err
		}
		return t.Audit(agcom.EventAgentSecretRotate, actor, handle, map[string]any{})
	})
	return out, err
}

// RevokeAgentTokens ends every token issued to the agent so far: it
// raises the agent's token generation. Returns ENOTFOUND when there is no
// such agent.
func (s *Store) RevokeAgentTokens(ctx context.Context, actor, handle string) (agcom.Agent, error) {
	var out agcom.Agent
	err := s.writeTx(ctx, func(t *tx) error {
		tag, err := t.exec(sqlRevokeTokens, toMicros(t.now), handle)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return agcom.Errorf(agcom.ENOTFOUND, "agent not found")
		}
		if out, err = t.getAgent(handle); err != nil {
			return err
		}
		if err := t.wake(handle); err != nil {
			return err
		}
		return t.Audit(agcom.EventAgentTokensRevoke, actor, handle, map[string]any{"token_generation": out.TokenGeneration})
	})
	return out, err
}

// EnsureAdmin makes sure handle exists, is an enabled admin, and has the
// given secret hash: the ADMIN_HANDLE/ADMIN_SECRET bootstrap.
func (s *Store) EnsureAdmin(ctx context.Context, handle, secretHash string) error {
	if err := agcom.CheckHandle("handle", handle); err != nil {
		return err
	}
	return s.writeTx(ctx, func(t *tx) error {
		if _, err := t.exec(sqlUpsertAdmin, handle, secretHash, toMicros(t.now)); err != nil {
			return err
		}
		return t.Audit(agcom.EventAgentUpdate, handle, handle, map[string]any{"is_admin": true, "disabled": false, "bootstrap": true})
	})
}

// Stats counts threads, messages, agents and contacts.
func (s *Store) Stats(ctx context.Context) (agcom.Stats, error) {
	var st agcom.Stats
	err := s.readTx(ctx, func(t *tx) error {
		return t.queryRow(sqlStats).Scan(&st.Threads, &st.Messages, &st.Agents, &st.Contacts)
	})
	return st, err
}

// scanAgent scans agentColumns, then any extra destinations.
func scanAgent(row scanner, extra ...any) (agcom.Agent, error) {
	var (
		a                agcom.Agent
		name             *string
		created, updated int64
	)
	dest := append([]any{&a.Handle, &name, &a.IsAdmin, &a.Disabled, &a.TokenGeneration, &created, &updated}, extra...)
	if err := row.Scan(dest...); err != nil {
		return a, err
	}
	if name != nil {
		a.DisplayName = *name
	}
	a.CreatedAt, a.UpdatedAt = fromMicros(created), fromMicros(updated)
	return a, nil
}

// wake makes the agent's open event streams and waiting long-polls, on
// every node, look again after the commit, so that they check the agent's
// new rights now.
func (t *tx) wake(handle string) error {
	_, err := t.exec(sqlNotify, notifyChannel, handle)
	return err
}
