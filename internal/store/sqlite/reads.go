package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/agcom/agcom/internal/agcom"
)

const sqlCountUnread = `UPDATE thread_participants SET unread = unread + 1 WHERE thread_id = ? AND handle = ?`

// countUnread adds a new message to each recipient's unread count of the
// thread.
func (t *tx) countUnread(msg agcom.Message) error {
	for _, h := range msg.ToHandles {
		if _, err := t.exec(sqlCountUnread, msg.ThreadID, h); err != nil {
			return err
		}
	}
	return nil
}

const (
	sqlRecipientState = `
		SELECT m.thread_id, r.read_at FROM messages m
		JOIN message_recipients r ON r.message_seq = m.seq AND r.handle = ?1
		WHERE m.id = ?2`
	sqlSetReadAt = `
		UPDATE message_recipients SET read_at = ?3
		WHERE message_seq = (SELECT seq FROM messages WHERE id = ?1) AND handle = ?2`
	sqlAddUnread   = `UPDATE thread_participants SET unread = max(0, unread + ?3) WHERE thread_id = ?1 AND handle = ?2`
	sqlUnreadInThr = `
		SELECT m.id FROM message_recipients r JOIN messages m ON m.seq = r.message_seq
		WHERE r.handle = ?1 AND r.read_at IS NULL AND m.thread_id = ?2 ORDER BY m.seq`
	sqlReadThread = `
		UPDATE message_recipients SET read_at = ?3
		WHERE handle = ?1 AND read_at IS NULL AND message_seq IN (SELECT seq FROM messages WHERE thread_id = ?2)`
	sqlZeroUnread = `UPDATE thread_participants SET unread = 0 WHERE thread_id = ?2 AND handle = ?1`
)

// LockReadState returns the message's thread and when handle read it. The
// single writer runs one transaction at a time: nothing else marks it
// before this one ends.
func (t *tx) LockReadState(handle, messageID string) (string, *time.Time, error) {
	var (
		threadID string
		readAt   sql.NullInt64
	)
	err := t.queryRow(sqlRecipientState, handle, messageID).Scan(&threadID, &readAt)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil, agcom.Errorf(agcom.ENOTFOUND, "message not found among those addressed to you")
	} else if err != nil || !readAt.Valid {
		return threadID, nil, err
	}
	at := fromMicros(readAt.Int64)
	return threadID, &at, nil
}

// SetReadAt marks the message read or unread for handle, moves handle's
// unread count of the thread, and tells handle's clients.
func (t *tx) SetReadAt(handle, threadID, messageID string, at *time.Time) error {
	var readAt any
	delta := 1
	if at != nil {
		readAt, delta = toMicros(*at), -1
	}
	if _, err := t.exec(sqlSetReadAt, messageID, handle, readAt); err != nil {
		return err
	}
	if _, err := t.exec(sqlAddUnread, threadID, handle, delta); err != nil {
		return err
	}
	return t.emitRead(handle, threadID, []string{messageID}, at)
}

// LockUnread returns the ids of the thread's messages addressed to handle
// and unread, oldest first.
func (t *tx) LockUnread(handle, threadID string) ([]string, error) {
	rows, err := t.query(sqlUnreadInThr, handle, threadID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// ReadThread marks every message of the thread addressed to handle read,
// zeroes handle's unread count of it, and tells handle's clients.
func (t *tx) ReadThread(handle, threadID string, ids []string, at time.Time) error {
	if _, err := t.exec(sqlReadThread, handle, threadID, toMicros(at)); err != nil {
		return err
	}
	if _, err := t.exec(sqlZeroUnread, handle, threadID); err != nil {
		return err
	}
	return t.emitRead(handle, threadID, ids, &at)
}

// ListInbox returns the messages addressed to the caller, newest first,
// with their read state (agcom.ListInbox).
func (s *Store) ListInbox(ctx context.Context, caller agcom.Caller, f agcom.InboxFilter) (agcom.InboxList, error) {
	return agcom.ListInbox(ctx, s, caller, f)
}

// inboxWhere is the FROM and WHERE of the caller's inbox that f keeps,
// with its arguments.
func inboxWhere(caller agcom.Caller, f agcom.InboxFilter) (string, []any) {
	cond := " FROM message_recipients r JOIN messages m ON m.seq = r.message_seq WHERE r.handle = ?"
	args := []any{caller.Handle}
	if f.UnreadOnly {
		cond += " AND r.read_at IS NULL"
	}
	if f.ThreadID != "" {
		cond += " AND m.thread_id = ?"
		args = append(args, f.ThreadID)
	}
	if f.FromHandle != "" {
		cond += " AND m.from_handle = ?"
		args = append(args, f.FromHandle)
	}
	return cond, args
}

// CountInbox counts the caller's inbox that f keeps.
func (t *tx) CountInbox(caller agcom.Caller, f agcom.InboxFilter) (int, error) {
	where, args := inboxWhere(caller, f)
	var total int
	err := t.queryRow("SELECT count(*)"+where, args...).Scan(&total)
	return total, err
}

// Inbox returns a page of the caller's inbox that f keeps.
func (t *tx) Inbox(caller agcom.Caller, f agcom.InboxFilter, p agcom.Page) ([]agcom.InboxEntry, error) {
	where, args := inboxWhere(caller, f)
	return queryList(t, scanInboxEntry, "SELECT "+messageColumns+", r.read_at"+where+" ORDER BY r.message_seq DESC LIMIT ? OFFSET ?",
		append(args, p.Limit, p.Offset)...)
}

func scanInboxEntry(row scanner) (agcom.InboxEntry, error) {
	var readAt sql.NullInt64
	m, err := scanMessage(row, &readAt)
	e := agcom.InboxEntry{Message: m}
	if readAt.Valid {
		at := fromMicros(readAt.Int64)
		e.ReadAt = &at
	}
	return e, err
}
