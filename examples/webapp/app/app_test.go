package app

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authport/authport"
	"github.com/authport/authport/cmd/authport/devkit"
	"github.com/authport/authport/internal/testenv"
)

// env returns a getenv reading m.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadSettings(t *testing.T) {
	cases := []struct {
		name    string
		env     map[string]string
		want    Settings
		wantErr string
	}{
		{name: "defaults", env: nil, want: Settings{Addr: DefaultAddr, DataDir: "data", Provider: "diy"}},
		{name: "all set", env: map[string]string{EnvAddr: "127.0.0.1:0", EnvData: "/tmp/x/", EnvProvider: " OIDC ", EnvEmulate: "1", EnvPublicOrigin: "https://app.example.com"},
			want: Settings{Addr: "127.0.0.1:0", DataDir: "/tmp/x", Provider: "oidc", Emulate: true, PublicOrigin: "https://app.example.com"}},
		{name: "emulate true", env: map[string]string{EnvEmulate: "true"}, want: Settings{Addr: DefaultAddr, DataDir: "data", Provider: "diy", Emulate: true}},
		{name: "emulate 0", env: map[string]string{EnvEmulate: "0"}, want: Settings{Addr: DefaultAddr, DataDir: "data", Provider: "diy"}},
		{name: "bad addr", env: map[string]string{EnvAddr: "8080"}, wantErr: EnvAddr},
		{name: "bad emulate", env: map[string]string{EnvEmulate: "maybe"}, wantErr: EnvEmulate},
		{name: "bad origin", env: map[string]string{EnvPublicOrigin: "app.example.com"}, wantErr: EnvPublicOrigin},
		{name: "origin scheme", env: map[string]string{EnvPublicOrigin: "ftp://app.example.com"}, wantErr: EnvPublicOrigin},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := LoadSettings(env(c.env))
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want one naming %s", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got.Getenv = nil
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestDecideInsecure(t *testing.T) {
	cases := []struct {
		origin, public string
		want           bool
		wantErr        bool
	}{
		{origin: "http://127.0.0.1:8080", want: true},
		{origin: "http://[::1]:8080", want: true},
		{origin: "http://localhost:8080", want: true},
		{origin: "http://192.0.2.1:8080", want: false},
		{origin: "http://192.0.2.1:8080", public: "https://app.example.com", want: false},
		{origin: "http://127.0.0.1:8080", public: "https://app.example.com", want: false},
		{origin: "http://192.0.2.1:8080", public: "http://localhost:8080", want: true},
		{origin: "http://127.0.0.1:8080", public: "http://app.example.com", wantErr: true},
	}
	for _, c := range cases {
		var logs bytes.Buffer
		got, err := decideInsecure(Settings{PublicOrigin: c.public}, c.origin, slog.New(slog.NewTextHandler(&logs, nil)))
		if (err != nil) != c.wantErr || got != c.want {
			t.Errorf("decideInsecure(%q, public %q) = %v, %v; want %v, err %v", c.origin, c.public, got, err, c.want, c.wantErr)
		}
		if got && !strings.Contains(logs.String(), "development mode") {
			t.Errorf("%s: insecure without a log line saying so: %q", c.origin, logs.String())
		}
	}
}

// startApp starts the app on a loopback port with a fresh data folder.
func startApp(t *testing.T, vars map[string]string) (*Server, *syncBuffer) {
	t.Helper()
	m := map[string]string{EnvAddr: "127.0.0.1:0", EnvData: t.TempDir()}
	for k, v := range vars {
		m[k] = v
	}
	out := new(syncBuffer)
	s, err := Start(t.Context(), env(m), out)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s, out
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// client is a cookie-keeping HTTP client that does not follow redirects
// unless follow is set.
type client struct {
	t      *testing.T
	base   string
	hc     *http.Client
	follow bool
}

func newClient(t *testing.T, base string) *client {
	jar, _ := cookiejar.New(nil)
	c := &client{t: t, base: base}
	c.hc = &http.Client{Jar: jar, Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		if c.follow {
			return nil
		}
		return http.ErrUseLastResponse
	}}
	return c
}

type response struct {
	status int
	header http.Header
	body   string
	url    *url.URL
}

func (c *client) do(method, path string, form url.Values, hdr ...string) response {
	c.t.Helper()
	var body io.Reader
	u := path
	if !strings.HasPrefix(u, "http") {
		u = c.base + path
	}
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, string(b), resp.Request.URL}
}

