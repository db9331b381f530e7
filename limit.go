package authport

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"time"
)

// LimitPolicy shapes one rate limit. Within a window the first Free events
// pass at once; after that each event imposes a pause before the next one,
// Base at first and doubling with every further event up to Max. The count
// resets when the window has passed and no pause is running, so a pause
// never lasts longer than Max: a victim is slowed down, never locked out
// for good.
type LimitPolicy struct {
	// Free events pass without a pause within Window.
	Free int
	// Window is how long the count lasts.
	Window time.Duration
	// Base is the first pause; it doubles per further event up to Max.
	Base, Max time.Duration
}

// Pause returns the pause imposed after the count-th event of a window
// (0: none). Every Limiter applies this one rule, whatever its store.
func (p LimitPolicy) Pause(count int) time.Duration {
	if count < p.Free {
		return 0
	}
	d := p.Base
	for i := p.Free; i < count && d < p.Max; i++ {
		d *= 2
	}
	return min(d, p.Max)
}

// Limiter keeps rate-limit counters: the one limiter the HTTP layer and
// the DIY backend share. NewMemoryLimiter is the in-process one; a shared
// store (Redis, PostgreSQL) lets several instances count together, and
// package limitertest checks any implementation against this contract.
// Implementations must be safe for concurrent use. An error means the
// counters could not be read, and callers refuse the attempt (503): fail
// closed.
type Limiter interface {
	// Hit counts one event for key under p unless key is paused. It
	// returns 0 if the event may go ahead, or how long the caller must
	// wait (the event is then not counted).
	Hit(ctx context.Context, key string, p LimitPolicy) (time.Duration, error)
	// Peek returns how long key is paused, without counting an event.
	Peek(ctx context.Context, key string) (time.Duration, error)
	// Reset forgets key.
	Reset(ctx context.Context, key string) error
}

// NoLimits is a Limiter that never limits (for tests and benchmarks; never
// use it in production).
var NoLimits Limiter = noLimits{}

type noLimits struct{}

func (noLimits) Hit(context.Context, string, LimitPolicy) (time.Duration, error) { return 0, nil }
func (noLimits) Peek(context.Context, string) (time.Duration, error)             { return 0, nil }
func (noLimits) Reset(context.Context, string) error                             { return nil }

// LimiterKey builds a counter key from a scope ("signin-acct") and a
// subject (an email address, an address, a device). The subject is hashed,
// so counter stores never hold email addresses in clear.
func LimiterKey(scope, subject string) string {
	h := sha256.Sum256([]byte(subject))
	return scope + ":" + hex.EncodeToString(h[:12])
}

// DefaultMaxLimiterKeys is MemoryLimiter's default bound on counters: about
// 40 MB at most.
const DefaultMaxLimiterKeys = 250_000

// MemoryLimiter is the in-process Limiter, fine for one instance. Expired
// counters are swept as it goes; at most MaxKeys are kept, and when the
// table is full (after a sweep) a new key is refused with a one-second
// pause rather than letting memory grow or evicting live counters (which
// would hand an attacker a fresh budget). A known device never needs a new
// key to sign in (see SignInGuard), so a flood of keys cannot lock it out.
type MemoryLimiter struct {
	// Now returns the current time (default time.Now).
	Now func() time.Time
	// MaxKeys caps the number of counters (default DefaultMaxLimiterKeys).
	MaxKeys int

	mu  sync.Mutex
	m   map[string]*memCounter
	ops int
}

type memCounter struct {
	count       int
	windowEnd   time.Time
	pausedUntil time.Time
}

func (c *memCounter) expired(now time.Time) bool {
	return !now.Before(c.windowEnd) && !now.Before(c.pausedUntil)
}

// NewMemoryLimiter returns an empty MemoryLimiter on the real clock.
func NewMemoryLimiter() *MemoryLimiter { return &MemoryLimiter{} }

func (l *MemoryLimiter) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

