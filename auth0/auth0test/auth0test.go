// Package auth0test is a local Auth0 tenant for tests and development: a
// loopback HTTP server that speaks Auth0's wire format, so the auth0 adapter,
// golang.org/x/oauth2 and go-jwt-middleware's jwks/validator packages talk to
// it unmodified.
//
//	emu := auth0test.New(t)
//	u, _ := emu.CreateUser(auth0test.NewUser{Email: "ada@example.com", Password: "pw-12345678", Roles: []string{"admin"}})
//	tok, _ := emu.SignIn(ctx, "ada@example.com", "pw-12345678")
//	a, _ := auth0.New(ctx, emu.Config()) // or authport.FromEnv with emu.Env()
//
// The tenant's domain is the server's loopback address ("127.0.0.1:port"),
// served over plain HTTP (Config.Insecure), so its issuer is
// "http://127.0.0.1:port/" — trailing slash included, as Auth0's is.
//
// # Routes
//
//	GET  /.well-known/openid-configuration   discovery (issuer, jwks_uri, endpoints)
//	GET  /.well-known/jwks.json              RS256 keys with x5c and x5t, as Auth0 publishes them
//	GET  /authorize                          Universal Login: hosted sign-in page, code + PKCE S256,
//	                                         audience, organization, prompt=none, SSO cookie
//	POST /oauth/token                        authorization_code, password,
//	                                         http://auth0.com/oauth/grant-type/password-realm,
//	                                         http://auth0.com/oauth/grant-type/mfa-otp,
//	                                         refresh_token (rotation + reuse detection when
//	                                         Options.Rotation is on; off by default, as on Auth0),
//	                                         client_credentials; form or JSON bodies;
//	                                         client_secret_post or client_secret_basic
//	POST /oauth/revoke                       refresh-token revocation (RFC 7009, form or JSON)
//	GET  /userinfo                           OpenID Connect userinfo (Bearer access token)
//	GET  /v2/logout                          ends the SSO session, redirects to returnTo
//	GET|POST /oidc/logout                    RP-Initiated Logout: id_token_hint, client_id,
//	                                         post_logout_redirect_uri (Allowed Logout URLs), state
//	POST /mfa/challenge                      challenge for an mfa_token (challenge_type otp)
//	POST /dbconnections/signup               database sign-up
//	POST /api/v2/users, GET|DELETE /api/v2/users/{id},
//	DELETE /api/v2/users/{id}/refresh-tokens, DELETE /api/v2/users/{id}/sessions
//	                                         the Management API subset the live harness uses
//	                                         (Bearer token from client_credentials with
//	                                         audience https://<domain>/api/v2/)
//
// plus the shared /__authport/ control API (users, mint, rotate, faults,
// clock; see internal/emulator).
//
// # Tokens
//
// Access tokens are RS256 JWTs with header {"alg":"RS256","typ":"JWT","kid":…}
// and the Auth0 token profile's claims: iss, sub ("auth0|…"), aud (the API
// identifier, or [API, https://<domain>/userinfo] when "openid" was
// requested), azp, iat, exp (24 h by default), scope, gty, permissions (RBAC
// with "Add Permissions in the Access Token"), org_id and org_name (when the
// sign-in named an organisation), and the namespaced roles claim an Auth0
// Action would add (Options.RolesClaim). With Options.Profile =
// ProfileRFC9068 the header's typ is "at+jwt", client_id replaces azp, jti is
// added and gty left out. M2M tokens (client_credentials) have sub
// "<client_id>@clients" and gty "client-credentials".
//
// Errors are Auth0's bodies: 403 {"error":"invalid_grant","error_description":
// "Wrong email or password."}, 401 {"error":"access_denied",
// "error_description":"Unauthorized"} for bad client credentials, 429
// {"error":"too_many_attempts",…} after Options.MaxAttempts consecutive
// failures, 403 {"error":"invalid_grant","error_description":"Unknown or
// invalid refresh token."}, 401 {"error":"unauthorized","error_description":
// "user is blocked"} for a disabled user, and so on.
//
// A user created with Metadata{MetadataMFA: true} gets Auth0's 403
// {"error":"mfa_required","mfa_token":…} from the password grants. The
// mfa_token lives 10 minutes; the mfa-otp grant
// (http://auth0.com/oauth/grant-type/mfa-otp, with mfa_token and otp)
// redeems it with the code of the user's authenticator, an RFC 6238 TOTP
// (HMAC-SHA1, six digits, 30 s, one step of skew either way) whose secret
// TOTPSecret returns and whose current code OTP returns. A wrong code is
// 403 invalid_grant "Invalid otp_code." (five spend the mfa_token), an
// unknown mfa_token 403 invalid_grant, an expired one 403 expired_token.
//
// Like Auth0, signing out (/v2/logout, /oauth/revoke, the Management API)
// never invalidates an access token already issued: it verifies, and
// /userinfo answers for it, until it expires.
package auth0test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authport/authport"
	"github.com/authport/authport/auth0"
	"github.com/authport/authport/internal/emulator"
)

