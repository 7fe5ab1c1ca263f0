package sdk

import (
	"context"

	"github.com/agcom/agcom/gen/agcomv1"
)

// response is what every generated *XResponse offers.
type response interface {
	StatusCode() int
	GetBody() []byte
}

// value turns a generated response into its success value, or into the
// *Error its answer carries. get is the response's GetJSON2xx method
// expression, e.g. (*agcomv1.SendMessageResponse).GetJSON201.
func value[R response, T any](r R, err error, get func(R) *T) (T, error) {
	var zero T
	if err != nil {
		return zero, err
	}
	if v := get(r); v != nil {
		return *v, nil
	}
	return zero, newError(r.StatusCode(), r.GetBody())
}

// SendMessage sends a message that opens a new thread (POST /messages).
func (c *Client) SendMessage(ctx context.Context, req agcomv1.SendMessageRequest) (agcomv1.Message, error) {
	r, err := c.api.SendMessageWithResponse(ctx, &agcomv1.SendMessageParams{IdempotencyKey: idempotencyKey(ctx)}, req)
	return value(r, err, (*agcomv1.SendMessageResponse).GetJSON201)
}

// SendGroupMessage sends one message to several recipients in one thread
// (POST /messages/group).
func (c *Client) SendGroupMessage(ctx context.Context, req agcomv1.SendMessageRequest) (agcomv1.Message, error) {
	r, err := c.api.SendGroupMessageWithResponse(ctx, &agcomv1.SendGroupMessageParams{IdempotencyKey: idempotencyKey(ctx)}, req)
	return value(r, err, (*agcomv1.SendGroupMessageResponse).GetJSON201)
}

// BroadcastMessage sends the message to each recipient in a thread of its
// own (POST /messages/broadcast).
func (c *Client) BroadcastMessage(ctx context.Context, req agcomv1.SendMessageRequest) (agcomv1.BroadcastResult, error) {
	r, err := c.api.BroadcastMessageWithResponse(ctx, &agcomv1.BroadcastMessageParams{IdempotencyKey: idempotencyKey(ctx)}, req)
	return value(r, err, (*agcomv1.BroadcastMessageResponse).GetJSON201)
}

// ReplyToMessage replies to a message (POST /messages/{id}/reply).
func (c *Client) ReplyToMessage(ctx context.Context, messageID string, req agcomv1.ReplyRequest) (agcomv1.Message, error) {
	r, err := c.api.ReplyToMessageWithResponse(ctx, messageID, &agcomv1.ReplyToMessageParams{IdempotencyKey: idempotencyKey(ctx)}, req)
	return value(r, err, (*agcomv1.ReplyToMessageResponse).GetJSON201)
}

// ReplyToThread replies to a thread's latest message
// (POST /threads/{id}/reply).
func (c *Client) ReplyToThread(ctx context.Context, threadID string, req agcomv1.ReplyRequest) (agcomv1.Message, error) {
	r, err := c.api.ReplyToThreadWithResponse(ctx, threadID, &agcomv1.ReplyToThreadParams{IdempotencyKey: idempotencyKey(ctx)}, req)
	return value(r, err, (*agcomv1.ReplyToThreadResponse).GetJSON201)
}

// GetMessage returns one message (GET /messages/{id}).
func (c *Client) GetMessage(ctx context.Context, messageID string) (agcomv1.Message, error) {
	r, err := c.api.GetMessageWithResponse(ctx, messageID)
	return value(r, err, (*agcomv1.GetMessageResponse).GetJSON200)
}

// ListMessages lists the messages the caller can see, newest first
// (GET /messages). params may be nil.
func (c *Client) ListMessages(ctx context.Context, params *agcomv1.ListMessagesParams) (agcomv1.MessagePage, error) {
	r, err := c.api.ListMessagesWithResponse(ctx, params)
	return value(r, err, (*agcomv1.ListMessagesResponse).GetJSON200)
}

