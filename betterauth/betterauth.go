package betterauth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
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
)

// Name is the adapter's registered name and Session.Provider.
const Name = "betterauth"

// Defaults, as the library sets them.
const (
	// DefaultCookiePrefix is the library's cookie prefix (advanced.cookiePrefix).
	DefaultCookiePrefix = "better-auth"
	// SecurePrefix is added to cookie names when the library runs on https
	// (or with advanced.useSecureCookies).
	SecurePrefix = "__Secure-"
	// DefaultBasePath is where the library's handler is mounted.
	DefaultBasePath = "/api/auth"
	// DefaultTokenLifetime is the JWT plugin's token lifetime (jwt.expirationTime "15m").
	DefaultTokenLifetime = 15 * time.Minute
	// DefaultCookieCacheMaxAge is session.cookieCache.maxAge (5 minutes).
	DefaultCookieCacheMaxAge = 5 * time.Minute
	// DefaultCookieCacheVersion is session.cookieCache.version.
	DefaultCookieCacheVersion = "1"
	// DefaultRemoteCacheTTL is how long a get-session answer is reused in
	// remote mode.
	DefaultRemoteCacheTTL = 5 * time.Second
	// DefaultHTTPTimeout bounds one call to the Better Auth server.
	DefaultHTTPTimeout = 10 * time.Second
	// maxCookieLen bounds a session cookie or bearer value before any work.
	maxCookieLen = 4096
	// maxJWTLen bounds a JWT plugin token: the plugin puts the whole user
	// object (with any additional fields) in it.
	maxJWTLen = 16 << 10
)

// JWTAlgorithms are the JWT plugin's signing algorithms the adapter accepts
// by default: every one the plugin can be configured with.
var JWTAlgorithms = []string{"EdDSA", "ES256", "ES512", "RS256", "PS256"}

// CookieCache is the library's session.cookieCache.strategy.
type CookieCache string

// The cookie-cache strategies.
const (
	// CookieCacheOff (the zero value) ignores the session_data cookie:
	// every session is looked up, so revocation is immediate.
	CookieCacheOff CookieCache = ""
	// CookieCacheCompact is the library's default strategy: base64url JSON
	// signed with HMAC-SHA256.
	CookieCacheCompact CookieCache = "compact"
	// CookieCacheJWT is an HS256 JWT signed with the secret.
	CookieCacheJWT CookieCache = "jwt"
	// CookieCacheJWE is a dir/A256CBC-HS512 JWE under a key derived from
	// the secret.
	CookieCacheJWE CookieCache = "jwe"
)