// Types re-exported from the shared emulator core.
type (
	// User is a user of the emulated tenant.
	User = emulator.User
	// NewUser describes a user to create. Roles go into the roles claim,
	// Permissions into "permissions" (RBAC), OrgID makes the user a
	// member of that organisation.
	NewUser = emulator.NewUser
	// MintRequest describes a token for Mint.
	MintRequest = emulator.MintRequest
	// Fault is an injected failure on a route.
	Fault = emulator.Fault
	// Clock is the emulated time.
	Clock = emulator.Clock
)

// MetadataMFA is the NewUser.Metadata key that enrols a user in
// multi-factor authentication: a password sign-in then answers 403
// {"error":"mfa_required","mfa_token":…}, as Auth0 does.
const MetadataMFA = "mfa_enrolled"

// NewClock returns a clock that follows the real time until moved; pass
// its Now to the adapter's Config.Clock.
func NewClock() *Clock { return emulator.NewClock() }

// Profile is an Auth0 access-token profile.
type Profile string

// The access-token profiles (an API's "Token Profile" setting).
const (
	// ProfileAuth0 is Auth0's default token profile (azp, gty, no jti).
	ProfileAuth0 Profile = "auth0"
	// ProfileRFC9068 is the RFC 9068 profile (typ at+jwt, client_id, jti).
	ProfileRFC9068 Profile = "rfc9068"
)

// The route patterns, for SetFault and Hits.
const (
	RouteDiscovery = "GET /.well-known/openid-configuration"
	RouteJWKS      = "GET /.well-known/jwks.json"
	RouteAuthorize = "/authorize"
	RouteToken     = "POST /oauth/token"
	RouteRevoke    = "POST /oauth/revoke"
	RouteUserinfo  = "/userinfo"
	RouteLogout    = "GET /v2/logout"
	// RouteOIDCLogout is OpenID Connect RP-Initiated Logout (GET or POST).
	RouteOIDCLogout = "/oidc/logout"
	// RouteMFAChallenge asks for a second-factor challenge for an
	// mfa_token (POST, form or JSON).
	RouteMFAChallenge = "POST /mfa/challenge"
	RouteSignup       = "POST /dbconnections/signup"
)

