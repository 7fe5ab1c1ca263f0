package httpapi

import (
	"context"

	"github.com/agcom/agcom/gen/agcomv1"
	"github.com/agcom/agcom/internal/agcom"
)

// inboxReader is what the inbox handler reads.
type inboxReader interface {
	ListInbox(ctx context.Context, caller agcom.Caller, f agcom.InboxFilter) (agcom.InboxList, error)
}

// readMarker marks messages read or unread for their recipient.
type readMarker interface {
	MarkRead(ctx context.Context, caller agcom.Caller, messageID string, read bool) (agcom.ReadState, error)
	MarkThreadRead(ctx context.Context, caller agcom.Caller, threadID string) (agcom.ThreadReadState, error)
}

// MarkMessageRead implements POST /messages/{message_id}/read.
func (s *Server) MarkMessageRead(ctx context.Context, req agcomv1.MarkMessageReadRequestObject) (agcomv1.MarkMessageReadResponseObject, error) {
	caller, err := callerFrom(ctx)
	if err != nil {
		return nil, err
	}
	st, err := s.writes.MarkRead(ctx, caller, req.MessageId, true)
	if err != nil {
		return nil, err
	}
	return agcomv1.MarkMessageRead200JSONResponse(toAPIReadState(st)), nil
}

// MarkMessageUnread implements POST /messages/{message_id}/unread.
func (s *Server) MarkMessageUnread(ctx context.Context, req agcomv1.MarkMessageUnreadRequestObject) (agcomv1.MarkMessageUnreadResponseObject, error) {
	caller, err := callerFrom(ctx)
	if err != nil {
		return nil, err
	}
	st, err := s.writes.MarkRead(ctx, caller, req.MessageId, false)
	if err != nil {
		return nil, err
	}
	return agcomv1.MarkMessageUnread200JSONResponse(toAPIReadState(st)), nil
}

// MarkThreadRead implements POST /threads/{thread_id}/read.
func (s *Server) MarkThreadRead(ctx context.Context, req agcomv1.MarkThreadReadRequestObject) (agcomv1.MarkThreadReadResponseObject, error) {
	caller, err := callerFrom(ctx)
	if err != nil {
		return nil, err
	}
	st, err := s.writes.MarkThreadRead(ctx, caller, req.ThreadId)
	if err != nil {
		return nil, err
	}
	return agcomv1.MarkThreadRead200JSONResponse{ThreadId: st.ThreadID, Marked: st.Marked, ReadAt: st.ReadAt}, nil
}

// ListInbox implements GET /inbox.
func (s *Server) ListInbox(ctx context.Context, req agcomv1.ListInboxRequestObject) (agcomv1.ListInboxResponseObject, error) {
	caller, err := callerFrom(ctx)
	if err != nil {
		return nil, err
	}
	p := req.Params
	list, err := s.store.ListInbox(ctx, caller, agcom.InboxFilter{
		UnreadOnly: deref(p.UnreadOnly), ThreadID: deref(p.ThreadId), FromHandle: deref(p.FromHandle),
		Page: toDomainPage(p.Limit, p.Offset),
	})
	if err != nil {
		return nil, err
	}
	return newListJSON(ctx, s, "ListInbox", list.Entries, func() any {
		return agcomv1.ListInbox200JSONResponse{
			Messages: convertAll(list.Entries, toAPIInboxEntry), Pagination: toAPIPagination(list.Pagination),
		}
	}), nil
}

func toAPIInboxEntry(e agcom.InboxEntry) agcomv1.InboxEntry {
	m := toAPIMessage(e.Message)
	return agcomv1.InboxEntry{
		MessageId: m.MessageId, ThreadId: m.ThreadId, FromHandle: m.FromHandle, ToHandles: m.ToHandles,
		Subject: m.Subject, Body: m.Body, CreatedAt: m.CreatedAt, InReplyTo: m.InReplyTo, Tags: m.Tags,
		ReadAt: e.ReadAt,
	}
}

func toAPIReadState(st agcom.ReadState) agcomv1.ReadState {
	return agcomv1.ReadState{MessageId: st.MessageID, ReadAt: st.ReadAt}
}
