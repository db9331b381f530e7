package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/authport/authport"
	"github.com/authport/authport/internal/httpclient"
	"github.com/authport/authport/internal/safetext"
)

// tokenResponse is an RFC 6749 §5.1 token response.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	Scope        string `json:"scope"`
}

// post sends a form to an issuer endpoint with client authentication and
// returns the status and the body (at most 1 MiB).
func (a *Authenticator) post(ctx context.Context, op, endpoint string, form url.Values) (int, []byte, error) {
	p := a.cfg.Provider
	useBasic := a.cfg.ClientSecret != "" && a.basicAuth()
	if !useBasic {
		form.Set("client_id", a.cfg.ClientID)
		if a.cfg.ClientSecret != "" {
			form.Set("client_secret", a.cfg.ClientSecret)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, nil, authport.WrapError(authport.ErrMisconfigured, p, op, safetext.Redact(err))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if useBasic {
		// RFC 6749 §2.3.1: form-encode both before the Basic encoding.
		req.SetBasicAuth(url.QueryEscape(a.cfg.ClientID), url.QueryEscape(a.cfg.ClientSecret))
	}
	resp, err := a.noRedir.Do(req)
	if err != nil {
		return 0, nil, &authport.Error{Kind: authport.ErrProviderUnavailable, Provider: p, Op: op, Reason: "issuer unreachable", Err: safetext.Redact(err)}
	}
	defer resp.Body.Close()
	body, err := httpclient.ReadBody(resp.Body, 0)
	if errors.Is(err, httpclient.ErrBodyTooLarge) {
		return 0, nil, authport.NewError(authport.ErrProviderUnavailable, p, op, "the issuer's answer is over 1 MiB")
	}
	if err != nil {
		return 0, nil, &authport.Error{Kind: authport.ErrProviderUnavailable, Provider: p, Op: op, Reason: "reading the issuer's answer", Err: safetext.Redact(err)}
	}
	return resp.StatusCode, body, nil
}

// basicAuth reports whether to use client_secret_basic (the default
// method, RFC 8414 §2) rather than client_secret_post.
func (a *Authenticator) basicAuth() bool {
	m := a.meta.TokenEndpointAuthMethodsSupported
	if len(m) == 0 {
		return true
	}
	for _, x := range m {
		if x == "client_secret_basic" {
			return true
		}
	}
	for _, x := range m {
		if x == "client_secret_post" {
			return false
		}
	}
	return true
}

// token runs a token request and turns the answer into verified Tokens.
func (a *Authenticator) token(ctx context.Context, op string, form url.Values) (*authport.Tokens, error) {
	status, body, err := a.post(ctx, op, a.meta.TokenEndpoint, form)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, a.errorFor(op, status, body)
	}
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil || tr.AccessToken == "" {
		return nil, authport.NewError(authport.ErrProviderUnavailable, a.cfg.Provider, op, "the token response is malformed")
	}
	if tr.TokenType != "" && !strings.EqualFold(tr.TokenType, "Bearer") {
		return nil, authport.NewError(authport.ErrUnsupported, a.cfg.Provider, op, "token_type is not Bearer")
	}
	// The access token must be one Verify accepts; its claims name the
	// user and session.
	sess, err := a.access.Session(ctx, tr.AccessToken)
	if err != nil {
		return nil, err
	}
	if tr.IDToken != "" && a.id != nil {
		idc, err := a.id.Verify(ctx, tr.IDToken)
		if err != nil {
			return nil, err
		}
		if idc.Subject != sess.UserID {
			return nil, authport.NewError(authport.ErrInvalidCredential, a.cfg.Provider, op, "the ID token and access token name different users")
		}
	}
	t := &authport.Tokens{
		AccessToken: tr.AccessToken, RefreshToken: tr.RefreshToken, IDToken: tr.IDToken,
		ExpiresAt: sess.ExpiresAt, SessionID: sess.SessionID, UserID: sess.UserID,
	}
	if tr.ExpiresIn > 0 {
		if e := a.cfg.Clock().Add(time.Duration(tr.ExpiresIn) * time.Second); e.Before(t.ExpiresAt) {
			t.ExpiresAt = e
		}
	}
	return t, nil
}

// AuthorizeURL returns the issuer's authorization URL for the code flow
// with PKCE S256. State, CodeChallenge and RedirectURI are required.
// Organization is sent as "organization"; ScreenHint "sign-up" as
// prompt=create (OpenID Connect Prompt Create).
func (a *Authenticator) AuthorizeURL(ctx context.Context, r authport.AuthorizeRequest) (string, error) {
	const op = "authorize"
	if err := a.unsupported(authport.CapRedirectSignIn, op); err != nil {
		return "", err
	}
	if r.State == "" || r.CodeChallenge == "" || r.RedirectURI == "" {
		return "", authport.NewError(authport.ErrInvalidInput, a.cfg.Provider, op, "state, PKCE code challenge and redirect URI are required")
	}
	u, err := url.Parse(a.meta.AuthorizationEndpoint)
	if err != nil {
		return "", authport.WrapError(authport.ErrMisconfigured, a.cfg.Provider, op, err)
	}
	q := u.Query()
	q.Set("response_type", "code")
	q.Set("client_id", a.cfg.ClientID)
	q.Set("redirect_uri", r.RedirectURI)
	q.Set("scope", strings.Join(a.cfg.Scopes, " "))
	q.Set("state", r.State)
	q.Set("code_challenge", r.CodeChallenge)
	q.Set("code_challenge_method", "S256")
	if r.Organization != "" {
		q.Set("organization", r.Organization)
	}
	if r.ScreenHint == "sign-up" {
		q.Set("prompt", "create")
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// Exchange trades the callback's code for tokens. The caller has already
// compared the callback's state with the one it sent.
func (a *Authenticator) Exchange(ctx context.Context, c authport.Callback) (*authport.Tokens, error) {
	const op = "exchange"
	p := a.cfg.Provider
	if err := a.unsupported(authport.CapRedirectSignIn, op); err != nil {
		return nil, err
	}
	if e := c.Query.Get("error"); e != "" {
		switch e {
		case "temporarily_unavailable", "server_error":
			return nil, authport.NewError(authport.ErrProviderUnavailable, p, op, "the issuer reported "+codeOr(e))
		case "invalid_request", "unsupported_response_type", "invalid_scope", "unauthorized_client":
			return nil, authport.NewError(authport.ErrMisconfigured, p, op, "the issuer refused the authorization request: "+codeOr(e))
		}
		return nil, authport.NewError(authport.ErrInvalidCredential, p, op, "sign-in did not complete: "+codeOr(e))
	}
	// RFC 9207: an authorization response names its issuer, which must be
	// ours (mix-up defence).
	if iss, ok := c.Query["iss"]; ok || a.meta.AuthorizationResponseIssParameterSupported {
		if !ok || len(iss) != 1 || iss[0] != a.cfg.Issuer {
			return nil, authport.NewError(authport.ErrInvalidCredential, p, op, "the authorization response comes from another issuer")
		}
	}
	code := c.Query.Get("code")
	if code == "" || c.RedirectURI == "" {
		return nil, authport.NewError(authport.ErrInvalidInput, p, op, "code and redirect URI are required")
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {c.RedirectURI}}
	if c.CodeVerifier != "" {
		form.Set("code_verifier", c.CodeVerifier)
	}
	return a.token(ctx, op, form)
}

// SignInWithPassword uses the resource owner password grant. A wrong
// password and an unknown email are the same ErrInvalidCredential.
func (a *Authenticator) SignInWithPassword(ctx context.Context, email, password string) (*authport.Tokens, error) {
	const op = "sign-in"
	if err := a.unsupported(authport.CapPasswordSignIn, op); err != nil {
		return nil, err
	}
	if email == "" || password == "" {
		return nil, authport.NewError(authport.ErrInvalidCredential, a.cfg.Provider, op, "invalid email or password")
	}
	t, err := a.token(ctx, op, url.Values{"grant_type": {"password"}, "username": {email}, "password": {password}, "scope": {strings.Join(a.cfg.Scopes, " ")}})
	if authport.KindOf(err) == authport.ErrInvalidCredential {
		return nil, authport.NewError(authport.ErrInvalidCredential, a.cfg.Provider, op, "invalid email or password")
	}
	return t, err
}

// Refresh trades a refresh token for new tokens. When the issuer rotates
// refresh tokens the new one is returned and the old one is spent; when it
// does not, the old one is returned for reuse.
func (a *Authenticator) Refresh(ctx context.Context, refreshToken string) (*authport.Tokens, error) {
	const op = "refresh"
	if err := a.unsupported(authport.CapRefresh, op); err != nil {
		return nil, err
	}
	if refreshToken == "" {
		return nil, authport.NewError(authport.ErrInvalidCredential, a.cfg.Provider, op, "no refresh token")
	}
	t, err := a.token(ctx, op, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}})
	if err != nil {
		return nil, err
	}
	if t.RefreshToken == "" {
		t.RefreshToken = refreshToken
	}
	return t, nil
}

// Revoke ends the session at the issuer (RFC 7009): it revokes the refresh
// token, then the access token, of t. It also denies the session (or, if
// the token has no "sid", the token) in this process's verifier until it
// expires, so Verify refuses it at once. t must hold a token
// (ErrInvalidInput otherwise).
func (a *Authenticator) Revoke(ctx context.Context, s *authport.Session, t *authport.Tokens) error {
	const op = "revoke"
	if err := a.unsupported(authport.CapRevoke, op); err != nil {
		return err
	}
	if t == nil || (t.RefreshToken == "" && t.AccessToken == "") {
		return authport.NewError(authport.ErrInvalidInput, a.cfg.Provider, op, "revocation needs the session's refresh or access token")
	}
	for _, tok := range []struct{ value, hint string }{{t.RefreshToken, "refresh_token"}, {t.AccessToken, "access_token"}} {
		if tok.value == "" {
			continue
		}
		status, body, err := a.post(ctx, op, a.meta.RevocationEndpoint, url.Values{"token": {tok.value}, "token_type_hint": {tok.hint}})
		if err != nil {
			return err
		}
		if status != http.StatusOK {
			err := a.errorFor(op, status, body)
			if tok.hint == "access_token" && authport.KindOf(err) == authport.ErrUnsupported {
				continue // RFC 7009 §2.2.1: the issuer cannot revoke access tokens
			}
			return err
		}
	}
	if s != nil {
		until := s.ExpiresAt
		if until.IsZero() {
			until = a.cfg.Clock().Add(a.cfg.RevocationDelay)
		}
		until = until.Add(a.access.Leeway())
		if s.SessionID != "" {
			a.access.DenySession(s.SessionID, until)
		} else if s.TokenID != "" {
			a.access.DenyToken(s.Issuer, s.TokenID, until)
		}
	}
	return nil
}

// VerifyStrict verifies the token offline, then asks the issuer whether it
// is still active: RFC 7662 introspection when an introspection endpoint
// and a client id are configured, else the userinfo endpoint. A token the
// issuer no longer honours is ErrRevoked.
func (a *Authenticator) VerifyStrict(ctx context.Context, c authport.Credential) (*authport.Session, error) {
	const op = "verify-strict"
	p := a.cfg.Provider
	if err := a.unsupported(authport.CapStrictVerify, op); err != nil {
		return nil, err
	}
	sess, err := a.Verify(ctx, c)
	if err != nil {
		return nil, err
	}
	if a.canIntrospect() {
		status, body, err := a.post(ctx, op, a.meta.IntrospectionEndpoint, url.Values{"token": {c.Token}, "token_type_hint": {"access_token"}})
		if err != nil {
			return nil, err
		}
		if status != http.StatusOK {
			return nil, a.errorFor(op, status, body)
		}
		var ir struct {
			Active bool   `json:"active"`
			Sub    string `json:"sub"`
		}
		if err := json.Unmarshal(body, &ir); err != nil {
			return nil, authport.NewError(authport.ErrProviderUnavailable, p, op, "the introspection response is malformed")
		}
		if !ir.Active {
			return nil, authport.NewError(authport.ErrRevoked, p, op, "the issuer reports the token inactive")
		}
		if ir.Sub != "" && ir.Sub != sess.UserID {
			return nil, authport.NewError(authport.ErrInvalidCredential, p, op, "introspection names another subject")
		}
		return sess, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.meta.UserinfoEndpoint, nil)
	if err != nil {
		return nil, authport.WrapError(authport.ErrMisconfigured, p, op, safetext.Redact(err))
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Accept", "application/json")
	resp, err := a.noRedir.Do(req)
	if err != nil {
		return nil, &authport.Error{Kind: authport.ErrProviderUnavailable, Provider: p, Op: op, Reason: "issuer unreachable", Err: safetext.Redact(err)}
	}
	defer resp.Body.Close()
	body, err := httpclient.ReadBody(resp.Body, 0)
	switch {
	case err != nil:
		return nil, &authport.Error{Kind: authport.ErrProviderUnavailable, Provider: p, Op: op, Reason: "reading userinfo", Err: safetext.Redact(err)}
	case resp.StatusCode == http.StatusUnauthorized:
		return nil, authport.NewError(authport.ErrRevoked, p, op, "the issuer no longer accepts the token")
	case resp.StatusCode != http.StatusOK:
		return nil, a.errorFor(op, resp.StatusCode, body)
	}
	var ui struct {
		Sub string `json:"sub"`
	}
	if err := json.Unmarshal(body, &ui); err != nil || ui.Sub != sess.UserID {
		// OIDC Core §5.3.2: the userinfo sub must match the token's.
		return nil, authport.NewError(authport.ErrInvalidCredential, p, op, "userinfo names another subject")
	}
	return sess, nil
}

// LogoutURL implements authport.LogoutRedirector with OpenID Connect
// RP-Initiated Logout 1.0: the issuer's end_session_endpoint with
// post_logout_redirect_uri = returnTo (when given) and id_token_hint = the
// session's ID token when ctx carries it (authport.IDTokenFrom; Web sets
// it from the session cookie), else client_id, which the issuer needs to
// check returnTo against the client's registered post-logout redirect URIs.
// The session itself is not needed. Without an end_session_endpoint or a
// client id it is ErrUnsupported (see Describe); a returnTo that is not an
// absolute http(s) URL is ErrInvalidInput. No request is made.
func (a *Authenticator) LogoutURL(ctx context.Context, _ *authport.Session, returnTo string) (string, error) {
	const op = "logout"
	if err := a.unsupported(authport.CapLogoutRedirect, op); err != nil {
		return "", err
	}
	u, err := url.Parse(a.meta.EndSessionEndpoint)
	if err != nil {
		return "", authport.WrapError(authport.ErrMisconfigured, a.cfg.Provider, op, err)
	}
	q := u.Query()
	if returnTo != "" {
		ru, err := url.Parse(returnTo)
		if err != nil || ru.Host == "" || ru.User != nil || ru.Fragment != "" || (ru.Scheme != "https" && ru.Scheme != "http") {
			return "", authport.NewError(authport.ErrInvalidInput, a.cfg.Provider, op, "the post-logout redirect URI must be an absolute http(s) URL")
		}
		q.Set("post_logout_redirect_uri", returnTo)
	}
	if idt, ok := authport.IDTokenFrom(ctx); ok {
		q.Set("id_token_hint", idt)
	} else {
		q.Set("client_id", a.cfg.ClientID)
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}
