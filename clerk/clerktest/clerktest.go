// Package clerktest is a local emulator of a Clerk development instance,
// for tests and offline development. The official Go SDK
// (github.com/clerk/clerk-sdk-go/v2) talks to it unmodified through its
// base-URL option, and so does authport's clerk adapter:
//
//	srv := clerktest.New(t)
//	a, err := clerk.New(ctx, srv.Config()) // or authport.FromEnvFunc(ctx, srv.Getenv)
//	u, _ := srv.CreateUser(clerktest.NewUser{Email: "ada@example.com", Password: "pw-ada-1234"})
//	tok, _ := srv.SignIn("ada@example.com", "pw-ada-1234")
//	sess, err := a.Verify(ctx, authport.Credential{Token: tok.AccessToken})
//
// # What it serves
//
// The Backend API under /v1 (APIURL), every route requiring
// "Authorization: Bearer <SecretKey>" as Clerk does, with Clerk's error body
// {"errors":[{"message","long_message","code"}],"clerk_trace_id"} and status
// codes (401 for a missing or wrong key, 404 for an unknown resource, 422 for
// invalid parameters):
//
//	GET  /v1/jwks                                  the instance's key set
//	POST /v1/sessions                              {"user_id","active_organization_id"} (development instances
//	                                               only, as at Clerk: 400 with Options.Production)
//	GET  /v1/sessions?user_id=&client_id=&status=  paginated=true → {"data","total_count"}, else a bare array
//	GET  /v1/sessions/{id}
//	POST /v1/sessions/{id}/revoke
//	POST /v1/sessions/{id}/tokens[/{template}]     {"expires_in_seconds"} → {"object":"token","jwt"}
//	POST /v1/users, GET /v1/users, GET /v1/users/count, GET /v1/users/{id}
//	POST /v1/users/{id}/verify_password
//	GET  /v1/users/{id}/organization_memberships
//	POST /v1/organizations, GET /v1/organizations/{id}
//	POST /v1/organizations/{id}/memberships
//
// and Frontend-API-style public routes: GET /.well-known/jwks.json, and a
// hosted sign-in page at /sign-in (and /sign-up) that stands in for Clerk's
// Account Portal: GET renders an email and password form, a successful POST
// creates a session and redirects the browser to its redirect_url with
// Clerk's handshake (__clerk_handshake, a token signed by the instance key
// whose "handshake" claim lists the Set-Cookie lines, among them
// "__session=<session token>"), which is how the application's origin gets
// the __session cookie. A browser that already signed in here (a __client
// cookie on the emulator's origin) is sent straight back with a fresh
// handshake, as the Account Portal does.
//
// Session tokens are RS256 with Clerk's header and claims: kid "ins_…"
// (unique per emulator), iss https://<slug>.clerk.accounts.dev, sub, sid,
// azp, iat, nbf = iat-5, exp = iat+60, a 20-hex jti, fva, v 2 (or the
// version-1 claims with Options.ClaimsVersion 1), "o" and "fea" for the
// active organisation with its role and custom permissions, "sts":"pending"
// for pending sessions, "act" for impersonation, plus the session-token
// customization (Options.SessionClaims) with Clerk's {{user.…}} and
// {{org.…}} shortcodes.
//
// The shared emulator core adds the /__authport/ control API (create users,
// mint tokens, rotate keys, inject faults, move the clock), fault injection
// on any route and key-fetch counters.
package clerktest

import (
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authport/authport"
	"github.com/authport/authport/clerk"
	"github.com/authport/authport/internal/emulator"
)

// Clock is the emulated time; pass Clock.Now to clerk.Config.Clock so the
// adapter and the emulator agree.
type Clock = emulator.Clock

// NewClock returns a clock that follows the real time until moved.
func NewClock() *Clock { return emulator.NewClock() }

// FixedClock returns a clock frozen at t.
func FixedClock(t time.Time) *Clock { return emulator.FixedClock(t) }

// Fault is an injected failure on a route (see Server.SetFault).
type Fault = emulator.Fault

// Defaults.
const (
	// DefaultAuthorizedParty is the "azp" stamped on session tokens: the
	// origin the application's frontend runs on.
	DefaultAuthorizedParty = "http://localhost:3000"
	// TokenLifetime is Clerk's default session-token lifetime.
	TokenLifetime = 60 * time.Second
	// SessionLifetime is how long a session lives (Clerk's default, 7 days).
	SessionLifetime = 7 * 24 * time.Hour
)

