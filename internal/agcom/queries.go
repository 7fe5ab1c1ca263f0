package agcom

import (
	"context"
	"iter"
)

// Reader runs the read use cases' transactions; each store is one.
type Reader interface {
	// Read runs fn as one read-only transaction that sees one snapshot.
	Read(ctx context.Context, fn func(ReadTx) error) error
}

// ReadTx is what the read use cases ask inside one read transaction. A
// page argument is normalized; every list it returns is non-nil.
type ReadTx interface {
	// ThreadVisible returns ENOTFOUND unless the caller can see the
	// thread.
	ThreadVisible(caller Caller, threadID string) error
	// CountMessages returns how many messages the caller can see.
	CountMessages(caller Caller) (int, error)
	// Messages returns a page of the messages the caller can see, newest
	// first.
	Messages(caller Caller, p Page) ([]Message, error)
	// CountThreadMessages returns how many messages the thread holds.
	CountThreadMessages(threadID string) (int, error)
	// ThreadMessages returns a page of the thread's messages, oldest
	// first or newest first.
	ThreadMessages(threadID string, newestFirst bool, p Page) ([]Message, error)
	// ThreadMetadata returns every metadata key of the thread.
	ThreadMetadata(threadID string) (map[string]string, error)
	// ThreadMetadataValue returns the value of key; ENOTFOUND when it is
	// not set.
	ThreadMetadataValue(threadID, key string) (string, error)
	// CountAgents returns how many agents are registered.
	CountAgents() (int, error)
	// Agents returns a page of the registered agents by handle.
	Agents(p Page) ([]Agent, error)
	// CountThreads returns how many of the threads the caller sees
	// (every thread for an admin) m keeps.
	CountThreads(caller Caller, m ThreadMatch) (int, error)
	// Threads returns a page of those threads, newest activity first.
	Threads(caller Caller, m ThreadMatch, p Page) ([]Thread, error)
	// CountContacts returns how many address book entries m selects.
	CountContacts(m ContactMatch) (int, error)
	// Contacts returns a page of the entries m selects, by handle.
	Contacts(m ContactMatch, p Page) ([]Contact, error)
	// Limits returns the limits the store enforces.
	Limits() Limits
	// SearchCandidates yields the messages the caller can see that q
	// may match (its from and to filters applied), newest first, until
	// the loop over it stops, after ShortQueryScan at most when the
	// query is short (ShortQuery). It may leave out messages it knows do
	// not contain the query, or yield them Rejected.
	SearchCandidates(caller Caller, q MessageSearch, short bool) iter.Seq2[SearchCandidate, error]
	// MessagesBySeq returns the messages seqs (SearchCandidate.Seq),
	// newest first.
	MessagesBySeq(seqs []int64) ([]Message, error)
	// CountInbox returns how many messages addressed to the caller f
	// keeps.
	CountInbox(caller Caller, f InboxFilter) (int, error)
	// Inbox returns a page of them, newest first, with their read state.
	Inbox(caller Caller, f InboxFilter, p Page) ([]InboxEntry, error)
	// CountAudit returns how many audit events the caller sees (every
	// one for an admin; else those it is the actor or target of) f keeps.
	CountAudit(caller Caller, f AuditFilter) (int, error)
	// AuditEvents returns a page of them, newest first.
	AuditEvents(caller Caller, f AuditFilter, p Page) ([]AuditEvent, error)
	APIKeyReadTx
}

// countedPage reads, in one read transaction, how many items a list
// holds and one page of them, with the page's pagination.
func countedPage[T any](ctx context.Context, r Reader, page Page,
	count func(ReadTx) (int, error), list func(ReadTx) ([]T, error)) (items []T, pg Pagination, err error) {
	err = r.Read(ctx, func(tx ReadTx) error {
		total, err := count(tx)
		if err != nil {
			return err
		}
		if items, err = list(tx); err != nil {
			return err
		}
		pg = NewPagination(page, len(items), total)
		return nil
	})
	return items, pg, err
}

// ListMessages returns the messages the caller can see, newest first, or
// those of one thread (newest first too). A thread filter naming a thread
// the caller cannot see, or one that does not exist, matches no messages:
// the contract gives this list no 404.
func ListMessages(ctx context.Context, r Reader, caller Caller, f MessageFilter) (MessageList, error) {
	page := f.Page.Normalize()
	if f.ThreadID != "" {
		list, err := threadMessages(ctx, r, caller, f.ThreadID, page, true)
		if ErrorCode(err) == ENOTFOUND {
			return MessageList{Messages: []Message{}, Pagination: NewPagination(page, 0, 0)}, nil
		}
		return list, err
	}
	msgs, pg, err := countedPage(ctx, r, page,
		func(tx ReadTx) (int, error) { return tx.CountMessages(caller) },
		func(tx ReadTx) ([]Message, error) { return tx.Messages(caller, page) })
	return MessageList{Messages: msgs, Pagination: pg}, err
}

// ListThreadMessages returns the messages of the thread id, oldest first.
// Returns ENOTFOUND when the caller cannot see the thread.
func ListThreadMessages(ctx context.Context, r Reader, caller Caller, id string, p Page) (MessageList, error) {
	return threadMessages(ctx, r, caller, id, p.Normalize(), false)
}

