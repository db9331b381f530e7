package betterauth

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/authport/authport"
	"github.com/authport/authport/internal/config"
)

// The environment variables ConfigFromEnv reads. The first five are the
// library's own names (and the usual DATABASE_URL); the AUTHPORT_BETTERAUTH_*
// ones are authport's.
const (
	EnvSecret            = "BETTER_AUTH_SECRET"
	EnvSecrets           = "BETTER_AUTH_SECRETS" // "2:new,1:old", current first
	EnvAuthSecret        = "AUTH_SECRET"         // read when the two above are unset
	EnvURL               = "BETTER_AUTH_URL"
	EnvDatabaseURL       = "DATABASE_URL"
	EnvAuthportDatabase  = "AUTHPORT_BETTERAUTH_DATABASE_URL" // read before DATABASE_URL
	EnvCookiePrefix      = "AUTHPORT_BETTERAUTH_COOKIE_PREFIX"
	EnvCookieName        = "AUTHPORT_BETTERAUTH_COOKIE_NAME"
	EnvCookieCache       = "AUTHPORT_BETTERAUTH_COOKIE_CACHE"         // compact, jwt, jwe
	EnvCookieCacheMaxAge = "AUTHPORT_BETTERAUTH_COOKIE_CACHE_MAX_AGE" // a Go duration or seconds
	EnvJWT               = "AUTHPORT_BETTERAUTH_JWT"                  // "true": accept JWT plugin tokens
	EnvJWKSURL           = "AUTHPORT_BETTERAUTH_JWKS_URL"
	EnvAudience          = "AUTHPORT_BETTERAUTH_AUDIENCE"
	EnvIssuer            = "AUTHPORT_BETTERAUTH_ISSUER"
	EnvRolesClaim        = "AUTHPORT_BETTERAUTH_ROLES_CLAIM"
	EnvTokenLifetime     = "AUTHPORT_BETTERAUTH_TOKEN_LIFETIME"
)

// DBOpener opens the application's database from a URL; betterauth/pgdb
// registers one for postgres:// URLs.
type DBOpener func(ctx context.Context, url string) (*sql.DB, Dialect, error)

var databases struct {
	mu sync.RWMutex
	m  map[string]DBOpener
}

// RegisterDatabase makes a database driver available to ConfigFromEnv and
// OpenURL for URLs with the given scheme. Database packages call it from
// init, so the engine is linked only when imported. It panics if scheme is
// registered twice.
func RegisterDatabase(scheme string, open DBOpener) {
	databases.mu.Lock()
	defer databases.mu.Unlock()
	if databases.m == nil {
		databases.m = map[string]DBOpener{}
	}
	if _, dup := databases.m[scheme]; dup {
		panic("betterauth: RegisterDatabase called twice for " + scheme)
	}
	databases.m[scheme] = open
}

func openDB(ctx context.Context, raw, name string) (*sql.DB, Dialect, error) {
	scheme, _, ok := strings.Cut(raw, ":")
	if !ok {
		return nil, "", misconfigured(name + " is not a URL")
	}
	databases.mu.RLock()
	open := databases.m[strings.ToLower(scheme)]
	databases.mu.RUnlock()
	if open == nil {
		return nil, "", misconfigured(name + " names a database with no driver linked: import github.com/authport/authport/betterauth/pgdb for PostgreSQL")
	}
	db, d, err := open(ctx, raw)
	if err != nil {
		var ae *authport.Error
		if errors.As(err, &ae) {
			return nil, "", err
		}
		return nil, "", misconfigured(name + " cannot be opened")
	}
	return db, d, nil
}

// ParseSecrets reads BETTER_AUTH_SECRETS ("<version>:<secret>,...", the
// current secret first) as the library does, returning the secrets in that
// order.
func ParseSecrets(v string) ([]string, error) {
	var out []string
	for entry := range strings.SplitSeq(v, ",") {
		entry = strings.TrimSpace(entry)
		ver, val, ok := strings.Cut(entry, ":")
		if !ok {
			return nil, misconfigured(EnvSecrets + ` entries must be "<version>:<secret>"`)
		}
		if n, err := strconv.Atoi(ver); err != nil || n < 0 {
			return nil, misconfigured(EnvSecrets + " has a version that is not a non-negative integer")
		}
		if val = strings.TrimSpace(val); val == "" {
			return nil, misconfigured(EnvSecrets + " has an empty secret")
		}
		out = append(out, val)
	}
	return out, nil
}

