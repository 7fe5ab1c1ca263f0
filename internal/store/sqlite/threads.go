package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/agcom/agcom/internal/agcom"
)

// threadColumns selects a thread with its sorted participants and its
// metadata, as JSON kept on the row.
const threadColumns = `t.id, t.subject, t.created_at, t.last_activity_at, t.participants, t.metadata`

// threadUnread is the caller's (?1) unread count of thread t, for queries
// that do not walk the caller's participant row anyway.
const threadUnread = `coalesce((SELECT unread FROM thread_participants WHERE thread_id = t.id AND handle = ?1), 0)`

// Keeping the thread row's JSON copies in step.
const (
	sqlRefreshParticipants = `UPDATE threads SET participants = (SELECT json_group_array(handle) FROM
		(SELECT handle FROM thread_participants WHERE thread_id = ?1 ORDER BY handle)) WHERE id = ?1`
	sqlRefreshMetadata = `UPDATE threads SET metadata = coalesce((SELECT json_group_object(key, value)
		FROM thread_metadata WHERE thread_id = ?1), '{}') WHERE id = ?1`
)

const (
	sqlGetVisibleThread = `SELECT ` + threadColumns + `, ` + threadUnread + ` FROM threads t WHERE t.id = ?3 AND ` + visibleThread

	// An agent's inbox walks its participant rows; an admin's walks all
	// threads. With the archived filter (?3) each walks the index that
	// starts with it, so that the few archived threads are not found by
	// skipping over all the others.
	threadsOfParticipant = `
		SELECT ` + threadColumns + `, p.unread FROM thread_participants p JOIN threads t ON t.id = p.thread_id
		WHERE p.handle = ?1`
	participantOrder                  = ` ORDER BY p.last_activity_at DESC, p.thread_id DESC LIMIT ?4 OFFSET ?5`
	sqlListThreadsParticipant         = threadsOfParticipant + participantOrder
	sqlListThreadsParticipantArchived = threadsOfParticipant + ` AND p.archived = ?3` + participantOrder
	sqlCountThreadsParticipant        = `
		SELECT count(*) FROM thread_participants p WHERE p.handle = ?1 AND (?3 IS NULL OR p.archived = ?3)`
	threadsForAdmin        = `SELECT ` + threadColumns + `, ` + threadUnread + ` FROM threads t`
	adminOrder             = ` ORDER BY t.last_activity_at DESC, t.id DESC LIMIT ?4 OFFSET ?5`
	sqlListThreadsAdmin    = threadsForAdmin + adminOrder
	sqlListThreadsArchived = threadsForAdmin + ` WHERE t.archived = ?3` + adminOrder
	sqlCountThreadsAdmin   = `
		SELECT CASE WHEN ?3 IS NULL THEN t.value WHEN ?3 THEN a.value ELSE t.value - a.value END
		FROM counters t, counters a WHERE t.name = 'threads' AND a.name = 'threads_archived'`

	// A list narrowed by participant (?6) or tag (?7, as it is quoted in
	// the messages' JSON tags) walks the caller's participant rows, an
	// admin's the participant's or every thread, and keeps what matches.
	threadsWith = ` AND (?3 IS NULL OR t.archived = ?3)
		AND (?7 IS NULL OR EXISTS (SELECT 1 FROM messages m WHERE m.thread_id = t.id AND instr(m.tags, ?7) > 0))`
	threadsSharedWith = `
		FROM thread_participants p JOIN threads t ON t.id = p.thread_id WHERE p.handle = ?1
		AND (?6 IS NULL OR EXISTS (SELECT 1 FROM thread_participants x WHERE x.thread_id = p.thread_id AND x.handle = ?6))` + threadsWith
	threadsOfAgent = `
		FROM thread_participants p JOIN threads t ON t.id = p.thread_id WHERE p.handle = ?6` + threadsWith
	threadsAll                = ` FROM threads t WHERE 1` + threadsWith
	sqlListThreadsSharedWith  = `SELECT ` + threadColumns + `, p.unread` + threadsSharedWith + participantOrder
	sqlCountThreadsSharedWith = `SELECT count(*)` + threadsSharedWith
	sqlListThreadsOfAgent     = `SELECT ` + threadColumns + `, ` + threadUnread + threadsOfAgent + participantOrder
	sqlCountThreadsOfAgent    = `SELECT count(*)` + threadsOfAgent
	sqlListThreadsWith        = `SELECT ` + threadColumns + `, ` + threadUnread + threadsAll + adminOrder
	sqlCountThreadsWith       = `SELECT count(*)` + threadsAll

	sqlThreadMetadata   = `SELECT key, value FROM thread_metadata WHERE thread_id = ? ORDER BY key`
	sqlThreadMetaValue  = `SELECT value FROM thread_metadata WHERE thread_id = ? AND key = ?`
	sqlUpsertMetadata   = `INSERT INTO thread_metadata (thread_id, key, value) VALUES (?, ?, ?) ON CONFLICT (thread_id, key) DO UPDATE SET value = excluded.value`
	sqlDeleteMetadata   = `DELETE FROM thread_metadata WHERE thread_id = ? AND key = ?`
	sqlSetArchived      = `UPDATE threads SET archived = ?2 WHERE id = ?1 AND archived <> ?2`
	sqlSetArchivedParts = `UPDATE thread_participants SET archived = ?2 WHERE thread_id = ?1`
)

