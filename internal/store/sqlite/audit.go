package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"slices"

	"github.com/agcom/agcom/internal/agcom"
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

// ListAuditEvents returns audit events newest first: every event for an
// admin, otherwise those where the caller is the actor or the target.
func (s *Store) ListAuditEvents(ctx context.Context, caller agcom.Caller, f agcom.AuditFilter) (agcom.AuditEventList, error) {
	page := f.Page.Normalize()
	// sideFilter is filter for a walk of the caller's own events: a unary
	// + keeps SQLite from walking a filter's index instead of the caller's.
	var (
		filter, sideFilter string
		filterArgs         []any
	)
	for _, c := range []struct{ col, v string }{
		{"event_type", f.EventType}, {"actor_handle", f.ActorHandle}, {"target_handle", f.TargetHandle},
	} {
		if c.v != "" {
			filter += " AND a." + c.col + " = ?"
			sideFilter += " AND +a." + c.col + " = ?"
			filterArgs = append(filterArgs, c.v)
		}
	}
	countQ := "SELECT count(*) FROM audit_events a WHERE 1" + filter
	if filter == "" {
		countQ = sqlCountAudit // every event: the maintained count
	}
	countArgs := filterArgs
	listQ := "SELECT " + auditColumns + " FROM audit_events a WHERE 1" + filter + " ORDER BY a.seq DESC LIMIT ? OFFSET ?"
	listArgs := append(slices.Clone(filterArgs), page.Limit, page.Offset)
	if !caller.IsAdmin {
		countQ = "SELECT count(*) FROM audit_events a WHERE (a.actor_handle = ? OR a.target_handle = ?)" + filter
		countArgs = append([]any{caller.Handle, caller.Handle}, filterArgs...)
		// The caller's events as actor and as target, each walked newest
		// first on its own index only as far as this page reaches.
		side := func(col string) string {
			return "SELECT seq FROM (SELECT a.seq FROM audit_events a WHERE a." + col + " = ?" + sideFilter +
				" ORDER BY a.seq DESC LIMIT ?)"
		}
		listQ = "SELECT " + auditColumns + " FROM audit_events a WHERE a.seq IN (" +
			side("actor_handle") + " UNION " + side("target_handle") + ") ORDER BY a.seq DESC LIMIT ? OFFSET ?"
		reach := page.Limit + page.Offset
		listArgs = append([]any{caller.Handle}, filterArgs...)
		listArgs = append(listArgs, reach, caller.Handle)
		listArgs = append(listArgs, filterArgs...)
		listArgs = append(listArgs, reach, page.Limit, page.Offset)
	}
	var out agcom.AuditEventList
	err := s.readTx(ctx, func(t *tx) error {
		var total int
		if err := t.queryRow(countQ, countArgs...).Scan(&total); err != nil {
			return err
		}
		rows, err := t.query(listQ, listArgs...)
		if err != nil {
			return err
		}
		defer rows.Close()
		events := []agcom.AuditEvent{}
		for rows.Next() {
			var (
				e       agcom.AuditEvent
				target  sql.NullString
				details string
				created int64
			)
			if err := rows.Scan(&e.ID, &e.Type, &e.ActorHandle, &target, &details, &created); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(details), &e.Details); err != nil {
				return err
			}
			e.TargetHandle, e.Timestamp = target.String, fromMicros(created)
			events = append(events, e)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		out = agcom.AuditEventList{Events: events, Pagination: agcom.NewPagination(page, len(events), total)}
		return nil
	})
	return out, err
}
