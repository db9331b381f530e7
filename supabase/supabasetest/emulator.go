// Package supabasetest is a local emulator of Supabase Auth (GoTrue behind
// Supabase's API gateway) for tests and development. The official SDK,
// github.com/supabase-community/auth-go, talks to it unmodified through
// its own base-URL option (WithCustomAuthURL(emu.AuthURL)), and so does
// authport's supabase adapter (Config.URL = emu.URL).
//
// It speaks Supabase's wire format, as read from the SDK and from GoTrue's
// source: routes under /auth/v1, the "apikey" header the gateway requires
// ("No API key found in request" otherwise), UUID ids, RFC 3339 times,
// error bodies in the legacy {"code","error_code","msg"} form or, with
// "X-Supabase-Api-Version: 2024-01-01", the {"code","message"} form, plus
// the "x-sb-error-code" header; single-use refresh tokens; PKCE codes.
//
// It signs in one of three ways (Options.Mode): an asymmetric key set
// (ES256, the default for new projects, or RS256) published at
// /auth/v1/.well-known/jwks.json; the legacy HS256 JWT secret (the JWKS is
// then empty, as Supabase publishes it); or a migration with both, where
// either may sign new tokens and tokens of both kinds stay valid.
//
// Routes (all under /auth/v1; those marked open need no apikey):
//
//	POST /token?grant_type=password|refresh_token|pkce
//	POST /signup
//	GET  /user, PUT /user                    (Bearer access token)
//	POST /logout[?scope=global|local|others] (Bearer access token) → 204
//	POST|GET /admin/users, GET|PUT|DELETE /admin/users/{id} (Bearer service-role key)
//	GET  /.well-known/jwks.json              (open)
//	GET  /.well-known/openid-configuration   (open)
//	GET  /authorize                          (open) → 302 to the emulated provider's page
//	GET|POST /__emulator/idp/{provider}      (open) the emulated OAuth provider's sign-in page
//	GET  /health, GET /settings
//
// The shared control API of internal/emulator is served under /__authport/.
// Differences from the real service are listed in the README section
// (docs/providers/supabase.md): no email or SMS is sent; phone, MFA, SSO
// and anonymous sign-ins are not emulated. DELETE /admin/users/{id} is a
// hard delete (the address is free again) even when a soft delete is
// asked for.
package supabasetest

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authport/authport/internal/emulator"
)

// Mode is how the emulated project signs access tokens.
type Mode string

// The signing modes.
const (
	// ModeES256 signs with an ECDSA P-256 key published in the JWKS (the
	// default for new Supabase projects).
	ModeES256 Mode = "ES256"
	// ModeRS256 signs with an RSA key published in the JWKS.
	ModeRS256 Mode = "RS256"
	// ModeHS256 signs with the legacy JWT secret; the JWKS is empty.
	ModeHS256 Mode = "HS256"
	// ModeMigration publishes an ES256 key and keeps the legacy secret:
	// tokens of both kinds verify. Options.LegacySigns (or SetLegacySigns)
	// says which one signs new tokens.
	ModeMigration Mode = "migration"
)

