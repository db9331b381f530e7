package clerk

import (
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/authport/authport"
	"github.com/authport/authport/internal/config"
	"github.com/authport/authport/internal/httpclient"
	"github.com/authport/authport/internal/jwtcore"
	"github.com/authport/authport/internal/keyset"
	clerksdk "github.com/clerk/clerk-sdk-go/v2"
	"github.com/clerk/clerk-sdk-go/v2/jwks"
	"github.com/clerk/clerk-sdk-go/v2/session"
)

// Name is the adapter's registered name and the Provider of its sessions.
const Name = "clerk"

// SessionCookie is the cookie Clerk's frontend sets on the application's
// origin; the middleware reads it (see [Authenticator.ProviderCookies]).
const SessionCookie = "__session"

// HandshakeParam is the query parameter that carries Clerk's handshake
// token back to the application after a hosted sign-in (see
// [Authenticator.Exchange]).
const HandshakeParam = "__clerk_handshake"

// Defaults.
const (
	// DefaultLeeway is the clock-skew allowance: Clerk's own backend SDKs
	// allow 5 s, and Clerk session tokens live only 60 s.
	DefaultLeeway = 5 * time.Second
	// DefaultTokenLifetime is Clerk's default session-token lifetime.
	DefaultTokenLifetime = 60 * time.Second
)

// Config configures an Authenticator. Each field names the environment
// variable FromEnv reads it from.
type Config struct {
	// SecretKey is the instance's Backend API secret key, sk_test_… or
	// sk_live_… (CLERK_SECRET_KEY). It is needed to fetch the verification
	// keys from the Backend API (unless JWTKey is set), for strict
	// verification and for revocation.
	SecretKey string
	// PublishableKey is pk_test_… or pk_live_… (CLERK_PUBLISHABLE_KEY). It
	// encodes the instance's Frontend API host, which is the issuer of
	// every session token ("https://<host>") and the base of the hosted
	// Account Portal. Required unless ProxyURL is set.
	PublishableKey string
	// JWTKey is the instance's PEM public key from the dashboard ("JWT
	// public key", with or without the BEGIN/END lines) for networkless
	// verification (CLERK_JWT_KEY). When set, the key set is not fetched.
	JWTKey string
	// AuthorizedParties, when set, requires every token's "azp" (the
	// origin the frontend requested it from) to be one of them
	// (CLERK_AUTHORIZED_PARTIES, comma-separated). Strongly recommended
	// for cookie-based apps.
	AuthorizedParties []string
	// ProxyURL is the URL of a proxy in front of the Frontend API
	// (CLERK_PROXY_URL); tokens then carry it as their issuer.
	ProxyURL string
	// APIURL is the Backend API base URL including /v1 (CLERK_API_URL,
	// default https://api.clerk.com/v1). Point it at clerktest.Server.APIURL
	// to test offline.
	APIURL string
	// SignInURL is the hosted sign-in page RedirectSignIn sends browsers
	// to (CLERK_SIGN_IN_URL). The default is the instance's Account
	// Portal: https://<slug>.accounts.dev/sign-in for development
	// instances, https://accounts.<domain>/sign-in for production ones.
	SignInURL string
	// SignUpURL is the hosted sign-up page used for a "sign-up" screen
	// hint (CLERK_SIGN_UP_URL; default SignInURL with /sign-up).
	SignUpURL string
	// RolesClaim and PermissionsClaim name custom session-token claims
	// (dotted paths, e.g. "metadata.roles" for Clerk's documented
	// "metadata": "{{user.public_metadata}}" customization) whose values
	// are added to Session.Roles and Session.Permissions after the
	// organisation role and permissions (CLERK_ROLES_CLAIM,
	// CLERK_PERMISSIONS_CLAIM). Empty: none.
	RolesClaim, PermissionsClaim string
	// TokenLifetime is the instance's session-token lifetime (default
	// 60 s, Clerk's default); it bounds how long a revoked session's
	// tokens keep verifying.
	TokenLifetime time.Duration
	// Leeway is the clock-skew allowance for exp, nbf and iat (default
	// 5 s, at most 5 min).
	Leeway time.Duration
	// CacheSize bounds the verified-token cache (default 10000; negative
	// disables it).
	CacheSize int
	// HTTPClient makes every Backend API call; a copy is used, with a 10 s
	// timeout when it sets none and no redirect to another host.
	HTTPClient *http.Client
	// HTTPTimeout bounds each call to the provider (default: HTTPClient's
	// own Timeout when set, else 10 s).
	HTTPTimeout time.Duration
	// Clock is the time source (default time.Now).
	Clock func() time.Time
	// Logger receives key-refresh failures (default slog.Default()).
	Logger *slog.Logger
}

