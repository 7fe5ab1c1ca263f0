package sqlite

import (
	"context"
	"database/sql"
	"errors"

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
		SELECT m.seq, m.thread_id, r.read_at FROM messages m
		JOIN message_recipients r ON r.message_seq = m.seq AND r.handle = ?1
		WHERE m.id = ?2`
	sqlSetReadAt   = `UPDATE message_recipients SET read_at = ?3 WHERE message_seq = ?1 AND handle = ?2`
	sqlAddUnread   = `UPDATE thread_participants SET unread = max(0, unread + ?3) WHERE thread_id = ?1 AND handle = ?2`
	sqlUnreadInThr = `
		SELECT m.id FROM message_recipients r JOIN messages m ON m.seq = r.message_seq
		WHERE r.handle = ?1 AND r.read_at IS NULL AND m.thread_id = ?2 ORDER BY m.seq`
	sqlReadThread = `
		UPDATE message_recipients SET read_at = ?3
		WHERE handle = ?1 AND read_at IS NULL AND message_seq IN (SELECT seq FROM messages WHERE thread_id = ?2)`
	sqlZeroUnread = `UPDATE thread_participants SET unread = 0 WHERE thread_id = ?2 AND handle = ?1`
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
			readAt   sql.NullInt64
		)
		err := t.queryRow(sqlRecipientState, caller.Handle, id).Scan(&seq, &threadID, &readAt)
		if errors.Is(err, sql.ErrNoRows) {
			return agcom.Errorf(agcom.ENOTFOUND, "message not found among those addressed to you")
		} else if err != nil {
			return err
		}
		out = agcom.ReadState{MessageID: id}
		switch {
		case read && readAt.Valid:
			at := fromMicros(readAt.Int64)
			out.ReadAt = &at
			return nil
		case !read && !readAt.Valid:
			return nil
		}
		var newReadAt any
		delta := 1
		if read {
			newReadAt, delta = toMicros(t.now), -1
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
		rows, err := t.query(sqlUnreadInThr, caller.Handle, threadID)
		if err != nil {
			return err
		}
		var ids []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(ids) == 0 {
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

// listInbox returns the messages addressed to the caller, newest first,
// with their read state.
func (s *Store) listInbox(ctx context.Context, caller agcom.Caller, f agcom.InboxFilter) (agcom.InboxList, error) {
	page := f.Page.Normalize()
	cond := " WHERE r.handle = ?"
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
	from := " FROM message_recipients r JOIN messages m ON m.seq = r.message_seq"
	var out agcom.InboxList
	err := s.readTx(ctx, func(t *tx) error {
		var total int
		if err := t.queryRow("SELECT count(*)"+from+cond, args...).Scan(&total); err != nil {
			return err
		}
		rows, err := t.query("SELECT "+messageColumns+", r.read_at"+from+cond+" ORDER BY r.message_seq DESC LIMIT ? OFFSET ?",
			append(args, page.Limit, page.Offset)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		entries := []agcom.InboxEntry{}
		for rows.Next() {
			var readAt sql.NullInt64
			m, err := scanMessage(rows, &readAt)
			if err != nil {
				return err
			}
			e := agcom.InboxEntry{Message: m}
			if readAt.Valid {
				at := fromMicros(readAt.Int64)
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
