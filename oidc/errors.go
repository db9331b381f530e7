package oidc

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/authport/authport"
	"github.com/authport/authport/internal/safetext"
)

// oauthError is an RFC 6749 §5.2 error response.
type oauthError struct {
	Code        string `json:"error"`
	Description string `json:"error_description"`
}

// errorFor maps an issuer's error answer to an authport error kind.
func (a *Authenticator) errorFor(op string, status int, body []byte) error {
	p := a.cfg.Provider
	var e oauthError
	_ = json.Unmarshal(body, &e)
	reason := fmt.Sprintf("issuer answered %d", status)
	if e.Code != "" && len(e.Code) < 64 {
		reason += " " + e.Code
	}
	switch {
	case status >= 500:
		return authport.NewError(authport.ErrProviderUnavailable, p, op, reason)
	case status == http.StatusTooManyRequests:
		return authport.NewError(authport.ErrRateLimited, p, op, reason)
	case status >= 300 && status < 400:
		return authport.NewError(authport.ErrProviderUnavailable, p, op, reason+" (redirect refused)")
	}
	switch e.Code {
	case "invalid_client", "unauthorized_client":
		return authport.NewError(authport.ErrMisconfigured, p, op, reason+": check OIDC_CLIENT_ID and OIDC_CLIENT_SECRET")
	case "unsupported_grant_type", "unsupported_token_type":
		return authport.NewError(authport.ErrUnsupported, p, op, reason)
	case "invalid_request", "invalid_scope":
		return authport.NewError(authport.ErrInvalidInput, p, op, reason)
	case "temporarily_unavailable", "server_error":
		return authport.NewError(authport.ErrProviderUnavailable, p, op, reason)
	case "slow_down":
		return authport.NewError(authport.ErrRateLimited, p, op, reason)
	}
	return authport.NewError(authport.ErrInvalidCredential, p, op, reason)
}

// codeOr returns the issuer's error code when it is safe to show.
func codeOr(e string) string {
	if c := safetext.Code(e); c != "" {
		return c
	}
	return "an error"
}

func misconfigured(provider, reason string) error {
	return authport.NewError(authport.ErrMisconfigured, provider, "configure", reason)
}
