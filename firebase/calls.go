package firebase

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"firebase.google.com/go/v4/auth"

	"github.com/authport/authport"
	"github.com/authport/authport/internal/httpclient"
	"github.com/authport/authport/internal/safetext"
)

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
// has no sign-in). With Config.TokenLifetime the ID token is turned into
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
	if a.cfg.TokenLifetime > 0 {
		cookie, err := a.client.SessionCookie(ctx, idToken, a.cfg.TokenLifetime)
		if err != nil {
			return nil, a.sdkErr(op, err, authport.ErrInvalidCredential)
		}
		t.AccessToken, t.ExpiresAt = cookie, now.Add(a.cfg.TokenLifetime)
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
	a.v.DenyUser(s.UserID, time.Unix(validSince, 0), a.cfg.Clock().Add(MaxSessionCookieTTL))
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
