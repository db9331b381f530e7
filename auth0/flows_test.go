package auth0_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
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
	"github.com/authport/authport/internal/emulator"
)

const pw = "Pw-0123456789"

func TestPasswordSignIn(t *testing.T) {
	ctx := context.Background()
	emu, a := newEmu(t, auth0test.Options{MaxAttempts: 3})
	u, _ := emu.CreateUser(auth0test.NewUser{Email: "pw@example.com", Password: pw})
	tok, err := a.SignInWithPassword(ctx, "PW@example.com", pw)
	if err != nil {
		t.Fatal(err)
	}
	if tok.UserID != u.ID || tok.IDToken == "" || tok.RefreshToken == "" || time.Until(tok.ExpiresAt) < time.Hour {
		t.Fatalf("tokens %+v", tok)
	}
	if emu.Hits(auth0test.RouteToken) != 1 {
		t.Fatalf("%d token requests for one sign-in", emu.Hits(auth0test.RouteToken))
	}

	blocked, _ := emu.CreateUser(auth0test.NewUser{Email: "blocked@example.com", Password: pw})
	_ = emu.DisableUser(blocked.ID)
	_, _ = emu.CreateUser(auth0test.NewUser{Email: "mfa@example.com", Password: pw, Metadata: map[string]any{auth0test.MetadataMFA: true}})

	cases := []struct {
		name, email, password string
		want                  *authport.Kind
	}{
		{"wrong password", "pw@example.com", "nope", authport.ErrInvalidCredential},
		{"unknown email", "nobody@example.com", pw, authport.ErrInvalidCredential},
		{"blocked user", "blocked@example.com", pw, authport.ErrInvalidCredential},
		{"empty password", "pw@example.com", "", authport.ErrInvalidInput},
		{"mfa", "mfa@example.com", pw, authport.ErrActionRequired},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := a.SignInWithPassword(ctx, c.email, c.password)
			if !errors.Is(err, c.want) {
				t.Fatalf("%v, want %v", err, c.want)
			}
			noLeak(t, err, c.email, c.password, emu.ClientSecret())
		})
	}
	t.Run("mfa token", func(t *testing.T) {
		_, err := a.SignInWithPassword(ctx, "mfa@example.com", pw)
		var ae *authport.ActionError
		if !errors.As(err, &ae) || ae.Action != authport.ActionMFA || ae.PendingToken == "" {
			t.Fatalf("%v", err)
		}
	})
	t.Run("too many attempts", func(t *testing.T) {
		for range 3 {
			_, _ = a.SignInWithPassword(ctx, "pw@example.com", "wrong")
		}
		_, err := a.SignInWithPassword(ctx, "pw@example.com", pw)
		if !errors.Is(err, authport.ErrRateLimited) {
			t.Fatalf("%v, want ErrRateLimited", err)
		}
	})
	t.Run("wrong client secret", func(t *testing.T) {
		cfg := emu.Config()
		cfg.ClientSecret = "wrong"
		b, _ := auth0.New(ctx, cfg)
		_, err := b.SignInWithPassword(ctx, "other@example.com", pw)
		if !errors.Is(err, authport.ErrMisconfigured) {
			t.Fatalf("%v, want ErrMisconfigured", err)
		}
	})
	t.Run("wrong realm", func(t *testing.T) {
		cfg := emu.Config()
		cfg.Realm = "other-connection"
		b, _ := auth0.New(ctx, cfg)
		_, err := b.SignInWithPassword(ctx, "x@example.com", pw)
		if !errors.Is(err, authport.ErrInvalidInput) {
			t.Fatalf("%v, want ErrInvalidInput", err)
		}
	})
	t.Run("unknown audience", func(t *testing.T) {
		cfg := emu.Config()
		cfg.Audiences = []string{"https://unknown.example"}
		b, _ := auth0.New(ctx, cfg)
		_, err := b.SignInWithPassword(ctx, "x@example.com", pw)
		if !errors.Is(err, authport.ErrInvalidCredential) {
			t.Fatalf("%v", err)
		}
	})
	t.Run("token endpoint down", func(t *testing.T) {
		emu.SetFault(auth0test.RouteToken, auth0test.Fault{Down: true, Count: 1})
		_, err := a.SignInWithPassword(ctx, "x@example.com", pw)
		if !errors.Is(err, authport.ErrProviderUnavailable) {
			t.Fatalf("%v, want ErrProviderUnavailable", err)
		}
	})
	t.Run("token endpoint hangs up", func(t *testing.T) {
		emu.SetFault(auth0test.RouteToken, auth0test.Fault{Hangup: true, Count: 1})
		_, err := a.SignInWithPassword(ctx, "x@example.com", pw)
		if !errors.Is(err, authport.ErrProviderUnavailable) {
			t.Fatalf("%v, want ErrProviderUnavailable", err)
		}
	})
}

