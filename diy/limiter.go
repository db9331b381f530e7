package diy

import (
	"errors"
	"fmt"
	"time"
)

// retryAfterError carries how long a client should wait; it is the cause
// inside an *authport.Error of kind ErrRateLimited or ErrProviderUnavailable.
type retryAfterError struct{ d time.Duration }

func retryAfter(d time.Duration) error { return &retryAfterError{d} }

func (e *retryAfterError) Error() string {
	return fmt.Sprintf("retry after %ds", int((e.d+time.Second-1)/time.Second))
}

// RetryAfter is how long to wait, rounded up to whole seconds, at least 1 s.
func (e *retryAfterError) RetryAfter() time.Duration {
	s := (e.d + time.Second - 1) / time.Second
	return max(s, 1) * time.Second
}

// RetryAfter reports how long the client should wait before trying again,
// for errors of kind ErrRateLimited and ErrProviderUnavailable that know it
// (the value for a Retry-After header).
func RetryAfter(err error) (time.Duration, bool) {
	var r interface{ RetryAfter() time.Duration }
	if errors.As(err, &r) {
		return r.RetryAfter(), true
	}
	return 0, false
}
