package workos_test

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
	"time"

	"github.com/authport/authport"
	"github.com/authport/authport/internal/emulator"
	"github.com/authport/authport/workos"
	"github.com/authport/authport/workos/workostest"
)

// BenchmarkVerify measures verifying one WorkOS access token (RS256,
// 2048-bit key, keys already fetched). workos-go v4 has no verifier or
// middleware of its own, so the comparisons are:
//
//   - Floor: SHA-256 of the signing input plus crypto/rsa's PKCS #1 v1.5
//     verify with the key already parsed (no base64, no JSON);
//   - Stdlib: the hand-rolled standard-library verifier the differential
//     test uses as its oracle (split, base64, encoding/json, crypto/rsa,
//     exp and iss): what "verify it yourself" costs without the shared
//     core's checks;
//   - Adapter/uncached (verified-token cache off: a signature check every
//     time) and Adapter/cached (the same token again);
//   - Middleware/*: authport.Web.Middleware + Require around a trivial
//     handler, ServeHTTP into an httptest.ResponseRecorder, against the
//     stdlib verifier in a minimal bearer middleware.
//
// Run: go test -run '^$' -bench BenchmarkVerify -benchmem ./workos/
func BenchmarkVerify(b *testing.B) {
	emu := workostest.New(b)
	uid, _ := emu.CreateUser(workostest.NewUser{Email: "bench@example.com", Password: pw})
	org, _ := emu.CreateOrganization("Bench")
	emu.DefineRole("admin", "reports:read", "reports:write")
	emu.AddMembership(uid, org, "admin")
	ss, err := emu.Core().Store.CreateSession(emulator.NewSession{UserID: uid, OrgID: org})
	if err != nil {
		b.Fatal(err)
	}
	tok, err := emu.Mint(workostest.MintRequest{SessionID: ss.ID, ExpiresIn: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	newAdapter := func(cacheSize int) *workos.Authenticator {
		cfg := emu.Config()
		cfg.CacheSize = cacheSize
		a, err := workos.New(ctx, cfg)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := a.Verify(ctx, authport.Credential{Token: tok}); err != nil { // warm the key set
			b.Fatal(err)
		}
		return a
	}
	uncached, cached := newAdapter(-1), newAdapter(0)
	ref := loadRef(b, emu, uncached.Config().Issuers)

	parts := strings.Split(tok, ".")
	input := []byte(parts[0] + "." + parts[1])
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	var pub *rsa.PublicKey
	for _, k := range ref.keys {
		pub = k
	}

	// The emulator core fills a pool of fresh RSA keys in the background
	// after its first key; let it finish so it does not compete with the
	// timed loops on a small machine.
	time.Sleep(3 * time.Second)

	b.Run("Floor_RSA2048", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sum := sha256.Sum256(input)
			if rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) != nil {
				b.Fatal("floor failed")
			}
		}
	})
	b.Run("Stdlib_handrolled", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ref.verify(tok); err != nil {
				b.Fatal(err)
			}
		}
	})
	cred := authport.Credential{Token: tok, Source: authport.SourceHeader}
	b.Run("Adapter_uncached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := uncached.Verify(ctx, cred); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Adapter_cached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := cached.Verify(ctx, cred); err != nil {
				b.Fatal(err)
			}
		}
	})

	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"ok":true}`))
	})
	req := httptest.NewRequest("GET", "/api/me", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	serve := func(b *testing.B, h http.Handler) {
		b.ReportAllocs()
		for b.Loop() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != 200 {
				b.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
		}
	}
	for _, m := range []struct {
		name string
		a    *workos.Authenticator
	}{{"Middleware_adapter_uncached", uncached}, {"Middleware_adapter_cached", cached}} {
		web, err := authport.NewWeb(m.a, authport.Config{BearerOnly: true})
		if err != nil {
			b.Fatal(err)
		}
		h := web.Middleware(authport.Require()(ok))
		b.Run(m.name, func(b *testing.B) { serve(b, h) })
	}
	type key struct{}
	stdlibMW := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !found {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		c, err := ref.verify(t)
		if err != nil {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		ok.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), key{}, c)))
	})
	b.Run("Middleware_stdlib", func(b *testing.B) { serve(b, stdlibMW) })
}
