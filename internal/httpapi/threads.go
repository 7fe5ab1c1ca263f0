package httpapi

import (
	"context"

	"github.com/agcom/agcom/gen/agcomv1"
	"github.com/agcom/agcom/internal/agcom"
)

// threadReader is what the thread handlers read.
type threadReader interface {
	GetThread(ctx context.Context, caller agcom.Caller, id string) (agcom.Thread, error)
	ListThreads(ctx context.Context, caller agcom.Caller, f agcom.ThreadFilter) (agcom.ThreadList, error)
	ListThreadMessages(ctx context.Context, caller agcom.Caller, id string, p agcom.Page) (agcom.MessageList, error)
	ThreadMetadata(ctx context.Context, caller agcom.Caller, id string) (map[string]string, error)
	ThreadMetadataValue(ctx context.Context, caller agcom.Caller, id, key string) (string, error)
}

// threadWriter changes a thread's metadata and archive state.
type threadWriter interface {
	SetThreadMetadata(ctx context.Context, caller agcom.Caller, id, key string, value *string) error
	SetThreadArchived(ctx context.Context, caller agcom.Caller, id string, archived bool) error
}

// ListThreads implements GET /threads.
func (s *Server) ListThreads(ctx context.Context, req agcomv1.ListThreadsRequestObject) (agcomv1.ListThreadsResponseObject, error) {
	caller, err := callerFrom(ctx)
	if err != nil {
		return nil, err
	}
	list, err := s.store.ListThreads(ctx, caller, agcom.ThreadFilter{
		Archived:    req.Params.Archived,
		Participant: deref(req.Params.Participant),
		Tag:         deref(req.Params.Tag),
		Page:        toDomainPage(req.Params.Limit, req.Params.Offset),
	})
	if err != nil {
		return nil, err
	}
	return newListJSON(ctx, s, "ListThreads", list.Threads, func() any {
		return agcomv1.ListThreads200JSONResponse{
			Threads: convertAll(list.Threads, toAPIThread), Pagination: toAPIPagination(list.Pagination),
		}
	}), nil
}

// GetThread implements GET /threads/{thread_id}.
func (s *Server) GetThread(ctx context.Context, req agcomv1.GetThreadRequestObject) (agcomv1.GetThreadResponseObject, error) {
	caller, err := callerFrom(ctx)
	if err != nil {
		return nil, err
	}
	t, err := s.store.GetThread(ctx, caller, req.ThreadId)
	if err != nil {
		return nil, err
	}
	return agcomv1.GetThread200JSONResponse(toAPIThread(t)), nil
}

// ListThreadMessages implements GET /threads/{thread_id}/messages.
func (s *Server) ListThreadMessages(ctx context.Context, req agcomv1.ListThreadMessagesRequestObject) (agcomv1.ListThreadMessagesResponseObject, error) {
	caller, err := callerFrom(ctx)
	if err != nil {
		return nil, err
	}
	list, err := s.store.ListThreadMessages(ctx, caller, req.ThreadId, toDomainPage(req.Params.Limit, req.Params.Offset))
	if err != nil {
		return nil, err
	}
	return newListJSON(ctx, s, "ListThreadMessages", list.Messages, func() any {
		return agcomv1.ListThreadMessages200JSONResponse{
			Messages: toAPIMessages(list.Messages), Pagination: toAPIPagination(list.Pagination),
		}
	}), nil
}

// ReplyToThread implements POST /threads/{thread_id}/reply.
func (s *Server) ReplyToThread(ctx context.Context, req agcomv1.ReplyToThreadRequestObject) (agcomv1.ReplyToThreadResponseObject, error) {
	caller, err := callerFrom(ctx)
	if err != nil {
		return nil, err
	}
	m, replayed, err := s.writes.ReplyToThread(ctx, caller, req.ThreadId, toDomainReply(req.Body), idempotencyKeyFrom(ctx))
	if err != nil {
		return nil, err
	}
	return agcomv1.ReplyToThread201JSONResponse{Body: toAPIMessage(m), Headers: agcomv1.ReplyToThread201ResponseHeaders{IdempotentReplayed: replayedHeader(replayed)}}, nil
}

// GetThreadMetadata implements GET /threads/{thread_id}/metadata.
func (s *Server) GetThreadMetadata(ctx context.Context, req agcomv1.GetThreadMetadataRequestObject) (agcomv1.GetThreadMetadataResponseObject, error) {
	caller, err := callerFrom(ctx)
	if err != nil {
		return nil, err
	}
	md, err := s.store.ThreadMetadata(ctx, caller, req.ThreadId)
	if err != nil {
		return nil, err
	}
	return agcomv1.GetThreadMetadata200JSONResponse{ThreadId: req.ThreadId, Metadata: md}, nil
}

// GetThreadMetadataKey implements GET /threads/{thread_id}/metadata/{key}.
func (s *Server) GetThreadMetadataKey(ctx context.Context, req agcomv1.GetThreadMetadataKeyRequestObject) (agcomv1.GetThreadMetadataKeyResponseObject, error) {
	caller, err := callerFrom(ctx)
	if err != nil {
		return nil, err
	}
	v, err := s.store.ThreadMetadataValue(ctx, caller, req.ThreadId, req.Key)
	if err != nil {
		return nil, err
	}
	return agcomv1.GetThreadMetadataKey200JSONResponse{Key: req.Key, Value: v}, nil
}

// PutThreadMetadata implements PUT /threads/{thread_id}/metadata.
func (s *Server) PutThreadMetadata(ctx context.Context, req agcomv1.PutThreadMetadataRequestObject) (agcomv1.PutThreadMetadataResponseObject, error) {
	caller, err := callerFrom(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.writes.SetThreadMetadata(ctx, caller, req.ThreadId, req.Body.Key, req.Body.Value); err != nil {
		return nil, err
	}
	return agcomv1.PutThreadMetadata200JSONResponse{ThreadId: req.ThreadId, Key: req.Body.Key, Value: req.Body.Value}, nil
}

// ArchiveThread implements POST /threads/{thread_id}/archive.
func (s *Server) ArchiveThread(ctx context.Context, req agcomv1.ArchiveThreadRequestObject) (agcomv1.ArchiveThreadResponseObject, error) {
	if err := s.setArchived(ctx, req.ThreadId, true); err != nil {
		return nil, err
	}
	return agcomv1.ArchiveThread200JSONResponse{ThreadId: req.ThreadId, Archived: true}, nil
}

// UnarchiveThread implements POST /threads/{thread_id}/unarchive.
func (s *Server) UnarchiveThread(ctx context.Context, req agcomv1.UnarchiveThreadRequestObject) (agcomv1.UnarchiveThreadResponseObject, error) {
	if err := s.setArchived(ctx, req.ThreadId, false); err != nil {
		return nil, err
	}
	return agcomv1.UnarchiveThread200JSONResponse{ThreadId: req.ThreadId, Archived: false}, nil
}

// setArchived archives the thread, or brings it back.
func (s *Server) setArchived(ctx context.Context, threadID string, archived bool) error {
	caller, err := callerFrom(ctx)
	if err != nil {
		return err
	}
	return s.writes.SetThreadArchived(ctx, caller, threadID, archived)
}
