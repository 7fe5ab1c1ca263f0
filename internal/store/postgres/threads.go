package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/agcom/agcom/internal/agcom"
)

// threadColumns selects a thread with its sorted participants and its
// metadata, as JSON kept on the row.
const threadColumns = `t.id, t.subject, t.created_at, t.last_activity_at, t.participants, t.metadata`

// threadUnread is the caller's ($1) unread count of thread t, for queries
// that do not walk the caller's participant row anyway.
const threadUnread = `coalesce((SELECT unread FROM thread_participants WHERE thread_id = t.id AND handle = $1), 0)`

// Keeping the thread row's JSON copies in step.
const (
	sqlRefreshParticipants = `UPDATE threads SET participants = (SELECT coalesce(json_agg(handle ORDER BY handle), '[]')::text
		FROM thread_participants WHERE thread_id = $1) WHERE id = $1`
	sqlRefreshMetadata = `UPDATE threads SET metadata = (SELECT coalesce(json_object_agg(key, value), '{}')::text
		FROM thread_metadata WHERE thread_id = $1) WHERE id = $1`
)

const (
	sqlGetVisibleThread = `SELECT ` + threadColumns + `, ` + threadUnread + ` FROM threads t WHERE t.id = $3 AND ` + visibleThread

	sqlThreadMetadata   = `SELECT key, value FROM thread_metadata WHERE thread_id = $1 ORDER BY key`
	sqlThreadMetaValue  = `SELECT value FROM thread_metadata WHERE thread_id = $1 AND key = $2`
	sqlUpsertMetadata   = `INSERT INTO thread_metadata (thread_id, key, value) VALUES ($1, $2, $3) ON CONFLICT (thread_id, key) DO UPDATE SET value = excluded.value`
	sqlDeleteMetadata   = `DELETE FROM thread_metadata WHERE thread_id = $1 AND key = $2`
	sqlSetArchived      = `UPDATE threads SET archived = $2 WHERE id = $1 AND archived <> $2`
	sqlSetArchivedParts = `UPDATE thread_participants SET archived = $2 WHERE thread_id = $1`
)

// sqlMetadataUsage reads what a thread's metadata holds (bytes of UTF-8),
// and the current value of key $2.
const sqlMetadataUsage = `SELECT count(*), coalesce(sum(octet_length(key) + octet_length(value)), 0),
		max(value) FILTER (WHERE key = $2) FROM thread_metadata WHERE thread_id = $1`