// The built-in organisation roles and their system permissions (which
// Clerk leaves out of session tokens).
const (
	RoleAdmin  = "org:admin"
	RoleMember = "org:member"
)

// Options configures a Server. Every field is optional.
type Options struct {
	// Slug names the instance: the Frontend API host is
	// <slug>.clerk.accounts.dev, so the issuer is
	// https://<slug>.clerk.accounts.dev (default "authport-" and 8 random
	// letters).
	Slug string
	// SecretKey is the Backend API key (default "sk_test_" and 40 random
	// characters; "sk_live_" for a Production instance).
	SecretKey string
	// Production makes this a production instance instead of a
	// development one: sk_live_/pk_live_ keys, the Frontend API on the
	// application's own domain (clerk.<slug>.example.com), and
	// POST /v1/sessions refused (400), as Clerk offers that endpoint on
	// development instances only. Users then sign in through the hosted
	// pages or the emulator's own CreateSession.
	Production bool
	// TokenTTL is the session-token lifetime (default 60 s).
	TokenTTL time.Duration
	// AuthorizedParty is the "azp" of every session token: the origin
	// the application's frontend runs on (default DefaultAuthorizedParty).
	AuthorizedParty string
	// NoAuthorizedParty leaves "azp" out of session tokens.
	NoAuthorizedParty bool
	// ClaimsVersion selects the session-token claims: 2 (default) or the
	// deprecated version 1 (org_id, org_slug, org_role, org_permissions).
	ClaimsVersion int
	// SessionClaims is the instance's session-token customization: claims
	// added to every session token, where a string that is exactly a
	// shortcode ("{{user.public_metadata}}") takes the shortcode's value
	// and shortcodes inside a longer string are interpolated. Shortcodes:
	// user.id, user.first_name, user.last_name, user.full_name,
	// user.primary_email_address, user.email_verified, user.external_id,
	// user.public_metadata, user.unsafe_metadata (with .path), org.id,
	// org.name, org.slug, org.role, org.public_metadata (with .path).
	// Claims Clerk sets itself cannot be overridden.
	SessionClaims map[string]any
	// JWTTemplates are the instance's JWT templates, by name, for
	// POST /v1/sessions/{id}/tokens/{name}.
	JWTTemplates map[string]JWTTemplate
	// AllowedRedirectOrigins are the origins the hosted sign-in page may
	// redirect to (default: any http or https origin on a loopback host).
	AllowedRedirectOrigins []string
	// Clock is the emulated time (default: real time).
	Clock *Clock
	// Addr is the loopback listen address (default 127.0.0.1, a free port).
	Addr string
	// Logger receives one debug line per request (default: discard).
	Logger *slog.Logger
}

// JWTTemplate is a JWT template: claims (with the SessionClaims
// shortcodes) added to sub, iss, iat, nbf, exp, jti and azp.
type JWTTemplate struct {
	// Claims are the template's claims, with shortcodes.
	Claims map[string]any
	// Lifetime is the token lifetime (default 60 s).
	Lifetime time.Duration
}

// Server is a running Clerk emulator. It is safe for concurrent use.
type Server struct {
	// URL is the emulator's base URL (http://127.0.0.1:port).
	URL string
	// APIURL is the Backend API base, URL + "/v1" (clerk.Config.APIURL).
	APIURL string
	// Issuer is the session tokens' issuer, https://<slug>.clerk.accounts.dev.
	Issuer string
	// FrontendAPI is the Frontend API host, <slug>.clerk.accounts.dev.
	FrontendAPI string
	// SecretKey and PublishableKey are the instance's keys.
	SecretKey, PublishableKey string
	// SignInURL is the hosted sign-in page (clerk.Config.SignInURL).
	SignInURL string

	emu  *emulator.Server
	opts Options

	mu       sync.Mutex
	orgs     map[string]*org                   // by id
	members  map[string]map[string]*membership // org id → user id → membership
	roles    map[string][]string               // role key → permissions
	clients  map[string]string                 // __client cookie → session id
	claims   map[string]any                    // session-token customization
	actors   map[string]map[string]any         // session id → act claim
	orgOrder []string
}

