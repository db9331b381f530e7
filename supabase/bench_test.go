package supabase_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/authport/authport"
	"github.com/authport/authport/supabase"
	"github.com/authport/authport/supabase/supabasetest"
)

// BenchmarkVerify measures, in one run, on the same Supabase access token
// (the emulator's, with Supabase's full claim set):
//
//   - Floor_*: the bare crypto check of the signature (crypto/ecdsa for
//     ES256, crypto/hmac for HS256), the least any verifier must do;
//   - Adapter_uncached_*: the adapter's full offline verification with
//     the verified-token cache disabled (JWKS keys cached);
//   - Adapter_cached: a repeat of a verified token (cache hit);
//   - Middleware_cached: authport.Web.Middleware + Require in front of a
//     trivial handler, over an httptest.ResponseRecorder;
//   - SDK_GetUser_loopback: what auth-go offers instead of a verifier —
//     GET /user for every request — against the emulator on loopback (a
//     real project adds the network round trip).
//
// auth-go has no local verifier or middleware, so there is no SDK row to
// compare the adapter's verification with; the floor is the reference.
func BenchmarkVerify(b *testing.B) {
	emu := supabasetest.New(b, supabasetest.Options{Mode: supabasetest.ModeMigration})
	uid, err := emu.CreateUser(supabasetest.User{Email: "bench@example.com", Password: "pw-123456", Roles: []string{"admin", "member"}, Permissions: []string{"reports:read"}})
	if err != nil {
		b.Fatal(err)
	}
	signed, err := emu.SignIn("bench@example.com", "pw-123456")
	if err != nil {
		b.Fatal(err)
	}
	es := signed.AccessToken
	hs, err := emu.Mint(supabasetest.MintOptions{UserID: uid, SessionID: sessionOfB(es), Legacy: true})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	newA := func(cache int) *supabase.Authenticator {
		cfg := emu.Config()
		cfg.CacheSize = cache
		a, err := supabase.New(ctx, cfg)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := a.Verify(ctx, bearer(es)); err != nil { // warm the JWKS
			b.Fatal(err)
		}
		return a
	}
	uncached, cached := newA(-1), newA(0)

	pub := emu.Server().Keys.Current().Public.(*ecdsa.PublicKey)
	i := strings.LastIndexByte(es, '.')
	sig, _ := base64.RawURLEncoding.DecodeString(es[i+1:])
	input := []byte(es[:i])
	b.Run("Floor_crypto_ecdsa_ES256", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			d := sha256.Sum256(input)
			r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
			if !ecdsa.Verify(pub, d[:], r, s) {
				b.Fatal("floor: signature does not verify")
			}
		}
	})
	b.Run("Adapter_uncached_ES256", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := uncached.Verify(ctx, bearer(es)); err != nil {
				b.Fatal(err)
			}
		}
	})
	j := strings.LastIndexByte(hs, '.')
	hsig, _ := base64.RawURLEncoding.DecodeString(hs[j+1:])
	hinput := []byte(hs[:j])
	secret := []byte(emu.JWTSecret)
	b.Run("Floor_crypto_hmac_HS256", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			m := hmac.New(sha256.New, secret)
			m.Write(hinput)
			if !hmac.Equal(m.Sum(nil), hsig) {
				b.Fatal("floor: HMAC does not verify")
			}
		}
	})
	b.Run("Adapter_uncached_HS256", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := uncached.Verify(ctx, bearer(hs)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Adapter_cached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := cached.Verify(ctx, bearer(es)); err != nil {
				b.Fatal(err)
			}
		}
	})
	web, err := authport.NewWeb(cached, authport.Config{BearerOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	h := web.Middleware(authport.Require()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"ok":true}`))
	})))
	req := httptest.NewRequest("GET", "/api/me", nil)
	req.Header.Set("Authorization", "Bearer "+es)
	b.Run("Middleware_cached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != 200 {
				b.Fatalf("status %d", w.Code)
			}
		}
	})
	sdk := uncached.Client().WithToken(es)
	b.Run("SDK_GetUser_loopback", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := sdk.GetUser(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func sessionOfB(tok string) string {
	p := strings.Split(tok, ".")
	b, _ := base64.RawURLEncoding.DecodeString(p[1])
	s := string(b)
	k := `"session_id":"`
	i := strings.Index(s, k)
	if i < 0 {
		return ""
	}
	return s[i+len(k) : i+len(k)+36]
}