// Options configures a Server. Every field is optional.
type Options struct {
	// Audience is the API identifier tokens are issued for (default
	// "https://api.example.com").
	Audience string
	// ExtraAudiences are further APIs the tenant knows.
	ExtraAudiences []string
	// ClientID and ClientSecret are the one application's credentials
	// (default: random, shaped like Auth0's).
	ClientID, ClientSecret string
	// RolesClaim is the namespaced claim the emulated Action fills with the
	// user's roles (default "https://example.com/roles").
	RolesClaim string
	// Connection is the database connection's name (default
	// "Username-Password-Authentication"); the password-realm grant's
	// realm must name it.
	Connection string
	// NoDefaultDirectory makes the plain password grant fail as it does
	// in a tenant without a "Default Directory".
	NoDefaultDirectory bool
	// Profile is the access-token profile (default ProfileAuth0).
	Profile Profile
	// NoPermissions leaves the "permissions" claim out (RBAC's "Add
	// Permissions in the Access Token" off).
	NoPermissions bool
	// OrgNames adds "org_name" next to "org_id".
	OrgNames bool
	// TokenTTL is the access-token lifetime (default 24 h, Auth0's).
	TokenTTL time.Duration
	// Rotation turns refresh-token rotation on, as an Auth0 application's
	// "Refresh Token Rotation" setting does (off by default there too):
	// each refresh then returns a new refresh token and spends the old one,
	// and presenting a spent one ends the whole family (reuse detection,
	// reuse interval 0). Without it a refresh returns no new refresh token
	// and the old one stays valid.
	Rotation bool
	// MaxAttempts blocks an account (429 too_many_attempts) after this many
	// consecutive wrong passwords (default 10; negative: never).
	MaxAttempts int
	// AllowedCallbackURLs restricts redirect_uri and AllowedLogoutURLs
	// /v2/logout's returnTo, by exact match (default for both: any https
	// URL and any http URL on a loopback host). A returnTo not allowed is
	// answered with Auth0's error page, never a redirect.
	AllowedCallbackURLs, AllowedLogoutURLs []string
	// Clock is the emulated time (default: the real time).
	Clock *Clock
	// Addr is the loopback listen address (default 127.0.0.1:0).
	Addr string
	// Logger receives one debug line per request (default: discard).
	Logger *slog.Logger
}

// Server is an emulated Auth0 tenant. It is safe for concurrent use.
type Server struct {
	// URL is the tenant's base URL, "http://127.0.0.1:port".
	URL string

	core   *emulator.Server
	o      Options
	issuer string

	mu       sync.Mutex
	orgs     map[string]string // id → name
	sso      map[string]*ssoSession
	idTokens map[[32]byte]issuedIDToken
	failures map[string]int // lower-case email → consecutive failures
	opaque   map[string]string
	rem      *remote
	// mfa holds password sign-ins waiting for their second factor, by
	// mfa_token; totp the users' authenticator secrets, by user id.
	mfa         map[string]*mfaPending
	mfaFailures map[string]int
	totp        map[string][]byte
}

// issuedIDToken is what /oidc/logout needs to know of an ID token this
// tenant issued: the client it was for and the session it names.
type issuedIDToken struct {
	clientID, sid string
}

type ssoSession struct {
	userID string
	live   bool
}

// New starts an emulated tenant for a test and closes it when the test
// ends.
func New(tb testing.TB, o ...Options) *Server {
	tb.Helper()
	var opts Options
	if len(o) > 0 {
		opts = o[0]
	}
	s := NewServer(opts)
	tb.Cleanup(s.Close)
	return s
}

// NewServer starts an emulated tenant; Close stops it. It panics if it
// cannot listen, as httptest.NewServer does; Start returns the error.
func NewServer(o Options) *Server {
	s, err := Start(o)
	if err != nil {
		panic(err)
	}
	return s
}

// Start starts an emulated tenant (for `authport emulate` and other non-test
// use); Close stops it. Options.Addr must be a loopback address.
func Start(o Options) (s *Server, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("auth0test: %v", r)
		}
	}()
	return start(o), nil
}