type org struct {
	ID, Name, Slug, CreatedBy string
	PublicMetadata            map[string]any
	PrivateMetadata           map[string]any
	MaxMemberships            int64
	CreatedAt, UpdatedAt      time.Time
}

type membership struct {
	ID, Role             string
	CreatedAt, UpdatedAt time.Time
}

// New starts an emulator for a test and closes it when the test ends.
func New(tb testing.TB, opts ...Options) *Server {
	tb.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	s := Start(o)
	tb.Cleanup(s.Close)
	return s
}

func clerkID(prefix string) func() string {
	return func() string { return prefix + emulator.RandomBase62(27) }
}

// Start starts an emulator; the caller must Close it. It panics if it
// cannot listen on a loopback address.
func Start(o Options) *Server {
	if o.Slug == "" {
		o.Slug = "authport-" + strings.ToLower(emulator.RandomHex(4))
	}
	if o.SecretKey == "" {
		o.SecretKey = "sk_test_" + emulator.RandomBase62(40)
		if o.Production {
			o.SecretKey = "sk_live_" + emulator.RandomBase62(40)
		}
	}
	if o.TokenTTL <= 0 {
		o.TokenTTL = TokenLifetime
	}
	if o.AuthorizedParty == "" {
		o.AuthorizedParty = DefaultAuthorizedParty
	}
	if o.ClaimsVersion == 0 {
		o.ClaimsVersion = 2
	}
	s := &Server{
		opts:    o,
		orgs:    map[string]*org{},
		members: map[string]map[string]*membership{},
		roles: map[string][]string{
			RoleAdmin: {"org:sys_profile:manage", "org:sys_profile:delete", "org:sys_memberships:read",
				"org:sys_memberships:manage", "org:sys_domains:read", "org:sys_domains:manage"},
			RoleMember: {"org:sys_memberships:read"},
		},
		clients: map[string]string{},
		claims:  cloneAny(o.SessionClaims),
		actors:  map[string]map[string]any{},
	}
	s.FrontendAPI = o.Slug + ".clerk.accounts.dev"
	if o.Production {
		s.FrontendAPI = "clerk." + o.Slug + ".example.com"
	}
	s.Issuer = "https://" + s.FrontendAPI
	s.SecretKey = o.SecretKey
	s.PublishableKey = clerk.PublishableKey(s.FrontendAPI, o.Production)
	s.emu = emulator.NewUnstarted(emulator.Options{
		Name:          "Clerk",
		Addr:          o.Addr,
		Clock:         o.Clock,
		Keys:          emulator.KeyRingOptions{KID: clerkID("ins_"), CommonName: "Clerk emulator"},
		Store:         emulator.StoreOptions{UserID: clerkID("user_"), SessionID: clerkID("sess_")},
		TokenTTL:      o.TokenTTL,
		DefaultClaims: s.sessionClaims,
		SignIn:        s.controlSignIn,
		RateLimited:   rateLimited,
		Logger:        o.Logger,
	})
	s.URL = s.emu.URL
	s.APIURL = s.URL + "/v1"
	s.SignInURL = s.URL + "/sign-in"
	s.routes()
	s.emu.Start()
	return s
}

// Close stops the emulator.
func (s *Server) Close() { s.emu.Close() }

// Clock returns the emulated clock.
func (s *Server) Clock() *Clock { return s.emu.Clock }

// KID returns the current signing key's id ("ins_…").
func (s *Server) KID() string { return s.emu.Keys.KID() }

// PublicKey returns the current signing key's public half.
func (s *Server) PublicKey() *rsa.PublicKey { return s.emu.Keys.PublicKey().(*rsa.PublicKey) }

// PublicKeyPEM returns the current key as the dashboard shows it for
// CLERK_JWT_KEY.
func (s *Server) PublicKeyPEM() string { return string(s.emu.Keys.Current().PublicKeyPEM()) }

// JWKS returns the published key set, as /v1/jwks serves it.
func (s *Server) JWKS() []byte { return s.emu.Keys.JWKS(false) }

// JWK returns the current key as a JSON Web Key (a JWKS entry).
func (s *Server) JWK() []byte {
	b, _ := json.Marshal(s.emu.Keys.Current().JWK(false))
	return b
}

// Rotate makes a new signing key; the old one stays published until
// DropRetiredKeys.
func (s *Server) Rotate() string { return s.emu.Keys.Rotate().ID }