func threadMessages(ctx context.Context, r Reader, caller Caller, id string, page Page, newestFirst bool) (MessageList, error) {
	msgs, pg, err := countedPage(ctx, r, page,
		func(tx ReadTx) (int, error) {
			if err := tx.ThreadVisible(caller, id); err != nil {
				return 0, err
			}
			return tx.CountThreadMessages(id)
		},
		func(tx ReadTx) ([]Message, error) { return tx.ThreadMessages(id, newestFirst, page) })
	return MessageList{Messages: msgs, Pagination: pg}, err
}

// ThreadMetadata returns every metadata key of the thread id. Returns
// ENOTFOUND when the caller cannot see the thread.
func ThreadMetadata(ctx context.Context, r Reader, caller Caller, id string) (md map[string]string, err error) {
	err = r.Read(ctx, func(tx ReadTx) error {
		if err := tx.ThreadVisible(caller, id); err != nil {
			return err
		}
		md, err = tx.ThreadMetadata(id)
		return err
	})
	return md, err
}

// ThreadMetadataValue returns the value of one metadata key. Returns
// ENOTFOUND when the caller cannot see the thread or the key is not set.
func ThreadMetadataValue(ctx context.Context, r Reader, caller Caller, id, key string) (v string, err error) {
	err = r.Read(ctx, func(tx ReadTx) error {
		if err := tx.ThreadVisible(caller, id); err != nil {
			return err
		}
		v, err = tx.ThreadMetadataValue(id, key)
		return err
	})
	return v, err
}

// ListAgents returns registered agents by handle.
func ListAgents(ctx context.Context, r Reader, p Page) (AgentList, error) {
	page := p.Normalize()
	agents, pg, err := countedPage(ctx, r, page,
		func(tx ReadTx) (int, error) { return tx.CountAgents() },
		func(tx ReadTx) ([]Agent, error) { return tx.Agents(page) })
	return AgentList{Agents: agents, Pagination: pg}, err
}

// ListThreads returns the caller's threads (every thread for an admin),
// newest activity first.
// Returns EINVALID for a bad participant or tag filter.
func ListThreads(ctx context.Context, r Reader, caller Caller, f ThreadFilter) (ThreadList, error) {
	if f.Participant != "" {
		if err := CheckHandle("participant", f.Participant); err != nil {
			return ThreadList{}, err
		}
	}
	if f.Tag != "" {
		if _, err := NormalizeTags("tag", []string{f.Tag}); err != nil {
			return ThreadList{}, err
		}
	}
	m := ThreadMatch{Archived: f.Archived, Participant: f.Participant, Tag: f.Tag}
	page := f.Page.Normalize()
	threads, pg, err := countedPage(ctx, r, page,
		func(tx ReadTx) (int, error) { return tx.CountThreads(caller, m) },
		func(tx ReadTx) ([]Thread, error) { return tx.Threads(caller, m, page) })
	return ThreadList{Threads: threads, Pagination: pg}, err
}

// ListInbox returns the messages addressed to the caller, newest first,
// with their read state.
func ListInbox(ctx context.Context, r Reader, caller Caller, f InboxFilter) (InboxList, error) {
	page := f.Page.Normalize()
	entries, pg, err := countedPage(ctx, r, page,
		func(tx ReadTx) (int, error) { return tx.CountInbox(caller, f) },
		func(tx ReadTx) ([]InboxEntry, error) { return tx.Inbox(caller, f, page) })
	return InboxList{Entries: entries, Pagination: pg}, err
}

// ListAuditEvents returns audit events newest first: every event for an
// admin, otherwise those where the caller is the actor or the target.
func ListAuditEvents(ctx context.Context, r Reader, caller Caller, f AuditFilter) (AuditEventList, error) {
	page := f.Page.Normalize()
	events, pg, err := countedPage(ctx, r, page,
		func(tx ReadTx) (int, error) { return tx.CountAudit(caller, f) },
		func(tx ReadTx) ([]AuditEvent, error) { return tx.AuditEvents(caller, f, page) })
	return AuditEventList{Events: events, Pagination: pg}, err
}

// ContactMatch is a contact filter as a store selects by it.
type ContactMatch struct {
	Text       string   // SearchFold of the query, found in ContactSearchText; empty: any
	Tags       []string // normalised, any of them; empty: any
	ActiveOnly bool
}

// ListContacts returns address book entries by handle: all of them, or
// those matching f's text query (a case-insensitive substring of handle,
// display name or description), any of its tags, and its active flag.
// Returns EINVALID for a bad query or tag.
func ListContacts(ctx context.Context, r Reader, f ContactFilter) (ContactList, error) {
	m := ContactMatch{ActiveOnly: f.ActiveOnly}
	if f.Query != "" {
		if err := CheckText("query", f.Query, MaxQueryLen); err != nil {
			return ContactList{}, err
		}
		m.Text = SearchFold(f.Query)
	}
	tags, err := NormalizeTags("tags", f.Tags)
	if err != nil {
		return ContactList{}, err
	}
	m.Tags = tags
	page := f.Page.Normalize()
	contacts, pg, err := countedPage(ctx, r, page,
		func(tx ReadTx) (int, error) { return tx.CountContacts(m) },
		func(tx ReadTx) ([]Contact, error) { return tx.Contacts(m, page) })
	return ContactList{Contacts: contacts, Pagination: pg}, err
}

