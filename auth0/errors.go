package auth0

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/authport/authport"
	"github.com/authport/authport/internal/retryafter"
	"github.com/authport/authport/internal/safetext"
	"golang.org/x/oauth2"
)

// callbackError maps the error parameter of an /authorize callback.
func callbackError(code string) error {
	k := authport.ErrInvalidCredential
	switch code {
	case "invalid_request":
		k = authport.ErrInvalidInput
	case "server_error", "temporarily_unavailable":
		k = authport.ErrProviderUnavailable
	case "unauthorized_client", "unsupported_response_type", "invalid_scope":
		k = authport.ErrMisconfigured
	}
	return authport.NewError(k, Name, authport.OpSignIn, "Auth0 answered "+quoteCode(code))
}

// authError is Auth0's error body: the OAuth shape on /oauth/*, the
// {"code","description"} shape on /dbconnections/*.
type authError struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	Code             string `json:"code"`
	MFAToken         string `json:"mfa_token"`
}

// kindFor maps an Auth0 error code and HTTP status to an authport kind.
func kindFor(code string, status int) *authport.Kind {
	switch code {
	case "too_many_attempts", "too_many_requests":
		return authport.ErrRateLimited
	case "invalid_client", "unauthorized_client", "unsupported_grant_type", "invalid_scope", "endpoint_disabled":
		return authport.ErrMisconfigured
	case "access_denied":
		if status == http.StatusUnauthorized {
			return authport.ErrMisconfigured // client authentication failed
		}
		return authport.ErrInvalidCredential
	case "invalid_request", "invalid_signup", "user_exists", "username_exists", "invalid_password", "password_leaked", "password_dictionary_error", "password_no_user_info_error", "password_strength_error", "bad.email", "bad.password":
		return authport.ErrInvalidInput
	case "temporarily_unavailable", "server_error":
		return authport.ErrProviderUnavailable
	}
	switch {
	case status == http.StatusTooManyRequests:
		return authport.ErrRateLimited
	case status >= 500 || status == 0:
		return authport.ErrProviderUnavailable
	}
	return authport.ErrInvalidCredential
}

// tokenError maps an x/oauth2 error.
func (a *Authenticator) tokenError(op string, err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return &authport.Error{Kind: authport.ErrProviderUnavailable, Provider: Name, Op: op, Reason: "token request failed", Err: safetext.Redact(err)}
	}
	status := 0
	if re.Response != nil {
		status = re.Response.StatusCode
	}
	code := re.ErrorCode
	if code == "mfa_required" {
		var body authError
		_ = json.Unmarshal(re.Body, &body)
		return &authport.ActionError{Action: authport.ActionMFA, Provider: Name, PendingToken: body.MFAToken}
	}
	reason := fmt.Sprintf("Auth0 answered %d", status)
	if code != "" {
		reason += " " + quoteCode(code)
	}
	if k := kindFor(code, status); k != authport.ErrRateLimited {
		return authport.NewError(k, Name, op, reason)
	}
	var h http.Header
	if re.Response != nil {
		h = re.Response.Header
	}
	return authport.NewRateLimitError(Name, op, reason, retryafter.Parse(h, a.cfg.Clock()))
}

// quoteCode quotes an error code for an error text, refusing anything that
// is not a short code.
func quoteCode(code string) string {
	if len(code) > 64 {
		return "(long error code)"
	}
	for _, r := range code {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-') {
			return "(malformed error code)"
		}
	}
	return `"` + code + `"`
}
