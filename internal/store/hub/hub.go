// Package hub wakes the event subscribers of agents whose event logs grew.
// It only says "look again": subscribers read the log from their cursor,
// so a missed, merged or spurious wake-up loses nothing.
package hub

import "sync"

// Hub is safe for concurrent use; its zero value is ready.
type Hub struct {
	mu   sync.Mutex
	subs map[string]map[chan struct{}]struct{}
}

// Subscribe returns a channel that receives a signal whenever Notify names
// handle, and a function that ends the subscription.
func (h *Hub) Subscribe(handle string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
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

// Notify wakes the subscribers of handles; it never blocks.
func (h *Hub) Notify(handles []string) {
	if len(handles) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, handle := range handles {
		for ch := range h.subs[handle] {
			wake(ch)
		}
	}
}

// NotifyAll wakes every subscriber, for when wake-ups may have been missed
// (a lost connection to the database that carries them).
func (h *Hub) NotifyAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, chans := range h.subs {
		for ch := range chans {
			wake(ch)
		}
	}
}

func wake(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default: // a wake-up is already pending
	}
}
