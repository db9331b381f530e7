package emulator

import (
	"net/http"
	"slices"
	"strconv"
	"time"
)

// RateLimit is a request budget like the providers' own rate limits: at
// most Requests requests per Window (emulated time) on the limited
// routes; past it each request gets the provider's 429 answer
// (Options.RateLimited) until the window ends. The control API is never
// limited.
type RateLimit struct {
	// Requests is how many requests a window allows; 0 refuses every
	// request (a provider that is throttling this client).
	Requests int `json:"requests"`
	// Window is the budget's period (default one minute).
	Window time.Duration `json:"window_ns,omitempty"`
	// Routes lists the limited routes, as patterns registered on Mux
	// ("POST /oauth/token"); empty limits every route except the key
	// endpoints (HandleKeys), which providers serve from a CDN.
	Routes []string `json:"routes,omitempty"`
}

type rateBudget struct {
	RateLimit
	start time.Time
	used  int
}

// SetRateLimit puts a request budget in force (replacing any other); one
// budget is shared by all the routes it limits, as a provider's per-client
// limit is.
func (s *Server) SetRateLimit(l RateLimit) {
	l.Requests = max(l.Requests, 0)
	if l.Window <= 0 {
		l.Window = time.Minute
	}
	l.Routes = slices.Clone(l.Routes)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limit = &rateBudget{RateLimit: l}
}

// ClearRateLimit lifts the request budget.
func (s *Server) ClearRateLimit() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limit = nil
}

// takeBudgetLocked spends one request of the budget on pattern; it
// reports whether the request is over the budget and, if so, how long
// until the window ends.
func (s *Server) takeBudgetLocked(pattern string) (time.Duration, bool) {
	b := s.limit
	if b == nil {
		return 0, false
	}
	if len(b.Routes) > 0 {
		if !slices.Contains(b.Routes, pattern) {
			return 0, false
		}
	} else if s.keyRoutes[pattern] {
		return 0, false
	}
	now := s.Clock.Now()
	if b.start.IsZero() || !now.Before(b.start.Add(b.Window)) {
		b.start, b.used = now, 0
	}
	b.used++
	if b.used <= b.Requests {
		return 0, false
	}
	return b.start.Add(b.Window).Sub(now), true
}

func (s *Server) rateLimited(w http.ResponseWriter, r *http.Request, wait time.Duration) {
	if s.opts.RateLimited != nil {
		s.opts.RateLimited(w, r, wait)
		return
	}
	w.Header().Set("Retry-After", RetryAfterSeconds(wait))
	WriteJSON(w, http.StatusTooManyRequests, map[string]string{"error": "rate_limited", "error_description": "too many requests"})
}

// RetryAfterSeconds formats wait as a Retry-After value: whole seconds,
// rounded up, at least 1.
func RetryAfterSeconds(wait time.Duration) string {
	sec := int64((wait + time.Second - 1) / time.Second)
	if sec < 1 {
		sec = 1
	}
	return strconv.FormatInt(sec, 10)
}
