package stamp_test

import (
	"testing"
	"time"

	"github.com/agcom/agcom/internal/store/stamp"
)

// Write times never run backwards, even when the clock does, nor start
// before the latest time the database holds; ids keep increasing at one
// time.
func TestWriteTimesAndIDsOnlyGrow(t *testing.T) {
	base := time.Date(2026, 1, 2, 3, 4, 5, 6789, time.UTC)
	c := stamp.New()
	c.NotBefore(base.Add(time.Second))
	now := base
	c.Set(func() time.Time { return now })

	if got := c.Now(); !got.Equal(base.Truncate(time.Microsecond)) || got.Location() != time.UTC {
		t.Errorf("Now = %v, want %v in UTC at microseconds", got, base.Truncate(time.Microsecond))
	}
	if got, want := c.WriteNow(), base.Add(time.Second); !got.Equal(want) {
		t.Errorf("first write at %v, want the database's latest %v", got, want)
	}
	now = base.Add(2 * time.Second)
	if got := c.WriteNow(); !got.Equal(now.Truncate(time.Microsecond)) {
		t.Errorf("write after the clock moved on: %v, want %v", got, now)
	}
	now = base // the wall clock steps back
	if got, want := c.WriteNow(), base.Add(2*time.Second).Truncate(time.Microsecond); !got.Equal(want) {
		t.Errorf("write after the clock stepped back: %v, want %v", got, want)
	}

	at := c.WriteNow()
	prev := c.NewID(at)
	for range 1000 {
		id := c.NewID(at)
		if id <= prev {
			t.Fatalf("id %s after %s", id, prev)
		}
		prev = id
	}
}
