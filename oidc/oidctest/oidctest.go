// Package oidctest is a local OpenID Connect issuer for tests and
// development: the emulator behind the oidc adapter's tests and its
// conformance run, usable from your own tests as well.
//
//	emu := oidctest.New(t)
//	emu.CreateUser(oidctest.NewUser{Email: "ada@example.com", Password: "pw", Roles: []string{"admin"}})
//	a, _ := oidc.New(ctx, emu.Config()) // (see Config for the fields to copy)
//	tokens, _ := emu.SignIn(ctx, "ada@example.com", "pw")
//	sess, _ := a.Verify(ctx, authport.Credential{Token: tokens.AccessToken})
//
// It serves, on 127.0.0.1:
//
//	GET  /.well-known/openid-configuration   discovery (under the issuer's path)
//	GET  /jwks                               the signing keys (RS256 by default)
//	GET  /authorize                          hosted sign-in page: code flow, state,
//	                                         PKCE S256 (required), prompt=none, RFC 9207 iss
//	POST /token                              authorization_code, refresh_token
//	                                         (rotating, single use; reuse revokes the
//	                                         session), password
//	POST /revoke                             RFC 7009 (a refresh or access token ends
//	                                         its session)
//	GET  /userinfo                           OIDC userinfo (401 once the session ends)
//	POST /introspect                         RFC 7662 (inactive once the session ends)
//	GET|POST /logout                         RP-Initiated Logout 1.0 (end_session_endpoint):
//	                                         id_token_hint ends its session; redirects only
//	                                         to a registered post_logout_redirect_uri, with state
//	     /__authport/...                     the emulator control API
//
// Access tokens are RFC 9068 JWTs (typ "at+jwt") with iss, sub, aud (the
// Audience), azp and client_id, exp, iat, nbf, jti, sid, scope, email,
// email_verified, roles, permissions and org_id; ID tokens (typ "JWT")
// have aud = client id, auth_time, nonce, sid, email, email_verified and
// name. Clients authenticate with client_secret_basic or
// client_secret_post.
package oidctest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/authport/authport"
	"github.com/authport/authport/internal/emulator"
)

// Types re-exported from the emulator core so callers can name them.
type (
	// User is a user of the emulated issuer.
	User = emulator.User
	// NewUser describes a user to create.
	NewUser = emulator.NewUser
	// Session is a session at the emulated issuer.
	Session = emulator.Session
	// MintRequest describes a token to mint (valid or broken).
	MintRequest = emulator.MintRequest
	// Fault is an injected failure on a route.
	Fault = emulator.Fault
	// Clock is the emulated time.
	Clock = emulator.Clock
	// KeyRing holds the signing keys.
	KeyRing = emulator.KeyRing
	// Server is the underlying emulator server.
	Server = emulator.Server
	// Stats are the server's counters.
	Stats = emulator.Stats
)

// The routes, as registered (for SetFault, Fetches and Hits).
const (
	RouteJWKS       = "GET /jwks"
	RouteAuthorize  = "/authorize"
	RouteToken      = "POST /token"
	RouteRevoke     = "POST /revoke"
	RouteUserinfo   = "/userinfo"
	RouteIntrospect = "POST /introspect"
	RouteEndSession = "/logout"
)