// GetThread returns the thread id. Returns ENOTFOUND when it does not exist
// or the caller cannot see it.
func (s *Store) GetThread(ctx context.Context, caller agcom.Caller, id string) (agcom.Thread, error) {
	var th agcom.Thread
	err := s.readTx(ctx, func(t *tx) error {
		var err error
		th, err = scanThread(t.queryRow(sqlGetVisibleThread, caller.Handle, caller.IsAdmin, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return agcom.Errorf(agcom.ENOTFOUND, "thread not found")
		}
		return err
	})
	return th, err
}

// ListThreads returns the caller's threads, newest activity first
// (agcom.ListThreads).
func (s *Store) ListThreads(ctx context.Context, caller agcom.Caller, f agcom.ThreadFilter) (agcom.ThreadList, error) {
	return agcom.ListThreads(ctx, s, caller, f)
}

// CountThreads counts the caller's participant rows, or for an admin
// reads the counter rows kept by the writes; a list narrowed by
// participant or tag counts what it keeps.
func (t *tx) CountThreads(caller agcom.Caller, m agcom.ThreadMatch) (int, error) {
	if !caller.IsAdmin || m.Participant != "" || m.Tag != "" {
		w := threadsWhere(caller, m)
		var total int
		err := t.queryRow(`SELECT count(*) FROM `+w.from+` WHERE `+w.where, w.args...).Scan(&total)
		return total, err
	}
	if m.Archived == nil {
		return t.counter("threads")
	}
	total, err := t.counter("threads_archived")
	if err != nil || *m.Archived {
		return total, err
	}
	all, err := t.counter("threads")
	return all - total, err
}

// Threads returns a page of the caller's threads (every thread for an
// admin), newest activity first.
func (t *tx) Threads(caller agcom.Caller, m agcom.ThreadMatch, p agcom.Page) ([]agcom.Thread, error) {
	w := threadsWhere(caller, m)
	unread := "p.unread"
	if caller.IsAdmin {
		w.args = append(w.args, caller.Handle)
		unread = fmt.Sprintf("coalesce((SELECT unread FROM thread_participants WHERE thread_id = t.id AND handle = $%d), 0)", len(w.args))
	}
	from, order := "threads t", "t.last_activity_at DESC, t.id DESC"
	if w.participants {
		from, order = "thread_participants p JOIN threads t ON t.id = p.thread_id", "p.last_activity_at DESC, p.thread_id DESC"
	}
	n := len(w.args)
	query := fmt.Sprintf("SELECT %s, %s FROM %s WHERE %s ORDER BY %s LIMIT $%d OFFSET $%d",
		threadColumns, unread, from, w.where, order, n+1, n+2)
	return queryList(t, scanThread, query, append(w.args, p.Limit, p.Offset)...)
}

// threadsSelection is which rows a thread list walks and keeps.
type threadsSelection struct {
	from, where string
	args        []any
	// participants: the walk is of participant rows p (from), not of
	// threads t.
	participants bool
}

// threadsWhere selects the threads the caller sees that m keeps. An agent
// walks its participant rows; an admin walks every thread, or the
// participant's rows when m names one.
func threadsWhere(caller agcom.Caller, m agcom.ThreadMatch) threadsSelection {
	sel := threadsSelection{from: "thread_participants p", participants: true}
	arg := func(v any) string {
		sel.args = append(sel.args, v)
		return "$" + strconv.Itoa(len(sel.args))
	}
	var b strings.Builder
	thread := "p.thread_id"
	switch {
	case !caller.IsAdmin:
		b.WriteString(`p.handle = ` + arg(caller.Handle))
		if m.Participant != "" {
			b.WriteString(` AND EXISTS (SELECT 1 FROM thread_participants x WHERE x.thread_id = p.thread_id AND x.handle = ` + arg(m.Participant) + `)`)
		}
	case m.Participant != "":
		b.WriteString(`p.handle = ` + arg(m.Participant))
	default:
		sel.from, sel.participants, thread = "threads t", false, "t.id"
		b.WriteString(`true`)
	}
	if m.Archived != nil {
		col := "p.archived"
		if !sel.participants {
			col = "t.archived"
		}
		b.WriteString(` AND ` + col + ` = ` + arg(*m.Archived))
	}
	if m.Tag != "" {
		// Tags are stored as a JSON array, and a tag needs no escaping.
		b.WriteString(` AND EXISTS (SELECT 1 FROM messages m WHERE m.thread_id = ` + thread +
			` AND strpos(m.tags, ` + arg(`"`+m.Tag+`"`) + `) > 0)`)
	}
	sel.where = b.String()
	return sel
}

// ThreadMetadata returns every metadata key of the thread id. Returns
// ENOTFOUND when the caller cannot see the thread.
func (s *Store) ThreadMetadata(ctx context.Context, caller agcom.Caller, id string) (map[string]string, error) {
	return agcom.ThreadMetadata(ctx, s, caller, id)
}

// ThreadMetadataValue returns the value of one metadata key. Returns
// ENOTFOUND when the caller cannot see the thread or the key is not set.
func (s *Store) ThreadMetadataValue(ctx context.Context, caller agcom.Caller, id, key string) (string, error) {
	return agcom.ThreadMetadataValue(ctx, s, caller, id, key)
}

// ThreadMetadata returns every metadata key of the thread.
func (t *tx) ThreadMetadata(threadID string) (map[string]string, error) {
	rows, err := t.query(sqlThreadMetadata, threadID)
	if err != nil {
		return nil, err
	}
	md := map[string]string{}
	var k, v string
	_, err = pgx.ForEachRow(rows, []any{&k, &v}, func() error {
		md[k] = v
		return nil
	})
	return md, err
}

// ThreadMetadataValue returns the value of key; ENOTFOUND when it is not
// set.
func (t *tx) ThreadMetadataValue(threadID, key string) (string, error) {
	var v string
	err := t.queryRow(sqlThreadMetaValue, threadID, key).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", agcom.Errorf(agcom.ENOTFOUND, "metadata key not found")
	}
	return v, err
}

// MetadataUsage returns what the thread's metadata holds and the value of
// key. Under the thread's lock (LockThread) it is what the writer before
// committed.
func (t *tx) MetadataUsage(threadID, key string) (agcom.MetadataUsage, *string, error) {
	var (
		usage agcom.MetadataUsage
		old   *string
	)
	err := t.queryRow(sqlMetadataUsage, threadID, key).Scan(&usage.Keys, &usage.Bytes, &old)
	return usage, old, err
}

// SetMetadata sets or removes key, keeps the thread row's copy in step,
// and tells everyone who can see the thread.
func (t *tx) SetMetadata(threadID, key string, value *string) error {
	var err error
	if value == nil {
		_, err = t.exec(sqlDeleteMetadata, threadID, key)
	} else {
		_, err = t.exec(sqlUpsertMetadata, threadID, key, *value)
	}
	if err != nil {
		return err
	}
	if _, err := t.exec(sqlRefreshMetadata, threadID); err != nil {
		return err
	}
	t.emitToParticipants(threadID, agcom.EventThreadUpdated, nil)
	return nil
}

// SetArchived sets the thread's archived flag, for every participant too,
// and counts archived threads.
func (t *tx) SetArchived(threadID string, archived bool) error {
	tag, err := t.exec(sqlSetArchived, threadID, archived)
	if err != nil {
		return err
	}
	if tag.RowsAffected() > 0 {
		delta := int64(-1)
		if archived {
			delta = 1
		}
		t.countUp("threads_archived", delta)
	}
	_, err = t.exec(sqlSetArchivedParts, threadID, archived)
	return err
}

func scanThread(row scanner) (agcom.Thread, error) {
	var (
		th                agcom.Thread
		created, activity int64
		parts, md         string
	)
	if err := row.Scan(&th.ID, &th.Subject, &created, &activity, &parts, &md, &th.UnreadCount); err != nil {
		return th, err
	}
	if err := json.Unmarshal([]byte(parts), &th.Participants); err != nil {
		return th, err
	}
	th.Metadata = map[string]string{}
	if err := json.Unmarshal([]byte(md), &th.Metadata); err != nil {
		return th, err
	}
	th.CreatedAt = fromMicros(created)
	th.LastActivityAt = fromMicros(activity)
	return th, nil
}