// SearchMessages searches the subjects and bodies of the messages the
// caller can see, newest first (GET /messages/search).
func (c *Client) SearchMessages(ctx context.Context, params *agcomv1.SearchMessagesParams) (agcomv1.SearchResult, error) {
	r, err := c.api.SearchMessagesWithResponse(ctx, params)
	return value(r, err, (*agcomv1.SearchMessagesResponse).GetJSON200)
}

// ListThreads lists the caller's threads, newest activity first
// (GET /threads). params may be nil.
func (c *Client) ListThreads(ctx context.Context, params *agcomv1.ListThreadsParams) (agcomv1.ThreadPage, error) {
	r, err := c.api.ListThreadsWithResponse(ctx, params)
	return value(r, err, (*agcomv1.ListThreadsResponse).GetJSON200)
}

// GetThread returns one thread (GET /threads/{id}).
func (c *Client) GetThread(ctx context.Context, threadID string) (agcomv1.Thread, error) {
	r, err := c.api.GetThreadWithResponse(ctx, threadID)
	return value(r, err, (*agcomv1.GetThreadResponse).GetJSON200)
}

// ListThreadMessages lists a thread's messages, oldest first
// (GET /threads/{id}/messages). params may be nil.
func (c *Client) ListThreadMessages(ctx context.Context, threadID string, params *agcomv1.ListThreadMessagesParams) (agcomv1.MessagePage, error) {
	r, err := c.api.ListThreadMessagesWithResponse(ctx, threadID, params)
	return value(r, err, (*agcomv1.ListThreadMessagesResponse).GetJSON200)
}

// GetThreadMetadata returns all of a thread's metadata
// (GET /threads/{id}/metadata).
func (c *Client) GetThreadMetadata(ctx context.Context, threadID string) (agcomv1.ThreadMetadata, error) {
	r, err := c.api.GetThreadMetadataWithResponse(ctx, threadID)
	return value(r, err, (*agcomv1.GetThreadMetadataResponse).GetJSON200)
}

// GetThreadMetadataKey returns one metadata entry of a thread
// (GET /threads/{id}/metadata/{key}).
func (c *Client) GetThreadMetadataKey(ctx context.Context, threadID, key string) (agcomv1.MetadataEntry, error) {
	r, err := c.api.GetThreadMetadataKeyWithResponse(ctx, threadID, key)
	return value(r, err, (*agcomv1.GetThreadMetadataKeyResponse).GetJSON200)
}

// PutThreadMetadata sets a thread's metadata key to val, or removes the
// key when val is nil (PUT /threads/{id}/metadata).
func (c *Client) PutThreadMetadata(ctx context.Context, threadID, key string, val *string) (agcomv1.MetadataUpdateResult, error) {
	r, err := c.api.PutThreadMetadataWithResponse(ctx, threadID, agcomv1.MetadataUpdate{Key: key, Value: val})
	return value(r, err, (*agcomv1.PutThreadMetadataResponse).GetJSON200)
}

// ArchiveThread archives a thread (POST /threads/{id}/archive).
func (c *Client) ArchiveThread(ctx context.Context, threadID string) (agcomv1.ArchiveState, error) {
	r, err := c.api.ArchiveThreadWithResponse(ctx, threadID)
	return value(r, err, (*agcomv1.ArchiveThreadResponse).GetJSON200)
}

// UnarchiveThread unarchives a thread (POST /threads/{id}/unarchive).
func (c *Client) UnarchiveThread(ctx context.Context, threadID string) (agcomv1.ArchiveState, error) {
	r, err := c.api.UnarchiveThreadWithResponse(ctx, threadID)
	return value(r, err, (*agcomv1.UnarchiveThreadResponse).GetJSON200)
}

// Inbox lists the messages addressed to the caller, newest first, each
// with the caller's read state (GET /inbox); params.UnreadOnly keeps the
// unread ones. params may be nil.
func (c *Client) Inbox(ctx context.Context, params *agcomv1.ListInboxParams) (agcomv1.InboxPage, error) {
	r, err := c.api.ListInboxWithResponse(ctx, params)
	return value(r, err, (*agcomv1.ListInboxResponse).GetJSON200)
}

