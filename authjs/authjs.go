package authjs

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/authport/authport"
	"github.com/authport/authport/internal/jwtcore"
)

// Name is the adapter's registered name and Session.Provider.
const Name = "authjs"

// Strategy is Auth.js's session strategy.
type Strategy string

// The session strategies.
const (
	// StrategyJWT: the session is an encrypted JWT (a JWE) in the cookie,
	// checked offline with the shared secret. Auth.js's default without a
	// database adapter.
	StrategyJWT Strategy = "jwt"
	// StrategyDatabase: the cookie holds a session token that is looked
	// up in the application's database. Auth.js's default with an adapter.
	StrategyDatabase Strategy = "database"
)

// Defaults, as Auth.js has them.
const (
	// DefaultCookieName is the session cookie's name; on HTTPS sites
	// Auth.js prefixes it with "__Secure-".
	DefaultCookieName = "authjs.session-token"
	// SecurePrefix is the prefix of the cookie name on HTTPS sites.
	SecurePrefix = "__Secure-"
	// DefaultRolesClaim is the claim (JWT strategy) or users column
	// (database strategy) read as the user's role.
	DefaultRolesClaim = "role"
	// DefaultTokenLifetime is Auth.js's session maxAge (30 days): how long
	// a JWT session lasts, so the revocation delay of the JWT strategy.
	DefaultTokenLifetime = 30 * 24 * time.Hour
	// DefaultLeeway is the library's clockTolerance (15 s).
	DefaultLeeway = 15 * time.Second
	// MaxTokenSize bounds a credential (a joined chunked cookie or a
	// bearer token): 64 KiB, sixteen chunks of Auth.js's cookie size.
	MaxTokenSize = 64 << 10
)

// Config configures the adapter. Only Secrets is required for the JWT
// strategy; the database strategy needs Sessions instead (and no secret).
// Auth.js has no audience, issuer, HTTP API or token cache to configure:
// tokens carry no "aud" or "iss", nothing is fetched over HTTP, and
// decrypting a cookie costs about what a cache lookup would.
type Config struct {
	// Secrets are Auth.js's secrets, newest first, in the library's order:
	// AUTH_SECRET_3, AUTH_SECRET_2, AUTH_SECRET_1, AUTH_SECRET (those that
	// are set). A token naming a key id is decrypted with the secret whose
	// derived key has that id; a token without one with Secrets[0] only,
	// as the library does.
	Secrets []string
	// Strategy is the session strategy (default StrategyDatabase when
	// Sessions is set, else StrategyJWT).
	Strategy Strategy
	// Sessions looks database sessions up (required for
	// StrategyDatabase). authjspg provides the @auth/pg-adapter schema.
	Sessions SessionStore
	// CookieName is the session cookie's name without the "__Secure-"
	// prefix (default "authjs.session-token"; Auth.js's
	// cookies.sessionToken.name).
	CookieName string
	// Secure says the site is served over HTTPS (AUTH_URL is https://, or
	// useSecureCookies is set): only the "__Secure-" cookie is read, and
	// a bearer JWE without a key id is decrypted with the "__Secure-"
	// name as salt. Otherwise both cookie names are read, each with its
	// own salt.
	Secure bool
	// RolesClaim is the dotted claim path of the role an application adds
	// in its jwt callback (default "role"), or the users column holding it
	// in the database strategy. A string or a list of strings. "-" maps
	// no roles.
	RolesClaim string
	// TokenLifetime is the Auth.js session maxAge (default 30 days),
	// reported as the revocation delay of the JWT strategy.
	TokenLifetime time.Duration
	// Leeway is the clock-skew allowance on "exp" and "nbf" (default 15 s,
	// the library's).
	Leeway time.Duration
	// Clock returns the current time (default time.Now).
	Clock func() time.Time
}

// Authenticator verifies Auth.js sessions. It is safe for concurrent use.
type Authenticator struct {
	cfg      Config
	strategy Strategy
	// names are the accepted cookie names; defaultSalt salts a bearer JWE
	// without a key id.
	names       []string
	defaultSalt string
	// keys by kid; first holds, per salt and enc, the key of Secrets[0].
	keys  map[string]*key
	first map[[2]string]*key
}