func start(o Options) *Server {
	if o.Audience == "" {
		o.Audience = "https://api.example.com"
	}
	if o.ClientID == "" {
		o.ClientID = emulator.RandomBase62(32)
	}
	if o.ClientSecret == "" {
		o.ClientSecret = emulator.RandomToken(48)
	}
	if o.RolesClaim == "" {
		o.RolesClaim = "https://example.com/roles"
	}
	if o.Connection == "" {
		o.Connection = auth0.DefaultRealm
	}
	if o.Profile == "" {
		o.Profile = ProfileAuth0
	}
	if o.TokenTTL <= 0 {
		o.TokenTTL = 24 * time.Hour
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = 10
	}
	s := &Server{o: o, orgs: map[string]string{}, sso: map[string]*ssoSession{}, idTokens: map[[32]byte]issuedIDToken{}, failures: map[string]int{}, opaque: map[string]string{},
		mfa: map[string]*mfaPending{}, mfaFailures: map[string]int{}, totp: map[string][]byte{}}
	header := map[string]any{"typ": "JWT"}
	if o.Profile == ProfileRFC9068 {
		header["typ"] = "at+jwt"
	}
	s.core = emulator.NewUnstarted(emulator.Options{
		Name:          "Auth0",
		Addr:          o.Addr,
		Clock:         o.Clock,
		TokenTTL:      o.TokenTTL,
		DefaultHeader: header,
		Logger:        o.Logger,
		RateLimited:   s.rateLimited,
		Keys: emulator.KeyRingOptions{
			KID:        func() string { return emulator.RandomToken(16) },
			CommonName: "auth0 emulator",
		},
		Store: emulator.StoreOptions{
			UserID:        func() string { return "auth0|" + emulator.RandomHex(12) },
			RefreshToken:  func() string { return "v1." + emulator.RandomToken(48) },
			RevokeOnReuse: true,
		},
		SignIn: func(r *http.Request, u *User) (any, error) {
			g, err := s.newGrant(u, grant{audience: s.o.Audience, scope: strings.Join(auth0.DefaultScopes, " "), gty: "password"})
			if err != nil {
				return nil, err
			}
			return s.issue(g, true)
		},
	})
	s.URL = s.core.URL
	s.issuer = s.URL + "/"
	s.routes()
	s.core.Start()
	s.rem = &remote{base: s.URL, clientID: o.ClientID, secret: o.ClientSecret, client: s.core.Client()}
	return s
}

// Close stops the server.
func (s *Server) Close() { s.core.Close() }

// Domain returns the tenant's domain, "127.0.0.1:port" (AUTH0_DOMAIN).
func (s *Server) Domain() string { return strings.TrimPrefix(s.URL, "http://") }

// Issuer returns the tokens' issuer, "http://127.0.0.1:port/".
func (s *Server) Issuer() string { return s.issuer }

// Audience returns the API identifier tokens are issued for.
func (s *Server) Audience() string { return s.o.Audience }

// ManagementAudience returns the Management API's identifier,
// "http://127.0.0.1:port/api/v2/".
func (s *Server) ManagementAudience() string { return s.issuer + "api/v2/" }

// ClientID returns the application's client id.
func (s *Server) ClientID() string { return s.o.ClientID }

// ClientSecret returns the application's client secret.
func (s *Server) ClientSecret() string { return s.o.ClientSecret }

// RolesClaim returns the name of the roles claim.
func (s *Server) RolesClaim() string { return s.o.RolesClaim }

// Connection returns the database connection's name (the realm).
func (s *Server) Connection() string { return s.o.Connection }

// Clock returns the emulated time.
func (s *Server) Clock() *Clock { return s.core.Clock }

// TokenTTL returns the access-token lifetime.
func (s *Server) TokenTTL() time.Duration { return s.o.TokenTTL }

// Config returns an auth0.Config pointing at this tenant (Insecure, its
// domain, audience, client, roles claim and clock).
func (s *Server) Config() auth0.Config {
	return auth0.Config{
		Domain:        s.Domain(),
		Audiences:     []string{s.o.Audience},
		ClientID:      s.o.ClientID,
		ClientSecret:  s.o.ClientSecret,
		RolesClaim:    s.o.RolesClaim,
		Realm:         s.o.Connection,
		TokenLifetime: s.o.TokenTTL,
		Insecure:      true,
		Clock:         s.core.Clock.Now,
	}
}

