package agcom

import "context"

// Service runs the use cases that write: it holds the domain's rules (who
// a message goes to, who takes part in a thread, what is audited, in what
// order things are written) and leaves persistence to a store.
type Service struct {
	w   Writer
	att AttachmentStore // nil: no attachments
}

// NewService returns the use cases writing through w.
func NewService(w Writer) *Service { return &Service{w: w} }

// SendMessage opens a thread whose participants are the caller and the
// recipients, and posts m in it. With a key, a retry returns the message
// first made and replayed. Returns EINVALID for a bad message,
// EIDEMPOTENCY for a key used with another request.
func (s *Service) SendMessage(ctx context.Context, caller Caller, m NewMessage, key *IdempotencyKey) (msg Message, replayed bool, err error) {
	if err := m.Validate(); err != nil {
		return Message{}, false, err
	}
	err = s.w.Write(ctx, func(tx Tx) error {
		msg, replayed, err = idempotent(tx, key, CreatedMessage,
			func(ids []string) (Message, error) { return tx.VisibleMessage(caller, ids[0]) },
			func() (Message, []string, error) {
				atts, err := attach(tx, caller, m.AttachmentIDs)
				if err != nil {
					return Message{}, nil, err
				}
				msg, err := openThread(tx, caller, m.ToHandles, m, atts)
				return msg, []string{msg.ID}, err
			})
		return err
	})
	return msg, replayed, err
}

// Broadcast opens one thread per distinct recipient and posts m in each,
// all in one transaction. Returns EINVALID for a bad message, EIDEMPOTENCY
// for a key used with another request.
func (s *Service) Broadcast(ctx context.Context, caller Caller, m NewMessage, key *IdempotencyKey) (msgs []Message, replayed bool, err error) {
	if err := m.Validate(); err != nil {
		return nil, false, err
	}
	err = s.w.Write(ctx, func(tx Tx) error {
		msgs, replayed, err = idempotent(tx, key, CreatedMessages,
			func(ids []string) ([]Message, error) {
				msgs := make([]Message, len(ids))
				for i, id := range ids {
					var err error
					if msgs[i], err = tx.VisibleMessage(caller, id); err != nil {
						return nil, err
					}
				}
				return msgs, nil
			},
			func() ([]Message, []string, error) {
				atts, err := attach(tx, caller, m.AttachmentIDs)
				if err != nil {
					return nil, nil, err
				}
				msgs := make([]Message, 0, len(m.ToHandles))
				ids := make([]string, 0, len(m.ToHandles))
				for _, to := range m.ToHandles {
					msg, err := openThread(tx, caller, []string{to}, m, atts)
					if err != nil {
						return nil, nil, err
					}
					msgs, ids = append(msgs, msg), append(ids, msg.ID)
				}
				return msgs, ids, nil
			})
		return err
	})
	return msgs, replayed, err
}

// openThread creates a thread for the caller and to, and posts m in it
// with the attachments atts (checked by attach).
func openThread(tx Tx, caller Caller, to []string, m NewMessage, atts []Attachment) (Message, error) {
	participants := Participants(caller.Handle, to)
	threadID, err := tx.CreateThread(m.Subject, participants)
	if err != nil {
		return Message{}, err
	}
	msg := Message{
		ThreadID: threadID, FromHandle: caller.Handle, ToHandles: to,
		Subject: m.Subject, Body: m.Body, Tags: m.Tags, Attachments: atts,
	}
	if err := tx.InsertMessage(&msg); err != nil {
		return Message{}, err
	}
	if err := linkAttachments(tx, msg); err != nil {
		return Message{}, err
	}
	if err := tx.Audit(EventThreadCreate, caller.Handle, nil, map[string]any{
		"thread_id": threadID, "subject": m.Subject, "participant_handles": participants,
	}); err != nil {
		return Message{}, err
	}
	// One entry for the message, however many recipients it has.
	if err := tx.Audit(EventMessageSend, caller.Handle, to, map[string]any{
		"message_id": msg.ID, "thread_id": threadID, "subject": m.Subject,
	}); err != nil {
		return Message{}, err
	}
	return msg, nil
}

// ReplyToMessage posts r as a reply to the message id in its thread. It
// goes to the original sender, or, when the caller is that sender, to the
// original recipients. Returns ENOTFOUND when the caller cannot see the
// message, EINVALID for a bad reply, EIDEMPOTENCY for a key used with
// another request.
func (s *Service) ReplyToMessage(ctx context.Context, caller Caller, id string, r Reply, key *IdempotencyKey) (Message, bool, error) {
	return s.reply(ctx, caller, id, false, r, key)
}

// ReplyToThread posts r as a reply to the latest message of the thread id.
// Returns ENOTFOUND when the caller cannot see the thread, EINVALID for a
// bad reply, EIDEMPOTENCY for a key used with another request.
func (s *Service) ReplyToThread(ctx context.Context, caller Caller, id string, r Reply, key *IdempotencyKey) (Message, bool, error) {
	return s.reply(ctx, caller, id, true, r, key)
}

func (s *Service) reply(ctx context.Context, caller Caller, id string, toThread bool, r Reply, key *IdempotencyKey) (msg Message, replayed bool, err error) {
	if err := r.Validate(); err != nil {
		return Message{}, false, err
	}
	err = s.w.Write(ctx, func(tx Tx) error {
		msg, replayed, err = idempotent(tx, key, CreatedMessage,
			func(ids []string) (Message, error) { return tx.VisibleMessage(caller, ids[0]) },
			func() (Message, []string, error) {
				msg, err := reply(tx, caller, id, toThread, r)
				return msg, []string{msg.ID}, err
			})
		return err
	})
	return msg, replayed, err
}

// reply posts r in answer to the message id, or to the latest message of
// the thread id.
func reply(tx Tx, caller Caller, id string, toThread bool, r Reply) (Message, error) {
	// Replies to one thread take turns. A reply to a thread takes its turn
	// before reading the thread's latest message, which the reply before
	// it may have just posted; a message's thread is known only once the
	// message is read.
	var (
		orig    Message
		subject string
		err     error
	)
	if toThread {
		if subject, err = tx.LockThread(id); err != nil {
			return Message{}, err
		}
		orig, err = tx.LatestVisibleMessage(caller, id)
	} else if orig, err = tx.VisibleMessage(caller, id); err == nil {
		subject, err = tx.LockThread(orig.ThreadID)
	}
	if err != nil {
		return Message{}, err
	}
	atts, err := attach(tx, caller, r.AttachmentIDs)
	if err != nil {
		return Message{}, err
	}
	to := []string{orig.FromHandle}
	if caller.Handle == orig.FromHandle {
		to = orig.ToHandles
	}
	if err := tx.TouchThread(orig.ThreadID); err != nil {
		return Message{}, err
	}
	for _, h := range append([]string{caller.Handle}, to...) {
		if err := tx.AddParticipant(orig.ThreadID, h); err != nil {
			return Message{}, err
		}
	}
	msg := Message{
		ThreadID: orig.ThreadID, FromHandle: caller.Handle, ToHandles: to,
		Subject: subject, Body: r.Body, InReplyTo: orig.ID, Tags: r.Tags, Attachments: atts,
	}
	if err := tx.InsertMessage(&msg); err != nil {
		return Message{}, err
	}
	if err := linkAttachments(tx, msg); err != nil {
		return Message{}, err
	}
	if err := tx.Audit(EventMessageReply, caller.Handle, to, map[string]any{
		"message_id": msg.ID, "thread_id": msg.ThreadID, "in_reply_to": orig.ID,
	}); err != nil {
		return Message{}, err
	}
	return msg, nil
}
