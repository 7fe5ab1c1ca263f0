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
		VALUES (?, ?, ?, ?, ?, ?, ?)`
	sqlUpdateAgent = `
		UPDATE agents SET display_name = ?, is_admin = ?, disabled = ?, token_gen = ?, updated_at = ?
		WHERE handle = ?`
	sqlSetSecretHash = `UPDATE agents SET secret_hash = ? WHERE handle = ?`
	sqlUpsertAdmin   = `
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

// LockAgent returns the agent handle: the single writer runs one
// transaction at a time, so nothing else changes it before this one ends.
func (t *tx) LockAgent(handle string) (agcom.Agent, error) {
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

// ListAgents returns registered agents by handle.
func (s *Store) ListAgents(ctx context.Context, p agcom.Page) (agcom.AgentList, error) {
	return agcom.ListAgents(ctx, s, p)
}

// CountAgents returns how many agents are registered.
func (t *tx) CountAgents() (int, error) {
	var total int
	err := t.queryRow(sqlCountAgents).Scan(&total)
	return total, err
}

// Agents returns a page of the registered agents by handle.
func (t *tx) Agents(p agcom.Page) ([]agcom.Agent, error) {
	return queryList(t, func(row scanner) (agcom.Agent, error) { return scanAgent(row) }, sqlListAgents, p.Limit, p.Offset)
}

// InsertAgent registers a with the secret hash.
func (t *tx) InsertAgent(a agcom.Agent, secretHash string) error {
	_, err := t.execAgents(sqlInsertAgent, a.Handle, nullString(a.DisplayName), secretHash, a.IsAdmin, a.Disabled,
		toMicros(a.CreatedAt), toMicros(a.UpdatedAt))
	if agcom.ErrorCode(translate(err)) == agcom.ECONFLICT {
		return agcom.Errorf(agcom.ECONFLICT, "agent %s already exists", a.Handle)
	}
	return err
}

// UpdateAgent stores a's fields and wakes its streams after the commit.
func (t *tx) UpdateAgent(a agcom.Agent) error {
	if _, err := t.execAgents(sqlUpdateAgent, nullString(a.DisplayName), a.IsAdmin, a.Disabled, a.TokenGeneration,
		toMicros(a.UpdatedAt), a.Handle); err != nil {
		return err
	}
	return t.wake(a.Handle)
}

// SetSecretHash replaces the agent's secret hash.
func (t *tx) SetSecretHash(handle, secretHash string) error {
	_, err := t.execAgents(sqlSetSecretHash, secretHash, handle)
	return err
}

// UpsertAdmin makes handle an enabled admin with the secret hash.
func (t *tx) UpsertAdmin(handle, secretHash string) error {
	_, err := t.execAgents(sqlUpsertAdmin, handle, secretHash, toMicros(t.now), toMicros(t.now))
	return err
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
