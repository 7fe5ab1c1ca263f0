package postgres

import (
	"context"
	"encoding/json"
	"errors"
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

	// An agent's inbox walks its participant rows; an admin's walks all
	// threads.
	sqlListThreadsParticipant = `
		SELECT ` + threadColumns + `, p.unread FROM thread_participants p JOIN threads t ON t.id = p.thread_id
		WHERE p.handle = $1/*cond*/
		ORDER BY p.last_activity_at DESC, p.thread_id DESC LIMIT $2 OFFSET $3`
	sqlCountThreadsParticipant = `SELECT count(*) FROM thread_participants p WHERE p.handle = $1/*cond*/`
	sqlListThreadsAdmin        = `
		SELECT ` + threadColumns + `, ` + threadUnread + ` FROM threads t
		WHERE true/*cond*/
		ORDER BY t.last_activity_at DESC, t.id DESC LIMIT $2 OFFSET $3`

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
// reads the counter rows kept by the writes.
func (t *tx) CountThreads(caller agcom.Caller, archived *bool) (int, error) {
	if !caller.IsAdmin {
		cond, args := "", []any{caller.Handle}
		if archived != nil {
			cond, args = " AND p.archived = $2", append(args, *archived)
		}
		var total int
		err := t.queryRow(fmtQuery(sqlCountThreadsParticipant, cond), args...).Scan(&total)
		return total, err
	}
	if archived == nil {
		return t.counter("threads")
	}
	total, err := t.counter("threads_archived")
	if err != nil || *archived {
		return total, err
	}
	all, err := t.counter("threads")
	return all - total, err
}

// Threads returns a page of the caller's threads (every thread for an
// admin), newest activity first.
func (t *tx) Threads(caller agcom.Caller, archived *bool, p agcom.Page) ([]agcom.Thread, error) {
	query, args := sqlListThreadsParticipant, []any{caller.Handle, p.Limit, p.Offset}
	cond := ""
	if caller.IsAdmin {
		query = sqlListThreadsAdmin
	}
	if archived != nil {
		cond, args = " AND p.archived = $4", append(args, *archived)
		if caller.IsAdmin {
			cond = " AND t.archived = $4"
		}
	}
	return queryList(t, scanThread, fmtQuery(query, cond), args...)
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

// fmtQuery puts a fixed condition into a query at its /*cond*/ mark.
func fmtQuery(query, cond string) string {
	return strings.Replace(query, "/*cond*/", cond, 1)
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
