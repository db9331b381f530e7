package authport

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"
)

type brokenLimiter struct{}

func (brokenLimiter) Hit(context.Context, string, LimitPolicy) (time.Duration, error) {
	return 0, errors.New("redis: connection refused")
}
func (brokenLimiter) Peek(context.Context, string) (time.Duration, error) {
	return 0, errors.New("redis: connection refused")
}
func (brokenLimiter) Reset(context.Context, string) error {
	return errors.New("redis: connection refused")
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
	if account(" Ada@Example.com") != account("ada@example.com") {
		t.Fatal("account keys are case-sensitive")
	}
}
