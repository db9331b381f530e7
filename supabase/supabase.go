package supabase

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	auth "github.com/supabase-community/auth-go"

	"github.com/authport/authport"
	"github.com/authport/authport/internal/config"
	"github.com/authport/authport/internal/httpclient"
	"github.com/authport/authport/internal/jwtcore"
	"github.com/authport/authport/internal/keyset"
	"github.com/authport/authport/internal/safetext"
)

// Name is the adapter's registered name and Session.Provider.
const Name = "supabase"

// Signing says which token signatures the adapter accepts.
type Signing string

// The signing modes.
const (
	// SigningAuto (the zero value) accepts asymmetric tokens (ES256,
	// RS256) from the project's JWKS and, when JWTSecret is set, legacy
	// HS256 tokens too: what a project in the middle of a migration needs.
	SigningAuto Signing = ""
	// SigningAsymmetric accepts only asymmetric tokens, even if JWTSecret
	// is set: the setting for after the legacy secret was revoked.
	SigningAsymmetric Signing = "asymmetric"
	// SigningLegacy accepts only HS256 tokens signed with JWTSecret and
	// never fetches the JWKS.
	SigningLegacy Signing = "legacy"
	// SigningBoth accepts both and requires JWTSecret.
	SigningBoth Signing = "both"
)

// Defaults.
const (
	// DefaultAudience is the "aud" of a signed-in user's token.
	DefaultAudience = "authenticated"
	// DefaultRolesClaim is where application roles are read from.
	DefaultRolesClaim = "app_metadata.roles"
	// DefaultPermissionsClaim is where permissions are read from.
	DefaultPermissionsClaim = "app_metadata.permissions"
	// DefaultTokenLifetime is Supabase's default access-token lifetime.
	DefaultTokenLifetime = time.Hour
)

// Config configures the adapter. Its fields mirror the environment
// variables FromEnv reads; only URL and AnonKey are required.
type Config struct {
	// URL is the project URL, "https://<ref>.supabase.co" (SUPABASE_URL).
	// Plain http is accepted only for loopback hosts (local development,
	// the emulator).
	URL string
	// AnonKey is the anon (publishable) key, sent as the "apikey" header
	// (SUPABASE_ANON_KEY, or SUPABASE_PUBLISHABLE_KEY).
	AnonKey string
	// ServiceRoleKey is the service-role (secret) key for AdminClient
	// (SUPABASE_SERVICE_ROLE_KEY, or SUPABASE_SECRET_KEY). Optional.
	ServiceRoleKey string
	// JWTSecret is the project's legacy JWT secret (SUPABASE_JWT_SECRET).
	// When set, HS256 tokens signed with it verify as well, checked only
	// against the secret. At least 32 bytes, used as-is (not decoded).
	JWTSecret string
	// Signing selects which signatures verify (AUTHPORT_SUPABASE_SIGNING:
	// "asymmetric", "legacy" or "both"; default SigningAuto).
	Signing Signing

	// AuthURL is the Auth API base (default URL + "/auth/v1"); set it for
	// a bare GoTrue without the API gateway.
	AuthURL string
	// Issuer is the tokens' "iss" (default AuthURL).
	Issuer string
	// Audiences are the accepted "aud" values (default "authenticated").
	Audiences []string
	// RolesClaim is the dotted claim path of application roles (default
	// "app_metadata.roles"; AUTHPORT_SUPABASE_ROLES_CLAIM). "-" maps no
	// roles. The top-level "role" claim (a Postgres role) is never used.
	RolesClaim string
	// PermissionsClaim is the dotted claim path of permissions (default
	// "app_metadata.permissions"; AUTHPORT_SUPABASE_PERMISSIONS_CLAIM).
	// "-" maps none.
	PermissionsClaim string
	// OrgClaim, if set, is the dotted claim path of the active
	// organisation ("app_metadata.org_id"; AUTHPORT_SUPABASE_ORG_CLAIM).
	// Supabase has no organisations of its own, so the default is none.
	OrgClaim string
	// OAuthProvider is the external provider the redirect sign-in uses
	// ("github", "google", ...; AUTHPORT_SUPABASE_OAUTH_PROVIDER). Without
	// it the adapter has no redirect sign-in.
	OAuthProvider string
	// OAuthScopes are extra provider scopes for the redirect sign-in
	// (space separated; AUTHPORT_SUPABASE_OAUTH_SCOPES).
	OAuthScopes string
	// TokenLifetime is the project's access-token lifetime, reported as the
	// revocation delay (default one hour, Supabase's default).
	TokenLifetime time.Duration

	// Leeway is the clock-skew allowance (default 30 s).
	Leeway time.Duration
	// CacheSize bounds the verified-token cache (default 10000; negative
	// disables it).
	CacheSize int
	// HTTPClient carries every call: the SDK's and the JWKS fetch. Its
	// Timeout bounds one call (default 10 s).
	HTTPClient *http.Client
	// HTTPTimeout bounds each call to the provider (default: HTTPClient's
	// own Timeout when set, else 10 s).
	HTTPTimeout time.Duration
	// Clock returns the current time (default time.Now).
	Clock func() time.Time
	// Logger receives key-refresh failures (default slog.Default()).
	Logger *slog.Logger
}

