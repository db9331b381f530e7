package clerk_test

import (
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/authport/authport"
	"github.com/authport/authport/clerk"
	"github.com/authport/authport/clerk/clerktest"
)

func handshake(t *testing.T, srv *clerktest.Server, lines ...any) string {
	t.Helper()
	h, _ := json.Marshal(map[string]any{"alg": "RS256", "kid": srv.KID(), "typ": "JWT"})
	p, _ := json.Marshal(map[string]any{"handshake": lines})
	tok, err := srv.SignRaw(h, p)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestExchange(t *testing.T) {
	srv := clerktest.New(t)
	a := newAdapter(t, srv, nil)
	u := mustUser(t, srv, "exchange@example.com")
	sid, _ := srv.CreateSession(u.ID, clerktest.SessionOptions{})
	tok, _ := srv.SessionToken(sid)
	forged, _ := srv.Mint(clerktest.MintOptions{SessionID: sid, Foreign: true})

	q := func(v ...string) authport.Callback {
		return authport.Callback{Query: url.Values{clerk.HandshakeParam: v}}
	}
	got, err := a.Exchange(t.Context(), q(handshake(t, srv, "__client_uat=1; Path=/", "__session="+tok+"; Path=/; SameSite=Lax")))
	if err != nil {
		t.Fatal(err)
	}
	if got.AccessToken != tok || got.SessionID != sid || got.UserID != u.ID || got.RefreshToken != "" || got.ExpiresAt.IsZero() {
		t.Fatalf("tokens %+v", got)
	}
	cases := []struct {
		name string
		cb   authport.Callback
		kind *authport.Kind
	}{
		{"no handshake", authport.Callback{Query: url.Values{"state": {"x"}}}, authport.ErrInvalidInput},
		{"two handshakes", q("a", "b"), authport.ErrInvalidInput},
		{"garbage", q("not-a-jwt"), authport.ErrInvalidCredential},
		{"huge", q(strings.Repeat("a", 20<<10)), authport.ErrInvalidCredential},
		{"signed out", q(handshake(t, srv, "__client_uat=0; Path=/")), authport.ErrNoCredential},
		{"no cookie list", q(handshake(t, srv)), authport.ErrInvalidCredential},
		{"forged session token", q(handshake(t, srv, "__session="+forged+"; Path=/")), authport.ErrInvalidCredential},
		{"two session tokens", q(handshake(t, srv, "__session="+tok, "__session="+forged)), authport.ErrInvalidCredential},
		{"not strings", q(handshake(t, srv, 1, 2)), authport.ErrInvalidCredential},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := a.Exchange(t.Context(), c.cb)
			wantKind(t, err, c.kind)
		})
	}
}

var formAction = regexp.MustCompile(`<form[^>]*action="([^"]*)"`)

// browser is an HTTP client with a cookie jar that follows redirects and
// asks for HTML, as a browser does.
type browser struct {
	t *testing.T
	c *http.Client
}

func (b *browser) get(u string) (*http.Response, string) {
	b.t.Helper()
	req, _ := http.NewRequestWithContext(b.t.Context(), "GET", u, nil)
	req.Header.Set("Accept", "text/html")
	return b.do(req)
}

