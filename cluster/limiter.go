package cluster

import (
	"context"
	"time"
)

// Policy is the rate-limit and lockout policy of authport.MemoryLimiter,
// applied across every instance: at most Limit attempts per key per
// Window; past it the key is blocked for one window, then two, four, ...
// up to 32 windows for each further window in a row that goes over, and
// the back-off is forgotten after 32 quiet windows.
type Policy struct {
	Limit  int
	Window time.Duration
}

// MaxBlock is the longest block: 32 windows.
func (p Policy) MaxBlock() time.Duration { return 32 * p.Window }

// Limiter returns an authport.RateLimiter that counts attempts in the
// shared store, so that a brute force spread over every instance is
// limited as if by one. When the store cannot be reached it returns an
// error, which authport.Web answers with 503: fail closed. It panics if
// limit < 1 or window <= 0, as authport.NewMemoryLimiter does.
func (c *Cluster) Limiter(limit int, window time.Duration) RateLimiter {
	if limit < 1 || window <= 0 {
		panic("cluster: Limiter needs limit >= 1 and window > 0")
	}
	return limiter{c.store, Policy{Limit: limit, Window: window}}
}

// RateLimiter counts an attempt for key and reports whether it may
// proceed, and if not, when to retry.
type RateLimiter interface {
	Allow(ctx context.Context, key string) (ok bool, retryAfter time.Duration, err error)
}

type limiter struct {
	st Store
	p  Policy
}

func (l limiter) Allow(ctx context.Context, key string) (bool, time.Duration, error) {
	return l.st.Allow(ctx, "rl:"+key, l.p)
}

// LimitState is one key's counter under a Policy, as an engine stores it
// (milliseconds on the store's clock). The zero value is a key never seen.
type LimitState struct {
	Start, Count, Strikes, Blocked, Last int64
}

// Step counts an attempt at now (milliseconds) and returns the new state,
// whether the attempt may proceed, how long to wait if not, and how long
// the engine must keep the state (after that it is forgotten as it would
// be by authport.MemoryLimiter). Engines that cannot run Go next to their
// data (Redis) implement the same steps in a script.
func (p Policy) Step(s LimitState, now int64) (next LimitState, ok bool, wait, keep time.Duration) {
	window, maxBlock := p.Window.Milliseconds(), p.MaxBlock().Milliseconds()
	if s == (LimitState{}) {
		s.Start, s.Last = now, now
	}
	if now < s.Blocked {
		return s, false, time.Duration(s.Blocked-now) * time.Millisecond, time.Duration(s.Blocked-now+maxBlock+window) * time.Millisecond
	}
	if s.Strikes > 0 && now-s.Last > maxBlock {
		s.Strikes = 0 // quiet long enough: forgive
	}
	if now-s.Start >= window {
		s.Start, s.Count = now, 0
	}
	s.Last = now
	s.Count++
	var d int64
	if s.Count > int64(p.Limit) {
		s.Strikes++
		d = min(window<<min(s.Strikes-1, 5), maxBlock)
		s.Blocked, s.Start, s.Count = now+d, now+d, 0
	}
	return s, d == 0, time.Duration(d) * time.Millisecond, time.Duration(d+maxBlock+window) * time.Millisecond
}