// DropRetiredKeys stops publishing every key but the current one.
func (s *Server) DropRetiredKeys() { s.emu.Keys.DropRetired() }

// SetFault injects f on route: a pattern such as "GET /v1/jwks", a path,
// or "*".
func (s *Server) SetFault(route string, f Fault) { s.emu.SetFault(route, f) }

// ClearFaults removes every fault.
func (s *Server) ClearFaults() { s.emu.ClearFaults() }

// SetKeysDown makes GET /v1/jwks and /.well-known/jwks.json answer 503
// (true) or recover (false).
func (s *Server) SetKeysDown(down bool) {
	for _, r := range []string{"GET /v1/jwks", "GET /.well-known/jwks.json"} {
		if down {
			s.emu.SetFault(r, Fault{Down: true})
		} else {
			s.emu.ClearFault(r)
		}
	}
}

// KeyFetches counts requests to GET /v1/jwks.
func (s *Server) KeyFetches() int64 { return s.emu.Fetches("GET /v1/jwks") }

// Hits counts requests to a route pattern such as "GET /v1/sessions/{id}".
func (s *Server) Hits(route string) int64 { return s.emu.Hits(route) }

// Env returns the environment variables that point an application (and
// authport.FromEnv) at the emulator.
func (s *Server) Env() map[string]string {
	return map[string]string{
		authport.ProviderEnv:     clerk.Name,
		clerk.EnvSecretKey:       s.SecretKey,
		clerk.EnvPublishableKey:  s.PublishableKey,
		clerk.EnvAPIURL:          s.APIURL,
		clerk.EnvSignInURL:       s.SignInURL,
		clerk.EnvSignUpURL:       s.URL + "/sign-up",
		"CLERK_FRONTEND_API_URL": s.URL,
	}
}

// Getenv looks a variable up in Env, for authport.FromEnvFunc.
func (s *Server) Getenv(name string) string { return s.Env()[name] }

// Config returns a clerk.Config pointing at the emulator, with the
// instance's authorized party as the only allowed one.
func (s *Server) Config() clerk.Config {
	c, _ := clerk.ConfigFromEnv(s.Getenv) // reads only; never fails
	if !s.opts.NoAuthorizedParty {
		c.AuthorizedParties = []string{s.opts.AuthorizedParty}
	}
	c.TokenLifetime = s.opts.TokenTTL
	c.Clock = s.emu.Clock.Now
	return c
}

// SetSessionClaims replaces the session-token customization (see
// Options.SessionClaims), as editing it in the dashboard does.
func (s *Server) SetSessionClaims(claims map[string]any) {
	s.mu.Lock()
	s.claims = cloneAny(claims)
	s.mu.Unlock()
}

// SessionClaims returns the session-token customization.
func (s *Server) SessionClaims() map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return cloneAny(s.claims)
}

func cloneAny(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return maps.Clone(m)
	}
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

// NewUser describes a user to create.
type NewUser struct {
	// Email is the primary email address (required, unique).
	Email string
	// Password enables password sign-in; empty means none.
	Password string
	// Unverified leaves the email address unverified.
	Unverified bool
	// FirstName, LastName and ExternalID are profile fields.
	FirstName, LastName, ExternalID string
	// PublicMetadata, PrivateMetadata and UnsafeMetadata are the user's
	// metadata; public and unsafe metadata can reach session tokens
	// through SessionClaims.
	PublicMetadata, PrivateMetadata, UnsafeMetadata map[string]any
}

// User is a user as the emulator stores it.
type User struct {
	// ID is the user id ("user_…"), the tokens' "sub".
	ID string
	// Email is the primary email address.
	Email string
	// EmailVerified reports whether Email is verified.
	EmailVerified bool
	// FirstName, LastName and ExternalID are profile fields.
	FirstName, LastName, ExternalID string
	// PublicMetadata is the user's public metadata.
	PublicMetadata map[string]any
}

// The keys under which Clerk-specific user data is kept in the core
// store's metadata.
const (
	mdPublic    = "public_metadata"
	mdPrivate   = "private_metadata"
	mdUnsafe    = "unsafe_metadata"
	mdFirst     = "first_name"
	mdLast      = "last_name"
	mdExternal  = "external_id"
	mdEmailID   = "email_address_id"
	mdLastLogin = "last_sign_in_at"
)

