// Package stamp gives a store's writes their times and ids: a clock at the
// precision stores keep (microseconds, UTC) that tests may replace, write
// times that never run backwards, and ULIDs that increase within a process.
package stamp

import (
	"crypto/rand"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
)

// Clock hands out times and ids; its zero value is not ready, use New.
type Clock struct {
	mu    sync.Mutex
	clock func() time.Time
	last  time.Time // the latest write time handed out

	idMu    sync.Mutex
	entropy *ulid.MonotonicEntropy
}

// New returns a clock on the wall clock.
func New() *Clock {
	return &Clock{clock: time.Now, entropy: ulid.Monotonic(rand.Reader, 0)}
}

// Set replaces the clock (for tests that control time).
func (c *Clock) Set(clock func() time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clock = clock
}

// Now is the clock at the precision stores keep: microseconds, UTC.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	clock := c.clock
	c.mu.Unlock()
	return clock().UTC().Truncate(time.Microsecond)
}

// WriteNow is the time of a write transaction. It never runs backwards,
// even when the wall clock does, so the order in which one process stores
// its writes is also their (timestamp, id) order.
func (c *Clock) WriteNow() time.Time {
	now := c.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if now.Before(c.last) {
		now = c.last
	}
	c.last = now
	return now
}

// NewID returns a new ULID at time t; ids made by one Clock strictly
// increase.
func (c *Clock) NewID(t time.Time) string {
	c.idMu.Lock()
	defer c.idMu.Unlock()
	return ulid.MustNew(ulid.Timestamp(t), c.entropy).String()
}

// NotBefore makes write times start at t at the earliest: the latest time
// a database holds, when a store opens it.
func (c *Clock) NotBefore(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.last) {
		c.last = t
	}
}
