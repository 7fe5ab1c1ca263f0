package httpapi

import (
	"github.com/agcom/agcom/gen/agcomv1"
	"github.com/agcom/agcom/internal/agcom"
)

// Converters between the generated API models and the domain types. Every
// crossing of the boundary goes through one of these.

// Defaults of optional parameters and properties that the handlers apply
// (the validator leaves them out), as openapi.yaml gives them;
// defaults_test.go fails when the two differ.
const (
	defaultSearchIn = true // in_subject and in_body of a message search
	defaultActive   = true // active_only of a contact list, is_active of a contact update
)

func toAPIMessage(m agcom.Message) agcomv1.Message {
	return agcomv1.Message{
		MessageId:  m.ID,
		ThreadId:   m.ThreadID,
		FromHandle: m.FromHandle,
		ToHandles:  nonNil(m.ToHandles),
		Subject:    m.Subject,
		Body:       m.Body,
		CreatedAt:  m.CreatedAt,
		InReplyTo:  optional(m.InReplyTo),
		Tags:       nonNil(m.Tags),
		// Absent rather than empty: answers of messages without
		// attachments stay as they were.
		Attachments: toAPIAttachments(m.Attachments),
	}
}

// convertAll converts every item with convert.
func convertAll[T, U any](items []T, convert func(T) U) []U {
	out := make([]U, len(items))
	for i, it := range items {
		out[i] = convert(it)
	}
	return out
}

func toAPIMessages(ms []agcom.Message) []agcomv1.Message { return convertAll(ms, toAPIMessage) }

func toAPIBroadcast(ms []agcom.Message) agcomv1.BroadcastResult {
	return agcomv1.BroadcastResult{Messages: toAPIMessages(ms), Count: len(ms)}
}

func toAPIThread(t agcom.Thread) agcomv1.Thread {
	md := t.Metadata
	if md == nil {
		md = map[string]string{}
	}
	return agcomv1.Thread{
		ThreadId:           t.ID,
		Subject:            t.Subject,
		ParticipantHandles: nonNil(t.Participants),
		CreatedAt:          t.CreatedAt,
		LastActivityAt:     t.LastActivityAt,
		Metadata:           md,
		UnreadCount:        t.UnreadCount,
	}
}

func toAPIPagination(p agcom.Pagination) agcomv1.Pagination {
	return agcomv1.Pagination{Offset: p.Offset, Limit: p.Limit, Total: p.Total, HasMore: p.HasMore}
}

func toAPIContact(c agcom.Contact) agcomv1.Contact {
	return agcomv1.Contact{
		Handle:      c.Handle,
		DisplayName: optional(c.DisplayName),
		Description: optional(c.Description),
		Tags:        nonNil(c.Tags),
		IsActive:    c.IsActive,
		CreatedAt:   c.CreatedAt,
		UpdatedAt:   c.UpdatedAt,
		UpdatedBy:   c.UpdatedBy,
		Version:     c.Version,
	}
}

func toAPIContactPage(l agcom.ContactList) agcomv1.ContactPage {
	return agcomv1.ContactPage{Contacts: convertAll(l.Contacts, toAPIContact), Pagination: toAPIPagination(l.Pagination)}
}

func toAPIAuditEvent(e agcom.AuditEvent) agcomv1.AuditEvent {
	d := e.Details
	if d == nil {
		d = map[string]any{}
	}
	targets := e.TargetHandles
	if targets == nil {
		targets = []string{}
	}
	return agcomv1.AuditEvent{
		EventId:       e.ID,
		EventType:     agcomv1.AuditEventType(e.Type),
		ActorHandle:   optional(e.ActorHandle),
		TargetHandle:  optional(e.TargetHandle()),
		TargetHandles: targets,
		Details:       d,
		Timestamp:     e.Timestamp,
	}
}

func toAPIAgent(a agcom.Agent) agcomv1.Agent {
	return agcomv1.Agent{
		Handle:      a.Handle,
		DisplayName: optional(a.DisplayName),
		IsAdmin:     a.IsAdmin,
		Disabled:    a.Disabled,
		CreatedAt:   a.CreatedAt,
		UpdatedAt:   a.UpdatedAt,
	}
}

func toDomainNewMessage(b *agcomv1.SendMessageRequest) agcom.NewMessage {
	return agcom.NewMessage{ToHandles: b.ToHandles, Subject: b.Subject, Body: b.Body, Tags: deref(b.Tags),
		AttachmentIDs: deref(b.AttachmentIds)}
}

func toDomainReply(b *agcomv1.ReplyRequest) agcom.Reply {
	return agcom.Reply{Body: b.Body, Tags: deref(b.Tags), AttachmentIDs: deref(b.AttachmentIds)}
}

// toDomainPage converts the paging parameters, which the validator has
// held to the contract's bounds. An absent limit is 0: the default page.
func toDomainPage(limit, offset *int) agcom.Page {
	return agcom.Page{Limit: deref(limit), Offset: deref(offset)}
}

// optional maps the domain's "empty means absent" onto a nullable field.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// orDefault returns *p, or def when p is nil: an optional parameter or
// property the request left out takes the contract's default.
func orDefault[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// deref returns *p, or the zero value for nil.
func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// nonNil makes empty lists encode as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
