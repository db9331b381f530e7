package emulator

import (
	"sync"
	"time"
)

// Clock is the emulator's time source. The zero value and a nil *Clock both
// read the real time; Advance and Set move it for tests that must not sleep.
// Pass Clock.Now to the adapter under test (its Config.Clock) so the
// emulator and the verifier agree on what "now" is.
//
// A Clock is safe for concurrent use.
type Clock struct {
	mu     sync.Mutex
	offset time.Duration
	frozen bool
	at     time.Time
}

// NewClock returns a clock that follows the real time until it is advanced.
func NewClock() *Clock { return &Clock{} }

// FixedClock returns a clock frozen at t; it moves only with Advance or Set.
func FixedClock(t time.Time) *Clock { return &Clock{frozen: true, at: t} }

// Now returns the clock's current time.
func (c *Clock) Now() time.Time {
	if c == nil {
		return time.Now()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frozen {
		return c.at
	}
	return time.Now().Add(c.offset)
}

// Advance moves the clock forward by d (backward if d is negative).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frozen {
		c.at = c.at.Add(d)
		return
	}
	c.offset += d
}

// Set moves the clock to t; a running clock keeps running from there.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frozen {
		c.at = t
		return
	}
	c.offset = time.Until(t)
}
