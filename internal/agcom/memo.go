package agcom

import "sync/atomic"

// Memo keeps the encoded form of an answer that a store shares between
// callers (an answer kept in memory, which nobody changes), so that it is
// encoded once rather than for every request. Lists carry one when their
// store keeps them; a nil *Memo keeps nothing.
type Memo struct {
	p atomic.Pointer[memoed]
	// held, when set, is told by how many bytes each Store changes what
	// the memo holds, so that whoever keeps the answer counts them too.
	held func(delta int)
}

type memoed struct {
	kind string
	b    []byte
}

// NewMemo returns an empty memo. held, when not nil, is told by how many
// bytes each Store changes what the memo holds.
func NewMemo(held func(delta int)) *Memo { return &Memo{held: held} }

// Load returns the encoding of the given kind (one per form the answer is
// encoded in, e.g. one per operation that returns it) kept, or nil.
func (m *Memo) Load(kind string) []byte {
	if m == nil {
		return nil
	}
	if e := m.p.Load(); e != nil && e.kind == kind {
		return e.b
	}
	return nil
}

// Store keeps b as the encoding of the given kind, in place of any other;
// nobody may change b afterwards. Callers storing at once each encoded the
// same answer, so either encoding serves.
func (m *Memo) Store(kind string, b []byte) {
	if m == nil {
		return
	}
	old := m.p.Swap(&memoed{kind, b})
	if m.held != nil {
		delta := len(b)
		if old != nil {
			delta -= len(old.b)
		}
		m.held(delta)
	}
}
