package auth0

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/auth0/go-jwt-middleware/v2/validator"
	"golang.org/x/oauth2"

	"github.com/authport/authport"
	"github.com/authport/authport/internal/config"
	"github.com/authport/authport/internal/httpclient"
	"github.com/authport/authport/internal/jwtcore"
	"github.com/authport/authport/internal/keyset"
)

// Name is the adapter's registered name and its Session.Provider.
const Name = "auth0"

// Defaults.
const (
	// DefaultRealm is the database connection Auth0 creates in every tenant,
	// used by the password-realm grant when Config.Realm is empty.
	DefaultRealm = "Username-Password-Authentication"
	// DefaultTokenLifetime is Auth0's default API token lifetime (the
	// API's "Token Expiration" setting), used as the revocation delay when
	// Config.TokenLifetime is zero.
	DefaultTokenLifetime = 24 * time.Hour
	// PasswordRealmGrant is the grant type of Auth0's password-realm
	// extension grant.
	PasswordRealmGrant = "http://auth0.com/oauth/grant-type/password-realm"
	// MFAOTPGrant is the grant type that redeems an mfa_token with the
	// code of the user's authenticator (ContinueSignIn).
	MFAOTPGrant = "http://auth0.com/oauth/grant-type/mfa-otp"
)

// DefaultScopes are requested at sign-in when Config.Scopes is empty:
// OpenID Connect identity plus a refresh token.
var DefaultScopes = []string{"openid", "profile", "email", "offline_access"}

// Config configures an Authenticator. Each field names the environment
// variable FromEnv reads it from, and the query parameter of an
// auth0://<domain>?… URL.
type Config struct {
	// Domain is the tenant's domain, "example.eu.auth0.com" or a custom
	// domain (an "https://" prefix and a trailing slash are tolerated).
	// Required. AUTH0_DOMAIN; the URL's host.
	Domain string
	// Audiences are the API identifiers this service accepts: an access
	// token's "aud" must contain one of them. The first is requested at
	// sign-in. Required. AUTH0_AUDIENCE (comma- or space-separated);
	// audience (repeatable or comma-separated).
	Audiences []string
	// ClientID and ClientSecret identify the Auth0 application; they
	// enable redirect and password sign-in, refresh and revocation.
	// ClientSecret may be empty for a public (native or single-page)
	// application. AUTH0_CLIENT_ID, AUTH0_CLIENT_SECRET; client_id,
	// client_secret.
	ClientID, ClientSecret string
	// CallbackURL is the redirect URI used when an AuthorizeRequest names
	// none. It must be listed in the application's Allowed Callback URLs.
	// AUTH0_CALLBACK_URL; callback_url.
	CallbackURL string
	// RolesClaim names the custom claim an Action fills with the user's
	// roles ("https://example.com/roles"). Empty: Session.Roles stays
	// empty. AUTH0_ROLES_CLAIM; roles_claim.
	RolesClaim string
	// EmailClaim names a custom claim carrying the email address (Auth0
	// access tokens have none unless an Action adds it); "email" is read
	// when it is empty. AUTH0_EMAIL_CLAIM; email_claim.
	EmailClaim string
	// AuthorizedParties, when set, requires the token's "azp" (or
	// "client_id" for the RFC 9068 profile) to be one of these client ids.
	// AUTH0_AUTHORIZED_PARTIES (comma-separated); authorized_party.
	AuthorizedParties []string
	// Realm is the connection the password-realm grant signs in to and
	// SignUp creates users in (default DefaultRealm). AUTH0_REALM; realm.
	Realm string
	// Scopes are requested at sign-in (default DefaultScopes).
	// AUTH0_SCOPES (comma- or space-separated); scope.
	Scopes []string
	// Issuer overrides the expected "iss", https://<Domain>/ by default.
	// Discovery at Domain must name the same issuer, so set JWKSURL too
	// when it does not (for a custom domain, set Domain to it instead).
	// AUTH0_ISSUER; issuer.
	Issuer string
	// Algorithms is the signature allow-list: RS256 (default) and/or
	// PS256. AUTH0_ALGORITHMS; algorithms.
	Algorithms []string
	// JWKSURL skips discovery and fetches keys from this URL (on the
	// tenant's host). AUTH0_JWKS_URL; jwks_url.
	JWKSURL string
	// TokenLifetime is the API's access-token lifetime, reported by
	// Describe as the revocation delay (default DefaultTokenLifetime).
	// AUTH0_TOKEN_LIFETIME (a Go duration); token_lifetime.
	TokenLifetime time.Duration
	// Leeway is the clock-skew allowance for exp, nbf and iat (default
	// 30 s, at most 5 min). AUTH0_LEEWAY; leeway.
	Leeway time.Duration
	// AllowSignUp enables SignUp (POST /dbconnections/signup). It is off
	// by default so that adding this adapter does not open a sign-up form
	// an application did not ask for. AUTH0_ALLOW_SIGNUP; allow_signup.
	AllowSignUp bool
	// Insecure talks plain HTTP to a loopback Domain (127.0.0.1:port,
	// localhost:port): the local emulator. Refused for any other host.
	// AUTH0_INSECURE; insecure.
	Insecure bool

	// HTTPClient makes every request to Auth0 (default: a client with a
	// 10 s timeout). Redirects to another host are refused.
	HTTPClient *http.Client
	// HTTPTimeout bounds each call to the provider (default: HTTPClient's
	// own Timeout when set, else 10 s).
	HTTPTimeout time.Duration
	// CustomClaims, if set, is called for every newly verified token; the
	// claims are decoded into the value it returns and its Validate is
	// called on every Verify and ValidateToken, exactly as
	// validator.WithCustomClaims does. A Validate error makes the token
	// invalid. The value becomes ValidatedClaims.CustomClaims.
	CustomClaims func() validator.CustomClaims
	// Clock is the time source (default time.Now).
	Clock func() time.Time
	// CacheSize bounds the verified-token cache (default 10000; negative
	// disables it).
	CacheSize int
	// Logger receives key-refresh failures (default slog.Default()).
	Logger *slog.Logger
}

