package betterauth_test

import (
	"net/url"
	"testing"

	"github.com/authport/authport"
	"github.com/authport/authport/betterauth"
	"github.com/authport/authport/betterauth/betterauthtest"
)

// TestOpen opens the adapter by configuration (FromEnv with the library's
// variables, OpenURL) against the shared server, and refuses broken
// configurations with ErrMisconfigured.
func TestOpen(t *testing.T) {
	s := betterauthtest.Connect(t)
	ctx := t.Context()
	si, id := user(t, s, betterauthtest.NewUser{})
	env := map[string]string{
		authport.ProviderEnv:      "betterauth",
		betterauth.EnvSecret:      s.Secret,
		betterauth.EnvURL:         s.BaseURL,
		betterauth.EnvDatabaseURL: s.DatabaseURL,
		betterauth.EnvJWT:         "true",
	}
	a, err := authport.FromEnvFunc(ctx, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if sess, err := a.Verify(ctx, cookie(si)); err != nil || sess.UserID != id {
		t.Fatalf("FromEnv adapter: %v %v", sess, err)
	}
	u, _ := url.Parse(s.BaseURL)
	b, err := authport.OpenURL(ctx, "betterauth://"+u.Host+"?secret="+url.QueryEscape(s.Secret)+"&database_url="+url.QueryEscape(s.DatabaseURL))
	if err != nil {
		t.Fatal(err)
	}
	if sess, err := b.Verify(ctx, cookie(si)); err != nil || sess.UserID != id {
		t.Fatalf("OpenURL adapter: %v %v", sess, err)
	}
	for name, e := range map[string]map[string]string{
		"Nothing":        {},
		"NoSecret":       {betterauth.EnvDatabaseURL: s.DatabaseURL},
		"BadSecrets":     {betterauth.EnvSecrets: "new-without-version", betterauth.EnvDatabaseURL: s.DatabaseURL},
		"UnknownDriver":  {betterauth.EnvSecret: s.Secret, betterauth.EnvDatabaseURL: "mysql://x/y"},
		"PlainHTTP":      {betterauth.EnvSecret: s.Secret, betterauth.EnvURL: "http://auth.example.com"},
		"BadCookieCache": {betterauth.EnvSecret: s.Secret, betterauth.EnvURL: s.BaseURL, betterauth.EnvCookieCache: "memory"},
		"BadJWT":         {betterauth.EnvURL: s.BaseURL, betterauth.EnvJWT: "maybe"},
	} {
		_, err := betterauth.New(ctx, mustConfig(t, e))
		if name == "BadSecrets" || name == "UnknownDriver" || name == "BadJWT" {
			_, err = betterauth.ConfigFromEnv(ctx, func(k string) string { return e[k] })
		}
		wantKind(t, err, authport.ErrMisconfigured)
	}
}

func mustConfig(t *testing.T, e map[string]string) betterauth.Config {
	c, _ := betterauth.ConfigFromEnv(t.Context(), func(k string) string { return e[k] })
	return c
}

// TestRemote checks sessions without database access, by asking the
// library's GET /api/auth/get-session: live, signed out (after the short
// answer cache), and the server down.
func TestRemote(t *testing.T) {
	s := betterauthtest.Connect(t)
	ctx := t.Context()
	a, err := betterauth.New(ctx, betterauth.Config{Secret: s.Secret, BaseURL: s.BaseURL, RemoteCacheTTL: -1})
	if err != nil {
		t.Fatal(err)
	}
	si, id := user(t, s, betterauthtest.NewUser{Role: "admin"})
	sess, err := a.Verify(ctx, cookie(si))
	if err != nil || sess.UserID != id || !sess.HasRole("admin") {
		t.Fatalf("remote verify: %v %v", sess, err)
	}
	if d := a.Describe().RevocationDelay; d != 0 {
		t.Fatalf("RevocationDelay %v without a remote cache", d)
	}
	if err := a.Revoke(ctx, sess, &authport.Tokens{AccessToken: si.SessionCookie.Value}); err != nil {
		t.Fatal(err)
	}
	_, err = a.Verify(ctx, cookie(si))
	wantKind(t, err, authport.ErrRevoked)

	down, err := betterauth.New(ctx, betterauth.Config{Secret: s.Secret, BaseURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = down.Verify(ctx, cookie(si))
	wantKind(t, err, authport.ErrProviderUnavailable)
}
