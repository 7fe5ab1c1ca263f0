package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"iter"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/agcom/agcom/internal/agcom"
)

// visibleThread is a condition on the thread id t.id: the caller ($1
// handle, $2 is-admin) takes part in the thread or is an admin.
const visibleThread = `($2::boolean OR EXISTS (SELECT 1 FROM thread_participants vp WHERE vp.thread_id = t.id AND vp.handle = $1))`

const messageColumns = `m.id, m.thread_id, m.from_handle, m.to_handles, m.subject, m.body, m.created_at, m.in_reply_to, m.tags, m.attachments`

const (
	// A new thread and its participants, in one statement: every round
	// trip of a send is time its transaction holds its locks.
	sqlInsertThread = `
		WITH t AS (
			INSERT INTO threads (id, subject, created_at, last_activity_at, participants) VALUES ($1, $2, $3, $3, $4)
			RETURNING id)
		INSERT INTO thread_participants (thread_id, handle, last_activity_at, archived)
		SELECT t.id, h, $3, false FROM t, unnest($5::text[]) AS h`

	sqlInsertParticipant = `
		INSERT INTO thread_participants (thread_id, handle, last_activity_at, archived)
		SELECT t.id, $2, t.last_activity_at, t.archived FROM threads t WHERE t.id = $1
		ON CONFLICT (thread_id, handle) DO NOTHING`

	// A message, its recipients ($10), every participant's mailbox row and
	// the recipients' unread counts, in one statement. Its parts see the
	// thread's participants as they were before it.
	sqlInsertMessage = `
		WITH m AS (
			INSERT INTO messages (id, thread_id, from_handle, to_handles, subject, body, in_reply_to, tags, created_at, attachments)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $11) RETURNING seq),
		r AS (
			INSERT INTO message_recipients (message_seq, handle, created_at)
			SELECT m.seq, h, $9 FROM m, unnest($10::text[]) AS h ON CONFLICT DO NOTHING),
		d AS (
			INSERT INTO agent_messages (handle, message_seq, created_at)
			SELECT p.handle, m.seq, $9 FROM m, thread_participants p WHERE p.thread_id = $2),
		u AS (
			UPDATE thread_participants SET unread = unread + 1 WHERE thread_id = $2 AND handle = ANY($10))
		SELECT seq FROM m`

	// A new participant's mailbox gets the thread's earlier messages.
	sqlBackfillMailbox = `
		INSERT INTO agent_messages (handle, message_seq, created_at)
		SELECT $2, seq, created_at FROM messages WHERE thread_id = $1
		ON CONFLICT DO NOTHING`

	sqlTouchThread             = `UPDATE threads SET last_activity_at = $2 WHERE id = $1`
	sqlTouchThreadParticipants = `UPDATE thread_participants SET last_activity_at = $2 WHERE thread_id = $1`

	sqlGetVisibleMessage = `
		SELECT ` + messageColumns + ` FROM messages m JOIN threads t ON t.id = m.thread_id
		WHERE m.id = $3 AND ` + visibleThread

	sqlLatestVisibleMessage = `
		SELECT ` + messageColumns + ` FROM messages m JOIN threads t ON t.id = m.thread_id
		WHERE t.id = $3 AND ` + visibleThread + `
		ORDER BY m.created_at DESC, m.seq DESC LIMIT 1`

	// Replies to one thread take turns on its row, so that each sees the
	// participants the one before it added.
	sqlLockThread = `SELECT subject FROM threads WHERE id = $1 FOR UPDATE`
)

// Now returns the transaction's time.
func (t *tx) Now() time.Time { return t.now }