// Config configures the adapter. Its fields mirror the variables
// ConfigFromEnv reads. A session cookie is checked with Secret and looked up
// in DB; without DB, it is checked by asking the Better Auth server at
// BaseURL (remote mode). JWT plugin tokens need only BaseURL (or JWKSURL).
type Config struct {
	// Secret is the library's current secret: the first of BETTER_AUTH_SECRETS,
	// else BETTER_AUTH_SECRET, else AUTH_SECRET. Session cookies and bearer
	// tokens are signed with it.
	Secret string
	// Secrets are older secrets (BETTER_AUTH_SECRETS after the first), tried
	// only where the library tries them too: the jwe cookie cache. Session
	// cookies signed with an older secret are refused, as by the library.
	Secrets []string

	// DB is the application's database, the one the library writes its
	// session and user tables to. Open it with a database/sql driver
	// (import betterauth/pgdb for PostgreSQL through pgx).
	DB *sql.DB
	// Dialect is DB's SQL dialect (default DialectPostgres).
	Dialect Dialect
	// Schema names the library's tables and columns when the application
	// renamed them (session.modelName, user.fields, ...).
	Schema Schema

	// BaseURL is the Better Auth server's base URL (BETTER_AUTH_URL), such as
	// https://app.example.com. The JWT plugin's issuer and audience default
	// to its origin; the JWKS and get-session are under BaseURL+BasePath.
	BaseURL string
	// BasePath is where the library's handler is mounted (default /api/auth).
	BasePath string

	// CookiePrefix is advanced.cookiePrefix (default "better-auth").
	CookiePrefix string
	// CookieName overrides the session cookie's name
	// (advanced.cookies.session_token.name); default <prefix>.session_token.
	// The __Secure- form of the name is always read too.
	CookieName string
	// AllowUnsignedBearer accepts a bearer plugin token without its
	// signature, as the plugin does unless requireSignature is set. Off by
	// default: an unsigned token is only as secret as the database.
	AllowUnsignedBearer bool

	// CookieCache is the session.cookieCache strategy the application
	// enabled; off by default. When set, a valid session_data cookie is
	// trusted without a lookup until it expires, exactly when the library
	// trusts it, so a revoked session keeps verifying for up to
	// CookieCacheMaxAge.
	CookieCache CookieCache
	// CookieCacheMaxAge is session.cookieCache.maxAge (default 5 minutes).
	CookieCacheMaxAge time.Duration
	// CookieCacheVersion is session.cookieCache.version (default "1").
	CookieCacheVersion string

	// JWT accepts the JWT plugin's tokens as bearer tokens, verified offline
	// against the JWKS.
	JWT bool
	// JWKSURL is the JWT plugin's key set (default BaseURL+BasePath+"/jwks").
	JWKSURL string
	// Issuer is the JWT plugin's "iss" (default the origin of BaseURL, or
	// jwt.issuer).
	Issuer string
	// Audiences are accepted "aud" values (default the origin of BaseURL).
	Audiences []string
	// Algorithms restricts the accepted JWT algorithms (default JWTAlgorithms).
	Algorithms []string
	// TokenLifetime is the JWT plugin's jwt.expirationTime (default 15
	// minutes), reported as the revocation delay of JWT-authenticated
	// requests.
	TokenLifetime time.Duration
	// RolesClaim is the user field (and JWT claim) holding the admin
	// plugin's role, a comma-separated list (default "role"; "-" maps none).
	RolesClaim string
	// AllowBanned accepts sessions of users the admin plugin banned. By
	// default they are refused as revoked until banExpires.
	AllowBanned bool

	// RemoteCacheTTL is how long remote mode reuses a get-session answer
	// (default 5 s; negative disables).
	RemoteCacheTTL time.Duration

	// Leeway is the clock-skew allowance for JWT plugin tokens (default 30 s).
	Leeway time.Duration
	// CacheSize bounds the verified-token cache of JWT plugin tokens and of
	// remote mode (default 10000; negative disables).
	CacheSize int
	// HTTPClient carries the JWKS and get-session calls.
	HTTPClient *http.Client
	// HTTPTimeout bounds one call to the Better Auth server (default 10 s).
	HTTPTimeout time.Duration
	// Clock returns the current time (default time.Now).
	Clock func() time.Time
	// Logger receives key-refresh failures (default slog.Default()).
	Logger *slog.Logger
}

// Authenticator is the Better Auth adapter. It is safe for concurrent use.
type Authenticator struct {
	cfg        Config
	cookies    []string // session cookie names, __Secure- form first
	dataCookie []string // session_data cookie names, __Secure- form first
	base       string   // BaseURL+BasePath, "" without BaseURL
	origin     string
	issuer     string
	jwt        *jwtcore.Verifier
	jwks       *keyset.Cache
	store      *store
	remote     *remote
	hc         *http.Client
	cacheKeys  [][]byte // secrets the cookie cache may be signed or sealed with
	jweKeys    []jweKey
}

var (
	_ authport.Authenticator  = (*Authenticator)(nil)
	_ authport.Revoker        = (*Authenticator)(nil)
	_ authport.StrictVerifier = (*Authenticator)(nil)
	_ authport.CookieReader   = (*Authenticator)(nil)
	_ authport.Describer      = (*Authenticator)(nil)
)

func misconfigured(reason string) error {
	return authport.NewError(authport.ErrMisconfigured, Name, authport.OpConfigure, reason)
}

