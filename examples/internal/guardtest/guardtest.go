// Package guardtest is the one test the web-framework examples (chi, gin,
// echo) share: it puts an example's routes in front of a real adapter (the
// oidc adapter on its emulator) and checks the three guards and the /auth
// handlers through HTTP, as a client sees them.
//
// Every example serves the same routes:
//
//	/auth/*        authport's handlers (login, session, refresh, logout)
//	GET /app/me    a subtree behind Require: {"user_id": ...}
//	GET /admin/    a subtree behind RequireRole("admin")
//	GET /reports   public route; the handler itself checks Role("admin")
package guardtest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/authport/authport"
	"github.com/authport/authport/oidc"
	"github.com/authport/authport/oidc/oidctest"
)

// The demo accounts Run creates.
const (
	MemberEmail = "member@example.com"
	AdminEmail  = "admin@example.com"
	Password    = "correct horse battery staple"
)

// NewWeb starts the oidc emulator with a member and an admin and returns a
// Web on the oidc adapter for it (plain HTTP, for tests).
func NewWeb(t testing.TB) *authport.Web {
	t.Helper()
	emu := oidctest.New(t)
	for _, u := range []oidctest.NewUser{
		{Email: MemberEmail, Password: Password},
		{Email: AdminEmail, Password: Password, Roles: []string{"admin"}},
	} {
		if _, err := emu.CreateUser(u); err != nil {
			t.Fatal(err)
		}
	}
	a, err := oidc.New(context.Background(), oidc.Config{Issuer: emu.Issuer, Audiences: []string{emu.Audience}, ClientID: emu.ClientID, ClientSecret: emu.ClientSecret})
	if err != nil {
		t.Fatal(err)
	}
	web, err := authport.NewWeb(a, authport.Config{CookieKeys: [][]byte{make([]byte, 32)}, Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	return web
}

// Run builds the example's handler with routes and checks every guard for
// a signed-out client, a member and an admin, then sign-out.
func Run(t *testing.T, routes func(*authport.Web) http.Handler) {
	web := NewWeb(t)
	srv := httptest.NewServer(routes(web))
	t.Cleanup(srv.Close)

	anon := newClient(t, srv.URL)
	for _, c := range []struct {
		path string
		want int
	}{
		{"/app/me", 401}, {"/admin/", 401}, {"/reports", 401},
	} {
		if got, _ := anon.get(c.path, "application/json"); got != c.want {
			t.Errorf("signed out: GET %s = %d, want %d", c.path, got, c.want)
		}
	}
	if got, body := anon.get("/auth/session", "application/json"); got != 200 || !strings.Contains(body, `"authenticated":false`) {
		t.Errorf("signed out: /auth/session = %d %s", got, body)
	}
	// A browser navigation to the protected subtree goes to the login page
	// with a safe way back.
	if got, loc := anon.getLocation("/app/me"); got != http.StatusSeeOther || !strings.HasPrefix(loc, "/auth/login?") || !strings.Contains(loc, "return_to=%2Fapp%2Fme") {
		t.Errorf("signed-out navigation: %d to %q", got, loc)
	}

	member := newClient(t, srv.URL)
	member.signIn(MemberEmail)
	for _, c := range []struct {
		path string
		want int
	}{
		{"/app/me", 200}, {"/admin/", 403}, {"/reports", 403},
	} {
		if got, _ := member.get(c.path, "application/json"); got != c.want {
			t.Errorf("member: GET %s = %d, want %d", c.path, got, c.want)
		}
	}
	if got, body := member.get("/auth/session", "application/json"); got != 200 || !strings.Contains(body, `"authenticated":true`) {
		t.Errorf("member: /auth/session = %d %s", got, body)
	}
	if _, body := member.get("/app/me", "application/json"); !strings.Contains(body, `"user_id":"`) {
		t.Errorf("member: /app/me body %q", body)
	}

	admin := newClient(t, srv.URL)
	admin.signIn(AdminEmail)
	for _, path := range []string{"/app/me", "/admin/", "/reports"} {
		if got, body := admin.get(path, "application/json"); got != 200 {
			t.Errorf("admin: GET %s = %d (%s)", path, got, body)
		}
	}

	if got := member.post("/auth/logout", ""); got != http.StatusNoContent {
		t.Errorf("logout: %d", got)
	}
	if got, _ := member.get("/app/me", "application/json"); got != 401 {
		t.Errorf("after sign-out: GET /app/me = %d, want 401", got)
	}
}

type client struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newClient(t *testing.T, base string) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (c *client) do(req *http.Request) (*http.Response, string) {
	c.t.Helper()
	res, err := c.c.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func (c *client) get(path, accept string) (int, string) {
	c.t.Helper()
	req, _ := http.NewRequest("GET", c.base+path, nil)
	req.Header.Set("Accept", accept)
	res, body := c.do(req)
	return res.StatusCode, body
}

func (c *client) getLocation(path string) (int, string) {
	c.t.Helper()
	req, _ := http.NewRequest("GET", c.base+path, nil)
	req.Header.Set("Accept", "text/html")
	res, _ := c.do(req)
	return res.StatusCode, res.Header.Get("Location")
}

func (c *client) post(path, jsonBody string) int {
	c.t.Helper()
	req, _ := http.NewRequest("POST", c.base+path, strings.NewReader(jsonBody))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	res, _ := c.do(req)
	return res.StatusCode
}

func (c *client) signIn(email string) {
	c.t.Helper()
	body, _ := json.Marshal(map[string]string{"email": email, "password": Password})
	if got := c.post("/auth/login", string(body)); got != 200 {
		c.t.Fatalf("sign-in %s: %d", email, got)
	}
}
