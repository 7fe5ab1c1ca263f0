package postgres

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/agcom/agcom/internal/agcom"
)

const (
	sqlRecipientMessage = `
		SELECT m.seq, m.thread_id FROM messages m
		JOIN message_recipients r ON r.message_seq = m.seq AND r.handle = $1
		WHERE m.id = $2`
	sqlRecipientReadAt = `SELECT read_at FROM message_recipients WHERE message_seq = $1 AND handle = $2`
	sqlSetReadAt       = `
		UPDATE message_recipients SET read_at = $3
		WHERE message_seq = (SELECT seq FROM messages WHERE id = $1) AND handle = $2`
	sqlAddUnread = `UPDATE thread_participants SET unread = greatest(0, unread + $3) WHERE thread_id = $1 AND handle = $2`
	// Marks by one reader in one thread take turns on its participant row,
	// so that each sees the one before it and the unread count moves once.
	// Every use case that locks it and a recipient row locks it first.
	sqlLockReader  = `SELECT 1 FROM thread_participants WHERE thread_id = $1 AND handle = $2 FOR UPDATE`
	sqlUnreadInThr = `
		SELECT m.id FROM message_recipients r JOIN messages m ON m.seq = r.message_seq
		WHERE r.handle = $1 AND r.read_at IS NULL AND m.thread_id = $2 ORDER BY m.created_at, m.seq`
	sqlReadThread = `
		UPDATE message_recipients SET read_at = $3
		WHERE handle = $1 AND read_at IS NULL AND message_seq IN (SELECT seq FROM messages WHERE thread_id = $2)`
	sqlZeroUnread = `UPDATE thread_participants SET unread = 0 WHERE thread_id = $2 AND handle = $1`
)

// LockReadState returns the message's thread and when handle read it,
// read after taking handle's turn in the thread (sqlLockReader).
func (t *tx) LockReadState(handle, messageID string) (string, *time.Time, error) {
	var (
		seq      int64
		threadID string
		readAt   *int64
	)
	err := t.queryRow(sqlRecipientMessage, handle, messageID).Scan(&seq, &threadID)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil, agcom.Errorf(agcom.ENOTFOUND, "message not found among those addressed to you")
	} else if err != nil {
		return "", nil, err
	}
	if _, err := t.exec(sqlLockReader, threadID, handle); err != nil {
		return "", nil, err
	}
	if err := t.queryRow(sqlRecipientReadAt, seq, handle).Scan(&readAt); err != nil || readAt == nil {
		return threadID, nil, err
	}
	at := fromMicros(*readAt)
	return threadID, &at, nil
}

// SetReadAt marks the message read or unread for handle, moves handle's
// unread count of the thread, and tells handle's clients.
func (t *tx) SetReadAt(handle, threadID, messageID string, at *time.Time) error {
	var readAt *int64
	delta := 1
	if at != nil {
		us := toMicros(*at)
		readAt, delta = &us, -1
	}
	if _, err := t.exec(sqlSetReadAt, messageID, handle, readAt); err != nil {
		return err
	}
	if _, err := t.exec(sqlAddUnread, threadID, handle, delta); err != nil {
		return err
	}
	return t.emitRead(handle, threadID, []string{messageID}, at)
}

// LockUnread takes handle's turn in the thread (sqlLockReader), then
// returns the ids of its messages addressed to handle and unread, oldest
// first.
func (t *tx) LockUnread(handle, threadID string) ([]string, error) {
	if _, err := t.exec(sqlLockReader, threadID, handle); err != nil {
		return nil, err
	}
	rows, err := t.query(sqlUnreadInThr, handle, threadID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
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
	args := []any{caller.Handle}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	cond := " FROM message_recipients r JOIN messages m ON m.seq = r.message_seq WHERE r.handle = $1"
	if f.UnreadOnly {
		cond += " AND r.read_at IS NULL"
	}
	if f.ThreadID != "" {
		cond += " AND m.thread_id = " + arg(f.ThreadID)
	}
	if f.FromHandle != "" {
		cond += " AND m.from_handle = " + arg(f.FromHandle)
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
	n := len(args)
	q := "SELECT " + messageColumns + ", r.read_at" + where +
		" ORDER BY r.created_at DESC, r.message_seq DESC LIMIT $" + strconv.Itoa(n+1) + " OFFSET $" + strconv.Itoa(n+2)
	return queryList(t, scanInboxEntry, q, append(args, p.Limit, p.Offset)...)
}

func scanInboxEntry(row scanner) (agcom.InboxEntry, error) {
	var readAt *int64
	m, err := scanMessage(row, &readAt)
	e := agcom.InboxEntry{Message: m}
	if readAt != nil {
		at := fromMicros(*readAt)
		e.ReadAt = &at
	}
	return e, err
}