const htmlAccept = "text/html,application/xhtml+xml"

// signInForm signs in through the password form, as a browser would.
func (c *client) signInForm(email, password string) response {
	c.t.Helper()
	return c.do("POST", "/auth/login", url.Values{"email": {email}, "password": {password}},
		"Accept", htmlAccept, "Origin", c.base, "Sec-Fetch-Site", "same-origin")
}

var formAction = regexp.MustCompile(`<form[^>]*\baction="([^"]*)"`)

// signInHosted signs in through the provider's hosted page: /auth/login
// redirects there, the form posts back, and the callback lands home.
func (c *client) signInHosted(email, password string) response {
	c.t.Helper()
	c.follow = true
	defer func() { c.follow = false }()
	page := c.do("GET", "/auth/login", nil, "Accept", htmlAccept)
	if page.status != 200 || strings.HasPrefix(page.url.String(), c.base) {
		c.t.Fatalf("GET /auth/login ended at %s with %d, want the provider's page", page.url, page.status)
	}
	m := formAction.FindStringSubmatch(page.body)
	if m == nil {
		c.t.Fatalf("no form on the hosted page: %s", page.body)
	}
	action, _ := page.url.Parse(html.UnescapeString(m[1]))
	return c.do("POST", action.String(), url.Values{"email": {email}, "password": {password}}, "Accept", htmlAccept)
}

// account returns the seeded account with role ("" for the plain demo
// user).
func account(t *testing.T, s *Server, role string) devkit.Account {
	t.Helper()
	a, ok := devkit.FindAccount(s.App.Accounts, role)
	if !ok {
		t.Fatalf("no seeded account with role %q", role)
	}
	return a
}

