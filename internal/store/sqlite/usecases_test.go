package sqlite

import (
	"context"

	"github.com/agcom/agcom/internal/agcom"
)

// The package's tests call the write use cases on the store; they run
// through agcom.Service, as the server runs them.

func (s *Store) SetThreadMetadata(ctx context.Context, caller agcom.Caller, id, key string, value *string) error {
	return agcom.NewService(s).SetThreadMetadata(ctx, caller, id, key, value)
}

func (s *Store) MarkThreadRead(ctx context.Context, caller agcom.Caller, threadID string) (agcom.ThreadReadState, error) {
	return agcom.NewService(s).MarkThreadRead(ctx, caller, threadID)
}