// Authenticator is the Supabase adapter. It verifies access tokens offline
// through authport's verification core and calls Supabase Auth through the
// official SDK. It is safe for concurrent use.
type Authenticator struct {
	cfg       Config
	authURL   string
	issuer    string
	sdk       auth.Client
	http      *http.Client // timeout and redirect policy of every call
	transport http.RoundTripper
	v         *jwtcore.Verifier
	jwks      *keyset.Cache // nil in legacy mode
	hmac      bool
}

var (
	_ authport.Authenticator  = (*Authenticator)(nil)
	_ authport.PasswordSignIn = (*Authenticator)(nil)
	_ authport.SignUp         = (*Authenticator)(nil)
	_ authport.Refresher      = (*Authenticator)(nil)
	_ authport.Revoker        = (*Authenticator)(nil)
	_ authport.StrictVerifier = (*Authenticator)(nil)
	_ authport.RedirectSignIn = (*Authenticator)(nil)
	_ authport.Describer      = (*Authenticator)(nil)
)

func misconfigured(reason string) error {
	return authport.NewError(authport.ErrMisconfigured, Name, "open", reason)
}

// New validates cfg and returns the adapter. It does not contact Supabase:
// keys are fetched on the first asymmetric token. A missing or malformed
// setting is an error of kind ErrMisconfigured naming the variable.
func New(ctx context.Context, cfg Config) (*Authenticator, error) {
	_ = ctx // nothing to fetch at start-up; kept for a uniform constructor
	base, err := checkURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(cfg.AnonKey) == "" {
		return nil, misconfigured(EnvAnonKey + " is not set")
	}
	if strings.ContainsAny(cfg.AnonKey, "\r\n") || strings.ContainsAny(cfg.ServiceRoleKey, "\r\n") {
		return nil, misconfigured("an API key contains a line break")
	}
	switch cfg.Signing {
	case SigningAuto, SigningAsymmetric, SigningLegacy, SigningBoth:
	default:
		return nil, misconfigured(EnvSigning + ` must be "asymmetric", "legacy" or "both"`)
	}
	useHMAC := cfg.JWTSecret != "" && cfg.Signing != SigningAsymmetric
	useJWKS := cfg.Signing != SigningLegacy
	if (cfg.Signing == SigningLegacy || cfg.Signing == SigningBoth) && cfg.JWTSecret == "" {
		return nil, misconfigured(EnvJWTSecret + " is required when " + EnvSigning + "=" + string(cfg.Signing))
	}
	a := &Authenticator{cfg: cfg, hmac: useHMAC}
	a.authURL = strings.TrimRight(cfg.AuthURL, "/")
	if a.authURL == "" {
		a.authURL = base + "/auth/v1"
	} else if _, err := checkURL(a.authURL); err != nil {
		return nil, misconfigured("AuthURL is malformed")
	}
	a.issuer = cfg.Issuer
	if a.issuer == "" {
		a.issuer = a.authURL
	}
	if len(a.cfg.Audiences) == 0 {
		a.cfg.Audiences = []string{DefaultAudience}
	}
	if a.cfg.RolesClaim == "" {
		a.cfg.RolesClaim = DefaultRolesClaim
	}
	if a.cfg.PermissionsClaim == "" {
		a.cfg.PermissionsClaim = DefaultPermissionsClaim
	}
	for name, p := range map[string]string{EnvRolesClaim: a.cfg.RolesClaim, EnvPermissionsClaim: a.cfg.PermissionsClaim, EnvOrgClaim: a.cfg.OrgClaim} {
		if !validClaimPath(p) {
			return nil, misconfigured(name + " is not a dotted claim path")
		}
	}
	if p := a.cfg.OAuthProvider; safetext.Code(p) != p {
		return nil, misconfigured(EnvOAuthProvider + " is not a provider name")
	}
	if a.cfg.TokenLifetime <= 0 {
		a.cfg.TokenLifetime = DefaultTokenLifetime
	}
	if a.cfg.Clock == nil {
		a.cfg.Clock = time.Now
	}
	a.http = httpclient.New(cfg.HTTPClient, cfg.HTTPTimeout)
	a.transport = a.http.Transport
	if a.transport == nil {
		a.transport = http.DefaultTransport
	}

	var hmacSrc, asymSrc keyset.Source
	algs := []string{}
	var kidOptional []string
	if useHMAC {
		k, err := keyset.HMACKey("", []byte(cfg.JWTSecret), "HS256")
		if err != nil {
			return nil, misconfigured(EnvJWTSecret + " is shorter than 32 bytes")
		}
		st, err := keyset.NewStatic(k)
		if err != nil {
			return nil, misconfigured(EnvJWTSecret + " is not usable")
		}
		hmacSrc = anyKID{st}
		algs = append(algs, "HS256")
		kidOptional = []string{"HS256"}
	}
	if useJWKS {
		f := keyset.NewHTTPFetcher(a.authURL+"/.well-known/jwks.json", keyset.FormatJWKS, cfg.HTTPClient)
		a.jwks = keyset.NewCache(emptyOK{f}, keyset.CacheOptions{Clock: a.cfg.Clock, Logger: cfg.Logger, Provider: Name})
		asymSrc = a.jwks
		algs = append(algs, "ES256", "RS256")
	}
	v, err := jwtcore.New(jwtcore.Options{
		Provider:  Name,
		Leeway:    cfg.Leeway,
		Clock:     a.cfg.Clock,
		CacheSize: cfg.CacheSize,
		ToSession: a.toSession,
	}, jwtcore.Policy{
		Issuer:     a.issuer,
		Audiences:  a.cfg.Audiences,
		Algorithms: algs,
		Keys:       keyset.ByAlg{HMAC: hmacSrc, Asymmetric: asymSrc},
		// A legacy HS256 token may carry no kid (GoTrue adds one only when
		// GOTRUE_JWT_KEY_ID is set); ES256/RS256 tokens must name their key
		// and are refused before any key lookup or fetch when they do not.
		KIDOptional: kidOptional,
	})
	if err != nil {
		return nil, misconfigured("verifier: " + err.Error())
	}
	a.v = v
	a.sdk = auth.New(projectRef(base), cfg.AnonKey).WithCustomAuthURL(a.authURL)
	return a, nil
}

