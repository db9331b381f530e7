package supabase

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/supabase-community/auth-go/types"

	"github.com/authport/authport"
)

func TestParseSDKError(t *testing.T) {
	cases := []struct {
		name       string
		in         string
		status     int
		code, msg  string
		recognised bool
	}{
		{"legacy", `response status code 400: {"code":400,"error_code":"invalid_credentials","msg":"Invalid login credentials"}`,
			400, "invalid_credentials", "Invalid login credentials", true},
		{"2024-01-01", `response status code 403: {"code":"session_not_found","message":"Session from session_id claim in JWT does not exist"}`,
			403, "session_not_found", "Session from session_id claim in JWT does not exist", true},
		{"oauth", `response status code 400: {"error":"invalid_request","error_description":"refresh_token required"}`,
			400, "invalid_request", "refresh_token required", true},
		{"gateway", `response status code 401: {"message":"No API key found in request","hint":"No apikey"}`,
			401, "", "No API key found in request", true},
		{"legacy without error_code", `response status code 500: {"code":500,"msg":"Internal Server Error"}`,
			500, "", "Internal Server Error", true},
		{"weak password", `response status code 422: {"code":422,"error_code":"weak_password","msg":"Password should be at least 6 characters.","weak_password":{"reasons":["length"]}}`,
			422, "weak_password", "Password should be at least 6 characters.", true},
		{"no body", `response status code 502`, 502, "", "", true},
		{"html body", "response status code 502: <html><body>Bad Gateway</body></html>", 502, "", "", true},
		{"token in message dropped", `response status code 403: {"error_code":"bad_jwt","msg":"bad token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc"}`,
			403, "bad_jwt", "", true},
		{"long word dropped", `response status code 400: {"error_code":"x","msg":"` + strings.Repeat("A", 41) + `"}`,
			400, "x", "", true},
		{"hostile code dropped", `response status code 400: {"error_code":"a b\nc","msg":"m"}`, 400, "", "m", true},
		{"not a status", "Get \"https://x.supabase.co/auth/v1/user\": dial tcp: refused", 0, "", "", false},
		{"bad status", "response status code abc: {}", 0, "", "", false},
		{"out of range", "response status code 9999: {}", 0, "", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, ok := parseSDKError(errors.New(c.in))
			if ok != c.recognised {
				t.Fatalf("recognised = %v, want %v", ok, c.recognised)
			}
			if !ok {
				return
			}
			if e.Status != c.status || e.Code != c.code || e.Message != c.msg {
				t.Fatalf("got %+v, want status %d code %q msg %q", e, c.status, c.code, c.msg)
			}
			if strings.Contains(e.Error(), "eyJ") {
				t.Fatalf("error text carries a token: %q", e.Error())
			}
		})
	}
}

func TestKindFor(t *testing.T) {
	cases := []struct {
		status int
		code   string
		msg    string
		o      op
		want   *authport.Kind
	}{
		{400, "invalid_credentials", "", opSignIn, authport.ErrInvalidCredential},
		{400, "refresh_token_not_found", "", opRefresh, authport.ErrInvalidCredential},
		{400, "refresh_token_already_used", "", opRefresh, authport.ErrInvalidCredential},
		{400, "session_not_found", "", opRefresh, authport.ErrRevoked},
		{403, "session_not_found", "", opStrict, authport.ErrRevoked},
		{400, "session_expired", "", opRefresh, authport.ErrRevoked},
		{403, "user_not_found", "", opStrict, authport.ErrRevoked},
		{403, "user_banned", "", opStrict, authport.ErrRevoked},
		{400, "user_banned", "", opSignIn, authport.ErrInvalidCredential},
		{403, "bad_jwt", "invalid JWT: token has invalid claims: token is expired", opStrict, authport.ErrExpired},
		{403, "bad_jwt", "invalid JWT: signature is invalid", opStrict, authport.ErrInvalidCredential},
		{401, "no_authorization", "", opStrict, authport.ErrInvalidCredential},
		{404, "flow_state_not_found", "", opSignIn, authport.ErrInvalidCredential},
		{400, "bad_code_verifier", "", opSignIn, authport.ErrInvalidCredential},
		{422, "weak_password", "", opSignUp, authport.ErrInvalidInput},
		{422, "user_already_exists", "", opSignUp, authport.ErrInvalidInput},
		{422, "signup_disabled", "", opSignUp, authport.ErrInvalidInput},
		{400, "validation_failed", "", opSignIn, authport.ErrInvalidInput},
		{400, "invalid_request", "", opRefresh, authport.ErrInvalidInput},
		{429, "over_request_rate_limit", "", opSignIn, authport.ErrRateLimited},
		{429, "", "", opSignIn, authport.ErrRateLimited},
		{403, "not_admin", "", opAdmin, authport.ErrMisconfigured},
		{401, "", "Invalid API key", opSignIn, authport.ErrMisconfigured},
		{500, "unexpected_failure", "", opSignIn, authport.ErrProviderUnavailable},
		{503, "", "", opStrict, authport.ErrProviderUnavailable},
		{403, "something_new", "", opStrict, authport.ErrInvalidCredential},
		{404, "", "", opStrict, authport.ErrRevoked},
		{418, "", "", opSignIn, authport.ErrInvalidInput},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%d_%s_%s", c.status, c.code, c.o), func(t *testing.T) {
			if got := kindFor(&APIError{Status: c.status, Code: c.code, Message: c.msg}, c.o); got != c.want {
				t.Fatalf("kind %v, want %v", got, c.want)
			}
		})
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

