package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/agcom/agcom/internal/agcom"
)

// visibleThread is a condition on the thread id t.id: the caller (?1 handle,
// ?2 is-admin) takes part in the thread or is an admin.
const visibleThread = `(?2 OR EXISTS (SELECT 1 FROM thread_participants vp WHERE vp.thread_id = t.id AND vp.handle = ?1))`

const messageColumns = `m.id, m.thread_id, m.from_handle, m.to_handles, m.subject, m.body, m.created_at, m.in_reply_to, m.tags`

const (
	sqlInsertThread = `INSERT INTO threads (id, subject, created_at, last_activity_at) VALUES (?, ?, ?, ?)`

	sqlInsertParticipant = `
		INSERT INTO thread_participants (thread_id, handle, last_activity_at, archived)
		SELECT t.id, ?2, t.last_activity_at, t.archived FROM threads t WHERE t.id = ?1
		ON CONFLICT (thread_id, handle) DO NOTHING`

	sqlInsertMessage = `
		INSERT INTO messages (id, thread_id, from_handle, to_handles, subject, body, in_reply_to, tags, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`

	sqlInsertRecipient = `INSERT INTO message_recipients (message_seq, handle) VALUES (?, ?) ON CONFLICT DO NOTHING`

	sqlTouchThread             = `UPDATE threads SET last_activity_at = ?2 WHERE id = ?1`
	sqlTouchThreadParticipants = `UPDATE thread_participants SET last_activity_at = ?2 WHERE thread_id = ?1`

	sqlGetVisibleMessage = `
		SELECT ` + messageColumns + ` FROM messages m JOIN threads t ON t.id = m.thread_id
		WHERE m.id = ?3 AND ` + visibleThread

	sqlLatestVisibleMessage = `
		SELECT ` + messageColumns + ` FROM messages m JOIN threads t ON t.id = m.thread_id
		WHERE t.id = ?3 AND ` + visibleThread + `
		ORDER BY m.created_at DESC, m.id DESC LIMIT 1`

	sqlThreadSubject = `SELECT subject FROM threads WHERE id = ?`
)

// SendMessage opens a thread whose participants are the caller and the
// recipients, and posts m in it. Returns EINVALID for a bad message.
func (s *Store) SendMessage(ctx context.Context, caller agcom.Caller, m agcom.NewMessage) (agcom.Message, error) {
	if err := m.Validate(); err != nil {
		return agcom.Message{}, err
	}
	var msg agcom.Message
	err := s.writeTx(ctx, func(t *tx) error {
		var err error
		msg, err = t.openThread(caller, m.ToHandles, m)
		return err
	})
	return msg, err
}

// Broadcast opens one thread per distinct recipient and posts m in each, all
// in one transaction. Returns EINVALID for a bad message.
func (s *Store) Broadcast(ctx context.Context, caller agcom.Caller, m agcom.NewMessage) ([]agcom.Message, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	msgs := make([]agcom.Message, 0, len(m.ToHandles))
	err := s.writeTx(ctx, func(t *tx) error {
		for _, to := range m.ToHandles {
			msg, err := t.openThread(caller, []string{to}, m)
			if err != nil {
				return err
			}
			msgs = append(msgs, msg)
		}
		return nil
	})
	return msgs, err
}

// ReplyToMessage posts r as a reply to the message id in its thread. It goes
// to the original sender, or, when the caller is that sender, to the
// original recipients. Returns ENOTFOUND when the caller cannot see the
// message, EINVALID for a bad reply.
func (s *Store) ReplyToMessage(ctx context.Context, caller agcom.Caller, id string, r agcom.Reply) (agcom.Message, error) {
	return s.reply(ctx, caller, sqlGetVisibleMessage, id, "message not found", r)
}

