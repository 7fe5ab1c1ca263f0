package postgres

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/agcom/agcom/internal/agcom"
	"github.com/agcom/agcom/internal/store/scan"
)

// sqlInsertAudits adds the transaction's audit entries in one statement,
// in the order they were recorded: its first target in target_handle, the
// list in target_handles when there are several (migration 0011).
const sqlInsertAudits = `
	INSERT INTO audit_events (id, event_type, actor_handle, target_handle, target_handles, details, created_at)
	SELECT id, event_type, actor, target, targets, details, $7
	FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY
		AS a(id, event_type, actor, target, targets, details, n)
	ORDER BY n`

// sqlInsertAuditsTargets adds them with the targets after the first of
// each ($8: the entry's id, $9: the target), numbered by the entries' seqs.
const sqlInsertAuditsTargets = `
	WITH a AS (` + sqlInsertAudits + ` RETURNING id, seq)
	INSERT INTO audit_targets (handle, created_at, seq)
	SELECT o.handle, $7, a.seq FROM a JOIN unnest($8::text[], $9::text[]) AS o(id, handle) ON o.id = a.id`

// pendingAudit is an audit entry waiting for the end of its transaction.
type pendingAudit struct {
	id, eventType, actor string
	targets              []string
	details              string
}

// Audit records an event in the transaction of the change it describes,
// when the transaction's work is done (flushAudits).
func (t *tx) Audit(eventType, actor string, targets []string, details map[string]any) error {
	d, err := json.Marshal(details)
	if err != nil {
		return err
	}
	t.audits = append(t.audits, pendingAudit{id: t.newID(), eventType: eventType, actor: actor, targets: targets, details: string(d)})
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
	first, lists := make([]*string, n), make([]*string, n)
	var otherIDs, others []string
	for i, a := range t.audits {
		ids[i], types[i], actors[i], details[i] = a.id, a.eventType, a.actor, a.details
		if len(a.targets) > 0 {
			first[i] = &a.targets[0]
		}
		if len(a.targets) > 1 {
			b, err := json.Marshal(a.targets)
			if err != nil {
				return err
			}
			list := string(b)
			lists[i] = &list
			for _, h := range a.targets[1:] {
				otherIDs, others = append(otherIDs, a.id), append(others, h)
			}
		}
	}
	if len(others) == 0 {
		_, err := t.exec(sqlInsertAudits, ids, types, actors, first, lists, details, toMicros(t.now))
		return err
	}
	_, err := t.exec(sqlInsertAuditsTargets, ids, types, actors, first, lists, details, toMicros(t.now), otherIDs, others)
	return err
}

const auditColumns = `a.id, a.event_type, a.actor_handle, a.target_handle, a.target_handles, a.details, a.created_at`

// ListAuditEvents returns audit events newest first (agcom.ListAuditEvents).
func (s *Store) ListAuditEvents(ctx context.Context, caller agcom.Caller, f agcom.AuditFilter) (agcom.AuditEventList, error) {
	return agcom.ListAuditEvents(ctx, s, caller, f)
}

// auditQuery is how the audit events a caller sees that a filter keeps are
// found: one walk of the whole log (an admin's), or the union of walks of
// one index each, newest first: an agent's events as actor, as first
// target and as another target, or, for an admin, those of the agent a
// target filter names. It numbers its arguments.
type auditQuery struct {
	cond  string // the conditions the walks do not imply
	args  []any
	sides []auditSide
}

// auditSide walks one index: the rows of audit_events whose col is handle,
// or, with col empty, the rows whose audit_targets entries name handle.
type auditSide struct{ col, handle string }

func (q *auditQuery) arg(v any) string {
	q.args = append(q.args, v)
	return "$" + strconv.Itoa(len(q.args))
}

