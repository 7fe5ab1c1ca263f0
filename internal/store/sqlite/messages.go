package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/agcom/agcom/internal/agcom"
)

// visibleThread is a condition on the thread id t.id: the caller (?1 handle,
// ?2 is-admin) takes part in the thread or is an admin.
const visibleThread = `(?2 OR EXISTS (SELECT 1 FROM thread_participants vp WHERE vp.thread_id = t.id AND vp.handle = ?1))`

const messageColumns = `m.id, m.thread_id, m.from_handle, m.to_handles, m.subject, m.body, m.created_at, m.in_reply_to, m.tags, m.attachments`

const (
	sqlInsertThread = `INSERT INTO threads (id, subject, created_at, last_activity_at, participants) VALUES (?, ?, ?, ?, ?)`

	sqlInsertParticipant = `
		INSERT INTO thread_participants (thread_id, handle, last_activity_at, archived)
		SELECT t.id, ?2, t.last_activity_at, t.archived FROM threads t WHERE t.id = ?1
		ON CONFLICT (thread_id, handle) DO NOTHING`

	sqlInsertMessage = `
		INSERT INTO messages (id, thread_id, from_handle, to_handles, subject, body, in_reply_to, tags, created_at, attachments)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

	sqlInsertRecipient = `INSERT INTO message_recipients (message_seq, handle) VALUES (?, ?) ON CONFLICT DO NOTHING`

	// A new participant's mailbox gets the thread's earlier messages.
	sqlBackfillMailbox = `
		INSERT INTO agent_messages (handle, message_seq)
		SELECT ?2, seq FROM messages WHERE thread_id = ?1
		ON CONFLICT DO NOTHING`
	// A new message goes into every participant's mailbox.
	sqlDeliverMessage = `
		INSERT INTO agent_messages (handle, message_seq)
		SELECT handle, ?2 FROM thread_participants WHERE thread_id = ?1`

	sqlCountUp  = `UPDATE counters SET value = value + 1 WHERE name = ?`
	sqlCountAdd = `UPDATE counters SET value = value + ?2 WHERE name = ?1`

	sqlTouchThread             = `UPDATE threads SET last_activity_at = ?2 WHERE id = ?1`
	sqlTouchThreadParticipants = `UPDATE thread_participants SET last_activity_at = ?2 WHERE thread_id = ?1`

	sqlGetVisibleMessage = `
		SELECT ` + messageColumns + ` FROM messages m JOIN threads t ON t.id = m.thread_id
		WHERE m.id = ?3 AND ` + visibleThread

	sqlLatestVisibleMessage = `
		SELECT ` + messageColumns + ` FROM messages m JOIN threads t ON t.id = m.thread_id
		WHERE t.id = ?3 AND ` + visibleThread + `
		ORDER BY m.seq DESC LIMIT 1`

	sqlThreadSubject = `SELECT subject FROM threads WHERE id = ?`
)

// Now returns the transaction's time.
func (t *tx) Now() time.Time { return t.now }

// VisibleMessage returns the message id if the caller may see it.
func (t *tx) VisibleMessage(caller agcom.Caller, id string) (agcom.Message, error) {
	msg, err := scanMessage(t.queryRow(sqlGetVisibleMessage, caller.Handle, caller.IsAdmin, id))
	if errors.Is(err, sql.ErrNoRows) {
		return msg, agcom.Errorf(agcom.ENOTFOUND, "message not found")
	}
	return msg, err
}

// LatestVisibleMessage returns the latest message of the thread if the
// caller may see it.
func (t *tx) LatestVisibleMessage(caller agcom.Caller, threadID string) (agcom.Message, error) {
	msg, err := scanMessage(t.queryRow(sqlLatestVisibleMessage, caller.Handle, caller.IsAdmin, threadID))
	if errors.Is(err, sql.ErrNoRows) {
		return msg, agcom.Errorf(agcom.ENOTFOUND, "thread not found")
	}
	return msg, err
}

// LockThread returns the thread's subject: writers take turns already, one
// writer holding the database.
func (t *tx) LockThread(threadID string) (string, error) {
	var subject string
	err := t.queryRow(sqlThreadSubject, threadID).Scan(&subject)
	if errors.Is(err, sql.ErrNoRows) {
		return "", agcom.Errorf(agcom.ENOTFOUND, "thread not found")
	}
	return subject, err
}

// CreateThread stores a new thread with its participants.
func (t *tx) CreateThread(subject string, participants []string) (string, error) {
	threadID := t.newID()
	partsJSON, err := json.Marshal(participants)
	if err != nil {
		return "", err
	}
	if _, err := t.exec(sqlInsertThread, threadID, subject, toMicros(t.now), toMicros(t.now), string(partsJSON)); err != nil {
		return "", err
	}
	if _, err := t.exec(sqlCountUp, "threads"); err != nil {
		return "", err
	}
	for _, h := range participants {
		if _, err := t.exec(sqlInsertParticipant, threadID, h); err != nil {
			return "", err
		}
	}
	return threadID, nil
}

// TouchThread sets the thread's last activity, for every participant too.
func (t *tx) TouchThread(threadID string) error {
	if _, err := t.exec(sqlTouchThread, threadID, toMicros(t.now)); err != nil {
		return err
	}
	_, err := t.exec(sqlTouchThreadParticipants, threadID, toMicros(t.now))
	return err
}

// InsertMessage stores msg and its recipients, filling in its id and time.
func (t *tx) InsertMessage(msg *agcom.Message) error {
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
	atts, err := encodeAttachments(msg.Attachments)
	if err != nil {
		return err
	}
	res, err := t.exec(sqlInsertMessage, msg.ID, msg.ThreadID, msg.FromHandle, string(to),
		msg.Subject, msg.Body, inReplyTo, string(tags), toMicros(msg.CreatedAt), atts)
	if err != nil {
		return err
	}
	seq, err := res.LastInsertId()
	if err != nil {
		return err
	}
	for _, h := range msg.ToHandles {
		if _, err := t.exec(sqlInsertRecipient, seq, h); err != nil {
			return err
		}
	}
	if _, err := t.exec(sqlDeliverMessage, msg.ThreadID, seq); err != nil {
		return err
	}
	if _, err = t.exec(sqlCountUp, "messages"); err != nil {
		return err
	}
	if err := t.countUnread(*msg); err != nil {
		return err
	}
	return t.emitMessageCreated(*msg, seq)
}

// AddParticipant adds handle to the thread, if it is not there yet, with
// the thread's earlier messages in its mailbox.
func (t *tx) AddParticipant(threadID, handle string) error {
	res, err := t.exec(sqlInsertParticipant, threadID, handle)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return err
	}
	if _, err := t.exec(sqlRefreshParticipants, threadID); err != nil {
		return err
	}
	if _, err = t.exec(sqlBackfillMailbox, threadID, handle); err != nil {
		return err
	}
	return t.emitThreadUpdated(threadID)
}

// GetMessage returns the message id. Returns ENOTFOUND when it does not
// exist or the caller cannot see its thread.
func (s *Store) GetMessage(ctx context.Context, caller agcom.Caller, id string) (agcom.Message, error) {
	// One statement reads one snapshot: no transaction needed.
	msg, err := scanMessage(s.readOne(ctx, sqlGetVisibleMessage, caller.Handle, caller.IsAdmin, id))
	if errors.Is(err, sql.ErrNoRows) {
		return msg, agcom.Errorf(agcom.ENOTFOUND, "message not found")
	}
	return msg, translate(err)
}

const (
	// Lists walk storage order (seq), which is (created_at, id) order: the
	// store's clock never runs backwards and ids increase. An agent walks
	// its mailbox; an admin walks every message.
	sqlListMessages = `
		SELECT ` + messageColumns + ` FROM agent_messages am JOIN messages m ON m.seq = am.message_seq
		WHERE am.handle = ?1 ORDER BY am.message_seq DESC LIMIT ?2 OFFSET ?3`
	sqlCountMessages     = `SELECT count(*) FROM agent_messages WHERE handle = ?1`
	sqlListMessagesAdmin = `
		SELECT ` + messageColumns + ` FROM messages m
		ORDER BY m.seq DESC LIMIT ?2 OFFSET ?3`
	sqlCountMessagesAdmin = `SELECT value FROM counters WHERE name = 'messages'`

	sqlThreadVisible = `SELECT 1 FROM threads t WHERE t.id = ?3 AND ` + visibleThread

	sqlListThreadMessagesAsc = `
		SELECT ` + messageColumns + ` FROM messages m WHERE m.thread_id = ?1
		ORDER BY m.seq LIMIT ?2 OFFSET ?3`
	sqlListThreadMessagesDesc = `
		SELECT ` + messageColumns + ` FROM messages m WHERE m.thread_id = ?1
		ORDER BY m.seq DESC LIMIT ?2 OFFSET ?3`
	sqlCountThreadMessages = `SELECT count(*) FROM messages WHERE thread_id = ?`
)

// ListMessages returns the messages the caller can see (agcom.ListMessages).
func (s *Store) ListMessages(ctx context.Context, caller agcom.Caller, f agcom.MessageFilter) (agcom.MessageList, error) {
	return agcom.ListMessages(ctx, s, caller, f)
}

// ListThreadMessages returns the messages of the thread id, oldest first.
// Returns ENOTFOUND when the caller cannot see the thread.
func (s *Store) ListThreadMessages(ctx context.Context, caller agcom.Caller, id string, p agcom.Page) (agcom.MessageList, error) {
	return agcom.ListThreadMessages(ctx, s, caller, id, p)
}

// CountMessages counts the caller's mailbox, or every message for an
// admin (a counter row kept by the writes).
func (t *tx) CountMessages(caller agcom.Caller) (int, error) {
	var total int
	var err error
	if caller.IsAdmin {
		err = t.queryRow(sqlCountMessagesAdmin).Scan(&total)
	} else {
		err = t.queryRow(sqlCountMessages, caller.Handle).Scan(&total)
	}
	return total, err
}

// Messages returns a page of the caller's mailbox, or of every message for
// an admin.
func (t *tx) Messages(caller agcom.Caller, p agcom.Page) ([]agcom.Message, error) {
	if caller.IsAdmin {
		return t.queryMessages(sqlListMessagesAdmin, caller.Handle, p.Limit, p.Offset)
	}
	return t.queryMessages(sqlListMessages, caller.Handle, p.Limit, p.Offset)
}

// CountThreadMessages returns how many messages the thread holds.
func (t *tx) CountThreadMessages(threadID string) (int, error) {
	var total int
	err := t.queryRow(sqlCountThreadMessages, threadID).Scan(&total)
	return total, err
}

// ThreadMessages returns a page of the thread's messages.
func (t *tx) ThreadMessages(threadID string, newestFirst bool, p agcom.Page) ([]agcom.Message, error) {
	q := sqlListThreadMessagesAsc
	if newestFirst {
		q = sqlListThreadMessagesDesc
	}
	return t.queryMessages(q, threadID, p.Limit, p.Offset)
}

// ThreadVisible returns ENOTFOUND unless the caller can see thread id.
func (t *tx) ThreadVisible(caller agcom.Caller, id string) error {
	var one int
	err := t.queryRow(sqlThreadVisible, caller.Handle, caller.IsAdmin, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return agcom.Errorf(agcom.ENOTFOUND, "thread not found")
	}
	return err
}

// Search. Candidates stream newest first and are matched in Go, so every
// path has the same semantics (agcom.Matcher: case-insensitive substring,
// no wildcards). An agent walks its own mailbox, so a search costs at most
// what it can see; an admin, or an agent with a very large mailbox, walks
// the trigram index, which holds every substring of 3 or more characters.
// Shorter queries walk at most the newest agcom.ShortQueryScan candidates.
const (
	searchColumns = `m.seq, m.subject, m.body`

	sqlSearchMailbox = `SELECT ` + searchColumns + ` FROM agent_messages am JOIN messages m ON m.seq = am.message_seq
		WHERE am.handle = ?1`
	sqlSearchMailboxOrder = ` ORDER BY am.message_seq DESC`

	sqlSearchIndex = `SELECT ` + searchColumns + ` FROM messages_fts JOIN messages m ON m.seq = messages_fts.rowid
		WHERE messages_fts MATCH ?2`
	sqlSearchIndexVisible = ` AND EXISTS (SELECT 1 FROM agent_messages am WHERE am.handle = ?1 AND am.message_seq = m.seq)`
	sqlSearchIndexOrder   = ` ORDER BY messages_fts.rowid DESC`

	sqlSearchAll      = `SELECT ` + searchColumns + ` FROM messages m WHERE 1`
	sqlSearchAllOrder = ` ORDER BY m.seq DESC`

	sqlSearchFrom = ` AND m.from_handle = ?3`
	sqlSearchTo   = ` AND EXISTS (SELECT 1 FROM message_recipients r WHERE r.message_seq = m.seq AND r.handle = ?4)`
	sqlSearchCap  = ` LIMIT ?5`

	sqlMessagesBySeq = `SELECT ` + messageColumns + ` FROM messages m WHERE m.seq IN (SELECT value FROM json_each(?)) ORDER BY m.seq DESC`
)

// mailboxScanLimit is the mailbox size above which an agent's search walks
// the trigram index instead of its mailbox.
const mailboxScanLimit = 20_000

// SearchMessages returns the visible messages that contain the query
// (agcom.SearchMessages).
func (s *Store) SearchMessages(ctx context.Context, caller agcom.Caller, q agcom.MessageSearch) (agcom.MessageSearchResult, error) {
	return agcom.SearchMessages(ctx, s, caller, q)
}

// SearchCandidates streams the caller's candidates for q in one query
// (see searchQuery), a short query's capped at agcom.ShortQueryScan.
func (t *tx) SearchCandidates(caller agcom.Caller, q agcom.MessageSearch, short bool) iter.Seq2[agcom.SearchCandidate, error] {
	return func(yield func(agcom.SearchCandidate, error) bool) {
		query, err := t.searchQuery(caller, q, !short)
		if err != nil {
			yield(agcom.SearchCandidate{}, err)
			return
		}
		scanCap := -1
		if short {
			scanCap = agcom.ShortQueryScan
		}
		rows, err := t.query(query, caller.Handle, ftsQuery(q.Query), q.FromHandle, q.ToHandle, scanCap)
		if err != nil {
			yield(agcom.SearchCandidate{}, err)
			return
		}
		defer rows.Close()
		for rows.Next() {
			var c agcom.SearchCandidate
			if err := rows.Scan(&c.Seq, &c.Subject, &c.Body); err != nil {
				yield(c, err)
				return
			}
			if !yield(c, nil) {
				return
			}
		}
		if err := rows.Close(); err != nil {
			yield(agcom.SearchCandidate{}, err)
			return
		}
		if err := rows.Err(); err != nil {
			yield(agcom.SearchCandidate{}, err)
		}
	}
}

// MessagesBySeq returns the messages seqs, newest first.
func (t *tx) MessagesBySeq(seqs []int64) ([]agcom.Message, error) {
	ids, err := json.Marshal(seqs)
	if err != nil {
		return nil, err
	}
	return t.queryMessages(sqlMessagesBySeq, string(ids))
}

// searchQuery chooses how to walk the caller's candidates.
func (t *tx) searchQuery(caller agcom.Caller, q agcom.MessageSearch, long bool) (string, error) {
	var b strings.Builder
	order := ""
	switch {
	case long && caller.IsAdmin:
		b.WriteString(sqlSearchIndex)
		order = sqlSearchIndexOrder
	case caller.IsAdmin:
		b.WriteString(sqlSearchAll)
		order = sqlSearchAllOrder
	default:
		mailbox := 0
		if long {
			if err := t.queryRow(sqlCountMessages, caller.Handle).Scan(&mailbox); err != nil {
				return "", err
			}
		}
		if mailbox > mailboxScanLimit {
			b.WriteString(sqlSearchIndex + sqlSearchIndexVisible)
			order = sqlSearchIndexOrder
		} else {
			b.WriteString(sqlSearchMailbox)
			order = sqlSearchMailboxOrder
		}
	}
	if q.FromHandle != "" {
		b.WriteString(sqlSearchFrom)
	}
	if q.ToHandle != "" {
		b.WriteString(sqlSearchTo)
	}
	b.WriteString(order)
	b.WriteString(sqlSearchCap)
	return b.String(), nil
}

// maxTrigrams bounds the terms of an index query; a long query's other
// trigrams are checked by the matcher.
const maxTrigrams = 32

// ftsQuery asks the trigram index for the rows that contain every trigram
// of the query (each quoted, so no character is an operator). The index
// (detail=none) keeps no positions, so this only proposes candidates, and
// SearchMessages confirms each one against the searched columns.
func ftsQuery(query string) string {
	r := []rune(query)
	var grams []string
	for i := 0; i+3 <= len(r); i++ {
		g := `"` + strings.ReplaceAll(string(r[i:i+3]), `"`, `""`) + `"`
		if !slices.Contains(grams, g) {
			grams = append(grams, g)
		}
	}
	if len(grams) > maxTrigrams {
		picked := make([]string, 0, maxTrigrams)
		for i := range maxTrigrams {
			picked = append(picked, grams[i*len(grams)/maxTrigrams])
		}
		grams = picked
	}
	return strings.Join(grams, " AND ")
}