// ConfigFromEnv reads the configuration from the library's variables
// (BETTER_AUTH_SECRETS, BETTER_AUTH_SECRET, AUTH_SECRET, BETTER_AUTH_URL),
// DATABASE_URL (or AUTHPORT_BETTERAUTH_DATABASE_URL) and the
// AUTHPORT_BETTERAUTH_* settings, through getenv. The database is opened
// with the driver registered for its scheme.
func ConfigFromEnv(ctx context.Context, getenv func(string) string) (Config, error) {
	get := func(n string) string { return strings.TrimSpace(getenv(n)) }
	var c Config
	if v := get(EnvSecrets); v != "" {
		s, err := ParseSecrets(v)
		if err != nil {
			return c, err
		}
		c.Secret, c.Secrets = s[0], s[1:]
		if legacy := firstOf(get, EnvSecret, EnvAuthSecret); legacy != "" {
			c.Secrets = append(c.Secrets, legacy)
		}
	} else {
		c.Secret = firstOf(get, EnvSecret, EnvAuthSecret)
	}
	c.BaseURL = get(EnvURL)
	c.CookiePrefix = get(EnvCookiePrefix)
	c.CookieName = get(EnvCookieName)
	c.CookieCache = CookieCache(strings.ToLower(get(EnvCookieCache)))
	c.JWKSURL = get(EnvJWKSURL)
	c.Issuer = get(EnvIssuer)
	c.RolesClaim = get(EnvRolesClaim)
	if v := get(EnvAudience); v != "" {
		c.Audiences = strings.Fields(strings.ReplaceAll(v, ",", " "))
	}
	if v := get(EnvJWT); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return c, misconfigured(EnvJWT + ` must be "true" or "false"`)
		}
		c.JWT = b
	}
	var err error
	if c.CookieCacheMaxAge, err = duration(get(EnvCookieCacheMaxAge), EnvCookieCacheMaxAge); err != nil {
		return c, err
	}
	if c.TokenLifetime, err = duration(get(EnvTokenLifetime), EnvTokenLifetime); err != nil {
		return c, err
	}
	name := EnvAuthportDatabase
	raw := get(name)
	if raw == "" {
		name, raw = EnvDatabaseURL, get(EnvDatabaseURL)
	}
	if raw != "" {
		if c.DB, c.Dialect, err = openDB(ctx, raw, name); err != nil {
			return c, err
		}
	}
	return c, nil
}

func firstOf(get func(string) string, names ...string) string {
	for _, n := range names {
		if v := get(n); v != "" {
			return v
		}
	}
	return ""
}

// duration reads a Go duration ("5m") or a number of seconds, as the
// library's maxAge options are.
func duration(v, name string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, misconfigured(name + " is not a positive duration")
	}
	return d, nil
}

func init() {
	authport.Register(Name, openURL, openEnv)
}

func openEnv(ctx context.Context, getenv func(string) string) (authport.Authenticator, error) {
	c, err := ConfigFromEnv(ctx, getenv)
	if err != nil {
		return nil, err
	}
	return New(ctx, c)
}

// urlParams are the query parameters OpenURL understands.
var urlParams = []string{"secret", "secrets", "database_url", "cookie_prefix", "cookie_name", "cookie_cache",
	"cookie_cache_max_age", "jwt", "jwks_url", "audience", "issuer", "roles_claim", "token_lifetime", "base_path"}

// openURL opens "betterauth://app.example.com?secret=...&database_url=...":
// the host (and path) become BETTER_AUTH_URL over https, or http for a
// loopback host.
func openURL(ctx context.Context, u *url.URL) (authport.Authenticator, error) {
	q := u.Query()
	for k := range q {
		if !slices.Contains(urlParams, k) {
			return nil, misconfigured("adapter URL has an unknown parameter")
		}
	}
	env := map[string]string{
		EnvSecret: q.Get("secret"), EnvSecrets: q.Get("secrets"), EnvAuthportDatabase: q.Get("database_url"),
		EnvCookiePrefix: q.Get("cookie_prefix"), EnvCookieName: q.Get("cookie_name"), EnvCookieCache: q.Get("cookie_cache"),
		EnvCookieCacheMaxAge: q.Get("cookie_cache_max_age"), EnvJWT: q.Get("jwt"), EnvJWKSURL: q.Get("jwks_url"),
		EnvAudience: strings.Join(q["audience"], ","), EnvIssuer: q.Get("issuer"), EnvRolesClaim: q.Get("roles_claim"),
		EnvTokenLifetime: q.Get("token_lifetime"),
	}
	if u.Host != "" {
		scheme := "https://"
		if config.IsLoopbackHost(u.Hostname()) {
			scheme = "http://"
		}
		env[EnvURL] = scheme + u.Host
	}
	c, err := ConfigFromEnv(ctx, func(n string) string { return env[n] })
	if err != nil {
		return nil, err
	}
	if bp := q.Get("base_path"); bp != "" {
		c.BasePath = bp
	} else if p := strings.TrimRight(u.EscapedPath(), "/"); p != "" {
		c.BasePath = p
	}
	return New(ctx, c)
}