// sqlMetadataUsage reads what a thread's metadata holds (bytes of UTF-8: a
// text cast to a blob is its bytes), and the current value of key ?2.
const sqlMetadataUsage = `SELECT count(*), coalesce(sum(length(CAST(key AS BLOB)) + length(CAST(value AS BLOB))), 0),
		max(CASE WHEN key = ?2 THEN value END) FROM thread_metadata WHERE thread_id = ?1`

// GetThread returns the thread id. Returns ENOTFOUND when it does not exist
// or the caller cannot see it.
func (s *Store) GetThread(ctx context.Context, caller agcom.Caller, id string) (agcom.Thread, error) {
	var th agcom.Thread
	err := s.readTx(ctx, func(t *tx) error {
		var err error
		th, err = scanThread(t.queryRow(sqlGetVisibleThread, caller.Handle, caller.IsAdmin, id))
		if errors.Is(err, sql.ErrNoRows) {
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
	count := sqlCountThreadsParticipant
	switch {
	case m.Participant != "" || m.Tag != "":
		count, _ = narrowedThreads(caller, m)
	case caller.IsAdmin:
		count = sqlCountThreadsAdmin
	}
	args := threadArgs(caller, m, agcom.Page{})
	if m.Participant == "" && m.Tag == "" {
		args = args[:3] // the counts without a page
	}
	var total int
	err := t.queryRow(count, args...).Scan(&total)
	return total, err
}

// Threads returns a page of the caller's threads (every thread for an
// admin), newest activity first.
func (t *tx) Threads(caller agcom.Caller, m agcom.ThreadMatch, p agcom.Page) ([]agcom.Thread, error) {
	list := sqlListThreadsParticipant
	switch {
	case m.Participant != "" || m.Tag != "":
		_, list = narrowedThreads(caller, m)
	case caller.IsAdmin && m.Archived != nil:
		list = sqlListThreadsArchived
	case caller.IsAdmin:
		list = sqlListThreadsAdmin
	case m.Archived != nil:
		list = sqlListThreadsParticipantArchived
	}
	return queryList(t, scanThread, list, threadArgs(caller, m, p)...)
}

// narrowedThreads returns the count and list queries of a list narrowed
// by participant or tag.
func narrowedThreads(caller agcom.Caller, m agcom.ThreadMatch) (count, list string) {
	switch {
	case !caller.IsAdmin:
		return sqlCountThreadsSharedWith, sqlListThreadsSharedWith
	case m.Participant != "":
		return sqlCountThreadsOfAgent, sqlListThreadsOfAgent
	}
	return sqlCountThreadsWith, sqlListThreadsWith
}

// threadArgs are the thread lists' numbered parameters.
func threadArgs(caller agcom.Caller, m agcom.ThreadMatch, p agcom.Page) []any {
	args := []any{caller.Handle, caller.IsAdmin, nullBool(m.Archived), p.Limit, p.Offset}
	if m.Participant == "" && m.Tag == "" {
		return args
	}
	var tag any
	if m.Tag != "" {
		tag = `"` + m.Tag + `"`
	}
	return append(args, nullString(m.Participant), tag)
}

// nullBool is *b, or NULL when b is nil.
func nullBool(b *bool) any {
	if b == nil {
		return nil
	}
	return *b
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
	defer rows.Close()
	md := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		md[k] = v
	}
	return md, rows.Err()
}

// ThreadMetadataValue returns the value of key; ENOTFOUND when it is not
// set.
func (t *tx) ThreadMetadataValue(threadID, key string) (string, error) {
	var v string
	err := t.queryRow(sqlThreadMetaValue, threadID, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", agcom.Errorf(agcom.ENOTFOUND, "metadata key not found")
	}
	return v, err
}

// MetadataUsage returns what the thread's metadata holds and the value of
// key. The single writer runs one transaction at a time: nothing changes
// the metadata between this count and the transaction's write.
func (t *tx) MetadataUsage(threadID, key string) (agcom.MetadataUsage, *string, error) {
	var (
		usage agcom.MetadataUsage
		old   sql.NullString
	)
	if err := t.queryRow(sqlMetadataUsage, threadID, key).Scan(&usage.Keys, &usage.Bytes, &old); err != nil {
		return usage, nil, err
	}
	if !old.Valid {
		return usage, nil, nil
	}
	return usage, &old.String, nil
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
	return t.emitThreadUpdated(threadID)
}

// SetArchived sets the thread's archived flag, for every participant too,
// and counts archived threads.
func (t *tx) SetArchived(threadID string, archived bool) error {
	res, err := t.exec(sqlSetArchived, threadID, archived)
	if err != nil {
		return err
	}
	if changed, err := res.RowsAffected(); err != nil {
		return err
	} else if changed > 0 {
		delta := -1
		if archived {
			delta = 1
		}
		if _, err := t.exec(sqlCountAdd, "threads_archived", delta); err != nil {
			return err
		}
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
	if err := decodeStrings(parts, &th.Participants); err != nil {
		return th, err
	}
	var err error
	if th.Metadata, err = decodeStringMap(md); err != nil {
		return th, err
	}
	th.CreatedAt = fromMicros(created)
	th.LastActivityAt = fromMicros(activity)
	return th, nil
}
