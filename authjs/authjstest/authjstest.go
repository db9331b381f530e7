// Package authjstest drives a real Auth.js deployment for tests: the
// small @auth/core server in scripts/node/authjs (run by
// `scripts/services.sh up authjs`), whose sessions, cookies and database
// rows all come from the library's own code. Server talks to it over HTTP;
// Harness wires an authjs.Authenticator to it for conformance.Run.
//
// The server serves four Auth.js configurations: "jwt" (the JWT strategy
// with the Credentials provider, secret Secret), "secure" (the same with
// useSecureCookies, so "__Secure-" cookie names), "rotated" (the JWT
// strategy after a secret rotation: secrets [RotatedSecret, Secret]) and
// "db" (the database strategy on PostgreSQL through @auth/pg-adapter, with
// email sign-in whose verification link the server captures and follows).
package authjstest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/authport/authport/internal/testenv"
)

// The environment variables scripts/services.sh writes for the server.
const (
	EnvURL           = "AUTHPORT_TEST_AUTHJS_URL"
	EnvSecret        = "AUTHPORT_TEST_AUTHJS_SECRET"
	EnvRotatedSecret = "AUTHPORT_TEST_AUTHJS_ROTATED_SECRET"
	EnvDatabaseURL   = "AUTHPORT_TEST_AUTHJS_DATABASE_URL"
)

// The Auth.js configurations the server runs.
const (
	InstanceJWT     = "jwt"
	InstanceSecure  = "secure"
	InstanceRotated = "rotated"
	InstanceDB      = "db"
)

// Server is a running Auth.js test server.
type Server struct {
	// URL is its base URL; Auth.js's routes are under URL+"/api/auth"
	// (and /secure, /rotated, /db in front of that for the others).
	URL string
	// Secret is AUTH_SECRET of every instance; RotatedSecret is the new
	// secret of the "rotated" instance.
	Secret, RotatedSecret string
	// DatabaseURL is the PostgreSQL database of the "db" instance.
	DatabaseURL string
	// Client carries the calls (10 s timeout).
	Client *http.Client
}

// New returns the server the environment names (see the Env constants),
// skipping the test (failing under CI=true) when it is not running.
func New(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{
		URL:           strings.TrimRight(testenv.Require(tb, EnvURL), "/"),
		Secret:        testenv.Require(tb, EnvSecret),
		RotatedSecret: os.Getenv(EnvRotatedSecret),
		DatabaseURL:   os.Getenv(EnvDatabaseURL),
		Client:        &http.Client{Timeout: 10 * time.Second},
	}
	return s
}

// User is a user to create.
type User struct {
	Email, Password, Name, Image string
	// Role is written to the users table's role column, which the
	// server's jwt callback copies into the token's "role" claim.
	Role string
}

// Cookie is a session cookie the library set.
type Cookie struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// SignInOptions tune a sign-in.
type SignInOptions struct {
	// Pad adds a claim of that many bytes to the token (JWT instances),
	// so that the library splits the cookie into chunks.
	Pad int
}

func (s *Server) post(ctx context.Context, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := s.Client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(b, &e)
		return &Error{Status: res.StatusCode, Message: e.Error}
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(b, out)
}

// Error is a refusal from the server (a sign-in the library refused is
// Status 401).
type Error struct {
	Status  int
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("authjstest: HTTP %d: %s", e.Status, e.Message) }

// ErrRefused reports whether err is a sign-in the library refused.
func ErrRefused(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusUnauthorized
}

// CreateUser creates u through @auth/pg-adapter's createUser (plus the
// application's password and role) and returns its id.
func (s *Server) CreateUser(ctx context.Context, u User) (string, error) {
	var out struct {
		ID string `json:"id"`
	}
	err := s.post(ctx, "/test/users", map[string]any{"email": u.Email, "password": u.Password, "name": u.Name, "image": u.Image, "role": u.Role}, &out)
	return out.ID, err
}

// SignIn signs the user in on instance the way a browser does (CSRF
// token, then the Credentials callback, or the email provider's link) and
// returns the session cookies Auth.js set: one, or its chunks.
func (s *Server) SignIn(ctx context.Context, instance, email, password string, o SignInOptions) ([]Cookie, error) {
	var out struct {
		Cookies []Cookie `json:"cookies"`
	}
	in := map[string]any{"instance": instance, "email": email, "password": password}
	if o.Pad > 0 {
		in["pad"] = o.Pad
	}
	err := s.post(ctx, "/test/signin", in, &out)
	return out.Cookies, err
}

// SignOut runs the library's sign-out with the cookies (which deletes a
// database session).
func (s *Server) SignOut(ctx context.Context, instance string, cookies []Cookie) error {
	return s.post(ctx, "/test/signout", map[string]any{"instance": instance, "cookies": cookies}, nil)
}

// Expire moves a database session's expiry into the past with the
// adapter's updateSession.
func (s *Server) Expire(ctx context.Context, sessionToken string) error {
	return s.post(ctx, "/test/expire", map[string]any{"sessionToken": sessionToken}, nil)
}

// Secret names for Encode.
const (
	SecretMain    = "main"
	SecretRotated = "rotated"
	SecretForeign = "foreign" // a fresh random secret
)

// Encode calls the library's encode (@auth/core/jwt) with the named
// secret, salt (the cookie name) and claims; maxAge in seconds (0 = the
// library's 30 days; negative mints an expired token).
func (s *Server) Encode(ctx context.Context, secret, salt string, claims map[string]any, maxAge int) (string, error) {
	in := map[string]any{"secret": secret, "salt": salt, "token": claims}
	if maxAge != 0 {
		in["maxAge"] = maxAge
	}
	var out struct {
		JWE string `json:"jwe"`
	}
	err := s.post(ctx, "/test/encode", in, &out)
	return out.JWE, err
}

// Decode calls the library's decode; ok is false when it refuses jwe.
func (s *Server) Decode(ctx context.Context, secret, salt, jwe string) (claims map[string]any, ok bool, err error) {
	var out struct {
		Token map[string]any `json:"token"`
	}
	err = s.post(ctx, "/test/decode", map[string]any{"secret": secret, "salt": salt, "jwe": jwe}, &out)
	return out.Token, out.Token != nil, err
}

// Join returns the session cookie's name (without a chunk suffix) and its
// value, the chunks joined in order.
func Join(cookies []Cookie) (name, value string) {
	if len(cookies) == 1 {
		return cookies[0].Name, cookies[0].Value
	}
	parts := make([]string, len(cookies))
	for _, c := range cookies {
		i := strings.LastIndexByte(c.Name, '.')
		var n int
		if _, err := fmt.Sscanf(c.Name[i+1:], "%d", &n); err != nil || n < 0 || n >= len(cookies) {
			return "", ""
		}
		name, parts[n] = c.Name[:i], c.Value
	}
	return name, strings.Join(parts, "")
}
