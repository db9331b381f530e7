package betterauth_test

import (
	"crypto/ed25519"
	"database/sql"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/authport/authport"
	"github.com/authport/authport/betterauth"
	"github.com/authport/authport/betterauth/betterauthtest"
)

// benchQuery is the adapter's lookup as it runs against the library's
// PostgreSQL schema with the admin and organization plugins.
const benchQuery = `SELECT s."id", s."expiresAt", s."createdAt", u."id", u."email", u."emailVerified", u."name", u."role", u."banned", u."banExpires", s."activeOrganizationId", m."role" FROM "session" s JOIN "user" u ON u."id" = s."userId" LEFT JOIN "member" m ON m."organizationId" = s."activeOrganizationId" AND m."userId" = u."id" WHERE s."token" = $1`

func benchSetup(b *testing.B) (*betterauthtest.Server, *betterauthtest.SignIn, *sql.DB) {
	s := betterauthtest.Connect(b)
	email := "bench-" + rnd() + "@example.com"
	if _, _, err := s.CreateUser(b.Context(), betterauthtest.NewUser{Email: email, Password: "Pw-bench-123456", Role: "admin"}); err != nil {
		b.Fatal(err)
	}
	si, err := s.SignIn(b.Context(), email, "Pw-bench-123456", "")
	if err != nil {
		b.Fatal(err)
	}
	db, err := sql.Open("pgx", s.DatabaseURL)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return s, si, db
}

// BenchmarkCookie compares the adapter's session-cookie check (URL decode,
// HMAC-SHA256, one indexed query, mapping) with the bare query of the same
// row over the same connection pool.
func BenchmarkCookie(b *testing.B) {
	s, si, db := benchSetup(b)
	a, err := betterauth.New(b.Context(), betterauth.Config{Secret: s.Secret, DB: db})
	if err != nil {
		b.Fatal(err)
	}
	c := authport.Credential{Token: si.SessionCookie.Value, Source: authport.SourceCookie}
	b.Run("BareQuery", func(b *testing.B) {
		var v [12]any
		ptrs := make([]any, len(v))
		for i := range v {
			ptrs[i] = &v[i]
		}
		for b.Loop() {
			if err := db.QueryRowContext(b.Context(), benchQuery, si.Token).Scan(ptrs...); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Adapter", func(b *testing.B) {
		for b.Loop() {
			if _, err := a.Verify(b.Context(), c); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkJWT compares the adapter's uncached verification of a JWT
// plugin token (EdDSA, the plugin's default) with a bare ed25519.Verify of
// the same bytes, and shows the verified-token cache.
func BenchmarkJWT(b *testing.B) {
	s, si, _ := benchSetup(b)
	tok, err := s.JWT(b.Context(), si)
	if err != nil {
		b.Fatal(err)
	}
	keys, err := s.SigningKeys(b.Context())
	if err != nil || len(keys) == 0 {
		b.Fatal(err)
	}
	var pub struct{ X string }
	_ = jsonUnmarshal(keys[len(keys)-1].PublicJWK, &pub)
	x, _ := base64.RawURLEncoding.DecodeString(pub.X)
	i := strings.LastIndexByte(tok, '.')
	sig, _ := base64.RawURLEncoding.DecodeString(tok[i+1:])
	input := []byte(tok[:i])
	if !ed25519.Verify(ed25519.PublicKey(x), input, sig) {
		b.Fatal("bare verify failed")
	}
	open := func(cache int) *betterauth.Authenticator {
		a, err := betterauth.New(b.Context(), betterauth.Config{BaseURL: s.BaseURL, JWT: true, CacheSize: cache})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := a.Verify(b.Context(), authport.Credential{Token: tok, Source: authport.SourceHeader}); err != nil {
			b.Fatal(err)
		}
		return a
	}
	c := authport.Credential{Token: tok, Source: authport.SourceHeader}
	b.Run("BareEd25519", func(b *testing.B) {
		for b.Loop() {
			if !ed25519.Verify(ed25519.PublicKey(x), input, sig) {
				b.Fatal("verify")
			}
		}
	})
	b.Run("Adapter", func(b *testing.B) {
		a := open(-1)
		for b.Loop() {
			if _, err := a.Verify(b.Context(), c); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("AdapterCached", func(b *testing.B) {
		a := open(0)
		for b.Loop() {
			if _, err := a.Verify(b.Context(), c); err != nil {
				b.Fatal(err)
			}
		}
	})
}
