package jwtcore

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/authport/authport"
	"github.com/authport/authport/internal/keyset"
)

func TestVerifyUnsignedForEmulator(t *testing.T) {
	const issuer, aud = "https://securetoken.google.com/demo", "demo"
	k, err := keyset.HMACKey("k", []byte(strings.Repeat("s", 32)), "HS256")
	if err != nil {
		t.Fatal(err)
	}
	src, _ := keyset.NewStatic(k)
	v, err := New(Options{Provider: "test"}, Policy{Issuer: issuer, Audiences: []string{aud}, Algorithms: []string{"HS256"}, Types: []string{"JWT"}, Keys: src})
	if err != nil {
		t.Fatal(err)
	}
	enc := func(x any) string {
		b, _ := json.Marshal(x)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	now := time.Now()
	claims := func() map[string]any {
		return map[string]any{"iss": issuer, "aud": aud, "sub": "u1", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	}
	tok := func(h map[string]any, c map[string]any) string { return enc(h) + "." + enc(c) + "." }
	none := map[string]any{"alg": "none", "typ": "JWT"}
	good := tok(none, claims())

	c, err := v.VerifyUnsignedForEmulator(context.Background(), good)
	if err != nil || c.Subject != "u1" || c.Header.Alg != "none" {
		t.Fatalf("valid unsigned token: %v %+v", err, c)
	}
	// Verify and Session never accept it.
	if _, err := v.Verify(context.Background(), good); !errors.Is(err, authport.ErrInvalidCredential) {
		t.Fatalf("Verify accepted an unsigned token: %v", err)
	}
	with := func(f func(h, c map[string]any)) string {
		h := map[string]any{"alg": "none", "typ": "JWT"}
		cl := claims()
		f(h, cl)
		return tok(h, cl)
	}
	signed, _ := Sign("HS256", []byte(strings.Repeat("s", 32)), map[string]any{"kid": "k"}, claims())
	for name, c := range map[string]struct {
		tok  string
		want *authport.Kind
	}{
		"empty":            {"", authport.ErrNoCredential},
		"signed token":     {signed, authport.ErrInvalidCredential},
		"with a signature": {good + "AAAA", authport.ErrInvalidCredential},
		"two segments":     {strings.TrimSuffix(good, "."), authport.ErrInvalidCredential},
		"four segments":    {good + ".", authport.ErrInvalidCredential},
		"alg None":         {with(func(h, c map[string]any) { h["alg"] = "None" }), authport.ErrInvalidCredential},
		"alg HS256":        {with(func(h, c map[string]any) { h["alg"] = "HS256" }), authport.ErrInvalidCredential},
		"no alg":           {with(func(h, c map[string]any) { delete(h, "alg") }), authport.ErrInvalidCredential},
		"jwk header":       {with(func(h, c map[string]any) { h["jwk"] = map[string]any{} }), authport.ErrInvalidCredential},
		"typ":              {with(func(h, c map[string]any) { h["typ"] = "at+jwt" }), authport.ErrInvalidCredential},
		"issuer":           {with(func(h, c map[string]any) { c["iss"] = issuer + "/" }), authport.ErrInvalidCredential},
		"audience":         {with(func(h, c map[string]any) { c["aud"] = "other" }), authport.ErrInvalidCredential},
		"no sub":           {with(func(h, c map[string]any) { delete(c, "sub") }), authport.ErrInvalidCredential},
		"no exp":           {with(func(h, c map[string]any) { delete(c, "exp") }), authport.ErrInvalidCredential},
		"expired":          {with(func(h, c map[string]any) { c["exp"] = now.Add(-time.Hour).Unix() }), authport.ErrExpired},
		"future iat":       {with(func(h, c map[string]any) { c["iat"] = now.Add(time.Hour).Unix() }), authport.ErrInvalidCredential},
		"padding":          {strings.TrimSuffix(good, ".") + "=.", authport.ErrInvalidCredential},
		"duplicate member": {enc(none) + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"a","sub":"b"}`)) + ".", authport.ErrInvalidCredential},
		"too large":        {tok(none, map[string]any{"x": strings.Repeat("a", DefaultMaxTokenSize)}), authport.ErrInvalidCredential},
	} {
		if _, err := v.VerifyUnsignedForEmulator(context.Background(), c.tok); !errors.Is(err, c.want) {
			t.Errorf("%s: err %v, want %v", name, err, c.want)
		}
	}
}
