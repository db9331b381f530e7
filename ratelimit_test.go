package authport

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"
)

type brokenLimiter struct{}

func (brokenLimiter) Allow(context.Context, string) (bool, time.Duration, error) {
	return false, 0, errors.New("redis: connection refused")
}

func TestMemoryLimiterBackoff(t *testing.T) {
	c := newClock()
	l := NewMemoryLimiter(3, time.Minute)
	l.now = c.Now
	ctx := context.Background()
	allow := func() (bool, time.Duration) {
		ok, d, err := l.Allow(ctx, "k")
		if err != nil {
			t.Fatal(err)
		}
		return ok, d
	}
	// Back-off doubles on each new burst, up to 32 windows.
	for _, want := range []time.Duration{1, 2, 4, 8, 16, 32, 32} {
		for i := range 3 {
			if ok, _ := allow(); !ok {
				t.Fatalf("attempt %d refused before the limit (block %v)", i+1, want)
			}
		}
		ok, d := allow()
		if ok || d != want*time.Minute {
			t.Fatalf("over the limit: ok=%v retry=%v, want %v", ok, d, want*time.Minute)
		}
		c.Advance(d / 2)
		if ok, left := allow(); ok || left != d-d/2 {
			t.Fatalf("blocked key allowed or wrong remaining %v", left)
		}
		c.Advance(d - d/2)
	}
	// Never permanent: after a quiet period the back-off is forgotten.
	c.Advance(33 * time.Minute)
	for range 3 {
		allow()
	}
	if _, d := allow(); d != time.Minute {
		t.Fatalf("back-off not forgiven: %v", d)
	}
	// Other keys are independent.
	if ok, _, _ := l.Allow(ctx, "other"); !ok {
		t.Fatal("an unrelated key was limited")
	}
}

func TestMemoryLimiterWindow(t *testing.T) {
	c := newClock()
	l := NewMemoryLimiter(2, time.Minute)
	l.now = c.Now
	for i := range 10 {
		if ok, _, _ := l.Allow(context.Background(), "k"); !ok {
			t.Fatalf("attempt %d refused although spread over windows", i)
		}
		if i%2 == 1 {
			c.Advance(time.Minute)
		}
	}
}

func TestMemoryLimiterBoundedMemory(t *testing.T) {
	c := newClock()
	l := NewMemoryLimiter(1, time.Minute)
	l.now, l.maxKeys = c.Now, 100
	for i := range 1000 {
		l.Allow(context.Background(), fmt.Sprint("k", i))
	}
	if n := l.Len(); n > 100 {
		t.Fatalf("%d keys kept, bound is 100", n)
	}
	c.Advance(2 * time.Minute)
	l.Allow(context.Background(), "fresh")
	if n := l.Len(); n != 1 {
		t.Fatalf("idle keys not swept: %d", n)
	}
}

func TestNewMemoryLimiterPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for limit 0")
		}
	}()
	NewMemoryLimiter(0, time.Minute)
}

func TestClientIP(t *testing.T) {
	tests := []struct {
		hops   int
		remote string
		xff    []string
		want   string
	}{
		{0, "198.51.100.7:443", nil, "198.51.100.7"},
		{0, "198.51.100.7:443", []string{"1.2.3.4"}, "198.51.100.7"},
		{0, "[2001:db8:1:2:3:4:5:6]:443", nil, "2001:db8:1:2::/64"},
		{0, "[::ffff:192.0.2.1]:1", nil, "192.0.2.1"},
		{0, "garbage", nil, "unknown"},
		{1, "10.0.0.1:1", []string{"6.6.6.6, 203.0.113.9"}, "203.0.113.9"},
		{2, "10.0.0.1:1", []string{"6.6.6.6, 203.0.113.9", "10.0.0.2"}, "203.0.113.9"},
		{1, "10.0.0.1:1", nil, "10.0.0.1"},
		{1, "10.0.0.1:1", []string{"not-an-ip"}, "unknown"},
	}
	for _, tt := range tests {
		w := &Web{cfg: Config{ForwardedForHops: tt.hops}}
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tt.remote
		for _, v := range tt.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := w.clientIP(r); got != tt.want {
			t.Errorf("hops=%d remote=%s xff=%v: %q, want %q", tt.hops, tt.remote, tt.xff, got, tt.want)
		}
	}
}

func TestRateLimitError(t *testing.T) {
	err := error(&RateLimitError{After: 3 * time.Second})
	if !errors.Is(err, ErrRateLimited) || KindOf(err) != ErrRateLimited {
		t.Fatal("RateLimitError is not ErrRateLimited")
	}
	if emailKey("login", " Ada@Example.com") != emailKey("login", "ada@example.com") {
		t.Fatal("email keys are case-sensitive")
	}
}
