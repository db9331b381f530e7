package workos

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/workos/workos-go/v4/pkg/mfa"
	"github.com/workos/workos-go/v4/pkg/usermanagement"

	"github.com/authport/authport"
	"github.com/authport/authport/internal/config"
	"github.com/authport/authport/internal/httpclient"
	"github.com/authport/authport/internal/jwtcore"
	"github.com/authport/authport/internal/keyset"
	"github.com/authport/authport/internal/retryafter"
)

// Name is the adapter's registered name.
const Name = "workos"

// Defaults.
const (
	// DefaultBaseURL is WorkOS's API.
	DefaultBaseURL = "https://api.workos.com"
	// DefaultTokenLifetime is WorkOS's default access-token lifetime, and
	// so the default revocation delay.
	DefaultTokenLifetime = 5 * time.Minute
	// MinCookiePasswordLen is the shortest WORKOS_COOKIE_PASSWORD accepted
	// (AuthKit's own rule).
	MinCookiePasswordLen = 32
)

// ActionOrgAuthMethods is the action for WorkOS's
// organization_authentication_methods_required error: the organisation
// allows only some sign-in methods (SSO, a specific OAuth provider).
const ActionOrgAuthMethods authport.Action = "organization_authentication_methods_required"

// Config configures the adapter. Its fields mirror the environment
// variables listed in the package documentation.
type Config struct {
	// APIKey is the WorkOS API key, "sk_test_..." or "sk_live_..."
	// (WORKOS_API_KEY). Required. It authenticates management calls and
	// is sent as client_secret to /user_management/authenticate.
	APIKey string
	// ClientID is the environment's client id, "client_..."
	// (WORKOS_CLIENT_ID). Required.
	ClientID string
	// RedirectURI is the callback URL used when an AuthorizeRequest names
	// none (WORKOS_REDIRECT_URI). It must be allowed in the WorkOS
	// dashboard.
	RedirectURI string
	// BaseURL is the API base URL (WORKOS_BASE_URL; default
	// https://api.workos.com). Point it at workostest's emulator in tests.
	// Plain http is accepted only for loopback hosts.
	BaseURL string
	// JWKSURL overrides the key-set URL (WORKOS_JWKS_URL; default
	// <BaseURL>/sso/jwks/<ClientID>, as the SDK's GetJWKSURL builds it).
	JWKSURL string
	// Issuers are the accepted "iss" values, compared exactly
	// (WORKOS_ISSUERS). Default:
	// https://api.workos.com/user_management/<ClientID>,
	// https://api.workos.com/ and https://api.workos.com.
	Issuers []string
	// Audiences, when set, makes "aud" required and one of these values
	// (WORKOS_AUDIENCE). WorkOS access tokens document no audience, so it
	// is empty by default.
	Audiences []string
	// TokenLifetime is the access-token lifetime set in the WorkOS
	// dashboard (WORKOS_ACCESS_TOKEN_TTL; default 5m). It is the declared
	// revocation delay and how long a locally revoked session is denied.
	TokenLifetime time.Duration
	// TOTPIssuer names the application in authenticator apps when a user
	// enrols MFA on authport's continue page (AUTHPORT_WORKOS_TOTP_ISSUER;
	// default: WorkOS's own choice).
	TOTPIssuer string
	// CookiePassword is AuthKit's cookie password (WORKOS_COOKIE_PASSWORD,
	// at least 32 characters). When set, CookieKeys derives an
	// authport.Config.CookieKeys entry from it, so an application moving
	// from AuthKit keeps one secret.
	CookiePassword string

	// HTTPClient makes every call to WorkOS, SDK and key set alike
	// (default: a client with a 10 s timeout).
	HTTPClient *http.Client
	// HTTPTimeout bounds each call to the provider (default: HTTPClient's
	// own Timeout when set, else 10 s).
	HTTPTimeout time.Duration
	// Leeway is the clock-skew allowance for exp, nbf and iat (default
	// 30 s, at most 5 min).
	Leeway time.Duration
	// CacheSize bounds the verified-token cache (default 10000; negative
	// disables it).
	CacheSize int
	// Clock returns the current time (default time.Now).
	Clock func() time.Time
	// Logger receives key-set refresh failures (default slog.Default()).
	Logger *slog.Logger
}

func misconfigured(reason string) error {
	return authport.NewError(authport.ErrMisconfigured, Name, "open", reason)
}

// Authenticator is the WorkOS adapter. It implements authport.Authenticator,
// PasswordSignIn, SignUp, RedirectSignIn, Refresher, Revoker and Describer,
// and is safe for concurrent use.
type Authenticator struct {
	cfg    Config
	client *usermanagement.Client
	mfa    *mfa.Client
	keys   *keyset.Cache
	v      *jwtcore.Verifier
}

