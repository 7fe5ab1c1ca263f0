package sqlite

import "sync"

// hub wakes the subscribers of agents whose event logs grew. It only says
// "look again": subscribers read the log from their cursor, so a missed or
// merged wake-up loses nothing.
type hub struct {
	mu   sync.Mutex
	subs map[string]map[chan struct{}]struct{}
}

// Subscribe returns a channel that receives a signal whenever an event for
// handle is committed, and a function that ends the subscription.
func (s *Store) Subscribe(handle string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	h := &s.hub
	h.mu.Lock()
	if h.subs == nil {
		h.subs = map[string]map[chan struct{}]struct{}{}
	}
	if h.subs[handle] == nil {
		h.subs[handle] = map[chan struct{}]struct{}{}
	}
	h.subs[handle][ch] = struct{}{}
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(h.subs[handle], ch)
		if len(h.subs[handle]) == 0 {
			delete(h.subs, handle)
		}
	}
}

// notify wakes the subscribers of handles; it never blocks.
func (h *hub) notify(handles []string) {
	if len(handles) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, handle := range handles {
		for ch := range h.subs[handle] {
			select {
			case ch <- struct{}{}:
			default: // a wake-up is already pending
			}
		}
	}
}
