package authport

import (
	"errors"
	"strings"
	"time"
)

// Kind is a class of authentication failure. Test for one with errors.Is:
//
//	if errors.Is(err, authport.ErrExpired) { ... }
type Kind struct {
	name   string
	status int
	code   string // RFC 6750 / JSON "error" value
	desc   string // fixed, safe error_description
}

// Error returns the kind's name.
func (k *Kind) Error() string { return k.name }

// Status is the HTTP status an API request gets for this kind.
func (k *Kind) Status() int { return k.status }

// Code is the value of the JSON body's "error" field for this kind.
func (k *Kind) Code() string { return k.code }

// Description is the fixed, safe text shown to clients for this kind.
func (k *Kind) Description() string { return k.desc }

// The error kinds. Every error an adapter, the middleware or the handlers
// return matches exactly one of them with errors.Is.
var (
	// ErrNoCredential: the request carried no credential (401).
	ErrNoCredential = &Kind{"authport: no credential", 401, "unauthorized", "authentication required"}
	// ErrInvalidCredential: bad signature, malformed, wrong issuer or
	// audience, unsigned, unknown key, wrong password (401).
	ErrInvalidCredential = &Kind{"authport: invalid credential", 401, "invalid_token", "the credential is not valid"}
	// ErrExpired: the credential was valid but has expired (401).
	ErrExpired = &Kind{"authport: credential expired", 401, "invalid_token", "the credential has expired"}
	// ErrRevoked: the session was revoked or signed out (401).
	ErrRevoked = &Kind{"authport: session revoked", 401, "invalid_token", "the session has ended"}
	// ErrForbidden: authenticated, but a role, permission or organisation
	// is missing (403).
	ErrForbidden = &Kind{"authport: forbidden", 403, "insufficient_scope", "missing role, permission or organisation"}
	// ErrProviderUnavailable: keys or the provider could not be reached
	// and nothing usable is cached (503, with Retry-After). Never a pass.
	ErrProviderUnavailable = &Kind{"authport: provider unavailable", 503, "temporarily_unavailable", "the authentication service is unavailable"}
	// ErrInvalidInput: a malformed request to a sign-in, sign-up or other
	// endpoint (400).
	ErrInvalidInput = &Kind{"authport: invalid input", 400, "invalid_request", "the request is malformed"}
	// ErrRateLimited: too many attempts (429, with Retry-After).
	ErrRateLimited = &Kind{"authport: rate limited", 429, "too_many_requests", "too many attempts, try again later"}
	// ErrActionRequired: the provider needs the user to complete a step
	// before a session is issued (email verification, MFA, organisation
	// selection, SSO). The *ActionError says which (401).
	ErrActionRequired = &Kind{"authport: action required", 401, "action_required", "an additional sign-in step is required"}
	// ErrUnsupported: the adapter lacks the capability (501).
	ErrUnsupported = &Kind{"authport: unsupported", 501, "unsupported", "not supported by this provider"}
	// ErrMisconfigured: a required setting is missing or malformed; returned
	// at start-up by Open, OpenURL, FromEnv and adapter constructors.
	ErrMisconfigured = &Kind{"authport: misconfigured", 500, "server_error", "the server is misconfigured"}
)

// Kinds lists every error kind.
var Kinds = []*Kind{ErrNoCredential, ErrInvalidCredential, ErrExpired, ErrRevoked, ErrForbidden,
	ErrProviderUnavailable, ErrInvalidInput, ErrRateLimited, ErrActionRequired, ErrUnsupported, ErrMisconfigured}

// Operation words for Error.Op, the same in every adapter so that logs and
// metrics group errors by what was attempted, whichever provider is behind
// them.
const (
	// OpSignIn: a sign-in by password, code, link or a provider callback.
	OpSignIn = "sign-in"
	// OpSignUp: creating an account.
	OpSignUp = "sign-up"
	// OpRefresh: exchanging a refresh token for new tokens.
	OpRefresh = "refresh"
	// OpRevoke: ending a session (sign-out), here or everywhere.
	OpRevoke = "revoke"
	// OpVerify: checking a credential, locally or strictly at the provider.
	OpVerify = "verify"
	// OpConfigure: building an adapter from its Config or the environment.
	OpConfigure = "configure"
)