// Options configures the emulator. Every field is optional.
type Options struct {
	// ClientID and ClientSecret are the one registered client's
	// credentials (defaults "authport-client" and "authport-secret"). Set
	// PublicClient to accept the client id without a secret.
	ClientID, ClientSecret string
	// PublicClient registers a public client (no secret; PKCE only).
	PublicClient bool
	// Audience is the access tokens' "aud" (default
	// "https://api.authport.test").
	Audience string
	// RedirectURIs are the client's registered redirect URIs, compared
	// exactly; empty accepts any absolute http(s) URI.
	RedirectURIs []string
	// IssuerPath is appended to the server URL to form the issuer: ""
	// (default), "/" for an Auth0-style trailing slash, or a realm path
	// such as "/realms/test".
	IssuerPath string
	// TokenTTL is the access and ID tokens' lifetime (default 5 minutes).
	TokenTTL time.Duration
	// Algorithm is the signing algorithm (default RS256; ES256, EdDSA, PS256
	// … also work).
	Algorithm string
	// KID makes key ids (default: 22 random base64url characters).
	KID func() string
	// KeyGrace is how long a rotated-out key stays published (default:
	// until dropped).
	KeyGrace time.Duration
	// KeysMaxAge is the JWKS Cache-Control max-age (default 0: no-cache).
	KeysMaxAge time.Duration
	// Clock is the emulated time (default: real time).
	Clock *Clock
	// Addr is the loopback listen address (default 127.0.0.1:0).
	Addr string
	// TLS serves HTTPS; use Emulator.Client.
	TLS bool
	// PostLogoutRedirectURIs are the client's registered post-logout
	// redirect URIs, compared exactly; empty accepts any http(s) URI on a
	// loopback host.
	PostLogoutRedirectURIs []string
	// NoPasswordGrant, NoRevocation, NoIntrospection, NoUserinfo and
	// NoEndSession leave those features out of the server and its
	// discovery document.
	NoPasswordGrant, NoRevocation, NoIntrospection, NoUserinfo, NoEndSession bool
	// Logger receives one debug line per request.
	Logger *slog.Logger
}

// Emulator is a running OpenID Connect issuer.
type Emulator struct {
	// Server is the emulator core: Mux, Keys, Store, Clock, faults,
	// counters and the control API.
	*Server
	// Issuer is the issuer URL (the server URL plus IssuerPath).
	Issuer string
	// ClientID, ClientSecret and Audience are the registered client's
	// credentials and the access tokens' audience.
	ClientID, ClientSecret, Audience string

	o Options
}

// New starts an emulator for a test and closes it when the test ends. It
// takes at most one Options.
func New(tb testing.TB, opts ...Options) *Emulator {
	tb.Helper()
	var o Options
	if len(opts) > 1 {
		tb.Fatal("oidctest.New: at most one Options")
	}
	if len(opts) == 1 {
		o = opts[0]
	}
	e, err := Start(o)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(e.Close)
	return e
}

// Start starts an emulator; the caller must Close it. Use it outside
// tests (examples, `authport emulate`).
func Start(o Options) (e *Emulator, err error) {
	if o.ClientID == "" {
		o.ClientID = "authport-client"
	}
	if o.ClientSecret == "" && !o.PublicClient {
		o.ClientSecret = "authport-secret"
	}
	if o.PublicClient {
		o.ClientSecret = ""
	}
	if o.Audience == "" {
		o.Audience = "https://api.authport.test"
	}
	if o.TokenTTL <= 0 {
		o.TokenTTL = 5 * time.Minute
	}
	if o.IssuerPath != "" && !strings.HasPrefix(o.IssuerPath, "/") {
		return nil, errors.New("oidctest: IssuerPath must start with /")
	}
	defer func() {
		if r := recover(); r != nil { // NewUnstarted panics when it cannot listen
			err = fmt.Errorf("oidctest: %v", r)
		}
	}()
	e = &Emulator{ClientID: o.ClientID, ClientSecret: o.ClientSecret, Audience: o.Audience, o: o}
	e.Server = emulator.NewUnstarted(emulator.Options{
		Name:          "OIDC emulator",
		Addr:          o.Addr,
		TLS:           o.TLS,
		Clock:         o.Clock,
		Keys:          emulator.KeyRingOptions{Algorithm: o.Algorithm, KID: o.KID, Grace: o.KeyGrace},
		Store:         emulator.StoreOptions{RevokeOnReuse: true},
		TokenTTL:      o.TokenTTL,
		DefaultClaims: e.accessClaims,
		DefaultHeader: map[string]any{"typ": "at+jwt"},
		SignIn:        e.controlSignIn,
		Logger:        o.Logger,
	})
	e.Issuer = e.URL + o.IssuerPath
	e.routes()
	e.Start()
	return e, nil
}

// JWKSURL is the key endpoint's URL.
func (e *Emulator) JWKSURL() string { return e.URL + "/jwks" }

// Env returns the environment the oidc adapter's FromEnv reads for this
// emulator (OIDC_ISSUER, OIDC_AUDIENCE, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET),
// with AUTH_PROVIDER=oidc.
func (e *Emulator) Env() map[string]string {
	return map[string]string{
		"AUTH_PROVIDER": "oidc", "OIDC_ISSUER": e.Issuer, "OIDC_AUDIENCE": e.Audience,
		"OIDC_CLIENT_ID": e.ClientID, "OIDC_CLIENT_SECRET": e.ClientSecret,
	}
}

