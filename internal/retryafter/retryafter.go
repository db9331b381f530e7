// Package retryafter reads how long a provider asks a client to wait after
// refusing it for its rate (429) or because it is unavailable (503), so the
// adapters can pass the provider's own figure on as ErrRateLimited's
// Retry-After instead of a guess.
//
// Providers say it in different headers: Retry-After in seconds or as an
// HTTP date (RFC 9110), or, like Auth0, only X-RateLimit-Reset as the Unix
// time the budget refills. SDKs that do not expose response headers are
// served by Transport, which records the figure in a Slot carried by the
// request's context.
package retryafter

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Max bounds what a provider may ask for: a longer wait is taken as this.
const Max = time.Hour

// Parse returns the wait h asks for at now: Retry-After (delta seconds or
// an HTTP date), else X-RateLimit-Reset (Unix seconds). It returns 0 when
// neither is present or parsable, and at most Max.
func Parse(h http.Header, now time.Time) time.Duration {
	if h == nil {
		return 0
	}
	var d time.Duration
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			if n > 0 {
				d = time.Duration(min(n, int64(Max/time.Second))) * time.Second
			}
		} else if t, err := http.ParseTime(v); err == nil {
			d = t.Sub(now)
		}
	} else if v := strings.TrimSpace(h.Get("X-RateLimit-Reset")); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 && n < 1<<40 {
			d = time.Unix(n, 0).Sub(now)
		}
	}
	if d <= 0 {
		return 0
	}
	return min(d, Max)
}

// Slot receives the wait of the last refused answer to a request made
// with a context from WithSlot.
type Slot struct {
	mu   sync.Mutex
	wait time.Duration
}

// Wait returns the recorded wait (0 if none).
func (s *Slot) Wait() time.Duration {
	if s == nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.wait
}

type slotKey struct{}

// WithSlot returns ctx carrying a new Slot that Transport fills.
func WithSlot(ctx context.Context) (context.Context, *Slot) {
	s := &Slot{}
	return context.WithValue(ctx, slotKey{}, s), s
}

// Track returns ctx carrying a Slot (ctx itself if it has one already), for
// callers that read the wait later with Wait.
func Track(ctx context.Context) context.Context {
	if _, ok := ctx.Value(slotKey{}).(*Slot); ok {
		return ctx
	}
	ctx, _ = WithSlot(ctx)
	return ctx
}

// Wait returns the wait recorded in ctx's Slot (0 without one).
func Wait(ctx context.Context) time.Duration {
	if ctx == nil {
		return 0
	}
	s, _ := ctx.Value(slotKey{}).(*Slot)
	return s.Wait()
}

// Transport records in the request context's Slot the wait a 429 or 503
// answer asks for. Base nil means http.DefaultTransport. Now nil means
// time.Now.
type Transport struct {
	Base http.RoundTripper
	Now  func() time.Time
}

// RoundTrip sends r through Base and records the wait of a refusal.
func (t *Transport) RoundTrip(r *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(r)
	if err != nil || resp == nil {
		return resp, err
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		if s, ok := r.Context().Value(slotKey{}).(*Slot); ok {
			now := time.Now
			if t.Now != nil {
				now = t.Now
			}
			w := Parse(resp.Header, now())
			s.mu.Lock()
			s.wait = w
			s.mu.Unlock()
		}
	}
	return resp, err
}
