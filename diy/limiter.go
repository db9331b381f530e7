package diy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Policy shapes one rate limit. Within a window the first Free events pass
// at once; after that each event imposes a pause before the next one, Base
// at first and doubling with every further event up to Max. The count
// resets when the window has passed and no pause is running, so nobody is
// locked out for longer than Max (no permanent lock-out of a victim).
type Policy struct {
	// Free events pass without a pause within Window.
	Free int
	// Window is how long the count lasts.
	Window time.Duration
	// Base is the first pause; it doubles per further event up to Max.
	Base, Max time.Duration
}

// pause returns the pause imposed after the count-th event.
func (p Policy) pause(count int) time.Duration {
	if count < p.Free {
		return 0
	}
	d := p.Base
	for i := p.Free; i < count && d < p.Max; i++ {
		d *= 2
	}
	return min(d, p.Max)
}

// Limits are the policies the backend applies. Zero fields take the
// defaults of DefaultLimits.
type Limits struct {
	// SignInIP counts every sign-in attempt from one client address.
	SignInIP Policy
	// SignInAccount counts failed sign-ins (and failed password checks on
	// password change) for one email address, whether or not it exists;
	// a success resets it.
	SignInAccount Policy
	// SignUpIP counts sign-up attempts from one client address.
	SignUpIP Policy
	// SignUpAccount counts sign-up attempts for one email address.
	SignUpAccount Policy
	// RefreshIP counts refreshes from one client address.
	RefreshIP Policy
	// RefreshAccount counts refreshes of one user.
	RefreshAccount Policy
}

// DefaultLimits are the default policies. Failed sign-ins for one account
// are held well under 100 an hour (ASVS 2.2.1); the longest pause is 15
// minutes.
var DefaultLimits = Limits{
	SignInIP:       Policy{Free: 30, Window: time.Minute, Base: time.Second, Max: 5 * time.Minute},
	SignInAccount:  Policy{Free: 5, Window: 15 * time.Minute, Base: time.Second, Max: 15 * time.Minute},
	SignUpIP:       Policy{Free: 10, Window: time.Hour, Base: 10 * time.Second, Max: time.Hour},
	SignUpAccount:  Policy{Free: 3, Window: time.Hour, Base: 10 * time.Second, Max: time.Hour},
	RefreshIP:      Policy{Free: 120, Window: time.Minute, Base: time.Second, Max: time.Minute},
	RefreshAccount: Policy{Free: 60, Window: time.Minute, Base: time.Second, Max: time.Minute},
}

func (l Limits) withDefaults() Limits {
	fill := func(p *Policy, d Policy) {
		if p.Free == 0 && p.Window == 0 && p.Base == 0 && p.Max == 0 {
			*p = d
		}
		if p.Window <= 0 {
			p.Window = d.Window
		}
		if p.Base <= 0 {
			p.Base = d.Base
		}
		if p.Max < p.Base {
			p.Max = p.Base
		}
	}
	fill(&l.SignInIP, DefaultLimits.SignInIP)
	fill(&l.SignInAccount, DefaultLimits.SignInAccount)
	fill(&l.SignUpIP, DefaultLimits.SignUpIP)
	fill(&l.SignUpAccount, DefaultLimits.SignUpAccount)
	fill(&l.RefreshIP, DefaultLimits.RefreshIP)
	fill(&l.RefreshAccount, DefaultLimits.RefreshAccount)
	return l
}

// Limiter keeps rate-limit counters. The in-memory MemoryLimiter is the
// default; redisstore.Limiter shares counters between instances.
// Implementations must be safe for concurrent use. An error means the
// counters could not be read; the backend then refuses the attempt with
// ErrProviderUnavailable (fail closed).
type Limiter interface {
	// Hit counts one event for key under p unless key is paused. It
	// returns 0 if the event may go ahead, or how long the caller must
	// wait (the event is then not counted).
	Hit(ctx context.Context, key string, p Policy) (time.Duration, error)
	// Peek returns how long key is paused without counting an event.
	Peek(ctx context.Context, key string) (time.Duration, error)
	// Reset forgets key.
	Reset(ctx context.Context, key string) error
}

// NoLimits is a Limiter that never limits (for tests and benchmarks; do not
// use it in production).
var NoLimits Limiter = noLimits{}

type noLimits struct{}