// MarkRead marks a message addressed to the caller read
// (POST /messages/{id}/read); reading a message never does.
func (c *Client) MarkRead(ctx context.Context, messageID string) (agcomv1.ReadState, error) {
	r, err := c.api.MarkMessageReadWithResponse(ctx, messageID)
	return value(r, err, (*agcomv1.MarkMessageReadResponse).GetJSON200)
}

// MarkUnread marks a message addressed to the caller unread
// (POST /messages/{id}/unread).
func (c *Client) MarkUnread(ctx context.Context, messageID string) (agcomv1.ReadState, error) {
	r, err := c.api.MarkMessageUnreadWithResponse(ctx, messageID)
	return value(r, err, (*agcomv1.MarkMessageUnreadResponse).GetJSON200)
}

// MarkThreadRead marks every message of a thread addressed to the caller,
// up to now, read (POST /threads/{id}/read).
func (c *Client) MarkThreadRead(ctx context.Context, threadID string) (agcomv1.ThreadReadState, error) {
	r, err := c.api.MarkThreadReadWithResponse(ctx, threadID)
	return value(r, err, (*agcomv1.MarkThreadReadResponse).GetJSON200)
}

// ListEvents reads the caller's events after params.After, oldest first
// (GET /events). With params.Wait it long-polls: it answers as soon as an
// event arrives, or after Wait seconds with no events and the same
// NextCursor. Without After it returns no events and the cursor of now. A
// cursor past the retention period is a 410 CursorExpired *Error.
// Events streams instead.
func (c *Client) ListEvents(ctx context.Context, params *agcomv1.ListEventsParams) (agcomv1.EventPage, error) {
	r, err := c.api.ListEventsWithResponse(ctx, params)
	return value(r, err, (*agcomv1.ListEventsResponse).GetJSON200)
}

// ListContacts lists the shared address book, by handle (GET /contacts).
// params may be nil.
func (c *Client) ListContacts(ctx context.Context, params *agcomv1.ListContactsParams) (agcomv1.ContactPage, error) {
	r, err := c.api.ListContactsWithResponse(ctx, params)
	return value(r, err, (*agcomv1.ListContactsResponse).GetJSON200)
}

// CreateContact adds an entry to the address book (POST /contacts); an
// existing handle is a Conflict.
func (c *Client) CreateContact(ctx context.Context, req agcomv1.ContactCreate) (agcomv1.Contact, error) {
	r, err := c.api.CreateContactWithResponse(ctx, &agcomv1.CreateContactParams{IdempotencyKey: idempotencyKey(ctx)}, req)
	return value(r, err, (*agcomv1.CreateContactResponse).GetJSON201)
}

// GetContact returns one address-book entry (GET /contacts/{handle}).
func (c *Client) GetContact(ctx context.Context, handle string) (agcomv1.Contact, error) {
	r, err := c.api.GetContactWithResponse(ctx, handle)
	return value(r, err, (*agcomv1.GetContactResponse).GetJSON200)
}

// UpdateContact replaces an entry's fields (PUT /contacts/{handle}); a
// stale req.ExpectedVersion is a VersionConflict.
func (c *Client) UpdateContact(ctx context.Context, handle string, req agcomv1.ContactUpdate) (agcomv1.Contact, error) {
	r, err := c.api.UpdateContactWithResponse(ctx, handle, req)
	return value(r, err, (*agcomv1.UpdateContactResponse).GetJSON200)
}

// DeactivateContact deactivates an entry, keeping its fields
// (DELETE /contacts/{handle}).
func (c *Client) DeactivateContact(ctx context.Context, handle string) (agcomv1.ContactDeactivated, error) {
	r, err := c.api.DeactivateContactWithResponse(ctx, handle)
	return value(r, err, (*agcomv1.DeactivateContactResponse).GetJSON200)
}

