package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/agcom/agcom/internal/agcom"
	"github.com/agcom/agcom/internal/store/hub"
	"github.com/agcom/agcom/internal/store/scan"
)

// Writing events: every change an agent can see becomes a row of its log,
// in the transaction of the change. A thread's events go to each of its
// participants and once to the thread log (handle hub.AllThreads), which
// admins read: what a send costs does not depend on how many admins
// exist. They are appended when the transaction's work is done
// (flushEvents).
//
// Cursors without a lock: an event's cursor is
//
//	1<<62 | xid<<16 | j
//
// where xid is its transaction's id and j its place among the
// transaction's events, and a reader delivers only events whose cursor is
// below the bound 1<<62 | xmin<<16, xmin being the oldest transaction id
// still running when its snapshot was taken (read in that snapshot).
// Every transaction with an id below xmin has ended, and a transaction
// that has not yet taken an id will take one at or above xmin, so no
// event below the bound can appear later; events at or above it wait
// until every older transaction has ended. A reader that has seen cursor n
// therefore never later finds a smaller one, and writers never wait for
// each other. Cursors handed out before this scheme (its seq) are below
// 1<<62: everything newer sorts after them.

// pendingEvent is an event waiting for the end of its transaction: for a
// thread's participants (and the thread log), or for one agent.
type pendingEvent struct {
	handle     string // "" for every participant
	eventType  string
	threadID   string
	messageSeq *int64
	data       *string
}

func (t *tx) emitToParticipants(threadID, eventType string, messageSeq *int64) {
	t.events = append(t.events, pendingEvent{eventType: eventType, threadID: threadID, messageSeq: messageSeq})
}

// emitRead tells the reader's own clients which messages it marked read
// (or unread, with a nil readAt).
func (t *tx) emitRead(handle, threadID string, ids []string, readAt *time.Time) error {
	b, err := json.Marshal(agcom.ReadEventData{MessageIDs: ids, ReadAt: readAt})
	if err != nil {
		return err
	}
	data := string(b)
	t.events = append(t.events, pendingEvent{handle: handle, eventType: agcom.EventMessageRead, threadID: threadID, data: &data})
	return nil
}

// maxTxEvents is how many events one transaction may add: j has 16 bits.
const maxTxEvents = 1 << 16

// txCursor, completed with j and ")", is the cursor of the transaction's
// event j (counted from 0).
const txCursor = `((1::bigint << 62) | (pg_current_xact_id()::text::bigint << 16) | `

const (
	sqlEmitToParticipants = `
		INSERT INTO events (handle, type, thread_id, message_seq, data, created_at, cursor)
		SELECT handle, $2, $1, $3, NULL, $4, ` + txCursor + `($5 + row_number() OVER () - 1)) FROM (
			SELECT handle FROM thread_participants WHERE thread_id = $1
			UNION ALL SELECT '` + hub.AllThreads + `') AS audience
		RETURNING handle`
	sqlEmitToOne = `
		INSERT INTO events (handle, type, thread_id, message_seq, data, created_at, cursor)
		VALUES ($1, $2, $3, NULL, $4, $5, ` + txCursor + `$6::bigint))`
)

// flushEvents appends the transaction's events, and notes whose logs grew
// for the wake-ups after the commit.
func (t *tx) flushEvents() error {
	var n int64 // events added so far: the next one's j
	for _, e := range t.events {
		if e.handle != "" {
			if _, err := t.exec(sqlEmitToOne, e.handle, e.eventType, e.threadID, e.data, toMicros(t.now), n); err != nil {
				return err
			}
			n++
			t.notify = append(t.notify, e.handle)
			continue
		}
		rows, err := t.query(sqlEmitToParticipants, e.threadID, e.eventType, e.messageSeq, toMicros(t.now), n)
		if err != nil {
			return err
		}
		handles, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		n += int64(len(handles))
		t.notify = append(t.notify, handles...)
	}
	if n > maxTxEvents {
		return fmt.Errorf("store: one transaction may add at most %d events, not %d", maxTxEvents, n)
	}
	return nil
}