var _ net.Error = timeoutErr{}

func TestMapError(t *testing.T) {
	a := &Authenticator{}
	cases := []struct {
		name string
		err  error
		want *authport.Kind
	}{
		{"nil", nil, nil},
		{"status", errors.New(`response status code 400: {"code":400,"error_code":"invalid_credentials","msg":"Invalid login credentials"}`), authport.ErrInvalidCredential},
		{"email not confirmed", errors.New(`response status code 400: {"code":400,"error_code":"email_not_confirmed","msg":"Email not confirmed"}`), authport.ErrActionRequired},
		{"sdk request check", types.ErrInvalidTokenRequest, authport.ErrInvalidInput},
		{"canceled", fmt.Errorf("Post x: %w", context.Canceled), authport.ErrProviderUnavailable},
		{"timeout", &net.OpError{Op: "dial", Err: timeoutErr{}}, authport.ErrProviderUnavailable},
		{"anything", errors.New("unexpected EOF"), authport.ErrProviderUnavailable},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := a.mapError(opSignIn, c.err)
			if c.want == nil {
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v (kind %v), want %v", err, authport.KindOf(err), c.want)
			}
		})
	}
	err := a.mapError(opSignIn, errors.New(`response status code 400: {"code":400,"error_code":"email_not_confirmed","msg":"Email not confirmed"}`))
	var ae *authport.ActionError
	if !errors.As(err, &ae) || ae.Action != authport.ActionVerifyEmail || ae.Provider != Name {
		t.Fatalf("email_not_confirmed: %#v", err)
	}
	var api *APIError
	if !errors.As(err, &api) || api.Code != "email_not_confirmed" {
		t.Fatalf("the Supabase error is not reachable: %v", err)
	}
	err = a.mapError(opRefresh, errors.New(`response status code 400: {"code":400,"error_code":"refresh_token_already_used","msg":"Invalid Refresh Token: Already Used"}`))
	if !errors.As(err, &api) || api.Status != 400 || api.Code != "refresh_token_already_used" {
		t.Fatalf("APIError not reachable: %v", err)
	}
}

// FuzzParseSDKError: no input panics, and nothing that looks like a token
// survives into the error text.
func FuzzParseSDKError(f *testing.F) {
	for _, s := range []string{
		`response status code 400: {"code":400,"error_code":"invalid_credentials","msg":"x"}`,
		`response status code 403: {"code":"bad_jwt","message":"eyJa.eyJb.c"}`,
		`response status code 5`, `response status code : `, "", `response status code 400: {"code":[1,2]}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, ok := parseSDKError(errors.New(s))
		if !ok {
			return
		}
		if strings.Contains(e.Message, "eyJ") {
			t.Fatalf("token-like message kept: %q", e.Message)
		}
		_ = kindFor(e, opStrict)
		_ = e.Error()
	})
}