// Authenticator is the Auth0 adapter. It is safe for concurrent use.
type Authenticator struct {
	cfg      Config
	base     string // scheme://domain
	issuer   string
	client   *http.Client
	keys     *keyset.Cache
	fetcher  *discoveryFetcher
	v        *jwtcore.Verifier
	oauth    oauth2.Config
	parties  []string
	insecure bool
}

var _ interface {
	authport.Authenticator
	authport.PasswordSignIn
	authport.SignUp
	authport.RedirectSignIn
	authport.Refresher
	authport.Revoker
	authport.LogoutRedirector
	authport.Describer
} = (*Authenticator)(nil)

func misconfigured(reason string) error {
	return authport.NewError(authport.ErrMisconfigured, Name, authport.OpConfigure, reason)
}

// New returns an Authenticator for cfg. It makes no network request:
// discovery and the key set are fetched on first use, so a service starts
// while Auth0 is unreachable (and fails closed until it is reachable). A
// missing or malformed setting is an error of kind ErrMisconfigured naming
// the environment variable.
func New(ctx context.Context, cfg Config) (*Authenticator, error) {
	_ = ctx // reserved: New does no I/O
	host, scheme, err := parseDomain(cfg.Domain, cfg.Insecure)
	if err != nil {
		return nil, err
	}
	cfg.Domain = host
	cfg.Audiences = fields(cfg.Audiences)
	if len(cfg.Audiences) == 0 {
		return nil, misconfigured("AUTH0_AUDIENCE is required: the identifier of your API in Auth0")
	}
	cfg.ClientID, cfg.ClientSecret = strings.TrimSpace(cfg.ClientID), strings.TrimSpace(cfg.ClientSecret)
	if cfg.ClientID != "" && slices.Contains(cfg.Audiences, cfg.ClientID) {
		return nil, misconfigured("AUTH0_AUDIENCE must be an API identifier, not the client id (ID tokens would pass as access tokens)")
	}
	if cfg.ClientSecret != "" && cfg.ClientID == "" {
		return nil, misconfigured("AUTH0_CLIENT_SECRET is set without AUTH0_CLIENT_ID")
	}
	cfg.AuthorizedParties = fields(cfg.AuthorizedParties)
	cfg.Scopes = fields(cfg.Scopes)
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = slices.Clone(DefaultScopes)
	}
	if cfg.Realm = strings.TrimSpace(cfg.Realm); cfg.Realm == "" {
		cfg.Realm = DefaultRealm
	}
	if cfg.TokenLifetime < 0 {
		return nil, misconfigured("AUTH0_TOKEN_LIFETIME must not be negative")
	}
	if cfg.TokenLifetime == 0 {
		cfg.TokenLifetime = DefaultTokenLifetime
	}
	if cfg.Leeway < 0 || cfg.Leeway > jwtcore.MaxLeeway {
		return nil, misconfigured("AUTH0_LEEWAY must be between 0 and 5m")
	}
	cfg.Algorithms = fields(cfg.Algorithms)
	if len(cfg.Algorithms) == 0 {
		cfg.Algorithms = []string{"RS256"}
	}
	for _, alg := range cfg.Algorithms {
		if alg != "RS256" && alg != "PS256" {
			return nil, misconfigured("AUTH0_ALGORITHMS may list RS256 and PS256 only (Auth0's asymmetric signing algorithms)")
		}
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.CallbackURL != "" {
		if u, err := url.Parse(cfg.CallbackURL); err != nil || !u.IsAbs() || u.Host == "" {
			return nil, misconfigured("AUTH0_CALLBACK_URL must be an absolute URL")
		}
	}

	a := &Authenticator{cfg: cfg, base: scheme + "://" + host, insecure: scheme == "http", parties: cfg.AuthorizedParties}
	a.issuer = a.base + "/"
	if cfg.Issuer != "" {
		iu, err := url.Parse(cfg.Issuer)
		if err != nil || iu.Host == "" || !strings.HasSuffix(iu.Path, "/") || iu.RawQuery != "" ||
			!(iu.Scheme == "https" || iu.Scheme == "http" && a.insecure && config.IsLoopbackHost(iu.Hostname())) {
			return nil, misconfigured("AUTH0_ISSUER must be an https URL ending in a slash, as Auth0 issuers do")
		}
		a.issuer = cfg.Issuer
	}

	a.client = httpclient.New(cfg.HTTPClient, cfg.HTTPTimeout)

	jwksURL := ""
	if cfg.JWKSURL != "" {
		ju, err := url.Parse(cfg.JWKSURL)
		if err != nil || ju.Host != host || ju.Scheme != scheme {
			return nil, misconfigured("AUTH0_JWKS_URL must be a URL on the tenant's domain")
		}
		jwksURL = cfg.JWKSURL
	}
	a.fetcher = &discoveryFetcher{a: a, jwksURL: jwksURL}
	a.keys = keyset.NewCache(a.fetcher, keyset.CacheOptions{Clock: cfg.Clock, Logger: cfg.Logger, Provider: Name})
	a.v, err = jwtcore.New(jwtcore.Options{
		Provider: Name, Leeway: cfg.Leeway, Clock: cfg.Clock, CacheSize: cfg.CacheSize, ToSession: a.toSession,
	}, jwtcore.Policy{
		Issuer: a.issuer, Audiences: cfg.Audiences, Algorithms: cfg.Algorithms,
		Types: []string{"JWT", "at+jwt"}, Keys: a.keys,
	})
	if err != nil {
		return nil, misconfigured(err.Error())
	}
	a.oauth = oauth2.Config{
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		Endpoint: oauth2.Endpoint{
			AuthURL:   a.base + "/authorize",
			TokenURL:  a.base + "/oauth/token",
			AuthStyle: oauth2.AuthStyleInParams, // Auth0's default "Post" method; no probing
		},
		Scopes: cfg.Scopes,
	}
	return a, nil
}