// ReplyToThread posts r as a reply to the latest message of the thread id.
// Returns ENOTFOUND when the caller cannot see the thread, EINVALID for a
// bad reply.
func (s *Store) ReplyToThread(ctx context.Context, caller agcom.Caller, id string, r agcom.Reply) (agcom.Message, error) {
	return s.reply(ctx, caller, sqlLatestVisibleMessage, id, "thread not found", r)
}

func (s *Store) reply(ctx context.Context, caller agcom.Caller, findOriginal, id, notFound string, r agcom.Reply) (agcom.Message, error) {
	if err := r.Validate(); err != nil {
		return agcom.Message{}, err
	}
	var msg agcom.Message
	err := s.writeTx(ctx, func(t *tx) error {
		var err error
		msg, err = t.reply(caller, findOriginal, id, notFound, r)
		return err
	})
	return msg, err
}

// reply posts r in answer to the message findOriginal finds for id.
func (t *tx) reply(caller agcom.Caller, findOriginal, id, notFound string, r agcom.Reply) (agcom.Message, error) {
	orig, err := scanMessage(t.QueryRowContext(t.ctx, findOriginal, caller.Handle, caller.IsAdmin, id))
	if errors.Is(err, sql.ErrNoRows) {
		return agcom.Message{}, agcom.Errorf(agcom.ENOTFOUND, "%s", notFound)
	} else if err != nil {
		return agcom.Message{}, err
	}
	to := []string{orig.FromHandle}
	if caller.Handle == orig.FromHandle {
		to = orig.ToHandles
	}
	var subject string
	if err := t.QueryRowContext(t.ctx, sqlThreadSubject, orig.ThreadID).Scan(&subject); err != nil {
		return agcom.Message{}, err
	}
	if _, err := t.ExecContext(t.ctx, sqlTouchThread, orig.ThreadID, toMicros(t.now)); err != nil {
		return agcom.Message{}, err
	}
	if _, err := t.ExecContext(t.ctx, sqlTouchThreadParticipants, orig.ThreadID, toMicros(t.now)); err != nil {
		return agcom.Message{}, err
	}
	for _, h := range append([]string{caller.Handle}, to...) {
		if _, err := t.ExecContext(t.ctx, sqlInsertParticipant, orig.ThreadID, h); err != nil {
			return agcom.Message{}, err
		}
	}
	msg := agcom.Message{
		ThreadID: orig.ThreadID, FromHandle: caller.Handle, ToHandles: to,
		Subject: subject, Body: r.Body, InReplyTo: orig.ID, Tags: r.Tags,
	}
	if err := t.insertMessage(&msg); err != nil {
		return agcom.Message{}, err
	}
	for _, h := range to {
		if err := t.audit(agcom.EventMessageReply, caller.Handle, h, map[string]any{
			"message_id": msg.ID, "thread_id": msg.ThreadID, "in_reply_to": orig.ID,
		}); err != nil {
			return agcom.Message{}, err
		}
	}
	return msg, nil
}

// openThread creates a thread for the caller and to, and posts m in it.
func (t *tx) openThread(caller agcom.Caller, to []string, m agcom.NewMessage) (agcom.Message, error) {
	threadID := t.newID()
	if _, err := t.ExecContext(t.ctx, sqlInsertThread, threadID, m.Subject, toMicros(t.now), toMicros(t.now)); err != nil {
		return agcom.Message{}, err
	}
	participants := participantsOf(caller.Handle, to)
	for _, h := range participants {
		if _, err := t.ExecContext(t.ctx, sqlInsertParticipant, threadID, h); err != nil {
			return agcom.Message{}, err
		}
	}
	msg := agcom.Message{
		ThreadID: threadID, FromHandle: caller.Handle, ToHandles: to,
		Subject: m.Subject, Body: m.Body, Tags: m.Tags,
	}
	if err := t.insertMessage(&msg); err != nil {
		return agcom.Message{}, err
	}
	if err := t.audit(agcom.EventThreadCreate, caller.Handle, "", map[string]any{
		"thread_id": threadID, "subject": m.Subject, "participant_handles": participants,
	}); err != nil {
		return agcom.Message{}, err
	}
	for _, h := range to {
		if err := t.audit(agcom.EventMessageSend, caller.Handle, h, map[string]any{
			"message_id": msg.ID, "thread_id": threadID, "subject": m.Subject,
		}); err != nil {
			return agcom.Message{}, err
		}
	}
	return msg, nil
}