// OpenURL returns the oidc:// URL that opens the adapter for this emulator
// (with insecure=1 unless it serves TLS). It holds the client secret.
func (e *Emulator) OpenURL() string {
	u, _ := url.Parse(e.Issuer)
	q := url.Values{"audience": {e.Audience}, "client_id": {e.ClientID}}
	if e.ClientSecret != "" {
		q.Set("client_secret", e.ClientSecret)
	}
	if u.Scheme == "http" {
		q.Set("insecure", "1")
	}
	return "oidc://" + u.Host + u.EscapedPath() + "?" + q.Encode()
}

// CreateUser creates a user.
func (e *Emulator) CreateUser(u NewUser) (*User, error) { return e.Store.CreateUser(u) }

// RevokeSession revokes a session, as an administrator would: refresh
// fails, introspection says inactive, userinfo answers 401.
func (e *Emulator) RevokeSession(sessionID string) error { return e.Store.RevokeSession(sessionID) }

// RevokeUser revokes all of a user's sessions and returns how many.
func (e *Emulator) RevokeUser(userID string) int { return e.Store.RevokeUserSessions(userID) }

// DisableUser disables a user and revokes their sessions.
func (e *Emulator) DisableUser(userID string) error { return e.Store.DisableUser(userID) }

// SetKeysDown makes the JWKS endpoint answer 503 (true) or recover.
func (e *Emulator) SetKeysDown(down bool) {
	if down {
		e.SetFault(RouteJWKS, Fault{Down: true})
	} else {
		e.ClearFault(RouteJWKS)
	}
}

// KeyFetches counts requests to the JWKS endpoint.
func (e *Emulator) KeyFetches() int64 { return e.Fetches(RouteJWKS) }

// SignIn signs a user in through the emulator's own endpoints, as a
// client would: the password grant at /token, or, with NoPasswordGrant,
// the hosted page at /authorize and the code exchange (PKCE S256). The
// tokens are not verified.
func (e *Emulator) SignIn(ctx context.Context, email, password string) (*authport.Tokens, error) {
	if e.o.NoPasswordGrant {
		return e.signInCode(ctx, email, password)
	}
	return e.tokenRequest(ctx, url.Values{
		"grant_type": {"password"}, "username": {email}, "password": {password}, "scope": {"openid email profile offline_access"},
	})
}

func (e *Emulator) signInCode(ctx context.Context, email, password string) (*authport.Tokens, error) {
	const redirect = "http://127.0.0.1/oidctest/callback"
	verifier := emulator.RandomToken(32)
	state := emulator.RandomToken(16)
	q := url.Values{
		"response_type": {"code"}, "client_id": {e.ClientID}, "redirect_uri": {redirect},
		"scope": {"openid email profile offline_access"}, "state": {state},
		"code_challenge": {emulator.PKCEChallenge(verifier)}, "code_challenge_method": {"S256"},
	}
	loc, err := emulator.SubmitLogin(ctx, e.Client(), e.URL+"/authorize?"+q.Encode(), email, password)
	if err != nil {
		return nil, err
	}
	if loc.Query().Get("state") != state || loc.Query().Get("code") == "" {
		return nil, fmt.Errorf("oidctest: callback %s", loc.Query().Get("error"))
	}
	return e.tokenRequest(ctx, url.Values{
		"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
		"redirect_uri": {redirect}, "code_verifier": {verifier},
	})
}

// tokenRequest posts to /token as the registered client.
func (e *Emulator) tokenRequest(ctx context.Context, form url.Values) (*authport.Tokens, error) {
	if e.ClientSecret == "" {
		form.Set("client_id", e.ClientID)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL+"/token", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if e.ClientSecret != "" {
		req.SetBasicAuth(url.QueryEscape(e.ClientID), url.QueryEscape(e.ClientSecret))
	}
	resp, err := e.Client().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("oidctest: token endpoint answered %d: %s", resp.StatusCode, body)
	}
	var ts emulator.TokenSet
	if err := json.Unmarshal(body, &ts); err != nil {
		return nil, err
	}
	t := &authport.Tokens{AccessToken: ts.AccessToken, RefreshToken: ts.RefreshToken, IDToken: ts.IDToken,
		ExpiresAt: e.Clock.Now().Add(time.Duration(ts.ExpiresIn) * time.Second)}
	if m, ok := e.Minted(ts.AccessToken); ok {
		t.SessionID, t.UserID = m.SessionID, m.UserID
	}
	return t, nil
}

