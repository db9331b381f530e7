package authport_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/authport/authport"
	"github.com/authport/authport/limitertest"
)

func TestMemoryLimiter(t *testing.T) {
	limitertest.Run(t, func(t *testing.T, now func() time.Time) authport.Limiter {
		return &authport.MemoryLimiter{Now: now}
	})
}

// TestMaxGuessesPerHour: the documented bound is what an attacker retrying
// every second actually gets through, and the defaults stay under ASVS's
// 100 failed attempts an hour.
func TestMaxGuessesPerHour(t *testing.T) {
	for _, p := range []authport.LimitPolicy{
		authport.DefaultLimits.SignInAccount,
		{Free: 3, Window: time.Minute, Base: time.Second, Max: time.Minute},
		{Free: 10, Window: time.Hour, Base: 10 * time.Second, Max: time.Hour},
	} {
		c := limitertest.NewClock()
		l := &authport.MemoryLimiter{Now: c.Now}
		got := 0
		for range 3600 {
			if d, _ := l.Hit(context.Background(), "k", p); d == 0 {
				got++
			}
			c.Advance(time.Second)
		}
		bound := authport.MaxGuessesPerHour(p)
		if got > bound || got < bound*9/10 {
			t.Errorf("%+v: %d events in an hour of retries every second, MaxGuessesPerHour says %d", p, got, bound)
		}
	}
	if n := authport.MaxGuessesPerHour(authport.DefaultLimits.SignInAccount); n >= 100 {
		t.Fatalf("default bound %d guesses an hour, ASVS asks for under 100", n)
	}
}

// TestMemoryLimiterBounded: a flood of keys never grows the table past
// MaxKeys; idle keys are swept; live counters are not evicted (which would
// hand an attacker a fresh budget).
func TestMemoryLimiterBounded(t *testing.T) {
	c := limitertest.NewClock()
	l := &authport.MemoryLimiter{Now: c.Now, MaxKeys: 100}
	p := authport.LimitPolicy{Free: 1, Window: time.Minute, Base: time.Minute, Max: time.Minute}
	ctx := context.Background()
	l.Hit(ctx, "victim", p)
	for i := range 1000 {
		l.Hit(ctx, fmt.Sprint("k", i), p)
	}
	if n := l.Len(); n > 100 {
		t.Fatalf("%d keys kept, bound is 100", n)
	}
	if d, _ := l.Peek(ctx, "victim"); d != time.Minute {
		t.Fatalf("a live counter was evicted by the flood (pause %v)", d)
	}
	c.Advance(2 * time.Minute)
	l.Hit(ctx, "fresh", p)
	if n := l.Len(); n != 1 {
		t.Fatalf("idle keys not swept: %d", n)
	}
}