// Error is an authentication error: a kind, where it happened, and a reason
// that is safe to log (it never contains a token or a key).
type Error struct {
	// Kind is the error's class; errors.Is(err, Kind) holds.
	Kind *Kind
	// Provider and Op say where it happened ("clerk", OpVerify); Op is one
	// of the Op constants.
	Provider, Op string
	// Reason is a short, safe explanation ("signature does not verify").
	Reason string
	// Err is the underlying cause, if any; it must not contain secrets.
	Err error
}

// Error formats the error without any credential material.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Kind.name)
	if e.Provider != "" || e.Op != "" {
		b.WriteString(" (")
		b.WriteString(e.Provider)
		if e.Provider != "" && e.Op != "" {
			b.WriteByte(' ')
		}
		b.WriteString(e.Op)
		b.WriteByte(')')
	}
	if e.Reason != "" {
		b.WriteString(": ")
		b.WriteString(e.Reason)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap exposes both the kind and the cause to errors.Is and errors.As.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

// NewError returns an *Error of kind k.
func NewError(k *Kind, provider, op, reason string) *Error {
	return &Error{Kind: k, Provider: provider, Op: op, Reason: reason}
}

// NewRateLimitError returns an *Error of kind ErrRateLimited for a
// provider's refusal of our rate; after is how long the provider asked us
// to wait (0 if it did not say), which WriteError passes on as
// Retry-After.
func NewRateLimitError(provider, op, reason string, after time.Duration) *Error {
	e := &Error{Kind: ErrRateLimited, Provider: provider, Op: op, Reason: reason}
	if after > 0 {
		e.Err = &RateLimitError{After: after}
	}
	return e
}

// WrapError returns an *Error of kind k wrapping cause.
func WrapError(k *Kind, provider, op string, cause error) *Error {
	return &Error{Kind: k, Provider: provider, Op: op, Err: cause}
}

// KindOf returns err's kind. An error that matches no kind is treated as
// ErrProviderUnavailable: fail closed, never as a pass. A nil error has no
// kind (nil).
func KindOf(err error) *Kind {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) && e.Kind != nil {
		return e.Kind
	}
	for _, k := range Kinds {
		if errors.Is(err, k) {
			return k
		}
	}
	return ErrProviderUnavailable
}

// Action names an additional step a provider requires before sign-in.
type Action string

// The actions providers ask for.
const (
	ActionVerifyEmail        Action = "email_verification_required"
	ActionMFA                Action = "mfa_required"
	ActionSelectOrganization Action = "organization_selection_required"
	ActionSSO                Action = "sso_required"
)

// ActionError reports that the provider needs the user to complete a step
// before it issues a session. errors.Is(err, ErrActionRequired) holds.
type ActionError struct {
	// Action is the required step.
	Action Action
	// Provider names the adapter.
	Provider string
	// PendingToken is the provider's opaque token that continues the flow
	// (WorkOS pending_authentication_token). It is never logged.
	PendingToken string
	// Organizations lists the organisation ids to choose from, if any.
	Organizations []string
	// OrganizationNames maps ids of Organizations to display names, where
	// the provider gave them (WorkOS does), for a chooser to show.
	OrganizationNames map[string]string
	// ChallengeID names the provider's challenge the user's code answers
	// (WorkOS MFA); like PendingToken it is kept sealed, never shown.
	ChallengeID string
	// Enrollment, for ActionMFA, is a second factor the user sets up
	// before entering its first code.
	Enrollment *Enrollment
}

// Enrollment is a TOTP authenticator to set up: what an authenticator app
// needs, as the provider returned it. The user sees it once, on the page
// that asks for the first code.
type Enrollment struct {
	// Secret is the base32 shared secret, for entering by hand.
	Secret string
	// URI is the otpauth:// key URI the QR code encodes.
	URI string
	// QRCode is the provider's QR code as a data: URI
	// ("data:image/png;base64,…"), or empty.
	QRCode string
}

// Error describes the action without the pending token.
func (e *ActionError) Error() string {
	return "authport: action required (" + e.Provider + "): " + string(e.Action)
}

// Is matches ErrActionRequired.
func (e *ActionError) Is(target error) bool { return target == ErrActionRequired }