// noLeak fails if err's text carries any of secrets.
func noLeak(t *testing.T, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range secrets {
		if len(s) >= 4 && strings.Contains(err.Error(), s) {
			t.Fatalf("error %q carries %q", err, s)
		}
	}
	if strings.Contains(err.Error(), "eyJ") {
		t.Fatalf("error %q carries a token", err)
	}
}

func TestRefresh(t *testing.T) {
	ctx := context.Background()
	emu, a := newEmu(t, auth0test.Options{Rotation: true})
	_, _ = emu.CreateUser(auth0test.NewUser{Email: "r@example.com", Password: pw})
	t0, err := a.SignInWithPassword(ctx, "r@example.com", pw)
	if err != nil {
		t.Fatal(err)
	}
	t1, err := a.Refresh(ctx, t0.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if t1.RefreshToken == "" || t1.RefreshToken == t0.RefreshToken {
		t.Fatal("refresh did not rotate")
	}
	t2, err := a.Refresh(ctx, t1.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	// Reusing a spent token fails and, by Auth0's reuse detection, kills
	// the family: the latest token dies too.
	if _, err := a.Refresh(ctx, t0.RefreshToken); !errors.Is(err, authport.ErrInvalidCredential) {
		t.Fatalf("reuse: %v", err)
	}
	if _, err := a.Refresh(ctx, t2.RefreshToken); !errors.Is(err, authport.ErrInvalidCredential) {
		t.Fatalf("after reuse detection: %v", err)
	}
	if _, err := a.Refresh(ctx, ""); !errors.Is(err, authport.ErrInvalidInput) {
		t.Fatalf("empty: %v", err)
	}

	t.Run("without rotation (Auth0's default)", func(t *testing.T) {
		emu, a := newEmu(t)
		_, _ = emu.CreateUser(auth0test.NewUser{Email: "r@example.com", Password: pw})
		t0, err := a.SignInWithPassword(ctx, "r@example.com", pw)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			t1, err := a.Refresh(ctx, t0.RefreshToken)
			if err != nil {
				t.Fatal(err)
			}
			if t1.RefreshToken != t0.RefreshToken {
				t.Fatal("the non-rotating refresh token was not kept")
			}
		}
	})
}

func TestRevoke(t *testing.T) {
	ctx := context.Background()
	for _, profile := range []auth0test.Profile{auth0test.ProfileAuth0, auth0test.ProfileRFC9068} {
		t.Run(string(profile), func(t *testing.T) {
			emu, a := newEmu(t, auth0test.Options{Profile: profile})
			other, _ := auth0.New(ctx, emu.Config())
			_, _ = emu.CreateUser(auth0test.NewUser{Email: "rv@example.com", Password: pw})
			tok, err := a.SignInWithPassword(ctx, "rv@example.com", pw)
			if err != nil {
				t.Fatal(err)
			}
			cred := authport.Credential{Token: tok.AccessToken, Source: authport.SourceHeader}
			s, err := a.Verify(ctx, cred)
			if err != nil {
				t.Fatal(err)
			}
			if err := a.Revoke(ctx, s, tok); err != nil {
				t.Fatal(err)
			}
			if _, err := a.Refresh(ctx, tok.RefreshToken); !errors.Is(err, authport.ErrInvalidCredential) {
				t.Fatalf("refresh after revoke: %v", err)
			}
			_, err = a.Verify(ctx, cred)
			if profile == auth0test.ProfileRFC9068 {
				// jti: denied in this process.
				if !errors.Is(err, authport.ErrRevoked) {
					t.Fatalf("this process after revoke: %v", err)
				}
			} else if err != nil {
				t.Fatalf("no jti or sid to deny: the token verifies until exp, got %v", err)
			}
			// Any other process keeps accepting it: the revocation delay.
			if _, err := other.Verify(ctx, cred); err != nil {
				t.Fatalf("another process: %v", err)
			}
			if err := a.Revoke(ctx, s, nil); !errors.Is(err, authport.ErrInvalidInput) {
				t.Fatalf("revoke without tokens: %v", err)
			}
		})
	}
}

func TestSignUp(t *testing.T) {
	ctx := context.Background()
	emu := auth0test.New(t)
	cfg := emu.Config()
	cfg.AllowSignUp = true
	a, _ := auth0.New(ctx, cfg)
	if !authport.Has(a, authport.CapSignUp) {
		t.Fatal("sign-up not offered")
	}
	tok, err := a.SignUp(ctx, "new@example.com", pw)
	if err != nil {
		t.Fatal(err)
	}
	if tok.UserID == "" || !strings.HasPrefix(tok.UserID, "auth0|") {
		t.Fatalf("user id %q", tok.UserID)
	}
	for _, c := range []struct{ email, password string }{{"new@example.com", pw}, {"weak@example.com", "short"}, {"not-an-email", pw}} {
		_, err := a.SignUp(ctx, c.email, c.password)
		if !errors.Is(err, authport.ErrInvalidInput) {
			t.Fatalf("%s: %v, want ErrInvalidInput", c.email, err)
		}
		noLeak(t, err, c.email, c.password)
	}
}

// TestRedirectSignIn runs Universal Login end to end through authport's
// own handlers: /auth/login → the tenant's hosted page → /auth/callback →
// a sealed session cookie → a protected route.
func TestRedirectSignIn(t *testing.T) {
	emu, a := newEmu(t, auth0test.Options{OrgNames: true})
	emu.AddOrganization("org_red", "red")
	u, _ := emu.CreateUser(auth0test.NewUser{Email: "redirect@example.com", Password: pw, OrgID: "org_red", Roles: []string{"admin"}})

	key := make([]byte, 32)
	rand.Read(key)
	web, err := authport.NewWeb(a, authport.Config{CookieKeys: [][]byte{key}, Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	app := http.NewServeMux()
	app.HandleFunc("/app/", func(w http.ResponseWriter, r *http.Request) {
		s, _ := authport.SessionFrom(r.Context())
		io.WriteString(w, s.UserID+" "+s.OrgID+" "+strings.Join(s.Roles, ","))
	})
	mux := http.NewServeMux()
	mux.Handle("/app/", authport.RequireRole("admin")(app))
	mux.Handle("/auth/", web.Handler())
	srv := httptest.NewServer(web.Middleware(mux))
	defer srv.Close()

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(u string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("Accept", "text/html")
		resp, err := browser.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	resp := get(srv.URL + "/auth/login?via=redirect&organization=red&return_to=/app/x")
	authorize, err := resp.Location()
	if err != nil || !strings.HasPrefix(authorize.String(), emu.URL+"/authorize?") {
		t.Fatalf("login redirect: %d %v", resp.StatusCode, authorize)
	}
	q := authorize.Query()
	for k, want := range map[string]string{
		"response_type": "code", "client_id": emu.ClientID(), "audience": emu.Audience(),
		"code_challenge_method": "S256", "organization": "red", "scope": "openid profile email offline_access",
	} {
		if q.Get(k) != want {
			t.Fatalf("authorize %s=%q, want %q", k, q.Get(k), want)
		}
	}
	if q.Get("state") == "" || q.Get("code_challenge") == "" || !strings.HasPrefix(q.Get("redirect_uri"), srv.URL) {
		t.Fatalf("authorize URL %s", authorize)
	}
	callback, err := emulator.SubmitLogin(context.Background(), browser, authorize.String(), "redirect@example.com", pw)
	if err != nil {
		t.Fatal(err)
	}
	resp = get(callback.String())
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/app/x" {
		t.Fatalf("callback: %d → %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/app/x", nil)
	res, err := browser.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(body) != u.ID+" org_red admin" {
		t.Fatalf("protected page: %d %q", res.StatusCode, body)
	}
}

func pkce() (verifier, challenge string) {
	b := make([]byte, 32)
	rand.Read(b)
	verifier = base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

func TestExchange(t *testing.T) {
	ctx := context.Background()
	emu, a := newEmu(t)
	_, _ = emu.CreateUser(auth0test.NewUser{Email: "x@example.com", Password: pw, OrgID: "org_x"})
	const redirect = "http://127.0.0.1:1/callback"
	login := func(t *testing.T, org string) (url.Values, string) {
		t.Helper()
		verifier, challenge := pkce()
		u, err := a.AuthorizeURL(ctx, authport.AuthorizeRequest{RedirectURI: redirect, State: "st", CodeChallenge: challenge, Organization: org})
		if err != nil {
			t.Fatal(err)
		}
		cb, err := emulator.SubmitLogin(ctx, nil, u, "x@example.com", pw)
		if err != nil {
			t.Fatal(err)
		}
		return cb.Query(), verifier
	}
	q, verifier := login(t, "")
	tok, err := a.Exchange(ctx, authport.Callback{Query: q, CodeVerifier: verifier, RedirectURI: redirect})
	if err != nil {
		t.Fatal(err)
	}
	s, err := a.Verify(ctx, authport.Credential{Token: tok.AccessToken})
	if err != nil || s.OrgID != "" {
		t.Fatalf("session %+v %v (no organization was asked for)", s, err)
	}
	cases := []struct {
		name string
		cb   func() authport.Callback
		want *authport.Kind
	}{
		{"code reused", func() authport.Callback {
			return authport.Callback{Query: q, CodeVerifier: verifier, RedirectURI: redirect}
		}, authport.ErrInvalidCredential},
		{"wrong verifier", func() authport.Callback {
			q, _ := login(t, "")
			v, _ := pkce()
			return authport.Callback{Query: q, CodeVerifier: v, RedirectURI: redirect}
		}, authport.ErrInvalidCredential},
		{"other redirect", func() authport.Callback {
			q, v := login(t, "")
			return authport.Callback{Query: q, CodeVerifier: v, RedirectURI: redirect + "/x"}
		}, authport.ErrInvalidCredential},
		{"not a member", func() authport.Callback {
			emu.AddOrganization("org_other", "other")
			q, v := login(t, "other")
			return authport.Callback{Query: q, CodeVerifier: v, RedirectURI: redirect}
		}, authport.ErrInvalidCredential},
		{"provider error", func() authport.Callback {
			return authport.Callback{Query: url.Values{"error": {"access_denied"}, "state": {"st"}}, CodeVerifier: "v"}
		}, authport.ErrInvalidCredential},
		{"server error", func() authport.Callback {
			return authport.Callback{Query: url.Values{"error": {"temporarily_unavailable"}}, CodeVerifier: "v"}
		}, authport.ErrProviderUnavailable},
		{"no code", func() authport.Callback { return authport.Callback{Query: url.Values{}, CodeVerifier: "v"} }, authport.ErrInvalidInput},
		{"no verifier", func() authport.Callback { return authport.Callback{Query: url.Values{"code": {"c"}}} }, authport.ErrInvalidInput},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := a.Exchange(ctx, c.cb())
			if !errors.Is(err, c.want) {
				t.Fatalf("%v, want %v", err, c.want)
			}
		})
	}
	t.Run("organization", func(t *testing.T) {
		q, v := login(t, "org_x")
		tok, err := a.Exchange(ctx, authport.Callback{Query: q, CodeVerifier: v, RedirectURI: redirect})
		if err != nil {
			t.Fatal(err)
		}
		s, err := a.Verify(ctx, authport.Credential{Token: tok.AccessToken})
		if err != nil || s.OrgID != "org_x" {
			t.Fatalf("session %+v %v", s, err)
		}
	})
	t.Run("authorize needs state and PKCE", func(t *testing.T) {
		if _, err := a.AuthorizeURL(ctx, authport.AuthorizeRequest{RedirectURI: redirect, State: "s"}); !errors.Is(err, authport.ErrInvalidInput) {
			t.Fatal(err)
		}
		if _, err := a.AuthorizeURL(ctx, authport.AuthorizeRequest{State: "s", CodeChallenge: "c"}); !errors.Is(err, authport.ErrMisconfigured) {
			t.Fatalf("no redirect URI: %v", err)
		}
		u, err := a.AuthorizeURL(ctx, authport.AuthorizeRequest{RedirectURI: redirect, State: "s", CodeChallenge: "c", ScreenHint: "sign-up"})
		if err != nil || !strings.Contains(u, "screen_hint=signup") {
			t.Fatalf("%s %v", u, err)
		}
	})
}

func TestLogoutURL(t *testing.T) {
	emu, a := newEmu(t)
	tests := []struct {
		name     string
		returnTo string
		want     url.Values // nil: an error of kind ErrInvalidInput
	}{
		{"with returnTo", "https://app.example.com/bye", url.Values{"client_id": {emu.ClientID()}, "returnTo": {"https://app.example.com/bye"}}},
		{"without returnTo", "", url.Values{"client_id": {emu.ClientID()}}},
		{"relative returnTo", "/bye", nil},
		{"script returnTo", "javascript:alert(1)", nil},
		{"user info", "https://user:pw@app.example.com/", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := a.LogoutURL(context.Background(), &authport.Session{UserID: "auth0|x"}, tt.returnTo)
			if tt.want == nil {
				if !errors.Is(err, authport.ErrInvalidInput) {
					t.Fatalf("LogoutURL = %q, %v; want ErrInvalidInput", raw, err)
				}
				return
			}
			u, perr := url.Parse(raw)
			if err != nil || perr != nil || u.Path != "/v2/logout" || u.Query().Encode() != tt.want.Encode() {
				t.Fatalf("LogoutURL = %q, %v", raw, err)
			}
		})
	}
}

func TestLogout(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		allowed  []string
		returnTo string
		wantCode int
	}{
		{"default allows https", nil, "https://app.example.com/bye", http.StatusFound},
		{"default allows loopback http", nil, "http://127.0.0.1:8080/", http.StatusFound},
		{"default refuses http elsewhere", nil, "http://evil.example/", http.StatusBadRequest},
		{"listed", []string{"https://app.example.com/bye"}, "https://app.example.com/bye", http.StatusFound},
		{"not listed", []string{"https://app.example.com/bye"}, "https://app.example.com/other", http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			emu, a := newEmu(t, auth0test.Options{AllowedLogoutURLs: tt.allowed})
			_, _ = emu.CreateUser(auth0test.NewUser{Email: "sso@example.com", Password: pw})
			jar, _ := cookiejar.New(nil)
			browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			const redirect = "http://127.0.0.1:1/cb"
			silent := func() url.Values {
				_, ch := pkce()
				u, _ := a.AuthorizeURL(ctx, authport.AuthorizeRequest{RedirectURI: redirect, State: "s", CodeChallenge: ch})
				resp, err := browser.Get(u + "&prompt=none")
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				loc, _ := resp.Location()
				return loc.Query()
			}
			if q := silent(); q.Get("error") != "login_required" {
				t.Fatalf("silent sign-in before login: %v", q)
			}
			_, ch := pkce()
			u, _ := a.AuthorizeURL(ctx, authport.AuthorizeRequest{RedirectURI: redirect, State: "s", CodeChallenge: ch})
			if _, err := emulator.SubmitLogin(ctx, browser, u, "sso@example.com", pw); err != nil {
				t.Fatal(err)
			}
			if q := silent(); q.Get("code") == "" {
				t.Fatalf("silent sign-in with an SSO session: %v", q)
			}
			lu, err := a.LogoutURL(ctx, nil, tt.returnTo)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := browser.Get(lu)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.wantCode {
				t.Fatalf("logout: %d %q, want %d", resp.StatusCode, resp.Header.Get("Location"), tt.wantCode)
			}
			if want := tt.returnTo; tt.wantCode != http.StatusFound {
				if resp.Header.Get("Location") != "" {
					t.Fatalf("logout redirected to a returnTo not allowed: %q", resp.Header.Get("Location"))
				}
			} else if resp.Header.Get("Location") != want {
				t.Fatalf("logout to %q, want %q", resp.Header.Get("Location"), want)
			}
			// The SSO session ends either way, as Auth0's does.
			if q := silent(); q.Get("error") != "login_required" {
				t.Fatalf("silent sign-in after logout: %v", q)
			}
		})
	}
}

