package diy_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/authport/authport"
	"github.com/authport/authport/diy"
)

func newSite(t *testing.T, mod func(*diy.Config)) (*diy.Backend, http.Handler) {
	t.Helper()
	b := newBackend(t, "sqlite", diy.ModeSession, mod)
	web, err := authport.NewWeb(b, authport.Config{
		CookieKeys: [][]byte{[]byte("0123456789abcdef0123456789abcdef")},
		Insecure:   true,
		Templates:  b.WebTemplates(),
		Logger:     quietLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return b, b.Pages(web)
}

type req struct {
	method, path, body, ctype string
	header                    map[string]string
	cookies                   []*http.Cookie
}

func do(h http.Handler, r req) *httptest.ResponseRecorder {
	hr := httptest.NewRequest(r.method, "http://app.test"+r.path, strings.NewReader(r.body))
	if r.ctype != "" {
		hr.Header.Set("Content-Type", r.ctype)
	}
	hr.Header.Set("User-Agent", "pages-test/1.0")
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	for _, c := range r.cookies {
		hr.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, hr)
	return rec
}

func form(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v.Encode()
}

const formType = "application/x-www-form-urlencoded"

func TestPagesRender(t *testing.T) {
	_, h := newSite(t, nil)
	for _, tc := range []struct{ path, want string }{
		{"/auth/login", `action="/auth/login"`},
		{"/auth/login?return_to=/app/settings", `name="return_to" value="/app/settings"`},
		{"/auth/login?return_to=https://evil.example/", `name="return_to" value=""`},
		{"/auth/login?notice=signed_up", "your account is ready"},
		{"/auth/signup", `autocomplete="new-password"`},
		{"/auth/logout", `action="/auth/logout-everywhere"`},
	} {
		t.Run(tc.path, func(t *testing.T) {
			rec := do(h, req{method: "GET", path: tc.path, header: map[string]string{"Accept": "text/html"}})
			body := rec.Body.String()
			if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
				t.Fatalf("%d %q", rec.Code, rec.Header().Get("Content-Type"))
			}
			if !strings.Contains(body, tc.want) {
				t.Fatalf("page lacks %q:\n%s", tc.want, body)
			}
			for _, bad := range []string{"<script", "javascript:", "evil.example"} {
				if strings.Contains(body, bad) {
					t.Fatalf("page contains %q", bad)
				}
			}
			for _, want := range []string{`<html lang="en">`, "<label"} {
				if tc.path != "/auth/logout" && !strings.Contains(body, want) {
					t.Fatalf("page lacks %q", want)
				}
			}
			if rec.Header().Get("Cache-Control") != "no-store" || !strings.Contains(rec.Header().Get("Content-Security-Policy"), "frame-ancestors 'none'") {
				t.Fatalf("headers %v", rec.Header())
			}
		})
	}
}

// TestPagesSignUpNoEnumeration: a fresh and a taken address get the same
// status, headers and body.
func TestPagesSignUpNoEnumeration(t *testing.T) {
	b, h := newSite(t, nil)
	email := randEmail()
	first := do(h, req{method: "POST", path: "/auth/signup", ctype: formType, body: form("email", email, "password", goodPassword, "return_to", "/app")})
	again := do(h, req{method: "POST", path: "/auth/signup", ctype: formType, body: form("email", email, "password", "some other password", "return_to", "/app")})
	if first.Code != http.StatusSeeOther || first.Header().Get("Location") != "/auth/login?notice=signed_up&return_to=%2Fapp" {
		t.Fatalf("sign-up: %d %q", first.Code, first.Header().Get("Location"))
	}
	if again.Code != first.Code || again.Body.String() != first.Body.String() || len(again.Header()) != len(first.Header()) {
		t.Fatalf("duplicate sign-up differs: %d %v vs %d %v", again.Code, again.Header(), first.Code, first.Header())
	}
	for k := range first.Header() {
		if again.Header().Get(k) != first.Header().Get(k) {
			t.Fatalf("header %s differs: %q vs %q", k, again.Header().Get(k), first.Header().Get(k))
		}
	}
	if _, err := b.SignInWithPassword(t.Context(), email, goodPassword); err != nil {
		t.Fatalf("the account from the form does not sign in: %v", err)
	}
	// JSON clients get 202.
	rec := do(h, req{method: "POST", path: "/auth/signup", ctype: "application/json", body: `{"email":"` + randEmail() + `","password":"` + goodPassword + `"}`})
	if rec.Code != http.StatusAccepted {
		t.Fatalf("JSON sign-up: %d %s", rec.Code, rec.Body)
	}
}

func TestPagesBadInput(t *testing.T) {
	b, h := newSite(t, nil)
	email := randEmail()
	for _, tc := range []struct {
		name, body, ctype string
		code              int
		want              string
	}{
		{"Short", form("email", email, "password", "short"), formType, 400, "Password must have at least 8 characters."},
		{"Common", form("email", email, "password", "password123"), formType, 400, "Password is too common."},
		{"BadEmail", form("email", "nope", "password", goodPassword), formType, 400, "Email must have the form name@domain."},
		{"Repeated", "email=a%40b.example&email=c%40d.example&password=" + url.QueryEscape(goodPassword), formType, 400, "Repeated form field."},
		{"BadUTF8", "email=" + url.QueryEscape(email) + "&password=abcdefgh%FF", formType, 400, "not valid UTF-8"},
		{"WrongType", "hello", "text/plain", 400, ""},
		{"JSONUnknownField", `{"email":"` + email + `","password":"` + goodPassword + `","admin":true}`, "application/json", 400, "invalid_request"},
		{"JSONTrailing", `{"email":"` + email + `","password":"` + goodPassword + `"}{}`, "application/json", 400, "invalid_request"},
		{"TooLarge", form("email", email, "password", strings.Repeat("x", 20000)), formType, 400, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := do(h, req{method: "POST", path: "/auth/signup", ctype: tc.ctype, body: tc.body})
			if rec.Code != tc.code || !strings.Contains(rec.Body.String(), tc.want) {
				t.Fatalf("%d, body lacks %q:\n%s", rec.Code, tc.want, rec.Body)
			}
		})
	}
	if _, err := b.UserByEmail(t.Context(), email); err == nil {
		t.Fatal("bad input created an account")
	}
}

