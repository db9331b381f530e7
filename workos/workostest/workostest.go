// Package workostest is a local emulator of WorkOS User Management
// (AuthKit) for tests and development, built on authport's emulator core.
// The official SDK, github.com/workos/workos-go/v4, talks to it unmodified
// through its Endpoint field, and so does the workos adapter through
// Config.BaseURL.
//
//	emu := workostest.New(t)
//	id, _ := emu.CreateUser(workostest.NewUser{Email: "ada@example.com", Password: "pw"})
//	a, _ := workos.New(ctx, emu.Config())
//
// # Wire format
//
// Routes follow WorkOS's API (its API reference, the SDK's
// requests, and the official workos/emulate for response shapes):
//
//	POST /user_management/authenticate          grant_type password, authorization_code,
//	                                            refresh_token (organization_id switches org),
//	                                            urn:workos:oauth:grant-type:email-verification:code,
//	                                            urn:workos:oauth:grant-type:organization-selection;
//	                                            client_id and client_secret (the API key) in the
//	                                            JSON or form body, no Authorization header
//	GET|POST /user_management/authorize         hosted sign-in page; redirects back with code and state
//	GET  /sso/jwks/{client_id}                  the signing keys (no auth)
//	POST /user_management/sessions/revoke       {"session_id"} → {"success":true}
//	GET  /user_management/sessions/logout       ?session_id=&return_to= (browser, no auth)
//	POST /user_management/users                 create a user
//	GET  /user_management/users[/{id}]          list / get users
//	POST /user_management/organization_memberships, GET [/{id}]
//	POST /organizations, GET /organizations/{id}
//	GET  /user_management/email_verification/{id}
//
// Management routes require "Authorization: Bearer <API key>". Errors are
// JSON with Content-Type application/json, in the two shapes the SDK
// parses: {"code","message"} (invalid_credentials, not_found, the
// step-up errors email_verification_required, mfa_enrollment,
// mfa_challenge and organization_selection_required, each with
// pending_authentication_token and, as the SDK requires, the user) and
// RFC 6749's {"error","error_description"} (invalid_grant, invalid_request,
// invalid_client, sso_required). Every response has an X-Request-ID.
//
// Access tokens are RS256 JWTs with a kid shaped
// "sso_oidc_key_pair_<ULID>", issuer
// "https://api.workos.com/user_management/<client_id>" unless
// Options.Issuer says otherwise, a 5-minute lifetime, and the claims sub,
// sid, jti (a bare ULID), client_id, and, for a session scoped to an
// organisation, org_id, role, roles, permissions and entitlements, plus
// feature_flags and act when set. Ids are WorkOS-shaped: user_, org_,
// om_, session_ followed by a ULID. Refresh tokens rotate and are single
// use; a revoked session's refresh token fails with invalid_grant while
// its access tokens verify until they expire, as at WorkOS.
//
// Organisation membership decides the token's organisation: one active
// membership is selected implicitly, several answer
// organization_selection_required. Roles are environment roles ("member"
// and "admin" exist; DefineRole adds permissions to a role).
//
// Fidelity gaps: no MFA TOTP or magic-auth grants, no SSO connections
// (sso_required is raised for users created with NewUser.SSOConnection),
// no sealed sessions, and the authorize page signs in only with a
// password. Error bodies whose exact production form is not recorded
// (invalid_client, an unknown role) are RFC 6749 / WorkOS-shaped guesses.
package workostest

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/workos/workos-go/v4/pkg/organizations"
	"github.com/workos/workos-go/v4/pkg/usermanagement"

	"github.com/authport/authport"
	"github.com/authport/authport/internal/emulator"
	"github.com/authport/authport/workos"
)

// Type aliases so that code outside the module can use the emulator core's
// types, which live in an internal package.
type (
	// Clock is the emulated time; share it with the adapter through
	// Config (Emulator.Config does).
	Clock = emulator.Clock
	// Fault is an injected failure on a route (see SetFault).
	Fault = emulator.Fault
	// MintRequest describes a token for Mint.
	MintRequest = emulator.MintRequest
)