// TestWebLogoutRedirect signs in through authport.Web and Universal Login,
// then signs out as a browser: Web revokes the refresh token, clears its
// cookie and sends the browser through /v2/logout, which ends the SSO
// session and returns to AfterLogoutPath.
func TestWebLogoutRedirect(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		after   string
		browser bool
	}{
		{"browser", "/", true},
		{"browser, custom landing", "/signed-out", true},
		{"API client", "/", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			emu, a := newEmu(t)
			emu.CreateUser(auth0test.NewUser{Email: "web@example.com", Password: pw})
			key := make([]byte, 32)
			rand.Read(key)
			web, err := authport.NewWeb(a, authport.Config{CookieKeys: [][]byte{key}, Insecure: true, AfterLogoutPath: tt.after})
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
			browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			do := func(method, u string, form bool) *http.Response {
				t.Helper()
				req, _ := http.NewRequest(method, u, nil)
				req.Header.Set("Origin", srv.URL)
				if form || method == http.MethodGet {
					req.Header.Set("Accept", "text/html")
				}
				if form {
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				}
				resp, err := browser.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp
			}
			// Universal Login, through Web.
			resp := do("GET", srv.URL+"/auth/login?via=redirect&return_to=/app/", false)
			callback, err := emulator.SubmitLogin(ctx, browser, resp.Header.Get("Location"), "web@example.com", pw)
			if err != nil {
				t.Fatal(err)
			}
			if resp = do("GET", callback.String(), false); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("callback: %d", resp.StatusCode)
			}
			if resp = do("GET", srv.URL+"/app/", false); resp.StatusCode != 200 {
				t.Fatalf("/app/ signed in: %d", resp.StatusCode)
			}
			ssoLive := func() bool {
				_, ch := pkce()
				u, _ := a.AuthorizeURL(ctx, authport.AuthorizeRequest{RedirectURI: srv.URL + "/auth/callback", State: "s", CodeChallenge: ch})
				r := do("GET", u+"&prompt=none", false)
				loc, _ := r.Location()
				return loc != nil && loc.Query().Get("code") != ""
			}
			if !ssoLive() {
				t.Fatal("no SSO session after Universal Login")
			}

			resp = do("POST", srv.URL+"/auth/logout", tt.browser)
			loc := resp.Header.Get("Location")
			if !tt.browser {
				if resp.StatusCode != http.StatusNoContent || loc != "" {
					t.Fatalf("API logout: %d %q", resp.StatusCode, loc)
				}
				if !ssoLive() {
					t.Fatal("an API sign-out ended the browser's SSO session")
				}
			} else {
				landing := srv.URL + tt.after
				want := emu.URL + "/v2/logout?" + url.Values{"client_id": {emu.ClientID()}, "returnTo": {landing}}.Encode()
				if resp.StatusCode != http.StatusSeeOther || loc != want {
					t.Fatalf("logout: %d %q, want %q", resp.StatusCode, loc, want)
				}
				if resp = do("GET", loc, false); resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != landing {
					t.Fatalf("/v2/logout: %d %q", resp.StatusCode, resp.Header.Get("Location"))
				}
				if ssoLive() {
					t.Fatal("SSO session still live after signing out through Web")
				}
			}
			if resp = do("GET", srv.URL+"/app/", false); resp.StatusCode != http.StatusSeeOther ||
				!strings.HasPrefix(resp.Header.Get("Location"), "/auth/login") {
				t.Fatalf("/app/ after sign-out: %d %q", resp.StatusCode, resp.Header.Get("Location"))
			}
		})
	}
}

