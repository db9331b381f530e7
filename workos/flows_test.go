package workos_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/workos/workos-go/v4/pkg/organizations"
	"github.com/workos/workos-go/v4/pkg/usermanagement"

	"github.com/authport/authport"
	"github.com/authport/authport/internal/emulator"
	"github.com/authport/authport/workos"
	"github.com/authport/authport/workos/workostest"
)

const pw = "correct horse battery staple"

type fixture struct {
	emu *workostest.Emulator
	a   *workos.Authenticator
}

func setup(t *testing.T, o ...workostest.Options) *fixture {
	t.Helper()
	emu := workostest.New(t, o...)
	a, err := workos.New(t.Context(), emu.Config())
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{emu: emu, a: a}
}

func (f *fixture) user(t *testing.T, u workostest.NewUser) string {
	t.Helper()
	if u.Password == "" {
		u.Password = pw
	}
	id, err := f.emu.CreateUser(u)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (f *fixture) verify(t *testing.T, tok string) *authport.Session {
	t.Helper()
	s, err := f.a.Verify(t.Context(), authport.Credential{Token: tok, Source: authport.SourceHeader})
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return s
}

func wantAction(t *testing.T, err error, want authport.Action) *authport.ActionError {
	t.Helper()
	var ae *authport.ActionError
	if !errors.As(err, &ae) || !errors.Is(err, authport.ErrActionRequired) {
		t.Fatalf("error %v, want ActionError %s", err, want)
	}
	if ae.Action != want || ae.PendingToken == "" || ae.Provider != "workos" {
		t.Fatalf("action error %+v, want %s with a pending token", ae, want)
	}
	if strings.Contains(err.Error(), ae.PendingToken) {
		t.Fatal("error text carries the pending token")
	}
	return ae
}

func TestPasswordSignIn(t *testing.T) {
	f := setup(t)
	id := f.user(t, workostest.NewUser{Email: "ada@example.com"})
	tok, err := f.a.SignInWithPassword(t.Context(), "ada@example.com", pw)
	if err != nil {
		t.Fatal(err)
	}
	if tok.UserID != id || !strings.HasPrefix(tok.SessionID, "session_") || tok.RefreshToken == "" {
		t.Fatalf("tokens %+v", tok)
	}
	if d := time.Until(tok.ExpiresAt); d < 4*time.Minute || d > 5*time.Minute+time.Second {
		t.Fatalf("access token lives %v, want about 5 min", d)
	}
	s := f.verify(t, tok.AccessToken)
	if s.UserID != id || s.SessionID != tok.SessionID || s.Email != "" || s.OrgID != "" {
		t.Fatalf("session %+v", s)
	}
	for _, c := range []struct{ email, pass string }{{"ada@example.com", "wrong"}, {"nobody@example.com", pw}} {
		_, err := f.a.SignInWithPassword(t.Context(), c.email, c.pass)
		if !errors.Is(err, authport.ErrInvalidCredential) {
			t.Fatalf("%s: %v, want invalid credential", c.email, err)
		}
		if strings.Contains(err.Error(), c.email) {
			t.Fatal("error text echoes the email address")
		}
	}
	for _, c := range []struct{ email, pass string }{{"", pw}, {"ada@example.com", ""}, {"not-an-email", pw}, {"a b@example.com", pw}} {
		if _, err := f.a.SignInWithPassword(t.Context(), c.email, c.pass); !errors.Is(err, authport.ErrInvalidInput) {
			t.Fatalf("%q: %v, want invalid input", c.email, err)
		}
	}
}

func TestOrganizationClaims(t *testing.T) {
	f := setup(t)
	id := f.user(t, workostest.NewUser{Email: "grace@example.com", FeatureFlags: []string{"beta"}, Impersonator: "support@workos.example"})
	org, _ := f.emu.CreateOrganization("Acme", "audit-logs")
	f.emu.DefineRole("admin", "posts:read", "posts:write")
	if _, err := f.emu.AddMembership(id, org, "admin"); err != nil {
		t.Fatal(err)
	}
	tok, err := f.a.SignInWithPassword(t.Context(), "grace@example.com", pw)
	if err != nil {
		t.Fatal(err)
	}
	s := f.verify(t, tok.AccessToken)
	if s.OrgID != org || !slices.Equal(s.Roles, []string{"admin"}) || !slices.Equal(s.Permissions, []string{"posts:read", "posts:write"}) {
		t.Fatalf("session %+v", s)
	}
	var c *workos.AccessTokenClaims
	if !s.As(&c) {
		t.Fatal("As(*AccessTokenClaims) failed")
	}
	if c.Role != "admin" || !slices.Equal(c.Entitlements, []string{"audit-logs"}) || !slices.Equal(c.FeatureFlags, []string{"beta"}) ||
		c.Actor == nil || c.Actor.Subject != "support@workos.example" || c.ClientID != f.emu.ClientID {
		t.Fatalf("claims %+v", c)
	}
	if !slices.Contains(s.AuthMethods, workos.AuthMethodImpersonation) {
		t.Fatalf("auth methods %v", s.AuthMethods)
	}
	ctx := authport.WithSession(t.Context(), s)
	if err := authport.Check(ctx, authport.Role("admin"), authport.Permission("posts:write"), authport.Org(org)); err != nil {
		t.Fatalf("guards: %v", err)
	}
	if err := authport.Check(ctx, authport.Permission("posts:delete")); !errors.Is(err, authport.ErrForbidden) {
		t.Fatalf("missing permission: %v", err)
	}
}

func TestRefreshRotatesAndSwitchesOrganization(t *testing.T) {
	f := setup(t)
	id := f.user(t, workostest.NewUser{Email: "linus@example.com"})
	org1, _ := f.emu.CreateOrganization("One")
	org2, _ := f.emu.CreateOrganization("Two")
	f.emu.AddMembership(id, org1, "member")
	other, _ := f.emu.CreateOrganization("Not mine")

	// Two memberships: WorkOS asks which organisation.
	f.emu.AddMembership(id, org2, "admin")
	_, err := f.a.SignInWithPassword(t.Context(), "linus@example.com", pw)
	ae := wantAction(t, err, authport.ActionSelectOrganization)
	if !slices.Equal(ae.Organizations, []string{org1, org2}) {
		t.Fatalf("organisations %v", ae.Organizations)
	}
	if _, err := f.a.CompleteOrganizationSelection(t.Context(), ae.PendingToken, other); !errors.Is(err, authport.ErrInvalidCredential) {
		t.Fatalf("selecting a foreign organisation: %v", err)
	}
	tok, err := f.a.CompleteOrganizationSelection(t.Context(), ae.PendingToken, org1)
	if err != nil {
		t.Fatal(err)
	}
	if s := f.verify(t, tok.AccessToken); s.OrgID != org1 || !s.HasRole("member") {
		t.Fatalf("session %+v", s)
	}
	if _, err := f.a.CompleteOrganizationSelection(t.Context(), ae.PendingToken, org1); !errors.Is(err, authport.ErrInvalidCredential) {
		t.Fatalf("pending token reused: %v", err)
	}

	next, err := f.a.Refresh(t.Context(), tok.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if next.RefreshToken == tok.RefreshToken || next.SessionID != tok.SessionID || next.AccessToken == tok.AccessToken {
		t.Fatalf("refresh did not rotate: %+v", next)
	}
	if _, err := f.a.Refresh(t.Context(), tok.RefreshToken); !errors.Is(err, authport.ErrInvalidCredential) {
		t.Fatalf("reused refresh token: %v", err)
	}
	if _, err := f.a.SwitchOrganization(t.Context(), next.RefreshToken, other); !errors.Is(err, authport.ErrInvalidCredential) {
		t.Fatalf("switch to a foreign organisation: %v", err)
	}
	switched, err := f.a.SwitchOrganization(t.Context(), next.RefreshToken, org2)
	if err != nil {
		t.Fatalf("switch (the failed switch must not spend the token): %v", err)
	}
	if s := f.verify(t, switched.AccessToken); s.OrgID != org2 || !s.HasRole("admin") || s.SessionID != tok.SessionID {
		t.Fatalf("switched session %+v", s)
	}
	for _, bad := range []string{"", strings.Repeat("x", 5000)} {
		if _, err := f.a.Refresh(t.Context(), bad); err == nil {
			t.Fatal("bad refresh token accepted")
		}
	}
	if _, err := f.a.SwitchOrganization(t.Context(), switched.RefreshToken, ""); !errors.Is(err, authport.ErrInvalidInput) {
		t.Fatalf("empty org: %v", err)
	}
}

func TestActionErrors(t *testing.T) {
	f := setup(t, workostest.Options{RequireEmailVerification: true})
	f.user(t, workostest.NewUser{Email: "mfa@example.com", MFAEnrolled: true})
	_, err := f.a.SignInWithPassword(t.Context(), "mfa@example.com", pw)
	wantAction(t, err, authport.ActionMFA)

	f.user(t, workostest.NewUser{Email: "sso@example.com", SSOConnection: "conn_01TEST"})
	_, err = f.a.SignInWithPassword(t.Context(), "sso@example.com", pw)
	wantAction(t, err, authport.ActionSSO)

	f.user(t, workostest.NewUser{Email: "new@example.com", Unverified: true})
	_, err = f.a.SignInWithPassword(t.Context(), "new@example.com", pw)
	ae := wantAction(t, err, authport.ActionVerifyEmail)
	code := f.emu.EmailVerificationCode(ae.PendingToken)
	if len(code) != 6 {
		t.Fatalf("code %q", code)
	}
	if _, err := f.a.CompleteEmailVerification(t.Context(), ae.PendingToken, "000000x"); !errors.Is(err, authport.ErrInvalidCredential) {
		t.Fatalf("wrong code: %v", err)
	}
	tok, err := f.a.CompleteEmailVerification(t.Context(), ae.PendingToken, code)
	if err != nil {
		t.Fatal(err)
	}
	f.verify(t, tok.AccessToken)
	if _, err := f.a.SignInWithPassword(t.Context(), "new@example.com", pw); err != nil {
		t.Fatalf("verified user signs in: %v", err)
	}

	g := setup(t, workostest.Options{RequireMFA: true})
	g.user(t, workostest.NewUser{Email: "enrol@example.com"})
	_, err = g.a.SignInWithPassword(t.Context(), "enrol@example.com", pw)
	wantAction(t, err, authport.ActionMFA)
}

func TestSignUp(t *testing.T) {
	f := setup(t)
	tok, err := f.a.SignUp(t.Context(), "sign-up@example.com", pw)
	if err != nil {
		t.Fatal(err)
	}
	if s := f.verify(t, tok.AccessToken); s.UserID != tok.UserID || !strings.HasPrefix(s.UserID, "user_") {
		t.Fatalf("session %+v", s)
	}
	if _, err := f.a.SignUp(t.Context(), "sign-up@example.com", pw); !errors.Is(err, authport.ErrInvalidCredential) {
		t.Fatalf("duplicate sign-up: %v", err)
	}
	g := setup(t, workostest.Options{RequireEmailVerification: true})
	_, err = g.a.SignUp(t.Context(), "verify-me@example.com", pw)
	ae := wantAction(t, err, authport.ActionVerifyEmail)
	if _, err := g.a.CompleteEmailVerification(t.Context(), ae.PendingToken, g.emu.EmailVerificationCode(ae.PendingToken)); err != nil {
		t.Fatal(err)
	}
}

func TestRevoke(t *testing.T) {
	f := setup(t)
	f.user(t, workostest.NewUser{Email: "rev@example.com"})
	other, err := workos.New(t.Context(), f.emu.Config()) // another process
	if err != nil {
		t.Fatal(err)
	}
	tok, err := f.a.SignInWithPassword(t.Context(), "rev@example.com", pw)
	if err != nil {
		t.Fatal(err)
	}
	s := f.verify(t, tok.AccessToken)
	if _, err := other.Verify(t.Context(), authport.Credential{Token: tok.AccessToken}); err != nil {
		t.Fatal(err)
	}
	if err := f.a.Revoke(t.Context(), s, tok); err != nil {
		t.Fatal(err)
	}
	if _, err := f.a.Verify(t.Context(), authport.Credential{Token: tok.AccessToken}); !errors.Is(err, authport.ErrRevoked) {
		t.Fatalf("this adapter after revoke: %v, want ErrRevoked", err)
	}
	// Another process still accepts the token (no introspection at
	// WorkOS) until it expires: the declared revocation delay.
	if _, err := other.Verify(t.Context(), authport.Credential{Token: tok.AccessToken}); err != nil {
		t.Fatalf("other process: %v", err)
	}
	if _, err := other.Refresh(t.Context(), tok.RefreshToken); !errors.Is(err, authport.ErrInvalidCredential) {
		t.Fatalf("refresh after revoke: %v", err)
	}
	// Revoking again (WorkOS answers 404) is not an error.
	if err := f.a.Revoke(t.Context(), s, nil); err != nil {
		t.Fatalf("second revoke: %v", err)
	}
	// The session id can come from the tokens alone.
	tok2, _ := f.a.SignInWithPassword(t.Context(), "rev@example.com", pw)
	if err := other.Revoke(t.Context(), nil, &authport.Tokens{AccessToken: tok2.AccessToken}); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Verify(t.Context(), authport.Credential{Token: tok2.AccessToken}); !errors.Is(err, authport.ErrRevoked) {
		t.Fatalf("revoked from tokens: %v", err)
	}
	if err := f.a.Revoke(t.Context(), &authport.Session{}, nil); !errors.Is(err, authport.ErrInvalidInput) {
		t.Fatalf("revoke without a session id: %v", err)
	}
}

func TestLogoutURL(t *testing.T) {
	f := setup(t)
	f.user(t, workostest.NewUser{Email: "out@example.com"})
	tok, _ := f.a.SignInWithPassword(t.Context(), "out@example.com", pw)
	if !authport.Has(f.a, authport.CapLogoutRedirect) {
		t.Fatal("WorkOS adapter is not a LogoutRedirector")
	}
	tests := []struct {
		name     string
		s        *authport.Session
		returnTo string
		kind     *authport.Kind // nil: a URL
	}{
		{"session and return URL", &authport.Session{SessionID: tok.SessionID}, "http://localhost:3000/bye", nil},
		{"no return URL", &authport.Session{SessionID: tok.SessionID}, "", nil},
		{"nil session", nil, "http://localhost:3000/bye", authport.ErrInvalidInput},
		{"no session id", &authport.Session{UserID: "user_1"}, "", authport.ErrInvalidInput},
		{"script return URL", &authport.Session{SessionID: "session_1"}, "javascript:alert(1)", authport.ErrInvalidInput},
		{"relative return URL", &authport.Session{SessionID: "session_1"}, "/bye", authport.ErrInvalidInput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := f.a.LogoutURL(t.Context(), tt.s, tt.returnTo)
			if tt.kind != nil {
				if !errors.Is(err, tt.kind) || u != "" {
					t.Fatalf("LogoutURL = %q, %v; want %v", u, err, tt.kind)
				}
				return
			}
			pu, perr := url.Parse(u)
			if err != nil || perr != nil || !strings.HasPrefix(u, f.emu.URL+"/user_management/sessions/logout?") ||
				pu.Query().Get("session_id") != tt.s.SessionID || pu.Query().Get("return_to") != tt.returnTo {
				t.Fatalf("LogoutURL = %q, %v", u, err)
			}
		})
	}

	// The emulator ends the session and sends the browser back.
	u, _ := f.a.LogoutURL(t.Context(), &authport.Session{SessionID: tok.SessionID}, "http://localhost:3000/bye")
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound || res.Header.Get("Location") != "http://localhost:3000/bye" {
		t.Fatalf("logout answered %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if _, err := f.a.Refresh(t.Context(), tok.RefreshToken); err == nil {
		t.Fatal("refresh works after browser logout")
	}
}

// TestEmulatorLogoutReturnTo checks that the emulated logout endpoint
// redirects only to an allowed return URL.
func TestEmulatorLogoutReturnTo(t *testing.T) {
	tests := []struct {
		name      string
		allowed   []string
		returnTo  string
		wantCode  int
		wantLoc   string
		wantEnded bool
	}{
		{"loopback by default", nil, "http://127.0.0.1:8080/", http.StatusFound, "http://127.0.0.1:8080/", true},
		{"foreign host refused by default", nil, "https://evil.example/", http.StatusBadRequest, "", false},
		{"listed", []string{"https://app.example/"}, "https://app.example/", http.StatusFound, "https://app.example/", true},
		{"not listed", []string{"https://app.example/"}, "https://app.example/other", http.StatusBadRequest, "", false},
		{"no return URL", nil, "", http.StatusOK, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t, workostest.Options{RedirectURIs: tt.allowed})
			f.user(t, workostest.NewUser{Email: "out@example.com"})
			tok, _ := f.a.SignInWithPassword(t.Context(), "out@example.com", pw)
			q := url.Values{"session_id": {tok.SessionID}}
			if tt.returnTo != "" {
				q.Set("return_to", tt.returnTo)
			}
			c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			res, err := c.Get(f.emu.URL + "/user_management/sessions/logout?" + q.Encode())
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != tt.wantCode || res.Header.Get("Location") != tt.wantLoc {
				t.Fatalf("logout answered %d %q", res.StatusCode, res.Header.Get("Location"))
			}
			_, err = f.a.Refresh(t.Context(), tok.RefreshToken)
			if ended := err != nil; ended != tt.wantEnded {
				t.Fatalf("session ended %v, want %v (%v)", ended, tt.wantEnded, err)
			}
		})
	}
}

