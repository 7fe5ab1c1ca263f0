package sqlite

import (
	"github.com/agcom/agcom/internal/agcom"
	"github.com/agcom/agcom/internal/store/hub"
)

// Subscribe returns a channel that receives a signal whenever an event the
// caller reads is committed (an admin's include every thread's), and a
// function that ends the subscription.
func (s *Store) Subscribe(caller agcom.Caller) (<-chan struct{}, func()) {
	if caller.IsAdmin {
		return s.hub.Subscribe(caller.Handle, hub.AllThreads)
	}
	return s.hub.Subscribe(caller.Handle)
}
