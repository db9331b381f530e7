// Package limitertest checks an authport.Limiter against the one rate-limit
// policy every implementation shares: the arithmetic of
// authport.LimitPolicy, atomic counting under concurrency, and the sign-in
// lockout policy of authport.SignInGuard (an attacker who does not know a
// password cannot lock its owner out, and guesses stay under the
// documented bound) over simulated hours.
//
// The in-process authport.MemoryLimiter runs it, and so should any shared
// implementation (Redis, PostgreSQL):
//
//	func TestLimiter(t *testing.T) {
//		limitertest.Run(t, func(t *testing.T, now func() time.Time) authport.Limiter {
//			return myLimiter(t).WithClock(now)
//		})
//	}
//
// The implementation must read the time from now (tests move it by hours
// without sleeping) and give each call of open a key space of its own.
package limitertest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authport/authport"
)

// Open returns a fresh Limiter (no counters) that reads the time from now.
type Open func(t *testing.T, now func() time.Time) authport.Limiter

// Clock is a fake clock safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a Clock at a fixed instant.
func NewClock() *Clock { return &Clock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Run runs the whole suite against the Limiters open returns.
func Run(t *testing.T, open Open) {
	t.Run("Policy", func(t *testing.T) { Policy(t, open) })
	t.Run("Concurrent", func(t *testing.T) { Concurrent(t, open) })
	t.Run("Lockout", func(t *testing.T) { Lockout(t, open) })
}

func hit(t *testing.T, l authport.Limiter, key string, p authport.LimitPolicy) time.Duration {
	t.Helper()
	d, err := l.Hit(context.Background(), key, p)
	if err != nil {
		t.Fatalf("Hit: %v", err)
	}
	return d
}

func peek(t *testing.T, l authport.Limiter, key string) time.Duration {
	t.Helper()
	d, err := l.Peek(context.Background(), key)
	if err != nil {
		t.Fatalf("Peek: %v", err)
	}
	return d
}

// Policy checks LimitPolicy's arithmetic: Free events, then pauses
// doubling up to Max, paused events not counted, windows, Peek and Reset.
func Policy(t *testing.T, open Open) {
	t.Run("FreeThenBackOff", func(t *testing.T) {
		c := NewClock()
		l := open(t, c.Now)
		p := authport.LimitPolicy{Free: 3, Window: time.Hour, Base: time.Second, Max: 8 * time.Second}
		for i := range 2 {
			if d := hit(t, l, "k", p); d != 0 {
				t.Fatalf("event %d paused %v; the first %d are free", i+1, d, p.Free)
			}
		}
		// The Free-th event goes ahead and starts the first pause.
		want := []time.Duration{1, 2, 4, 8, 8, 8}
		for i, w := range want {
			if d := hit(t, l, "k", p); d != 0 {
				t.Fatalf("event %d after its pause refused for %v", p.Free+i, d)
			}
			w *= time.Second
			if d := peek(t, l, "k"); d != w {
				t.Fatalf("pause %d is %v, want %v", i+1, d, w)
			}
			// A paused event is refused with the time left, and not counted.
			c.Advance(w / 4)
			if d := hit(t, l, "k", p); d != w-w/4 {
				t.Fatalf("event during pause %d: %v, want %v", i+1, d, w-w/4)
			}
			c.Advance(w - w/4)
			if d := peek(t, l, "k"); d != 0 {
				t.Fatalf("still paused %v after the pause", d)
			}
		}
	})
	t.Run("WindowResets", func(t *testing.T) {
		c := NewClock()
		l := open(t, c.Now)
		p := authport.LimitPolicy{Free: 3, Window: time.Minute, Base: time.Minute, Max: time.Hour}
		for round := range 5 {
			for i := range 2 {
				if d := hit(t, l, "k", p); d != 0 {
					t.Fatalf("round %d event %d paused %v although the window had passed", round, i+1, d)
				}
			}
			c.Advance(time.Minute)
		}
	})
	t.Run("NeverLongerThanMax", func(t *testing.T) {
		c := NewClock()
		l := open(t, c.Now)
		p := authport.LimitPolicy{Free: 1, Window: time.Hour, Base: time.Second, Max: time.Minute}
		for range 200 {
			d := hit(t, l, "k", p)
			if d > p.Max {
				t.Fatalf("pause %v longer than Max %v", d, p.Max)
			}
			c.Advance(max(d, time.Second))
		}
	})
	t.Run("ResetAndIndependentKeys", func(t *testing.T) {
		c := NewClock()
		l := open(t, c.Now)
		p := authport.LimitPolicy{Free: 1, Window: time.Hour, Base: time.Hour, Max: time.Hour}
		hit(t, l, "a", p)
		if d := hit(t, l, "a", p); d != time.Hour {
			t.Fatalf("second event: %v, want the 1h pause", d)
		}
		if d := peek(t, l, "b"); d != 0 {
			t.Fatalf("untouched key paused %v", d)
		}
		if d := hit(t, l, "b", p); d != 0 {
			t.Fatalf("another key paused %v", d)
		}
		if err := l.Reset(context.Background(), "a"); err != nil {
			t.Fatalf("Reset: %v", err)
		}
		if d := hit(t, l, "a", p); d != 0 {
			t.Fatalf("Hit after Reset paused %v", d)
		}
	})
	t.Run("Forgets", func(t *testing.T) {
		// A long quiet period forgets everything: no lock-out for good.
		c := NewClock()
		l := open(t, c.Now)
		p := authport.LimitPolicy{Free: 2, Window: time.Minute, Base: time.Minute, Max: 30 * time.Minute}
		for range 40 {
			c.Advance(hit(t, l, "k", p))
		}
		c.Advance(31 * time.Minute)
		for i := range 2 {
			if d := hit(t, l, "k", p); d != 0 {
				t.Fatalf("event %d after a quiet period paused %v", i+1, d)
			}
		}
	})
}

// Concurrent checks that counting is atomic: of 40 simultaneous events
// exactly Free go ahead.
func Concurrent(t *testing.T, open Open) {
	c := NewClock()
	l := open(t, c.Now)
	p := authport.LimitPolicy{Free: 10, Window: time.Minute, Base: time.Minute, Max: time.Minute}
	var allowed atomic.Int32
	var wg sync.WaitGroup
	for range 40 {
		wg.Go(func() {
			d, err := l.Hit(context.Background(), "k", p)
			if err != nil {
				t.Errorf("Hit: %v", err)
				return
			}
			if d == 0 {
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	if got := allowed.Load(); got != int32(p.Free) {
		t.Fatalf("40 concurrent events with Free=%d: %d allowed", p.Free, got)
	}
}

// Lockout runs the attack of a stranger who does not know the password,
// from 1 and from 25 addresses (taken in turn), retrying the moment each
// pause ends for three simulated hours, against authport.SignInGuard with
// authport.DefaultLimits. The owner signs in every ten minutes from a known
// device — from a fresh address and from one of the attacker's — and is
// never refused; the attacker's guesses stay within
// authport.MaxGuessesPerHour(SignInAccount) in every hour; no refusal asks
// anyone to wait longer than the policies' Max, and guesses keep going
// through every hour (unknown devices are slowed, not locked).
func Lockout(t *testing.T, open Open) {
	for _, addrs := range []int{1, 25} {
		t.Run(fmt.Sprintf("%dAddresses", addrs), func(t *testing.T) {
			c := NewClock()
			g := authport.SignInGuard{Limiter: open(t, c.Now), Limits: authport.DefaultLimits}
			ctx := context.Background()
			const hours = 3
			const victim, device = "victim@example.com", "device-of-the-owner"
			const gap = 100 * time.Millisecond // the attacker's fastest pace
			bound := authport.MaxGuessesPerHour(g.Limits.SignInAccount)
			longest := max(g.Limits.SignInIP.Max, g.Limits.SignInAccount.Max)
			guesses := make([]int, hours)
			start := c.Now()
			end := start.Add(hours * time.Hour)
			nextAttack, nextOwner := start, start
			for i := 0; ; i++ {
				now := nextAttack
				if nextOwner.Before(now) {
					now = nextOwner
				}
				if !now.Before(end) {
					break
				}
				c.Advance(now.Sub(c.Now()))
				if now.Equal(nextOwner) {
					for _, ip := range []string{"198.51.100.9", "203.0.113.1"} {
						d, err := g.Check(ctx, ip, victim, device)
						if err != nil {
							t.Fatalf("Check: %v", err)
						}
						if d != 0 {
							t.Fatalf("after %v of attack from %d addresses the owner's known device (from %s) was refused for %v", now.Sub(start), addrs, ip, d)
						}
						if err := g.Succeeded(ctx, victim, device); err != nil {
							t.Fatalf("Succeeded: %v", err)
						}
					}
					nextOwner = now.Add(10 * time.Minute)
					continue
				}
				d, err := g.Check(ctx, fmt.Sprintf("203.0.113.%d", i%addrs+1), victim, "")
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				if d > longest {
					t.Fatalf("an unknown device was told to wait %v, longer than the policies' Max %v", d, longest)
				}
				if d == 0 {
					guesses[int(now.Sub(start)/time.Hour)]++
					d = gap
				}
				nextAttack = now.Add(d)
			}
			for h, n := range guesses {
				if n > bound {
					t.Errorf("hour %d: %d guesses from unknown devices, bound %d", h+1, n, bound)
				}
				if n == 0 {
					t.Errorf("hour %d: no guess at all went through: unknown devices are locked, not slowed", h+1)
				}
			}
			t.Logf("%d addresses: guesses per hour %v (bound %d)", addrs, guesses, bound)
		})
	}
}