// NewClock returns a clock that follows the real time until it is moved.
func NewClock() *Clock { return emulator.NewClock() }

// FixedClock returns a clock frozen at t.
func FixedClock(t time.Time) *Clock { return emulator.FixedClock(t) }

// KeysRoute is the key-set route, for SetFault.
const KeysRoute = "GET /sso/jwks/{client_id}"

// Options configures an Emulator. Every field is optional.
type Options struct {
	// ClientID is the environment's client id (default "client_<ULID>").
	ClientID string
	// APIKey is the secret API key (default "sk_test_<random>").
	APIKey string
	// Issuer is the tokens' "iss" (default
	// "https://api.workos.com/user_management/<ClientID>").
	Issuer string
	// Audience, when set, is put in every token's "aud" (WorkOS's own
	// tokens document none).
	Audience string
	// TokenTTL is the access tokens' lifetime (default 5 minutes).
	TokenTTL time.Duration
	// MaxSessionLength is the environment's maximum session length: a
	// session ends this long after sign-in however often it is refreshed
	// (default DefaultMaxSessionLength; negative: no limit).
	MaxSessionLength time.Duration
	// InactivityTimeout ends a session that has not been refreshed for
	// this long (default 0: off, as in a new environment until the
	// setting is turned on).
	InactivityTimeout time.Duration
	// Clock is the emulated time (default: real time).
	Clock *Clock
	// RedirectURIs are the allowed redirect and logout return URLs
	// (exact match). Empty allows any http(s) URL on a loopback host.
	RedirectURIs []string
	// RequireEmailVerification makes sign-in of a user whose email is not
	// verified fail with email_verification_required (a WorkOS
	// environment setting).
	RequireEmailVerification bool
	// RequireMFA makes sign-in of a user without an enrolled factor fail
	// with mfa_enrollment.
	RequireMFA bool
	// Addr is the loopback listen address (default 127.0.0.1, free port).
	Addr string
	// Logger receives one debug line per request (default: discard).
	Logger *slog.Logger
}

// NewUser describes a user for CreateUser.
type NewUser struct {
	// Email and Password sign the user in (Password empty: no password).
	Email, Password string
	// FirstName and LastName are the profile's names.
	FirstName, LastName string
	// Unverified leaves the email address unverified (the zero value is a
	// verified address).
	Unverified bool
	// MFAEnrolled gives the user a TOTP factor: password sign-in then fails
	// with mfa_challenge.
	MFAEnrolled bool
	// SSOConnection makes password sign-in fail with sso_required naming
	// this connection id ("conn_...").
	SSOConnection string
	// Impersonator, when set, is the email address of a WorkOS dashboard
	// user impersonating this user: the user's tokens carry "act".
	Impersonator string
	// FeatureFlags are put in the user's tokens' "feature_flags".
	FeatureFlags []string
	// ExternalID is the user's id in the application's own records.
	ExternalID string
	// Metadata is the user's key-value metadata.
	Metadata map[string]string
}

type userExtra struct {
	firstName, lastName, externalID string
	metadata                        map[string]string
	mfa                             bool
	factorID                        string
	ssoConnection                   string
	impersonator                    string
	featureFlags                    []string
	lastSignIn                      time.Time
	updated                         time.Time
}

type organization struct {
	id, name, externalID string
	entitlements         []string
	metadata             map[string]string
	created, updated     time.Time
}

type membership struct {
	id, userID, orgID, role, status string
	created, updated                time.Time
}

type pendingAuth struct {
	userID, orgID, method string
	verificationID        string
	expires               time.Time
}

type verification struct {
	id, userID, email, code string
	created, expires        time.Time
}