// Env returns the environment variables that point the adapter (through
// authport.FromEnv) at this tenant, AUTH_PROVIDER included.
func (s *Server) Env() map[string]string {
	return map[string]string{
		authport.ProviderEnv:   auth0.Name,
		auth0.EnvDomain:        s.Domain(),
		auth0.EnvAudience:      s.o.Audience,
		auth0.EnvClientID:      s.o.ClientID,
		auth0.EnvClientSecret:  s.o.ClientSecret,
		auth0.EnvRolesClaim:    s.o.RolesClaim,
		auth0.EnvRealm:         s.o.Connection,
		auth0.EnvTokenLifetime: s.o.TokenTTL.String(),
		auth0.EnvInsecure:      "true",
	}
}

// CreateUser adds a user to the database connection. An OrgID that is not
// an organisation yet becomes one (named after its id).
func (s *Server) CreateUser(n NewUser) (*User, error) {
	u, err := s.core.Store.CreateUser(n)
	if err != nil {
		return nil, err
	}
	if n.OrgID != "" {
		s.mu.Lock()
		if _, ok := s.orgs[n.OrgID]; !ok {
			s.orgs[n.OrgID] = strings.TrimPrefix(n.OrgID, "org_")
		}
		s.mu.Unlock()
	}
	return u, nil
}

// AddOrganization creates (or renames) an organisation.
func (s *Server) AddOrganization(id, name string) {
	s.mu.Lock()
	s.orgs[id] = name
	s.mu.Unlock()
}

// User returns a user by id.
func (s *Server) User(id string) (*User, error) { return s.core.Store.User(id) }

// DisableUser blocks a user ("user is blocked") and revokes their refresh
// tokens.
func (s *Server) DisableUser(id string) error { return s.core.Store.DisableUser(id) }

// RevokeUser revokes every refresh token of a user (the Management API's
// DELETE /api/v2/users/{id}/refresh-tokens) and ends their SSO sessions.
// Access tokens already issued keep verifying until they expire.
func (s *Server) RevokeUser(id string) int {
	s.endSSO(id)
	return s.core.Store.RevokeUserSessions(id)
}

// Rotate makes a new signing key; the old one stays published.
func (s *Server) Rotate() string { return s.core.Keys.Rotate().ID }

// DropRetiredKeys stops publishing every key but the current one.
func (s *Server) DropRetiredKeys() { s.core.Keys.DropRetired() }

// KID returns the current signing key's id.
func (s *Server) KID() string { return s.core.Keys.KID() }

// SignRaw signs headerJSON and payloadJSON exactly as given with the
// current key (for malformed-token tests; the header's alg is not
// checked).
func (s *Server) SignRaw(headerJSON, payloadJSON []byte) string {
	return s.core.Keys.SignRaw(headerJSON, payloadJSON)
}

// PublicKey returns the current signing key's public key.
func (s *Server) PublicKey() any { return s.core.Keys.PublicKey() }

// SetFault injects a failure on route (a Route* constant or a path).
func (s *Server) SetFault(route string, f Fault) { s.core.SetFault(route, f) }

// ClearFaults removes every fault.
func (s *Server) ClearFaults() { s.core.ClearFaults() }

// SetKeysDown makes the JWKS endpoint answer 503 (true) or recover.
func (s *Server) SetKeysDown(down bool) {
	if down {
		s.core.SetFault(RouteJWKS, Fault{Down: true})
	} else {
		s.core.ClearFault(RouteJWKS)
	}
}

// KeyFetches counts requests to the JWKS endpoint.
func (s *Server) KeyFetches() int64 { return s.core.Fetches(RouteJWKS) }

// Hits counts requests to a route (a Route* constant or a path).
func (s *Server) Hits(route string) int64 { return s.core.Hits(route) }

// Mint signs a token with the tenant's key: by default a valid access token
// for req.UserID with the claims a password sign-in would give (audience,
// scope "openid profile email", permissions, roles, organisation); use
// req.Claims, Expired, NotYetValid, Foreign, Alg … for negative tests.
func (s *Server) Mint(req MintRequest) (string, error) {
	var u *User
	if req.UserID != "" {
		var err error
		if u, err = s.core.Store.User(req.UserID); err != nil {
			return "", err
		}
	}
	g := grant{clientID: s.o.ClientID, audience: s.o.Audience, scope: "openid profile email", gty: "password"}
	if u != nil {
		g.user = u.ID
		g.orgID = u.OrgID
	}
	if req.Defaults == nil {
		req.Defaults = func(u *User, _ *emulator.Session) map[string]any { return s.accessClaims(u, g) }
	}
	req.Claims = s.profileOverrides(req.Claims)
	req.SessionID = ""
	return s.core.Mint(req)
}