// SearchMessages returns the messages the caller can see whose subject
// and/or body contain the query, case-insensitively (Matcher), newest
// first, up to the limit or until the search has read the store's limit
// of candidate bytes (SearchScan). Returns EINVALID for a bad search.
func SearchMessages(ctx context.Context, r Reader, caller Caller, q MessageSearch) (MessageSearchResult, error) {
	if err := q.Validate(); err != nil {
		return MessageSearchResult{}, err
	}
	var res MessageSearchResult
	err := r.Read(ctx, func(tx ReadTx) error {
		scan := tx.Limits().NewSearchScan(q)
		seqs := []int64{}
		for c, err := range tx.SearchCandidates(caller, q, scan.Short()) {
			if err != nil {
				return err
			}
			if !scan.Next() {
				break
			}
			if c.Rejected {
				scan.Skip(c.Size)
			} else if scan.Match(c.Subject, c.Body) {
				seqs = append(seqs, c.Seq)
			}
		}
		msgs, err := tx.MessagesBySeq(seqs)
		if err != nil {
			return err
		}
		res = MessageSearchResult{Messages: msgs, Truncated: scan.Truncated}
		return nil
	})
	return res, err
}

// EventLogTx is what reading an event page asks of one read transaction.
type EventLogTx interface {
	EventReader
	// EventLogState returns the cursor through which events were pruned,
	// the bound below which events may be read (every later one waits
	// behind a transaction still running), and whether events for the
	// caller wait at or above it.
	EventLogState(caller Caller) (pruned, bound int64, pending bool, err error)
	// EventHead returns the caller's newest cursor below bound.
	EventHead(caller Caller, bound int64) (int64, error)
	// EventRows returns at most limit of the caller's events after the
	// cursor after and below bound, oldest first.
	EventRows(caller Caller, after, bound int64, limit int) ([]EventRow, error)
}

// EventLogReader runs event reads; each store is one.
type EventLogReader interface {
	ReadEventLog(ctx context.Context, fn func(EventLogTx) error) error
}

// Events returns the caller's events after the cursor after, oldest first
// (at most limit), and the cursor to read after next. With a nil after it
// returns none and the caller's current head, so that a new client starts
// from now. Returns EGONE when after is older than what retention kept.
func Events(ctx context.Context, r EventLogReader, caller Caller, after *int64, limit int) (EventPage, error) {
	var page EventPage
	err := r.ReadEventLog(ctx, func(tx EventLogTx) error {
		pruned, bound, pending, err := tx.EventLogState(caller)
		if err != nil {
			return err
		}
		page = EventPage{Events: []Event{}, Pending: pending}
		if after == nil {
			head, err := tx.EventHead(caller, bound)
			page.Next = max(head, pruned)
			return err
		}
		if *after < pruned {
			return Errorf(EGONE, "cursor %d has expired: resynchronise (list threads and inbox), then read events without a cursor", *after)
		}
		rows, err := tx.EventRows(caller, *after, bound, limit)
		if err != nil {
			return err
		}
		if page.Events, err = CompleteEvents(tx, caller, rows); err != nil {
			return err
		}
		page.Next = *after
		if n := len(page.Events); n > 0 {
			page.Next = page.Events[n-1].Cursor
		}
		return nil
	})
	return page, err
}

// EventRow is an event as stored, a message.read event's data decoded: a
// message.created event names its message by seq (0: none).
type EventRow struct {
	Event      Event
	MessageSeq int64
}

// EventReader reads what the events of a page carry.
type EventReader interface {
	// EventMessage returns the message seq.
	EventMessage(seq int64) (Message, error)
	// EventThread returns the thread id as the caller sees it now.
	EventThread(caller Caller, id string) (Thread, error)
}

// CompleteEvents completes a page of stored events: a message.created event
// carries its message, a thread.updated event the thread as it is now.
func CompleteEvents(r EventReader, caller Caller, rows []EventRow) ([]Event, error) {
	events := make([]Event, 0, len(rows))
	// Each event of a thread carries the thread as it is now, the same for
	// all of them: it is read once per page.
	threads := map[string]*Thread{}
	for _, row := range rows {
		e := row.Event
		switch e.Type {
		case EventMessageCreated:
			if row.MessageSeq == 0 {
				continue
			}
			m, err := r.EventMessage(row.MessageSeq)
			if err != nil {
				return nil, err
			}
			e.Message = &m
		case EventThreadUpdated:
			if th, ok := threads[e.ThreadID]; ok {
				e.Thread = th
				break
			}
			th, err := r.EventThread(caller, e.ThreadID)
			if err != nil {
				return nil, err
			}
			e.Thread = &th
			threads[e.ThreadID] = &th
		}
		events = append(events, e)
	}
	return events, nil
}
