package clerk_test

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/authport/authport"
	"github.com/authport/authport/clerk"
	"github.com/authport/authport/clerk/clerktest"
	clerksdk "github.com/clerk/clerk-sdk-go/v2"
	clerkhttp "github.com/clerk/clerk-sdk-go/v2/http"
	"github.com/clerk/clerk-sdk-go/v2/jwks"
	"github.com/clerk/clerk-sdk-go/v2/jwt"
)

// BenchmarkVerify compares, on the same RS256 session token (an active
// organisation with permissions, as Clerk mints it): the bare crypto/rsa
// verification (the floor), the adapter's Verify without and with the
// verified-token cache, the SDK's jwt.Verify with an explicit JWK,
// authport's middleware + Require, and the SDK's
// RequireHeaderAuthorization middleware (its JWK cache warm).
//
//	go test -run '^$' -bench BenchmarkVerify -benchmem ./clerk/
func BenchmarkVerify(b *testing.B) {
	srv := clerktest.New(b)
	srv.DefineRole("org:editor", "org:posts:read", "org:posts:write")
	u, _ := srv.CreateUser(clerktest.NewUser{Email: "bench@example.com", Password: "password-123"})
	o, _ := srv.CreateOrganization("Bench", "", "")
	srv.AddMembership(o.ID, u.ID, "org:editor")
	sid, _ := srv.CreateSession(u.ID, clerktest.SessionOptions{ActiveOrganization: o.ID})
	tok, err := srv.Mint(clerktest.MintOptions{SessionID: sid, ExpiresIn: time.Hour}) // outlives the run
	if err != nil {
		b.Fatal(err)
	}

	newAuth := func(cacheSize int) *clerk.Authenticator {
		cfg := srv.Config()
		cfg.CacheSize = cacheSize
		cfg.Logger = slog.New(slog.DiscardHandler)
		a, err := clerk.New(b.Context(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := a.Verify(b.Context(), bearer(tok)); err != nil { // warm the key cache; guard
			b.Fatal(err)
		}
		return a
	}
	uncached, cached := newAuth(-1), newAuth(0)
	// The emulator core pre-generates RSA keys in the background for a
	// second or two after start; let it finish before anything is timed,
	// or the first rows compete with it for the CPU.
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); {
		uncached.Verify(b.Context(), bearer(tok))
	}

	b.Run("Floor/crypto_rsa_RS256", func(b *testing.B) {
		i := strings.LastIndexByte(tok, '.')
		sig, _ := base64.RawURLEncoding.DecodeString(tok[i+1:])
		pub := srv.PublicKey()
		input := []byte(tok[:i])
		b.ReportAllocs()
		for b.Loop() {
			h := sha256.Sum256(input)
			if rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig) != nil {
				b.Fatal("floor failed")
			}
		}
	})
	b.Run("Adapter/Verify_uncached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := uncached.Verify(b.Context(), bearer(tok)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Adapter/Verify_cached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := cached.Verify(b.Context(), bearer(tok)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("SDK/jwt.Verify_explicitJWK", func(b *testing.B) {
		var jwk clerksdk.JSONWebKey
		if err := json.Unmarshal(srv.JWK(), &jwk); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := jwt.Verify(b.Context(), &jwt.VerifyParams{Token: tok, JWK: &jwk, Leeway: clerk.DefaultLeeway}); err != nil {
				b.Fatal(err)
			}
		}
	})

	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"ok":true}`)) })
	serve := func(b *testing.B, h http.Handler) {
		req := httptest.NewRequest("GET", "/api/me", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("guard: status %d", rec.Code)
		}
		b.ReportAllocs()
		for b.Loop() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != 200 {
				b.Fatalf("status %d", rec.Code)
			}
		}
	}
	middleware := func(a authport.Authenticator) http.Handler {
		web, err := authport.NewWeb(a, authport.Config{BearerOnly: true, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			b.Fatal(err)
		}
		return web.Middleware(authport.Require()(ok))
	}
	b.Run("Middleware/authport_uncached", func(b *testing.B) { serve(b, middleware(uncached)) })
	b.Run("Middleware/authport_cached", func(b *testing.B) { serve(b, middleware(cached)) })
	b.Run("Middleware/clerkhttp.RequireHeaderAuthorization", func(b *testing.B) {
		cc := &clerksdk.ClientConfig{BackendConfig: clerksdk.BackendConfig{URL: clerksdk.String(srv.APIURL), Key: clerksdk.String(srv.SecretKey)}}
		h := clerkhttp.RequireHeaderAuthorization(clerkhttp.JWKSClient(jwks.NewClient(cc)), clerkhttp.Leeway(clerk.DefaultLeeway),
			clerkhttp.AuthorizedPartyMatches(clerktest.DefaultAuthorizedParty))(ok)
		serve(b, h)
	})
}