// checkURL validates SUPABASE_URL and returns it without a trailing slash.
func checkURL(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", misconfigured(EnvURL + " is not set")
	}
	u, err := url.Parse(raw)
	bad := misconfigured(EnvURL + " is malformed (want https://<ref>.supabase.co)")
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", bad
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !config.IsLoopbackHost(u.Hostname()) {
			return "", misconfigured(EnvURL + " must use https (plain http only for a loopback host)")
		}
	default:
		return "", bad
	}
	return strings.TrimRight(u.Scheme+"://"+u.Host+u.EscapedPath(), "/"), nil
}

// projectRef is the SDK's project reference: the first label of
// <ref>.supabase.co, otherwise a placeholder (the base URL is always set
// explicitly with WithCustomAuthURL, so the reference is never dialled).
func projectRef(base string) string {
	u, err := url.Parse(base)
	if err == nil {
		if ref, ok := strings.CutSuffix(u.Hostname(), ".supabase.co"); ok && ref != "" && !strings.Contains(ref, ".") {
			return ref
		}
	}
	return "custom"
}

func validClaimPath(p string) bool {
	if p == "" || p == "-" {
		return true
	}
	for part := range strings.SplitSeq(p, ".") {
		if part == "" || len(part) > 128 {
			return false
		}
	}
	return true
}