// Emulator is a running WorkOS emulator. Its methods are safe for
// concurrent use.
type Emulator struct {
	// URL is the base URL, "http://127.0.0.1:<port>": the SDK's Endpoint
	// and the adapter's BaseURL.
	URL string
	// ClientID and APIKey are the environment's credentials.
	ClientID, APIKey string
	// Issuer is the tokens' "iss".
	Issuer string
	// Audience is the tokens' "aud" ("" when they carry none).
	Audience string
	// TokenTTL is the access tokens' lifetime.
	TokenTTL time.Duration
	// Clock is the emulated time.
	Clock *Clock

	srv  *emulator.Server
	opts Options

	mu            sync.Mutex
	extras        map[string]*userExtra
	orgs          map[string]*organization
	orgOrder      []string
	members       map[string]*membership
	memberOrder   []string
	roles         map[string][]string // slug → permissions
	pending       map[string]*pendingAuth
	verifications map[string]*verification
	factors       map[string]*factor
	challenges    map[string]*challenge
}

// New starts an emulator for a test; it is closed when the test ends. At
// most one Options may be given.
func New(tb testing.TB, o ...Options) *Emulator {
	tb.Helper()
	var opts Options
	if len(o) > 0 {
		opts = o[0]
	}
	e, err := Start(opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(e.Close)
	return e
}

// Start starts an emulator outside a test (authport emulate, a dev
// server, an Example). Close it when done. It fails when it cannot listen
// on Options.Addr (which must be a loopback address).
func Start(o Options) (e *Emulator, err error) {
	defer func() {
		if r := recover(); r != nil { // the core panics when it cannot listen
			e, err = nil, fmt.Errorf("workostest: %v", r)
		}
	}()
	if o.Clock == nil {
		o.Clock = emulator.NewClock()
	}
	clock := o.Clock
	ulid := func() string { return emulator.ULIDAt(clock.Now()) }
	if o.ClientID == "" {
		o.ClientID = "client_" + ulid()
	}
	if o.APIKey == "" {
		o.APIKey = "sk_test_" + emulator.RandomBase62(40)
	}
	if o.Issuer == "" {
		o.Issuer = workos.DefaultBaseURL + "/user_management/" + o.ClientID
	}
	if o.TokenTTL <= 0 {
		o.TokenTTL = 5 * time.Minute
	}
	e = &Emulator{
		ClientID: o.ClientID, APIKey: o.APIKey, Issuer: o.Issuer, Audience: o.Audience,
		TokenTTL: o.TokenTTL, Clock: clock, opts: o,
		extras: map[string]*userExtra{}, factors: map[string]*factor{}, challenges: map[string]*challenge{}, orgs: map[string]*organization{}, members: map[string]*membership{},
		roles:   map[string][]string{"member": nil, "admin": nil},
		pending: map[string]*pendingAuth{}, verifications: map[string]*verification{},
	}
	e.srv = emulator.NewUnstarted(emulator.Options{
		Name:     "WorkOS",
		Addr:     o.Addr,
		Clock:    clock,
		TokenTTL: o.TokenTTL,
		Keys: emulator.KeyRingOptions{
			Algorithm:  "RS256",
			KID:        func() string { return "sso_oidc_key_pair_" + ulid() },
			CommonName: "WorkOS emulator",
		},
		Store: emulator.StoreOptions{
			UserID:       func() string { return "user_" + ulid() },
			SessionID:    func() string { return "session_" + ulid() },
			RefreshToken: func() string { return emulator.RandomBase62(25) },
			CodeTTL:      10 * time.Minute,
			SessionTTL:   sessionLength(o.MaxSessionLength),
			IdleTimeout:  max(o.InactivityTimeout, 0),
		},
		DefaultClaims: e.defaultClaims,
		RateLimited:   rateLimited,
		SignIn: func(r *http.Request, u *emulator.User) (any, error) {
			return e.controlSignIn(u)
		},
		Logger: o.Logger,
	})
	e.URL = e.srv.URL
	e.routes()
	e.srv.Start()
	return e, nil
}

// Close stops the emulator.
func (e *Emulator) Close() { e.srv.Close() }

// Core returns the emulator core server (key ring, store, faults, hits),
// for what this package does not wrap.
func (e *Emulator) Core() *emulator.Server { return e.srv }

// Config returns an adapter configuration pointed at the emulator (base
// URL, credentials, issuer, audience, token lifetime and clock).
func (e *Emulator) Config() workos.Config {
	c := workos.Config{
		APIKey: e.APIKey, ClientID: e.ClientID, BaseURL: e.URL,
		TokenLifetime: e.TokenTTL, Clock: e.Clock.Now,
	}
	if !slices.Contains(workos.DefaultIssuers(e.ClientID), e.Issuer) {
		c.Issuers = []string{e.Issuer}
	}
	if e.Audience != "" {
		c.Audiences = []string{e.Audience}
	}
	return c
}

// Env returns the environment variables that point an application (and
// authport.FromEnv) at the emulator: AUTH_PROVIDER, WORKOS_API_KEY,
// WORKOS_CLIENT_ID, WORKOS_BASE_URL, AuthKit's WORKOS_API_HOSTNAME /
// WORKOS_API_PORT / WORKOS_API_HTTPS, and WORKOS_ISSUERS /
// WORKOS_AUDIENCE / WORKOS_ACCESS_TOKEN_TTL when they differ from the
// defaults.
func (e *Emulator) Env() map[string]string {
	env := map[string]string{
		authport.ProviderEnv: workos.Name,
		workos.EnvAPIKey:     e.APIKey,
		workos.EnvClientID:   e.ClientID,
		workos.EnvBaseURL:    e.URL,
		workos.EnvAPIHTTPS:   "false",
	}
	if u, err := url.Parse(e.URL); err == nil {
		if host, port, err := net.SplitHostPort(u.Host); err == nil {
			env[workos.EnvAPIHostname], env[workos.EnvAPIPort] = host, port
		}
	}
	c := e.Config()
	if len(c.Issuers) > 0 {
		env[workos.EnvIssuers] = e.Issuer
	}
	if e.Audience != "" {
		env[workos.EnvAudience] = e.Audience
	}
	if e.TokenTTL != workos.DefaultTokenLifetime {
		env[workos.EnvAccessTokenTTL] = e.TokenTTL.String()
	}
	return env
}

// OpenURL returns the workos:// URL that opens the adapter for this
// emulator. It holds the API key.
func (e *Emulator) OpenURL() string {
	q := url.Values{"api_key": {e.APIKey}, "base_url": {e.URL}}
	c := e.Config()
	for _, iss := range c.Issuers {
		q.Add("issuer", iss)
	}
	if e.Audience != "" {
		q.Set("audience", e.Audience)
	}
	if e.TokenTTL != workos.DefaultTokenLifetime {
		q.Set("access_token_ttl", e.TokenTTL.String())
	}
	return "workos://" + e.ClientID + "?" + q.Encode()
}

// Setenv sets Env's variables for the duration of a test (t.Setenv).
func (e *Emulator) Setenv(t testing.TB) {
	for k, v := range e.Env() {
		t.Setenv(k, v)
	}
}

// Client returns a workos-go User Management client pointed at the
// emulator.
func (e *Emulator) Client() *usermanagement.Client {
	c := usermanagement.NewClient(e.APIKey)
	c.Endpoint = e.URL
	return c
}

// Organizations returns a workos-go Organizations client pointed at the
// emulator.
func (e *Emulator) Organizations() *organizations.Client {
	return &organizations.Client{APIKey: e.APIKey, Endpoint: e.URL}
}

func (e *Emulator) ulid() string { return emulator.ULIDAt(e.Clock.Now()) }

// CreateUser creates a user and returns its id ("user_...").
func (e *Emulator) CreateUser(u NewUser) (string, error) {
	nu, err := e.srv.Store.CreateUser(emulator.NewUser{
		Email: u.Email, Password: u.Password, EmailVerified: !u.Unverified,
		Name: joinName(u.FirstName, u.LastName),
	})
	if err != nil {
		return "", err
	}
	x := &userExtra{
		firstName: u.FirstName, lastName: u.LastName, externalID: u.ExternalID,
		metadata: maps.Clone(u.Metadata), mfa: u.MFAEnrolled, ssoConnection: u.SSOConnection,
		impersonator: u.Impersonator, featureFlags: slices.Clone(u.FeatureFlags), updated: nu.CreatedAt,
	}
	e.mu.Lock()
	if x.mfa {
		x.factorID = e.newFactorLocked(nu.ID, "WorkOS", nu.Email, nil).id
	}
	e.extras[nu.ID] = x
	e.mu.Unlock()
	return nu.ID, nil
}

func joinName(first, last string) string {
	switch {
	case first == "":
		return last
	case last == "":
		return first
	}
	return first + " " + last
}

// extra returns the user's WorkOS-only attributes (e.mu held).
func (e *Emulator) extraLocked(id string) *userExtra {
	x := e.extras[id]
	if x == nil {
		x = &userExtra{}
		e.extras[id] = x
	}
	return x
}

// CreateOrganization creates an organisation and returns its id
// ("org_..."). Its entitlements go into the tokens of sessions scoped to
// it.
func (e *Emulator) CreateOrganization(name string, entitlements ...string) (string, error) {
	if name == "" {
		return "", errors.New("workostest: organization name required")
	}
	now := e.Clock.Now()
	o := &organization{id: "org_" + e.ulid(), name: name, entitlements: slices.Clone(entitlements), created: now, updated: now}
	e.mu.Lock()
	e.orgs[o.id] = o
	e.orgOrder = append(e.orgOrder, o.id)
	e.mu.Unlock()
	return o.id, nil
}

// AddMembership makes userID an active member of orgID with role (default
// "member") and returns the membership id ("om_...").
func (e *Emulator) AddMembership(userID, orgID, role string) (string, error) {
	if _, err := e.srv.Store.User(userID); err != nil {
		return "", fmt.Errorf("workostest: user: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	m, err := e.addMembershipLocked(userID, orgID, role)
	if err != nil {
		return "", err
	}
	return m.id, nil
}

var errMembershipExists = errors.New("workostest: membership already exists")

func (e *Emulator) addMembershipLocked(userID, orgID, role string) (*membership, error) {
	if e.orgs[orgID] == nil {
		return nil, fmt.Errorf("workostest: organization: %w", emulator.ErrNotFound)
	}
	for _, m := range e.members {
		if m.userID == userID && m.orgID == orgID && m.status != "inactive" {
			return nil, errMembershipExists
		}
	}
	if role == "" {
		role = "member"
	}
	now := e.Clock.Now()
	m := &membership{id: "om_" + e.ulid(), userID: userID, orgID: orgID, role: role, status: "active", created: now, updated: now}
	e.members[m.id] = m
	e.memberOrder = append(e.memberOrder, m.id)
	return m, nil
}

// DefineRole defines (or extends) the environment role slug with
// permissions; members with that role get them in their tokens. "member"
// and "admin" exist from the start, without permissions.
func (e *Emulator) DefineRole(slug string, permissions ...string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	perms := e.roles[slug]
	for _, p := range permissions {
		if !slices.Contains(perms, p) {
			perms = append(perms, p)
		}
	}
	e.roles[slug] = perms
}

// SignIn signs a user in with a password through the official SDK, as an
// application's server would, and returns the tokens.
func (e *Emulator) SignIn(ctx context.Context, email, password string) (*authport.Tokens, error) {
	res, err := e.Client().AuthenticateWithPassword(ctx, usermanagement.AuthenticateWithPasswordOpts{
		ClientID: e.ClientID, Email: email, Password: password,
	})
	if err != nil {
		return nil, err
	}
	t := &authport.Tokens{AccessToken: res.AccessToken, RefreshToken: res.RefreshToken, UserID: res.User.ID}
	if m, err := e.srv.Introspect(res.AccessToken); err == nil {
		t.SessionID, t.ExpiresAt = m.SessionID, m.ExpiresAt
	}
	return t, nil
}

// RevokeSession revokes a session as the WorkOS API does: its refresh
// tokens stop working, its access tokens verify until they expire.
func (e *Emulator) RevokeSession(sessionID string) error {
	return e.srv.Store.RevokeSession(sessionID)
}

// Mint signs a token as the emulator issues them (or a broken one: see
// MintRequest's Expired, NotYetValid, Foreign, Alg, Claims and Header).
func (e *Emulator) Mint(r MintRequest) (string, error) { return e.srv.Mint(r) }

// RotateKeys makes a new signing key and returns its kid; the previous key
// stays published.
func (e *Emulator) RotateKeys() string { return e.srv.Keys.Rotate().ID }

// KID returns the current signing key's id.
func (e *Emulator) KID() string { return e.srv.Keys.KID() }

// SetFault injects a failure on route (a pattern such as KeysRoute, a path,
// or "*").
func (e *Emulator) SetFault(route string, f Fault) { e.srv.SetFault(route, f) }

// ClearFaults removes every fault.
func (e *Emulator) ClearFaults() { e.srv.ClearFaults() }

// SetKeysDown makes the key-set endpoint answer 503 (true) or recover.
func (e *Emulator) SetKeysDown(down bool) {
	if down {
		e.srv.SetFault(KeysRoute, Fault{Down: true})
	} else {
		e.srv.ClearFault(KeysRoute)
	}
}

// KeyFetches counts requests to the key-set endpoint.
func (e *Emulator) KeyFetches() int64 { return e.srv.Fetches(KeysRoute) }

// EmailVerificationCode returns the one-time code of the pending email
// verification named by an email_verification_required error's pending
// authentication token ("" if none): the code WorkOS would email.
func (e *Emulator) EmailVerificationCode(pendingToken string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	p := e.pending[pendingToken]
	if p == nil {
		return ""
	}
	if v := e.verifications[p.verificationID]; v != nil {
		return v.code
	}
	return ""
}

// EmailVerificationCodeFor returns the one-time code of the latest
// pending email verification sent to email ("" if none): what the user
// would read in their inbox. Unlike EmailVerificationCode it needs no
// pending authentication token, so a test can play the user of an
// application that keeps that token to itself (authport.Web seals it in a
// cookie).
func (e *Emulator) EmailVerificationCodeFor(email string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var best *verification
	now := e.Clock.Now()
	for _, v := range e.verifications {
		if !strings.EqualFold(v.email, email) || !now.Before(v.expires) {
			continue
		}
		if best == nil || v.created.After(best.created) || v.created.Equal(best.created) && v.id > best.id {
			best = v
		}
	}
	if best == nil {
		return ""
	}
	return best.code
}

// constantEqual compares secrets in constant time.
func constantEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// SetRateLimit makes the emulator refuse API calls past requests per
// window with WorkOS's own 429 and Retry-After (the control API's POST /__authport/ratelimit
// does the same); key endpoints are not limited. requests 0 refuses every
// call; window 0 means one minute.
func (e *Emulator) SetRateLimit(requests int, window time.Duration) {
	e.srv.SetRateLimit(emulator.RateLimit{Requests: requests, Window: window})
}

// SetRateLimited refuses every API call for its rate (true), as a
// provider throttling this client does, or lifts the limit (false).
func (e *Emulator) SetRateLimited(on bool) {
	if on {
		e.srv.SetRateLimit(emulator.RateLimit{Requests: 0, Window: RateLimitWindow})
		return
	}
	e.srv.ClearRateLimit()
}

// RateLimitWindow is the window SetRateLimited refuses calls for: the
// wait its refusals name.
const RateLimitWindow = time.Minute

// DefaultMaxSessionLength is the emulator's default maximum session
// length. WorkOS lets each environment set it (with the inactivity
// timeout and the access-token duration) in the dashboard's session
// settings; set Options.MaxSessionLength to your environment's value.
const DefaultMaxSessionLength = 30 * 24 * time.Hour

func sessionLength(d time.Duration) time.Duration {
	switch {
	case d < 0:
		return 0
	case d == 0:
		return DefaultMaxSessionLength
	}
	return d
}