// parseDomain accepts "tenant.auth0.com", "https://tenant.auth0.com/",
// and, with insecure, "127.0.0.1:8080" or "http://localhost:8080".
func parseDomain(d string, insecure bool) (host, scheme string, err error) {
	d = strings.TrimSpace(d)
	if d == "" {
		return "", "", misconfigured("AUTH0_DOMAIN is required: your tenant's domain, such as example.eu.auth0.com")
	}
	scheme = "https"
	switch {
	case strings.HasPrefix(d, "https://"):
		d = d[len("https://"):]
	case strings.HasPrefix(d, "http://"):
		d, scheme = d[len("http://"):], "http"
	case strings.Contains(d, "://"):
		return "", "", misconfigured("AUTH0_DOMAIN must be a domain name such as example.eu.auth0.com")
	}
	if insecure {
		scheme = "http"
	}
	d = strings.TrimSuffix(d, "/")
	u, perr := url.Parse("x://" + d)
	if perr != nil || u.Host != d || u.Hostname() == "" || u.User != nil || strings.ContainsAny(d, "/?#@ ") {
		return "", "", misconfigured("AUTH0_DOMAIN must be a domain name such as example.eu.auth0.com")
	}
	if scheme == "http" && !config.IsLoopbackHost(u.Hostname()) {
		return "", "", misconfigured("AUTH0_INSECURE (plain HTTP) is allowed only for a loopback AUTH0_DOMAIN such as 127.0.0.1:8080")
	}
	return strings.ToLower(d), scheme, nil
}