// insertMessage stores msg and its recipients, filling in its id and time.
func (t *tx) insertMessage(msg *agcom.Message) error {
	msg.ID = t.newID()
	msg.CreatedAt = t.now
	to, err := json.Marshal(msg.ToHandles)
	if err != nil {
		return err
	}
	tags, err := json.Marshal(msg.Tags)
	if err != nil {
		return err
	}
	var inReplyTo any
	if msg.InReplyTo != "" {
		inReplyTo = msg.InReplyTo
	}
	res, err := t.ExecContext(t.ctx, sqlInsertMessage, msg.ID, msg.ThreadID, msg.FromHandle, string(to),
		msg.Subject, msg.Body, inReplyTo, string(tags), toMicros(msg.CreatedAt))
	if err != nil {
		return err
	}
	seq, err := res.LastInsertId()
	if err != nil {
		return err
	}
	for _, h := range msg.ToHandles {
		if _, err := t.ExecContext(t.ctx, sqlInsertRecipient, seq, h); err != nil {
			return err
		}
	}
	return nil
}

// participantsOf returns sender and recipients, de-duplicated and sorted.
func participantsOf(sender string, to []string) []string {
	p := append([]string{sender}, to...)
	slices.Sort(p)
	return slices.Compact(p)
}

// GetMessage returns the message id. Returns ENOTFOUND when it does not
// exist or the caller cannot see its thread.
func (s *Store) GetMessage(ctx context.Context, caller agcom.Caller, id string) (agcom.Message, error) {
	var msg agcom.Message
	err := s.readTx(ctx, func(t *tx) error {
		var err error
		msg, err = scanMessage(t.QueryRowContext(t.ctx, sqlGetVisibleMessage, caller.Handle, caller.IsAdmin, id))
		if errors.Is(err, sql.ErrNoRows) {
			return agcom.Errorf(agcom.ENOTFOUND, "message not found")
		}
		return err
	})
	return msg, err
}

const (
	sqlListMessages = `
		SELECT ` + messageColumns + ` FROM messages m
		WHERE (?2 OR m.thread_id IN (SELECT thread_id FROM thread_participants WHERE handle = ?1))
		ORDER BY m.created_at DESC, m.id DESC LIMIT ?3 OFFSET ?4`
	sqlCountMessages = `
		SELECT count(*) FROM messages m
		WHERE (?2 OR m.thread_id IN (SELECT thread_id FROM thread_participants WHERE handle = ?1))`

	sqlThreadVisible = `SELECT 1 FROM threads t WHERE t.id = ?3 AND ` + visibleThread

	sqlListThreadMessagesAsc = `
		SELECT ` + messageColumns + ` FROM messages m WHERE m.thread_id = ?1
		ORDER BY m.created_at, m.id LIMIT ?2 OFFSET ?3`
	sqlListThreadMessagesDesc = `
		SELECT ` + messageColumns + ` FROM messages m WHERE m.thread_id = ?1
		ORDER BY m.created_at DESC, m.id DESC LIMIT ?2 OFFSET ?3`
	sqlCountThreadMessages = `SELECT count(*) FROM messages WHERE thread_id = ?`
)