// VisibleMessage returns the message id if the caller may see it.
func (t *tx) VisibleMessage(caller agcom.Caller, id string) (agcom.Message, error) {
	msg, err := scanMessage(t.queryRow(sqlGetVisibleMessage, caller.Handle, caller.IsAdmin, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return msg, agcom.Errorf(agcom.ENOTFOUND, "message not found")
	}
	return msg, err
}

// LatestVisibleMessage returns the latest message of the thread if the
// caller may see it.
func (t *tx) LatestVisibleMessage(caller agcom.Caller, threadID string) (agcom.Message, error) {
	msg, err := scanMessage(t.queryRow(sqlLatestVisibleMessage, caller.Handle, caller.IsAdmin, threadID))
	if errors.Is(err, pgx.ErrNoRows) {
		return msg, agcom.Errorf(agcom.ENOTFOUND, "thread not found")
	}
	return msg, err
}

// LockThread locks the thread's row until the transaction ends, so that
// each reply sees the participants the one before it added.
func (t *tx) LockThread(threadID string) (string, error) {
	var subject string
	err := t.queryRow(sqlLockThread, threadID).Scan(&subject)
	if errors.Is(err, pgx.ErrNoRows) {
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
	if _, err := t.exec(sqlInsertThread, threadID, subject, toMicros(t.now), string(partsJSON), participants); err != nil {
		return "", err
	}
	t.countUp("threads", 1)
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
	atts, err := encodeAttachments(msg.Attachments)
	if err != nil {
		return err
	}
	now := toMicros(msg.CreatedAt)
	var seq int64
	if err := t.queryRow(sqlInsertMessage, msg.ID, msg.ThreadID, msg.FromHandle, string(to),
		msg.Subject, msg.Body, nullString(msg.InReplyTo), string(tags), now, msg.ToHandles, atts).Scan(&seq); err != nil {
		return err
	}
	t.countUp("messages", 1)
	t.emitToParticipants(msg.ThreadID, agcom.EventMessageCreated, &seq)
	return nil
}

// AddParticipant adds handle to the thread, if it is not there yet, with
// the thread's earlier messages in its mailbox.
func (t *tx) AddParticipant(threadID, handle string) error {
	tag, err := t.exec(sqlInsertParticipant, threadID, handle)
	if err != nil || tag.RowsAffected() == 0 {
		return err
	}
	if _, err := t.exec(sqlRefreshParticipants, threadID); err != nil {
		return err
	}
	if _, err = t.exec(sqlBackfillMailbox, threadID, handle); err != nil {
		return err
	}
	t.emitToParticipants(threadID, agcom.EventThreadUpdated, nil)
	return nil
}

// GetMessage returns the message id. Returns ENOTFOUND when it does not
// exist or the caller cannot see its thread.
func (s *Store) GetMessage(ctx context.Context, caller agcom.Caller, id string) (agcom.Message, error) {
	var msg agcom.Message
	err := s.readTx(ctx, func(t *tx) error {
		var err error
		msg, err = scanMessage(t.queryRow(sqlGetVisibleMessage, caller.Handle, caller.IsAdmin, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return agcom.Errorf(agcom.ENOTFOUND, "message not found")
		}
		return err
	})
	return msg, err
}

const (
	// An agent walks its mailbox; an admin walks every message.
	sqlListMessages = `
		SELECT ` + messageColumns + ` FROM agent_messages am JOIN messages m ON m.seq = am.message_seq
		WHERE am.handle = $1 ORDER BY am.created_at DESC, am.message_seq DESC LIMIT $2 OFFSET $3`
	sqlCountMessages     = `SELECT count(*) FROM agent_messages WHERE handle = $1`
	sqlListMessagesAdmin = `
		SELECT ` + messageColumns + ` FROM messages m
		ORDER BY m.created_at DESC, m.seq DESC LIMIT $1 OFFSET $2`

	sqlThreadVisible = `SELECT 1 FROM threads t WHERE t.id = $3 AND ` + visibleThread

	sqlListThreadMessagesAsc = `
		SELECT ` + messageColumns + ` FROM messages m WHERE m.thread_id = $1
		ORDER BY m.created_at, m.seq LIMIT $2 OFFSET $3`
	sqlListThreadMessagesDesc = `
		SELECT ` + messageColumns + ` FROM messages m WHERE m.thread_id = $1
		ORDER BY m.created_at DESC, m.seq DESC LIMIT $2 OFFSET $3`
	sqlCountThreadMessages = `SELECT count(*) FROM messages WHERE thread_id = $1`
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
	if caller.IsAdmin {
		return t.counter("messages")
	}
	var total int
	err := t.queryRow(sqlCountMessages, caller.Handle).Scan(&total)
	return total, err
}

// Messages returns a page of the caller's mailbox, or of every message for
// an admin.
func (t *tx) Messages(caller agcom.Caller, p agcom.Page) ([]agcom.Message, error) {
	if caller.IsAdmin {
		return t.queryMessages(sqlListMessagesAdmin, p.Limit, p.Offset)
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
	if errors.Is(err, pgx.ErrNoRows) {
		return agcom.Errorf(agcom.ENOTFOUND, "thread not found")
	}
	return err
}

// Search. Candidates are walked newest first, in pages taken after the
// last one read (by created_at, then seq), and every one that ILIKE
// accepts is confirmed in Go (agcom.Matcher: case-insensitive substring,
// no wildcards), so both stores have the same semantics. An agent walks
// its own mailbox; an admin walks every message, or, for a query of 3 or
// more characters, the messages the trigram indexes find with ILIKE. A
// walk hands back every candidate with its size (and its text when ILIKE
// accepts it), so that the search counts what the database read against
// the store's limit and stops there; an indexed search counts what the
// index found. A shorter query looks at the newest agcom.ShortQueryScan
// candidates at most.
const (
	// The mailbox is walked newest first on its index (its own columns
	// order the walk), and each message fetched by its key: OFFSET 0
	// keeps the planner from turning this into a scan of every message
	// with the pattern (it underrates ILIKE's cost).
	sqlSearchMailbox = `SELECT am.message_seq AS seq, m.subject, m.body, am.created_at FROM agent_messages am
		CROSS JOIN LATERAL (SELECT * FROM messages WHERE seq = am.message_seq OFFSET 0) m
		WHERE am.handle = $1`

	sqlSearchAll = `SELECT m.seq, m.subject, m.body, m.created_at FROM messages m WHERE true`

	// A page of candidates ({cands}) newest first after a key ({after}):
	// in a walk each comes with its size, and with its text when ILIKE
	// ({hit}) accepts it; an indexed search asks only for those ILIKE
	// accepts.
	sqlSearchWalk = `SELECT h.seq, h.created_at, h.size, CASE WHEN h.hit THEN h.subject END, CASE WHEN h.hit THEN h.body END
		FROM (SELECT c.seq, c.created_at, octet_length(c.subject) + octet_length(c.body) AS size, {hit} AS hit, c.subject, c.body
			FROM ({cands}) c WHERE {after} ORDER BY c.created_at DESC, c.seq DESC LIMIT {limit}) h`
	sqlSearchIndexed = `SELECT c.seq, c.created_at, octet_length(c.subject) + octet_length(c.body), c.subject, c.body
		FROM ({cands}) c WHERE {hit} AND {after} ORDER BY c.created_at DESC, c.seq DESC LIMIT {limit}`

	sqlMessagesBySeq = `SELECT ` + messageColumns + ` FROM messages m WHERE m.seq = ANY($1)
		ORDER BY m.created_at DESC, m.seq DESC`
)

// maxSearchPage bounds the candidates of one page of a search's walk, and
// so what the database reads past the scan limit.
const maxSearchPage = 1024

// SearchMessages returns the visible messages that contain the query
// (agcom.SearchMessages).
func (s *Store) SearchMessages(ctx context.Context, caller agcom.Caller, q agcom.MessageSearch) (agcom.MessageSearchResult, error) {
	return agcom.SearchMessages(ctx, s, caller, q)
}

// SearchCandidates walks the caller's candidates for q in pages, each
// twice the one before up to maxSearchPage, so that a search that stops
// early has the database read little past it. An admin's query that is
// not short asks the trigram indexes.
func (t *tx) SearchCandidates(caller agcom.Caller, q agcom.MessageSearch, short bool) iter.Seq2[agcom.SearchCandidate, error] {
	return func(yield func(agcom.SearchCandidate, error) bool) {
		query, args := searchQuery(caller, q, caller.IsAdmin && !short)
		// The first page starts after the newest possible key.
		afterCreated, afterSeq := int64(math.MaxInt64), int64(0)
		for page := 2 * q.Limit; ; page = min(2*page, maxSearchPage) {
			rows, err := t.query(query, append(args, afterCreated, afterSeq, page)...)
			if err != nil {
				yield(agcom.SearchCandidate{}, err)
				return
			}
			n := 0
			for rows.Next() {
				var (
					c             agcom.SearchCandidate
					subject, body *string
				)
				if err := rows.Scan(&c.Seq, &afterCreated, &c.Size, &subject, &body); err != nil {
					rows.Close()
					yield(c, err)
					return
				}
				afterSeq = c.Seq
				n++
				if subject == nil || body == nil {
					c.Rejected = true
				} else {
					c.Subject, c.Body = *subject, *body
				}
				if !yield(c, nil) {
					rows.Close()
					return
				}
			}
			if err := rows.Err(); err != nil {
				yield(agcom.SearchCandidate{}, err)
				return
			}
			if n < page {
				return // no more candidates
			}
		}
	}
}

// MessagesBySeq returns the messages seqs, newest first.
func (t *tx) MessagesBySeq(seqs []int64) ([]agcom.Message, error) {
	return t.queryMessages(sqlMessagesBySeq, seqs)
}

// searchQuery builds the query for a page of the caller's candidates and
// its arguments; the page's key (created_at, seq) and size are the last
// three, added by the caller. indexed asks the trigram indexes for the
// candidates instead of walking them.
func searchQuery(caller agcom.Caller, q agcom.MessageSearch, indexed bool) (string, []any) {
	var (
		b    strings.Builder
		args []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if caller.IsAdmin {
		b.WriteString(sqlSearchAll)
	} else {
		args = append(args, caller.Handle)
		b.WriteString(sqlSearchMailbox)
	}
	if q.FromHandle != "" {
		b.WriteString(" AND m.from_handle = " + arg(q.FromHandle))
	}
	if q.ToHandle != "" {
		b.WriteString(" AND EXISTS (SELECT 1 FROM message_recipients r WHERE r.message_seq = m.seq AND r.handle = " + arg(q.ToHandle) + ")")
	}
	pattern := arg(likePattern(q.Query))
	var fields []string
	if q.InSubject {
		fields = append(fields, "c.subject ILIKE "+pattern)
	}
	if q.InBody {
		fields = append(fields, "c.body ILIKE "+pattern)
	}
	if len(fields) == 0 {
		fields = append(fields, "false")
	}
	n := len(args)
	query := sqlSearchWalk
	if indexed {
		query = sqlSearchIndexed
	}
	return strings.NewReplacer(
		"{cands}", b.String(),
		"{hit}", "("+strings.Join(fields, " OR ")+")",
		"{after}", "(c.created_at, c.seq) < ($"+strconv.Itoa(n+1)+", $"+strconv.Itoa(n+2)+")",
		"{limit}", "$"+strconv.Itoa(n+3),
	).Replace(query), args
}

// likePattern is an ILIKE pattern for the rows that contain query,
// case-insensitively: every row agcom.Matcher accepts, and a few it then
// rejects. ILIKE folds case with the database's LC_CTYPE, which may not
// equate every pair Go's simple folding does (σ and ς, s and ſ, k and the
// Kelvin sign, letters newer than the C library), so a cased letter
// outside ASCII, and s and k, match any one character (_); the Matcher
// checks them. Every other character is literal, % and _ included (the
// default escape character is the backslash).
func likePattern(query string) string {
	var b strings.Builder
	b.WriteByte('%')
	for _, r := range query {
		switch {
		case r == '\\' || r == '%' || r == '_':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == 's' || r == 'S' || r == 'k' || r == 'K',
			r >= utf8.RuneSelf && unicode.SimpleFold(r) != r:
			b.WriteByte('_')
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('%')
	return b.String()
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
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (T, error) { return scan(row) })
}

// scanMessage scans messageColumns, then any extra destinations.
func scanMessage(row scanner, extra ...any) (agcom.Message, error) {
	var (
		m         agcom.Message
		to, tags  string
		inReplyTo *string
		created   int64
		atts      *string
	)
	dest := append([]any{&m.ID, &m.ThreadID, &m.FromHandle, &to, &m.Subject, &m.Body, &created, &inReplyTo, &tags, &atts}, extra...)
	if err := row.Scan(dest...); err != nil {
		return m, err
	}
	if err := json.Unmarshal([]byte(to), &m.ToHandles); err != nil {
		return m, err
	}
	if err := json.Unmarshal([]byte(tags), &m.Tags); err != nil {
		return m, err
	}
	m.CreatedAt = fromMicros(created)
	if inReplyTo != nil {
		m.InReplyTo = *inReplyTo
	}
	if atts != nil {
		var err error
		if m.Attachments, err = decodeAttachments(*atts); err != nil {
			return m, err
		}
	}
	return m, nil
}
