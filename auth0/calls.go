package auth0

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"

	"github.com/authport/authport"
	"github.com/authport/authport/internal/httpclient"
	"github.com/authport/authport/internal/retryafter"
	"github.com/authport/authport/internal/safetext"
)

// ctx returns ctx carrying the adapter's HTTP client for x/oauth2.
func (a *Authenticator) ctx(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, a.client)
}

func (a *Authenticator) needClient(op string) error {
	if a.cfg.ClientID == "" {
		return authport.NewError(authport.ErrUnsupported, Name, op, "AUTH0_CLIENT_ID is not set")
	}
	return nil
}

// AuthorizeURL implements authport.RedirectSignIn: the Universal Login URL,
// https://<domain>/authorize?response_type=code&client_id=…&redirect_uri=…
// &scope=…&state=…&code_challenge=…&code_challenge_method=S256&audience=…
// [&organization=…][&screen_hint=signup]. State and a PKCE challenge are
// required.
func (a *Authenticator) AuthorizeURL(ctx context.Context, r authport.AuthorizeRequest) (string, error) {
	if err := a.needClient(authport.OpSignIn); err != nil {
		return "", err
	}
	if r.State == "" || r.CodeChallenge == "" {
		return "", authport.NewError(authport.ErrInvalidInput, Name, authport.OpSignIn, "state and a PKCE code challenge are required")
	}
	redirect := r.RedirectURI
	if redirect == "" {
		redirect = a.cfg.CallbackURL
	}
	if redirect == "" {
		return "", authport.NewError(authport.ErrMisconfigured, Name, authport.OpSignIn, "no redirect URI (set AUTH0_CALLBACK_URL)")
	}
	oc := a.oauth
	oc.RedirectURL = redirect
	opts := []oauth2.AuthCodeOption{
		oauth2.SetAuthURLParam("code_challenge", r.CodeChallenge),
		oauth2.SetAuthURLParam("code_challenge_method", "S256"),
		oauth2.SetAuthURLParam("audience", a.cfg.Audiences[0]),
	}
	if r.Organization != "" {
		opts = append(opts, oauth2.SetAuthURLParam("organization", r.Organization))
	}
	if r.ScreenHint == "sign-up" {
		opts = append(opts, oauth2.SetAuthURLParam("screen_hint", "signup"))
	}
	return oc.AuthCodeURL(r.State, opts...), nil
}

// Exchange implements authport.RedirectSignIn: it redeems the callback's
// code at /oauth/token with the PKCE verifier. Comparing the callback's
// state with the one sent is the caller's job (authport's handlers do it).
func (a *Authenticator) Exchange(ctx context.Context, c authport.Callback) (*authport.Tokens, error) {
	if err := a.needClient(authport.OpSignIn); err != nil {
		return nil, err
	}
	if e := c.Query.Get("error"); e != "" {
		return nil, callbackError(e)
	}
	code := c.Query.Get("code")
	if code == "" || len(c.Query["code"]) != 1 {
		return nil, authport.NewError(authport.ErrInvalidInput, Name, authport.OpSignIn, "the callback has no code")
	}
	if c.CodeVerifier == "" {
		return nil, authport.NewError(authport.ErrInvalidInput, Name, authport.OpSignIn, "no PKCE code verifier")
	}
	oc := a.oauth
	oc.RedirectURL = c.RedirectURI
	if oc.RedirectURL == "" {
		oc.RedirectURL = a.cfg.CallbackURL
	}
	t, err := oc.Exchange(a.ctx(ctx), code, oauth2.VerifierOption(c.CodeVerifier))
	if err != nil {
		return nil, a.tokenError(authport.OpSignIn, err)
	}
	return a.tokens(ctx, authport.OpSignIn, t)
}

// SignInWithPassword implements authport.PasswordSignIn with Auth0's
// password-realm grant (realm Config.Realm, audience the first of
// Config.Audiences, scope Config.Scopes). A wrong password and an unknown
// email both give ErrInvalidCredential.
func (a *Authenticator) SignInWithPassword(ctx context.Context, email, password string) (*authport.Tokens, error) {
	if err := a.needClient(authport.OpSignIn); err != nil {
		return nil, err
	}
	if email == "" || password == "" {
		return nil, authport.NewError(authport.ErrInvalidInput, Name, authport.OpSignIn, "email and password are required")
	}
	oc := a.oauth // no RedirectURL: the grant takes none
	t, err := oc.Exchange(a.ctx(ctx), "",
		oauth2.SetAuthURLParam("grant_type", PasswordRealmGrant),
		oauth2.SetAuthURLParam("username", email),
		oauth2.SetAuthURLParam("password", password),
		oauth2.SetAuthURLParam("realm", a.cfg.Realm),
		oauth2.SetAuthURLParam("audience", a.cfg.Audiences[0]),
		oauth2.SetAuthURLParam("scope", strings.Join(a.cfg.Scopes, " ")),
	)
	if err != nil {
		return nil, a.tokenError(authport.OpSignIn, err)
	}
	return a.tokens(ctx, authport.OpSignIn, t)
}

