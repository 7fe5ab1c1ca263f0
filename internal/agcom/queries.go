package agcom

import "context"

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
	APIKeyReadTx
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
	var list MessageList
	err := r.Read(ctx, func(tx ReadTx) error {
		total, err := tx.CountMessages(caller)
		if err != nil {
			return err
		}
		msgs, err := tx.Messages(caller, page)
		if err != nil {
			return err
		}
		list = MessageList{Messages: msgs, Pagination: NewPagination(page, len(msgs), total)}
		return nil
	})
	return list, err
}

// ListThreadMessages returns the messages of the thread id, oldest first.
// Returns ENOTFOUND when the caller cannot see the thread.
func ListThreadMessages(ctx context.Context, r Reader, caller Caller, id string, p Page) (MessageList, error) {
	return threadMessages(ctx, r, caller, id, p.Normalize(), false)
}

func threadMessages(ctx context.Context, r Reader, caller Caller, id string, page Page, newestFirst bool) (MessageList, error) {
	var list MessageList
	err := r.Read(ctx, func(tx ReadTx) error {
		if err := tx.ThreadVisible(caller, id); err != nil {
			return err
		}
		total, err := tx.CountThreadMessages(id)
		if err != nil {
			return err
		}
		msgs, err := tx.ThreadMessages(id, newestFirst, page)
		if err != nil {
			return err
		}
		list = MessageList{Messages: msgs, Pagination: NewPagination(page, len(msgs), total)}
		return nil
	})
	return list, err
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
	var out AgentList
	err := r.Read(ctx, func(tx ReadTx) error {
		total, err := tx.CountAgents()
		if err != nil {
			return err
		}
		agents, err := tx.Agents(page)
		if err != nil {
			return err
		}
		out = AgentList{Agents: agents, Pagination: NewPagination(page, len(agents), total)}
		return nil
	})
	return out, err
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