func (b *browser) do(req *http.Request) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func (b *browser) submit(page *http.Response, body, email, password string) (*http.Response, string) {
	b.t.Helper()
	m := formAction.FindStringSubmatch(body)
	if m == nil {
		b.t.Fatalf("no form on %s: %s", page.Request.URL, body)
	}
	action, _ := page.Request.URL.Parse(html.UnescapeString(m[1]))
	form := url.Values{"email": {email}, "password": {password}}
	req, _ := http.NewRequestWithContext(b.t.Context(), "POST", action.String(), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/html")
	return b.do(req)
}

// TestRedirectSignIn drives the whole browser flow offline: the app's
// /auth/login sends the browser to the emulator's hosted sign-in page,
// which hands the session back through Clerk's handshake on the app's
// /auth/callback; the app then serves the protected page.
func TestRedirectSignIn(t *testing.T) {
	srv := clerktest.New(t)
	a := newAdapter(t, srv, nil)
	u := mustUser(t, srv, "browser@example.com")

	var handler http.Handler
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	defer app.Close()
	web, err := authport.NewWeb(a, authport.Config{
		CookieKeys: [][]byte{[]byte("0123456789abcdef0123456789abcdef")}, Insecure: true, PublicOrigin: app.URL,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", web.Handler())
	mux.Handle("/app/", authport.Require()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := authport.SessionFrom(r.Context())
		io.WriteString(w, "hello "+s.UserID)
	})))
	handler = web.Middleware(mux)

	jar, _ := cookiejar.New(nil)
	b := &browser{t: t, c: &http.Client{Jar: jar}}
	page, body := b.get(app.URL + "/app/page?x=1")
	if page.StatusCode != 200 || !strings.HasPrefix(page.Request.URL.String(), srv.SignInURL) {
		t.Fatalf("not on the hosted sign-in page: %d %s", page.StatusCode, page.Request.URL)
	}
	resp, _ := b.submit(page, body, "browser@example.com", "wrong password")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", resp.StatusCode)
	}
	resp, body = b.submit(page, body, "browser@example.com", "pw-browser@example.com")
	if resp.StatusCode != 200 || body != "hello "+u.ID || resp.Request.URL.Path != "/app/page" || resp.Request.URL.RawQuery != "x=1" {
		t.Fatalf("after sign-in: %d %q at %s", resp.StatusCode, body, resp.Request.URL)
	}
	resp, body = b.get(app.URL + "/auth/session")
	if !strings.Contains(body, `"authenticated":true`) || !strings.Contains(body, u.ID) {
		t.Fatalf("/auth/session: %s", body)
	}

	// The app's cookie is gone (expired token, another device): the hosted
	// page recognizes the browser and returns at once, as Clerk's does.
	appURL, _ := url.Parse(app.URL)
	emuURL, _ := url.Parse(srv.URL)
	jar2, _ := cookiejar.New(nil)
	for _, c := range jar.Cookies(emuURL) {
		if c.Name == "__client" {
			jar2.SetCookies(emuURL, []*http.Cookie{c})
		}
	}
	if len(jar2.Cookies(appURL)) == 0 {
		t.Fatal("the hosted page set no __client cookie")
	}
	b2 := &browser{t: t, c: &http.Client{Jar: jar2}}
	resp, body = b2.get(app.URL + "/app/again")
	if resp.StatusCode != 200 || body != "hello "+u.ID {
		t.Fatalf("returning browser: %d %q at %s", resp.StatusCode, body, resp.Request.URL)
	}

	// Sign out revokes the Clerk session; the hosted page then asks again,
	// so no logout page at Clerk is needed (or exists).
	if authport.Has(a, authport.CapLogoutRedirect) || a.Describe().Unsupported[authport.CapLogoutRedirect] == "" {
		t.Fatal("Clerk claims a logout redirect, or does not say why not")
	}
	req, _ := http.NewRequestWithContext(t.Context(), "POST", app.URL+"/auth/logout", nil)
	req.Header.Set("Origin", app.URL)
	if resp, _ := b2.do(req); resp.StatusCode != 200 && resp.StatusCode != 204 {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	page, _ = b2.get(app.URL + "/app/page")
	if page.Request.URL.Path != "/sign-in" || page.StatusCode != 200 {
		t.Fatalf("after sign-out: %d at %s", page.StatusCode, page.Request.URL)
	}
}

func TestHostedPageRedirects(t *testing.T) {
	srv := clerktest.New(t)
	for _, target := range []string{"", "https://evil.example/cb", "javascript:alert(1)", "/relative"} {
		resp, err := http.Get(srv.SignInURL + "?redirect_url=" + url.QueryEscape(target))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("redirect_url %q: %d, want 400", target, resp.StatusCode)
		}
	}
	srv2 := clerktest.New(t, clerktest.Options{AllowedRedirectOrigins: []string{"https://app.example.com"}})
	resp, err := http.Get(srv2.SignInURL + "?redirect_url=" + url.QueryEscape("https://app.example.com/cb"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("allowed origin: %d", resp.StatusCode)
	}
}
