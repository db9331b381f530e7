package authport_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/authport/authport"
	"github.com/authport/authport/internal/jwtcore"
	"github.com/authport/authport/internal/keyset"
)

// benchAuth is an Authenticator on the shared verification core, as every
// adapter's Verify is.
type benchAuth struct{ v *jwtcore.Verifier }

func (a benchAuth) Provider() string { return "bench" }
func (a benchAuth) Verify(ctx context.Context, c authport.Credential) (*authport.Session, error) {
	return a.v.Session(ctx, c.Token)
}

func benchSetup(b *testing.B, cacheSize int) (authport.Authenticator, *rsa.PrivateKey, string) {
	b.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	src, _ := keyset.NewStatic(keyset.Key{ID: "k1", Algorithm: "RS256", Public: &key.PublicKey})
	v, err := jwtcore.New(jwtcore.Options{Provider: "bench", CacheSize: cacheSize, ToSession: func(c *jwtcore.Claims) (*authport.Session, error) {
		return &authport.Session{Provider: "bench", UserID: c.Subject, SessionID: c.String("sid"), Email: c.String("email"),
			OrgID: c.String("org_id"), Roles: c.Strings("roles"), ExpiresAt: c.ExpiresAt, IssuedAt: c.IssuedAt, Claims: c.Raw}, nil
	}}, jwtcore.Policy{Issuer: "https://issuer.example", Audiences: []string{"api"}, Keys: src})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	// A realistic claim set (354 B of JSON).
	tok, err := jwtcore.Sign("RS256", key, map[string]any{"kid": "k1", "typ": "JWT"}, map[string]any{
		"iss": "https://issuer.example", "sub": "user_2abcdefghijklmnop", "aud": "api", "exp": now.Add(time.Hour).Unix(),
		"iat": now.Unix(), "nbf": now.Unix(), "jti": "jti_0123456789abcdef", "sid": "sess_0123456789abcdef",
		"azp": "https://app.example.com", "email": "someone@example.com", "org_id": "org_0123456789", "roles": []string{"admin", "member"},
	})
	if err != nil {
		b.Fatal(err)
	}
	return benchAuth{v}, key, tok
}

// BenchmarkVerify compares, in one run, the bare crypto/rsa verify of a
// token (the floor), authport's uncached verification of the same token, and
// a verified-token cache hit. docs/benchmarks.md reports the ratios.
func BenchmarkVerify(b *testing.B) {
	a, key, tok := benchSetup(b, -1)
	i := strings.LastIndexByte(tok, '.')
	sig, _ := base64.RawURLEncoding.DecodeString(tok[i+1:])
	input := []byte(tok[:i])
	ctx := context.Background()
	cred := authport.Credential{Token: tok, Source: authport.SourceHeader}
	b.Run("Floor_crypto_rsa_RS256", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			d := sha256.Sum256(input)
			if err := rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, d[:], sig); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Authport_uncached_RS256", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := a.Verify(ctx, cred); err != nil {
				b.Fatal(err)
			}
		}
	})
	cached, _, ctok := benchSetup(b, 1000)
	ccred := authport.Credential{Token: ctok, Source: authport.SourceHeader}
	if _, err := cached.Verify(ctx, ccred); err != nil {
		b.Fatal(err)
	}
	b.Run("Authport_cached_hit", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := cached.Verify(ctx, ccred); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRequireRS256 compares a trivial handler with no authentication
// to the same handler behind Web.Middleware + Require with a cached RS256
// token: in process (ResponseRecorder) and as whole requests over loopback
// HTTP with keep-alive, which is what a client sees.
func BenchmarkRequireRS256(b *testing.B) {
	a, _, tok := benchSetup(b, 1000)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	})
	web, err := authport.NewWeb(a, authport.Config{CookieKeys: [][]byte{make([]byte, 32)}})
	if err != nil {
		b.Fatal(err)
	}
	protected := web.Middleware(authport.Require()(handler))
	req := httptest.NewRequest("GET", "/app/x", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	run := func(b *testing.B, h http.Handler) {
		b.ReportAllocs()
		for b.Loop() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != 200 {
				b.Fatalf("status %d", w.Code)
			}
		}
	}
	b.Run("InProcess_NoAuth", func(b *testing.B) { run(b, handler) })
	b.Run("InProcess_Require_cached", func(b *testing.B) { run(b, protected) })
	loop := func(b *testing.B, h http.Handler) {
		srv := httptest.NewServer(h)
		defer srv.Close()
		client := srv.Client()
		req, _ := http.NewRequest("GET", srv.URL+"/app/x", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		b.ReportAllocs()
		for b.Loop() {
			res, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != 200 {
				b.Fatalf("status %d", res.StatusCode)
			}
		}
	}
	b.Run("Loopback_NoAuth", func(b *testing.B) { loop(b, handler) })
	b.Run("Loopback_Require_cached", func(b *testing.B) { loop(b, protected) })
}
