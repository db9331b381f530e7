package firebase

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"firebase.google.com/go/v4/auth"
	"firebase.google.com/go/v4/errorutils"

	"github.com/authport/authport"
	"github.com/authport/authport/internal/httpclient"
	"github.com/authport/authport/internal/safetext"
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

// call posts body to endpoint (with the API key as ?key=) and decodes a
// 200 response into out.
func (a *Authenticator) call(ctx context.Context, endpoint, contentType string, body []byte, out any) error {
	u := endpoint + "?key=" + url.QueryEscape(a.cfg.APIKey)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Accept", "application/json")
	resp, err := a.http.Do(req)
	if err != nil {
		return safetext.Redact(err)
	}
	defer resp.Body.Close()
	data, err := httpclient.ReadBody(resp.Body, 0)
	if errors.Is(err, httpclient.ErrBodyTooLarge) {
		return errors.New("response over 1 MiB")
	}
	if err != nil {
		return safetext.Redact(err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error struct {
				Message string `json:"message"`
				Errors  []struct {
					Reason string `json:"reason"`
				} `json:"errors"`
				Details []struct {
					Reason string `json:"reason"`
				} `json:"details"`
			} `json:"error"`
		}
		_ = json.Unmarshal(data, &e)
		re := &restError{Status: resp.StatusCode, Code: errorCode(e.Error.Message)}
		if len(e.Error.Errors) > 0 {
			re.Reason = e.Error.Errors[0].Reason
		}
		for _, d := range e.Error.Details {
			if d.Reason == "API_KEY_INVALID" {
				re.Code = d.Reason
			}
		}
		return re
	}
	if err := json.Unmarshal(data, out); err != nil {
		return errors.New("response is not the expected JSON")
	}
	return nil
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

// The REST error codes sign-in and refresh treat as bad credentials. With
// email enumeration protection (the default since September 2023) Firebase
// answers INVALID_LOGIN_CREDENTIALS for both a wrong password and an
// unknown email; older projects and the emulator name them apart. All three
// give the same error.
var (
	signInCredentialCodes  = []string{"INVALID_PASSWORD", "EMAIL_NOT_FOUND", "INVALID_LOGIN_CREDENTIALS", "USER_DISABLED"}
	refreshCredentialCodes = []string{"INVALID_REFRESH_TOKEN", "MISSING_REFRESH_TOKEN", "INVALID_GRANT_TYPE", "PROJECT_NUMBER_MISMATCH"}
	refreshRevokedCodes    = []string{"TOKEN_EXPIRED", "USER_DISABLED", "USER_NOT_FOUND"}
)

type signInResponse struct {
	LocalID              string `json:"localId"`
	IDToken              string `json:"idToken"`
	RefreshToken         string `json:"refreshToken"`
	ExpiresIn            string `json:"expiresIn"`
	MFAPendingCredential string `json:"mfaPendingCredential"`
}

// SignInWithPassword implements authport.PasswordSignIn through the
// Identity Toolkit REST endpoint accounts:signInWithPassword (the Admin SDK
// has no sign-in). With Config.SessionCookieTTL the ID token is turned into
// a session cookie (Admin SDK SessionCookie), returned as AccessToken.
func (a *Authenticator) SignInWithPassword(ctx context.Context, email, password string) (*authport.Tokens, error) {
	return a.signIn(ctx, "sign-in", email, password)
}

func (a *Authenticator) signIn(ctx context.Context, op, email, password string) (*authport.Tokens, error) {
	if err := a.unsupported(authport.CapPasswordSignIn, op); err != nil {
		return nil, err
	}
	email = strings.TrimSpace(email)
	if email == "" || password == "" {
		return nil, authport.NewError(authport.ErrInvalidInput, Name, op, "email and password are required")
	}
	body, _ := json.Marshal(map[string]any{"email": email, "password": password, "returnSecureToken": true})
	var r signInResponse
	if err := a.call(ctx, a.cfg.IdentityToolkitURL+"/v1/accounts:signInWithPassword", "application/json", body, &r); err != nil {
		return nil, restFailure(op, err, signInCredentialCodes, nil)
	}
	if r.IDToken == "" && r.MFAPendingCredential != "" {
		return nil, &authport.ActionError{Action: authport.ActionMFA, Provider: Name, PendingToken: r.MFAPendingCredential}
	}
	if r.IDToken == "" {
		return nil, authport.NewError(authport.ErrProviderUnavailable, Name, op, "Firebase returned no ID token")
	}
	return a.tokens(ctx, op, r.IDToken, r.RefreshToken, r.ExpiresIn, r.LocalID)
}

// tokens builds the Tokens for a fresh ID token, minting a session cookie
// in cookie mode.
func (a *Authenticator) tokens(ctx context.Context, op, idToken, refreshToken, expiresIn, uid string) (*authport.Tokens, error) {
	now := a.cfg.Clock()
	life := idTokenLifetime
	if n, err := strconv.Atoi(expiresIn); err == nil && n > 0 {
		life = time.Duration(n) * time.Second
	}
	t := &authport.Tokens{AccessToken: idToken, IDToken: idToken, RefreshToken: refreshToken, ExpiresAt: now.Add(life), UserID: uid}
	if a.cfg.SessionCookieTTL > 0 {
		cookie, err := a.client.SessionCookie(ctx, idToken, a.cfg.SessionCookieTTL)
		if err != nil {
			return nil, a.sdkErr(op, err, authport.ErrInvalidCredential)
		}
		t.AccessToken, t.ExpiresAt = cookie, now.Add(a.cfg.SessionCookieTTL)
	}
	return t, nil
}

// SignUp implements authport.SignUp: the account is created with the Admin
// SDK (CreateUser) and then signed in with the password.
func (a *Authenticator) SignUp(ctx context.Context, email, password string) (*authport.Tokens, error) {
	if err := a.unsupported(authport.CapSignUp, "sign-up"); err != nil {
		return nil, err
	}
	email = strings.TrimSpace(email)
	// The SDK checks these itself with errors of no kind; check first.
	if at := strings.Split(email, "@"); len(at) != 2 || at[0] == "" || at[1] == "" || strings.ContainsAny(email, " \t\r\n") {
		return nil, authport.NewError(authport.ErrInvalidInput, Name, "sign-up", "malformed email address")
	}
	if len(password) < 6 {
		return nil, authport.NewError(authport.ErrInvalidInput, Name, "sign-up", "the password must have at least 6 characters")
	}
	if _, err := a.client.CreateUser(ctx, (&auth.UserToCreate{}).Email(email).Password(password)); err != nil {
		return nil, a.sdkErr("sign-up", err, authport.ErrInvalidInput)
	}
	return a.signIn(ctx, "sign-up", email, password)
}

type refreshResponse struct {
	IDToken      string `json:"id_token"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    string `json:"expires_in"`
	UserID       string `json:"user_id"`
}

// Refresh implements authport.Refresher with the Secure Token API
// (POST /v1/token, grant_type=refresh_token). Firebase refresh tokens are
// long-lived and not rotated: the response normally repeats the token.
// After RevokeRefreshTokens, a disabled or a deleted user, refresh fails
// with ErrRevoked.
func (a *Authenticator) Refresh(ctx context.Context, refreshToken string) (*authport.Tokens, error) {
	if err := a.unsupported(authport.CapRefresh, "refresh"); err != nil {
		return nil, err
	}
	if refreshToken == "" {
		return nil, authport.NewError(authport.ErrInvalidCredential, Name, "refresh", "no refresh token")
	}
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}}
	var r refreshResponse
	if err := a.call(ctx, a.cfg.SecureTokenURL+"/v1/token", "application/x-www-form-urlencoded", []byte(form.Encode()), &r); err != nil {
		return nil, restFailure("refresh", err, refreshCredentialCodes, refreshRevokedCodes)
	}
	if r.IDToken == "" {
		return nil, authport.NewError(authport.ErrProviderUnavailable, Name, "refresh", "Firebase returned no ID token")
	}
	if r.RefreshToken == "" {
		r.RefreshToken = refreshToken
	}
	return a.tokens(ctx, "refresh", r.IDToken, r.RefreshToken, r.ExpiresIn, r.UserID)
}

// Revoke implements authport.Revoker with the Admin SDK's
// RevokeRefreshTokens: the user's refresh tokens stop working and every
// token issued before now fails VerifyStrict. This process's Verify refuses
// the user's older tokens at once; other processes see the revocation
// through VerifyStrict, or when the token expires (Describe).
//
// Firebase records the revocation time in whole seconds and spares a token
// issued in that same second, so when the session was issued less than a
// second ago Revoke first waits for the next second (at most one second).
func (a *Authenticator) Revoke(ctx context.Context, s *authport.Session, t *authport.Tokens) error {
	if err := a.unsupported(authport.CapRevoke, "revoke"); err != nil {
		return err
	}
	s, err := a.sessionUser(ctx, s, t)
	if err != nil {
		return err
	}
	if !s.IssuedAt.IsZero() {
		next := time.Unix(s.IssuedAt.Unix()+1, 0)
		if wait := time.Until(next); wait > 0 && wait <= 2*time.Second {
			timer := time.NewTimer(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
				timer.Stop()
				return authport.WrapError(authport.ErrProviderUnavailable, Name, "revoke", ctx.Err())
			}
		}
	}
	validSince := time.Now().Unix() // RevokeRefreshTokens stamps this second or a later one
	if err := a.client.RevokeRefreshTokens(ctx, s.UserID); err != nil && !auth.IsUserNotFound(err) {
		return a.sdkErr("revoke", err, authport.ErrInvalidInput)
	}
	a.revoked.add(s.UserID, validSince, a.cfg.Clock())
	return nil
}

// VerifyStrict implements authport.StrictVerifier: Verify, then the Admin
// SDK's VerifyIDTokenAndCheckRevoked or VerifySessionCookieAndCheckRevoked
// (by issuer), which look the user up: a token issued before the user's
// last revocation, or a disabled or deleted user, is ErrRevoked.
func (a *Authenticator) VerifyStrict(ctx context.Context, c authport.Credential) (*authport.Session, error) {
	if err := a.unsupported(authport.CapStrictVerify, "verify-strict"); err != nil {
		return nil, err
	}
	s, err := a.Verify(ctx, c)
	if err != nil {
		return nil, err
	}
	if s.Issuer == a.cookieIss {
		_, err = a.client.VerifySessionCookieAndCheckRevoked(ctx, c.Token)
	} else {
		_, err = a.client.VerifyIDTokenAndCheckRevoked(ctx, c.Token)
	}
	if err != nil {
		if auth.IsUserNotFound(err) {
			return nil, authport.NewError(authport.ErrRevoked, Name, "verify-strict", "the user no longer exists")
		}
		return nil, a.sdkErr("verify-strict", err, authport.ErrInvalidCredential)
	}
	return s, nil
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
	case auth.IsInvalidEmail(err):
		k, reason = authport.ErrInvalidInput, "malformed email address"
	case auth.IsUserNotFound(err):
		k, reason = authport.ErrInvalidInput, "no such user"
	case errorutils.IsUnauthenticated(err) || errorutils.IsPermissionDenied(err) || auth.IsInsufficientPermission(err):
		k, reason = authport.ErrMisconfigured, "Firebase refused the Admin SDK's credentials ("+EnvCredentials+")"
	case auth.IsProjectNotFound(err) || auth.IsConfigurationNotFound(err):
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