// TestWebLogoutRedirect signs in through authport.Web and the hosted page,
// then signs out as a browser: Web revokes, clears its cookie and sends the
// browser through WorkOS's logout page back to AfterLogoutPath.
func TestWebLogoutRedirect(t *testing.T) {
	tests := []struct {
		name      string
		after     string
		browser   bool
		wantFinal string // path the browser ends on ("" for an API client)
	}{
		{"browser form", "", true, "/"},
		{"browser form, custom landing", "/goodbye", true, "/goodbye"},
		{"API client", "", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t)
			id := f.user(t, workostest.NewUser{Email: "web@example.com"})
			key := make([]byte, 32)
			rand.Read(key)
			web, err := authport.NewWeb(f.a, authport.Config{CookieKeys: [][]byte{key}, Insecure: true, AfterLogoutPath: tt.after,
				Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			mux := http.NewServeMux()
			mux.Handle("/auth/", web.Handler())
			mux.Handle("/app/", authport.Require()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "app") })))
			mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "landing "+r.URL.Path) })
			srv := httptest.NewServer(web.Middleware(mux))
			defer srv.Close()
			jar, _ := cookiejar.New(nil)
			c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

			res, err := c.Get(srv.URL + "/auth/login?via=redirect&return_to=/app/")
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			back, err := emulator.SubmitLogin(t.Context(), c, res.Header.Get("Location"), "web@example.com", pw)
			if err != nil {
				t.Fatal(err)
			}
			if res, err = c.Get(back.String()); err != nil || res.StatusCode != http.StatusSeeOther {
				t.Fatalf("callback: %v %v", res, err)
			}
			res.Body.Close()
			live := f.emu.Core().Store.Sessions(id)
			if len(live) != 1 || !live[0].Status.Live() {
				t.Fatalf("sessions after sign-in: %+v", live)
			}

			req, _ := http.NewRequest("POST", srv.URL+"/auth/logout", strings.NewReader(""))
			req.Header.Set("Origin", srv.URL)
			if tt.browser {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Accept", "text/html")
			}
			res, err = c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			loc := res.Header.Get("Location")
			if !tt.browser {
				if res.StatusCode != http.StatusNoContent || loc != "" {
					t.Fatalf("API logout: %d %q", res.StatusCode, loc)
				}
			} else {
				landing := srv.URL + tt.wantFinal
				lu, _ := url.Parse(loc)
				if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, f.emu.URL+"/user_management/sessions/logout?") ||
					lu.Query().Get("session_id") != live[0].ID || lu.Query().Get("return_to") != landing {
					t.Fatalf("logout answered %d %q, want WorkOS's logout page returning to %s", res.StatusCode, loc, landing)
				}
				// The provider's page sends the browser back to the app.
				res, err = c.Get(loc)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				if res.StatusCode != http.StatusFound || res.Header.Get("Location") != landing {
					t.Fatalf("WorkOS logout answered %d %q", res.StatusCode, res.Header.Get("Location"))
				}
				res, err = c.Get(landing)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != 200 || string(body) != "landing "+tt.wantFinal {
					t.Fatalf("landing: %d %q", res.StatusCode, body)
				}
			}
			if s := f.emu.Core().Store.Sessions(id); len(s) != 1 || s[0].Status.Live() {
				t.Fatalf("session still live at WorkOS: %+v", s)
			}
			// Signed out here too: /app/ sends a browser to sign-in.
			req, _ = http.NewRequest("GET", srv.URL+"/app/", nil)
			req.Header.Set("Accept", "text/html")
			if res, err = c.Do(req); err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/auth/login") {
				t.Fatalf("/app/ after sign-out: %d %q", res.StatusCode, res.Header.Get("Location"))
			}
		})
	}
}

