package agcom

import "context"

// MarkRead marks the message id, addressed to the caller, read (keeping
// the first read time) or unread. Returns ENOTFOUND when the caller is not
// one of its recipients or cannot see it.
func (s *Service) MarkRead(ctx context.Context, caller Caller, id string, read bool) (out ReadState, err error) {
	err = s.w.Write(ctx, func(tx Tx) error {
		threadID, readAt, err := tx.LockReadState(caller.Handle, id)
		if err != nil {
			return err
		}
		out = ReadState{MessageID: id, ReadAt: readAt}
		if read == (readAt != nil) {
			return nil
		}
		out.ReadAt = nil
		if read {
			now := tx.Now()
			out.ReadAt = &now
		}
		return tx.SetReadAt(caller.Handle, threadID, id, out.ReadAt)
	})
	return out, err
}

// MarkThreadRead marks every message of the thread addressed to the
// caller read. Returns ENOTFOUND when the caller cannot see the thread.
func (s *Service) MarkThreadRead(ctx context.Context, caller Caller, threadID string) (out ThreadReadState, err error) {
	err = s.w.Write(ctx, func(tx Tx) error {
		if err := tx.ThreadVisible(caller, threadID); err != nil {
			return err
		}
		out = ThreadReadState{ThreadID: threadID, ReadAt: tx.Now()}
		ids, err := tx.LockUnread(caller.Handle, threadID)
		if err != nil || len(ids) == 0 {
			return err
		}
		out.Marked = len(ids)
		return tx.ReadThread(caller.Handle, threadID, ids, out.ReadAt)
	})
	return out, err
}
