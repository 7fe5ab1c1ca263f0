package sqlite

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/agcom/agcom/internal/agcom"
	"github.com/agcom/agcom/internal/store/scan"
)

const (
	sqlInsertAudit = `
	INSERT INTO audit_events (id, event_type, actor_handle, target_handle, target_handles, details, created_at)
	VALUES (?, ?, ?, ?, ?, ?, ?)`
	// sqlInsertAuditTargets adds the targets after the first (a JSON array).
	sqlInsertAuditTargets = `INSERT INTO audit_targets (handle, seq) SELECT value, ? FROM json_each(?) WHERE key > 0`
)

// Audit records an event in the transaction of the change it describes:
// one row, its first target in target_handle, the list in target_handles
// when there are several, and each target after the first in
// audit_targets (migration 0013).
func (t *tx) Audit(eventType, actor string, targets []string, details map[string]any) error {
	d, err := json.Marshal(details)
	if err != nil {
		return err
	}
	var first, list any
	if len(targets) > 0 {
		first = targets[0]
	}
	if len(targets) > 1 {
		b, err := json.Marshal(targets)
		if err != nil {
			return err
		}
		list = string(b)
	}
	res, err := t.exec(sqlInsertAudit, t.newID(), eventType, actor, first, list, string(d), toMicros(t.now))
	if err != nil {
		return err
	}
	if list != nil {
		seq, err := res.LastInsertId()
		if err != nil {
			return err
		}
		if _, err := t.exec(sqlInsertAuditTargets, seq, list); err != nil {
			return err
		}
	}
	t.touched = append(t.touched, agentScope(actor))
	for _, h := range targets {
		t.touched = append(t.touched, agentScope(h))
	}
	_, err = t.exec(sqlCountUp, "audit_events")
	return err
}

const sqlCountAudit = `SELECT value FROM counters WHERE name = 'audit_events'`

const auditColumns = `a.id, a.event_type, a.actor_handle, a.target_handle, a.target_handles, a.details, a.created_at`

// ListAuditEvents returns audit events newest first (agcom.ListAuditEvents).
func (s *Store) ListAuditEvents(ctx context.Context, caller agcom.Caller, f agcom.AuditFilter) (agcom.AuditEventList, error) {
	return agcom.ListAuditEvents(ctx, s, caller, f)
}

// auditQuery is how the audit events a caller sees that a filter keeps are
// found: one walk of the whole log (an admin's, which SQLite may drive by a
// filter's index), or the union of walks of one index each, newest first:
// an agent's events as actor, as first target and as another target, or,
// for an admin, those of the agent a target filter names.
type auditQuery struct {
	// cond holds the conditions the walks do not imply; in sideCond the
	// columns carry a unary +, so that a side's walk keeps to its index.
	cond, sideCond string
	args           []any
	sides          []auditSide
}

// auditSide walks one index: the rows of audit_events whose col is handle,
// or, with col empty, the rows whose audit_targets entries name handle.
type auditSide struct{ col, handle string }

func newAuditQuery(caller agcom.Caller, f agcom.AuditFilter) auditQuery {
	var q auditQuery
	add := func(cond string, args ...any) {
		q.cond += " AND " + strings.ReplaceAll(cond, "%s", "")
		q.sideCond += " AND " + strings.ReplaceAll(cond, "%s", "+")
		q.args = append(q.args, args...)
	}
	for _, c := range []struct{ col, v string }{{"event_type", f.EventType}, {"actor_handle", f.ActorHandle}} {
		if c.v != "" {
			add("%sa."+c.col+" = ?", c.v)
		}
	}
	// An agent walks only its own entries, whatever it filters by: what a
	// list costs is bounded by the caller's own history.
	targets := func(h string) []auditSide { return []auditSide{{col: "target_handle", handle: h}, {handle: h}} }
	switch {
	case !caller.IsAdmin:
		q.sides = append(targets(caller.Handle), auditSide{col: "actor_handle", handle: caller.Handle})
		if x := f.TargetHandle; x != "" {
			add("(%sa.target_handle = ? OR EXISTS (SELECT 1 FROM audit_targets o WHERE o.handle = ? AND o.seq = a.seq))", x, x)
		}
	case f.TargetHandle != "":
		q.sides = targets(f.TargetHandle)
	}
	return q
}

// seqs is the union of the sides' entries that the conditions keep, each
// walked newest first only as far as reach (0: all of them).
func (q auditQuery) seqs(reach int) (string, []any) {
	var (
		parts []string
		args  []any
	)
	for _, s := range q.sides {
		from, where, order := "audit_events a", "a."+s.col+" = ?", "a.seq"
		if s.col == "" {
			from, where, order = "audit_targets t JOIN audit_events a ON a.seq = t.seq", "t.handle = ?", "t.seq"
		}
		part := "SELECT " + order + " AS seq FROM " + from + " WHERE " + where + q.sideCond
		args = append(append(args, s.handle), q.args...)
		if reach > 0 {
			part = "SELECT seq FROM (" + part + " ORDER BY " + order + " DESC LIMIT ?)"
			args = append(args, reach)
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, " UNION "), args
}

// CountAudit counts the audit events the caller sees that f keeps: every
// event for an admin, from the maintained count when nothing filters.
func (t *tx) CountAudit(caller agcom.Caller, f agcom.AuditFilter) (int, error) {
	q := newAuditQuery(caller, f)
	query, args := "SELECT count(*) FROM audit_events a WHERE 1"+q.cond, q.args
	switch {
	case len(q.sides) > 0:
		var seqs string
		seqs, args = q.seqs(0)
		query = "SELECT count(*) FROM (" + seqs + ")"
	case q.cond == "":
		query = sqlCountAudit
	}
	var total int
	err := t.queryRow(query, args...).Scan(&total)
	return total, err
}

// AuditEvents returns a page of the audit events the caller sees that f
// keeps, newest first.
func (t *tx) AuditEvents(caller agcom.Caller, f agcom.AuditFilter, p agcom.Page) ([]agcom.AuditEvent, error) {
	q := newAuditQuery(caller, f)
	query := "SELECT " + auditColumns + " FROM audit_events a WHERE 1" + q.cond + " ORDER BY a.seq DESC LIMIT ? OFFSET ?"
	args := append(slices.Clone(q.args), p.Limit, p.Offset)
	if len(q.sides) > 0 {
		seqs, seqArgs := q.seqs(p.Limit + p.Offset)
		query = "SELECT " + auditColumns + " FROM audit_events a WHERE a.seq IN (" + seqs + ") ORDER BY a.seq DESC LIMIT ? OFFSET ?"
		args = append(seqArgs, p.Limit, p.Offset)
	}
	rows, err := t.query(query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return scan.AuditEvents(rows)
}