func (noLimits) Hit(context.Context, string, Policy) (time.Duration, error) { return 0, nil }
func (noLimits) Peek(context.Context, string) (time.Duration, error)        { return 0, nil }
func (noLimits) Reset(context.Context, string) error                        { return nil }

// LimiterKey builds a counter key from a scope ("signin-acct") and a
// subject (an email address, an IP). The subject is hashed, so stores never
// hold email addresses in clear.
func LimiterKey(scope, subject string) string {
	h := sha256.Sum256([]byte(subject))
	return scope + ":" + hex.EncodeToString(h[:12])
}

// MemoryLimiter is an in-process Limiter: fine for one instance. Expired
// counters are swept as it goes; at most MaxKeys are kept, and when full
// (after a sweep) new keys are refused with a short pause rather than
// letting memory grow without bound.
type MemoryLimiter struct {
	// Now returns the current time (default time.Now).
	Now func() time.Time
	// MaxKeys caps the number of counters (default 1,000,000).
	MaxKeys int

	mu      sync.Mutex
	m       map[string]*memCounter
	ops     int
	nextGen time.Time
}

type memCounter struct {
	count       int
	windowEnd   time.Time
	pausedUntil time.Time
}

func (c *memCounter) expired(now time.Time) bool {
	return !now.Before(c.windowEnd) && !now.Before(c.pausedUntil)
}

// NewMemoryLimiter returns an empty MemoryLimiter.
func NewMemoryLimiter() *MemoryLimiter { return &MemoryLimiter{} }

func (l *MemoryLimiter) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

// Hit implements Limiter.
func (l *MemoryLimiter) Hit(_ context.Context, key string, p Policy) (time.Duration, error) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = make(map[string]*memCounter)
	}
	l.ops++
	if l.ops%1024 == 0 {
		l.sweep(now)
	}
	c := l.m[key]
	if c != nil && c.expired(now) {
		c = nil
	}
	if c == nil {
		maxKeys := l.MaxKeys
		if maxKeys <= 0 {
			maxKeys = 1_000_000
		}
		if len(l.m) >= maxKeys {
			l.sweep(now)
			if len(l.m) >= maxKeys {
				return time.Second, nil
			}
		}
		c = &memCounter{windowEnd: now.Add(p.Window)}
		l.m[key] = c
	}
	if now.Before(c.pausedUntil) {
		return c.pausedUntil.Sub(now), nil
	}
	c.count++
	if d := p.pause(c.count); d > 0 {
		c.pausedUntil = now.Add(d)
	}
	return 0, nil
}

// Peek implements Limiter.
func (l *MemoryLimiter) Peek(_ context.Context, key string) (time.Duration, error) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if c := l.m[key]; c != nil && now.Before(c.pausedUntil) {
		return c.pausedUntil.Sub(now), nil
	}
	return 0, nil
}

// Reset implements Limiter.
func (l *MemoryLimiter) Reset(_ context.Context, key string) error {
	l.mu.Lock()
	delete(l.m, key)
	l.mu.Unlock()
	return nil
}

// Len reports how many counters are held (for tests and metrics).
func (l *MemoryLimiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}

func (l *MemoryLimiter) sweep(now time.Time) {
	for k, c := range l.m {
		if c.expired(now) {
			delete(l.m, k)
		}
	}
}

// retryAfterError carries how long a client should wait; it is the cause
// inside an *authport.Error of kind ErrRateLimited or ErrProviderUnavailable.
type retryAfterError struct{ d time.Duration }

func retryAfter(d time.Duration) error { return &retryAfterError{d} }

func (e *retryAfterError) Error() string {
	return fmt.Sprintf("retry after %ds", int((e.d+time.Second-1)/time.Second))
}

// RetryAfter is how long to wait, rounded up to whole seconds, at least 1 s.
func (e *retryAfterError) RetryAfter() time.Duration {
	s := (e.d + time.Second - 1) / time.Second
	return max(s, 1) * time.Second
}

// RetryAfter reports how long the client should wait before trying again,
// for errors of kind ErrRateLimited and ErrProviderUnavailable that know it
// (the value for a Retry-After header).
func RetryAfter(err error) (time.Duration, bool) {
	var r interface{ RetryAfter() time.Duration }
	if errors.As(err, &r) {
		return r.RetryAfter(), true
	}
	return 0, false
}
