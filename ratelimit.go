package authport

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// RateLimiter decides whether an attempt identified by key may proceed.
// Keys look like "login:ip:203.0.113.7" or "login:email:<hash>"; email
// addresses are hashed before they become keys. An error means the limiter
// could not decide, and the attempt is refused (503): fail closed.
// Implementations must be safe for concurrent use; diy/redisstore provides
// one shared by several instances.
type RateLimiter interface {
	Allow(ctx context.Context, key string) (ok bool, retryAfter time.Duration, err error)
}

// RateLimitError is the error for a refused attempt: of kind ErrRateLimited
// (errors.Is), answered with 429 and a Retry-After header.
type RateLimitError struct {
	// After is how long the client should wait.
	After time.Duration
}

// Error describes the refusal.
func (e *RateLimitError) Error() string {
	return "authport: rate limited: retry after " + e.After.Round(time.Second).String()
}

// Is matches ErrRateLimited.
func (e *RateLimitError) Is(target error) bool { return target == ErrRateLimited }

// RetryAfter returns After; WriteError uses it for Retry-After.
func (e *RateLimitError) RetryAfter() time.Duration { return e.After }

// MemoryLimiter is an in-process RateLimiter: at most limit attempts per
// key per window, then the key is blocked with exponential back-off (one
// window, then two, four, ... up to 32 windows). The back-off is forgotten
// after a quiet period of 32 windows, so a victim whose address or account
// is being attacked is slowed down but never locked out for good. Memory is
// bounded: idle keys are evicted, and at most 65536 keys are kept.
type MemoryLimiter struct {
	limit    int
	window   time.Duration
	maxBlock time.Duration
	maxKeys  int
	now      func() time.Time

	mu        sync.Mutex
	entries   map[string]*limitEntry
	lastSweep time.Time
}

type limitEntry struct {
	start        time.Time // start of the current window
	count        int       // attempts in the current window
	strikes      int       // windows in a row that went over the limit
	blockedUntil time.Time
	last         time.Time // last attempt
}

// NewMemoryLimiter returns a MemoryLimiter allowing limit attempts per key
// per window. It panics if limit < 1 or window <= 0.
func NewMemoryLimiter(limit int, window time.Duration) *MemoryLimiter {
	if limit < 1 || window <= 0 {
		panic("authport: NewMemoryLimiter needs limit >= 1 and window > 0")
	}
	return &MemoryLimiter{
		limit:    limit,
		window:   window,
		maxBlock: 32 * window,
		maxKeys:  1 << 16,
		now:      time.Now,
		entries:  make(map[string]*limitEntry),
	}
}

// Allow counts an attempt for key and reports whether it may proceed, and
// if not, when to retry. It never returns an error.
func (l *MemoryLimiter) Allow(_ context.Context, key string) (bool, time.Duration, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Sub(l.lastSweep) > l.window {
		l.sweep(now)
	}
	e := l.entries[key]
	if e == nil {
		if len(l.entries) >= l.maxKeys {
			l.sweep(now)
			l.evictOne(now)
		}
		e = &limitEntry{start: now}
		l.entries[key] = e
	}
	if now.Before(e.blockedUntil) {
		return false, e.blockedUntil.Sub(now), nil
	}
	if e.strikes > 0 && now.Sub(e.last) > l.maxBlock {
		e.strikes = 0 // quiet long enough: forgive
	}
	if now.Sub(e.start) >= l.window {
		e.start, e.count = now, 0
	}
	e.last = now
	e.count++
	if e.count <= l.limit {
		return true, 0, nil
	}
	e.strikes++
	d := l.window << min(e.strikes-1, 5)
	d = min(d, l.maxBlock)
	e.blockedUntil = now.Add(d)
	e.start, e.count = e.blockedUntil, 0
	return false, d, nil
}

// sweep drops keys that are neither blocked nor remembered for back-off.
func (l *MemoryLimiter) sweep(now time.Time) {
	l.lastSweep = now
	for k, e := range l.entries {
		if !now.Before(e.blockedUntil) && now.Sub(e.last) > l.window && (e.strikes == 0 || now.Sub(e.last) > l.maxBlock) {
			delete(l.entries, k)
		}
	}
}

// evictOne makes room when every key is live: an unblocked key if there is
// one, else any.
func (l *MemoryLimiter) evictOne(now time.Time) {
	if len(l.entries) < l.maxKeys {
		return
	}
	var victim string
	found := false
	for k, e := range l.entries {
		if !found {
			victim, found = k, true
		}
		if !now.Before(e.blockedUntil) {
			victim = k
			break
		}
	}
	delete(l.entries, victim)
}

// Len returns the number of keys the limiter currently remembers.
func (l *MemoryLimiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries)
}

// allow asks the limiter about key; a refusal is a *RateLimitError, a
// limiter failure an ErrProviderUnavailable.
func (w *Web) allow(ctx context.Context, key string) error {
	ok, after, err := w.cfg.RateLimiter.Allow(ctx, key)
	if err != nil {
		return WrapError(ErrProviderUnavailable, "", "rate limit", err)
	}
	if !ok {
		return &RateLimitError{After: after}
	}
	return nil
}

// clientAddr returns the client's address: the connection's, or with
// Config.ForwardedForHops = n the n-th entry from the right of
// X-Forwarded-For (the connection's when there are fewer entries). ok is
// false when the address does not parse.
func (w *Web) clientAddr(r *http.Request) (ip netip.Addr, ok bool) {
	addr := r.RemoteAddr
	if n := w.cfg.ForwardedForHops; n > 0 {
		var hops []string
		for _, line := range r.Header["X-Forwarded-For"] {
			for h := range strings.SplitSeq(line, ",") {
				hops = append(hops, strings.TrimSpace(h))
			}
		}
		if len(hops) >= n {
			addr = hops[len(hops)-n]
		}
	}
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	return ip.Unmap().WithZone(""), true
}

// clientIP returns the client address used for rate limiting (see
// clientAddr). IPv6 addresses are reduced to their /64, which a single
// client usually controls in full.
func (w *Web) clientIP(r *http.Request) string {
	ip, ok := w.clientAddr(r)
	if !ok {
		return "unknown"
	}
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// ClientInfo returns what w knows of r's client: the address it rate-limits
// by (the connection's, or with Config.ForwardedForHops the one the
// outermost trusted proxy saw; the full address, not its /64) and the user
// agent. It is what ClientInfoFrom returns inside w's handlers and adapter
// calls; use it to carry the same information into calls of your own
// (authport.WithClientInfo(ctx, web.ClientInfo(r))).
func (w *Web) ClientInfo(r *http.Request) ClientInfo {
	c := ClientInfo{UserAgent: r.UserAgent()}
	if ip, ok := w.clientAddr(r); ok {
		c.IP = ip.String()
	}
	return c
}

// emailKey hashes an email address for use in a rate-limit key, so limiter
// stores never hold addresses.
func emailKey(op, email string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(email))))
	return op + ":email:" + hex.EncodeToString(sum[:16])
}

func ipKey(op, ip string) string { return op + ":ip:" + ip }
