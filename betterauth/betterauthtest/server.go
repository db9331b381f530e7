// Package betterauthtest runs the real Better Auth library (npm
// better-auth, pinned in scripts/node/betterauth) for tests of the
// betterauth adapter and of applications using it, and wires it to the
// public conformance suite.
//
// There is no emulator: a Server is the node app in scripts/node/betterauth
// (email and password, the jwt, bearer, admin and organization plugins, on
// PostgreSQL). scripts/services.sh up betterauth installs it outside the
// clone and starts a shared instance (AUTHPORT_TEST_BETTERAUTH_URL,
// AUTHPORT_TEST_BETTERAUTH_SECRET, AUTHPORT_TEST_BETTERAUTH_DATABASE_URL);
// Start runs another instance with other library options (a cookie cache
// strategy, __Secure- cookies, a rotated secret, another JWT algorithm)
// from its installed directory (AUTHPORT_TEST_BETTERAUTH_DIR). Users are
// signed in through the library's own HTTP API, as its client does; the
// administrative steps a test needs (create a user with a role and an
// organisation, ban, revoke, expire a session, read the JWT plugin's
// signing key) go through the library's server API (auth.api.*) on the
// app's /test/ routes, which listen on loopback only.
package betterauthtest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/authport/authport/betterauth/pgdb" // the "pgx" driver
	"github.com/authport/authport/internal/testenv"
)

// The variables scripts/services.sh writes for the shared instance.
const (
	URLVar         = "AUTHPORT_TEST_BETTERAUTH_URL"
	DirVar         = "AUTHPORT_TEST_BETTERAUTH_DIR"
	SecretVar      = "AUTHPORT_TEST_BETTERAUTH_SECRET"
	DatabaseURLVar = "AUTHPORT_TEST_BETTERAUTH_DATABASE_URL"
)

// Options are the library options of a Server that Start runs.
type Options struct {
	// Secret is BETTER_AUTH_SECRET (default: 32 random bytes, hex).
	Secret string
	// Secrets is BETTER_AUTH_SECRETS ("2:new,1:old"); it takes precedence
	// over Secret in the library.
	Secrets string
	// CookieCache enables session.cookieCache with this strategy
	// ("compact", "jwt", "jwe").
	CookieCache string
	// CookieCacheMaxAge is its maxAge in seconds (default 300).
	CookieCacheMaxAge int
	// CookiePrefix is advanced.cookiePrefix.
	CookiePrefix string
	// SecureCookies sets advanced.useSecureCookies (__Secure- names).
	SecureCookies bool
	// JWTAlg is the JWT plugin's key algorithm (default EdDSA).
	JWTAlg string
	// BigUser adds a large user field, so a cached session_data cookie
	// is split in chunks.
	BigUser bool
	// BaseURL is BETTER_AUTH_URL (default the server's own address).
	BaseURL string
	// TrustedOrigins are extra trusted origins.
	TrustedOrigins []string
}

// Server is a running Better Auth server.
type Server struct {
	// URL is the server's address (http://127.0.0.1:port); the library's
	// handler is under URL + "/api/auth".
	URL string
	// BaseURL is the library's base URL (URL unless Options.BaseURL).
	BaseURL string
	// Secret is the library's current secret; Secrets all of them, current
	// first, when Options.Secrets was given.
	Secret  string
	Secrets []string
	// DatabaseURL is the server's PostgreSQL database.
	DatabaseURL string
	// Options are the options it runs with.
	Options Options

	hc   *http.Client
	once sync.Once
	db   *sql.DB
}

// Connect returns the shared instance scripts/services.sh started, or
// skips the test (fails it under CI=true) when it is not running.
func Connect(t testing.TB) *Server {
	t.Helper()
	u := testenv.Require(t, URLVar)
	s := &Server{
		URL:         strings.TrimRight(u, "/"),
		Secret:      testenv.Require(t, SecretVar),
		DatabaseURL: testenv.Require(t, DatabaseURLVar),
		hc:          &http.Client{Timeout: 30 * time.Second},
	}
	s.BaseURL = s.URL
	return s
}