// CanContinue implements authport.ActionContinuer: ContinueSignIn can
// finish ActionMFA (Auth0's mfa_required, whose PendingToken is the
// mfa_token) when the adapter has a client id. Other actions are never
// raised by this adapter.
func (a *Authenticator) CanContinue(e *authport.ActionError) bool {
	return e != nil && e.Action == authport.ActionMFA && e.Provider == Name && e.PendingToken != "" && a.cfg.ClientID != ""
}

// ContinueSignIn implements authport.ActionContinuer: it redeems the
// mfa_token of an ActionMFA error with the code of the user's
// authenticator app (in.Code), through the mfa-otp grant
// (http://auth0.com/oauth/grant-type/mfa-otp) at /oauth/token. The
// application must have the MFA grant enabled and the user an enrolled
// one-time-password factor. A wrong code or an expired or unknown
// mfa_token is ErrInvalidCredential.
func (a *Authenticator) ContinueSignIn(ctx context.Context, e *authport.ActionError, in authport.ActionInput) (*authport.Tokens, error) {
	if err := a.needClient(authport.OpSignIn); err != nil {
		return nil, err
	}
	if e == nil || e.Action != authport.ActionMFA || e.Provider != Name {
		return nil, authport.NewError(authport.ErrUnsupported, Name, authport.OpSignIn, "only Auth0's mfa_required can be continued")
	}
	code := strings.TrimSpace(in.Code)
	switch {
	case e.PendingToken == "" || code == "":
		return nil, authport.NewError(authport.ErrInvalidInput, Name, authport.OpSignIn, "the mfa_token and a one-time code are required")
	case len(code) > 64 || len(e.PendingToken) > 4096:
		return nil, authport.NewError(authport.ErrInvalidCredential, Name, authport.OpSignIn, "one-time code or mfa_token too long")
	}
	oc := a.oauth
	t, err := oc.Exchange(a.ctx(ctx), "",
		oauth2.SetAuthURLParam("grant_type", MFAOTPGrant),
		oauth2.SetAuthURLParam("mfa_token", e.PendingToken),
		oauth2.SetAuthURLParam("otp", code),
	)
	if err != nil {
		return nil, a.tokenError(authport.OpSignIn, err)
	}
	return a.tokens(ctx, authport.OpSignIn, t)
}

// SignUp implements authport.SignUp when Config.AllowSignUp is set: it
// creates the user in Config.Realm with POST /dbconnections/signup, then
// signs them in with the password-realm grant.
func (a *Authenticator) SignUp(ctx context.Context, email, password string) (*authport.Tokens, error) {
	if err := a.needClient(authport.OpSignUp); err != nil {
		return nil, err
	}
	if !a.cfg.AllowSignUp {
		return nil, authport.NewError(authport.ErrUnsupported, Name, authport.OpSignUp, "sign-up is disabled (AUTH0_ALLOW_SIGNUP)")
	}
	if email == "" || password == "" {
		return nil, authport.NewError(authport.ErrInvalidInput, Name, authport.OpSignUp, "email and password are required")
	}
	body, _ := json.Marshal(map[string]string{
		"client_id": a.cfg.ClientID, "email": email, "password": password, "connection": a.cfg.Realm,
	})
	if err := a.post(ctx, authport.OpSignUp, "/dbconnections/signup", "application/json", body); err != nil {
		return nil, err
	}
	return a.SignInWithPassword(ctx, email, password)
}

// Refresh implements authport.Refresher with the refresh_token grant. With
// refresh-token rotation on, the returned Tokens carry the new refresh
// token and the old one is spent.
func (a *Authenticator) Refresh(ctx context.Context, refreshToken string) (*authport.Tokens, error) {
	if err := a.needClient(authport.OpRefresh); err != nil {
		return nil, err
	}
	if refreshToken == "" {
		return nil, authport.NewError(authport.ErrInvalidInput, Name, authport.OpRefresh, "no refresh token")
	}
	t, err := a.oauth.TokenSource(a.ctx(ctx), &oauth2.Token{RefreshToken: refreshToken}).Token()
	if err != nil {
		return nil, a.tokenError(authport.OpRefresh, err)
	}
	return a.tokens(ctx, "refresh", t)
}

