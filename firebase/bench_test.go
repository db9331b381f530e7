package firebase_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"firebase.google.com/go/v4/auth"

	"github.com/authport/authport"
	"github.com/authport/authport/firebase"
	"github.com/authport/authport/firebase/firebasetest"
)

type benchEnv struct {
	e        *firebasetest.Emulator
	idToken  string
	cookie   string
	sdk      *auth.Client
	cached   *firebase.Authenticator
	uncached *firebase.Authenticator
}

func newBenchEnv(b *testing.B) *benchEnv {
	b.Setenv(firebase.EnvEmulatorHost, "")
	e := firebasetest.New(b)
	u, err := e.CreateUser(firebasetest.NewUser{Email: "bench@example.com", Password: "password1", EmailVerified: true,
		Roles: []string{"admin"}, Permissions: []string{"posts:read"}, OrgID: "org_1"})
	if err != nil {
		b.Fatal(err)
	}
	env := &benchEnv{e: e, sdk: sdkClient(b, e)}
	if env.idToken, err = e.MintIDToken(u.ID, nil); err != nil {
		b.Fatal(err)
	}
	if env.cookie, err = e.MintSessionCookie(u.ID, firebase.MaxSessionCookieTTL, nil); err != nil {
		b.Fatal(err)
	}
	for _, size := range []int{0, -1} {
		cfg := e.Config()
		cfg.CacheSize = size
		cfg.Logger = slog.New(slog.DiscardHandler)
		a, err := firebase.New(context.Background(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		if size == 0 {
			env.cached = a
		} else {
			env.uncached = a
		}
	}
	return env
}

type sdkTokenKey struct{}

// sdkMiddleware is how the Admin SDK is used as middleware (it ships
// none): the bearer token through VerifyIDToken, the *auth.Token into the
// request context.
func sdkMiddleware(c *auth.Client, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		t, err := c.VerifyIDToken(r.Context(), tok)
		if err != nil {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), sdkTokenKey{}, t)))
	})
}

// BenchmarkVerify compares the adapter with the Admin SDK's own
// VerifyIDToken / VerifySessionCookie on the same RS256 tokens, with keys
// cached on both sides, and gives the bare crypto/rsa verification of the
// same token as the floor.
func BenchmarkVerify(b *testing.B) {
	env := newBenchEnv(b)
	ctx := context.Background()
	idCred := authport.Credential{Token: env.idToken, Source: authport.SourceHeader}
	ckCred := authport.Credential{Token: env.cookie, Source: authport.SourceCookie, Cookie: firebase.DefaultCookieName}
	for _, a := range []*firebase.Authenticator{env.cached, env.uncached} { // warm the key caches
		if _, err := a.Verify(ctx, idCred); err != nil {
			b.Fatal(err)
		}
		if _, err := a.Verify(ctx, ckCred); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := env.sdk.VerifyIDToken(ctx, env.idToken); err != nil {
		b.Fatal(err)
	}
	if _, err := env.sdk.VerifySessionCookie(ctx, env.cookie); err != nil {
		b.Fatal(err)
	}

	b.Run("Floor_crypto_rsa_RS256", func(b *testing.B) {
		i := strings.LastIndexByte(env.idToken, '.')
		sig, _ := base64.RawURLEncoding.DecodeString(env.idToken[i+1:])
		pub := env.e.Keys.Current().Public.(*rsa.PublicKey)
		b.ReportAllocs()
		for b.Loop() {
			d := sha256.Sum256([]byte(env.idToken[:i]))
			if rsa.VerifyPKCS1v15(pub, crypto.SHA256, d[:], sig) != nil {
				b.Fatal("bad signature")
			}
		}
	})
	run := func(name string, f func() error) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := f(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	run("Adapter_IDToken_uncached", func() error { _, err := env.uncached.Verify(ctx, idCred); return err })
	run("SDK_VerifyIDToken", func() error { _, err := env.sdk.VerifyIDToken(ctx, env.idToken); return err })
	run("Adapter_IDToken_cached", func() error { _, err := env.cached.Verify(ctx, idCred); return err })
	run("Adapter_SessionCookie_uncached", func() error { _, err := env.uncached.Verify(ctx, ckCred); return err })
	run("SDK_VerifySessionCookie", func() error { _, err := env.sdk.VerifySessionCookie(ctx, env.cookie); return err })
	run("Adapter_SessionCookie_cached", func() error { _, err := env.cached.Verify(ctx, ckCred); return err })

	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	middleware := func(name string, h http.Handler) {
		b.Run(name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "/api/me", nil)
			req.Header.Set("Authorization", "Bearer "+env.idToken)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusNoContent {
				b.Fatalf("status %d", rec.Code)
			}
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
			}
		})
	}
	for _, c := range []struct {
		name string
		a    *firebase.Authenticator
	}{{"Middleware_Adapter_uncached", env.uncached}, {"Middleware_Adapter_cached", env.cached}} {
		web, err := authport.NewWeb(c.a, authport.Config{BearerOnly: true})
		if err != nil {
			b.Fatal(err)
		}
		middleware(c.name, web.Middleware(authport.Require()(ok)))
	}
	middleware("Middleware_SDK_VerifyIDToken", sdkMiddleware(env.sdk, ok))
}