// Options configures an Emulator. Every field is optional.
type Options struct {
	// Mode selects the signing keys (default ModeES256).
	Mode Mode
	// LegacySigns makes the legacy secret sign new tokens in
	// ModeMigration (the state before rotating to the asymmetric key).
	LegacySigns bool
	// JWTSecret is the legacy JWT secret (HS256 and migration modes;
	// default: 40 random characters).
	JWTSecret string
	// LegacyKID is put in the header of HS256 tokens (GoTrue's
	// GOTRUE_JWT_KEY_ID); default none, as legacy projects sign.
	LegacyKID string
	// AnonKey and ServiceRoleKey are the project's API keys. By default
	// they are legacy JWTs signed with the secret in the HS256 and
	// migration modes, and "sb_publishable_…" / "sb_secret_…" keys in the
	// asymmetric modes.
	AnonKey, ServiceRoleKey string
	// TokenLifetime is the access-token lifetime (default 3600 s).
	TokenLifetime time.Duration
	// ConfirmEmail requires new sign-ups to confirm their email before
	// they can sign in (hosted projects' default). The default
	// auto-confirms, as the Supabase CLI's local stack does.
	ConfirmEmail bool
	// DisableSignup refuses POST /signup.
	DisableSignup bool
	// RefreshReuseInterval lets a used refresh token be presented again
	// for this long, answered with the session's current tokens (default
	// DefaultRefreshReuseInterval, as hosted projects and the Supabase
	// CLI's local stack allow; negative: strictly single use). Reuse
	// after the interval ends the session (reuse detection).
	RefreshReuseInterval time.Duration
	// SiteURL is where /authorize redirects when redirect_to is not
	// allowed (default "http://localhost:3000").
	SiteURL string
	// RedirectAllowList lists URL prefixes redirect_to may start with;
	// empty allows any.
	RedirectAllowList []string
	// Providers are the OAuth providers /authorize accepts (default:
	// those auth-go names: apple, azure, github, google, ...).
	Providers []string
	// Version is what /health reports (default "v2.177.0").
	Version string
	// Clock is the emulated time (default: real time).
	Clock *emulator.Clock
	// Addr is the loopback listen address (default 127.0.0.1, a free port).
	Addr string
	// Logger receives a debug line per request.
	Logger *slog.Logger
}

// Emulator is a running Supabase Auth emulator.
type Emulator struct {
	// URL is the project URL, SUPABASE_URL ("http://127.0.0.1:port").
	URL string
	// AuthURL is URL + "/auth/v1", the SDK's WithCustomAuthURL.
	AuthURL string
	// Issuer is the tokens' "iss" (AuthURL, as Supabase's).
	Issuer string
	// AnonKey and ServiceRoleKey are the API keys.
	AnonKey, ServiceRoleKey string
	// JWTSecret is the legacy secret ("" in the asymmetric modes).
	JWTSecret string

	srv *emulator.Server
	o   Options

	mu          sync.Mutex
	legacy      *emulator.SigningKey // the secret; nil in asymmetric modes
	legacySigns bool
	legacyOff   bool // the legacy secret was revoked: GoTrue no longer accepts it
	flows       map[string]*flow
	codes       map[string]*flow
	refreshes   map[string]refreshUse // used refresh token → what replaced it
}

type refreshUse struct {
	sessionID, next string
	at              time.Time
}

// New starts an emulator that stops when tb's test ends. Options are
// optional (at most one).
func New(tb testing.TB, opts ...Options) *Emulator {
	tb.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	e, err := Start(o)
	if err != nil {
		tb.Fatalf("supabasetest: %v", err)
	}
	tb.Cleanup(e.Close)
	return e
}

var defaultProviders = []string{"apple", "azure", "bitbucket", "discord", "facebook", "github", "gitlab",
	"google", "keycloak", "linkedin", "notion", "slack", "spotify", "twitch", "twitter", "workos", "zoom"}