// Revoke implements authport.Revoker. Auth0 cannot revoke an access token:
// Revoke revokes t's refresh token at /oauth/revoke, so no new access token
// can be minted from it, and denies the access token in this process (by
// jti or sid, when the token has one) until it expires. Other processes keep
// accepting it until it expires (see Describe). Without a refresh token
// there is nothing to revoke at Auth0: Revoke returns ErrInvalidInput after
// the local denial. Browsers should also be sent to LogoutURL to end the
// Auth0 session (authport.Web's POST /logout does).
func (a *Authenticator) Revoke(ctx context.Context, s *authport.Session, t *authport.Tokens) error {
	if err := a.needClient(authport.OpRevoke); err != nil {
		return err
	}
	if s != nil && !s.ExpiresAt.IsZero() {
		if s.TokenID != "" {
			a.v.DenyToken(a.issuer, s.TokenID, s.ExpiresAt)
		}
		if s.SessionID != "" {
			a.v.DenySession(s.SessionID, s.ExpiresAt)
		}
	}
	if t == nil || t.RefreshToken == "" {
		return authport.NewError(authport.ErrInvalidInput, Name, authport.OpRevoke, "no refresh token to revoke; the access token stays valid until it expires")
	}
	form := url.Values{"client_id": {a.cfg.ClientID}, "token": {t.RefreshToken}}
	if a.cfg.ClientSecret != "" {
		form.Set("client_secret", a.cfg.ClientSecret)
	}
	return a.post(ctx, "revoke", "/oauth/revoke", "application/x-www-form-urlencoded", []byte(form.Encode()))
}

// LogoutURL implements authport.LogoutRedirector: the /v2/logout URL
// (?client_id=&returnTo=) that ends the user's Auth0 browser (SSO) session
// and sends them to returnTo, which must be listed in the application's
// Allowed Logout URLs (empty: Auth0's default page). authport.Web's
// POST /logout sends browsers there after Revoke, with returnTo the
// absolute URL of Config.AfterLogoutPath. The session is not needed (Auth0
// ends the session its cookie names) and no request is made. Without a
// client id (AUTH0_CLIENT_ID) it is ErrUnsupported; a returnTo that is not
// an absolute http(s) URL is ErrInvalidInput.
func (a *Authenticator) LogoutURL(_ context.Context, _ *authport.Session, returnTo string) (string, error) {
	if err := a.needClient(authport.OpRevoke); err != nil {
		return "", err
	}
	q := url.Values{"client_id": {a.cfg.ClientID}}
	if returnTo != "" {
		u, err := url.Parse(returnTo)
		if err != nil || u.Host == "" || u.User != nil || (u.Scheme != "https" && u.Scheme != "http") {
			return "", authport.NewError(authport.ErrInvalidInput, Name, authport.OpRevoke, "returnTo must be an absolute http(s) URL")
		}
		q.Set("returnTo", returnTo)
	}
	return a.base + "/v2/logout?" + q.Encode(), nil
}

// tokens turns a token response into Tokens, verifying the access token
// (which fills UserID and SessionID and warms the verified-token cache).
func (a *Authenticator) tokens(ctx context.Context, op string, t *oauth2.Token) (*authport.Tokens, error) {
	out := &authport.Tokens{AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, ExpiresAt: t.Expiry}
	if id, ok := t.Extra("id_token").(string); ok {
		out.IDToken = id
	}
	// The core check only: Config.CustomClaims is the application's
	// per-request policy, applied when the token is presented.
	s, err := a.v.Session(ctx, t.AccessToken)
	if err != nil {
		if errors.Is(err, authport.ErrProviderUnavailable) {
			return nil, err
		}
		return nil, &authport.Error{Kind: authport.ErrMisconfigured, Provider: Name, Op: op,
			Reason: "the access token Auth0 issued does not verify with this configuration (check AUTH0_AUDIENCE, AUTH0_DOMAIN and the API's signing algorithm)", Err: err}
	}
	out.UserID, out.SessionID = s.UserID, s.SessionID
	if out.ExpiresAt.IsZero() {
		out.ExpiresAt = s.ExpiresAt
	}
	return out, nil
}

// post sends body to path and maps an error answer.
func (a *Authenticator) post(ctx context.Context, op, path, ctype string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.base+path, bytes.NewReader(body))
	if err != nil {
		return &authport.Error{Kind: authport.ErrMisconfigured, Provider: Name, Op: op, Err: err}
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Accept", "application/json")
	resp, err := a.client.Do(req)
	if err != nil {
		return &authport.Error{Kind: authport.ErrProviderUnavailable, Provider: Name, Op: op, Reason: "request failed", Err: safetext.Redact(err)}
	}
	defer resp.Body.Close()
	data, _ := httpclient.ReadBody(resp.Body, 0)
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	var e authError
	_ = json.Unmarshal(data, &e)
	code := e.Error
	if code == "" {
		code = e.Code
	}
	reason := fmt.Sprintf("Auth0 answered %d", resp.StatusCode)
	if code != "" {
		reason += " " + quoteCode(code)
	}
	if k := kindFor(code, resp.StatusCode); k != authport.ErrRateLimited {
		return authport.NewError(k, Name, op, reason)
	}
	// Auth0 says when its budget refills in X-RateLimit-Reset.
	return authport.NewRateLimitError(Name, op, reason, retryafter.Parse(resp.Header, a.cfg.Clock()))
}