// ListMessages returns the messages the caller can see, newest first, or
// those of one thread (newest first too). A thread filter naming a thread
// the caller cannot see, or one that does not exist, matches no messages:
// the contract gives this list no 404.
func (s *Store) ListMessages(ctx context.Context, caller agcom.Caller, f agcom.MessageFilter) (agcom.MessageList, error) {
	page := f.Page.Normalize()
	if f.ThreadID != "" {
		list, err := s.threadMessages(ctx, caller, f.ThreadID, f.Page, sqlListThreadMessagesDesc)
		if agcom.ErrorCode(err) == agcom.ENOTFOUND {
			return agcom.MessageList{Messages: []agcom.Message{}, Pagination: agcom.NewPagination(page, 0, 0)}, nil
		}
		return list, err
	}
	var list agcom.MessageList
	err := s.readTx(ctx, func(t *tx) error {
		var total int
		if err := t.QueryRowContext(t.ctx, sqlCountMessages, caller.Handle, caller.IsAdmin).Scan(&total); err != nil {
			return err
		}
		msgs, err := t.queryMessages(sqlListMessages, caller.Handle, caller.IsAdmin, page.Limit, page.Offset)
		if err != nil {
			return err
		}
		list = agcom.MessageList{Messages: msgs, Pagination: agcom.NewPagination(page, len(msgs), total)}
		return nil
	})
	return list, err
}

// ListThreadMessages returns the messages of the thread id, oldest first.
// Returns ENOTFOUND when the caller cannot see the thread.
func (s *Store) ListThreadMessages(ctx context.Context, caller agcom.Caller, id string, p agcom.Page) (agcom.MessageList, error) {
	return s.threadMessages(ctx, caller, id, p, sqlListThreadMessagesAsc)
}

func (s *Store) threadMessages(ctx context.Context, caller agcom.Caller, id string, p agcom.Page, query string) (agcom.MessageList, error) {
	page := p.Normalize()
	var list agcom.MessageList
	err := s.readTx(ctx, func(t *tx) error {
		if err := t.checkThreadVisible(caller, id); err != nil {
			return err
		}
		var total int
		if err := t.QueryRowContext(t.ctx, sqlCountThreadMessages, id).Scan(&total); err != nil {
			return err
		}
		msgs, err := t.queryMessages(query, id, page.Limit, page.Offset)
		if err != nil {
			return err
		}
		list = agcom.MessageList{Messages: msgs, Pagination: agcom.NewPagination(page, len(msgs), total)}
		return nil
	})
	return list, err
}

// checkThreadVisible returns ENOTFOUND unless the caller can see thread id.
func (t *tx) checkThreadVisible(caller agcom.Caller, id string) error {
	var one int
	err := t.QueryRowContext(t.ctx, sqlThreadVisible, caller.Handle, caller.IsAdmin, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return agcom.Errorf(agcom.ENOTFOUND, "thread not found")
	}
	return err
}

// Search conditions, combined by SearchMessages. ?1 and ?2 are the caller.
const (
	sqlSearchBase = `SELECT ` + messageColumns + ` FROM messages m
		WHERE (?2 OR m.thread_id IN (SELECT thread_id FROM thread_participants WHERE handle = ?1))`
	// The trigram index answers substrings of 3 or more characters.
	sqlSearchFTS = ` AND m.seq IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?3)`
	// Shorter ones are a bounded scan with LIKE, `%` and `_` escaped. LIKE
	// folds only ASCII case, so ?3 is a JSON list of patterns, one for each
	// case variant of the query (see likePatterns).
	sqlSearchLikeSubject = `EXISTS (SELECT 1 FROM json_each(?3) lp WHERE m.subject LIKE lp.value ESCAPE '\')`
	sqlSearchLikeBody    = `EXISTS (SELECT 1 FROM json_each(?3) lp WHERE m.body LIKE lp.value ESCAPE '\')`
	sqlSearchFrom        = ` AND m.from_handle = ?4`
	sqlSearchTo          = ` AND EXISTS (SELECT 1 FROM message_recipients r WHERE r.message_seq = m.seq AND r.handle = ?5)`
	sqlSearchOrder       = ` ORDER BY m.created_at DESC, m.id DESC LIMIT ?6`
)

