// Package diytest runs a DIY backend on a real store for tests, and wires
// it to authport's conformance and equivalence suites. It is to DIY what
// the emulator packages (clerktest, auth0test, …) are to hosted providers:
// DIY is its own provider, so the "emulator" is the backend itself on a
// fresh SQLite file, a fresh PostgreSQL database, or PostgreSQL with
// sessions and counters in Redis (the servers scripts/services.sh starts;
// without them a test is skipped, or fails under CI=true).
package diytest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authport/authport"
	"github.com/authport/authport/conformance"
	"github.com/authport/authport/diy"
	"github.com/authport/authport/diy/pgstore"
	"github.com/authport/authport/diy/redisstore"
	"github.com/authport/authport/diy/sqlitestore"
	"github.com/authport/authport/internal/dbtest"
	"github.com/authport/authport/internal/jwtcore"
)

// Stores are the store set-ups a Server can run on.
var Stores = []string{"sqlite", "postgres", "postgres+redis"}

// Options choose the store and session mode.
type Options struct {
	// Store is "sqlite" (default), "postgres" or "postgres+redis".
	Store string
	// Mode is the session mode (default diy.ModeSession).
	Mode diy.SessionMode
	// Config, if set, adjusts the backend's configuration.
	Config func(*diy.Config)
}

// Server is a DIY backend on a fresh store, closed when the test ends.
type Server struct {
	// Backend is the backend under test.
	Backend *diy.Backend
	name    string
	priv    ed25519.PrivateKey
}

const (
	issuer = "https://diy.test"
	keyID  = "conformance-key"
)

// fastHash keeps tests quick; the real parameters are exercised by diy's
// own tests and benchmarks.
var fastHash = diy.HashParams{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// New starts a backend as o describes.
func New(t testing.TB, o Options) *Server {
	t.Helper()
	if o.Store == "" {
		o.Store = "sqlite"
	}
	store, sessions, limiter := OpenStores(t, o.Store)
	_, priv, _ := ed25519.GenerateKey(nil)
	cfg := diy.Config{
		Store: store, Sessions: sessions, Limiter: limiter, SessionMode: o.Mode,
		Issuer: issuer, SigningKeys: []diy.SigningKey{{ID: keyID, PrivateKey: priv}},
		Hash: fastHash, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if o.Config != nil {
		o.Config(&cfg)
	}
	b, err := diy.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return &Server{Backend: b, name: "diy-" + o.Store + "-" + o.Mode.String(), priv: priv}
}

// OpenStores opens a fresh store of kind (one of Stores) and, for
// "postgres+redis", a Redis session store and limiter, all closed when the
// test ends.
func OpenStores(t testing.TB, kind string) (diy.Store, diy.SessionStore, authport.Limiter) {
	t.Helper()
	ctx := context.Background()
	switch kind {
	case "sqlite":
		s, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "auth.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s, nil, nil
	case "postgres", "postgres+redis":
		s, err := pgstore.Open(ctx, dbtest.FreshPostgres(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if kind == "postgres" {
			return s, nil, nil
		}
		opt, err := redis.ParseURL(dbtest.RedisURL(t))
		if err != nil {
			t.Fatal(err)
		}
		rdb := redis.NewClient(opt)
		t.Cleanup(func() { rdb.Close() })
		rs := redisstore.New(rdb, "test:"+strings.ToLower(rand.Text())[:10]+":")
		return s, rs, rs.Limiter()
	}
	t.Fatalf("diytest: unknown store %q", kind)
	return nil, nil, nil
}

// Harness wires the backend to the conformance suite, named
// "diy-<store>-<mode>". In JWT mode it can forge tokens with the signing
// key, so the attack catalogue runs.
func (s *Server) Harness(tb testing.TB) conformance.Harness {
	b := s.Backend
	h := conformance.Harness{
		Name:          s.name,
		Authenticator: b,
		CreateUser: func(ctx context.Context, u conformance.User) (string, error) {
			usr, err := b.CreateUserWithAccess(ctx, u.Email, u.Password,
				diy.Access{Roles: u.Roles, Permissions: u.Permissions, OrgID: u.OrgID})
			if err != nil {
				return "", err
			}
			return usr.ID, nil
		},
		SignIn: func(ctx context.Context, u conformance.User) (*authport.Tokens, error) {
			return b.SignInWithPassword(ctx, u.Email, u.Password)
		},
		RevokeSession: func(ctx context.Context, s *authport.Session) error {
			return b.RevokeSession(ctx, s.UserID, s.SessionID)
		},
		Features: conformance.Features{Roles: true, Permissions: true, Org: true, EmailInToken: true},
	}
	if b.Mode() == diy.ModeJWT {
		priv := s.priv
		h.Forger = &conformance.Forger{
			Issuer:    issuer,
			Audience:  []string{issuer},
			Alg:       "EdDSA",
			KID:       keyID,
			PublicKey: priv.Public(),
			Header: func() map[string]any {
				return map[string]any{"alg": "EdDSA", "kid": keyID, "typ": "at+jwt"}
			},
			Claims: func(sub string) map[string]any {
				now := time.Now()
				return map[string]any{"iss": issuer, "aud": issuer, "sub": sub, "sid": "ses_forged", "jti": "j" + sub,
					"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()}
			},
			SignRaw: func(header, payload []byte) (string, error) {
				return jwtcore.SignRaw("EdDSA", priv, header, payload)
			},
		}
	}
	return h
}