// Reading events: only below the bound (see above), in the snapshot that
// reads the rows.
const (
	sqlEventsBound = `(1::bigint << 62) | (pg_snapshot_xmin(pg_current_snapshot())::text::bigint << 16)`
	// The pruned cursor, the bound, and whether events for the reader wait
	// at or above it (the page then says so: no wake-up may come for them).
	// Each log's newest cursor is the top of an index.
	sqlEventsState = `SELECT r.pruned_through, b.bound,
		coalesce((SELECT max(cursor) FROM events WHERE handle = $1), 0) >= b.bound
		FROM event_retention r, (SELECT ` + sqlEventsBound + ` AS bound) b`
	sqlAdminEventsState = `SELECT r.pruned_through, b.bound,
		greatest(
			(SELECT max(cursor) FROM events WHERE handle = '` + hub.AllThreads + `'),
			(SELECT max(cursor) FROM events WHERE handle = $1 AND type = '` + agcom.EventMessageRead + `'),
			0) >= b.bound
		FROM event_retention r, (SELECT ` + sqlEventsBound + ` AS bound) b`
	sqlEventsHead = `SELECT coalesce(max(cursor), 0) FROM events WHERE handle = $1 AND cursor < $2`
	// An admin's head covers the thread log and its own log.
	sqlAdminEventsHead = `SELECT greatest(
		(SELECT coalesce(max(cursor), 0) FROM events WHERE handle = '` + hub.AllThreads + `' AND cursor < $2),
		(SELECT coalesce(max(cursor), 0) FROM events WHERE handle = $1 AND cursor < $2))`
	eventColumns = `e.cursor, e.type, e.thread_id, e.message_seq, e.data, e.created_at`
	// Only events of threads the caller can see now: it may have left
	// the thread log's readers, or been an admin when it joined.
	sqlEventsAfter = `SELECT ` + eventColumns + ` FROM events e
		WHERE e.handle = $1 AND e.cursor > $2 AND e.cursor < $4
		AND EXISTS (SELECT 1 FROM thread_participants vp WHERE vp.thread_id = e.thread_id AND vp.handle = $1)
		ORDER BY e.cursor LIMIT $3`
	// An admin reads the thread log and its own read marks (its copies of
	// thread events as a participant would repeat the thread log's): two
	// runs of at most one page each, each a range of an index, merged.
	sqlAdminEventsAfter = `SELECT * FROM (
		(SELECT ` + eventColumns + ` FROM events e
			WHERE e.handle = '` + hub.AllThreads + `' AND e.cursor > $2 AND e.cursor < $4 ORDER BY e.cursor LIMIT $3)
		UNION ALL
		(SELECT ` + eventColumns + ` FROM events e
			WHERE e.handle = $1 AND e.type = '` + agcom.EventMessageRead + `' AND e.cursor > $2 AND e.cursor < $4
			ORDER BY e.cursor LIMIT $3)) AS page
		ORDER BY cursor LIMIT $3`
	sqlEventMessage = `SELECT ` + messageColumns + ` FROM messages m WHERE m.seq = $1`

	sqlPruneEvents      = `WITH gone AS (DELETE FROM events WHERE created_at < $1 RETURNING cursor) SELECT coalesce(max(cursor), 0) FROM gone`
	sqlRaisePruned      = `UPDATE event_retention SET pruned_through = greatest(pruned_through, $1)`
	sqlPruneIdempotency = `DELETE FROM idempotency_keys WHERE created_at < $1`
)

// Events returns the caller's events after the cursor after (see
// agcom.Events). Pending says that events for the caller have committed
// but wait behind an older transaction: read again shortly.
func (s *Store) Events(ctx context.Context, caller agcom.Caller, after *int64, limit int) (agcom.EventPage, error) {
	return agcom.Events(ctx, s, caller, after, limit)
}

// ReadEventLog runs fn in one read transaction, whose snapshot gives the
// bound.
func (s *Store) ReadEventLog(ctx context.Context, fn func(agcom.EventLogTx) error) error {
	return s.readTx(ctx, func(t *tx) error { return fn(t) })
}

// EventLogState reads the pruned cursor, the bound of this snapshot, and
// whether events for the caller wait at or above it.
func (t *tx) EventLogState(caller agcom.Caller) (pruned, bound int64, pending bool, err error) {
	state := sqlEventsState
	if caller.IsAdmin {
		state = sqlAdminEventsState
	}
	err = t.queryRow(state, caller.Handle).Scan(&pruned, &bound, &pending)
	return pruned, bound, pending, err
}

// EventHead returns the caller's newest cursor below bound.
func (t *tx) EventHead(caller agcom.Caller, bound int64) (int64, error) {
	head := sqlEventsHead
	if caller.IsAdmin {
		head = sqlAdminEventsHead
	}
	var n int64
	err := t.queryRow(head, caller.Handle, bound).Scan(&n)
	return n, err
}

// EventRows returns the caller's events after the cursor after and below
// bound.
func (t *tx) EventRows(caller agcom.Caller, after, bound int64, limit int) ([]agcom.EventRow, error) {
	q := sqlEventsAfter
	if caller.IsAdmin {
		q = sqlAdminEventsAfter
	}
	rows, err := t.query(q, caller.Handle, after, limit, bound)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return scan.Events(rows)
}

// EventMessage returns the message seq, for a message.created event.
func (t *tx) EventMessage(seq int64) (agcom.Message, error) {
	return scanMessage(t.queryRow(sqlEventMessage, seq))
}

// EventThread returns the thread id as the caller sees it, for a
// thread.updated event.
func (t *tx) EventThread(caller agcom.Caller, id string) (agcom.Thread, error) {
	return scanThread(t.queryRow(sqlGetVisibleThread, caller.Handle, caller.IsAdmin, id))
}

// Subscribe returns a channel that receives a signal whenever an event the
// caller reads is committed (an admin's include every thread's), on any
// node, and a function that ends the subscription.
func (s *Store) Subscribe(caller agcom.Caller) (<-chan struct{}, func()) {
	if caller.IsAdmin {
		return s.hub.Subscribe(caller.Handle, hub.AllThreads)
	}
	return s.hub.Subscribe(caller.Handle)
}

// Prune deletes events older than eventsBefore and idempotency keys older
// than the idempotency window. Cursors older than the newest deleted event
// then answer EGONE. Every node prunes; they take turns on the rows.
func (s *Store) Prune(ctx context.Context, eventsBefore time.Time) error {
	return s.writeTx(ctx, func(t *tx) error {
		var through int64
		if err := t.queryRow(sqlPruneEvents, toMicros(eventsBefore)).Scan(&through); err != nil {
			return err
		}
		if through > 0 {
			if _, err := t.exec(sqlRaisePruned, through); err != nil {
				return err
			}
		}
		_, err := t.exec(sqlPruneIdempotency, toMicros(t.now.Add(-agcom.IdempotencyWindow)))
		return err
	})
}
