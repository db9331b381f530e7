package emulator

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestRateLimit(t *testing.T) {
	clock := FixedClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	var seen time.Duration
	s := newTestServer(t, Options{Clock: clock, RateLimited: func(w http.ResponseWriter, r *http.Request, wait time.Duration) {
		seen = wait
		w.Header().Set("Retry-After", RetryAfterSeconds(wait))
		w.WriteHeader(http.StatusTooManyRequests)
	}})
	s.SetRateLimit(RateLimit{Requests: 3, Window: 10 * time.Second})
	for i := range 3 {
		if code, _, _ := get(t, s, "/hello"); code != 200 {
			t.Fatalf("request %d within the budget: %d", i, code)
		}
	}
	clock.Advance(4 * time.Second)
	code, _, h := get(t, s, "/hello")
	if code != http.StatusTooManyRequests || h.Get("Retry-After") != "6" || seen != 6*time.Second {
		t.Fatalf("over the budget: %d Retry-After %q (wait %v)", code, h.Get("Retry-After"), seen)
	}
	// Key endpoints and the control API are not limited.
	if code, _, _ := get(t, s, "/jwks"); code != 200 {
		t.Fatalf("key endpoint limited: %d", code)
	}
	if code, _, _ := get(t, s, ControlPrefix+"stats"); code != 200 {
		t.Fatalf("control API limited: %d", code)
	}
	// The window ends: a fresh budget.
	clock.Advance(6 * time.Second)
	if code, _, _ := get(t, s, "/hello"); code != 200 {
		t.Fatalf("after the window: %d", code)
	}
	// Only the named routes, when routes are named.
	s.SetRateLimit(RateLimit{Requests: 1, Routes: []string{"GET /jwks"}})
	for range 3 {
		if code, _, _ := get(t, s, "/hello"); code != 200 {
			t.Fatalf("unnamed route limited: %d", code)
		}
	}
	get(t, s, "/jwks")
	if code, _, _ := get(t, s, "/jwks"); code != http.StatusTooManyRequests {
		t.Fatalf("named key route not limited: %d", code)
	}
	// Through the control API, with the default answer.
	if code := post(t, s, ControlPrefix+"ratelimit", map[string]any{"requests": -1}, nil); code != 400 {
		t.Fatalf("negative budget accepted: %d", code)
	}
	// A zero budget refuses everything.
	if code := post(t, s, ControlPrefix+"ratelimit", map[string]any{"requests": 0}, nil); code != 204 {
		t.Fatalf("zero budget: %d", code)
	}
	if code, _, _ := get(t, s, "/hello"); code != http.StatusTooManyRequests {
		t.Fatalf("zero budget let a request through: %d", code)
	}
	if code := post(t, s, ControlPrefix+"ratelimit", map[string]any{"clear": true}, nil); code != 204 {
		t.Fatalf("clear: %d", code)
	}
	if code, _, _ := get(t, s, "/jwks"); code != 200 {
		t.Fatalf("after clear: %d", code)
	}
	plain := newTestServer(t, Options{Clock: clock})
	if code := post(t, plain, ControlPrefix+"ratelimit", map[string]any{"requests": 1, "window_ms": 30000}, nil); code != 204 {
		t.Fatalf("set: %d", code)
	}
	get(t, plain, "/hello")
	code, body, h := get(t, plain, "/hello")
	if code != http.StatusTooManyRequests || h.Get("Retry-After") != "30" || !strings.Contains(body, "rate_limited") {
		t.Fatalf("default answer: %d %q %s", code, h.Get("Retry-After"), body)
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{{0, "1"}, {-time.Second, "1"}, {time.Millisecond, "1"}, {time.Second, "1"}, {1500 * time.Millisecond, "2"}, {time.Minute, "60"}} {
		if got := RetryAfterSeconds(tc.d); got != tc.want {
			t.Errorf("RetryAfterSeconds(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}