// Start runs a Better Auth server of its own with o, in a database of its
// own, from the installed app (AUTHPORT_TEST_BETTERAUTH_DIR; the test is
// skipped, or fails under CI=true, without it). It is stopped and its
// database dropped when t ends. Starting takes a few seconds (node imports
// the library).
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	dir := testenv.Require(t, DirVar)
	pgURL := testenv.Postgres(t)
	if o.Secret == "" && o.Secrets == "" {
		o.Secret = randHex(32)
	}
	dbName := "ba_test_" + randHex(6)
	env := append(os.Environ(),
		"HOST=127.0.0.1", "PORT=0",
		"AUTHPORT_TEST_POSTGRES_URL="+pgURL,
		"AUTHPORT_BA_DATABASE="+dbName,
		"AUTHPORT_SERVICE_ENV_FILE=",
		"BETTER_AUTH_SECRET="+o.Secret,
		"BETTER_AUTH_SECRETS="+o.Secrets,
		"AUTH_SECRET=",
		"BETTER_AUTH_URL="+o.BaseURL,
		"BETTER_AUTH_TRUSTED_ORIGINS="+strings.Join(o.TrustedOrigins, ","),
		"AUTHPORT_BA_COOKIE_CACHE="+o.CookieCache,
		"AUTHPORT_BA_COOKIE_PREFIX="+o.CookiePrefix,
		"AUTHPORT_BA_JWT_ALG="+o.JWTAlg,
		"NODE_ENV=test",
	)
	if o.CookieCacheMaxAge > 0 {
		env = append(env, fmt.Sprintf("AUTHPORT_BA_COOKIE_CACHE_MAX_AGE=%d", o.CookieCacheMaxAge))
	}
	if o.SecureCookies {
		env = append(env, "AUTHPORT_BA_SECURE_COOKIES=1")
	}
	if o.BigUser {
		env = append(env, "AUTHPORT_BA_SESSION_DATA_BIG=1")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "node", filepath.Join(dir, "server.mjs"))
	cmd.Dir = dir
	cmd.Env = env
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	var logs bytes.Buffer
	cmd.Stderr = &lockedWriter{w: &logs}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("betterauthtest: starting node: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		dropDatabase(pgURL, dbName)
	})
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			if rest, ok := strings.CutPrefix(line, "betterauth: listening on "); ok {
				ready <- strings.Fields(rest)[0]
			}
		}
		close(ready)
	}()
	var base string
	select {
	case line, ok := <-ready:
		if !ok {
			t.Fatalf("betterauthtest: the server exited before it was ready:\n%s", logs.String())
		}
		base = line
	case <-time.After(90 * time.Second):
		t.Fatalf("betterauthtest: the server was not ready after 90 s:\n%s", logs.String())
	}
	s := &Server{URL: base, BaseURL: base, Options: o, hc: &http.Client{Timeout: 30 * time.Second}}
	if o.BaseURL != "" {
		s.BaseURL = strings.TrimRight(o.BaseURL, "/")
	}
	s.Secret = o.Secret
	if o.Secrets != "" {
		for entry := range strings.SplitSeq(o.Secrets, ",") {
			_, v, _ := strings.Cut(strings.TrimSpace(entry), ":")
			s.Secrets = append(s.Secrets, v)
		}
		s.Secret = s.Secrets[0]
	}
	u, _ := url.Parse(pgURL)
	u.Path = "/" + dbName
	s.DatabaseURL = u.String()
	return s
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// call posts (or gets, with a nil body) a /test/ route and decodes the
// answer into out.
func (s *Server) call(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.URL+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("betterauthtest: %s %s: %s: %s", method, path, resp.Status, data)
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// NewUser describes a user CreateUser makes.
type NewUser struct {
	Email, Password, Name string
	// Role is the admin plugin's role ("admin", or "admin,editor").
	Role string
	// Org, if set, creates an organisation with this slug owned by the
	// user.
	Org string
	// Bio fills the large field of a BigUser server.
	Bio string
}

// CreateUser creates a user with the admin plugin's createUser (and the
// organization plugin's createOrganization) and returns the user and
// organisation ids.
func (s *Server) CreateUser(ctx context.Context, u NewUser) (id, orgID string, err error) {
	var r struct{ ID, OrgID string }
	err = s.call(ctx, http.MethodPost, "/test/users", map[string]string{
		"email": u.Email, "password": u.Password, "name": u.Name, "role": u.Role, "org": u.Org, "bio": u.Bio,
	}, &r)
	return r.ID, r.OrgID, err
}

// SetRole sets a user's role with the admin plugin.
func (s *Server) SetRole(ctx context.Context, userID, role string) error {
	return s.call(ctx, http.MethodPost, "/test/set-role", map[string]string{"userId": userID, "role": role}, nil)
}

// Ban bans a user with the admin plugin (which also ends their sessions).
func (s *Server) Ban(ctx context.Context, userID string) error {
	return s.call(ctx, http.MethodPost, "/test/ban", map[string]string{"userId": userID}, nil)
}

// RevokeToken ends one session by its token (admin revoke-user-session).
func (s *Server) RevokeToken(ctx context.Context, token string) error {
	return s.call(ctx, http.MethodPost, "/test/revoke", map[string]string{"token": token}, nil)
}

// RevokeUser ends every session of a user (admin revoke-user-sessions).
func (s *Server) RevokeUser(ctx context.Context, userID string) error {
	return s.call(ctx, http.MethodPost, "/test/revoke-user", map[string]string{"userId": userID}, nil)
}

// Expire moves a session's expiry into the past in the library's database.
func (s *Server) Expire(ctx context.Context, token string) error {
	return s.call(ctx, http.MethodPost, "/test/expire", map[string]string{"token": token}, nil)
}

// SigningKey is one of the JWT plugin's keys, with its private half.
type SigningKey struct {
	KID        string          `json:"kid"`
	Alg        string          `json:"alg"`
	PrivateJWK json.RawMessage `json:"privateJWK"`
	PublicJWK  json.RawMessage `json:"publicJWK"`
}

// SigningKeys returns the JWT plugin's keys (creating the first one),
// decrypted with the library's own function.
func (s *Server) SigningKeys(ctx context.Context) ([]SigningKey, error) {
	var keys []SigningKey
	err := s.call(ctx, http.MethodGet, "/test/signing-keys", nil, &keys)
	return keys, err
}

// DB opens the server's database (closed when the test binary exits).
func (s *Server) DB() (*sql.DB, error) {
	var err error
	s.once.Do(func() { s.db, err = sql.Open("pgx", s.DatabaseURL) })
	if err == nil && s.db == nil {
		err = errors.New("betterauthtest: database not opened")
	}
	return s.db, err
}

func dropDatabase(serverURL, name string) {
	db, err := sql.Open("pgx", serverURL)
	if err != nil {
		return
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _ = db.ExecContext(ctx, `DROP DATABASE IF EXISTS "`+name+`" WITH (FORCE)`)
}
