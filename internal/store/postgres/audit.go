package postgres

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"

	"github.com/agcom/agcom/internal/agcom"
)

// sqlInsertAudits adds the transaction's audit entries in one statement,
// in the order they were recorded.
const sqlInsertAudits = `
	INSERT INTO audit_events (id, event_type, actor_handle, target_handle, details, created_at)
	SELECT id, event_type, actor, target, details, $6
	FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY
		AS a(id, event_type, actor, target, details, n)
	ORDER BY n`

// pendingAudit is an audit entry waiting for the end of its transaction.
type pendingAudit struct {
	id, eventType, actor string
	target               *string
	details              string
}

// Audit records an event in the transaction of the change it describes,
// when the transaction's work is done (flushAudits). An empty target is
// stored as NULL.
func (t *tx) Audit(eventType, actor, target string, details map[string]any) error {
	d, err := json.Marshal(details)
	if err != nil {
		return err
	}
	a := pendingAudit{id: t.newID(), eventType: eventType, actor: actor, details: string(d)}
	if target != "" {
		a.target = &target
	}
	t.audits = append(t.audits, a)
	t.countUp("audit_events", 1)
	return nil
}

// flushAudits adds the transaction's audit entries.
func (t *tx) flushAudits() error {
	if len(t.audits) == 0 {
		return nil
	}
	n := len(t.audits)
	ids, types, actors, details := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	targets := make([]*string, n)
	for i, a := range t.audits {
		ids[i], types[i], actors[i], targets[i], details[i] = a.id, a.eventType, a.actor, a.target, a.details
	}
	_, err := t.exec(sqlInsertAudits, ids, types, actors, targets, details, toMicros(t.now))
	return err
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
