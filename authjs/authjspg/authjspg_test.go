package authjspg_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/authport/authport"
	"github.com/authport/authport/authjs"
	"github.com/authport/authport/authjs/authjspg"
	"github.com/authport/authport/authjs/authjstest"
	"github.com/authport/authport/conformance"
	"github.com/authport/authport/internal/testenv"
)

func server(t *testing.T) *authjstest.Server {
	t.Helper()
	srv := authjstest.New(t)
	if srv.DatabaseURL == "" {
		testenv.Require(t, authjstest.EnvDatabaseURL)
	}
	return srv
}

func open(t *testing.T, srv *authjstest.Server) *authjs.Authenticator {
	t.Helper()
	st, err := authjspg.Open(t.Context(), srv.DatabaseURL, authjspg.Schema{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	a, err := authjs.New(t.Context(), authjs.Config{Sessions: st})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestConformanceDatabase runs the conformance suite against the real
// Auth.js library's database strategy on PostgreSQL (@auth/pg-adapter).
func TestConformanceDatabase(t *testing.T) {
	srv := server(t)
	a := open(t, srv)
	newAuth := func() (authport.Authenticator, error) {
		st, err := authjspg.Open(context.Background(), srv.DatabaseURL, authjspg.Schema{})
		if err != nil {
			return nil, err
		}
		t.Cleanup(st.Close)
		return authjs.New(context.Background(), authjs.Config{Sessions: st})
	}
	conformance.Run(t, srv.Harness(a, newAuth, authjstest.InstanceDB))
}

func TestDatabaseSessionLifecycle(t *testing.T) {
	srv := server(t)
	a := open(t, srv)
	ctx := t.Context()
	email := "db-" + time.Now().Format("150405.000000000") + "@example.com"
	id, err := srv.CreateUser(ctx, authjstest.User{Email: email, Name: "Dee", Image: "https://example.com/d.png", Role: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	signIn := func() (authport.Credential, []authjstest.Cookie) {
		cs, err := srv.SignIn(ctx, authjstest.InstanceDB, email, "", authjstest.SignInOptions{})
		if err != nil {
			t.Fatal(err)
		}
		name, v := authjstest.Join(cs)
		return authport.Credential{Token: v, Source: authport.SourceCookie, Cookie: name}, cs
	}
	c, cs := signIn()
	s, err := a.Verify(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	var row *authjs.DBSession
	if s.UserID != id || s.Email != email || !s.EmailVerified || !s.HasRole("admin") || s.SessionID == "" || !s.As(&row) || row.Name != "Dee" {
		t.Fatalf("session %+v", s)
	}
	if d := time.Until(s.ExpiresAt); d < 29*24*time.Hour {
		t.Fatalf("expires in %v, want Auth.js's 30 days", d)
	}
	// The library's sign-out deletes the row: refused at once.
	if err := srv.SignOut(ctx, authjstest.InstanceDB, cs); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Verify(ctx, c); !errors.Is(err, authport.ErrInvalidCredential) {
		t.Fatalf("after sign-out: %v", err)
	}
	// An expired row (adapter.updateSession) is ErrExpired.
	c, _ = signIn()
	if err := srv.Expire(ctx, c.Token); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Verify(ctx, c); !errors.Is(err, authport.ErrExpired) {
		t.Fatalf("expired session: %v", err)
	}
	// Revoke deletes the row as signOut does; the library then refuses the
	// cookie too (its session endpoint answers null).
	c, _ = signIn()
	s, err = a.Verify(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Revoke(ctx, s, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Verify(ctx, c); !errors.Is(err, authport.ErrInvalidCredential) {
		t.Fatalf("after Revoke: %v", err)
	}
	// Hostile tokens never reach a query that could match.
	for _, tok := range []string{"x'; DROP TABLE sessions; --", strings.Repeat("a", 256), "a\x00b"} {
		if _, err := a.Verify(ctx, authport.Credential{Token: tok, Source: authport.SourceCookie, Cookie: authjs.DefaultCookieName}); !errors.Is(err, authport.ErrInvalidCredential) {
			t.Fatalf("%q: %v", tok, err)
		}
	}
}

func TestFromEnvDatabase(t *testing.T) {
	srv := server(t)
	env := map[string]string{"AUTH_PROVIDER": "authjs", "AUTHJS_SESSION_STRATEGY": "database", "AUTHJS_DATABASE_URL": srv.DatabaseURL}
	a, err := authport.FromEnvFunc(t.Context(), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if a.(*authjs.Authenticator).Strategy() != authjs.StrategyDatabase {
		t.Fatal("not the database strategy")
	}
	env["AUTHJS_DATABASE_URL"] = ""
	if _, err := authport.FromEnvFunc(t.Context(), func(k string) string { return env[k] }); !errors.Is(err, authport.ErrMisconfigured) {
		t.Fatalf("without a database URL: %v", err)
	}
}

func TestSchemaChecked(t *testing.T) {
	srv := server(t)
	_, err := authjspg.Open(t.Context(), srv.DatabaseURL, authjspg.Schema{Sessions: "no_such_table"})
	if !errors.Is(err, authport.ErrMisconfigured) {
		t.Fatalf("missing table: %v", err)
	}
	_, err = authjspg.Open(t.Context(), srv.DatabaseURL, authjspg.Schema{SessionToken: "token"})
	if !errors.Is(err, authport.ErrMisconfigured) {
		t.Fatalf("missing column: %v", err)
	}
}
