package sqlite

import (
	"context"

	"github.com/agcom/agcom/internal/agcom"
)

// The view cache's tests (views_test.go) write through these methods of
// the store: each runs the use case through agcom.Service, as the server
// does, with an actor acting as an admin.

func (s *Store) SetThreadMetadata(ctx context.Context, caller agcom.Caller, id, key string, value *string) error {
	return agcom.NewService(s).SetThreadMetadata(ctx, caller, id, key, value)
}

func (s *Store) MarkThreadRead(ctx context.Context, caller agcom.Caller, threadID string) (agcom.ThreadReadState, error) {
	return agcom.NewService(s).MarkThreadRead(ctx, caller, threadID)
}

func (s *Store) CreateAgent(ctx context.Context, actor string, a agcom.Agent, secretHash string) (agcom.Agent, error) {
	return agcom.NewService(s).CreateAgent(ctx, asAdmin(actor), a, secretHash)
}

func (s *Store) UpdateAgent(ctx context.Context, actor, handle string, u agcom.AgentUpdate) (agcom.Agent, error) {
	return agcom.NewService(s).UpdateAgent(ctx, asAdmin(actor), handle, u)
}

func (s *Store) SetAgentSecret(ctx context.Context, actor, handle, secretHash string) (agcom.Agent, error) {
	return agcom.NewService(s).SetAgentSecret(ctx, asAdmin(actor), handle, secretHash)
}

func (s *Store) EnsureAdmin(ctx context.Context, handle, secretHash string) error {
	return agcom.NewService(s).EnsureAdmin(ctx, handle, secretHash)
}

func (s *Store) RecordTokenFailure(ctx context.Context, handle, reason, clientAddr string) error {
	return agcom.NewService(s).RecordTokenFailure(ctx, handle, reason, clientAddr)
}

func asAdmin(handle string) agcom.Caller { return agcom.Caller{Handle: handle, IsAdmin: true} }
