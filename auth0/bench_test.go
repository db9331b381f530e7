package auth0_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	jwtmiddleware "github.com/auth0/go-jwt-middleware/v2"

	"github.com/authport/authport"
	"github.com/authport/authport/auth0"
	"github.com/authport/authport/auth0/auth0test"
)

// BenchmarkVerify compares, on the same RS256 token from the emulated
// tenant: the bare crypto/rsa signature check; the adapter's Verify
// without and with its verified-token cache; go-jwt-middleware's
// validator.ValidateToken with a warm CachingProvider; and, per HTTP
// request, authport's middleware against jwtmiddleware.CheckJWT (with the
// SDK's validator, and with the adapter's ValidateToken after the one-line
// switch).
//
//	go test -run '^$' -bench BenchmarkVerify -benchmem ./auth0/
func BenchmarkVerify(b *testing.B) {
	ctx := context.Background()
	emu := auth0test.New(b)
	u, err := emu.CreateUser(auth0test.NewUser{Email: "bench@example.com", Password: pw, Permissions: []string{"read:reports"}})
	if err != nil {
		b.Fatal(err)
	}
	token, err := emu.Mint(auth0test.MintRequest{UserID: u.ID})
	if err != nil {
		b.Fatal(err)
	}
	cfg := emu.Config()
	cfg.CacheSize = -1
	uncached, err := auth0.New(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	cached, err := auth0.New(ctx, emu.Config())
	if err != nil {
		b.Fatal(err)
	}
	sdk := oracle(b, emu, 0)
	cred := authport.Credential{Token: token, Source: authport.SourceHeader}
	for _, warm := range []func() error{
		func() error { _, err := uncached.Verify(ctx, cred); return err },
		func() error { _, err := cached.Verify(ctx, cred); return err },
		func() error { _, err := sdk.ValidateToken(ctx, token); return err },
	} {
		if err := warm(); err != nil {
			b.Fatal(err)
		}
	}

	b.Run("rsa-baseline", func(b *testing.B) {
		pub := emu.PublicKey().(*rsa.PublicKey)
		i := strings.LastIndexByte(token, '.')
		for b.Loop() {
			sig, _ := base64.RawURLEncoding.DecodeString(token[i+1:])
			sum := sha256.Sum256([]byte(token[:i]))
			if rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) != nil {
				b.Fatal("bad signature")
			}
		}
	})
	b.Run("adapter-uncached", func(b *testing.B) {
		for b.Loop() {
			if _, err := uncached.Verify(ctx, cred); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("adapter-cached", func(b *testing.B) {
		for b.Loop() {
			if _, err := cached.Verify(ctx, cred); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sdk-validator", func(b *testing.B) {
		for b.Loop() {
			if _, err := sdk.ValidateToken(ctx, token); err != nil {
				b.Fatal(err)
			}
		}
	})

	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	middleware := func(a authport.Authenticator) http.Handler {
		web, err := authport.NewWeb(a, authport.Config{BearerOnly: true})
		if err != nil {
			b.Fatal(err)
		}
		return web.Middleware(authport.Require()(ok))
	}
	run := func(h http.Handler) func(b *testing.B) {
		return func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "/api/reports", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusNoContent {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
			}
		}
	}
	b.Run("middleware-authport-uncached", run(middleware(uncached)))
	b.Run("middleware-authport-cached", run(middleware(cached)))
	b.Run("middleware-jwtmiddleware-sdk", run(jwtmiddleware.New(sdk.ValidateToken).CheckJWT(ok)))
	b.Run("middleware-jwtmiddleware-adapter", run(jwtmiddleware.New(cached.ValidateToken).CheckJWT(ok)))
}
