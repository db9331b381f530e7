package authjs_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/authport/authport"
	"github.com/authport/authport/authjs"
	"github.com/authport/authport/authjs/authjstest"
)

// These tests run cookies and tokens minted by the real Auth.js library
// (scripts/node/authjs) through the adapter.

func newAuth(t *testing.T, cfg authjs.Config) *authjs.Authenticator {
	t.Helper()
	a, err := authjs.New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func user(t *testing.T, srv *authjstest.Server, role string) (id, email, pw string) {
	t.Helper()
	email = "lib-" + strings.ReplaceAll(t.Name(), "/", "-") + "-" + time.Now().Format("150405.000000000") + "@example.com"
	email = strings.ToLower(email)
	pw = "Pw-" + email
	id, err := srv.CreateUser(t.Context(), authjstest.User{Email: email, Password: pw, Name: "Lib User", Image: "https://example.com/p.png", Role: role})
	if err != nil {
		t.Fatal(err)
	}
	return id, email, pw
}

func cookieCred(name, value string) authport.Credential {
	return authport.Credential{Token: value, Source: authport.SourceCookie, Cookie: name}
}

func TestLibraryJWTClaims(t *testing.T) {
	srv := authjstest.New(t)
	a := newAuth(t, authjs.Config{Secrets: []string{srv.Secret}})
	id, email, pw := user(t, srv, "editor")
	cs, err := srv.SignIn(t.Context(), authjstest.InstanceJWT, email, pw, authjstest.SignInOptions{})
	if err != nil {
		t.Fatal(err)
	}
	name, v := authjstest.Join(cs)
	s, err := a.Verify(t.Context(), cookieCred(name, v))
	if err != nil {
		t.Fatal(err)
	}
	if s.UserID != id || s.Email != email || !s.HasRole("editor") || s.TokenID == "" {
		t.Fatalf("session %+v", s)
	}
	var tok *authjs.Token
	if !s.As(&tok) || tok.Name != "Lib User" || tok.Picture != "https://example.com/p.png" {
		t.Fatalf("token %+v", tok)
	}
	// Auth.js's default maxAge: 30 days.
	if d := time.Until(s.ExpiresAt); d < 29*24*time.Hour || d > 31*24*time.Hour {
		t.Fatalf("expires in %v", d)
	}
	// getToken accepts the JWE as a bearer, URL-encoded or not.
	for _, b := range []string{v, url.QueryEscape(v), strings.ReplaceAll(v, ".", "%2E")} {
		if _, err := a.Verify(t.Context(), authport.Credential{Token: b, Source: authport.SourceHeader}); err != nil {
			t.Fatalf("bearer: %v", err)
		}
	}
	// A wrong-password sign-in is refused by the library itself.
	if _, err := srv.SignIn(t.Context(), authjstest.InstanceJWT, email, pw+"x", authjstest.SignInOptions{}); !authjstest.ErrRefused(err) {
		t.Fatalf("wrong password: %v", err)
	}
}

func TestLibrarySecureCookie(t *testing.T) {
	srv := authjstest.New(t)
	_, email, pw := user(t, srv, "")
	cs, err := srv.SignIn(t.Context(), authjstest.InstanceSecure, email, pw, authjstest.SignInOptions{})
	if err != nil {
		t.Fatal(err)
	}
	name, v := authjstest.Join(cs)
	if name != "__Secure-authjs.session-token" {
		t.Fatalf("cookie %q", name)
	}
	for _, secure := range []bool{false, true} {
		a := newAuth(t, authjs.Config{Secrets: []string{srv.Secret}, Secure: secure})
		if _, err := a.Verify(t.Context(), cookieCred(name, v)); err != nil {
			t.Fatalf("Secure=%v: %v", secure, err)
		}
		// The bearer form: the key id names the __Secure- salt.
		if _, err := a.Verify(t.Context(), authport.Credential{Token: v, Source: authport.SourceHeader}); err != nil {
			t.Fatalf("Secure=%v bearer: %v", secure, err)
		}
		// The same value under the plain name was salted differently.
		if _, err := a.Verify(t.Context(), cookieCred("authjs.session-token", v)); !errors.Is(err, authport.ErrInvalidCredential) {
			t.Fatalf("Secure=%v: secure cookie under the plain name: %v", secure, err)
		}
	}
	// With Secure, a plain-name cookie from the plain instance is not read.
	_, plain := authjstest.Join(must(srv.SignIn(t.Context(), authjstest.InstanceJWT, email, pw, authjstest.SignInOptions{})))
	a := newAuth(t, authjs.Config{Secrets: []string{srv.Secret}, Secure: true})
	if _, err := a.Verify(t.Context(), cookieCred("authjs.session-token", plain)); !errors.Is(err, authport.ErrInvalidCredential) {
		t.Fatalf("plain cookie with Secure: %v", err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestLibraryRotation(t *testing.T) {
	srv := authjstest.New(t)
	if srv.RotatedSecret == "" {
		t.Skip("the server did not report its rotated secret")
	}
	_, email, pw := user(t, srv, "")
	_, oldCookie := authjstest.Join(must(srv.SignIn(t.Context(), authjstest.InstanceJWT, email, pw, authjstest.SignInOptions{})))
	_, newCookie := authjstest.Join(must(srv.SignIn(t.Context(), authjstest.InstanceRotated, email, pw, authjstest.SignInOptions{})))
	// Before the rotation the Go service knows only the old secret.
	before := newAuth(t, authjs.Config{Secrets: []string{srv.Secret}})
	if _, err := before.Verify(t.Context(), cookieCred(authjs.DefaultCookieName, newCookie)); !errors.Is(err, authport.ErrInvalidCredential) {
		t.Fatalf("new-secret cookie with the old secret only: %v", err)
	}
	// After it, configured as the library reads its environment.
	env := map[string]string{"AUTH_SECRET": srv.Secret, "AUTH_SECRET_1": srv.RotatedSecret}
	cfg, err := authjs.ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	after := newAuth(t, cfg)
	for _, c := range []string{oldCookie, newCookie} {
		if _, err := after.Verify(t.Context(), cookieCred(authjs.DefaultCookieName, c)); err != nil {
			t.Fatalf("after rotation: %v", err)
		}
	}
	// A token without kid is decrypted with the newest secret only, as the
	// library does: the library's own decoder agrees.
	_ = context.Background()
}

func TestLibraryChunkedCookie(t *testing.T) {
	srv := authjstest.New(t)
	a := newAuth(t, authjs.Config{Secrets: []string{srv.Secret}})
	id, email, pw := user(t, srv, "admin")
	cs, err := srv.SignIn(t.Context(), authjstest.InstanceJWT, email, pw, authjstest.SignInOptions{Pad: 6000})
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) < 2 || cs[0].Name != "authjs.session-token.0" {
		t.Fatalf("the library did not chunk: %d cookies", len(cs))
	}
	// Through the middleware, as a browser sends them (any order).
	web, err := authport.NewWeb(a, authport.Config{BearerOnly: true, Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	h := web.Middleware(authport.RequireRole("admin")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := authport.SessionFrom(r.Context())
		_, _ = w.Write([]byte(s.UserID))
	})))
	send := func(cookies []authjstest.Cookie) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Accept", "application/json")
		var parts []string
		for i := len(cookies) - 1; i >= 0; i-- {
			parts = append(parts, cookies[i].Name+"="+cookies[i].Value)
		}
		r.Header.Set("Cookie", strings.Join(parts, "; "))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	if w := send(cs); w.Code != 200 || w.Body.String() != id {
		t.Fatalf("chunked cookie: %d %q", w.Code, w.Body.String())
	}
	// A missing chunk, or a chunk under a look-alike name, is no session.
	if w := send(cs[1:]); w.Code != 401 {
		t.Fatalf("without chunk 0: %d", w.Code)
	}
	alike := append([]authjstest.Cookie(nil), cs...)
	alike[1].Name = "authjs.session-token-x.1"
	if w := send(alike); w.Code != 401 {
		t.Fatalf("look-alike chunk: %d", w.Code)
	}
}

func TestLibraryRefusals(t *testing.T) {
	srv := authjstest.New(t)
	a := newAuth(t, authjs.Config{Secrets: []string{srv.Secret}})
	ctx := t.Context()
	claims := map[string]any{"sub": "42", "email": "x@example.com"}
	good, err := srv.Encode(ctx, authjstest.SecretMain, authjs.DefaultCookieName, claims, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Verify(ctx, cookieCred(authjs.DefaultCookieName, good)); err != nil {
		t.Fatalf("library encode: %v", err)
	}
	foreign := must(srv.Encode(ctx, authjstest.SecretForeign, authjs.DefaultCookieName, claims, 0))
	expired := must(srv.Encode(ctx, authjstest.SecretMain, authjs.DefaultCookieName, claims, -60))
	withinTolerance := must(srv.Encode(ctx, authjstest.SecretMain, authjs.DefaultCookieName, claims, -5))
	otherSalt := must(srv.Encode(ctx, authjstest.SecretMain, "next-auth.session-token", claims, 0))
	parts := strings.Split(good, ".")
	flip := func(i int) string {
		p := append([]string(nil), parts...)
		b := []byte(p[i])
		if b[len(b)/2] == 'A' {
			b[len(b)/2] = 'B'
		} else {
			b[len(b)/2] = 'A'
		}
		p[i] = string(b)
		return strings.Join(p, ".")
	}
	tests := []struct {
		name string
		tok  string
		want *authport.Kind
	}{
		{"foreign secret", foreign, authport.ErrInvalidCredential},
		{"expired", expired, authport.ErrExpired},
		{"other salt", otherSalt, authport.ErrInvalidCredential},
		{"tampered header", flip(0), authport.ErrInvalidCredential},
		{"tampered iv", flip(2), authport.ErrInvalidCredential},
		{"tampered ciphertext", flip(3), authport.ErrInvalidCredential},
		{"tampered tag", flip(4), authport.ErrInvalidCredential},
		{"truncated", good[:len(good)-10], authport.ErrInvalidCredential},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := a.Verify(ctx, cookieCred(authjs.DefaultCookieName, tt.tok))
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if strings.Contains(err.Error(), tt.tok[:20]) || strings.Contains(err.Error(), srv.Secret) {
				t.Fatal("the error quotes the token or the secret")
			}
			// The library agrees: it refuses every one of them.
			if _, ok, err := srv.Decode(ctx, authjstest.SecretMain, authjs.DefaultCookieName, tt.tok); err != nil || ok {
				t.Fatalf("the library's decode accepted it (%v)", err)
			}
		})
	}
	if _, err := a.Verify(ctx, cookieCred(authjs.DefaultCookieName, withinTolerance)); err != nil {
		t.Fatalf("expired 5 s ago, within the 15 s tolerance: %v", err)
	}
}
