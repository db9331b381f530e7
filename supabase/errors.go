package supabase

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"strconv"
	"strings"

	"github.com/supabase-community/auth-go/types"

	"github.com/authport/authport"
	"github.com/authport/authport/internal/safetext"
)

// APIError is an error answer from Supabase Auth, parsed from the plain
// string the SDK returns ("response status code 400: {...}"). Errors from
// this package wrap it, so callers can read Supabase's own code:
//
//	var apiErr *supabase.APIError
//	if errors.As(err, &apiErr) && apiErr.Code == "weak_password" { ... }
//
// It never holds a token: only the status, the code and a short message.
type APIError struct {
	// Status is the HTTP status code.
	Status int
	// Code is Supabase's error code: "error_code" in the legacy body,
	// "code" in the 2024-01-01 body, or the OAuth "error" value
	// ("invalid_grant"). Empty when the body had none (for example the
	// API gateway's "Invalid API key" answer).
	Code string
	// Message is the human-readable text ("msg", "message",
	// "error_description"), shortened, and dropped if it looks like it
	// could carry a credential.
	Message string
}

// Error formats the error without credential material.
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("supabase: HTTP ")
	b.WriteString(strconv.Itoa(e.Status))
	if e.Code != "" {
		b.WriteString(" ")
		b.WriteString(e.Code)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

const statusPrefix = "response status code "

// parseSDKError recognises the SDK's "response status code N: <body>" and
// "response status code N" errors and returns the parsed body; ok is false
// for any other error (network failures, JSON decoding, request checks).
func parseSDKError(err error) (*APIError, bool) {
	if err == nil {
		return nil, false
	}
	s := err.Error()
	rest, found := strings.CutPrefix(s, statusPrefix)
	if !found {
		return nil, false
	}
	num, body, _ := strings.Cut(rest, ":")
	status, convErr := strconv.Atoi(strings.TrimSpace(num))
	if convErr != nil || status < 100 || status > 599 {
		return nil, false
	}
	e := &APIError{Status: status}
	parseBody(e, strings.TrimSpace(body))
	return e, true
}

// errorBody is the union of every error shape Supabase Auth and its API
// gateway answer with:
//
//	legacy:      {"code":400,"error_code":"invalid_credentials","msg":"Invalid login credentials"}
//	2024-01-01:  {"code":"invalid_credentials","message":"Invalid login credentials"}
//	OAuth:       {"error":"invalid_grant","error_description":"Invalid Refresh Token"}
//	gateway:     {"message":"Invalid API key","hint":"..."}
type errorBody struct {
	Code             json.RawMessage `json:"code"`
	ErrorCode        string          `json:"error_code"`
	Msg              string          `json:"msg"`
	Message          string          `json:"message"`
	Error            string          `json:"error"`
	ErrorDescription string          `json:"error_description"`
}

func parseBody(e *APIError, body string) {
	if body == "" {
		return
	}
	var b errorBody
	if err := json.Unmarshal([]byte(body), &b); err != nil {
		return
	}
	// "code" is the HTTP status (a number) in the legacy form and the
	// error code (a string) from API version 2024-01-01 on.
	var codeStr string
	if len(b.Code) > 0 && b.Code[0] == '"' {
		_ = json.Unmarshal(b.Code, &codeStr)
	}
	switch {
	case b.ErrorCode != "":
		e.Code = b.ErrorCode
	case codeStr != "":
		e.Code = codeStr
	case b.Error != "":
		e.Code = b.Error
	}
	for _, m := range []string{b.Msg, b.Message, b.ErrorDescription} {
		if m != "" {
			e.Message = safetext.Message(m)
			break
		}
	}
	e.Code = safetext.Code(e.Code)
}

// op names an operation for error mapping: the same Supabase code can mean
// different things to a sign-in and to a strict verification.
type op string

const (
	opSignIn  op = authport.OpSignIn
	opSignUp  op = authport.OpSignUp
	opRefresh op = authport.OpRefresh
	opStrict  op = authport.OpVerify
	opRevoke  op = authport.OpRevoke
	opAdmin   op = "admin" // the admin API (user management)
)

// kindFor maps a Supabase error to an authport kind. Codes are matched
// first, then the HTTP status; anything unrecognised fails closed as
// ErrProviderUnavailable only for 5xx and as a credential error otherwise.
func kindFor(e *APIError, o op) *authport.Kind {
	switch e.Code {
	case "invalid_credentials", "bad_jwt", "no_authorization", "bad_code_verifier",
		"flow_state_not_found", "flow_state_expired", "flow_state_already_used", "bad_oauth_state", "bad_oauth_callback",
		"oauth_invalid_state", "invalid_grant", "unauthorized_client", "access_denied",
		"refresh_token_not_found", "refresh_token_already_used", "captcha_failed",
		"identity_not_found", "unexpected_audience", "otp_expired", "reauthentication_not_valid":
		if e.Code == "bad_jwt" && strings.Contains(strings.ToLower(e.Message), "expired") {
			return authport.ErrExpired
		}
		return authport.ErrInvalidCredential
	case "session_not_found", "session_expired":
		if o == opSignIn {
			return authport.ErrInvalidCredential
		}
		return authport.ErrRevoked
	case "user_not_found", "user_banned":
		if o == opStrict || o == opRefresh || o == opRevoke {
			return authport.ErrRevoked
		}
		if o == opAdmin && e.Code == "user_not_found" {
			return authport.ErrInvalidInput
		}
		return authport.ErrInvalidCredential
	case "validation_failed":
		// GoTrue checks a refresh token's shape before looking it up: a
		// malformed one is a bad credential (sign in again), not a request
		// this application built wrongly.
		if o == opRefresh {
			return authport.ErrInvalidCredential
		}
		return authport.ErrInvalidInput
	case "bad_json", "email_address_invalid", "email_address_not_provided",
		"weak_password", "user_already_exists", "email_exists", "phone_exists", "same_password",
		"signup_disabled", "email_provider_disabled", "phone_provider_disabled", "provider_disabled",
		"oauth_provider_not_supported", "anonymous_provider_disabled", "email_address_not_authorized",
		"invalid_request", "conflict", "unsupported_grant_type":
		return authport.ErrInvalidInput
	case "over_request_rate_limit", "over_email_send_rate_limit", "over_sms_send_rate_limit":
		return authport.ErrRateLimited
	case "not_admin":
		return authport.ErrMisconfigured
	case "unexpected_failure", "request_timeout", "hook_timeout", "hook_timeout_after_retry", "server_error", "temporarily_unavailable":
		return authport.ErrProviderUnavailable
	}
	switch {
	case e.Status == 429:
		return authport.ErrRateLimited
	case e.Status >= 500:
		return authport.ErrProviderUnavailable
	case e.Status == 401 && e.Code == "":
		// The API gateway refuses the apikey: "No API key found in
		// request" / "Invalid API key". That is our configuration.
		return authport.ErrMisconfigured
	case e.Status == 401 || e.Status == 403:
		return authport.ErrInvalidCredential
	case e.Status == 404 && o == opStrict:
		return authport.ErrRevoked
	}
	return authport.ErrInvalidInput
}

// actionFor reports the sign-in step a Supabase error asks for, if any.
func actionFor(e *APIError) authport.Action {
	switch e.Code {
	case "email_not_confirmed", "provider_email_needs_verification":
		return authport.ActionVerifyEmail
	case "insufficient_aal", "mfa_verification_failed", "mfa_challenge_expired":
		return authport.ActionMFA
	case "user_sso_managed":
		return authport.ActionSSO
	}
	return ""
}

// mapError turns whatever the SDK returned into an authport error of one
// kind. The SDK's own error text is never kept (its body could echo input);
// the parsed *APIError is the cause instead.
func (a *Authenticator) mapError(o op, err error) error {
	if err == nil {
		return nil
	}
	if e, ok := parseSDKError(err); ok {
		if act := actionFor(e); act != "" {
			return &actionErr{ActionError: authport.ActionError{Action: act, Provider: Name}, cause: e}
		}
		return authport.WrapError(kindFor(e, o), Name, string(o), e)
	}
	switch {
	case errors.Is(err, types.ErrInvalidTokenRequest), errors.Is(err, types.ErrInvalidProviderRequest):
		return authport.NewError(authport.ErrInvalidInput, Name, string(o), "the request is incomplete")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return authport.NewError(authport.ErrProviderUnavailable, Name, string(o), "Supabase Auth did not answer in time")
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return authport.NewError(authport.ErrProviderUnavailable, Name, string(o), "Supabase Auth cannot be reached")
	}
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	if errors.As(err, &se) || errors.As(err, &te) {
		return authport.NewError(authport.ErrProviderUnavailable, Name, string(o), "Supabase Auth answered with a malformed body")
	}
	// Transport errors (the SDK returns them as they are) and anything
	// else: the provider could not be asked. Fail closed.
	return authport.NewError(authport.ErrProviderUnavailable, Name, string(o), "Supabase Auth request failed")
}

// actionErr is an *authport.ActionError that also carries the parsed
// Supabase error, so errors.As reaches both.
type actionErr struct {
	authport.ActionError
	cause *APIError
}

// Unwrap exposes the Supabase error and the ActionError.
func (e *actionErr) Unwrap() []error { return []error{&e.ActionError, e.cause} }