var (
	_ authport.Authenticator    = (*Authenticator)(nil)
	_ authport.PasswordSignIn   = (*Authenticator)(nil)
	_ authport.SignUp           = (*Authenticator)(nil)
	_ authport.RedirectSignIn   = (*Authenticator)(nil)
	_ authport.Refresher        = (*Authenticator)(nil)
	_ authport.Revoker          = (*Authenticator)(nil)
	_ authport.LogoutRedirector = (*Authenticator)(nil)
	_ authport.Describer        = (*Authenticator)(nil)
)

// New validates cfg and returns the adapter. It makes no network call: the
// key set is fetched on the first verification. A missing or malformed
// setting is an error of kind authport.ErrMisconfigured naming the
// environment variable (never quoting a secret).
func New(ctx context.Context, cfg Config) (*Authenticator, error) {
	_ = ctx // nothing to do at construction; kept for the registry's shape
	cfg.APIKey = strings.TrimSpace(cfg.APIKey)
	cfg.ClientID = strings.TrimSpace(cfg.ClientID)
	switch {
	case cfg.APIKey == "":
		return nil, misconfigured(EnvAPIKey + " (Config.APIKey) is not set")
	case !strings.HasPrefix(cfg.APIKey, "sk_") || strings.ContainsFunc(cfg.APIKey, badTokenRune):
		return nil, misconfigured(EnvAPIKey + " (Config.APIKey) is not a WorkOS API key (sk_...)")
	case cfg.ClientID == "":
		return nil, misconfigured(EnvClientID + " (Config.ClientID) is not set")
	case !strings.HasPrefix(cfg.ClientID, "client_") || strings.ContainsFunc(cfg.ClientID, badIDRune):
		return nil, misconfigured(EnvClientID + " (Config.ClientID) is not a WorkOS client id (client_...)")
	}
	base := DefaultBaseURL
	if cfg.BaseURL != "" {
		b, err := checkURL(cfg.BaseURL, false)
		if err != "" {
			return nil, misconfigured(EnvBaseURL + " (Config.BaseURL) " + err)
		}
		base = b
	}
	cfg.BaseURL = base
	if cfg.RedirectURI != "" {
		if _, err := checkURL(cfg.RedirectURI, true); err != "" {
			return nil, misconfigured(EnvRedirectURI + " (Config.RedirectURI) " + err)
		}
	}
	if len(cfg.Issuers) == 0 {
		cfg.Issuers = DefaultIssuers(cfg.ClientID)
	}
	issuers := make([]string, 0, len(cfg.Issuers))
	for _, iss := range cfg.Issuers {
		if iss == "" || strings.TrimSpace(iss) != iss {
			return nil, misconfigured(EnvIssuers + " (Config.Issuers) holds an empty or padded issuer")
		}
		if !slices.Contains(issuers, iss) {
			issuers = append(issuers, iss)
		}
	}
	cfg.Issuers = issuers
	for _, aud := range cfg.Audiences {
		if aud == "" {
			return nil, misconfigured(EnvAudience + " (Config.Audience) holds an empty audience")
		}
	}
	switch {
	case cfg.TokenLifetime == 0:
		cfg.TokenLifetime = DefaultTokenLifetime
	case cfg.TokenLifetime < 0 || cfg.TokenLifetime > 24*time.Hour:
		return nil, misconfigured(EnvAccessTokenTTL + " (Config.TokenLifetime) must be between 0 and 24h")
	}
	if cfg.CookiePassword != "" && len(cfg.CookiePassword) < MinCookiePasswordLen {
		return nil, misconfigured(EnvCookiePassword + " (Config.CookiePassword) must be at least 32 characters")
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	hc := httpclient.New(cfg.HTTPClient, cfg.HTTPTimeout)

	client := usermanagement.NewClient(cfg.APIKey)
	client.Endpoint = base
	// The SDK drops response headers; this records WorkOS's Retry-After
	// for the call's context (see mapError).
	sdkClient := *hc
	sdkClient.Transport = &retryafter.Transport{Base: hc.Transport, Now: cfg.Clock}
	client.HTTPClient = &sdkClient

	jwks := cfg.JWKSURL
	if jwks == "" {
		u, err := client.GetJWKSURL(cfg.ClientID)
		if err != nil {
			return nil, misconfigured(EnvClientID + " (Config.ClientID) does not make a key-set URL")
		}
		jwks = u.String()
	} else if _, err := checkURL(jwks, false); err != "" {
		return nil, misconfigured(EnvJWKSURL + " (Config.JWKSURL) " + err)
	}
	cfg.JWKSURL = jwks

	a := &Authenticator{cfg: cfg, client: client,
		mfa: &mfa.Client{APIKey: cfg.APIKey, Endpoint: base, HTTPClient: client.HTTPClient}}
	a.keys = keyset.NewCache(keyset.NewHTTPFetcher(jwks, keyset.FormatJWKS, hc), keyset.CacheOptions{
		Clock: cfg.Clock, Logger: cfg.Logger, Provider: Name,
	})
	policies := make([]jwtcore.Policy, 0, len(cfg.Issuers))
	for _, iss := range cfg.Issuers {
		policies = append(policies, jwtcore.Policy{
			Issuer: iss, Audiences: cfg.Audiences, Algorithms: []string{"RS256"}, Keys: a.keys,
		})
	}
	v, err := jwtcore.New(jwtcore.Options{
		Provider: Name, Leeway: cfg.Leeway, Clock: cfg.Clock, CacheSize: cfg.CacheSize,
		ToSession: a.toSession,
	}, policies...)
	if err != nil {
		return nil, authport.WrapError(authport.ErrMisconfigured, Name, "open", err)
	}
	a.v = v
	return a, nil
}

// DefaultIssuers returns the issuers accepted when Config.Issuers is
// empty: the user-management issuer of clientID and WorkOS's bare API
// issuer, with and without its trailing slash.
func DefaultIssuers(clientID string) []string {
	return []string{
		DefaultBaseURL + "/user_management/" + clientID,
		DefaultBaseURL + "/",
		DefaultBaseURL,
	}
}

func badTokenRune(r rune) bool { return r <= ' ' || r >= 0x7f }

func badIDRune(r rune) bool {
	return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_' || r == '-')
}

// checkURL validates an absolute http(s) URL and returns it without a
// trailing slash (base URLs) or as given (redirect). Plain http is allowed
// only for loopback hosts, unless redirect is set (a development callback
// such as http://localhost:3000/auth/callback is common). The reason
// returned never quotes the URL.
func checkURL(raw string, redirect bool) (string, string) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.Fragment != "" {
		return "", "is not an absolute URL"
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !redirect && !config.IsLoopbackHost(u.Hostname()) {
			return "", "must use https (plain http only for loopback hosts)"
		}
	default:
		return "", "must be an http or https URL"
	}
	if redirect {
		return raw, ""
	}
	if u.RawQuery != "" {
		return "", "must not have a query"
	}
	return strings.TrimSuffix(raw, "/"), ""
}

