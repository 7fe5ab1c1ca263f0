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
	// Writers to one agent take turns on its row, so that each changes
	// what the one before it wrote.
	sqlLockAgent   = sqlGetAgent + ` FOR UPDATE`
	sqlInsertAgent = `
		INSERT INTO agents (handle, display_name, secret_hash, is_admin, disabled, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (handle) DO NOTHING`
	sqlUpdateAgent = `
		UPDATE agents SET display_name = $1, is_admin = $2, disabled = $3, token_gen = $4, updated_at = $5
		WHERE handle = $6`
	sqlSetSecretHash = `UPDATE agents SET secret_hash = $1 WHERE handle = $2`
	sqlUpsertAdmin   = `
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

// LockAgent returns the agent handle, locking its row until the
// transaction ends.
func (t *tx) LockAgent(handle string) (agcom.Agent, error) {
	a, err := scanAgent(t.queryRow(sqlLockAgent, handle))
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

// InsertAgent registers a with the secret hash. ON CONFLICT DO NOTHING
// rather than a unique violation, which would abort the transaction.
func (t *tx) InsertAgent(a agcom.Agent, secretHash string) error {
	tag, err := t.exec(sqlInsertAgent, a.Handle, nullString(a.DisplayName), secretHash, a.IsAdmin, a.Disabled,
		toMicros(a.CreatedAt), toMicros(a.UpdatedAt))
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return agcom.Errorf(agcom.ECONFLICT, "agent %s already exists", a.Handle)
	}
	return nil
}

// UpdateAgent stores a's fields and wakes its streams, on every node,
// after the commit.
func (t *tx) UpdateAgent(a agcom.Agent) error {
	if _, err := t.exec(sqlUpdateAgent, nullString(a.DisplayName), a.IsAdmin, a.Disabled, a.TokenGeneration,
		toMicros(a.UpdatedAt), a.Handle); err != nil {
		return err
	}
	return t.wake(a.Handle)
}

// SetSecretHash replaces the agent's secret hash.
func (t *tx) SetSecretHash(handle, secretHash string) error {
	_, err := t.exec(sqlSetSecretHash, secretHash, handle)
	return err
}

// UpsertAdmin makes handle an enabled admin with the secret hash.
func (t *tx) UpsertAdmin(handle, secretHash string) error {
	_, err := t.exec(sqlUpsertAdmin, handle, secretHash, toMicros(t.now))
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
	t.notify = append(t.notify, handle)
	return nil
}