// New validates cfg and returns the adapter. It contacts neither the
// database nor the server: the schema is probed on the first lookup and
// keys are fetched on the first JWT.
func New(ctx context.Context, cfg Config) (*Authenticator, error) {
	_ = ctx
	a := &Authenticator{cfg: cfg}
	c := &a.cfg
	if c.Dialect == "" {
		c.Dialect = DialectPostgres
	}
	if c.Dialect != DialectPostgres && c.Dialect != DialectSQLite {
		return nil, misconfigured("unknown SQL dialect")
	}
	if c.BasePath == "" {
		c.BasePath = DefaultBasePath
	}
	if !strings.HasPrefix(c.BasePath, "/") || strings.ContainsAny(c.BasePath, "?#") {
		return nil, misconfigured("BasePath must be a path starting with /")
	}
	if c.BaseURL != "" {
		u, err := url.Parse(strings.TrimSpace(c.BaseURL))
		if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return nil, misconfigured(EnvURL + " is malformed (want https://host)")
		}
		switch u.Scheme {
		case "https":
		case "http":
			if !config.IsLoopbackHost(u.Hostname()) {
				return nil, misconfigured(EnvURL + " must use https (plain http only for a loopback host)")
			}
		default:
			return nil, misconfigured(EnvURL + " is malformed (want https://host)")
		}
		a.origin = u.Scheme + "://" + u.Host
		a.base = strings.TrimRight(a.origin+u.EscapedPath(), "/")
		if !strings.HasSuffix(a.base, c.BasePath) {
			a.base += strings.TrimRight(c.BasePath, "/")
		}
	}
	if c.DB == nil && a.base == "" && !c.JWT {
		return nil, misconfigured("neither a database (" + EnvDatabaseURL + ") nor " + EnvURL + " is set")
	}
	if c.DB != nil && c.Secret == "" {
		return nil, misconfigured(EnvSecret + " is not set (the session cookie's signing secret)")
	}
	if c.CookiePrefix == "" {
		c.CookiePrefix = DefaultCookiePrefix
	}
	if c.CookieName == "" {
		c.CookieName = c.CookiePrefix + ".session_token"
	}
	c.CookieName = strings.TrimPrefix(c.CookieName, SecurePrefix)
	if !validCookieName(c.CookieName) || !validCookieName(c.CookiePrefix) {
		return nil, misconfigured("the cookie name or prefix is not a valid cookie name")
	}
	a.cookies = []string{SecurePrefix + c.CookieName, c.CookieName}
	a.dataCookie = []string{SecurePrefix + c.CookiePrefix + ".session_data", c.CookiePrefix + ".session_data"}
	switch c.CookieCache {
	case CookieCacheOff, CookieCacheCompact, CookieCacheJWT, CookieCacheJWE:
	default:
		return nil, misconfigured(EnvCookieCache + ` must be "compact", "jwt" or "jwe"`)
	}
	if c.CookieCacheMaxAge <= 0 {
		c.CookieCacheMaxAge = DefaultCookieCacheMaxAge
	}
	if c.CookieCacheVersion == "" {
		c.CookieCacheVersion = DefaultCookieCacheVersion
	}
	if c.TokenLifetime <= 0 {
		c.TokenLifetime = DefaultTokenLifetime
	}
	if c.RolesClaim == "" {
		c.RolesClaim = "role"
	}
	if c.RemoteCacheTTL == 0 {
		c.RemoteCacheTTL = DefaultRemoteCacheTTL
	}
	if c.HTTPTimeout <= 0 {
		c.HTTPTimeout = DefaultHTTPTimeout
		if c.HTTPClient != nil && c.HTTPClient.Timeout > 0 {
			c.HTTPTimeout = c.HTTPClient.Timeout
		}
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	a.hc = httpclient.New(c.HTTPClient, c.HTTPTimeout)
	for _, s := range append([]string{c.Secret}, c.Secrets...) {
		if s != "" {
			a.cacheKeys = append(a.cacheKeys, []byte(s))
		}
	}
	if c.CookieCache != CookieCacheOff && len(a.cacheKeys) == 0 {
		return nil, misconfigured(EnvSecret + " is required to check the cookie cache")
	}
	if c.CookieCache == CookieCacheJWE {
		a.jweKeys = deriveJWEKeys(a.cacheKeys)
	}
	if c.DB != nil {
		st, err := newStore(c.DB, c.Dialect, c.Schema)
		if err != nil {
			return nil, err
		}
		a.store = st
	} else if a.base != "" {
		a.remote = newRemote(a)
	}
	if c.JWT {
		if err := a.initJWT(); err != nil {
			return nil, err
		}
	}
	return a, nil
}

