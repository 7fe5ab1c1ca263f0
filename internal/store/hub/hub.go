// Package hub wakes the event subscribers of agents whose event logs grew.
// It only says "look again": subscribers read the log from their cursor,
// so a missed, merged or spurious wake-up loses nothing.
package hub

import "sync"

// AllThreads is the key under which every thread's events are announced
// (and, in the stores, the log that holds them once for all admins). No
// handle can be "*".
const AllThreads = "*"

// Hub is safe for concurrent use; its zero value is ready.
type Hub struct {
	mu   sync.Mutex
	subs map[string]map[chan struct{}]struct{}
}

// Subscribe returns a channel that receives a signal whenever Notify names
// one of keys, and a function that ends the subscription.
func (h *Hub) Subscribe(keys ...string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	h.mu.Lock()
	if h.subs == nil {
		h.subs = map[string]map[chan struct{}]struct{}{}
	}
	for _, key := range keys {
		if h.subs[key] == nil {
			h.subs[key] = map[chan struct{}]struct{}{}
		}
		h.subs[key][ch] = struct{}{}
	}
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, key := range keys {
			delete(h.subs[key], ch)
			if len(h.subs[key]) == 0 {
				delete(h.subs, key)
			}
		}
	}
}

// Notify wakes the subscribers of keys; it never blocks.
func (h *Hub) Notify(keys []string) {
	if len(keys) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, key := range keys {
		for ch := range h.subs[key] {
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
