package sqlite

import (
	"context"
	"encoding/json"
	"math"
	"time"

	"github.com/agcom/agcom/internal/agcom"
	"github.com/agcom/agcom/internal/store/hub"
	"github.com/agcom/agcom/internal/store/scan"
)

// Writing events: every change an agent can see becomes a row of its log,
// in the transaction of the change. A thread's events go to each of its
// participants and once to the thread log (handle hub.AllThreads), which
// admins read: what a send costs does not depend on how many admins exist.
const (
	sqlThreadAudience = `SELECT handle FROM thread_participants WHERE thread_id = ?`
	// A SELECT beside the INSERT rather than RETURNING, which would build
	// a temporary table on every message.
	sqlEmitToParticipants = `
		INSERT INTO events (handle, type, thread_id, message_seq, data, created_at)
		SELECT handle, ?2, ?1, ?3, NULL, ?4 FROM thread_participants WHERE thread_id = ?1
		UNION ALL SELECT '` + hub.AllThreads + `', ?2, ?1, ?3, NULL, ?4`
	sqlEmitToOne = `
		INSERT INTO events (handle, type, thread_id, message_seq, data, created_at)
		VALUES (?, ?, ?, NULL, ?, ?)`
)

// emitToParticipants adds an event for every participant of the thread and
// one to the thread log, and remembers whom to wake after the commit.
// Admins' answers change with every commit already, so only the
// participants' scopes are touched.
func (t *tx) emitToParticipants(threadID, eventType string, messageSeq any) error {
	if _, err := t.exec(sqlEmitToParticipants, threadID, eventType, messageSeq, toMicros(t.now)); err != nil {
		return err
	}
	rows, err := t.query(sqlThreadAudience, threadID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return err
		}
		t.notify = append(t.notify, h)
		t.touched = append(t.touched, agentScope(h))
	}
	t.notify = append(t.notify, hub.AllThreads)
	return rows.Err()
}

// emitMessageCreated tells every participant of the thread about a new
// message.
func (t *tx) emitMessageCreated(msg agcom.Message, seq int64) error {
	return t.emitToParticipants(msg.ThreadID, agcom.EventMessageCreated, seq)
}

// emitThreadUpdated tells every participant that the thread changed
// (metadata, archive state, participants).
func (t *tx) emitThreadUpdated(threadID string) error {
	return t.emitToParticipants(threadID, agcom.EventThreadUpdated, nil)
}

// emitRead tells the reader's own clients which messages it marked read
// (or unread, with a nil readAt).
func (t *tx) emitRead(handle, threadID string, ids []string, readAt *time.Time) error {
	data, err := json.Marshal(agcom.ReadEventData{MessageIDs: ids, ReadAt: readAt})
	if err != nil {
		return err
	}
	if _, err := t.exec(sqlEmitToOne, handle, agcom.EventMessageRead, threadID, string(data), toMicros(t.now)); err != nil {
		return err
	}
	t.notify = append(t.notify, handle)
	t.touched = append(t.touched, agentScope(handle))
	return nil
}

// Reading events.
const (
	sqlEventsPruned = `SELECT value FROM counters WHERE name = 'events_pruned_through'`
	sqlEventsHead   = `SELECT coalesce(max(seq), 0) FROM events WHERE handle = ?`
	// An admin's head covers the thread log and its own log.
	sqlAdminEventsHead = `SELECT max((SELECT coalesce(max(seq), 0) FROM events WHERE handle = '` + hub.AllThreads + `'),
		(SELECT coalesce(max(seq), 0) FROM events WHERE handle = ?))`
	eventColumns = `e.seq, e.type, e.thread_id, e.message_seq, e.data, e.created_at`
	// Only events of threads the caller can see now: it may have left
	// the thread log's readers, or been an admin when it joined.
	sqlEventsAfter = `SELECT ` + eventColumns + ` FROM events e
		WHERE e.handle = ?1 AND e.seq > ?2
		AND EXISTS (SELECT 1 FROM thread_participants vp WHERE vp.thread_id = e.thread_id AND vp.handle = ?1)
		ORDER BY e.seq LIMIT ?3`
	// An admin reads the thread log and its own read marks (its copies of
	// thread events as a participant would repeat the thread log's): two
	// ranges of an index each, merged in seq order up to the page.
	sqlAdminEventsAfter = `SELECT ` + eventColumns + ` FROM events e
			WHERE e.handle = '` + hub.AllThreads + `' AND e.seq > ?2
		UNION ALL
		SELECT ` + eventColumns + ` FROM events e
			WHERE e.handle = ?1 AND e.type = '` + agcom.EventMessageRead + `' AND e.seq > ?2
		ORDER BY 1 LIMIT ?3`
	sqlEventMessage = `SELECT ` + messageColumns + ` FROM messages m WHERE m.seq = ?`

	sqlPruneEvents      = `DELETE FROM events WHERE created_at < ? RETURNING seq`
	sqlRaisePruned      = `UPDATE counters SET value = max(value, ?) WHERE name = 'events_pruned_through'`
	sqlPruneIdempotency = `DELETE FROM idempotency_keys WHERE created_at < ?`
)

// Events returns the caller's events after the cursor after (see
// agcom.Events).
func (s *Store) Events(ctx context.Context, caller agcom.Caller, after *int64, limit int) (agcom.EventPage, error) {
	return agcom.Events(ctx, s, caller, after, limit)
}

// ReadEventLog runs fn in one read transaction.
func (s *Store) ReadEventLog(ctx context.Context, fn func(agcom.EventLogTx) error) error {
	return s.readTx(ctx, func(t *tx) error { return fn(t) })
}

// noBound is the bound of SQLite's event reads: its one writer commits
// events in cursor order, so none can appear below one already read.
const noBound = math.MaxInt64

// EventLogState reads the pruned cursor; nothing waits on SQLite.
func (t *tx) EventLogState(agcom.Caller) (pruned, bound int64, pending bool, err error) {
	err = t.queryRow(sqlEventsPruned).Scan(&pruned)
	return pruned, noBound, false, err
}

// EventHead returns the caller's newest cursor.
func (t *tx) EventHead(caller agcom.Caller, _ int64) (int64, error) {
	head := sqlEventsHead
	if caller.IsAdmin {
		head = sqlAdminEventsHead
	}
	var n int64
	err := t.queryRow(head, caller.Handle).Scan(&n)
	return n, err
}

// EventRows returns the caller's events after the cursor after.
func (t *tx) EventRows(caller agcom.Caller, after, _ int64, limit int) ([]agcom.EventRow, error) {
	q := sqlEventsAfter
	if caller.IsAdmin {
		q = sqlAdminEventsAfter
	}
	rows, err := t.query(q, caller.Handle, after, limit)
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

// Prune deletes events older than eventsBefore and idempotency keys older
// than the idempotency window. Cursors older than the newest deleted event
// then answer EGONE.
func (s *Store) Prune(ctx context.Context, eventsBefore time.Time) error {
	return s.writeTx(ctx, func(t *tx) error {
		rows, err := t.queryChanges(sqlPruneEvents, toMicros(eventsBefore))
		if err != nil {
			return err
		}
		var through int64
		for rows.Next() {
			var seq int64
			if err := rows.Scan(&seq); err != nil {
				rows.Close()
				return err
			}
			through = max(through, seq)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if through > 0 {
			if _, err := t.exec(sqlRaisePruned, through); err != nil {
				return err
			}
		}
		_, err = t.exec(sqlPruneIdempotency, toMicros(t.now.Add(-agcom.IdempotencyWindow)))
		return err
	})
}
