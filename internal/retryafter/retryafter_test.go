package retryafter

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	h := func(kv ...string) http.Header {
		x := http.Header{}
		for i := 0; i+1 < len(kv); i += 2 {
			x.Set(kv[i], kv[i+1])
		}
		return x
	}
	for _, tc := range []struct {
		name string
		h    http.Header
		want time.Duration
	}{
		{"none", h(), 0},
		{"nil", nil, 0},
		{"seconds", h("Retry-After", "30"), 30 * time.Second},
		{"zero", h("Retry-After", "0"), 0},
		{"negative", h("Retry-After", "-5"), 0},
		{"huge", h("Retry-After", "99999999999"), Max},
		{"http date", h("Retry-After", now.Add(90*time.Second).Format(http.TimeFormat)), 90 * time.Second},
		{"date in the past", h("Retry-After", now.Add(-time.Minute).Format(http.TimeFormat)), 0},
		{"garbage", h("Retry-After", "soon"), 0},
		{"reset (Auth0)", h("X-RateLimit-Reset", "1767268845"), 45 * time.Second},
		{"reset in the past", h("X-RateLimit-Reset", "1"), 0},
		{"reset garbage", h("X-RateLimit-Reset", "x"), 0},
		{"Retry-After wins", h("Retry-After", "5", "X-RateLimit-Reset", "1767268845"), 5 * time.Second},
	} {
		if got := Parse(tc.h, now); got != tc.want {
			t.Errorf("%s: Parse = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestTransport(t *testing.T) {
	status := http.StatusTooManyRequests
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "7")
		w.WriteHeader(status)
	}))
	defer srv.Close()
	c := &http.Client{Transport: &Transport{}}
	for _, tc := range []struct {
		status int
		want   time.Duration
	}{{429, 7 * time.Second}, {503, 7 * time.Second}, {400, 0}} {
		status = tc.status
		ctx, slot := WithSlot(context.Background())
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if slot.Wait() != tc.want {
			t.Errorf("status %d: wait %v, want %v", tc.status, slot.Wait(), tc.want)
		}
	}
	// Without a slot nothing is recorded and nothing breaks.
	resp, err := c.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var nilSlot *Slot
	if nilSlot.Wait() != 0 {
		t.Fatal("nil slot")
	}
}