// Authenticator is the Clerk adapter. It is safe for concurrent use.
type Authenticator struct {
	cfg      Config
	issuer   string
	signIn   string // hosted sign-in page, "" if unknown
	signUp   string
	keys     keyset.Source
	cache    *keyset.Cache // nil with a JWT key
	verifier *jwtcore.Verifier
	sessions *session.Client // nil without a secret key
	jwks     *jwks.Client    // nil without a secret key
}

var _ interface {
	authport.Authenticator
	authport.RedirectSignIn
	authport.Revoker
	authport.StrictVerifier
	authport.CookieReader
	authport.Describer
} = (*Authenticator)(nil)

func misconfigured(reason string) error {
	return authport.NewError(authport.ErrMisconfigured, Name, authport.OpConfigure, reason)
}

// New returns an Authenticator for cfg. It makes no network call: the key
// set is fetched on first use (so a cold start does not depend on Clerk).
// A missing or malformed setting is an error of kind ErrMisconfigured
// naming its environment variable.
func New(_ context.Context, cfg Config) (*Authenticator, error) {
	a := &Authenticator{}
	cfg.SecretKey = strings.TrimSpace(cfg.SecretKey)
	cfg.PublishableKey = strings.TrimSpace(cfg.PublishableKey)
	cfg.JWTKey = strings.TrimSpace(cfg.JWTKey)
	if cfg.SecretKey != "" && !strings.HasPrefix(cfg.SecretKey, "sk_test_") && !strings.HasPrefix(cfg.SecretKey, "sk_live_") {
		return nil, misconfigured("CLERK_SECRET_KEY must start with sk_test_ or sk_live_")
	}
	if cfg.SecretKey == "" && cfg.JWTKey == "" {
		return nil, misconfigured("CLERK_SECRET_KEY is required (or CLERK_JWT_KEY for networkless verification)")
	}

	var fapi string // Frontend API host from the publishable key
	if cfg.PublishableKey != "" {
		host, err := ParsePublishableKey(cfg.PublishableKey)
		if err != nil {
			return nil, misconfigured("CLERK_PUBLISHABLE_KEY is malformed: " + err.Error())
		}
		fapi = host
	}
	switch {
	case cfg.ProxyURL != "":
		u, err := url.Parse(cfg.ProxyURL)
		if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" ||
			!(u.Scheme == "https" || u.Scheme == "http" && config.IsLoopbackHost(u.Hostname())) {
			return nil, misconfigured("CLERK_PROXY_URL must be an https URL")
		}
		a.issuer = cfg.ProxyURL
	case fapi != "":
		a.issuer = "https://" + fapi
	default:
		return nil, misconfigured("CLERK_PUBLISHABLE_KEY is required (it names the Frontend API, the issuer of session tokens)")
	}

	if cfg.APIURL == "" {
		cfg.APIURL = clerksdk.APIURL
	}
	if err := checkURL(cfg.APIURL); err != nil {
		return nil, misconfigured("CLERK_API_URL " + err.Error())
	}
	cfg.APIURL = strings.TrimSuffix(cfg.APIURL, "/")
	cfg.SignInURL = strings.TrimSpace(cfg.SignInURL)
	if cfg.SignInURL == "" {
		cfg.SignInURL = accountPortal(fapi)
	}
	if cfg.SignInURL != "" {
		if err := checkURL(cfg.SignInURL); err != nil {
			return nil, misconfigured("CLERK_SIGN_IN_URL " + err.Error())
		}
	}
	if cfg.SignUpURL == "" && cfg.SignInURL != "" {
		if base, ok := strings.CutSuffix(cfg.SignInURL, "/sign-in"); ok {
			cfg.SignUpURL = base + "/sign-up"
		} else {
			cfg.SignUpURL = cfg.SignInURL
		}
	}
	if cfg.SignUpURL != "" {
		if err := checkURL(cfg.SignUpURL); err != nil {
			return nil, misconfigured("CLERK_SIGN_UP_URL " + err.Error())
		}
	}
	a.signIn, a.signUp = cfg.SignInURL, cfg.SignUpURL

	var parties []string
	for _, p := range cfg.AuthorizedParties {
		if p = strings.TrimSpace(p); p != "" {
			parties = append(parties, p)
		}
	}
	cfg.AuthorizedParties = parties
	if cfg.TokenLifetime <= 0 {
		cfg.TokenLifetime = DefaultTokenLifetime
	}
	if cfg.Leeway == 0 {
		cfg.Leeway = DefaultLeeway
	}
	if cfg.Leeway < 0 || cfg.Leeway > jwtcore.MaxLeeway {
		return nil, misconfigured("Leeway must be between 0 and 5 minutes")
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.HTTPClient = httpclient.New(cfg.HTTPClient, cfg.HTTPTimeout)
	cfg.RolesClaim, cfg.PermissionsClaim = strings.TrimSpace(cfg.RolesClaim), strings.TrimSpace(cfg.PermissionsClaim)
	a.cfg = cfg

	if cfg.SecretKey != "" {
		cc := &clerksdk.ClientConfig{BackendConfig: clerksdk.BackendConfig{
			HTTPClient: cfg.HTTPClient,
			URL:        clerksdk.String(cfg.APIURL),
			Key:        clerksdk.String(cfg.SecretKey),
		}}
		a.sessions = session.NewClient(cc)
		a.jwks = jwks.NewClient(cc)
	}
	if cfg.JWTKey != "" {
		k, err := parseJWTKey(cfg.JWTKey)
		if err != nil {
			return nil, misconfigured("CLERK_JWT_KEY is not a usable public key: " + err.Error())
		}
		a.keys = k
	} else {
		a.cache = keyset.NewCache(keyset.FetcherFunc(a.fetchKeys), keyset.CacheOptions{
			Clock: cfg.Clock, Logger: cfg.Logger, Provider: Name,
		})
		a.keys = a.cache
	}
	v, err := jwtcore.New(jwtcore.Options{
		Provider: Name, Leeway: cfg.Leeway, Clock: cfg.Clock, CacheSize: cfg.CacheSize, ToSession: a.toSession,
	}, jwtcore.Policy{
		Issuer: a.issuer, AuthorizedParties: cfg.AuthorizedParties, Algorithms: []string{"RS256"},
		Types: []string{"JWT"}, Keys: a.keys,
	})
	if err != nil {
		return nil, misconfigured(err.Error())
	}
	a.verifier = v
	return a, nil
}

// ParsePublishableKey returns the Frontend API host a publishable key
// encodes: pk_test_ or pk_live_ followed by the base64 of "<host>$".
func ParsePublishableKey(pk string) (string, error) {
	rest, ok := strings.CutPrefix(pk, "pk_test_")
	if !ok {
		if rest, ok = strings.CutPrefix(pk, "pk_live_"); !ok {
			return "", errors.New("want pk_test_ or pk_live_ followed by base64")
		}
	}
	raw, err := base64.StdEncoding.DecodeString(rest)
	if err != nil {
		raw, err = base64.RawStdEncoding.DecodeString(rest)
	}
	if err != nil {
		return "", errors.New("not base64")
	}
	host, ok := strings.CutSuffix(string(raw), "$")
	if !ok || !validHost(host) {
		return "", errors.New("does not encode a Frontend API host")
	}
	return host, nil
}

// PublishableKey encodes a Frontend API host as a publishable key, the
// inverse of ParsePublishableKey (live selects pk_live_).
func PublishableKey(host string, live bool) string {
	p := "pk_test_"
	if live {
		p = "pk_live_"
	}
	return p + base64.StdEncoding.EncodeToString([]byte(host+"$"))
}

func validHost(h string) bool {
	if h == "" || len(h) > 253 || strings.HasPrefix(h, ".") || strings.HasSuffix(h, ".") {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}

// accountPortal derives the hosted sign-in page from the Frontend API host:
// <slug>.clerk.accounts.dev → https://<slug>.accounts.dev/sign-in (development
// instances), clerk.<domain> → https://accounts.<domain>/sign-in
// (production). Anything else has no known Account Portal.
func accountPortal(fapi string) string {
	if slug, ok := strings.CutSuffix(fapi, ".clerk.accounts.dev"); ok && slug != "" {
		return "https://" + slug + ".accounts.dev/sign-in"
	}
	if domain, ok := strings.CutPrefix(fapi, "clerk."); ok && strings.Contains(domain, ".") {
		return "https://accounts." + domain + "/sign-in"
	}
	return ""
}

func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.Fragment != "" {
		return errors.New("must be an absolute URL")
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && config.IsLoopbackHost(u.Hostname())) {
		return errors.New("must be an https URL (http only on a loopback host)")
	}
	return nil
}

// parseJWTKey reads the dashboard's PEM public key, which Clerk also shows
// as a single base64 line without the BEGIN/END lines.
func parseJWTKey(s string) (keyset.Source, error) {
	if !strings.HasPrefix(s, "-----BEGIN") {
		s = "-----BEGIN PUBLIC KEY-----\n" + s + "\n-----END PUBLIC KEY-----\n"
	}
	pub, err := keyset.ParsePublicKeyPEM([]byte(s))
	if err != nil {
		return nil, err
	}
	k := keyset.Key{Algorithm: "RS256", Public: pub}
	if err := keyset.CheckKey(k); err != nil {
		return nil, err
	}
	return pinnedKey{k}, nil
}

// pinnedKey is the instance's one key from CLERK_JWT_KEY. A Clerk token's
// kid is the instance id, which the PEM does not carry, so the key serves
// whatever kid the token names (as the SDK's JSONWebKey option does); the
// signature still has to verify with it, and a kid is still required.
type pinnedKey struct{ k keyset.Key }

// Lookup implements keyset.Source.
func (p pinnedKey) Lookup(_ context.Context, _ string, alg string) (keyset.Key, error) {
	if alg != p.k.Algorithm {
		return keyset.Key{}, &authport.Error{Kind: authport.ErrInvalidCredential, Op: authport.OpVerify, Reason: "no trusted key for this token"}
	}
	return p.k, nil
}

// fetchKeys loads the key set through the SDK's jwks client (GET /v1/jwks
// with the secret key) and parses it with authport's key policy.
func (a *Authenticator) fetchKeys(ctx context.Context) ([]keyset.Key, time.Duration, error) {
	set, err := a.jwks.Get(ctx, &jwks.GetParams{})
	if err != nil {
		err = a.apiError(authport.OpVerify, err)
		if authport.KindOf(err) == authport.ErrRevoked { // 404: not a Backend API
			err = authport.NewError(authport.ErrMisconfigured, Name, authport.OpVerify, "GET /v1/jwks answered 404 (is CLERK_API_URL right?)")
		}
		return nil, 0, err
	}
	if set == nil || set.Response == nil {
		return nil, 0, errors.New("clerk: empty key set response")
	}
	keys, skipped, err := keyset.ParseJWKS(set.Response.RawJSON)
	for _, s := range skipped {
		a.cfg.Logger.Warn("authport: key skipped", "provider", Name, "reason", s.Error())
	}
	if err != nil {
		return nil, 0, err
	}
	return keys, 0, nil
}

// Provider implements authport.Authenticator.
func (a *Authenticator) Provider() string { return Name }

// Issuer returns the issuer every token must carry.
func (a *Authenticator) Issuer() string { return a.issuer }

// KeyFetches reports how many times the key set has been fetched from the
// Backend API (0 with a JWT key).
func (a *Authenticator) KeyFetches() int64 {
	if a.cache == nil {
		return 0
	}
	return a.cache.Fetches()
}

// ProviderCookies implements authport.CookieReader: the middleware reads
// the "__session" cookie Clerk's frontend sets on the application's origin.
func (a *Authenticator) ProviderCookies() []string { return []string{SessionCookie} }

// Verify checks a Clerk session token offline: RS256 signature against the
// instance's key, the exact issuer, "azp" against AuthorizedParties,
// expiry with the configured leeway. Verified tokens are cached until they
// expire; a session revoked through this Authenticator is refused at once.
func (a *Authenticator) Verify(ctx context.Context, c authport.Credential) (*authport.Session, error) {
	if c.Token == "" {
		return nil, authport.NewError(authport.ErrNoCredential, Name, authport.OpVerify, "no token")
	}
	return a.verifier.Session(ctx, c.Token)
}

// Revocations implements authport.RevocationSharer: the deny list Verify
// consults, so that Config.Cluster can share this instance's revocations
// with the others'.
func (a *Authenticator) Revocations() authport.RevocationList { return a.verifier }

// Describe implements authport.Describer.
func (a *Authenticator) Describe() authport.Description {
	d := authport.Description{
		RevocationDelay: a.cfg.TokenLifetime + a.cfg.Leeway,
		Unsupported: map[authport.Capability]string{
			authport.CapPasswordSignIn: "Clerk signs users in on its own frontend (hosted pages or Clerk's components); the Backend API has no password sign-in",
			authport.CapSignUp:         "Clerk signs users up on its own frontend; use RedirectSignIn with ScreenHint \"sign-up\"",
			authport.CapRefresh:        "Clerk issues no refresh token: its frontend renews the 60 s session token itself, or the browser returns through the hosted sign-in page",
			authport.CapLogoutRedirect: "Clerk has no logout page to redirect to: the browser's Clerk session is the session Revoke ends (the Account Portal then asks for a password again), so signing out needs no round trip through Clerk",
		},
	}
	if a.sessions == nil {
		d.Unsupported[authport.CapRevoke] = "no secret key is configured (CLERK_SECRET_KEY)"
		d.Unsupported[authport.CapStrictVerify] = "no secret key is configured (CLERK_SECRET_KEY)"
	}
	if a.signIn == "" {
		d.Unsupported[authport.CapRedirectSignIn] = "the hosted sign-in page is unknown for this Frontend API host; set CLERK_SIGN_IN_URL"
	}
	return d
}

func (a *Authenticator) unsupported(c authport.Capability, op string) error {
	if why, ok := a.Describe().Unsupported[c]; ok {
		return authport.NewError(authport.ErrUnsupported, Name, op, why)
	}
	return nil
}