// SearchContacts searches the address book (GET /contacts/search).
func (c *Client) SearchContacts(ctx context.Context, params *agcomv1.SearchContactsParams) (agcomv1.ContactPage, error) {
	r, err := c.api.SearchContactsWithResponse(ctx, params)
	return value(r, err, (*agcomv1.SearchContactsResponse).GetJSON200)
}

// ListAuditEvents lists the audit events the caller may see, newest first
// (GET /audit/events). params may be nil.
func (c *Client) ListAuditEvents(ctx context.Context, params *agcomv1.ListAuditEventsParams) (agcomv1.AuditEventPage, error) {
	r, err := c.api.ListAuditEventsWithResponse(ctx, params)
	return value(r, err, (*agcomv1.ListAuditEventsResponse).GetJSON200)
}

// Health reports whether the server is up (GET /health); it needs no
// token.
func (c *Client) Health(ctx context.Context) (agcomv1.Health, error) {
	r, err := c.api.GetHealthWithResponse(ctx)
	return value(r, err, (*agcomv1.GetHealthResponse).GetJSON200)
}

// Readiness reports whether the server can serve, database included
// (GET /health/ready); it needs no token.
func (c *Client) Readiness(ctx context.Context) (agcomv1.Readiness, error) {
	r, err := c.api.GetReadinessWithResponse(ctx)
	return value(r, err, (*agcomv1.GetReadinessResponse).GetJSON200)
}

// ListAgents lists the registered agents (GET /admin/agents; admins only).
// params may be nil.
func (c *Client) ListAgents(ctx context.Context, params *agcomv1.ListAgentsParams) (agcomv1.AgentPage, error) {
	r, err := c.api.ListAgentsWithResponse(ctx, params)
	return value(r, err, (*agcomv1.ListAgentsResponse).GetJSON200)
}

// CreateAgent registers an agent and returns its secret, shown only this
// once (POST /admin/agents; admins only).
func (c *Client) CreateAgent(ctx context.Context, req agcomv1.AgentCreate) (agcomv1.AgentCredentials, error) {
	r, err := c.api.CreateAgentWithResponse(ctx, req)
	return value(r, err, (*agcomv1.CreateAgentResponse).GetJSON201)
}

// UpdateAgent changes an agent's flags or display name
// (PATCH /admin/agents/{handle}; admins only).
func (c *Client) UpdateAgent(ctx context.Context, handle string, req agcomv1.AgentUpdate) (agcomv1.Agent, error) {
	r, err := c.api.UpdateAgentWithResponse(ctx, handle, req)
	return value(r, err, (*agcomv1.UpdateAgentResponse).GetJSON200)
}

// RotateAgentSecret gives an agent a new secret
// (POST /admin/agents/{handle}/rotate-secret; admins only).
func (c *Client) RotateAgentSecret(ctx context.Context, handle string) (agcomv1.AgentCredentials, error) {
	r, err := c.api.RotateAgentSecretWithResponse(ctx, handle)
	return value(r, err, (*agcomv1.RotateAgentSecretResponse).GetJSON200)
}

// RevokeAgentTokens ends every token issued to an agent so far
// (POST /admin/agents/{handle}/revoke-tokens; admins only).
func (c *Client) RevokeAgentTokens(ctx context.Context, handle string) (agcomv1.Agent, error) {
	r, err := c.api.RevokeAgentTokensWithResponse(ctx, handle)
	return value(r, err, (*agcomv1.RevokeAgentTokensResponse).GetJSON200)
}

// GetStats counts threads, messages, agents and contacts
// (GET /admin/stats; admins only).
func (c *Client) GetStats(ctx context.Context) (agcomv1.Stats, error) {
	r, err := c.api.GetStatsWithResponse(ctx)
	return value(r, err, (*agcomv1.GetStatsResponse).GetJSON200)
}
