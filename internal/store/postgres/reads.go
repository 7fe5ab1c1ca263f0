package postgres

import (
	"context"
	"errors"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/agcom/agcom/internal/agcom"
)

const sqlCountUnread = `UPDATE thread_participants SET unread = unread + 1 WHERE thread_id = $1 AND handle = ANY($2)`

// countUnread adds a new message to each recipient's unread count of the
// thread.
func (t *tx) countUnread(msg agcom.Message) error {
	_, err := t.exec(sqlCountUnread, msg.ThreadID, msg.ToHandles)
	return err
}

const (
	sqlRecipientMessage = `
		SELECT m.seq, m.thread_id FROM messages m
		JOIN message_recipients r ON r.message_seq = m.seq AND r.handle = $1
		WHERE m.id = $2`
	sqlRecipientReadAt = `SELECT read_at FROM message_recipients WHERE message_seq = $1 AND handle = $2`
	sqlSetReadAt       = `UPDATE message_recipients SET read_at = $3 WHERE message_seq = $1 AND handle = $2`
	sqlAddUnread       = `UPDATE thread_participants SET unread = greatest(0, unread + $3) WHERE thread_id = $1 AND handle = $2`
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

// MarkRead marks the message id, addressed to the caller, read (keeping
// the first read time) or unread. Returns ENOTFOUND when the caller is not
// one of its recipients or cannot see it.
func (s *Store) MarkRead(ctx context.Context, caller agcom.Caller, id string, read bool) (agcom.ReadState, error) {
	var out agcom.ReadState
	err := s.writeTx(ctx, func(t *tx) error {
		var (
			seq      int64
			threadID string
			readAt   *int64
		)
		out = agcom.ReadState{}
		err := t.queryRow(sqlRecipientMessage, caller.Handle, id).Scan(&seq, &threadID)
		if errors.Is(err, pgx.ErrNoRows) {
			return agcom.Errorf(agcom.ENOTFOUND, "message not found among those addressed to you")
		} else if err != nil {
			return err
		}
		if _, err := t.exec(sqlLockReader, threadID, caller.Handle); err != nil {
			return err
		}
		if err := t.queryRow(sqlRecipientReadAt, seq, caller.Handle).Scan(&readAt); err != nil {
			return err
		}
		out.MessageID = id
		switch {
		case read && readAt != nil:
			at := fromMicros(*readAt)
			out.ReadAt = &at
			return nil
		case !read && readAt == nil:
			return nil
		}
		var newReadAt *int64
		delta := 1
		if read {
			us := toMicros(t.now)
			newReadAt, delta = &us, -1
			at := t.now
			out.ReadAt = &at
		}
		if _, err := t.exec(sqlSetReadAt, seq, caller.Handle, newReadAt); err != nil {
			return err
		}
		if _, err := t.exec(sqlAddUnread, threadID, caller.Handle, delta); err != nil {
			return err
		}
		return t.emitRead(caller.Handle, threadID, []string{id}, out.ReadAt)
	})
	return out, err
}

// MarkThreadRead marks every message of the thread addressed to the
// caller read. Returns ENOTFOUND when the caller cannot see the thread.
func (s *Store) MarkThreadRead(ctx context.Context, caller agcom.Caller, threadID string) (agcom.ThreadReadState, error) {
	var out agcom.ThreadReadState
	err := s.writeTx(ctx, func(t *tx) error {
		if err := t.ThreadVisible(caller, threadID); err != nil {
			return err
		}
		out = agcom.ThreadReadState{ThreadID: threadID, ReadAt: t.now}
		if _, err := t.exec(sqlLockReader, threadID, caller.Handle); err != nil {
			return err
		}
		rows, err := t.query(sqlUnreadInThr, caller.Handle, threadID)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil || len(ids) == 0 {
			return err
		}
		out.Marked = len(ids)
		if _, err := t.exec(sqlReadThread, caller.Handle, threadID, toMicros(t.now)); err != nil {
			return err
		}
		if _, err := t.exec(sqlZeroUnread, caller.Handle, threadID); err != nil {
			return err
		}
		return t.emitRead(caller.Handle, threadID, ids, &out.ReadAt)
	})
	return out, err
}

// ListInbox returns the messages addressed to the caller, newest first,
// with their read state.
func (s *Store) ListInbox(ctx context.Context, caller agcom.Caller, f agcom.InboxFilter) (agcom.InboxList, error) {
	page := f.Page.Normalize()
	args := []any{caller.Handle}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	cond := " WHERE r.handle = $1"
	if f.UnreadOnly {
		cond += " AND r.read_at IS NULL"
	}
	if f.ThreadID != "" {
		cond += " AND m.thread_id = " + arg(f.ThreadID)
	}
	if f.FromHandle != "" {
		cond += " AND m.from_handle = " + arg(f.FromHandle)
	}
	from := " FROM message_recipients r JOIN messages m ON m.seq = r.message_seq"
	countQ, countArgs := "SELECT count(*)"+from+cond, args
	listQ := "SELECT " + messageColumns + ", r.read_at" + from + cond +
		" ORDER BY r.created_at DESC, r.message_seq DESC LIMIT " + arg(page.Limit) + " OFFSET " + arg(page.Offset)
	var out agcom.InboxList
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
		entries := []agcom.InboxEntry{}
		for rows.Next() {
			var readAt *int64
			m, err := scanMessage(rows, &readAt)
			if err != nil {
				return err
			}
			e := agcom.InboxEntry{Message: m}
			if readAt != nil {
				at := fromMicros(*readAt)
				e.ReadAt = &at
			}
			entries = append(entries, e)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		out = agcom.InboxList{Entries: entries, Pagination: agcom.NewPagination(page, len(entries), total)}
		return nil
	})
	return out, err
}