// CreateUser adds a user (as POST /v1/users does).
func (s *Server) CreateUser(n NewUser) (*User, error) {
	md := map[string]any{
		mdPublic: orEmpty(n.PublicMetadata), mdPrivate: orEmpty(n.PrivateMetadata), mdUnsafe: orEmpty(n.UnsafeMetadata),
		mdEmailID: clerkID("idn_")(),
	}
	if n.FirstName != "" {
		md[mdFirst] = n.FirstName
	}
	if n.LastName != "" {
		md[mdLast] = n.LastName
	}
	if n.ExternalID != "" {
		md[mdExternal] = n.ExternalID
	}
	u, err := s.emu.Store.CreateUser(emulator.NewUser{
		Email: n.Email, Password: n.Password, EmailVerified: !n.Unverified, Metadata: md,
	})
	if err != nil {
		return nil, err
	}
	return toUser(u), nil
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return cloneAny(m)
}

func toUser(u *emulator.User) *User {
	pub, _ := u.Metadata[mdPublic].(map[string]any)
	return &User{
		ID: u.ID, Email: u.Email, EmailVerified: u.EmailVerified,
		FirstName: mdString(u, mdFirst), LastName: mdString(u, mdLast), ExternalID: mdString(u, mdExternal),
		PublicMetadata: cloneAny(pub),
	}
}

func mdString(u *emulator.User, k string) string {
	v, _ := u.Metadata[k].(string)
	return v
}

// UpdatePublicMetadata merges m into the user's public metadata (a nil
// value deletes a key).
func (s *Server) UpdatePublicMetadata(userID string, m map[string]any) error {
	_, err := s.emu.Store.UpdateUser(userID, func(u *emulator.User) {
		if u.Metadata == nil {
			u.Metadata = map[string]any{}
		}
		pub, _ := u.Metadata[mdPublic].(map[string]any)
		if pub == nil {
			pub = map[string]any{}
		}
		for k, v := range m {
			if v == nil {
				delete(pub, k)
			} else {
				pub[k] = v
			}
		}
		u.Metadata[mdPublic] = pub
	})
	return err
}

// Organization is an organisation as the emulator stores it.
type Organization struct {
	// ID is the organisation id ("org_…"); Name and Slug name it.
	ID, Name, Slug string
}

// CreateOrganization adds an organisation; createdBy, if set, becomes its
// admin (as POST /v1/organizations does).
func (s *Server) CreateOrganization(name, slug, createdBy string) (*Organization, error) {
	o, err := s.createOrg(name, slug, createdBy, nil, nil)
	if err != nil {
		return nil, err
	}
	return &Organization{ID: o.ID, Name: o.Name, Slug: o.Slug}, nil
}

var errSlugTaken = errors.New("clerktest: organization slug taken")

func (s *Server) createOrg(name, slug, createdBy string, pub, priv map[string]any) (*org, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, fmt.Errorf("%w: name required", emulator.ErrInvalid)
	}
	if slug == "" {
		slug = slugify(name)
	}
	if createdBy != "" {
		if _, err := s.emu.Store.User(createdBy); err != nil {
			return nil, err
		}
	}
	now := s.emu.Clock.Now()
	o := &org{ID: clerkID("org_")(), Name: name, Slug: slug, CreatedBy: createdBy, PublicMetadata: orEmpty(pub),
		PrivateMetadata: orEmpty(priv), MaxMemberships: 5, CreatedAt: now, UpdatedAt: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, other := range s.orgs {
		if other.Slug == slug {
			return nil, errSlugTaken
		}
	}
	s.orgs[o.ID] = o
	s.orgOrder = append(s.orgOrder, o.ID)
	s.members[o.ID] = map[string]*membership{}
	if createdBy != "" {
		s.members[o.ID][createdBy] = &membership{ID: clerkID("orgmem_")(), Role: RoleAdmin, CreatedAt: now, UpdatedAt: now}
	}
	return o, nil
}

