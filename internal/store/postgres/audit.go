package postgres

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"

	"github.com/agcom/agcom/internal/agcom"
)

const sqlInsertAudit = `
	INSERT INTO audit_events (id, event_type, actor_handle, target_handle, details, created_at)
	VALUES ($1, $2, $3, $4, $5, $6)`

// Audit records an event in the transaction of the change it describes.
// An empty target is stored as NULL.
func (t *tx) Audit(eventType, actor, target string, details map[string]any) error {
	d, err := json.Marshal(details)
	if err != nil {
		return err
	}
	if _, err = t.exec(sqlInsertAudit, t.newID(), eventType, actor, nullString(target), string(d), toMicros(t.now)); err != nil {
		return err
	}
	t.countUp("audit_events", 1)
	return nil
}

const auditColumns = `a.id, a.event_type, a.actor_handle, a.target_handle, a.details, a.created_at`

// ListAuditEvents returns audit events newest first: every event for an
// admin, otherwise those where the caller is the actor or the target.
func (s *Store) ListAuditEvents(ctx context.Context, caller agcom.Caller, f agcom.AuditFilter) (agcom.AuditEventList, error) {
	page := f.Page.Normalize()
	var (
		args []any
		cond string
	)
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	for _, c := range []struct{ col, v string }{
		{"event_type", f.EventType}, {"actor_handle", f.ActorHandle}, {"target_handle", f.TargetHandle},
	} {
		if c.v != "" {
			cond += " AND a." + c.col + " = " + arg(c.v)
		}
	}
	filtered := cond != ""
	var (
		countQ, listQ string
		countArgs     []any
	)
	if caller.IsAdmin {
		countQ, countArgs = "SELECT count(*) FROM audit_events a WHERE true"+cond, slices.Clone(args)
		if !filtered {
			countQ, countArgs = sqlCounter, []any{"audit_events"} // every event: the maintained count
		}
		listQ = "SELECT " + auditColumns + " FROM audit_events a WHERE true" + cond +
			" ORDER BY a.created_at DESC, a.seq DESC LIMIT " + arg(page.Limit) + " OFFSET " + arg(page.Offset)
	} else {
		h := arg(caller.Handle)
		countArgs = slices.Clone(args)
		if filtered {
			countQ = "SELECT count(*) FROM audit_events a WHERE (a.actor_handle = " + h + " OR a.target_handle = " + h + ")" + cond
		} else {
			// Each part is one index, read alone.
			countQ = "SELECT (SELECT count(*) FROM audit_events a WHERE a.actor_handle = " + h + ") + " +
				"(SELECT count(*) FROM audit_events a WHERE a.target_handle = " + h + " AND a.actor_handle <> " + h + ")"
		}
		// The caller's events as actor and as target, each walked newest
		// first on its own index only as far as this page reaches.
		reach := arg(page.Limit + page.Offset)
		side := func(col string) string {
			return "(SELECT a.seq FROM audit_events a WHERE a." + col + " = " + h + cond +
				" ORDER BY a.created_at DESC, a.seq DESC LIMIT " + reach + ")"
		}
		listQ = "SELECT " + auditColumns + " FROM audit_events a WHERE a.seq IN (" +
			side("actor_handle") + " UNION " + side("target_handle") + ")" +
			" ORDER BY a.created_at DESC, a.seq DESC LIMIT " + arg(page.Limit) + " OFFSET " + arg(page.Offset)
	}
	var out agcom.AuditEventList
	err := s.readTx(ctx, func(t *tx) error {
		var total int
		if err := t.queryRow(countQ, countArgs...).Scan(&total); err != nil {
			return err
		}
		rows, err := t.query(listQ, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		events := []agcom.AuditEvent{}
		for rows.Next() {
			var (
				e       agcom.AuditEvent
				target  *string
				details string
				created int64
			)
			if err := rows.Scan(&e.ID, &e.Type, &e.ActorHandle, &target, &details, &created); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(details), &e.Details); err != nil {
				return err
			}
			if target != nil {
				e.TargetHandle = *target
			}
			e.Timestamp = fromMicros(created)
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