// Hit implements Limiter.
func (l *MemoryLimiter) Hit(_ context.Context, key string, p LimitPolicy) (time.Duration, error) {
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
			maxKeys = DefaultMaxLimiterKeys
		}
		if _, exists := l.m[key]; !exists && len(l.m) >= maxKeys {
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
	if d := p.Pause(c.count); d > 0 {
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

// Limits are the policies of the HTTP layer and the DIY backend. Zero
// fields take the value of DefaultLimits (WithDefaults).
type Limits struct {
	// SignInIP counts every sign-in attempt from one client address by a
	// device that is not known for the account.
	SignInIP LimitPolicy
	// SignInAccount counts sign-in attempts for one account (email
	// address, whether or not it exists) from devices that are not known
	// for it. Known devices are exempt, so strangers exhausting it slow
	// down only other unknown devices.
	SignInAccount LimitPolicy
	// SignInDevice counts sign-in attempts from one known device for its
	// account; a successful sign-in resets it.
	SignInDevice LimitPolicy
	// SignUpIP counts sign-up attempts from one client address.
	SignUpIP LimitPolicy
	// SignUpAccount counts sign-up attempts for one email address.
	SignUpAccount LimitPolicy
	// RefreshIP counts refreshes from one client address.
	RefreshIP LimitPolicy
	// RefreshAccount counts refreshes of one user.
	RefreshAccount LimitPolicy
}

// DefaultLimits are the default policies. From devices not known for an
// account, the account sees at most MaxGuessesPerHour(SignInAccount)
// password guesses an hour (56 with these values, under ASVS's 100), however
// many addresses they come from; the longest pause is 15 minutes.
var DefaultLimits = Limits{
	SignInIP:       LimitPolicy{Free: 30, Window: time.Minute, Base: time.Second, Max: 5 * time.Minute},
	SignInAccount:  LimitPolicy{Free: 5, Window: 15 * time.Minute, Base: time.Second, Max: 15 * time.Minute},
	SignInDevice:   LimitPolicy{Free: 10, Window: 15 * time.Minute, Base: time.Second, Max: 15 * time.Minute},
	SignUpIP:       LimitPolicy{Free: 10, Window: time.Hour, Base: 10 * time.Second, Max: time.Hour},
	SignUpAccount:  LimitPolicy{Free: 3, Window: time.Hour, Base: 10 * time.Second, Max: time.Hour},
	RefreshIP:      LimitPolicy{Free: 120, Window: time.Minute, Base: time.Second, Max: time.Minute},
	RefreshAccount: LimitPolicy{Free: 60, Window: time.Minute, Base: time.Second, Max: time.Minute},
}

// WithDefaults returns l with every unset policy taken from DefaultLimits
// and every partly set one completed (a Window and Base, Max ≥ Base).
func (l Limits) WithDefaults() Limits {
	fill := func(p *LimitPolicy, d LimitPolicy) {
		if *p == (LimitPolicy{}) {
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
	fill(&l.SignInDevice, DefaultLimits.SignInDevice)
	fill(&l.SignUpIP, DefaultLimits.SignUpIP)
	fill(&l.SignUpAccount, DefaultLimits.SignUpAccount)
	fill(&l.RefreshIP, DefaultLimits.RefreshIP)
	fill(&l.RefreshAccount, DefaultLimits.RefreshAccount)
	return l
}

// MaxGuessesPerHour is the most events p lets through in an hour of
// sustained attempts (a client retrying the moment each pause ends): the
// documented brute-force bound of a sign-in policy.
func MaxGuessesPerHour(p LimitPolicy) int {
	var t time.Duration
	n, count := 0, 0
	windowEnd := p.Window
	for t < time.Hour {
		if t >= windowEnd {
			count, windowEnd = 0, t+p.Window
		}
		count++
		n++
		d := p.Pause(count)
		if d <= 0 {
			continue // free events are as fast as the client
		}
		t += d
	}
	return n
}

// SignInGuard applies the sign-in lockout policy (OWASP's device cookies):
// an attacker who does not know a password cannot stop its owner from
// signing in.
//
//   - A known device — one that signed in to the account before and shows
//     the known-device credential Web issued it (ClientInfo.Device) —
//     counts only against its own SignInDevice budget. Failures by
//     strangers, from any number of addresses, never slow it down.
//   - Any other device counts against its address (SignInIP) and the
//     account (SignInAccount). Both pause rather than lock: the longest
//     wait is the policy's Max, and the account sees at most
//     MaxGuessesPerHour(SignInAccount) guesses an hour from unknown devices,
//     however many addresses they use.
//
// Every attempt is counted before the password is checked, so concurrent
// guesses cannot slip past the count. A success resets the budget it was
// counted against (see Succeeded); the bound above therefore grows by
// SignInAccount.Free for each sign-in of the owner from an unknown device,
// which, through Web, leaves that device known.
type SignInGuard struct {
	// Limiter keeps the counters.
	Limiter Limiter
	// Limits are the policies (SignInIP, SignInAccount, SignInDevice).
	Limits Limits
	// Scope prefixes the counter keys, so two layers sharing one store
	// (Web and the DIY backend) count apart.
	Scope string
}

// Check counts one sign-in attempt for account (an email address, already
// normalised) from address ip ("" when unknown) and device (the
// known-device id, "" for an unknown device). It returns 0 if the password
// may be checked, or how long the client must wait. An error means the
// limiter failed; refuse the attempt.
func (g SignInGuard) Check(ctx context.Context, ip, account, device string) (time.Duration, error) {
	if device != "" {
		return g.Limiter.Hit(ctx, g.DeviceKey(account, device), g.Limits.SignInDevice)
	}
	if ip != "" {
		if d, err := g.Limiter.Hit(ctx, LimiterKey(g.Scope+"signin-ip", ip), g.Limits.SignInIP); err != nil || d > 0 {
			return d, err
		}
	}
	return g.Limiter.Hit(ctx, g.AccountKey(account), g.Limits.SignInAccount)
}

// Succeeded records a successful sign-in: the budget it was counted
// against starts afresh — the device's for a known device, else the
// account's (the client proved the password; through Web it now holds a
// known-device cookie too). A known device's success leaves the account's
// count alone, so the owner signing in never hands strangers a fresh
// budget.
func (g SignInGuard) Succeeded(ctx context.Context, account, device string) error {
	if device == "" {
		return g.Limiter.Reset(ctx, g.AccountKey(account))
	}
	return g.Limiter.Reset(ctx, g.DeviceKey(account, device))
}

// AccountKey is the counter key of account's budget for unknown devices.
func (g SignInGuard) AccountKey(account string) string {
	return LimiterKey(g.Scope+"signin-acct", account)
}

// DeviceKey is the counter key of a known device's budget for account.
func (g SignInGuard) DeviceKey(account, device string) string {
	return LimiterKey(g.Scope+"signin-dev", account+"\x00"+device)
}
