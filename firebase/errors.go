package firebase

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"firebase.google.com/go/v4/auth"
	"firebase.google.com/go/v4/errorutils"
	"github.com/authport/authport"
)

// restError is a refusal from the Identity Toolkit or Secure Token REST API:
// {"error":{"code":400,"message":"INVALID_PASSWORD","status":...}}. Code is
// the upper-case error code at the start of the message ("" if none); it
// never carries the request's credentials.
type restError struct {
	Status int
	Code   string
	Reason string // errors[0].reason ("keyInvalid", "invalid")
}

// Error names the status and code, never the request.
func (e *restError) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("HTTP %d %s", e.Status, e.Code)
	}
	return fmt.Sprintf("HTTP %d", e.Status)
}

// errorCode extracts "WEAK_PASSWORD" from "WEAK_PASSWORD : Password should
// be at least 6 characters" or "INVALID_PASSWORD"; a message that is not an
// upper-case code, alone or followed by " : detail", gives "" ("API key not
// valid. ...").
func errorCode(msg string) string {
	end := strings.IndexAny(msg, " :")
	if end < 0 {
		end = len(msg)
	}
	code, rest := msg[:end], strings.TrimLeft(msg[end:], " ")
	if code == "" || (rest != "" && rest[0] != ':') {
		return ""
	}
	for i := 0; i < len(code); i++ {
		if c := code[i]; !(c >= 'A' && c <= 'Z' || c == '_' || c >= '0' && c <= '9') {
			return ""
		}
	}
	return code
}

// restFailure maps a REST error to an error kind. credential lists the
// codes meaning "these credentials are wrong", revoked those meaning "the
// session is over".
func restFailure(op string, err error, credential, revoked []string) error {
	var re *restError
	if !errors.As(err, &re) {
		return &authport.Error{Kind: authport.ErrProviderUnavailable, Provider: Name, Op: op, Reason: "Firebase could not be reached", Err: err}
	}
	k := authport.ErrInvalidInput
	reason := "Firebase refused the request"
	switch {
	case contains(credential, re.Code):
		k, reason = authport.ErrInvalidCredential, "invalid credentials"
	case contains(revoked, re.Code):
		k, reason = authport.ErrRevoked, "the user's sessions were revoked, or the user was disabled or deleted"
	case re.Code == "TOO_MANY_ATTEMPTS_TRY_LATER" || re.Status == http.StatusTooManyRequests:
		k, reason = authport.ErrRateLimited, "too many attempts"
	case re.Code == "INVALID_EMAIL" || re.Code == "MISSING_EMAIL" || re.Code == "MISSING_PASSWORD" || re.Code == "WEAK_PASSWORD":
		reason = "malformed email address or password"
	case re.Code == "PASSWORD_LOGIN_DISABLED" || re.Code == "OPERATION_NOT_ALLOWED" || re.Code == "PROJECT_DISABLED":
		k, reason = authport.ErrMisconfigured, "password sign-in is disabled for this Firebase project"
	case re.Status == http.StatusForbidden || re.Reason == "keyInvalid" || re.Code == "API_KEY_INVALID":
		k, reason = authport.ErrMisconfigured, "Firebase refused the Web API key ("+EnvAPIKey+")"
	case re.Status >= 500:
		k, reason = authport.ErrProviderUnavailable, "Firebase is unavailable"
	}
	if k == authport.ErrInvalidCredential {
		// One error for a wrong password, an unknown email and Firebase's
		// enumeration-protected answer: nothing tells them apart.
		return &authport.Error{Kind: k, Provider: Name, Op: op, Reason: reason}
	}
	return &authport.Error{Kind: k, Provider: Name, Op: op, Reason: reason, Err: re}
}

// sdkErr maps an Admin SDK error to a kind. invalidArg is the kind of an
// INVALID_ARGUMENT refusal in this operation's context (a bad ID token
// when minting a session cookie, bad input when creating a user). The
// SDK's own text is not kept: it can quote a whole response body.
func (a *Authenticator) sdkErr(op string, err error, invalidArg *authport.Kind) error {
	k, reason := authport.ErrProviderUnavailable, "the Firebase Admin API could not be reached"
	switch {
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		reason = "the request was cancelled or timed out"
	case auth.IsIDTokenRevoked(err) || auth.IsSessionCookieRevoked(err):
		k, reason = authport.ErrRevoked, "issued before the user's sessions were revoked"
	case auth.IsUserDisabled(err):
		k, reason = authport.ErrRevoked, "the user is disabled"
	case auth.IsCertificateFetchFailed(err):
		reason = "the Admin SDK cannot fetch Google's certificates"
	case auth.IsIDTokenExpired(err) || auth.IsSessionCookieExpired(err):
		k, reason = authport.ErrExpired, "expired"
	case auth.IsIDTokenInvalid(err) || auth.IsSessionCookieInvalid(err):
		k, reason = authport.ErrInvalidCredential, "the Admin SDK refused the token"
	case auth.IsEmailAlreadyExists(err):
		k, reason = authport.ErrInvalidInput, "email already registered"
	case auth.IsUserNotFound(err):
		k, reason = authport.ErrInvalidInput, "no such user"
	case errorutils.IsUnauthenticated(err) || errorutils.IsPermissionDenied(err):
		k, reason = authport.ErrMisconfigured, "Firebase refused the Admin SDK's credentials ("+EnvCredentials+")"
	case auth.IsConfigurationNotFound(err):
		k, reason = authport.ErrMisconfigured, "Firebase does not know the project ("+EnvProjectID+")"
	case errorutils.IsResourceExhausted(err):
		k, reason = authport.ErrRateLimited, "Firebase quota exceeded"
	case errorutils.IsInvalidArgument(err) && strings.Contains(err.Error(), "TOO_MANY_ATTEMPTS_TRY_LATER"):
		// Google throttles with a 400 whose message is this code; the
		// Admin SDK knows no such code and reports an invalid argument.
		k, reason = authport.ErrRateLimited, "too many attempts"
	case errorutils.IsInvalidArgument(err):
		k, reason = invalidArg, "Firebase refused the request as invalid"
	case errorutils.IsFailedPrecondition(err) || errorutils.IsOutOfRange(err) || errorutils.IsAlreadyExists(err) || errorutils.IsNotFound(err):
		k, reason = authport.ErrInvalidInput, "Firebase refused the request"
	}
	return &authport.Error{Kind: k, Provider: Name, Op: op, Reason: reason}
}
