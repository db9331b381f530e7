package authport

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

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

// allow counts an event for key under p; a refusal is a *RateLimitError,
// a limiter failure an ErrProviderUnavailable.
func (w *Web) allow(ctx context.Context, key string, p LimitPolicy) error {
	d, err := w.cfg.Limiter.Hit(ctx, key, p)
	return w.limited(d, err)
}

// limited turns a limiter's answer into the error to return (nil: go on).
func (w *Web) limited(d time.Duration, err error) error {
	if err != nil {
		return WrapError(ErrProviderUnavailable, "", "rate limit", err)
	}
	if d > 0 {
		return &RateLimitError{After: d}
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

// account is the form of an email address the limits count by.
func account(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// signInGuard is the lockout policy of w's own limits.
func (w *Web) signInGuard() SignInGuard {
	return SignInGuard{Limiter: w.cfg.Limiter, Limits: w.cfg.Limits, Scope: "web-"}
}

// checkForwarded warns once when r came through a proxy that Web was not
// told about: with ForwardedForHops 0 every client shares its address.
func (w *Web) checkForwarded(r *http.Request) {
	if w.cfg.ForwardedForHops == 0 && len(r.Header["X-Forwarded-For"]) > 0 && !w.forwardedUnused.Load() && w.forwardedUnused.CompareAndSwap(false, true) {
		w.logger.Warn("authport: requests carry X-Forwarded-For but Config.ForwardedForHops is 0: " + forwardedWarning)
	}
}

const forwardedWarning = "every client behind the proxy shares one address's rate limits; set ForwardedForHops to the number of trusted proxies"

// Diagnostics lists what w has noticed about its deployment that an
// operator should fix, in words fit for a log or a health page (empty when
// all is well): today, requests that arrive through a proxy
// (X-Forwarded-For) while Config.ForwardedForHops is 0.
func (w *Web) Diagnostics() []string {
	var d []string
	if w.forwardedUnused.Load() {
		d = append(d, "requests carry X-Forwarded-For but Config.ForwardedForHops is 0: "+forwardedWarning)
	}
	return d
}