// Start starts an emulator; Close stops it.
func Start(o Options) (e *Emulator, err error) {
	defer func() {
		if r := recover(); r != nil { // emulator.NewUnstarted panics when it cannot listen
			e, err = nil, fmt.Errorf("supabasetest: %v", r)
		}
	}()
	if o.Mode == "" {
		o.Mode = ModeES256
	}
	if o.TokenLifetime <= 0 {
		o.TokenLifetime = time.Hour
	}
	switch {
	case o.RefreshReuseInterval == 0:
		o.RefreshReuseInterval = DefaultRefreshReuseInterval
	case o.RefreshReuseInterval < 0:
		o.RefreshReuseInterval = 0
	}
	if o.SiteURL == "" {
		o.SiteURL = "http://localhost:3000"
	}
	if len(o.Providers) == 0 {
		o.Providers = defaultProviders
	}
	if o.Version == "" {
		o.Version = "v2.177.0"
	}
	if o.Clock == nil {
		o.Clock = emulator.NewClock()
	}
	legacyMode := o.Mode == ModeHS256 || o.Mode == ModeMigration
	if legacyMode && o.JWTSecret == "" {
		o.JWTSecret = emulator.RandomBase62(40)
	}
	if legacyMode && len(o.JWTSecret) < 32 {
		return nil, fmt.Errorf("supabasetest: JWTSecret must be at least 32 bytes")
	}
	var ring emulator.KeyRingOptions
	switch o.Mode {
	case ModeES256, ModeMigration:
		ring = emulator.KeyRingOptions{Algorithm: "ES256", KID: emulator.NewUUID, Clock: o.Clock}
	case ModeRS256:
		ring = emulator.KeyRingOptions{Algorithm: "RS256", KID: emulator.NewUUID, Clock: o.Clock}
	case ModeHS256:
		kid := o.LegacyKID
		ring = emulator.KeyRingOptions{Algorithm: "HS256", Secret: []byte(o.JWTSecret), Clock: o.Clock,
			KID: func() string {
				if kid != "" {
					return kid
				}
				return emulator.NewUUID()
			}}
	default:
		return nil, fmt.Errorf("supabasetest: unknown mode %q", o.Mode)
	}
	e = &Emulator{o: o, flows: map[string]*flow{}, codes: map[string]*flow{}, refreshes: map[string]refreshUse{}, legacySigns: o.LegacySigns || o.Mode == ModeHS256}
	srv := emulator.NewUnstarted(emulator.Options{
		Name:     "Supabase Auth emulator",
		Addr:     o.Addr,
		Clock:    o.Clock,
		Keys:     ring,
		TokenTTL: o.TokenLifetime,
		Store: emulator.StoreOptions{
			Clock:        o.Clock,
			RefreshToken: refreshToken,
		},
		DefaultClaims: e.defaultClaims,
		RateLimited: func(w http.ResponseWriter, r *http.Request, _ time.Duration) {
			// GoTrue's own limiter answers without Retry-After.
			e.fail(w, r, &apiErr{http.StatusTooManyRequests, "over_request_rate_limit", "Request rate limit reached"})
		},
		SignIn: func(r *http.Request, u *emulator.User) (any, error) {
			return e.issue(u, amrPassword, "")
		},
		Logger: o.Logger,
	})
	e.srv = srv
	e.URL = srv.URL
	e.AuthURL = srv.URL + "/auth/v1"
	e.Issuer = e.AuthURL
	if legacyMode {
		e.JWTSecret = o.JWTSecret
		if o.Mode == ModeHS256 {
			e.legacy = srv.Keys.Current()
		} else {
			e.legacy = &emulator.SigningKey{ID: o.LegacyKID, Algorithm: "HS256", Private: []byte(o.JWTSecret), Public: []byte(o.JWTSecret), Created: o.Clock.Now()}
		}
	}
	e.AnonKey, e.ServiceRoleKey = o.AnonKey, o.ServiceRoleKey
	if e.AnonKey == "" {
		e.AnonKey = e.apiKey("anon", "sb_publishable_")
	}
	if e.ServiceRoleKey == "" {
		e.ServiceRoleKey = e.apiKey("service_role", "sb_secret_")
	}
	e.routes()
	srv.Start()
	return e, nil
}

// apiKey makes a default API key: a legacy JWT signed with the secret, or a
// new-style opaque key.
func (e *Emulator) apiKey(role, prefix string) string {
	if e.legacy == nil {
		return prefix + emulator.RandomBase62(31)
	}
	now := e.o.Clock.Now()
	ref := strings.NewReplacer(".", "", ":", "").Replace(strings.TrimPrefix(e.URL, "http://"))
	tok, err := emulator.SignJWT("HS256", e.legacy.Private, map[string]any{"typ": "JWT"}, map[string]any{
		"iss": "supabase", "ref": ref, "role": role, "iat": now.Unix(), "exp": now.AddDate(10, 0, 0).Unix(),
	})
	if err != nil {
		panic(err)
	}
	return tok
}

