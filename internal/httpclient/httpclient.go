// Package httpclient builds the HTTP client every adapter uses to call its
// provider: a copy of the caller's client (never the caller's own value),
// one default timeout, no redirect to another host, and a cap on how much
// of a response is read.
package httpclient

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// DefaultTimeout bounds one provider call when the configured client sets
// no timeout of its own.
const DefaultTimeout = 10 * time.Second

// MaxBody caps every provider response read through ReadBody (1 MiB): key
// sets, discovery documents and token responses are far smaller.
const MaxBody = 1 << 20

// maxRedirects is how many same-host redirects a call may follow.
const maxRedirects = 3

// ErrOffHostRedirect is returned (wrapped in a *url.Error) when a provider
// redirects a call to another scheme or host.
var ErrOffHostRedirect = errors.New("redirect to another host refused")

// ErrBodyTooLarge is returned by ReadBody for a response over its limit.
var ErrBodyTooLarge = errors.New("provider response too large")

// New returns a copy of base (a new client when base is nil) whose Timeout
// is timeout when that is positive, else base's own, else DefaultTimeout,
// and which follows at most three redirects and only to the same scheme and
// host. The caller's client is never modified.
func New(base *http.Client, timeout time.Duration) *http.Client {
	c := clone(base, timeout)
	c.CheckRedirect = sameHost
	return c
}

// NoRedirect is New for calls that must never follow a redirect (fixed
// POST endpoints): the redirect response itself is returned.
func NoRedirect(base *http.Client, timeout time.Duration) *http.Client {
	c := clone(base, timeout)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

func clone(base *http.Client, timeout time.Duration) *http.Client {
	c := &http.Client{}
	if base != nil {
		*c = *base
	}
	switch {
	case timeout > 0:
		c.Timeout = timeout
	case c.Timeout <= 0:
		c.Timeout = DefaultTimeout
	}
	return c
}

func sameHost(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects || req.URL.Host != via[0].URL.Host || req.URL.Scheme != via[0].URL.Scheme {
		return ErrOffHostRedirect
	}
	return nil
}

// ReadBody reads r whole when it is at most limit bytes (MaxBody when limit
// is not positive) and fails with ErrBodyTooLarge otherwise.
func ReadBody(r io.Reader, limit int64) ([]byte, error) {
	if limit <= 0 {
		limit = MaxBody
	}
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w (over %d bytes)", ErrBodyTooLarge, limit)
	}
	return data, nil
}
