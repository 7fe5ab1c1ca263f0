package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/agcom/agcom/internal/agcom"
)

const agentColumns = `a.handle, a.display_name, a.is_admin, a.disabled, a.token_gen, a.created_at, a.updated_at`

const (
	sqlGetAgent         = `SELECT ` + agentColumns + ` FROM agents a WHERE a.handle = ?`
	sqlGetAgentWithHash = `SELECT ` + agentColumns + `, a.secret_hash FROM agents a WHERE a.handle = ?`
	sqlListAgents       = `SELECT ` + agentColumns + ` FROM agents a ORDER BY a.handle LIMIT ? OFFSET ?`
	sqlCountAgents      = `SELECT count(*) FROM agents`
	sqlInsertAgent      = `
		INSERT INTO agents (handle, display_name, secret_hash, is_admin, disabled, created_at, updated_at)
		VALUES (?, ?, ?, ?, 0, ?, ?)`
	sqlUpdateAgent = `
		UPDATE agents SET is_admin = coalesce(?, is_admin), disabled = coalesce(?, disabled),
			display_name = coalesce(?, display_name), updated_at = ?
		WHERE handle = ?`
	sqlSetAgentSecret = `UPDATE agents SET secret_hash = ?, token_gen = token_gen + 1, updated_at = ? WHERE handle = ?`
	sqlRevokeTokens   = `UPDATE agents SET token_gen = token_gen + 1, updated_at = ? WHERE handle = ?`
	sqlUpsertAdmin    = `
		INSERT INTO agents (handle, display_name, secret_hash, is_admin, disabled, created_at, updated_at)
		VALUES (?, NULL, ?, 1, 0, ?, ?)
		ON CONFLICT (handle) DO UPDATE SET secret_hash = excluded.secret_hash, is_admin = 1, disabled = 0,
			updated_at = excluded.updated_at`
	// Threads and messages are maintained counts; agents and contacts are
	// one row each per agent.
	sqlStats = `SELECT (SELECT value FROM counters WHERE name = 'threads'), (SELECT value FROM counters WHERE name = 'messages'),
		(SELECT count(*) FROM agents), (SELECT count(*) FROM contacts)`
)

// Agent returns the registered agent handle. Returns ENOTFOUND when there
// is none.
//
// Every authenticated request asks for its caller (for the admin and
// disabled flags), so it is read with one prepared statement rather than a
// transaction.
func (s *Store) Agent(ctx context.Context, handle string) (agcom.Agent, error) {
	a, err := scanAgent(s.readOne(ctx, sqlGetAgent, handle))
	if errors.Is(err, sql.ErrNoRows) {
		return a, agcom.Errorf(agcom.ENOTFOUND, "agent not found")
	}
	return a, translate(err)
}

// execAgents runs a statement that writes agents, and raises the version
// of Agent's answers (AgentsVersion). Every write to agents goes through it.
func (t *tx) execAgents(query string, args ...any) (sql.Result, error) {
	t.touched = append(t.touched, agentsScope)
	return t.exec(query, args...)
}

func (t *tx) getAgent(handle string) (agcom.Agent, error) {
	a, err := scanAgent(t.queryRow(sqlGetAgent, handle))
	if errors.Is(err, sql.ErrNoRows) {
		return a, agcom.Errorf(agcom.ENOTFOUND, "agent not found")
	}
	return a, err
}

// AgentCredentials returns the agent and its secret hash, for a login.
// Returns ENOTFOUND when there is no such agent.
func (s *Store) AgentCredentials(ctx context.Context, handle string) (agcom.Agent, string, error) {
	var (
		a    agcom.Agent
		hash string
	)
	err := s.readTx(ctx, func(t *tx) error {
		var err error
		a, err = scanAgent(t.queryRow(sqlGetAgentWithHash, handle), &hash)
		if errors.Is(err, sql.ErrNoRows) {
			return agcom.Errorf(agcom.ENOTFOUND, "agent not found")
		}
		return err
	})
	return a, hash, err
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
		_, err := t.execAgents(sqlInsertAgent, a.Handle, nullString(a.DisplayName), secretHash, a.IsAdmin,
			toMicros(t.now), toMicros(t.now))
		if agcom.ErrorCode(translate(err)) == agcom.ECONFLICT {
			return agcom.Errorf(agcom.ECONFLICT, "agent %s already exists", a.Handle)
		} else if err != nil {
			return err
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
		res, err := t.execAgents(sqlUpdateAgent, u.IsAdmin, u.Disabled, u.DisplayName, toMicros(t.now), handle)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
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
		res, err := t.execAgents(sqlSetAgentSecret, secretHash, toMicros(t.now), handle)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
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
		res, err := t.execAgents(sqlRevokeTokens, toMicros(t.now), handle)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
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
		if _, err := t.execAgents(sqlUpsertAdmin, handle, secretHash, toMicros(t.now), toMicros(t.now)); err != nil {
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
		name             sql.NullString
		created, updated int64
	)
	dest := append([]any{&a.Handle, &name, &a.IsAdmin, &a.Disabled, &a.TokenGeneration, &created, &updated}, extra...)
	if err := row.Scan(dest...); err != nil {
		return a, err
	}
	a.DisplayName = name.String
	a.CreatedAt, a.UpdatedAt = fromMicros(created), fromMicros(updated)
	return a, nil
}

// wake makes the agent's open event streams and waiting long-polls look
// again after the commit, so that they check the agent's new rights now.
func (t *tx) wake(handle string) error {
	t.notify = append(t.notify, handle)
	return nil
}