func TestPagesCrossOrigin(t *testing.T) {
	_, h := newSite(t, nil)
	for _, p := range []string{"/auth/signup", "/auth/login", "/auth/logout-everywhere", "/auth/logout"} {
		rec := do(h, req{method: "POST", path: p, ctype: formType, body: form("email", randEmail(), "password", goodPassword),
			header: map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}})
		if rec.Code != http.StatusForbidden {
			t.Errorf("cross-origin POST %s: %d", p, rec.Code)
		}
	}
}

func TestPagesSignInAndOut(t *testing.T) {
	b, h := newSite(t, nil)
	u, email := mustUser(t, b)
	other := signIn(t, b, email, goodPassword)

	// A failed sign-in is rendered with the DIY templates.
	rec := do(h, req{method: "POST", path: "/auth/login", ctype: formType, body: form("email", email, "password", "wrong!")})
	if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), `class="msg"`) {
		t.Fatalf("failed sign-in: %d\n%s", rec.Code, rec.Body)
	}
	rec = do(h, req{method: "POST", path: "/auth/login", ctype: formType, body: form("email", email, "password", goodPassword, "return_to", "/app")})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/app" {
		t.Fatalf("sign-in: %d %q %s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	cookies := rec.Result().Cookies()
	if len(cookies) == 0 || !cookies[0].HttpOnly {
		t.Fatalf("cookies %v", cookies)
	}
	rec = do(h, req{method: "GET", path: "/auth/session", cookies: cookies})
	if !strings.Contains(rec.Body.String(), `"authenticated":true`) || !strings.Contains(rec.Body.String(), u.ID) {
		t.Fatalf("session: %s", rec.Body)
	}
	list, _ := b.ListSessions(t.Context(), u.ID)
	if len(list) != 2 || list[0].UserAgent != "pages-test/1.0" || list[0].IP == "" {
		t.Fatalf("sessions %+v", list)
	}
	rec = do(h, req{method: "POST", path: "/auth/logout-everywhere", ctype: formType, cookies: cookies})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("logout everywhere: %d %s", rec.Code, rec.Body)
	}
	if _, err := b.Verify(t.Context(), bearer(other)); !strings.Contains(authport.KindOf(err).Error(), "revoked") {
		t.Fatalf("other session after logout everywhere: %v", err)
	}
	rec = do(h, req{method: "GET", path: "/auth/session", cookies: cookies})
	if !strings.Contains(rec.Body.String(), `"authenticated":false`) {
		t.Fatalf("session after logout: %s", rec.Body)
	}
}

func TestPagesTemplateOverride(t *testing.T) {
	fsys := fstest.MapFS{"login.html": {Data: []byte(`{{define "login"}}<p>custom {{.Title}}</p>{{end}}`)}}
	_, h := newSite(t, func(c *diy.Config) { c.Templates = fsys })
	rec := do(h, req{method: "GET", path: "/auth/login"})
	if rec.Body.String() != "<p>custom Sign in</p>" {
		t.Fatalf("override not used: %q", rec.Body)
	}
	_, err := diy.New(t.Context(), diy.Config{Store: nil})
	if err == nil {
		t.Fatal("New without a store succeeded")
	}
	bad := fstest.MapFS{"error.html": {Data: []byte(`{{define "nope"}}{{end}}`)}}
	store, _, _ := openStores(t, "sqlite")
	if _, err := diy.New(t.Context(), diy.Config{Store: store, Templates: bad, Hash: fastHash}); err == nil {
		t.Fatal("templates without \"error\" accepted")
	}
}
