package postgres

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/agcom/agcom/internal/agcom"
	"github.com/agcom/agcom/internal/store/scan"
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

// ListAuditEvents returns audit events newest first (agcom.ListAuditEvents).
func (s *Store) ListAuditEvents(ctx context.Context, caller agcom.Caller, f agcom.AuditFilter) (agcom.AuditEventList, error) {
	return agcom.ListAuditEvents(ctx, s, caller, f)
}

// auditArgs numbers a query's arguments.
type auditArgs []any

func (a *auditArgs) arg(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

// filter is f's conditions.
func (a *auditArgs) filter(f agcom.AuditFilter) string {
	cond := ""
	for _, c := range []struct{ col, v string }{
		{"event_type", f.EventType}, {"actor_handle", f.ActorHandle}, {"target_handle", f.TargetHandle},
	} {
		if c.v != "" {
			cond += " AND a." + c.col + " = " + a.arg(c.v)
		}
	}
	return cond
}

// CountAudit counts the audit events the caller sees that f keeps: every
// event for an admin, from the maintained count when nothing filters.
func (t *tx) CountAudit(caller agcom.Caller, f agcom.AuditFilter) (int, error) {
	var args auditArgs
	cond := args.filter(f)
	var q string
	switch {
	case caller.IsAdmin && cond == "":
		return t.counter("audit_events")
	case caller.IsAdmin:
		q = "SELECT count(*) FROM audit_events a WHERE true" + cond
	case cond != "":
		h := args.arg(caller.Handle)
		q = "SELECT count(*) FROM audit_events a WHERE (a.actor_handle = " + h + " OR a.target_handle = " + h + ")" + cond
	default:
		// Each part is one index, read alone.
		h := args.arg(caller.Handle)
		q = "SELECT (SELECT count(*) FROM audit_events a WHERE a.actor_handle = " + h + ") + " +
			"(SELECT count(*) FROM audit_events a WHERE a.target_handle = " + h + " AND a.actor_handle <> " + h + ")"
	}
	var total int
	err := t.queryRow(q, args...).Scan(&total)
	return total, err
}

// AuditEvents returns a page of the audit events the caller sees that f
// keeps, newest first.
func (t *tx) AuditEvents(caller agcom.Caller, f agcom.AuditFilter, p agcom.Page) ([]agcom.AuditEvent, error) {
	var args auditArgs
	cond := args.filter(f)
	var q string
	if caller.IsAdmin {
		q = "SELECT " + auditColumns + " FROM audit_events a WHERE true" + cond +
			" ORDER BY a.created_at DESC, a.seq DESC LIMIT " + args.arg(p.Limit) + " OFFSET " + args.arg(p.Offset)
	} else {
		// The caller's events as actor and as target, each walked newest
		// first on its own index only as far as this page reaches.
		h, reach := args.arg(caller.Handle), args.arg(p.Limit+p.Offset)
		side := func(col string) string {
			return "(SELECT a.seq FROM audit_events a WHERE a." + col + " = " + h + cond +
				" ORDER BY a.created_at DESC, a.seq DESC LIMIT " + reach + ")"
		}
		q = "SELECT " + auditColumns + " FROM audit_events a WHERE a.seq IN (" +
			side("actor_handle") + " UNION " + side("target_handle") + ")" +
			" ORDER BY a.created_at DESC, a.seq DESC LIMIT " + args.arg(p.Limit) + " OFFSET " + args.arg(p.Offset)
	}
	rows, err := t.query(q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return scan.AuditEvents(rows)
}
