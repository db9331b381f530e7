package betterauth_test

import (
	"context"
	"database/sql"
	"net/http"
	"strings"
	"testing"

	"github.com/authport/authport"
	"github.com/authport/authport/betterauth"
	"github.com/authport/authport/betterauth/betterauthtest"
	"github.com/authport/authport/conformance"
)

// dbConfig is the adapter's configuration for server s: its secret and its
// database, and the JWT plugin's keys through keys when given.
func dbConfig(t testing.TB, s *betterauthtest.Server, keys *betterauthtest.KeyProxy) betterauth.Config {
	t.Helper()
	db, err := sql.Open("pgx", s.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c := betterauth.Config{Secret: s.Secret, DB: db, BaseURL: s.BaseURL}
	if len(s.Secrets) > 1 {
		c.Secrets = s.Secrets[1:]
	}
	if keys != nil {
		c.JWT = true
		c.JWKSURL = keys.JWKSURL()
		c.HTTPClient = &http.Client{}
	}
	return c
}

// TestConformance runs the public conformance suite against the real
// Better Auth library (the shared server scripts/services.sh starts) three
// times: with the session cookie and with the bearer plugin's token, both
// checked with the secret and looked up in the library's PostgreSQL
// database; and with JWT plugin tokens verified offline against its JWKS,
// where the attack catalogue runs with the plugin's own EdDSA key.
func TestConformance(t *testing.T) {
	s := betterauthtest.Connect(t)
	for _, m := range []betterauthtest.Mode{betterauthtest.ModeCookie, betterauthtest.ModeBearer} {
		t.Run(m.String(), func(t *testing.T) {
			cfg := dbConfig(t, s, nil)
			a, err := betterauth.New(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			conformance.Run(t, s.Harness(t, a, nil, m, nil))
		})
	}
	t.Run("jwt", func(t *testing.T) {
		keys := s.KeyProxy(t)
		cfg := dbConfig(t, s, keys)
		open := func() (authport.Authenticator, error) { return betterauth.New(context.Background(), cfg) }
		a, err := betterauth.New(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		conformance.Run(t, s.Harness(t, a, open, betterauthtest.ModeJWT, keys))
	})
}

// TestEquivalence records the equivalence stories with the session cookie
// and with the bearer plugin's token: one provider, two ways of presenting
// its session, so the transcripts must not differ at all.
func TestEquivalence(t *testing.T) {
	s := betterauthtest.Connect(t)
	var hs []conformance.Harness
	for _, m := range []betterauthtest.Mode{betterauthtest.ModeCookie, betterauthtest.ModeBearer} {
		cfg := dbConfig(t, s, nil)
		a, err := betterauth.New(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		open := func() (authport.Authenticator, error) { return betterauth.New(context.Background(), cfg) }
		hs = append(hs, s.Harness(t, a, open, m, nil))
	}
	trs := conformance.RunEquivalence(t, nil, hs...)
	for _, tr := range trs {
		if v, _ := tr.Get("Expired/Verify"); !strings.Contains(v, "expired") {
			t.Errorf("%s: Expired/Verify = %q, want an expired session refused as expired", tr.Name, v)
		}
	}
}