func pkce() (verifier, challenge string) {
	b := make([]byte, 32)
	rand.Read(b)
	verifier = base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

func TestRedirectSignIn(t *testing.T) {
	f := setup(t)
	id := f.user(t, workostest.NewUser{Email: "hosted@example.com"})
	verifier, challenge := pkce()
	const redirect = "http://127.0.0.1:9/callback"
	raw, err := f.a.AuthorizeURL(t.Context(), authport.AuthorizeRequest{RedirectURI: redirect, State: "st-1", CodeChallenge: challenge, ScreenHint: "sign-in"})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(raw)
	q := u.Query()
	if u.Path != "/user_management/authorize" || q.Get("provider") != "authkit" || q.Get("client_id") != f.emu.ClientID ||
		q.Get("code_challenge") != challenge || q.Get("code_challenge_method") != "S256" || q.Get("state") != "st-1" || q.Get("response_type") != "code" {
		t.Fatalf("authorize URL %q", raw)
	}
	back, err := emulator.SubmitLogin(t.Context(), nil, raw, "hosted@example.com", pw)
	if err != nil {
		t.Fatal(err)
	}
	if back.Query().Get("state") != "st-1" || back.Query().Get("code") == "" {
		t.Fatalf("callback %q", back)
	}
	if _, err := f.a.Exchange(t.Context(), authport.Callback{Query: back.Query(), CodeVerifier: "wrong-" + verifier}); !errors.Is(err, authport.ErrInvalidCredential) {
		t.Fatalf("wrong verifier: %v", err)
	}
	// The failed exchange spent the code (single use); sign in again.
	back, _ = emulator.SubmitLogin(t.Context(), nil, raw, "hosted@example.com", pw)
	tok, err := f.a.Exchange(t.Context(), authport.Callback{Query: back.Query(), CodeVerifier: verifier, RedirectURI: redirect})
	if err != nil {
		t.Fatal(err)
	}
	if s := f.verify(t, tok.AccessToken); s.UserID != id {
		t.Fatalf("session %+v", s)
	}
	if _, err := f.a.Exchange(t.Context(), authport.Callback{Query: back.Query(), CodeVerifier: verifier}); !errors.Is(err, authport.ErrInvalidCredential) {
		t.Fatalf("code reuse: %v", err)
	}

	bad := []struct {
		name string
		r    authport.AuthorizeRequest
		kind *authport.Kind
	}{
		{"no state", authport.AuthorizeRequest{RedirectURI: redirect, CodeChallenge: challenge}, authport.ErrInvalidInput},
		{"no PKCE", authport.AuthorizeRequest{RedirectURI: redirect, State: "s"}, authport.ErrInvalidInput},
		{"no redirect", authport.AuthorizeRequest{State: "s", CodeChallenge: challenge}, authport.ErrMisconfigured},
		{"bad hint", authport.AuthorizeRequest{RedirectURI: redirect, State: "s", CodeChallenge: challenge, ScreenHint: "register"}, authport.ErrInvalidInput},
		{"bad redirect", authport.AuthorizeRequest{RedirectURI: "javascript:x", State: "s", CodeChallenge: challenge}, authport.ErrInvalidInput},
	}
	for _, b := range bad {
		if _, err := f.a.AuthorizeURL(t.Context(), b.r); authport.KindOf(err) != b.kind {
			t.Errorf("%s: %v, want %v", b.name, err, b.kind)
		}
	}
	for name, cb := range map[string]authport.Callback{
		"provider error": {Query: url.Values{"error": {"access_denied"}}, CodeVerifier: verifier},
		"no code":        {Query: url.Values{}, CodeVerifier: verifier},
		"two codes":      {Query: url.Values{"code": {"a", "b"}}, CodeVerifier: verifier},
		"no verifier":    {Query: url.Values{"code": {"a"}}},
	} {
		if _, err := f.a.Exchange(t.Context(), cb); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestRedirectToOrganization(t *testing.T) {
	f := setup(t)
	id := f.user(t, workostest.NewUser{Email: "multi@example.com"})
	o1, _ := f.emu.CreateOrganization("One")
	o2, _ := f.emu.CreateOrganization("Two")
	f.emu.AddMembership(id, o1, "")
	f.emu.AddMembership(id, o2, "admin")
	verifier, challenge := pkce()
	raw, err := f.a.AuthorizeURL(t.Context(), authport.AuthorizeRequest{RedirectURI: "http://localhost/cb", State: "s", CodeChallenge: challenge, Organization: o2})
	if err != nil {
		t.Fatal(err)
	}
	if u, _ := url.Parse(raw); u.Query().Get("organization_id") != o2 || u.Query().Has("provider") {
		t.Fatalf("authorize URL %q", raw)
	}
	back, err := emulator.SubmitLogin(t.Context(), nil, raw, "multi@example.com", pw)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := f.a.Exchange(t.Context(), authport.Callback{Query: back.Query(), CodeVerifier: verifier})
	if err != nil {
		t.Fatal(err)
	}
	if s := f.verify(t, tok.AccessToken); s.OrgID != o2 || !s.HasRole("admin") {
		t.Fatalf("session %+v", s)
	}
	// Without an organisation, the code exchange asks which one.
	verifier, challenge = pkce()
	raw, _ = f.a.AuthorizeURL(t.Context(), authport.AuthorizeRequest{RedirectURI: "http://localhost/cb", State: "s", CodeChallenge: challenge})
	back, _ = emulator.SubmitLogin(t.Context(), nil, raw, "multi@example.com", pw)
	_, err = f.a.Exchange(t.Context(), authport.Callback{Query: back.Query(), CodeVerifier: verifier})
	wantAction(t, err, authport.ActionSelectOrganization)
}

// TestWebHandlers drives authport's own /auth endpoints (login redirect,
// hosted page, callback, session, logout) against the emulator.
func TestWebHandlers(t *testing.T) {
	f := setup(t)
	id := f.user(t, workostest.NewUser{Email: "web@example.com"})
	key := make([]byte, 32)
	rand.Read(key)
	web, err := authport.NewWeb(f.a, authport.Config{CookieKeys: [][]byte{key}, Insecure: true, Logger: slog.New(slog.DiscardHandler)})
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

	res, err := c.Get(srv.URL + "/auth/login?via=redirect&return_to=/app/home")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, f.emu.URL+"/user_management/authorize?") {
		body, _ := io.ReadAll(res.Body)
		t.Fatalf("login answered %d %q %s", res.StatusCode, loc, body)
	}
	back, err := emulator.SubmitLogin(t.Context(), c, loc, "web@example.com", pw)
	if err != nil {
		t.Fatal(err)
	}
	res, err = c.Get(back.String())
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/app/home" {
		t.Fatalf("callback answered %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	res, err = c.Get(srv.URL + "/app/home")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(body) != id {
		t.Fatalf("app answered %d %q", res.StatusCode, body)
	}
	req, _ := http.NewRequest("POST", srv.URL+"/auth/logout", nil)
	req.Header.Set("Origin", srv.URL)
	res, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNoContent {
		t.Fatalf("logout answered %d", res.StatusCode)
	}
	if sessions := f.emu.Core().Store.Sessions(id); len(sessions) != 1 || sessions[0].Status != emulator.StatusRevoked {
		t.Fatalf("sessions after logout: %+v", sessions)
	}
}

func TestIssuerForms(t *testing.T) {
	for _, iss := range []string{"https://api.workos.com/", "https://api.workos.com"} {
		t.Run(iss, func(t *testing.T) {
			f := setup(t, workostest.Options{Issuer: iss})
			f.user(t, workostest.NewUser{Email: "iss@example.com"})
			tok, err := f.a.SignInWithPassword(t.Context(), "iss@example.com", pw)
			if err != nil {
				t.Fatal(err)
			}
			if s := f.verify(t, tok.AccessToken); s.Issuer != iss {
				t.Fatalf("issuer %q", s.Issuer)
			}
		})
	}
	t.Run("custom domain needs configuring", func(t *testing.T) {
		emu := workostest.New(t, workostest.Options{Issuer: "https://auth.example.com"})
		emu.CreateUser(workostest.NewUser{Email: "c@example.com", Password: pw})
		tok, err := emu.SignIn(t.Context(), "c@example.com", pw)
		if err != nil {
			t.Fatal(err)
		}
		cfg := emu.Config()
		cfg.Issuers = nil // defaults only
		a, _ := workos.New(t.Context(), cfg)
		if _, err := a.Verify(t.Context(), authport.Credential{Token: tok.AccessToken}); !errors.Is(err, authport.ErrInvalidCredential) {
			t.Fatalf("unconfigured issuer: %v", err)
		}
		cfg.Issuers = []string{"https://auth.example.com"}
		a, _ = workos.New(t.Context(), cfg)
		if _, err := a.Verify(t.Context(), authport.Credential{Token: tok.AccessToken}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("another client's key set", func(t *testing.T) {
		a := setup(t)
		b := setup(t)
		b.user(t, workostest.NewUser{Email: "b@example.com"})
		tok, _ := b.emu.SignIn(t.Context(), "b@example.com", pw)
		if _, err := a.a.Verify(t.Context(), authport.Credential{Token: tok.AccessToken}); !errors.Is(err, authport.ErrInvalidCredential) {
			t.Fatalf("token of another client: %v", err)
		}
	})
}

func TestKeyRotationAndOutage(t *testing.T) {
	f := setup(t)
	f.user(t, workostest.NewUser{Email: "keys@example.com"})
	tok, _ := f.a.SignInWithPassword(t.Context(), "keys@example.com", pw)
	f.verify(t, tok.AccessToken)
	kid := f.emu.RotateKeys()
	if !strings.HasPrefix(kid, "sso_oidc_key_pair_") || len(kid) != len("sso_oidc_key_pair_")+26 {
		t.Fatalf("kid %q", kid)
	}
	// A new kid right after a fetch waits for the refresh interval (30 s):
	// a flood of unknown kids must not hammer WorkOS.
	tok2, err := f.a.SignInWithPassword(t.Context(), "keys@example.com", pw)
	if !errors.Is(err, authport.ErrInvalidCredential) {
		t.Fatalf("unknown kid inside the refresh interval: %v", err)
	}
	f.emu.Clock.Advance(31 * time.Second)
	tok2, err = f.a.SignInWithPassword(t.Context(), "keys@example.com", pw)
	if err != nil {
		t.Fatalf("sign-in after rotation (refresh on unknown kid): %v", err)
	}
	f.verify(t, tok2.AccessToken)
	f.verify(t, tok.AccessToken) // old key still published
	if n := f.a.KeyFetches(); n != 2 {
		t.Fatalf("%d key fetches, want 2", n)
	}
	// WorkOS unreachable: sign-in is ErrProviderUnavailable, never a pass.
	f.emu.SetFault("*", workostest.Fault{Down: true})
	if _, err := f.a.SignInWithPassword(t.Context(), "keys@example.com", pw); !errors.Is(err, authport.ErrProviderUnavailable) {
		t.Fatalf("outage: %v", err)
	}
	f.emu.SetFault("*", workostest.Fault{Status: http.StatusTooManyRequests})
	if _, err := f.a.SignInWithPassword(t.Context(), "keys@example.com", pw); !errors.Is(err, authport.ErrRateLimited) {
		t.Fatalf("429: %v", err)
	}
	f.emu.ClearFaults()
	f.emu.Core().Close()
	if _, err := f.a.Refresh(t.Context(), tok2.RefreshToken); !errors.Is(err, authport.ErrProviderUnavailable) {
		t.Fatalf("closed emulator: %v", err)
	}
}

func TestWrongCredentialsAreMisconfiguration(t *testing.T) {
	emu := workostest.New(t)
	emu.CreateUser(workostest.NewUser{Email: "m@example.com", Password: pw})
	for name, mod := range map[string]func(*workos.Config){
		"api key":   func(c *workos.Config) { c.APIKey = "sk_test_wrong" },
		"client id": func(c *workos.Config) { c.ClientID = "client_wrong" },
	} {
		cfg := emu.Config()
		mod(&cfg)
		a, err := workos.New(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		_, err = a.SignInWithPassword(t.Context(), "m@example.com", pw)
		if !errors.Is(err, authport.ErrMisconfigured) {
			t.Errorf("%s: %v, want ErrMisconfigured", name, err)
		}
	}
}

func TestFromEnvWithEmulator(t *testing.T) {
	emu := workostest.New(t, workostest.Options{TokenTTL: 2 * time.Minute})
	emu.CreateUser(workostest.NewUser{Email: "env@example.com", Password: pw})
	env := emu.Env()
	a, err := authport.FromEnvFunc(t.Context(), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if d := a.(authport.Describer).Describe(); d.RevocationDelay != 2*time.Minute {
		t.Fatalf("revocation delay %v", d.RevocationDelay)
	}
	tok, err := a.(authport.PasswordSignIn).SignInWithPassword(t.Context(), "env@example.com", pw)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Verify(t.Context(), authport.Credential{Token: tok.AccessToken}); err != nil {
		t.Fatal(err)
	}
	// The AuthKit-style host variables alone also reach the emulator.
	delete(env, workos.EnvBaseURL)
	b, err := authport.FromEnvFunc(t.Context(), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if got := b.(*workos.Authenticator).Config().BaseURL; got != emu.URL {
		t.Fatalf("base URL %q, want %q", got, emu.URL)
	}
}

// TestSDKAgainstEmulator checks the emulator through calls the adapter
// does not make, with the unmodified SDK.
func TestSDKAgainstEmulator(t *testing.T) {
	emu := workostest.New(t)
	c := emu.Client()
	ctx := context.Background()
	u, err := c.CreateUser(ctx, usermanagement.CreateUserOpts{Email: "sdk@example.com", Password: pw, FirstName: "S", EmailVerified: true})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.GetUser(ctx, usermanagement.GetUserOpts{User: u.ID})
	if err != nil || got.Email != "sdk@example.com" || got.FirstName != "S" || !got.EmailVerified || got.CreatedAt == "" {
		t.Fatalf("GetUser %+v %v", got, err)
	}
	org, err := emu.Organizations().CreateOrganization(ctx, organizations.CreateOrganizationOpts{Name: "SDK Org"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := c.CreateOrganizationMembership(ctx, usermanagement.CreateOrganizationMembershipOpts{UserID: u.ID, OrganizationID: org.ID, RoleSlug: "admin"})
	if err != nil || m.Role.Slug != "admin" || m.Status != usermanagement.Active || !strings.HasPrefix(m.ID, "om_") {
		t.Fatalf("membership %+v %v", m, err)
	}
	list, err := c.ListOrganizationMemberships(ctx, usermanagement.ListOrganizationMembershipsOpts{UserID: u.ID, Statuses: []usermanagement.OrganizationMembershipStatus{usermanagement.Active}})
	if err != nil || len(list.Data) != 1 || list.Data[0].OrganizationID != org.ID {
		t.Fatalf("list %+v %v", list, err)
	}
	users, err := c.ListUsers(ctx, usermanagement.ListUsersOpts{Email: "SDK@example.com"})
	if err != nil || len(users.Data) != 1 {
		t.Fatalf("ListUsers %+v %v", users, err)
	}
	if _, err := c.GetUser(ctx, usermanagement.GetUserOpts{User: "user_missing"}); err == nil {
		t.Fatal("missing user found")
	}
	jwks, err := c.GetJWKSURL(emu.ClientID)
	if err != nil || jwks.String() != emu.URL+"/sso/jwks/"+emu.ClientID {
		t.Fatalf("JWKS URL %v %v", jwks, err)
	}
	bad := emu.Client()
	bad.APIKey = "sk_test_nope"
	if _, err := bad.GetUser(ctx, usermanagement.GetUserOpts{User: u.ID}); err == nil {
		t.Fatal("management call without the right API key")
	}
	if err := c.RevokeSession(ctx, usermanagement.RevokeSessionOpts{SessionID: "session_missing"}); err == nil {
		t.Fatal("revoking an unknown session succeeded")
	}
}