func (t *tx) queryMessages(query string, args ...any) ([]agcom.Message, error) {
	return queryList(t, func(row scanner) (agcom.Message, error) { return scanMessage(row) }, query, args...)
}

type scanner interface{ Scan(dest ...any) error }

// queryList runs query and scans each of its rows with scan. The list is
// never nil, so that an empty page encodes as [].
func queryList[T any](t *tx, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := t.query(query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	list := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		list = append(list, v)
	}
	return list, rows.Err()
}

// scanMessage scans messageColumns, then any extra destinations.
func scanMessage(row scanner, extra ...any) (agcom.Message, error) {
	var (
		m         agcom.Message
		to, tags  string
		inReplyTo sql.NullString
		created   int64
		atts      sql.NullString
	)
	dest := append([]any{&m.ID, &m.ThreadID, &m.FromHandle, &to, &m.Subject, &m.Body, &created, &inReplyTo, &tags, &atts}, extra...)
	if err := row.Scan(dest...); err != nil {
		return m, err
	}
	if err := decodeStrings(to, &m.ToHandles); err != nil {
		return m, err
	}
	if err := decodeStrings(tags, &m.Tags); err != nil {
		return m, err
	}
	m.CreatedAt = fromMicros(created)
	m.InReplyTo = inReplyTo.String
	if atts.Valid {
		var err error
		if m.Attachments, err = decodeAttachments(atts); err != nil {
			return m, err
		}
	}
	return m, nil
}
