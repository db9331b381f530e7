package auth0_test

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/authport/authport"
	"github.com/authport/authport/auth0"
	"github.com/authport/authport/auth0/auth0test"
)

func mfaUser(t *testing.T, emu *auth0test.Server, email string) string {
	t.Helper()
	u, err := emu.CreateUser(auth0test.NewUser{Email: email, Password: pw, Metadata: map[string]any{auth0test.MetadataMFA: true}})
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

func TestContinueMFA(t *testing.T) {
	ctx := context.Background()
	emu, a := newEmu(t)
	id := mfaUser(t, emu, "mfa@example.com")
	_, err := a.SignInWithPassword(ctx, "mfa@example.com", pw)
	var ae *authport.ActionError
	if !errors.As(err, &ae) || ae.Action != authport.ActionMFA || !a.CanContinue(ae) || !authport.Has(a, authport.CapContinue) {
		t.Fatalf("sign-in: %v", err)
	}
	if strings.Contains(err.Error(), ae.PendingToken) {
		t.Fatal("the error text carries the mfa_token")
	}
	if _, err := a.ContinueSignIn(ctx, ae, authport.ActionInput{}); !errors.Is(err, authport.ErrInvalidInput) {
		t.Fatalf("no code: %v", err)
	}
	otp, _ := emu.OTP("mfa@example.com")
	wrong := "000000"
	if otp == wrong {
		wrong = "111111"
	}
	_, err = a.ContinueSignIn(ctx, ae, authport.ActionInput{Code: wrong})
	if !errors.Is(err, authport.ErrInvalidCredential) {
		t.Fatalf("wrong code: %v", err)
	}
	noLeak(t, err, ae.PendingToken, wrong, emu.ClientSecret())
	tok, err := a.ContinueSignIn(ctx, ae, authport.ActionInput{Code: otp})
	if err != nil {
		t.Fatal(err)
	}
	s, err := a.Verify(ctx, authport.Credential{Token: tok.AccessToken, Source: authport.SourceHeader})
	if err != nil || s.UserID != id || tok.RefreshToken == "" {
		t.Fatalf("session %+v %v", s, err)
	}
	if _, err := a.ContinueSignIn(ctx, ae, authport.ActionInput{Code: otp}); !errors.Is(err, authport.ErrInvalidCredential) {
		t.Fatalf("spent mfa_token: %v", err)
	}

	// An mfa_token lives 10 minutes.
	_, err = a.SignInWithPassword(ctx, "mfa@example.com", pw)
	errors.As(err, &ae)
	emu.Clock().Advance(11 * time.Minute)
	otp, _ = emu.OTP("mfa@example.com")
	if _, err := a.ContinueSignIn(ctx, ae, authport.ActionInput{Code: otp}); !errors.Is(err, authport.ErrInvalidCredential) {
		t.Fatalf("expired mfa_token: %v", err)
	}
	for _, e := range []*authport.ActionError{
		{Action: authport.ActionVerifyEmail, Provider: auth0.Name, PendingToken: "x"},
		{Action: authport.ActionMFA, Provider: "workos", PendingToken: "x"},
		{Action: authport.ActionMFA, Provider: auth0.Name},
	} {
		if a.CanContinue(e) {
			t.Errorf("CanContinue(%+v)", e)
		}
		if _, err := a.ContinueSignIn(ctx, e, authport.ActionInput{Code: "123456"}); err == nil {
			t.Errorf("ContinueSignIn(%+v) succeeded", e)
		}
	}
}

// TestWebContinueMFA signs in through authport.Web's password form as a
// user enrolled in MFA and finishes on /auth/continue with the
// authenticator's code.
func TestWebContinueMFA(t *testing.T) {
	emu, a := newEmu(t)
	id := mfaUser(t, emu, "web-mfa@example.com")
	key := make([]byte, 32)
	rand.Read(key)
	web, err := authport.NewWeb(a, authport.Config{CookieKeys: [][]byte{key}, Insecure: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", web.Handler())
	mux.Handle("/app/", authport.Require()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := authport.SessionFrom(r.Context())
		io.WriteString(w, s.UserID)
	})))
	srv := httptest.NewServer(web.Middleware(mux))
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	read := func(res *http.Response, err error) (*http.Response, string) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res, string(b)
	}
	res, _ := read(c.PostForm(srv.URL+"/auth/login", url.Values{"email": {"web-mfa@example.com"}, "password": {pw}, "return_to": {"/app/"}}))
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/auth/continue" {
		t.Fatalf("sign-in answered %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	req, _ := http.NewRequest("GET", srv.URL+"/auth/continue", nil)
	req.Header.Set("Accept", "text/html")
	res, body := read(c.Do(req))
	if res.StatusCode != 200 || !strings.Contains(body, "Two-step verification") || !strings.Contains(body, `autocomplete="one-time-code"`) {
		t.Fatalf("continue page %d:\n%s", res.StatusCode, body)
	}
	if res, body = read(c.PostForm(srv.URL+"/auth/continue", url.Values{"code": {"12345x"}})); res.StatusCode != 401 || !strings.Contains(body, `role="alert"`) {
		t.Fatalf("wrong code answered %d", res.StatusCode)
	}
	otp, _ := emu.OTP("web-mfa@example.com")
	if res, _ = read(c.PostForm(srv.URL+"/auth/continue", url.Values{"code": {otp}})); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/app/" {
		t.Fatalf("code answered %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if res, body = read(c.Get(srv.URL + "/app/")); res.StatusCode != 200 || body != id {
		t.Fatalf("app answered %d %q", res.StatusCode, body)
	}
}