func slugify(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if 'a' <= r && r <= 'z' || '0' <= r && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

var (
	errUnknownRole   = errors.New("clerktest: unknown organization role")
	errAlreadyMember = errors.New("clerktest: already a member")
)

// DefineRole adds or replaces a custom organisation role (key "org:<name>")
// with its permissions ("org:<feature>:<permission>"). Its non-system
// permissions reach session tokens through "o.per", "o.fpm" and "fea".
func (s *Server) DefineRole(key string, permissions ...string) {
	s.mu.Lock()
	s.roles[key] = slices.Clone(permissions)
	s.mu.Unlock()
}

// AddMembership makes userID a member of orgID with role (default
// org:member).
func (s *Server) AddMembership(orgID, userID, role string) error {
	_, err := s.addMembership(orgID, userID, role)
	return err
}

func (s *Server) addMembership(orgID, userID, role string) (*membership, error) {
	if role == "" {
		role = RoleMember
	}
	if _, err := s.emu.Store.User(userID); err != nil {
		return nil, err
	}
	now := s.emu.Clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	ms, ok := s.members[orgID]
	if !ok {
		return nil, emulator.ErrNotFound
	}
	if _, ok := s.roles[role]; !ok {
		return nil, errUnknownRole
	}
	if _, dup := ms[userID]; dup {
		return nil, errAlreadyMember
	}
	m := &membership{ID: clerkID("orgmem_")(), Role: role, CreatedAt: now, UpdatedAt: now}
	ms[userID] = m
	return m, nil
}

// SessionOptions describe a session to create with CreateSession.
type SessionOptions struct {
	// ActiveOrganization is the active organisation's id (the user must
	// be a member).
	ActiveOrganization string
	// Pending creates a pending session: tokens carry "sts":"pending".
	Pending bool
	// Actor makes an impersonation session: tokens carry it as "act"
	// (e.g. {"sub":"user_admin","iss":"https://dashboard.clerk.com"}).
	Actor map[string]any
}

var errNotMember = errors.New("clerktest: not a member of the organization")

// CreateSession starts a session for a user (as POST /v1/sessions does)
// and returns its id.
func (s *Server) CreateSession(userID string, o SessionOptions) (string, error) {
	if o.ActiveOrganization != "" {
		s.mu.Lock()
		_, ok := s.members[o.ActiveOrganization][userID]
		s.mu.Unlock()
		if !ok {
			return "", errNotMember
		}
	}
	st := emulator.StatusActive
	if o.Pending {
		st = emulator.StatusPending
	}
	ss, err := s.emu.Store.CreateSession(emulator.NewSession{
		UserID: userID, Status: st, OrgID: o.ActiveOrganization, ClientID: clerkID("client_")(), TTL: SessionLifetime,
	})
	if err != nil {
		return "", err
	}
	if o.ActiveOrganization == "" && ss.OrgID != "" {
		// The core store defaults the org to the user's; Clerk has no such
		// default.
		ss, _ = s.emu.Store.UpdateSession(ss.ID, func(x *emulator.Session) error { x.OrgID = ""; return nil })
	}
	if o.Actor != nil {
		s.mu.Lock()
		s.actors[ss.ID] = cloneAny(o.Actor)
		s.mu.Unlock()
	}
	_, _ = s.emu.Store.UpdateUser(userID, func(u *emulator.User) {
		if u.Metadata == nil {
			u.Metadata = map[string]any{}
		}
		u.Metadata[mdLastLogin] = s.emu.Clock.Now().UnixMilli()
	})
	return ss.ID, nil
}

// SetActiveOrganization changes a session's active organisation ("" for
// none), as the frontend's setActive does.
func (s *Server) SetActiveOrganization(sessionID, orgID string) error {
	ss, err := s.emu.Store.Session(sessionID)
	if err != nil {
		return err
	}
	if orgID != "" {
		s.mu.Lock()
		_, ok := s.members[orgID][ss.UserID]
		s.mu.Unlock()
		if !ok {
			return errNotMember
		}
	}
	_, err = s.emu.Store.UpdateSession(sessionID, func(x *emulator.Session) error {
		x.OrgID = orgID
		if x.Status == emulator.StatusPending && orgID != "" {
			x.Status = emulator.StatusActive
		}
		return nil
	})
	return err
}

// SessionStatus returns a session's Clerk status (active, pending,
// revoked, ended, expired).
func (s *Server) SessionStatus(sessionID string) (string, error) {
	ss, err := s.emu.Store.Session(sessionID)
	if err != nil {
		return "", err
	}
	return s.status(ss), nil
}

// RevokeSession revokes a session (as POST /v1/sessions/{id}/revoke does).
func (s *Server) RevokeSession(sessionID string) error { return s.emu.Store.RevokeSession(sessionID) }

// EndSession ends a session as the user signing out does.
func (s *Server) EndSession(sessionID string) error { return s.emu.Store.EndSession(sessionID) }

// SessionToken mints a session token for a live session (as
// POST /v1/sessions/{id}/tokens does).
func (s *Server) SessionToken(sessionID string) (string, error) {
	if _, _, err := s.emu.Store.LiveSession(sessionID); err != nil {
		return "", err
	}
	return s.emu.Mint(emulator.MintRequest{SessionID: sessionID})
}

// SignIn checks a password and starts a session, as a sign-in on Clerk's
// frontend does, and returns the session token.
func (s *Server) SignIn(email, password string) (*authport.Tokens, error) {
	u, err := s.emu.Store.CheckPassword(email, password)
	if err != nil {
		return nil, err
	}
	sid, err := s.CreateSession(u.ID, SessionOptions{})
	if err != nil {
		return nil, err
	}
	return s.tokens(sid)
}

func (s *Server) tokens(sid string) (*authport.Tokens, error) {
	tok, err := s.SessionToken(sid)
	if err != nil {
		return nil, err
	}
	ss, err := s.emu.Store.Session(sid)
	if err != nil {
		return nil, err
	}
	return &authport.Tokens{AccessToken: tok, SessionID: sid, UserID: ss.UserID,
		ExpiresAt: s.emu.Clock.Now().Add(s.opts.TokenTTL).Truncate(time.Second)}, nil
}

// MintOptions describe a token for Mint, valid or deliberately broken.
type MintOptions struct {
	// SessionID names the token's session (its user is the subject).
	SessionID string
	// Claims are merged over the session token's claims; a nil value
	// removes one.
	Claims map[string]any
	// Header is merged over {"alg","kid","typ"}; a nil value removes one.
	Header map[string]any
	// ExpiresIn overrides the lifetime.
	ExpiresIn time.Duration
	// Expired, NotYetValid and Foreign make broken tokens: expired an
	// hour ago, nbf an hour ahead, signed by a foreign key under the
	// trusted kid.
	Expired, NotYetValid, Foreign bool
	// Alg signs with another algorithm ("none", HS256 with the public key
	// as secret, ...).
	Alg string
}

// Mint signs a session token for a session (it need not be live), or a
// broken one for a negative test.
func (s *Server) Mint(o MintOptions) (string, error) {
	return s.emu.Mint(emulator.MintRequest{
		SessionID: o.SessionID, Claims: o.Claims, Header: o.Header, ExpiresIn: o.ExpiresIn,
		Expired: o.Expired, NotYetValid: o.NotYetValid, Foreign: o.Foreign, Alg: o.Alg,
	})
}

// SignRaw signs header and payload bytes exactly as given with the
// instance's current key.
func (s *Server) SignRaw(header, payload []byte) (string, error) {
	return s.emu.Keys.Current().SignRaw(header, payload)
}

// controlSignIn answers POST /__authport/sign-in.
func (s *Server) controlSignIn(_ *http.Request, u *emulator.User) (any, error) {
	sid, err := s.CreateSession(u.ID, SessionOptions{})
	if err != nil {
		return nil, err
	}
	tok, err := s.SessionToken(sid)
	if err != nil {
		return nil, err
	}
	return map[string]any{"object": "token", "jwt": tok, "session_id": sid, "user_id": u.ID}, nil
}

// SetRateLimit makes the emulator refuse API calls past requests per
// window with Clerk's own 429 too_many_requests and Retry-After (the control API's POST /__authport/ratelimit
// does the same); key endpoints are not limited. requests 0 refuses every
// call; window 0 means one minute.
func (s *Server) SetRateLimit(requests int, window time.Duration) {
	s.emu.SetRateLimit(emulator.RateLimit{Requests: requests, Window: window})
}

// SetRateLimited refuses every API call for its rate (true), as a
// provider throttling this client does, or lifts the limit (false).
func (s *Server) SetRateLimited(on bool) {
	if on {
		s.emu.SetRateLimit(emulator.RateLimit{Requests: 0, Window: RateLimitWindow})
		return
	}
	s.emu.ClearRateLimit()
}

// RateLimitWindow is the window SetRateLimited refuses calls for: the
// wait its refusals name.
const RateLimitWindow = time.Minute
