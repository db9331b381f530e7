package cluster

import (
	"sync/atomic"
	"time"
)

// syncState says whether this instance has caught up with the store's
// revocation log: ok is what every verification reads (one atomic load);
// last is when the store last answered.
type syncState struct {
	ok   atomic.Bool
	last atomic.Int64 // unix nanoseconds
}

func (s *syncState) success() {
	s.last.Store(time.Now().UnixNano())
	s.ok.Store(true)
}

// fail marks the state out of sync and reports whether it was in sync.
func (s *syncState) fail() bool { return s.ok.Swap(false) }

// stale marks the state out of sync when the store has not answered for
// d, and reports whether that changed it.
func (s *syncState) stale(d time.Duration) bool {
	if !s.ok.Load() || time.Since(time.Unix(0, s.last.Load())) <= d {
		return false
	}
	return s.ok.Swap(false)
}
