package sqlite

// Subscribe returns a channel that receives a signal whenever an event for
// handle is committed, and a function that ends the subscription.
func (s *Store) Subscribe(handle string) (<-chan struct{}, func()) {
	return s.hub.Subscribe(handle)
}
