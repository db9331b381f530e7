package auth0_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/authport/authport"
	"github.com/authport/authport/auth0"
	"github.com/authport/authport/auth0/auth0test"
)

// FuzzVerify feeds arbitrary credentials to Verify and ValidateToken: they
// never panic, never accept what was not signed by the tenant, and always
// fail with one of the token kinds. The seeds run in every `go test`.
func FuzzVerify(f *testing.F) {
	emu := auth0test.NewServer(auth0test.Options{})
	f.Cleanup(emu.Close)
	a, err := auth0.New(context.Background(), emu.Config())
	if err != nil {
		f.Fatal(err)
	}
	u, _ := emu.CreateUser(auth0test.NewUser{Email: "f@example.com", Password: pw})
	good, _ := emu.Mint(auth0test.MintRequest{UserID: u.ID})
	expired, _ := emu.Mint(auth0test.MintRequest{UserID: u.ID, Expired: true})
	none, _ := emu.Mint(auth0test.MintRequest{UserID: u.ID, Alg: "none"})
	p := strings.Split(good, ".")
	for _, s := range []string{good, expired, none, "", ".", "..", "a.b.c", p[0] + ".." + p[2], p[0] + "." + p[1] + ".",
		p[0] + "." + p[0] + "." + p[2], good + "=", strings.Repeat("A", 10000), "eyJ.eyJ.x", "\x00\xff.\xfe.\x01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		s, err := a.Verify(context.Background(), authport.Credential{Token: tok, Source: authport.SourceHeader})
		if err == nil {
			if tok != good || s.UserID != u.ID {
				t.Fatalf("accepted a token the tenant did not issue: %q", tok)
			}
			return
		}
		switch authport.KindOf(err) {
		case authport.ErrNoCredential, authport.ErrInvalidCredential, authport.ErrExpired:
		default:
			t.Fatalf("kind %v for %q: %v", authport.KindOf(err), tok, err)
		}
		if _, err := a.ValidateToken(context.Background(), tok); err == nil {
			t.Fatal("ValidateToken accepted what Verify refused")
		}
	})
}

// FuzzConfigFromURL: any auth0:// URL yields a Config or a misconfiguration
// error, never a panic.
func FuzzConfigFromURL(f *testing.F) {
	for _, s := range []string{"auth0://example.auth0.com?audience=x", "auth0://127.0.0.1:1?insecure=1&audience=a,b&leeway=5s",
		"auth0://%zz", "auth0://a?audience", "auth0://[::1]:80?insecure=true&audience=x&issuer=http://[::1]:80/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := url.Parse(raw)
		if err != nil {
			return
		}
		c, err := auth0.ConfigFromURL(u)
		if err != nil {
			return
		}
		_, _ = auth0.New(context.Background(), c)
	})
}
