package httpapi

import (
	"context"

	"github.com/agcom/agcom/gen/agcomv1"
	"github.com/agcom/agcom/internal/agcom"
)

// contactReader is what the address book handlers read.
type contactReader interface {
	ListContacts(ctx context.Context, f agcom.ContactFilter) (agcom.ContactList, error)
	GetContact(ctx context.Context, handle string) (agcom.Contact, error)
}

// contactWriter changes address book entries.
type contactWriter interface {
	CreateContact(ctx context.Context, caller agcom.Caller, c agcom.Contact, key *agcom.IdempotencyKey) (agcom.Contact, bool, error)
	UpdateContact(ctx context.Context, caller agcom.Caller, handle string, u agcom.ContactUpdate) (agcom.Contact, error)
	DeactivateContact(ctx context.Context, caller agcom.Caller, handle string) (agcom.Contact, error)
}

// ListContacts implements GET /contacts.
func (s *Server) ListContacts(ctx context.Context, req agcomv1.ListContactsRequestObject) (agcomv1.ListContactsResponseObject, error) {
	p := req.Params
	list, err := s.store.ListContacts(ctx, agcom.ContactFilter{
		Tags: deref(p.Tags), ActiveOnly: activeOnly(p.ActiveOnly), Page: toDomainPage(p.Limit, p.Offset),
	})
	if err != nil {
		return nil, err
	}
	return newListJSON(ctx, s, "ListContacts", list.Contacts, func() any {
		return agcomv1.ListContacts200JSONResponse(toAPIContactPage(list))
	}), nil
}

// SearchContacts implements GET /contacts/search.
func (s *Server) SearchContacts(ctx context.Context, req agcomv1.SearchContactsRequestObject) (agcomv1.SearchContactsResponseObject, error) {
	p := req.Params
	list, err := s.store.ListContacts(ctx, agcom.ContactFilter{
		Query: deref(p.Query), Tags: deref(p.Tags), ActiveOnly: activeOnly(p.ActiveOnly),
		Page: toDomainPage(p.Limit, p.Offset),
	})
	if err != nil {
		return nil, err
	}
	return newListJSON(ctx, s, "SearchContacts", list.Contacts, func() any {
		return agcomv1.SearchContacts200JSONResponse(toAPIContactPage(list))
	}), nil
}

// activeOnly applies the default of the active_only parameter, and of a
// contact update's is_active.
func activeOnly(p *bool) bool {
	return orDefault(p, defaultActive)
}

// CreateContact implements POST /contacts.
func (s *Server) CreateContact(ctx context.Context, req agcomv1.CreateContactRequestObject) (agcomv1.CreateContactResponseObject, error) {
	caller, err := callerFrom(ctx)
	if err != nil {
		return nil, err
	}
	b := req.Body
	c, replayed, err := s.writes.CreateContact(ctx, caller, agcom.Contact{
		Handle: b.Handle, DisplayName: deref(b.DisplayName), Description: deref(b.Description), Tags: deref(b.Tags),
	}, idempotencyKeyFrom(ctx))
	if err != nil {
		return nil, err
	}
	return agcomv1.CreateContact201JSONResponse{Body: toAPIContact(c), Headers: agcomv1.CreateContact201ResponseHeaders{IdempotentReplayed: replayedHeader(replayed)}}, nil
}

// GetContact implements GET /contacts/{handle}.
func (s *Server) GetContact(ctx context.Context, req agcomv1.GetContactRequestObject) (agcomv1.GetContactResponseObject, error) {
	c, err := s.store.GetContact(ctx, req.Handle)
	if err != nil {
		return nil, err
	}
	return agcomv1.GetContact200JSONResponse(toAPIContact(c)), nil
}

// UpdateContact implements PUT /contacts/{handle}.
func (s *Server) UpdateContact(ctx context.Context, req agcomv1.UpdateContactRequestObject) (agcomv1.UpdateContactResponseObject, error) {
	caller, err := callerFrom(ctx)
	if err != nil {
		return nil, err
	}
	b := req.Body
	c, err := s.writes.UpdateContact(ctx, caller, req.Handle, agcom.ContactUpdate{
		DisplayName: deref(b.DisplayName), Description: deref(b.Description), Tags: deref(b.Tags),
		IsActive: activeOnly(b.IsActive), ExpectedVersion: b.ExpectedVersion,
	})
	if err != nil {
		return nil, err
	}
	return agcomv1.UpdateContact200JSONResponse(toAPIContact(c)), nil
}

// DeactivateContact implements DELETE /contacts/{handle}.
func (s *Server) DeactivateContact(ctx context.Context, req agcomv1.DeactivateContactRequestObject) (agcomv1.DeactivateContactResponseObject, error) {
	caller, err := callerFrom(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.writes.DeactivateContact(ctx, caller, req.Handle)
	if err != nil {
		return nil, err
	}
	return agcomv1.DeactivateContact200JSONResponse{Handle: c.Handle, IsActive: c.IsActive}, nil
}