// SignIn signs a user in the way an Auth0 client does, with the
// password-realm grant at POST /oauth/token (audience: Audience(), scope
// openid profile email offline_access), and returns the tokens.
func (s *Server) SignIn(ctx context.Context, email, password string) (*authport.Tokens, error) {
	form := url.Values{
		"grant_type": {auth0.PasswordRealmGrant}, "username": {email}, "password": {password},
		"realm": {s.o.Connection}, "audience": {s.o.Audience}, "scope": {strings.Join(auth0.DefaultScopes, " ")},
		"client_id": {s.o.ClientID}, "client_secret": {s.o.ClientSecret},
	}
	return postToken(ctx, s.core.Client(), s.URL+"/oauth/token", form)
}

// SignInWithOrganization signs a user in through Universal Login the way a
// browser does — GET /authorize with organization, PKCE and state, the
// hosted page's form, then the code exchange — because Auth0 issues
// organisation tokens only through /authorize.
func (s *Server) SignInWithOrganization(ctx context.Context, email, password, org string) (*authport.Tokens, error) {
	verifier := emulator.RandomToken(32)
	redirect := "http://127.0.0.1/callback"
	if len(s.o.AllowedCallbackURLs) > 0 {
		redirect = s.o.AllowedCallbackURLs[0]
	}
	q := url.Values{
		"response_type": {"code"}, "client_id": {s.o.ClientID}, "redirect_uri": {redirect},
		"scope": {strings.Join(auth0.DefaultScopes, " ")}, "audience": {s.o.Audience}, "state": {"st"},
		"code_challenge": {emulator.PKCEChallenge(verifier)}, "code_challenge_method": {"S256"},
		"prompt": {"login"},
	}
	if org != "" {
		q.Set("organization", org)
	}
	loc, err := emulator.SubmitLogin(ctx, s.core.Client(), s.URL+"/authorize?"+q.Encode(), email, password)
	if err != nil {
		return nil, err
	}
	if e := loc.Query().Get("error"); e != "" {
		return nil, fmt.Errorf("auth0test: /authorize answered %s: %s", e, loc.Query().Get("error_description"))
	}
	form := url.Values{
		"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")}, "redirect_uri": {redirect},
		"code_verifier": {verifier}, "client_id": {s.o.ClientID}, "client_secret": {s.o.ClientSecret},
	}
	return postToken(ctx, s.core.Client(), s.URL+"/oauth/token", form)
}

// ManagementToken returns a Management API access token obtained with the
// client_credentials grant (cached for a few minutes).
func (s *Server) ManagementToken(ctx context.Context) (string, error) {
	return s.rem.mgmtToken(ctx)
}

var errNoOrg = errors.New("auth0test: no such organization")

// SetRateLimit makes the emulator refuse API calls past requests per
// window with Auth0's own 429 too_many_requests and X-RateLimit-Reset (the control API's POST /__authport/ratelimit
// does the same); key endpoints are not limited. requests 0 refuses every
// call; window 0 means one minute.
func (s *Server) SetRateLimit(requests int, window time.Duration) {
	s.core.SetRateLimit(emulator.RateLimit{Requests: requests, Window: window})
}

// SetRateLimited refuses every API call for its rate (true), as a
// provider throttling this client does, or lifts the limit (false).
func (s *Server) SetRateLimited(on bool) {
	if on {
		s.core.SetRateLimit(emulator.RateLimit{Requests: 0, Window: RateLimitWindow})
		return
	}
	s.core.ClearRateLimit()
}

// RateLimitWindow is the window SetRateLimited refuses calls for: the
// wait its refusals name.
const RateLimitWindow = time.Minute
