package httpapi

import (
	"context"
	"errors"

	"github.com/agcom/agcom/gen/agcomv1"
	"github.com/agcom/agcom/internal/agcom"
	"github.com/agcom/agcom/internal/auth"
)

// messageReader is what the message handlers read.
type messageReader interface {
	GetMessage(ctx context.Context, caller agcom.Caller, id string) (agcom.Message, error)
	ListMessages(ctx context.Context, caller agcom.Caller, f agcom.MessageFilter) (agcom.MessageList, error)
	SearchMessages(ctx context.Context, caller agcom.Caller, q agcom.MessageSearch) (agcom.MessageSearchResult, error)
}

// messageSender is the use cases that post messages, each safe to retry
// with an idempotency key.
type messageSender interface {
	SendMessage(ctx context.Context, caller agcom.Caller, m agcom.NewMessage, key *agcom.IdempotencyKey) (agcom.Message, bool, error)
	Broadcast(ctx context.Context, caller agcom.Caller, m agcom.NewMessage, key *agcom.IdempotencyKey) ([]agcom.Message, bool, error)
	ReplyToMessage(ctx context.Context, caller agcom.Caller, id string, r agcom.Reply, key *agcom.IdempotencyKey) (agcom.Message, bool, error)
	ReplyToThread(ctx context.Context, caller agcom.Caller, id string, r agcom.Reply, key *agcom.IdempotencyKey) (agcom.Message, bool, error)
}

// errNoCaller means a protected handler ran without the auth middleware:
// a wiring bug, answered as InternalError.
var errNoCaller = errors.New("httpapi: no authenticated caller in context")

func callerFrom(ctx context.Context) (agcom.Caller, error) {
	c, ok := auth.CallerFrom(ctx)
	if !ok {
		return agcom.Caller{}, errNoCaller
	}
	return c, nil
}

// SendMessage implements POST /messages.
func (s *Server) SendMessage(ctx context.Context, req agcomv1.SendMessageRequestObject) (agcomv1.SendMessageResponseObject, error) {
	caller, err := callerFrom(ctx)
	if err != nil {
		return nil, err
	}
	m, replayed, err := s.writes.SendMessage(ctx, caller, toDomainNewMessage(req.Body), idempotencyKeyFrom(ctx))
	if err != nil {
		return nil, err
	}
	return agcomv1.SendMessage201JSONResponse{Body: toAPIMessage(m), Headers: agcomv1.SendMessage201ResponseHeaders{IdempotentReplayed: replayedHeader(replayed)}}, nil
}

// SendGroupMessage implements POST /messages/group: one thread, all recipients.
func (s *Server) SendGroupMessage(ctx context.Context, req agcomv1.SendGroupMessageRequestObject) (agcomv1.SendGroupMessageResponseObject, error) {
	caller, err := callerFrom(ctx)
	if err != nil {
		return nil, err
	}
	m, replayed, err := s.writes.SendMessage(ctx, caller, toDomainNewMessage(req.Body), idempotencyKeyFrom(ctx))
	if err != nil {
		return nil, err
	}
	return agcomv1.SendGroupMessage201JSONResponse{Body: toAPIMessage(m), Headers: agcomv1.SendGroupMessage201ResponseHeaders{IdempotentReplayed: replayedHeader(replayed)}}, nil
}

// BroadcastMessage implements POST /messages/broadcast.
func (s *Server) BroadcastMessage(ctx context.Context, req agcomv1.BroadcastMessageRequestObject) (agcomv1.BroadcastMessageResponseObject, error) {
	caller, err := callerFrom(ctx)
	if err != nil {
		return nil, err
	}
	ms, replayed, err := s.writes.Broadcast(ctx, caller, toDomainNewMessage(req.Body), idempotencyKeyFrom(ctx))
	if err != nil {
		return nil, err
	}
	return agcomv1.BroadcastMessage201JSONResponse{Body: toAPIBroadcast(ms), Headers: agcomv1.BroadcastMessage201ResponseHeaders{IdempotentReplayed: replayedHeader(replayed)}}, nil
}

// GetMessage implements GET /messages/{message_id}.
func (s *Server) GetMessage(ctx context.Context, req agcomv1.GetMessageRequestObject) (agcomv1.GetMessageResponseObject, error) {
	caller, err := callerFrom(ctx)
	if err != nil {
		return nil, err
	}
	m, err := s.store.GetMessage(ctx, caller, req.MessageId)
	if err != nil {
		return nil, err
	}
	return agcomv1.GetMessage200JSONResponse(toAPIMessage(m)), nil
}

// ListMessages implements GET /messages.
func (s *Server) ListMessages(ctx context.Context, req agcomv1.ListMessagesRequestObject) (agcomv1.ListMessagesResponseObject, error) {
	caller, err := callerFrom(ctx)
	if err != nil {
		return nil, err
	}
	list, err := s.store.ListMessages(ctx, caller, agcom.MessageFilter{
		ThreadID: deref(req.Params.ThreadId),
		Page:     toDomainPage(req.Params.Limit, req.Params.Offset),
	})
	if err != nil {
		return nil, err
	}
	return newListJSON(ctx, s, "ListMessages", list.Messages, func() any {
		return agcomv1.ListMessages200JSONResponse{
			Messages: toAPIMessages(list.Messages), Pagination: toAPIPagination(list.Pagination),
		}
	}), nil
}

// SearchMessages implements GET /messages/search.
func (s *Server) SearchMessages(ctx context.Context, req agcomv1.SearchMessagesRequestObject) (agcomv1.SearchMessagesResponseObject, error) {
	caller, err := callerFrom(ctx)
	if err != nil {
		return nil, err
	}
	p := req.Params
	res, err := s.store.SearchMessages(ctx, caller, agcom.MessageSearch{
		Query: p.Query, InSubject: orDefault(p.InSubject, defaultSearchIn), InBody: orDefault(p.InBody, defaultSearchIn),
		FromHandle: deref(p.FromHandle), ToHandle: deref(p.ToHandle), Limit: deref(p.Limit),
	})
	if err != nil {
		return nil, err
	}
	return agcomv1.SearchMessages200JSONResponse{
		Messages: toAPIMessages(res.Messages), Query: p.Query, Count: len(res.Messages), Truncated: &res.Truncated,
	}, nil
}

// ReplyToMessage implements POST /messages/{message_id}/reply.
func (s *Server) ReplyToMessage(ctx context.Context, req agcomv1.ReplyToMessageRequestObject) (agcomv1.ReplyToMessageResponseObject, error) {
	caller, err := callerFrom(ctx)
	if err != nil {
		return nil, err
	}
	m, replayed, err := s.writes.ReplyToMessage(ctx, caller, req.MessageId, toDomainReply(req.Body), idempotencyKeyFrom(ctx))
	if err != nil {
		return nil, err
	}
	return agcomv1.ReplyToMessage201JSONResponse{Body: toAPIMessage(m), Headers: agcomv1.ReplyToMessage201ResponseHeaders{IdempotentReplayed: replayedHeader(replayed)}}, nil
}