// refreshToken makes a refresh token in GoTrue's shape: 12 lower-case
// alphanumerics.
func refreshToken() string {
	return strings.ToLower(emulator.RandomBase62(12))
}

// Close stops the emulator.
func (e *Emulator) Close() { e.srv.Close() }

// Server returns the underlying emulator core: its Store (users, sessions),
// Keys (the asymmetric key ring; the secret's ring in ModeHS256), Clock,
// faults and counters.
func (e *Emulator) Server() *emulator.Server { return e.srv }

// Clock returns the emulated clock.
func (e *Emulator) Clock() *emulator.Clock { return e.srv.Clock }

// Mode returns the signing mode.
func (e *Emulator) Mode() Mode { return e.o.Mode }

// Env returns the environment variables that point an application (and
// authport.FromEnv) at the emulator.
func (e *Emulator) Env() map[string]string {
	env := map[string]string{
		"AUTH_PROVIDER":             "supabase",
		"SUPABASE_URL":              e.URL,
		"SUPABASE_ANON_KEY":         e.AnonKey,
		"SUPABASE_SERVICE_ROLE_KEY": e.ServiceRoleKey,
	}
	if e.JWTSecret != "" {
		env["SUPABASE_JWT_SECRET"] = e.JWTSecret
	}
	return env
}

// Setenv sets Env in the test's environment (restored when it ends).
func (e *Emulator) Setenv(t interface{ Setenv(string, string) }) {
	for k, v := range e.Env() {
		t.Setenv(k, v)
	}
}

// SetLegacySigns chooses, in ModeMigration, whether the legacy secret
// (true) or the ES256 key (false) signs new tokens. Tokens of both kinds
// keep verifying either way.
func (e *Emulator) SetLegacySigns(on bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.o.Mode == ModeMigration {
		e.legacySigns = on
	}
}

// RevokeLegacy stops the emulated project from accepting (and signing
// with) the legacy secret, as revoking it in Supabase's dashboard does. An
// adapter still configured with SUPABASE_JWT_SECRET keeps accepting such
// tokens offline until its configuration changes.
func (e *Emulator) RevokeLegacy() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.o.Mode == ModeMigration {
		e.legacyOff, e.legacySigns = true, false
	}
}

// jwksRoute is the key endpoint's route pattern.
const jwksRoute = "GET /auth/v1/.well-known/jwks.json"

// KeyFetches counts requests to the JWKS endpoint.
func (e *Emulator) KeyFetches() int64 { return e.srv.Fetches(jwksRoute) }

// SetKeysDown makes the JWKS endpoint answer 503 (true) or recover.
func (e *Emulator) SetKeysDown(down bool) {
	if down {
		e.srv.SetFault(jwksRoute, emulator.Fault{Down: true})
	} else {
		e.srv.ClearFault(jwksRoute)
	}
}

// RotateKeys makes a new current asymmetric signing key; the previous one
// stays published (and valid) until DropRetiredKeys.
func (e *Emulator) RotateKeys() string { return e.srv.Keys.Rotate().ID }

// DropRetiredKeys stops publishing every key but the current one.
func (e *Emulator) DropRetiredKeys() { e.srv.Keys.DropRetired() }

// SetRateLimit makes the emulator refuse API calls past requests per
// window with GoTrue's own 429 over_request_rate_limit (which names no wait) (the control API's POST /__authport/ratelimit
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

// DefaultRefreshReuseInterval is Supabase's default refresh-token reuse
// interval (auth.refresh_token_reuse_interval = 10 s).
const DefaultRefreshReuseInterval = 10 * time.Second

// RefreshReuseInterval returns the reuse interval in force (0: strictly
// single use).
func (e *Emulator) RefreshReuseInterval() time.Duration { return e.o.RefreshReuseInterval }
