package diy

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"io"
	"net/url"
	"sort"
	"strings"
	"sync"

	"github.com/authport/authport"
)

// StoreOpener opens a Store from a URL (sqlite:auth.db, postgres://…).
type StoreOpener func(ctx context.Context, url string) (Store, error)

// SessionStoreOpener opens a SessionStore, and optionally a shared
// Limiter, from a URL (redis://…).
type SessionStoreOpener func(ctx context.Context, url string) (SessionStore, authport.Limiter, error)

var stores struct {
	mu       sync.RWMutex
	sql      map[string]StoreOpener
	sessions map[string]SessionStoreOpener
}

// RegisterStore makes a store available to OpenURL and the "diy"
// adapter's AUTHPORT_DB_URL under a URL scheme. Store packages call it
// from init (sqlitestore: "sqlite"; pgstore: "postgres", "postgresql"), so
// a binary links only the stores it imports. It panics on a duplicate.
func RegisterStore(scheme string, open StoreOpener) {
	stores.mu.Lock()
	defer stores.mu.Unlock()
	if stores.sql == nil {
		stores.sql = map[string]StoreOpener{}
	}
	if _, dup := stores.sql[scheme]; dup {
		panic("diy: RegisterStore called twice for " + scheme)
	}
	stores.sql[scheme] = open
}

// RegisterSessionStore is RegisterStore for session stores
// (AUTHPORT_REDIS_URL; redisstore registers "redis" and "rediss").
func RegisterSessionStore(scheme string, open SessionStoreOpener) {
	stores.mu.Lock()
	defer stores.mu.Unlock()
	if stores.sessions == nil {
		stores.sessions = map[string]SessionStoreOpener{}
	}
	if _, dup := stores.sessions[scheme]; dup {
		panic("diy: RegisterSessionStore called twice for " + scheme)
	}
	stores.sessions[scheme] = open
}

func scheme(raw string) string {
	s, _, ok := strings.Cut(raw, ":")
	if !ok {
		return ""
	}
	return strings.ToLower(s)
}

func schemes[T any](m map[string]T) string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	if len(out) == 0 {
		return "none: import a store package such as diy/sqlitestore"
	}
	return strings.Join(out, ", ")
}

// Settings are what OpenURL and the "diy" adapter read. Each field mirrors
// an environment variable.
type Settings struct {
	// DB is the store URL (AUTHPORT_DB_URL): "sqlite:auth.db",
	// "postgres://user@host/db". Required.
	DB string
	// Redis is an optional session-store URL (AUTHPORT_REDIS_URL).
	Redis string
	// Mode is "session" (default) or "jwt" (AUTHPORT_SESSION_MODE).
	Mode string
	// Issuer is the issuer name (AUTHPORT_ISSUER).
	Issuer string
	// SigningKeys are base64url Ed25519 seeds (32 bytes), comma-separated,
	// the signing key first (AUTHPORT_SIGNING_KEYS).
	SigningKeys string
}

// Open opens the stores named by s and returns a Backend that owns them
// (Close closes them). cfg supplies everything else (nil: defaults).
func Open(ctx context.Context, s Settings, cfg *Config) (*Backend, error) {
	bad := func(v, reason string) error {
		return misconfigured(v + " " + reason)
	}
	var c Config
	if cfg != nil {
		c = *cfg
	}
	if s.DB == "" {
		return nil, bad("AUTHPORT_DB_URL", "is required (sqlite:FILE or postgres://…)")
	}
	stores.mu.RLock()
	openSQL := stores.sql[scheme(s.DB)]
	openSess := stores.sessions[scheme(s.Redis)]
	sqlList, sessList := schemes(stores.sql), schemes(stores.sessions)
	stores.mu.RUnlock()
	if openSQL == nil {
		return nil, bad("AUTHPORT_DB_URL", "has a scheme no imported store handles (registered: "+sqlList+")")
	}
	if s.Redis != "" && openSess == nil {
		return nil, bad("AUTHPORT_REDIS_URL", "has a scheme no imported store handles (registered: "+sessList+")")
	}
	switch strings.ToLower(s.Mode) {
	case "", "session":
		c.SessionMode = ModeSession
	case "jwt":
		c.SessionMode = ModeJWT
	default:
		return nil, bad("AUTHPORT_SESSION_MODE", `must be "session" or "jwt"`)
	}
	if s.Issuer != "" {
		c.Issuer = s.Issuer
	}
	if s.SigningKeys != "" {
		c.SigningKeys = nil
		for _, k := range strings.Split(s.SigningKeys, ",") {
			seed, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(strings.TrimSpace(k), "="))
			if err != nil || len(seed) != ed25519.SeedSize {
				return nil, bad("AUTHPORT_SIGNING_KEYS", "must hold base64url Ed25519 seeds of 32 bytes")
			}
			c.SigningKeys = append(c.SigningKeys, SigningKey{PrivateKey: ed25519.NewKeyFromSeed(seed)})
		}
	}
	var closers []io.Closer
	closeAll := func() {
		for _, cl := range closers {
			cl.Close()
		}
	}
	st, err := openSQL(ctx, s.DB)
	if err != nil {
		return nil, &authport.Error{Kind: authport.ErrProviderUnavailable, Provider: provider, Op: "open", Reason: "cannot open AUTHPORT_DB_URL", Err: err}
	}
	c.Store = st
	if cl, ok := st.(io.Closer); ok {
		closers = append(closers, cl)
	}
	if openSess != nil {
		ss, lim, err := openSess(ctx, s.Redis)
		if err != nil {
			closeAll()
			return nil, &authport.Error{Kind: authport.ErrProviderUnavailable, Provider: provider, Op: "open", Reason: "cannot open AUTHPORT_REDIS_URL", Err: err}
		}
		c.Sessions = ss
		if c.Limiter == nil && lim != nil {
			c.Limiter = lim
		}
		if cl, ok := ss.(io.Closer); ok {
			closers = append(closers, cl)
		}
	}
	b, err := New(ctx, c)
	if err != nil {
		closeAll()
		return nil, err
	}
	b.closers = closers
	return b, nil
}

func init() {
	authport.Register(provider, func(ctx context.Context, u *url.URL) (authport.Authenticator, error) {
		q := u.Query()
		return Open(ctx, Settings{DB: q.Get("db"), Redis: q.Get("redis"), Mode: q.Get("mode"), Issuer: q.Get("issuer")}, nil)
	}, func(ctx context.Context, getenv func(string) string) (authport.Authenticator, error) {
		return Open(ctx, Settings{DB: getenv("AUTHPORT_DB_URL"), Redis: getenv("AUTHPORT_REDIS_URL"),
			Mode: getenv("AUTHPORT_SESSION_MODE"), Issuer: getenv("AUTHPORT_ISSUER"), SigningKeys: getenv("AUTHPORT_SIGNING_KEYS")}, nil)
	})
}
