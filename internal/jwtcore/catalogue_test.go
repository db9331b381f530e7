package jwtcore_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"sync"
	"testing"
	"time"

	"github.com/authport/authport"
	"github.com/authport/authport/conformance"
	"github.com/authport/authport/internal/jwtcore"
	"github.com/authport/authport/internal/keyset"
)

const catIssuer = "https://catalogue.test"

var (
	catOnce sync.Once
	catKey  *rsa.PrivateKey
)

func catalogueSetup(tb testing.TB) (*jwtcore.Verifier, *conformance.Forger) {
	tb.Helper()
	catOnce.Do(func() {
		var err error
		if catKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	src, err := keyset.NewStatic(keyset.Key{ID: "k1", Algorithm: "RS256", Public: &catKey.PublicKey})
	if err != nil {
		tb.Fatal(err)
	}
	v, err := jwtcore.New(jwtcore.Options{Provider: "catalogue", CacheSize: -1},
		jwtcore.Policy{Issuer: catIssuer, Audiences: []string{"api"}, AuthorizedParties: []string{"https://app.example"}, Keys: src})
	if err != nil {
		tb.Fatal(err)
	}
	f := &conformance.Forger{
		Issuer: catIssuer, Audience: []string{"api"}, AuthorizedParty: "https://app.example", Alg: "RS256", KID: "k1", PublicKey: &catKey.PublicKey,
		Header: func() map[string]any { return map[string]any{"alg": "RS256", "kid": "k1", "typ": "JWT"} },
		Claims: func(sub string) map[string]any {
			now := time.Now()
			return map[string]any{"iss": catIssuer, "aud": "api", "azp": "https://app.example", "sub": sub, "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "jti": "j1"}
		},
		SignRaw: func(h, p []byte) (string, error) { return jwtcore.SignRaw("RS256", catKey, h, p) },
	}
	return v, f
}

// TestCatalogueRefused hands the verification core every token of the
// conformance attack catalogue directly.
func TestCatalogueRefused(t *testing.T) {
	v, f := catalogueSetup(t)
	for name, toks := range conformance.CatalogueTokens(t, f, "u1") {
		for i, tok := range toks {
			if _, err := v.Verify(context.Background(), tok); err == nil {
				t.Errorf("%s token %d accepted", name, i)
			}
		}
	}
}

// FuzzVerifyCatalogue is seeded with the attack catalogue: mutations of the
// attacks must never panic, never report the (static) key source
// unavailable, and never verify a token whose claims are not the trusted
// issuer's.
func FuzzVerifyCatalogue(f *testing.F) {
	v, forger := catalogueSetup(f)
	for _, toks := range conformance.CatalogueTokens(f, forger, "u1") {
		for _, tok := range toks {
			if len(tok) <= 16<<10 {
				f.Add(tok)
			}
		}
	}
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := v.Verify(context.Background(), tok)
		if err != nil {
			if authport.KindOf(err) == authport.ErrProviderUnavailable {
				t.Fatalf("unavailable from a static key set: %v", err)
			}
			return
		}
		if c.Issuer != catIssuer || c.Subject == "" || c.ExpiresAt.IsZero() {
			t.Fatalf("accepted claims %+v", c)
		}
	})
}