// SearchMessages returns the visible messages whose subject and/or body
// contain the query, case-insensitively, newest first. Returns EINVALID for
// a bad search.
func (s *Store) SearchMessages(ctx context.Context, caller agcom.Caller, q agcom.MessageSearch) ([]agcom.Message, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	var b strings.Builder
	b.WriteString(sqlSearchBase)
	var pattern string
	if utf8.RuneCountInString(q.Query) >= 3 {
		b.WriteString(sqlSearchFTS)
		pattern = ftsPhrase(q)
	} else {
		var conds []string
		if q.InSubject {
			conds = append(conds, sqlSearchLikeSubject)
		}
		if q.InBody {
			conds = append(conds, sqlSearchLikeBody)
		}
		b.WriteString(" AND (" + strings.Join(conds, " OR ") + ")")
		patterns, err := likePatterns(q.Query)
		if err != nil {
			return nil, err
		}
		pattern = patterns
	}
	if q.FromHandle != "" {
		b.WriteString(sqlSearchFrom)
	}
	if q.ToHandle != "" {
		b.WriteString(sqlSearchTo)
	}
	b.WriteString(sqlSearchOrder)
	var msgs []agcom.Message
	err := s.readTx(ctx, func(t *tx) error {
		var err error
		msgs, err = t.queryMessages(b.String(), caller.Handle, caller.IsAdmin, pattern, q.FromHandle, q.ToHandle, q.Limit)
		return err
	})
	return msgs, err
}

// ftsPhrase turns the query into an FTS5 phrase limited to the searched
// columns; the phrase is quoted, so no character of it is an operator.
func ftsPhrase(q agcom.MessageSearch) string {
	phrase := `"` + strings.ReplaceAll(q.Query, `"`, `""`) + `"`
	switch {
	case q.InSubject && q.InBody:
		return "{subject body} : " + phrase
	case q.InSubject:
		return "subject : " + phrase
	default:
		return "body : " + phrase
	}
}

// likePatterns returns, as a JSON list, a LIKE pattern for every case
// variant of the short query s (Unicode simple case folding), so that
// matching is case-insensitive beyond ASCII. LIKE already folds ASCII, so
// an ASCII letter adds only its non-ASCII variants (such as the Kelvin sign).
func likePatterns(s string) (string, error) {
	variants := []string{""}
	for _, r := range s {
		forms := []rune{r}
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if r >= utf8.RuneSelf || f >= utf8.RuneSelf {
				forms = append(forms, f)
			}
		}
		next := make([]string, 0, len(variants)*len(forms))
		for _, v := range variants {
			for _, f := range forms {
				next = append(next, v+string(f))
			}
		}
		variants = next
	}
	for i, v := range variants {
		variants[i] = "%" + escapeLike(v) + "%"
	}
	b, err := json.Marshal(variants)
	return string(b), err
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func (t *tx) queryMessages(query string, args ...any) ([]agcom.Message, error) {
	rows, err := t.QueryContext(t.ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	msgs := []agcom.Message{}
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, err
		}
		msgs = append(msgs, m)
	}
	return msgs, rows.Err()
}

type scanner interface{ Scan(dest ...any) error }

func scanMessage(row scanner) (agcom.Message, error) {
	var (
		m         agcom.Message
		to, tags  string
		inReplyTo sql.NullString
		created   int64
	)
	if err := row.Scan(&m.ID, &m.ThreadID, &m.FromHandle, &to, &m.Subject, &m.Body, &created, &inReplyTo, &tags); err != nil {
		return m, err
	}
	if err := json.Unmarshal([]byte(to), &m.ToHandles); err != nil {
		return m, err
	}
	if err := json.Unmarshal([]byte(tags), &m.Tags); err != nil {
		return m, err
	}
	m.CreatedAt = fromMicros(created)
	m.InReplyTo = inReplyTo.String
	return m, nil
}
