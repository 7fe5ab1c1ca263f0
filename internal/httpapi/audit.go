package httpapi

import (
	"context"

	"github.com/agcom/agcom/gen/agcomv1"
	"github.com/agcom/agcom/internal/agcom"
)

// auditReader is what the audit handler reads.
type auditReader interface {
	ListAuditEvents(ctx context.Context, caller agcom.Caller, f agcom.AuditFilter) (agcom.AuditEventList, error)
}

// ListAuditEvents implements GET /audit/events.
func (s *Server) ListAuditEvents(ctx context.Context, req agcomv1.ListAuditEventsRequestObject) (agcomv1.ListAuditEventsResponseObject, error) {
	caller, err := callerFrom(ctx)
	if err != nil {
		return nil, err
	}
	p := req.Params
	list, err := s.store.ListAuditEvents(ctx, caller, agcom.AuditFilter{
		EventType: string(deref(p.EventType)), ActorHandle: deref(p.ActorHandle), TargetHandle: deref(p.TargetHandle),
		Page: toDomainPage(p.Limit, p.Offset),
	})
	if err != nil {
		return nil, err
	}
	return newListJSON(ctx, s, "ListAuditEvents", list.Events, func() any {
		return agcomv1.ListAuditEvents200JSONResponse{
			Events: convertAll(list.Events, toAPIAuditEvent), Pagination: toAPIPagination(list.Pagination),
		}
	}), nil
}
