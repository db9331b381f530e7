package betterauth_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/authport/authport"
	"github.com/authport/authport/betterauth"
)

// FuzzVerify feeds hostile credentials and session_data cookies to every
// decoding path (signed token, compact/jwt/jwe cookie caches, JWT plugin
// token) with no server behind them: nothing may panic, and nothing may
// verify.
func FuzzVerify(f *testing.F) {
	for _, s := range []string{"", ".", "a.b", "a.b.c", "a.b.c.d.e", "%", "%zz", "x." + strings.Repeat("A", 43) + "=",
		"eyJhbGciOiJIUzI1NiJ9.e30.AAAA", "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2Q0JDLUhTNTEyIn0..AAAA.AAAA.AAAA",
		"eyJzZXNzaW9uIjp7fSwiZXhwaXJlc0F0IjoxfQ"} {
		f.Add(s, s)
	}
	ctx := context.Background()
	var as []*betterauth.Authenticator
	for _, cc := range []betterauth.CookieCache{betterauth.CookieCacheCompact, betterauth.CookieCacheJWT, betterauth.CookieCacheJWE} {
		a, err := betterauth.New(ctx, betterauth.Config{
			Secret: strings.Repeat("s", 32), BaseURL: "http://127.0.0.1:1", CookieCache: cc, JWT: true,
			RemoteCacheTTL: -1, HTTPTimeout: 1,
		})
		if err != nil {
			f.Fatal(err)
		}
		as = append(as, a)
	}
	f.Fuzz(func(t *testing.T, tok, data string) {
		r, _ := http.NewRequest(http.MethodGet, "http://app.example/", nil)
		r.AddCookie(&http.Cookie{Name: "better-auth.session_data", Value: strings.Map(func(c rune) rune {
			if c <= ' ' || c >= 0x7f || c == ';' || c == '"' || c == ',' || c == '\\' {
				return -1
			}
			return c
		}, data)})
		for _, a := range as {
			for _, src := range []authport.Source{authport.SourceCookie, authport.SourceHeader} {
				s, err := a.Verify(authport.WithRequest(ctx, r), authport.Credential{Token: tok, Source: src})
				if err == nil {
					t.Fatalf("hostile credential verified: %+v", s)
				}
			}
		}
	})
}