// Provider returns "workos".
func (a *Authenticator) Provider() string { return Name }

// Config returns the configuration in force, defaults filled in.
func (a *Authenticator) Config() Config { return a.cfg }

// Client returns the adapter's own workos-go client (base URL and HTTP
// client configured), for calls authport does not wrap, such as MFA.
func (a *Authenticator) Client() *usermanagement.Client { return a.client }

// CookieKeys derives one 32-byte key for authport.Config.CookieKeys from
// Config.CookiePassword (HKDF-SHA256), or returns nil when it is not set.
// The key seals authport's own cookie; AuthKit's wos-session cookies are
// not readable by it.
func (a *Authenticator) CookieKeys() [][]byte {
	if a.cfg.CookiePassword == "" {
		return nil
	}
	k, err := hkdf.Key(sha256.New, []byte(a.cfg.CookiePassword), nil, "authport session cookie v1", 32)
	if err != nil {
		return nil
	}
	return [][]byte{k}
}

// Verify checks a WorkOS access token offline (signature against the
// client's key set, issuer, expiry, claim types) and returns its Session.
// A token whose session this adapter revoked is refused with ErrRevoked.
func (a *Authenticator) Verify(ctx context.Context, c authport.Credential) (*authport.Session, error) {
	if c.Token == "" {
		return nil, authport.NewError(authport.ErrNoCredential, Name, authport.OpVerify, "no token")
	}
	return a.v.Session(ctx, c.Token)
}

// Revocations implements authport.RevocationSharer: the deny list Verify
// consults, so that Config.Cluster can share this instance's revocations
// with the others'.
func (a *Authenticator) Revocations() authport.RevocationList { return a.v }

// Describe reports that WorkOS cannot verify strictly and that a revoked
// session's access token keeps verifying for up to TokenLifetime.
func (a *Authenticator) Describe() authport.Description {
	return authport.Description{
		RevocationDelay: a.cfg.TokenLifetime,
		Unsupported: map[authport.Capability]string{
			authport.CapStrictVerify: "WorkOS has no session-introspection endpoint: a revoked session's access token verifies until it expires (" +
				a.cfg.TokenLifetime.String() + "), while its refresh token fails at once",
		},
	}
}

func (a *Authenticator) now() time.Time { return a.cfg.Clock() }