func validCookieName(n string) bool {
	if n == "" || len(n) > 200 {
		return false
	}
	for i := 0; i < len(n); i++ {
		b := n[i]
		if b <= ' ' || b >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?={}`, b) >= 0 {
			return false
		}
	}
	return true
}

func (a *Authenticator) initJWT() error {
	c := &a.cfg
	jwksURL := c.JWKSURL
	if jwksURL == "" {
		if a.base == "" {
			return misconfigured(EnvURL + " or the JWKS URL is required for JWT plugin tokens")
		}
		jwksURL = a.base + "/jwks"
	}
	a.issuer = c.Issuer
	if a.issuer == "" {
		a.issuer = a.origin
	}
	if a.issuer == "" {
		return misconfigured("the JWT issuer is unknown: set " + EnvURL)
	}
	auds := c.Audiences
	if len(auds) == 0 {
		if a.origin == "" {
			return misconfigured("the JWT audience is unknown: set " + EnvURL)
		}
		auds = []string{a.origin}
	}
	algs := c.Algorithms
	if len(algs) == 0 {
		algs = JWTAlgorithms
	}
	f := keyset.NewHTTPFetcher(jwksURL, keyset.FormatJWKS, a.hc)
	a.jwks = keyset.NewCache(f, keyset.CacheOptions{Clock: c.Clock, Logger: c.Logger, Provider: Name})
	v, err := jwtcore.New(jwtcore.Options{
		Provider:     Name,
		MaxTokenSize: maxJWTLen,
		Leeway:       c.Leeway,
		Clock:        c.Clock,
		CacheSize:    c.CacheSize,
		ToSession:    a.jwtSession,
	}, jwtcore.Policy{
		Issuer:     a.issuer,
		Audiences:  auds,
		Algorithms: algs,
		Keys:       a.jwks,
	})
	if err != nil {
		return misconfigured("verifier: " + err.Error())
	}
	a.jwt = v
	return nil
}

// Provider returns "betterauth".
func (a *Authenticator) Provider() string { return Name }

// Config returns the configuration with defaults applied.
func (a *Authenticator) Config() Config { return a.cfg }

// ProviderCookies implements authport.CookieReader: the session cookie the
// library sets, in its __Secure- and plain forms.
func (a *Authenticator) ProviderCookies() []string { return append([]string(nil), a.cookies...) }

// KeyFetches counts the JWKS fetches made so far (0 without JWT).
func (a *Authenticator) KeyFetches() int64 {
	if a.jwks == nil {
		return 0
	}
	return a.jwks.Fetches()
}

// Verify checks a credential:
//
//   - a JWT plugin token (three dot-separated parts, with Config.JWT) is
//     verified offline against the JWKS;
//   - a session cookie or a bearer plugin token ("token.signature",
//     possibly URL-encoded) has its HMAC-SHA256 signature checked with the
//     secret, then the session is looked up in the database joined to its
//     user (or, without a database, asked of the server), so a signed-out,
//     revoked or expired session is refused at once. With a cookie cache
//     configured, a valid session_data cookie on the request (see
//     RequestCookies) stands in for the lookup until it expires.
func (a *Authenticator) Verify(ctx context.Context, c authport.Credential) (*authport.Session, error) {
	if c.Token == "" {
		return nil, authport.NewError(authport.ErrNoCredential, Name, authport.OpVerify, "no token")
	}
	if len(c.Token) > maxJWTLen {
		return nil, invalid(authport.OpVerify, "credential too large")
	}
	if strings.Count(c.Token, ".") == 2 {
		if a.jwt == nil {
			return nil, invalid(authport.OpVerify, "JWT plugin tokens are not accepted (enable Config.JWT)")
		}
		return a.jwt.Session(ctx, c.Token)
	}
	tok, err := a.checkSigned(c)
	if err != nil {
		return nil, err
	}
	if s, ok := a.fromCookieCache(ctx, tok); ok {
		return s, nil
	}
	return a.lookup(ctx, tok)
}

// VerifyStrict is Verify without the cookie cache: a session cookie or
// bearer token is always looked up, so a revoked session is refused at
// once. A JWT plugin token carries no session id; with a database it is
// refused when its user is deleted or banned, or no longer has a live
// session that existed when the token was issued (signed out, revoked or
// expired since). Another session of the same user that predates the token
// keeps it valid: the token cannot say which one minted it.
func (a *Authenticator) VerifyStrict(ctx context.Context, c authport.Credential) (*authport.Session, error) {
	if c.Token == "" {
		return nil, authport.NewError(authport.ErrNoCredential, Name, authport.OpVerify, "no token")
	}
	if len(c.Token) > maxJWTLen {
		return nil, invalid(authport.OpVerify, "credential too large")
	}
	if strings.Count(c.Token, ".") == 2 {
		s, err := a.Verify(ctx, c)
		if err != nil || a.store == nil {
			return s, err
		}
		if err := a.store.checkUser(ctx, a, s.UserID); err != nil {
			return nil, err
		}
		live, err := a.store.liveSessionAt(ctx, a, s.UserID, s.IssuedAt)
		if err != nil {
			return nil, err
		}
		if !live {
			return nil, authport.NewError(authport.ErrRevoked, Name, authport.OpVerify, "no session that issued the token is left")
		}
		return s, nil
	}
	tok, err := a.checkSigned(c)
	if err != nil {
		return nil, err
	}
	if a.remote != nil {
		return a.remote.session(ctx, tok, c, false)
	}
	return a.lookup(ctx, tok)
}

func (a *Authenticator) lookup(ctx context.Context, tok signedToken) (*authport.Session, error) {
	if a.store != nil {
		return a.store.session(ctx, a, tok.token)
	}
	if a.remote != nil {
		return a.remote.session(ctx, tok, authport.Credential{}, true)
	}
	return nil, invalid(authport.OpVerify, "session tokens are not accepted without a database or "+EnvURL)
}

// signedToken is a session token whose signature checked out.
type signedToken struct {
	token string // the raw session token (the session table's token)
	value string // token.signature, as the library signs it
}

// checkSigned URL-decodes the cookie or bearer value, splits it at the last
// '.', and checks the HMAC-SHA256 signature with the current secret.
func (a *Authenticator) checkSigned(c authport.Credential) (signedToken, error) {
	v := c.Token
	if len(v) > maxCookieLen {
		return signedToken{}, invalid(authport.OpVerify, "session token too large")
	}
	if strings.IndexByte(v, '%') >= 0 {
		d, err := url.PathUnescape(v)
		if err != nil {
			return signedToken{}, invalid(authport.OpVerify, "malformed session token")
		}
		v = d
	}
	if v == "" || !printable(v) {
		return signedToken{}, invalid(authport.OpVerify, "malformed session token")
	}
	i := strings.LastIndexByte(v, '.')
	if i < 0 {
		if c.Source == authport.SourceHeader && a.cfg.AllowUnsignedBearer {
			return signedToken{token: v, value: v + "." + a.sign(v)}, nil
		}
		return signedToken{}, invalid(authport.OpVerify, "session token is not signed")
	}
	tok, sig := v[:i], v[i+1:]
	if tok == "" || len(sig) != 44 || sig[43] != '=' {
		return signedToken{}, invalid(authport.OpVerify, "malformed session token signature")
	}
	if a.cfg.Secret == "" {
		if a.remote != nil {
			// Remote mode without the secret: the server checks it.
			return signedToken{token: tok, value: v}, nil
		}
		return signedToken{}, invalid(authport.OpVerify, "no secret to check session tokens")
	}
	want := a.sign(tok)
	if subtle.ConstantTimeCompare([]byte(sig), []byte(want)) != 1 {
		return signedToken{}, invalid(authport.OpVerify, "session token signature does not verify")
	}
	return signedToken{token: tok, value: v}, nil
}

// sign is the library's cookie signature: base64(HMAC-SHA256(secret, value)).
func (a *Authenticator) sign(value string) string {
	m := hmac.New(sha256.New, []byte(a.cfg.Secret))
	m.Write([]byte(value))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// Describe reports the revocation delay (zero for database lookups; the
// cookie cache's max age when one is configured; the JWT lifetime when JWT
// plugin tokens are accepted; the remote cache's TTL in remote mode) and
// the capabilities the adapter lacks: sign-in happens in the JavaScript
// application.
func (a *Authenticator) Describe() authport.Description {
	var delay time.Duration
	if a.cfg.CookieCache != CookieCacheOff {
		delay = max(delay, a.cfg.CookieCacheMaxAge)
	}
	if a.jwt != nil {
		delay = max(delay, a.cfg.TokenLifetime)
	}
	if a.remote != nil && a.cfg.RemoteCacheTTL > 0 {
		delay = max(delay, a.cfg.RemoteCacheTTL)
	}
	const js = "users sign in through the Better Auth server of the JavaScript application; the Go API only verifies its sessions"
	d := authport.Description{RevocationDelay: delay, Unsupported: map[authport.Capability]string{
		authport.CapPasswordSignIn: js,
		authport.CapSignUp:         js,
		authport.CapRedirectSignIn: js,
		authport.CapRefresh:        "Better Auth sessions are refreshed by the library itself (session.updateAge); the Go API holds no refresh token",
		authport.CapLogoutRedirect: "Better Auth keeps no browser session besides its session cookie, which Revoke ends",
		authport.CapContinue:       js,
	}}
	if a.store == nil && a.remote == nil {
		d.Unsupported[authport.CapRevoke] = "JWT plugin tokens carry no session id and no database is configured"
		d.Unsupported[authport.CapStrictVerify] = "no database or Better Auth server is configured to ask"
	}
	return d
}