func newAuditQuery(caller agcom.Caller, f agcom.AuditFilter) *auditQuery {
	q := &auditQuery{}
	for _, c := range []struct{ col, v string }{{"event_type", f.EventType}, {"actor_handle", f.ActorHandle}} {
		if c.v != "" {
			q.cond += " AND a." + c.col + " = " + q.arg(c.v)
		}
	}
	// An agent walks only its own entries, whatever it filters by: what a
	// list costs is bounded by the caller's own history.
	targets := func(h string) []auditSide { return []auditSide{{col: "target_handle", handle: h}, {handle: h}} }
	switch {
	case !caller.IsAdmin:
		q.sides = append(targets(caller.Handle), auditSide{col: "actor_handle", handle: caller.Handle})
		if f.TargetHandle != "" {
			x := q.arg(f.TargetHandle)
			q.cond += " AND (a.target_handle = " + x + " OR EXISTS (SELECT 1 FROM audit_targets o" +
				" WHERE o.handle = " + x + " AND o.created_at = a.created_at AND o.seq = a.seq))"
		}
	case f.TargetHandle != "":
		q.sides = targets(f.TargetHandle)
	}
	return q
}

// seqs is the union of the sides' entries that the conditions keep, each
// walked newest first only as far as reach (0: all of them).
func (q *auditQuery) seqs(reach int) string {
	parts := make([]string, 0, len(q.sides))
	for _, s := range q.sides {
		h := q.arg(s.handle)
		from, where, order := "audit_events a", "a."+s.col+" = "+h, "a.created_at DESC, a.seq DESC"
		if s.col == "" {
			from, where, order = "audit_targets t JOIN audit_events a ON a.seq = t.seq",
				"t.handle = "+h, "t.created_at DESC, t.seq DESC"
		}
		part := "SELECT a.seq FROM " + from + " WHERE " + where + q.cond
		if reach > 0 {
			part = "(" + part + " ORDER BY " + order + " LIMIT " + q.arg(reach) + ")"
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, " UNION ")
}

// sqlCountOwnAudit counts an agent's own events ($1) from the indexes: as
// actor, as first target of another's, as another target of another's (an
// entry names each target once).
const sqlCountOwnAudit = `SELECT
	(SELECT count(*) FROM audit_events a WHERE a.actor_handle = $1) +
	(SELECT count(*) FROM audit_events a WHERE a.target_handle = $1 AND a.actor_handle <> $1) +
	(SELECT count(*) FROM audit_targets t JOIN audit_events a ON a.seq = t.seq WHERE t.handle = $1 AND a.actor_handle <> $1)`

// CountAudit counts the audit events the caller sees that f keeps: every
// event for an admin, from the maintained count when nothing filters.
func (t *tx) CountAudit(caller agcom.Caller, f agcom.AuditFilter) (int, error) {
	q := newAuditQuery(caller, f)
	var query string
	switch {
	case !caller.IsAdmin && f == (agcom.AuditFilter{Page: f.Page}):
		query, q.args = sqlCountOwnAudit, []any{caller.Handle}
	case len(q.sides) > 0:
		query = "SELECT count(*) FROM (" + q.seqs(0) + ") s"
	case q.cond == "":
		return t.counter("audit_events")
	default:
		query = "SELECT count(*) FROM audit_events a WHERE true" + q.cond
	}
	var total int
	err := t.queryRow(query, q.args...).Scan(&total)
	return total, err
}

// AuditEvents returns a page of the audit events the caller sees that f
// keeps, newest first.
func (t *tx) AuditEvents(caller agcom.Caller, f agcom.AuditFilter, p agcom.Page) ([]agcom.AuditEvent, error) {
	q := newAuditQuery(caller, f)
	where := "true" + q.cond
	if len(q.sides) > 0 {
		where = "a.seq IN (" + q.seqs(p.Limit+p.Offset) + ")"
	}
	query := "SELECT " + auditColumns + " FROM audit_events a WHERE " + where +
		" ORDER BY a.created_at DESC, a.seq DESC LIMIT " + q.arg(p.Limit) + " OFFSET " + q.arg(p.Offset)
	rows, err := t.query(query, q.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return scan.AuditEvents(rows)
}