func checkPage(t *testing.T, r response) {
	t.Helper()
	for _, want := range []string{`<html lang="en">`, `name="viewport"`, `<main`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
}

// TestAppFlows runs the same scenario against DIY and each emulated
// provider: anonymous access, sign-in, the protected subtree, the role
// guard, the API, a cross-origin sign-out attempt and the sign-out.
func TestAppFlows(t *testing.T) {
	for _, provider := range append([]string{"diy"}, devkit.EmulatedProviders()...) {
		t.Run(provider, func(t *testing.T) {
			if provider == "firebase" {
				testenv.FirebaseHost(t) // the Firebase Auth Emulator of scripts/services.sh
			}
			s, out := startApp(t, map[string]string{EnvProvider: provider, EnvEmulate: "1"})
			for _, want := range []string{"listening", account(t, s, "").Email, account(t, s, "admin").Email} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("start-up output lacks %q:\n%s", want, out)
				}
			}
			c := newClient(t, s.URL)
			signIn := func(c *client, email, password string) {
				t.Helper()
				var r response
				if authport.Has(s.App.Auth, authport.CapPasswordSignIn) {
					r = c.signInForm(email, password)
					if r.status != http.StatusSeeOther {
						t.Fatalf("sign-in: %d %s", r.status, r.body)
					}
				} else {
					r = c.signInHosted(email, password)
					if r.status != 200 || r.url.String() != s.URL+"/" {
						t.Fatalf("hosted sign-in ended at %s with %d: %s", r.url, r.status, r.body)
					}
				}
			}

			// Anonymous.
			r := c.do("GET", "/", nil, "Accept", htmlAccept)
			checkPage(t, r)
			if r.status != 200 || !strings.Contains(r.body, `data-state="signed-out"`) {
				t.Fatalf("home: %d, want signed-out state", r.status)
			}
			for _, p := range []string{"/app/", "/app/account", "/admin", "/api/me"} {
				r = c.do("GET", p, nil, "Accept", htmlAccept)
				if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/auth/login?return_to=") {
					t.Errorf("anonymous browser GET %s: %d to %q, want 303 to sign-in", p, r.status, r.header.Get("Location"))
				}
			}
			r = c.do("GET", "/api/me", nil, "Accept", "application/json")
			if r.status != 401 || !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("anonymous API GET /api/me: %d, WWW-Authenticate %q", r.status, r.header.Get("WWW-Authenticate"))
			}
			r = c.do("GET", "/auth/session", nil)
			if r.status != 200 || !strings.Contains(r.body, `"authenticated":false`) {
				t.Errorf("/auth/session anonymous: %d %s", r.status, r.body)
			}

			// Demo user.
			demo := account(t, s, "")
			signIn(c, demo.Email, demo.Password)
			// Who the app says is signed in: the email address where the
			// provider's tokens carry one (Auth0 and WorkOS access tokens
			// do not), else the user id.
			r = c.do("GET", "/api/me", nil, "Accept", "application/json")
			var me meResponse
			if r.status != 200 || json.Unmarshal([]byte(r.body), &me) != nil || me.UserID == "" || me.Provider != provider {
				t.Fatalf("GET /api/me: %d %s", r.status, r.body)
			}
			if me.Email != "" && me.Email != demo.Email {
				t.Errorf("/api/me email %q, want %q", me.Email, demo.Email)
			}
			who := me.Email
			if who == "" {
				who = me.UserID
			}
			r = c.do("GET", "/", nil, "Accept", htmlAccept)
			if !strings.Contains(r.body, `data-state="signed-in"`) || !strings.Contains(html.UnescapeString(r.body), who) {
				t.Errorf("home after sign-in does not show the user")
			}
			for _, p := range []string{"/app/", "/app/account"} {
				r = c.do("GET", p, nil, "Accept", htmlAccept)
				checkPage(t, r)
				if r.status != 200 || !strings.Contains(html.UnescapeString(r.body), who) {
					t.Errorf("GET %s signed in: %d", p, r.status)
				}
			}
			r = c.do("GET", "/app/nope", nil, "Accept", htmlAccept)
			if r.status != 404 {
				t.Errorf("GET /app/nope: %d, want 404", r.status)
			}
			r = c.do("GET", "/admin", nil, "Accept", htmlAccept)
			if r.status != http.StatusForbidden {
				t.Errorf("GET /admin without the role: %d, want 403", r.status)
			}
			r = c.do("GET", "/auth/session", nil)
			if !strings.Contains(r.body, `"authenticated":true`) {
				t.Errorf("/auth/session signed in: %s", r.body)
			}

			// A cross-origin form post to sign-out is refused and changes nothing.
			r = c.do("POST", "/auth/logout", url.Values{}, "Origin", "http://127.0.0.1:1", "Sec-Fetch-Site", "same-site", "Accept", htmlAccept)
			if r.status != http.StatusForbidden {
				t.Errorf("cross-origin POST /auth/logout: %d, want 403", r.status)
			}
			if r = c.do("GET", "/api/me", nil); r.status != 200 {
				t.Errorf("still signed in after the refused post? /api/me %d", r.status)
			}

			// Sign out; the old cookie is refused afterwards where the
			// provider revokes at once.
			old := c.hc.Jar.Cookies(mustURL(s.URL))
			r = c.do("POST", "/auth/logout", url.Values{}, "Origin", s.URL, "Sec-Fetch-Site", "same-origin", "Accept", htmlAccept)
			if authport.Has(s.App.Auth, authport.CapLogoutRedirect) {
				// Through the provider's logout page (which ends its own
				// browser session) and back to the home page.
				loc := r.header.Get("Location")
				if r.status != http.StatusSeeOther || s.App.Emulator == nil || !strings.HasPrefix(loc, s.App.Emulator.URL+"/") {
					t.Errorf("sign-out: %d to %q, want the provider's logout page", r.status, loc)
				} else if r = c.do("GET", loc, nil, "Accept", htmlAccept); r.status/100 != 3 || r.header.Get("Location") != s.URL+"/" {
					t.Errorf("provider logout page: %d to %q, want %s/", r.status, r.header.Get("Location"), s.URL)
				}
			} else if r.status != http.StatusSeeOther || r.header.Get("Location") != "/" {
				t.Errorf("sign-out: %d to %q", r.status, r.header.Get("Location"))
			}
			r = c.do("GET", "/app/", nil, "Accept", htmlAccept)
			if r.status != http.StatusSeeOther {
				t.Errorf("GET /app/ after sign-out: %d, want 303", r.status)
			}
			if d, ok := s.App.Auth.(authport.Describer); ok && d.Describe().RevocationDelay == 0 {
				replay := newClient(t, s.URL)
				replay.hc.Jar.SetCookies(mustURL(s.URL), old)
				if r = replay.do("GET", "/api/me", nil); r.status != 401 {
					t.Errorf("replayed cookie after sign-out: %d, want 401", r.status)
				}
			}

			// Admin user.
			admin := account(t, s, "admin")
			ca := newClient(t, s.URL)
			signIn(ca, admin.Email, admin.Password)
			r = ca.do("GET", "/admin", nil, "Accept", htmlAccept)
			checkPage(t, r)
			if r.status != 200 || !strings.Contains(r.body, `id="admin-ok"`) {
				t.Errorf("GET /admin as admin: %d", r.status)
			}
		})
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

