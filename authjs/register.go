package authjs

import (
	"context"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/authport/authport"
)

func init() {
	authport.Register(Name, openURL, openEnv)
}

// The environment variables ConfigFromEnv reads. AUTH_SECRET, its rotation
// forms and AUTH_URL are Auth.js's own; the AUTHJS_* ones are authport's.
const (
	EnvSecret        = "AUTH_SECRET"
	EnvSecret1       = "AUTH_SECRET_1"
	EnvSecret2       = "AUTH_SECRET_2"
	EnvSecret3       = "AUTH_SECRET_3"
	EnvURL           = "AUTH_URL"
	EnvStrategy      = "AUTHJS_SESSION_STRATEGY"
	EnvDatabaseURL   = "AUTHJS_DATABASE_URL"
	EnvCookieName    = "AUTHJS_COOKIE_NAME"
	EnvSecureCookies = "AUTHJS_SECURE_COOKIES"
	EnvRolesClaim    = "AUTHJS_ROLES_CLAIM"
	EnvSessionMaxAge = "AUTHJS_SESSION_MAX_AGE"
)

// StoreOpener opens a SessionStore from a database URL. The returned
// close function releases it.
type StoreOpener func(ctx context.Context, dbURL string, cfg Config) (SessionStore, func(), error)

var (
	storesMu sync.RWMutex
	stores   = map[string]StoreOpener{}
)

// RegisterStore makes a SessionStore available to ConfigFromEnv and
// OpenURL for database URLs of scheme ("postgres", "postgresql").
// authjspg registers itself when imported, so that this package does not
// link a database driver.
func RegisterStore(scheme string, open StoreOpener) {
	storesMu.Lock()
	defer storesMu.Unlock()
	stores[scheme] = open
}

// ConfigFromEnv reads a Config from the environment variables above through
// getenv (os.Getenv when nil): the secrets in Auth.js's order (AUTH_SECRET_3,
// _2, _1, AUTH_SECRET), Secure when AUTH_URL is https:// or
// AUTHJS_SECURE_COOKIES is true. The database strategy's store is opened by
// openEnv, not here. A malformed value is an ErrMisconfigured error naming
// the variable, never quoting it.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	get := func(k string) string { return strings.TrimSpace(getenv(k)) }
	var cfg Config
	for _, k := range []string{EnvSecret3, EnvSecret2, EnvSecret1, EnvSecret} {
		if v := getenv(k); v != "" {
			cfg.Secrets = append(cfg.Secrets, v)
		}
	}
	cfg.CookieName = get(EnvCookieName)
	cfg.RolesClaim = get(EnvRolesClaim)
	switch s := Strategy(get(EnvStrategy)); s {
	case "", StrategyJWT, StrategyDatabase:
		cfg.Strategy = s
	default:
		return Config{}, misconfigured(EnvStrategy + ` must be "jwt" or "database"`)
	}
	if v := get(EnvURL); v != "" {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			return Config{}, misconfigured(EnvURL + " must be an http(s) URL")
		}
		cfg.Secure = u.Scheme == "https"
	}
	switch strings.ToLower(get(EnvSecureCookies)) {
	case "":
	case "true", "1":
		cfg.Secure = true
	case "false", "0":
		cfg.Secure = false
	default:
		return Config{}, misconfigured(EnvSecureCookies + " must be true or false")
	}
	if v := get(EnvSessionMaxAge); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return Config{}, misconfigured(EnvSessionMaxAge + " must be a duration such as 720h")
		}
		cfg.TokenLifetime = d
	}
	if cfg.Strategy != StrategyDatabase && len(cfg.Secrets) == 0 {
		return Config{}, misconfigured(EnvSecret + " is not set")
	}
	return cfg, nil
}

func openEnv(ctx context.Context, getenv func(string) string) (authport.Authenticator, error) {
	cfg, err := ConfigFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	if getenv == nil {
		getenv = os.Getenv
	}
	return openWithStore(ctx, cfg, strings.TrimSpace(getenv(EnvDatabaseURL)), EnvDatabaseURL)
}

// openWithStore opens the session store named by dbURL for the database
// strategy, then the adapter.
func openWithStore(ctx context.Context, cfg Config, dbURL, what string) (authport.Authenticator, error) {
	if cfg.Strategy == StrategyDatabase {
		if dbURL == "" {
			return nil, misconfigured(what + " is not set (the database strategy reads sessions from the database)")
		}
		u, err := url.Parse(dbURL)
		if err != nil {
			return nil, misconfigured(what + " is not a URL")
		}
		storesMu.RLock()
		open := stores[u.Scheme]
		storesMu.RUnlock()
		if open == nil {
			return nil, misconfigured(what + ": no session store for scheme " + u.Scheme + " (import github.com/authport/authport/authjs/authjspg)")
		}
		s, _, err := open(ctx, dbURL, cfg)
		if err != nil {
			return nil, err
		}
		cfg.Sessions = s
	}
	return New(ctx, cfg)
}

// openURL configures the adapter from
// authjs://?strategy=database&database_url=postgres%3A%2F%2F…&cookie_name=…&secure=true&roles_claim=role&session_max_age=720h.
// The secrets are never put in a URL (URLs end up in logs): they are read
// from AUTH_SECRET and its rotation forms.
func openURL(ctx context.Context, u *url.URL) (authport.Authenticator, error) {
	if u.Host != "" || u.User != nil || u.Fragment != "" || (u.Path != "" && u.Path != "/") {
		return nil, misconfigured("the URL must be authjs://?strategy=…")
	}
	q := u.Query()
	known := map[string]string{"strategy": EnvStrategy, "database_url": EnvDatabaseURL, "cookie_name": EnvCookieName,
		"secure": EnvSecureCookies, "roles_claim": EnvRolesClaim, "session_max_age": EnvSessionMaxAge}
	for k := range q {
		if known[k] == "" {
			return nil, misconfigured("unknown URL parameter " + k)
		}
	}
	getenv := func(k string) string {
		for p, env := range known {
			if env == k {
				return q.Get(p)
			}
		}
		switch k {
		case EnvSecret, EnvSecret1, EnvSecret2, EnvSecret3:
			return os.Getenv(k)
		}
		return ""
	}
	cfg, err := ConfigFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	return openWithStore(ctx, cfg, q.Get("database_url"), "database_url")
}