// New checks cfg and derives the keys. A missing secret or store is
// ErrMisconfigured.
func New(ctx context.Context, cfg Config) (*Authenticator, error) {
	_ = ctx
	if cfg.CookieName == "" {
		cfg.CookieName = DefaultCookieName
	}
	if strings.HasPrefix(cfg.CookieName, SecurePrefix) || !validCookieName(cfg.CookieName) {
		return nil, misconfigured("CookieName must be a cookie name without the __Secure- prefix")
	}
	if cfg.RolesClaim == "" {
		cfg.RolesClaim = DefaultRolesClaim
	}
	if cfg.TokenLifetime == 0 {
		cfg.TokenLifetime = DefaultTokenLifetime
	}
	if cfg.Leeway == 0 {
		cfg.Leeway = DefaultLeeway
	}
	if cfg.TokenLifetime < 0 || cfg.Leeway < 0 {
		return nil, misconfigured("TokenLifetime and Leeway must not be negative")
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	a := &Authenticator{cfg: cfg, strategy: cfg.Strategy}
	if a.strategy == "" {
		a.strategy = StrategyJWT
		if cfg.Sessions != nil {
			a.strategy = StrategyDatabase
		}
	}
	secure := SecurePrefix + cfg.CookieName
	if cfg.Secure {
		a.names = []string{secure}
		a.defaultSalt = secure
	} else {
		a.names = []string{secure, cfg.CookieName}
		a.defaultSalt = cfg.CookieName
	}
	switch a.strategy {
	case StrategyDatabase:
		if cfg.Sessions == nil {
			return nil, misconfigured("the database strategy needs a session store (AUTHJS_DATABASE_URL)")
		}
	case StrategyJWT:
		if len(cfg.Secrets) == 0 {
			return nil, misconfigured("AUTH_SECRET is not set")
		}
		a.keys = map[string]*key{}
		a.first = map[[2]string]*key{}
		for i, s := range cfg.Secrets {
			if s == "" {
				return nil, misconfigured("a secret is empty")
			}
			for _, salt := range a.names {
				for _, enc := range []string{encCBC, encGCM} {
					k, err := newKey(s, salt, enc)
					if err != nil {
						return nil, misconfigured("deriving a key failed")
					}
					if _, dup := a.keys[k.kid]; !dup {
						a.keys[k.kid] = k
					}
					if i == 0 {
						a.first[[2]string{salt, enc}] = k
					}
				}
			}
		}
	default:
		return nil, misconfigured(`Strategy must be "jwt" or "database"`)
	}
	return a, nil
}

// Provider returns "authjs".
func (a *Authenticator) Provider() string { return Name }

// Strategy reports the session strategy in use.
func (a *Authenticator) Strategy() Strategy { return a.strategy }

// ProviderCookies names the session cookies the middleware reads: the
// "__Secure-" form and, unless Config.Secure, the plain one.
func (a *Authenticator) ProviderCookies() []string { return append([]string(nil), a.names...) }

// ChunkedCookies names the cookies Auth.js may split into name.0, name.1,
// … (a JWT session past 3936 bytes); the middleware joins exactly those.
func (a *Authenticator) ChunkedCookies() []string {
	if a.strategy != StrategyJWT {
		return nil
	}
	return append([]string(nil), a.names...)
}

// Verify checks an Auth.js session: a session cookie (Credential.Cookie
// names it, since the cookie name is part of the key derivation), or a
// bearer token, which getToken accepts URL-encoded. A bearer JWE may have
// been salted with either accepted cookie name: its key id says which.
func (a *Authenticator) Verify(ctx context.Context, c authport.Credential) (*authport.Session, error) {
	tok := c.Token
	if tok == "" {
		return nil, authport.ErrNoCredential
	}
	if len(tok) > MaxTokenSize {
		return nil, invalid("credential too large")
	}
	var salts []string
	switch {
	case c.Source == authport.SourceCookie && a.acceptsCookie(c.Cookie):
		salts = []string{c.Cookie}
	case c.Source == authport.SourceCookie && (c.Cookie == a.cfg.CookieName || c.Cookie == SecurePrefix+a.cfg.CookieName):
		return nil, invalid("the plain session cookie is not read on a secure site")
	default:
		// A bearer token, or a token held in another cookie (authport's
		// sealed one): any accepted cookie name may have salted it.
		if strings.IndexByte(tok, '%') >= 0 {
			u, err := url.PathUnescape(tok)
			if err != nil {
				return nil, invalid("malformed URL encoding")
			}
			tok = u
		}
		salts = a.names
	}
	if a.strategy == StrategyDatabase {
		return a.verifyDatabase(ctx, tok)
	}
	return a.verifyJWT(tok, salts)
}

func (a *Authenticator) acceptsCookie(name string) bool {
	for _, n := range a.names {
		if n == name {
			return true
		}
	}
	return false
}

// verifyJWT decrypts a JWT-strategy token whose key was derived with one
// of salts, and checks its times.
func (a *Authenticator) verifyJWT(tok string, salts []string) (*authport.Session, error) {
	j, err := parseJWE(tok)
	if err != nil {
		return nil, invalidErr(err)
	}
	var k *key
	if j.kid == "" {
		salt := a.defaultSalt
		if len(salts) == 1 {
			salt = salts[0]
		}
		k = a.first[[2]string{salt, j.enc}]
	} else if kk := a.keys[j.kid]; kk != nil && kk.enc == j.enc && contains(salts, kk.salt) {
		k = kk
	}
	if k == nil {
		return nil, invalid("no secret matches the token's key id")
	}
	pt, err := j.decrypt(k)
	if err != nil {
		return nil, invalidErr(err)
	}
	if !validUTF8(pt) {
		return nil, invalid("payload is not UTF-8")
	}
	claims, err := jwtcore.ParseObject(pt)
	if err != nil {
		return nil, invalid("payload is not a JSON object")
	}
	return a.sessionFromClaims(claims)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// verifyDatabase looks the session token up.
func (a *Authenticator) verifyDatabase(ctx context.Context, tok string) (*authport.Session, error) {
	if !validSessionToken(tok) {
		return nil, invalid("malformed session token")
	}
	s, err := a.cfg.Sessions.SessionAndUser(ctx, tok)
	if err != nil {
		return nil, unavailable("verify", err)
	}
	if s == nil {
		return nil, invalid("no such session")
	}
	if !a.cfg.Clock().Before(s.Expires) {
		return nil, expired("the session has expired")
	}
	return a.sessionFromDB(s), nil
}

// validSessionToken accepts what an Auth.js session token can be: the
// default is a UUID, and generateSessionToken may return any string that
// fits the adapter's varchar(255) and a cookie.
func validSessionToken(s string) bool {
	if len(s) == 0 || len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == '"' || c == ',' || c == ';' || c == '\\' {
			return false
		}
	}
	return true
}

// Describe states the adapter's limits: sign-in happens in the Auth.js
// application; a JWT session cannot be revoked before it expires.
func (a *Authenticator) Describe() authport.Description {
	const inJS = "sign-in happens in the Auth.js application"
	d := authport.Description{Unsupported: map[authport.Capability]string{
		authport.CapPasswordSignIn: inJS,
		authport.CapSignUp:         inJS,
		authport.CapRedirectSignIn: inJS,
		authport.CapRefresh:        "Auth.js renews its own session cookie; there is no refresh token",
		authport.CapStrictVerify:   "there is no session API to ask; the database strategy's Verify already reads the session row",
	}}
	if a.strategy == StrategyJWT {
		d.RevocationDelay = a.cfg.TokenLifetime
		d.Unsupported[authport.CapRevoke] = "a JWT session lives in the cookie only and ends at its expiry"
	}
	return d
}

func validCookieName(n string) bool {
	if n == "" {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?={}`, c) >= 0 {
			return false
		}
	}
	return true
}
