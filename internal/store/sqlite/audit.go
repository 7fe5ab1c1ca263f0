package sqlite

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/agcom/agcom/internal/agcom"
	"github.com/agcom/agcom/internal/store/scan"
)

const sqlInsertAudit = `
	INSERT INTO audit_events (id, event_type, actor_handle, target_handle, details, created_at)
	VALUES (?, ?, ?, ?, ?, ?)`

// Audit records an event in the transaction of the change it describes.
// An empty target is stored as NULL.
func (t *tx) Audit(eventType, actor, target string, details map[string]any) error {
	d, err := json.Marshal(details)
	if err != nil {
		return err
	}
	var tgt any
	if target != "" {
		tgt = target
	}
	if _, err = t.exec(sqlInsertAudit, t.newID(), eventType, actor, tgt, string(d), toMicros(t.now)); err != nil {
		return err
	}
	t.touched = append(t.touched, agentScope(actor))
	if target != "" {
		t.touched = append(t.touched, agentScope(target))
	}
	_, err = t.exec(sqlCountUp, "audit_events")
	return err
}

const sqlCountAudit = `SELECT value FROM counters WHERE name = 'audit_events'`

const auditColumns = `a.id, a.event_type, a.actor_handle, a.target_handle, a.details, a.created_at`

// ListAuditEvents returns audit events newest first (agcom.ListAuditEvents).
func (s *Store) ListAuditEvents(ctx context.Context, caller agcom.Caller, f agcom.AuditFilter) (agcom.AuditEventList, error) {
	return agcom.ListAuditEvents(ctx, s, caller, f)
}

// auditFilters are f's conditions, with a unary + in side: a walk of the
// caller's own events must not walk a filter's index instead of the
// caller's.
func auditFilters(f agcom.AuditFilter) (filter, side string, args []any) {
	for _, c := range []struct{ col, v string }{
		{"event_type", f.EventType}, {"actor_handle", f.ActorHandle}, {"target_handle", f.TargetHandle},
	} {
		if c.v != "" {
			filter += " AND a." + c.col + " = ?"
			side += " AND +a." + c.col + " = ?"
			args = append(args, c.v)
		}
	}
	return filter, side, args
}

// CountAudit counts the audit events the caller sees that f keeps: every
// event for an admin, from the maintained count when nothing filters.
func (t *tx) CountAudit(caller agcom.Caller, f agcom.AuditFilter) (int, error) {
	filter, _, args := auditFilters(f)
	q := "SELECT count(*) FROM audit_events a WHERE 1" + filter
	switch {
	case !caller.IsAdmin:
		q = "SELECT count(*) FROM audit_events a WHERE (a.actor_handle = ? OR a.target_handle = ?)" + filter
		args = append([]any{caller.Handle, caller.Handle}, args...)
	case filter == "":
		q = sqlCountAudit
	}
	var total int
	err := t.queryRow(q, args...).Scan(&total)
	return total, err
}

// AuditEvents returns a page of the audit events the caller sees that f
// keeps, newest first.
func (t *tx) AuditEvents(caller agcom.Caller, f agcom.AuditFilter, p agcom.Page) ([]agcom.AuditEvent, error) {
	filter, sideFilter, filterArgs := auditFilters(f)
	q := "SELECT " + auditColumns + " FROM audit_events a WHERE 1" + filter + " ORDER BY a.seq DESC LIMIT ? OFFSET ?"
	args := append(slices.Clone(filterArgs), p.Limit, p.Offset)
	if !caller.IsAdmin {
		// The caller's events as actor and as target, each walked newest
		// first on its own index only as far as this page reaches.
		side := func(col string) string {
			return "SELECT seq FROM (SELECT a.seq FROM audit_events a WHERE a." + col + " = ?" + sideFilter +
				" ORDER BY a.seq DESC LIMIT ?)"
		}
		q = "SELECT " + auditColumns + " FROM audit_events a WHERE a.seq IN (" +
			side("actor_handle") + " UNION " + side("target_handle") + ") ORDER BY a.seq DESC LIMIT ? OFFSET ?"
		reach := p.Limit + p.Offset
		args = append([]any{caller.Handle}, filterArgs...)
		args = append(args, reach, caller.Handle)
		args = append(args, filterArgs...)
		args = append(args, reach, p.Limit, p.Offset)
	}
	rows, err := t.query(q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return scan.AuditEvents(rows)
}