// accessClaims are the access token claims for a user and session.
func (e *Emulator) accessClaims(u *User, s *Session) map[string]any {
	c := map[string]any{
		"iss": e.Issuer, "aud": e.Audience, "azp": e.ClientID, "client_id": e.ClientID,
		"nbf": e.Clock.Now().Unix(), "scope": "openid email profile",
	}
	if s != nil && s.Scope != "" {
		c["scope"] = s.Scope
	}
	if u != nil {
		c["email"] = u.Email
		c["email_verified"] = u.EmailVerified
		c["roles"] = nonNil(u.Roles)
		c["permissions"] = nonNil(u.Permissions)
		org := u.OrgID
		if s != nil && s.OrgID != "" {
			org = s.OrgID
		}
		if org != "" {
			c["org_id"] = org
		}
	}
	return c
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// idClaims are the ID token claims (OIDC Core §2).
func (e *Emulator) idClaims(nonce string) func(u *User, s *Session) map[string]any {
	return func(u *User, s *Session) map[string]any {
		c := map[string]any{"iss": e.Issuer, "aud": e.ClientID, "azp": e.ClientID}
		if nonce != "" {
			c["nonce"] = nonce
		}
		if s != nil {
			c["auth_time"] = s.CreatedAt.Unix()
		}
		if u != nil {
			c["email"] = u.Email
			c["email_verified"] = u.EmailVerified
			if u.Name != "" {
				c["name"] = u.Name
			}
		}
		return c
	}
}

// issue mints the token response for a live session.
func (e *Emulator) issue(ss *Session, nonce string, refresh string) (*emulator.TokenSet, error) {
	at, err := e.Mint(MintRequest{SessionID: ss.ID})
	if err != nil {
		return nil, err
	}
	ts := &emulator.TokenSet{AccessToken: at, TokenType: "Bearer", ExpiresIn: int64(e.o.TokenTTL / time.Second), Scope: ss.Scope, RefreshToken: refresh}
	if hasScope(ss.Scope, "openid") {
		if ts.IDToken, err = e.Mint(MintRequest{SessionID: ss.ID, Defaults: e.idClaims(nonce), Header: map[string]any{"typ": "JWT"}}); err != nil {
			return nil, err
		}
	}
	if ts.RefreshToken == "" {
		if ts.RefreshToken, err = e.Store.IssueRefresh(ss.ID); err != nil {
			return nil, err
		}
	}
	return ts, nil
}

func hasScope(scope, s string) bool {
	for _, x := range strings.Fields(scope) {
		if x == s {
			return true
		}
	}
	return false
}

// controlSignIn answers POST /__authport/sign-in with a token response.
func (e *Emulator) controlSignIn(r *http.Request, u *User) (any, error) {
	ss, err := e.Store.CreateSession(emulator.NewSession{UserID: u.ID, ClientID: e.ClientID, Scope: "openid email profile offline_access"})
	if err != nil {
		return nil, err
	}
	return e.issue(ss, "", "")
}

// SetRateLimit makes the emulator refuse API calls past requests per
// window with a 429 and Retry-After (the control API's POST /__authport/ratelimit
// does the same); key endpoints are not limited. requests 0 refuses every
// call; window 0 means one minute.
func (e *Emulator) SetRateLimit(requests int, window time.Duration) {
	e.Server.SetRateLimit(emulator.RateLimit{Requests: requests, Window: window})
}

// SetRateLimited refuses every API call for its rate (true), as a
// provider throttling this client does, or lifts the limit (false).
func (e *Emulator) SetRateLimited(on bool) {
	if on {
		e.Server.SetRateLimit(emulator.RateLimit{Requests: 0, Window: RateLimitWindow})
		return
	}
	e.Server.ClearRateLimit()
}

// RateLimitWindow is the window SetRateLimited refuses calls for: the
// wait its refusals name.
const RateLimitWindow = time.Minute