func TestKeys(t *testing.T) {
	ctx := context.Background()
	t.Run("discovery issuer mismatch", func(t *testing.T) {
		emu := auth0test.New(t)
		cfg := emu.Config()
		cfg.Issuer = "http://127.0.0.1:1/" // not what discovery names
		a, err := auth0.New(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		tok, _ := emu.Mint(auth0test.MintRequest{Claims: map[string]any{"iss": cfg.Issuer, "sub": "u"}})
		if _, err := a.Verify(ctx, authport.Credential{Token: tok}); !errors.Is(err, authport.ErrProviderUnavailable) {
			t.Fatalf("%v, want ErrProviderUnavailable", err)
		}
		if emu.KeyFetches() != 0 {
			t.Fatal("keys fetched despite a wrong discovery document")
		}
	})
	t.Run("explicit JWKS URL skips discovery", func(t *testing.T) {
		emu := auth0test.New(t)
		cfg := emu.Config()
		cfg.JWKSURL = emu.URL + "/.well-known/jwks.json"
		a, _ := auth0.New(ctx, cfg)
		tok, _ := emu.Mint(auth0test.MintRequest{Claims: map[string]any{"sub": "u"}})
		if _, err := a.Verify(ctx, authport.Credential{Token: tok}); err != nil {
			t.Fatal(err)
		}
		if emu.Hits(auth0test.RouteDiscovery) != 0 || emu.KeyFetches() != 1 {
			t.Fatalf("discovery %d, key fetches %d", emu.Hits(auth0test.RouteDiscovery), emu.KeyFetches())
		}
	})
	t.Run("discovery down then back", func(t *testing.T) {
		emu, a := newEmu(t)
		tok, _ := emu.Mint(auth0test.MintRequest{Claims: map[string]any{"sub": "u"}})
		emu.SetFault(auth0test.RouteDiscovery, auth0test.Fault{Down: true, Count: 1})
		if _, err := a.Verify(ctx, authport.Credential{Token: tok}); !errors.Is(err, authport.ErrProviderUnavailable) {
			t.Fatalf("%v", err)
		}
		emu.Clock().Advance(2 * time.Second) // the cold retry window
		if _, err := a.Verify(ctx, authport.Credential{Token: tok}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("garbage key set", func(t *testing.T) {
		emu, a := newEmu(t)
		tok, _ := emu.Mint(auth0test.MintRequest{Claims: map[string]any{"sub": "u"}})
		emu.SetFault(auth0test.RouteJWKS, auth0test.Fault{Garbage: "html", Count: 1})
		if _, err := a.Verify(ctx, authport.Credential{Token: tok}); !errors.Is(err, authport.ErrProviderUnavailable) {
			t.Fatalf("%v", err)
		}
	})
	t.Run("one fetch for many tokens", func(t *testing.T) {
		emu, a := newEmu(t)
		for range 20 {
			tok, _ := emu.Mint(auth0test.MintRequest{Claims: map[string]any{"sub": "u"}})
			if _, err := a.Verify(ctx, authport.Credential{Token: tok}); err != nil {
				t.Fatal(err)
			}
		}
		if emu.KeyFetches() != 1 || emu.Hits(auth0test.RouteDiscovery) != 1 {
			t.Fatalf("key fetches %d, discovery %d", emu.KeyFetches(), emu.Hits(auth0test.RouteDiscovery))
		}
	})
}

func TestM2M(t *testing.T) {
	ctx := context.Background()
	emu, a := newEmu(t)
	form := url.Values{"grant_type": {"client_credentials"}, "audience": {emu.Audience()}, "scope": {"read:stats"},
		"client_id": {emu.ClientID()}, "client_secret": {emu.ClientSecret()}}
	resp, err := http.PostForm(emu.URL+"/oauth/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := jsonDecode(resp.Body, &body); err != nil {
		t.Fatal(err)
	}
	s, err := a.Verify(ctx, authport.Credential{Token: body.AccessToken})
	if err != nil {
		t.Fatal(err)
	}
	if s.UserID != emu.ClientID()+"@clients" || !s.HasPermission("read:stats") || s.Claims["gty"] != "client-credentials" {
		t.Fatalf("m2m session %+v", s)
	}
}

// TestTokenEndpointFailures maps transport-level failures of /oauth/token.
func TestTokenEndpointFailures(t *testing.T) {
	ctx := context.Background()
	emu, a := newEmu(t)
	_, _ = emu.CreateUser(auth0test.NewUser{Email: "f@example.com", Password: pw})
	for _, c := range []struct {
		name  string
		fault auth0test.Fault
		want  *authport.Kind
	}{
		{"429", auth0test.Fault{Status: 429}, authport.ErrRateLimited},
		{"500", auth0test.Fault{Status: 500}, authport.ErrProviderUnavailable},
		{"502 html", auth0test.Fault{Status: 502, Garbage: "html"}, authport.ErrProviderUnavailable},
		{"200 html", auth0test.Fault{Garbage: "html"}, authport.ErrProviderUnavailable},
		{"200 truncated", auth0test.Fault{Garbage: "truncated"}, authport.ErrProviderUnavailable},
		{"huge", auth0test.Fault{Huge: true}, authport.ErrProviderUnavailable},
		{"503", auth0test.Fault{Down: true}, authport.ErrProviderUnavailable},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.fault.Count = 1
			emu.SetFault(auth0test.RouteToken, c.fault)
			_, err := a.SignInWithPassword(ctx, "f@example.com", pw)
			if !errors.Is(err, c.want) {
				t.Fatalf("%v, want %v", err, c.want)
			}
			noLeak(t, err, pw, emu.ClientSecret())
		})
	}
	emu.SetFault(auth0test.RouteRevoke, auth0test.Fault{Down: true, Count: 1})
	tok, err := a.SignInWithPassword(ctx, "f@example.com", pw)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Revoke(ctx, nil, tok); !errors.Is(err, authport.ErrProviderUnavailable) {
		t.Fatalf("revoke while down: %v", err)
	}
	if err := a.Revoke(ctx, nil, tok); err != nil {
		t.Fatalf("revoke: %v", err)
	}
}
