package clerk

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	clerksdk "github.com/clerk/clerk-sdk-go/v2"

	"github.com/authport/authport"
	"github.com/authport/authport/internal/retryafter"
	"github.com/authport/authport/internal/safetext"
)

// apiError maps an error from a Backend API call made through the SDK to
// an authport error kind: 401/403 ErrMisconfigured (the secret key), 404
// ErrRevoked (the session is gone; callers for whom 404 means something
// else remap it), 429 ErrRateLimited with Clerk's Retry-After, 5xx
// ErrProviderUnavailable, other 4xx
// ErrInvalidInput, transport failures ErrProviderUnavailable. Its text
// carries the HTTP status and Clerk's error code only, never a response
// body, a token or the secret key.
func (a *Authenticator) apiError(op string, err error) error {
	var ae *clerksdk.APIErrorResponse
	if errors.As(err, &ae) {
		code := ""
		if len(ae.Errors) > 0 {
			if c := safetext.Code(ae.Errors[0].Code); c != "" {
				code = " " + c
			}
		}
		reason := fmt.Sprintf("Clerk answered %d%s", ae.HTTPStatusCode, code)
		switch s := ae.HTTPStatusCode; {
		case s == http.StatusUnauthorized || s == http.StatusForbidden:
			return authport.NewError(authport.ErrMisconfigured, Name, op, reason+" (is CLERK_SECRET_KEY right for this instance?)")
		case s == http.StatusNotFound:
			return authport.NewError(authport.ErrRevoked, Name, op, reason)
		case s == http.StatusTooManyRequests:
			var h http.Header
			if ae.Response != nil {
				h = ae.Response.Header
			}
			return authport.NewRateLimitError(Name, op, reason, retryafter.Parse(h, a.cfg.Clock()))
		case s >= 500:
			return authport.NewError(authport.ErrProviderUnavailable, Name, op, reason)
		default:
			return authport.NewError(authport.ErrInvalidInput, Name, op, reason)
		}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return &authport.Error{Kind: authport.ErrProviderUnavailable, Provider: Name, Op: op, Reason: "Backend API unreachable", Err: ue.Err}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &authport.Error{Kind: authport.ErrProviderUnavailable, Provider: Name, Op: op, Reason: "Backend API call interrupted", Err: err}
	}
	// The SDK returns a non-Clerk error body verbatim as the error text;
	// do not repeat it.
	return authport.NewError(authport.ErrProviderUnavailable, Name, op, "unexpected answer from the Backend API")
}

// statusWord keeps a provider-supplied session status only when it is safe
// to show.
func statusWord(s string) string {
	if c := safetext.Code(s); c != "" {
		return c
	}
	return "not active"
}