// TestDIYSignUp creates an account through the sign-up form, then signs in.
func TestDIYSignUp(t *testing.T) {
	s, _ := startApp(t, nil)
	if len(s.App.Accounts) != 0 {
		t.Fatalf("accounts seeded without emulate mode")
	}
	c := newClient(t, s.URL)
	r := c.do("GET", "/auth/signup", nil, "Accept", htmlAccept)
	if r.status != 200 || !strings.Contains(r.body, `<label for="email"`) || !strings.Contains(r.body, `<label for="password"`) {
		t.Fatalf("sign-up page: %d", r.status)
	}
	const email, pw = "new.user@example.com", "correct horse battery staple"
	r = c.do("POST", "/auth/signup", url.Values{"email": {email}, "password": {pw}}, "Accept", htmlAccept, "Sec-Fetch-Site", "same-origin")
	if r.status >= 400 {
		t.Fatalf("sign-up: %d %s", r.status, r.body)
	}
	if r = c.signInForm(email, pw); r.status != http.StatusSeeOther {
		t.Fatalf("sign-in after sign-up: %d %s", r.status, r.body)
	}
	if r = c.do("GET", "/api/me", nil); r.status != 200 || !strings.Contains(r.body, email) {
		t.Fatalf("/api/me after sign-up: %d %s", r.status, r.body)
	}
	r = c.signInForm(email, "wrong password!")
	if r.status != 401 {
		t.Errorf("wrong password: %d, want 401", r.status)
	}
}

// TestDataFolder checks the first start creates the data folder, the
// database and the cookie key, and a second start reuses the key.
func TestDataFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "data")
	vars := map[string]string{EnvAddr: "127.0.0.1:0", EnvData: dir}
	s1, err := Start(t.Context(), env(vars), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	s1.Close()
	key1, err := os.ReadFile(filepath.Join(dir, "cookie.key"))
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "cookie.key")); fi.Mode().Perm() != 0o600 {
		t.Errorf("cookie.key mode %v, want 0600", fi.Mode().Perm())
	}
	if _, err := os.Stat(filepath.Join(dir, "authport.db")); err != nil {
		t.Errorf("no database: %v", err)
	}
	s2, err := Start(t.Context(), env(vars), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	s2.Close()
	key2, _ := os.ReadFile(filepath.Join(dir, "cookie.key"))
	if !bytes.Equal(key1, key2) {
		t.Error("the cookie key changed between starts")
	}
}

func TestStartErrors(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"unknown provider", map[string]string{EnvProvider: "nope"}, "AUTH_PROVIDER"},
		{"missing provider variable", map[string]string{EnvProvider: "oidc"}, "OIDC_ISSUER"},
		{"no emulator", map[string]string{EnvProvider: "nope", EnvEmulate: "1"}, "no emulator"},
		{"bad cookie key", map[string]string{EnvCookieKey: "short"}, EnvCookieKey},
		{"bad addr", map[string]string{EnvAddr: "nope"}, EnvAddr},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := map[string]string{EnvAddr: "127.0.0.1:0", EnvData: t.TempDir()}
			for k, v := range c.env {
				m[k] = v
			}
			s, err := Start(t.Context(), env(m), io.Discard)
			if err == nil {
				s.Close()
				t.Fatal("Start succeeded")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want it to name %s", err, c.want)
			}
		})
	}
}

// TestRun checks main's logic: it serves until the context ends, then
// shuts down cleanly.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, env(map[string]string{EnvAddr: "127.0.0.1:0", EnvData: t.TempDir()}), &out)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s := out.String()
		if strings.Contains(s, "listening") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no listening line: %s", s)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

// TestCloseDoesNotWaitForUnusedConnections: browsers open connections
// ahead of need; shutting down must not wait for them.
func TestCloseDoesNotWaitForUnusedConnections(t *testing.T) {
	s, err := Start(t.Context(), env(map[string]string{EnvAddr: "127.0.0.1:0", EnvData: t.TempDir()}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	time.Sleep(50 * time.Millisecond) // let the server accept it
	start := time.Now()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %s with an unused connection open", d)
	}
}