// anyKID serves the one legacy secret whatever kid a token names: GoTrue
// signs HS256 tokens with or without a kid and verifies them against the
// secret either way, and with one secret a kid cannot select anything.
type anyKID struct{ s *keyset.Static }

// Lookup implements keyset.Source.
func (k anyKID) Lookup(ctx context.Context, _, alg string) (keyset.Key, error) {
	return k.s.Lookup(ctx, "", alg)
}

// emptyOK treats a well-formed JWKS without usable keys
// (keyset.ErrNoUsableKey; a legacy-only project publishes {"keys":[]}) as
// an empty set rather than a failed fetch, so an asymmetric token is
// refused as unknown (401) instead of making the key set look unavailable
// (503). A malformed document or an HTTP failure is still an error.
type emptyOK struct{ f keyset.Fetcher }

// Fetch implements keyset.Fetcher.
func (e emptyOK) Fetch(ctx context.Context) ([]keyset.Key, time.Duration, error) {
	keys, age, err := e.f.Fetch(ctx)
	if errors.Is(err, keyset.ErrNoUsableKey) {
		return nil, age, nil
	}
	return keys, age, err
}

// Provider returns "supabase".
func (a *Authenticator) Provider() string { return Name }

// Issuer returns the issuer tokens must carry.
func (a *Authenticator) Issuer() string { return a.issuer }

// Verify checks the access token offline: signature (ES256/RS256 against
// the project's JWKS, HS256 against the legacy secret when configured,
// chosen by the token's alg and never mixed), issuer, audience, expiry.
// A session revoked elsewhere still verifies until the token expires; use
// VerifyStrict to ask Supabase.
func (a *Authenticator) Verify(ctx context.Context, c authport.Credential) (*authport.Session, error) {
	if c.Token == "" {
		return nil, authport.NewError(authport.ErrNoCredential, Name, "verify", "no token")
	}
	return a.v.Session(ctx, c.Token)
}

// Revocations implements authport.RevocationSharer: the deny list Verify
// consults, so that Config.Cluster can share this instance's revocations
// with the others'.
func (a *Authenticator) Revocations() authport.RevocationList { return a.v }

// Describe reports the revocation delay (the access-token lifetime: a
// session signed out elsewhere keeps verifying offline until its token
// expires) and the capabilities this configuration lacks.
func (a *Authenticator) Describe() authport.Description {
	d := authport.Description{RevocationDelay: a.cfg.TokenLifetime, Unsupported: map[authport.Capability]string{
		authport.CapLogoutRedirect: "Supabase Auth keeps no browser session of its own to end: Revoke (POST /logout) ends the session, and the OAuth provider's own session is outside Supabase",
	}}
	if a.cfg.OAuthProvider == "" {
		d.Unsupported[authport.CapRedirectSignIn] = "no OAuth provider configured (set " + EnvOAuthProvider + ")"
	}
	return d
}

// KeyFetches counts the JWKS fetches made so far (0 in legacy mode).
func (a *Authenticator) KeyFetches() int64 {
	if a.jwks == nil {
		return 0
	}
	return a.jwks.Fetches()
}

func safeParam(k string) string {
	if len(k) > 32 {
		k = k[:32]
	}
	return k
}
