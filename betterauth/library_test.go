package betterauth_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/authport/authport"
	"github.com/authport/authport/betterauth"
	"github.com/authport/authport/betterauth/betterauthtest"
)

// TestLibraryOptions runs servers of their own with the library options
// that change what the Go side reads: each cookie-cache strategy (with a
// chunked session_data cookie), __Secure- cookie names, a cookie prefix,
// a rotated secret (BETTER_AUTH_SECRETS), and every JWT plugin algorithm
// besides the default EdDSA (which TestConformance covers).
func TestLibraryOptions(t *testing.T) {
	cases := []struct {
		name string
		o    betterauthtest.Options
	}{
		{"compact", betterauthtest.Options{CookieCache: "compact", BigUser: true, SecureCookies: true, JWTAlg: "ES256"}},
		{"jwt", betterauthtest.Options{CookieCache: "jwt", CookiePrefix: "myapp", JWTAlg: "RS256"}},
		{"jwe", betterauthtest.Options{CookieCache: "jwe", BigUser: true, JWTAlg: "ES512",
			Secrets: "2:new-secret-" + strings.Repeat("n", 32) + ",1:old-secret-" + strings.Repeat("o", 32)}},
		{"plain", betterauthtest.Options{JWTAlg: "PS256"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := betterauthtest.Start(t, c.o)
			libraryOptions(t, s)
		})
	}
}

func libraryOptions(t *testing.T, s *betterauthtest.Server) {
	ctx := t.Context()
	o := s.Options
	cfg := dbConfig(t, s, nil)
	cfg.JWT = true
	cfg.CookieCache = betterauth.CookieCache(o.CookieCache)
	cfg.CookiePrefix = o.CookiePrefix
	a, err := betterauth.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	u := betterauthtest.NewUser{}
	if o.BigUser {
		u.Bio = strings.Repeat("a long biography ", 400) // ~6.8 kB: more than one cookie
	}
	si, id := user(t, s, u)

	// The cookie names the library chose are the ones the adapter reads.
	wantName := "better-auth.session_token"
	if o.CookiePrefix != "" {
		wantName = o.CookiePrefix + ".session_token"
	}
	if o.SecureCookies {
		wantName = "__Secure-" + wantName
	}
	if si.SessionCookie.Name != wantName {
		t.Fatalf("session cookie %q, want %q", si.SessionCookie.Name, wantName)
	}
	if !contains(a.ProviderCookies(), wantName) {
		t.Fatalf("ProviderCookies %v lack %q", a.ProviderCookies(), wantName)
	}
	chunks := 0
	for _, c := range si.Cookies {
		if strings.Contains(c.Name, ".session_data.") {
			chunks++
		}
	}
	if o.BigUser && chunks < 2 {
		t.Fatalf("session_data is in %d chunks, want several (cookies %v)", chunks, names(si.Cookies))
	}

	// The JWT plugin's token, with the configured algorithm.
	jwt, err := s.JWT(ctx, si)
	if err != nil {
		t.Fatal(err)
	}
	js, err := a.Verify(ctx, authport.Credential{Token: jwt, Source: authport.SourceHeader})
	if err != nil {
		t.Fatalf("JWT plugin token (%s): %v", o.JWTAlg, err)
	}
	if js.UserID != id || js.Claims == nil {
		t.Fatalf("JWT session %+v", js)
	}

	withReq := authport.WithRequest(ctx, si.Request(ctx, s.URL+"/"))
	sess, err := a.Verify(withReq, cookie(si))
	if err != nil || sess.UserID != id {
		t.Fatalf("Verify with the request's cookies: %v %v", sess, err)
	}

	if len(s.Secrets) > 1 {
		// Rotation: the library signs with the current secret only, so an
		// adapter that knows only the old one refuses the cookie, and one
		// configured from BETTER_AUTH_SECRETS accepts it.
		old := cfg
		old.Secret, old.Secrets, old.CookieCache = s.Secrets[1], nil, betterauth.CookieCacheOff
		b, err := betterauth.New(ctx, old)
		if err != nil {
			t.Fatal(err)
		}
		_, err = b.Verify(ctx, cookie(si))
		wantKind(t, err, authport.ErrInvalidCredential)
		env := map[string]string{betterauth.EnvSecrets: o.Secrets}
		fromEnv, err := betterauth.ConfigFromEnv(ctx, func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		if fromEnv.Secret != s.Secrets[0] || len(fromEnv.Secrets) != 1 {
			t.Fatalf("ConfigFromEnv secrets: current %v, older %d", fromEnv.Secret == s.Secrets[0], len(fromEnv.Secrets))
		}
	}

	if o.CookieCache == "" {
		return
	}
	if d := a.Describe().RevocationDelay; d < 5*time.Minute {
		t.Fatalf("RevocationDelay %v with a 5-minute cookie cache", d)
	}
	// Revoke the session at the library: the cache keeps vouching for it,
	// as the library's own get-session does, until it expires; a lookup
	// (no request cookies, VerifyStrict, a stale clock, another version)
	// refuses it at once.
	if err := s.RevokeToken(ctx, si.Token); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Verify(withReq, cookie(si)); err != nil {
		t.Fatalf("the cookie cache no longer vouches within its max age: %v", err)
	}
	_, err = a.Verify(ctx, cookie(si))
	wantKind(t, err, authport.ErrRevoked)
	_, err = a.VerifyStrict(withReq, cookie(si))
	wantKind(t, err, authport.ErrRevoked)
	for name, mod := range map[string]func(*betterauth.Config){
		"Expired": func(c *betterauth.Config) { c.Clock = func() time.Time { return time.Now().Add(6 * time.Minute) } },
		"Version": func(c *betterauth.Config) { c.CookieCacheVersion = "2" },
		"Secret":  func(c *betterauth.Config) { c.Secret, c.Secrets = "another-secret-"+strings.Repeat("x", 32), nil },
	} {
		c := cfg
		mod(&c)
		b, err := betterauth.New(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		_, err = b.Verify(withReq, cookie(si))
		if err == nil {
			t.Fatalf("%s: the cache was trusted", name)
		}
	}
	// A tampered cache, or one of another session, is not trusted.
	for i := range si.Cookies {
		c := si.Cookies[i]
		if !strings.Contains(c.Name, "session_data") {
			continue
		}
		b := []byte(c.Value)
		b[len(b)/2] ^= 0x02
		bad := *si
		bad.Cookies = append([]*http.Cookie(nil), si.Cookies...)
		bad.Cookies[i] = &http.Cookie{Name: c.Name, Value: string(b)}
		_, err := a.Verify(authport.WithRequest(ctx, bad.Request(ctx, s.URL+"/")), cookie(si))
		wantKind(t, err, authport.ErrRevoked)
	}
	other, _ := user(t, s, u)
	mixed := *other
	mixed.Cookies = nil
	for _, c := range other.Cookies {
		if strings.Contains(c.Name, "session_data") {
			mixed.Cookies = append(mixed.Cookies, c)
		}
	}
	mixed.Cookies = append(mixed.Cookies, si.SessionCookie)
	_, err = a.Verify(authport.WithRequest(ctx, mixed.Request(ctx, s.URL+"/")), cookie(si))
	wantKind(t, err, authport.ErrRevoked)
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func names(cs []*http.Cookie) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}