// fields splits each element on commas and white space and drops empty
// words, so both []string{"a,b"} and []string{"a", "b"} give [a b].
func fields(in []string) []string {
	var out []string
	for _, s := range in {
		for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }) {
			if !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
	}
	return out
}

// Provider implements authport.Authenticator; it returns "auth0".
func (a *Authenticator) Provider() string { return Name }

// Issuer returns the issuer tokens must carry, https://<domain>/.
func (a *Authenticator) Issuer() string { return a.issuer }

// KeyFetches reports how many times the key set has been fetched.
func (a *Authenticator) KeyFetches() int64 { return a.keys.Fetches() }

// Verify checks an Auth0 access token offline (signature against the
// tenant's key set, issuer, audience, authorized party, expiry) and maps
// its claims to a Session. Tokens verified before are served from a cache
// until they expire.
func (a *Authenticator) Verify(ctx context.Context, c authport.Credential) (*authport.Session, error) {
	if c.Token == "" {
		return nil, authport.NewError(authport.ErrNoCredential, Name, authport.OpVerify, "no token")
	}
	s, err := a.v.Session(ctx, c.Token)
	if err != nil {
		return nil, err
	}
	if a.cfg.CustomClaims != nil {
		if err := a.validateCustom(ctx, s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (a *Authenticator) validateCustom(ctx context.Context, s *authport.Session) error {
	vc, ok := s.Native.(*validator.ValidatedClaims)
	if !ok || vc.CustomClaims == nil {
		return authport.NewError(authport.ErrInvalidCredential, Name, authport.OpVerify, "custom claims missing")
	}
	if err := vc.CustomClaims.Validate(ctx); err != nil {
		return &authport.Error{Kind: authport.ErrInvalidCredential, Provider: Name, Op: authport.OpVerify, Reason: "custom claims not validated", Err: err}
	}
	return nil
}

// Revocations implements authport.RevocationSharer: the deny list Verify
// consults, so that Config.Cluster can share this instance's revocations
// with the others'.
func (a *Authenticator) Revocations() authport.RevocationList { return a.v }

// Describe reports that Auth0 access tokens cannot be checked for
// revocation (no strict verification) and stay valid for the API's token
// lifetime after a sign-out, and which capabilities the configuration
// leaves out.
func (a *Authenticator) Describe() authport.Description {
	d := authport.Description{
		RevocationDelay: a.cfg.TokenLifetime,
		Unsupported: map[authport.Capability]string{
			authport.CapStrictVerify: "Auth0 access tokens are self-contained JWTs: Auth0 offers no introspection or session check for them, so a revoked session's token verifies until it expires",
		},
	}
	if a.cfg.ClientID == "" {
		const why = "AUTH0_CLIENT_ID is not set"
		for _, c := range []authport.Capability{authport.CapPasswordSignIn, authport.CapSignUp, authport.CapRedirectSignIn, authport.CapRefresh, authport.CapRevoke, authport.CapLogoutRedirect, authport.CapContinue} {
			d.Unsupported[c] = why
		}
	}
	if !a.cfg.AllowSignUp {
		if _, set := d.Unsupported[authport.CapSignUp]; !set {
			d.Unsupported[authport.CapSignUp] = "sign-up is disabled (set AUTH0_ALLOW_SIGNUP=true to enable it)"
		}
	}
	return d
}
