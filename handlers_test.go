package authport

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html/template"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func pkceChallenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// site is the application every handler test uses: the auth handlers, a
// protected subtree and the middleware in front.
func (e *env) site() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/auth/", e.web.Handler())
	mux.Handle("/app/", Require()(echo))
	mux.Handle("/", echo)
	return e.web.Middleware(mux)
}

func formReq(path string, vals url.Values) *http.Request {
	r := httptest.NewRequest("POST", path, strings.NewReader(vals.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

func jsonReq(path, body string) *http.Request {
	r := httptest.NewRequest("POST", path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return r
}

var adaForm = url.Values{"email": {"ada@example.com"}, "password": {"correct horse battery staple"}, "return_to": {"/app/x?y=1"}}

func sessionJSON(t *testing.T, rec *httptest.ResponseRecorder) (bool, map[string]any) {
	t.Helper()
	var body struct {
		Authenticated bool           `json:"authenticated"`
		Session       map[string]any `json:"session"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("session body %q: %v", rec.Body, err)
	}
	return body.Authenticated, body.Session
}

func TestPasswordFlowEndToEnd(t *testing.T) {
	e := newEnv(t, func(p *fakeProvider) Authenticator { return pwAuth{p} }, nil)
	srv := httptest.NewTLSServer(e.site())
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	c := srv.Client()
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	get := func(path string) (*http.Response, string) {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("Accept", "text/html")
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res, string(b)
	}

	// Protected page: redirected to the login form with return_to.
	res, _ := get("/app/x?y=1")
	if res.StatusCode != 303 || res.Header.Get("Location") != "/auth/login?return_to=%2Fapp%2Fx%3Fy%3D1" {
		t.Fatalf("protected page: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	res, body := get(res.Header.Get("Location"))
	for _, want := range []string{`<form method="post" action="/auth/login">`, `name="return_to" value="/app/x?y=1"`,
		`<label for="email">`, `autocomplete="current-password"`, `href="/auth/signup?return_to=%2Fapp%2Fx%3Fy%3D1"`} {
		if !strings.Contains(body, want) {
			t.Fatalf("login form lacks %q:\n%s", want, body)
		}
	}
	if res.Header.Get("X-Frame-Options") != "DENY" || !strings.Contains(res.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Fatal("login form can be framed")
	}

	// Sign in.
	res, err := c.PostForm(srv.URL+"/auth/login", adaForm)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 303 || res.Header.Get("Location") != "/app/x?y=1" {
		t.Fatalf("sign-in: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	sc := res.Header.Get("Set-Cookie")
	for _, want := range []string{"__Host-authport=", "Path=/", "HttpOnly", "Secure", "SameSite=Lax"} {
		if !strings.Contains(sc, want) {
			t.Fatalf("Set-Cookie %q lacks %s", sc, want)
		}
	}
	if strings.Contains(sc, "Domain") || strings.Contains(sc, "at-user_ada") {
		t.Fatalf("Set-Cookie %q", sc)
	}
	u, _ := url.Parse(srv.URL)
	oldCookie := jar.Cookies(u)[0].Value

	res, body = get("/app/x?y=1")
	if res.StatusCode != 200 || body != "user=user_ada" {
		t.Fatalf("protected page after sign-in: %d %q", res.StatusCode, body)
	}
	res, body = get("/auth/session")
	if res.Header.Get("Cache-Control") != "no-store" || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("session headers %v", res.Header)
	}
	var s struct {
		Authenticated bool           `json:"authenticated"`
		Session       map[string]any `json:"session"`
	}
	if err := json.Unmarshal([]byte(body), &s); err != nil || !s.Authenticated || s.Session["user_id"] != "user_ada" {
		t.Fatalf("session: %v %q", err, body)
	}
	if _, ok := s.Session["claims"]; ok || strings.Contains(body, "secret_claim") || strings.Contains(body, "at-user") {
		t.Fatalf("session endpoint shows claims or tokens: %s", body)
	}

	// Sign out: revoked at the provider, cookie cleared.
	res, err = c.PostForm(srv.URL+"/auth/logout", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 303 || res.Header.Get("Location") != "/" || e.p.revokeCalls.Load() != 1 {
		t.Fatalf("logout: %d %q revokes %d", res.StatusCode, res.Header.Get("Location"), e.p.revokeCalls.Load())
	}
	for _, c := range jar.Cookies(u) {
		if c.Name != "__Host-authport-device" { // the known-device cookie outlives sessions
			t.Fatalf("cookie %s survived logout", c.Name)
		}
	}
	_, body = get("/auth/session")
	if body != "{\"authenticated\":false}\n" {
		t.Fatalf("after logout: %q", body)
	}
	// Replaying the old cookie: the session was revoked.
	req, _ := http.NewRequest("GET", srv.URL+"/app/x", nil)
	req.Header.Set("Cookie", "__Host-authport="+oldCookie)
	res, err = srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 401 {
		t.Fatalf("replayed cookie after logout: %d", res.StatusCode)
	}
	if len(e.events(EventSignIn)) != 1 || len(e.events(EventSignOut)) != 1 || len(e.events(EventRevoke)) != 1 {
		t.Fatalf("events: %+v", e.evs)
	}
	logs := e.logs.String()
	for _, secret := range []string{"correct horse", "ada@example.com", "at-user_ada", "rt-user_ada"} {
		if strings.Contains(logs, secret) {
			t.Fatalf("logs contain %q:\n%s", secret, logs)
		}
	}
	if !strings.Contains(logs, "user_id=user_ada") {
		t.Fatalf("logs lack the user id:\n%s", logs)
	}
}

func TestLoginFailures(t *testing.T) {
	e := newEnv(t, func(p *fakeProvider) Authenticator { return pwAuth{p} }, nil)
	h := e.site()

	wrong := serve(h, formReq("/auth/login", url.Values{"email": {"ada@example.com"}, "password": {"nope"}}))
	unknown := serve(h, formReq("/auth/login", url.Values{"email": {"zed@example.com"}, "password": {"nope"}}))
	for _, rec := range []*httptest.ResponseRecorder{wrong, unknown} {
		if rec.Code != 401 || !strings.Contains(rec.Body.String(), "Invalid email address or password.") || len(rec.Result().Cookies()) != 0 {
			t.Fatalf("failed form sign-in: %d %q", rec.Code, rec.Body)
		}
	}
	if strings.ReplaceAll(wrong.Body.String(), "ada@", "zed@") != unknown.Body.String() {
		t.Fatal("wrong password and unknown email are distinguishable")
	}

	rec := serve(h, jsonReq("/auth/login", `{"email":"ada@example.com","password":"nope"}`))
	if rec.Code != 401 || rec.Body.String() != `{"error":"invalid_token","error_description":"the credential is not valid"}`+"\n" {
		t.Fatalf("JSON failure: %d %q", rec.Code, rec.Body)
	}
	if n := len(e.events(EventSignInFailed)); n != 3 {
		t.Fatalf("%d sign_in_failed events", n)
	}
}

func TestLoginJSON(t *testing.T) {
	e := newEnv(t, func(p *fakeProvider) Authenticator { return pwAuth{p} }, nil)
	rec := serve(e.site(), jsonReq("/auth/login", `{"email":" ada@example.com ","password":"correct horse battery staple","return_to":"//evil"}`))
	if rec.Code != 200 || setCookies(rec)["__Host-authport"] == nil {
		t.Fatalf("JSON sign-in: %d %q", rec.Code, rec.Body)
	}
	if ok, s := sessionJSON(t, rec); !ok || s["user_id"] != "user_ada" {
		t.Fatalf("body %q", rec.Body)
	}
}

func TestMalformedBodies(t *testing.T) {
	e := newEnv(t, func(p *fakeProvider) Authenticator { return pwAuth{p} }, nil)
	h := e.site()
	big := url.Values{"email": {"ada@example.com"}, "password": {strings.Repeat("x", MaxBodySize)}}.Encode()
	tests := []struct {
		name, ctype, body string
	}{
		{"oversized form", "application/x-www-form-urlencoded", big},
		{"oversized json", "application/json", `{"email":"ada@example.com","password":"` + strings.Repeat("x", MaxBodySize) + `"}`},
		{"invalid utf-8 raw", "application/json", "{\"email\":\"ada@example.com\",\"password\":\"\xff\xfe\"}"},
		{"invalid utf-8 escaped", "application/x-www-form-urlencoded", "email=ada%40example.com&password=%FF%FE"},
		{"malformed json", "application/json", `{"email":`},
		{"json trailing", "application/json", `{"email":"ada@example.com","password":"correct horse battery staple"} {}`},
		{"json wrong type", "application/json", `{"email":1,"password":"x"}`},
		{"json array", "application/json", `[]`},
		{"malformed form", "application/x-www-form-urlencoded", "email=%zz&password=x"},
		{"duplicate field", "application/x-www-form-urlencoded", "email=ada%40example.com&email=zed%40example.com&password=correct+horse+battery+staple"},
		{"missing password", "application/json", `{"email":"ada@example.com"}`},
		{"no at sign", "application/json", `{"email":"ada","password":"x"}`},
		{"control char in email", "application/json", `{"email":"ada@exa\u0000mple.com","password":"x"}`},
		{"multipart", "multipart/form-data; boundary=x", "--x--"},
		{"no content type", "", "email=ada%40example.com&password=correct+horse+battery+staple"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/auth/login", strings.NewReader(tt.body))
			if tt.ctype != "" {
				r.Header.Set("Content-Type", tt.ctype)
			}
			before := e.p.verifyCalls.Load()
			rec := serve(h, r)
			if rec.Code != 400 || len(rec.Result().Cookies()) != 0 || e.p.verifyCalls.Load() != before {
				t.Fatalf("status %d cookies %v body %q", rec.Code, rec.Result().Cookies(), rec.Body)
			}
		})
	}
}

func TestCrossOriginRefused(t *testing.T) {
	e := newEnv(t, func(p *fakeProvider) Authenticator { return pwAuth{p} }, nil)
	h := e.site()
	cookie, _ := e.sealedCookie(t)
	for _, path := range []string{"/auth/login", "/auth/signup", "/auth/logout", "/auth/refresh"} {
		for name, hdr := range map[string]http.Header{
			"sec-fetch-site": {"Sec-Fetch-Site": {"cross-site"}},
			"same-site":      {"Sec-Fetch-Site": {"same-site"}},
			"origin":         {"Origin": {"https://evil.example"}},
		} {
			r := formReq(path, adaForm)
			r.Host = "app.example"
			r.Header.Set("Cookie", cookie)
			for k, v := range hdr {
				r.Header[k] = v
			}
			if rec := serve(h, r); rec.Code != 403 || len(rec.Result().Cookies()) != 0 {
				t.Errorf("%s %s: %d", path, name, rec.Code)
			}
		}
	}
	if e.p.revokeCalls.Load() != 0 || e.p.refreshCalls.Load() != 0 {
		t.Fatal("a cross-origin request changed state")
	}
	// Same-origin browser requests pass.
	r := formReq("/auth/login", adaForm)
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	if rec := serve(h, r); rec.Code != 303 {
		t.Fatalf("same-origin sign-in: %d", rec.Code)
	}
	r = formReq("/auth/login", adaForm)
	r.Header.Set("Origin", "https://app.example") // PublicOrigin is trusted
	r.Host = "internal:8080"
	if rec := serve(h, r); rec.Code != 303 {
		t.Fatalf("trusted origin sign-in: %d", rec.Code)
	}
}

func TestLogoutMethodsAndAPI(t *testing.T) {
	e := newEnv(t, func(p *fakeProvider) Authenticator { return pwAuth{p} }, nil)
	h := e.site()
	if rec := serve(h, httptest.NewRequest("GET", "/auth/logout", nil)); rec.Code != 405 {
		t.Fatalf("GET logout: %d", rec.Code)
	}
	tok := e.p.issue("user_ada", "")
	r := httptest.NewRequest("POST", "/auth/logout", nil)
	r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	rec := serve(h, r)
	if rec.Code != 204 || e.p.revokeCalls.Load() != 1 {
		t.Fatalf("API logout: %d revokes %d", rec.Code, e.p.revokeCalls.Load())
	}
	// An expired cookie still names the session to revoke, and is not
	// refreshed first.
	cookie, _ := e.sealedCookie(t)
	e.clock.Advance(time.Hour)
	r = httptest.NewRequest("POST", "/auth/logout", nil)
	r.Header.Set("Cookie", cookie)
	rec = serve(h, r)
	if rec.Code != 204 || e.p.revokeCalls.Load() != 2 || e.p.refreshCalls.Load() != 0 {
		t.Fatalf("expired-cookie logout: %d revokes %d refreshes %d", rec.Code, e.p.revokeCalls.Load(), e.p.refreshCalls.Load())
	}
	if c := setCookies(rec)["__Host-authport"]; c == nil || c.MaxAge >= 0 {
		t.Fatal("cookie not cleared")
	}
}

// TestLogoutUnconfirmedRevocation: when the provider cannot confirm the
// revocation, sign-out clears the cookie but answers 503 instead of
// reporting a clean sign-out (security.md F8).
func TestLogoutUnconfirmedRevocation(t *testing.T) {
	e := newEnv(t, func(p *fakeProvider) Authenticator { return pwAuth{p} }, nil)
	h := e.site()
	e.p.revokeDown.Store(true)
	cookie, _ := e.sealedCookie(t)
	for _, browser := range []bool{false, true} {
		r := httptest.NewRequest("POST", "/auth/logout", nil)
		r.Header.Set("Cookie", cookie)
		if browser {
			r.Header.Set("Accept", "text/html")
		}
		rec := serve(h, r)
		if rec.Code != 503 || rec.Header().Get("Retry-After") == "" {
			t.Fatalf("browser=%v: status %d, want 503 with Retry-After", browser, rec.Code)
		}
		if c := setCookies(rec)["__Host-authport"]; c == nil || c.MaxAge >= 0 {
			t.Fatalf("browser=%v: cookie not cleared", browser)
		}
	}
}

func TestSessionEndpointFailsClosed(t *testing.T) {
	e := newEnv(t, func(p *fakeProvider) Authenticator { return pwAuth{p} }, nil)
	cookie, _ := e.sealedCookie(t)
	e.p.unavailable.Store(true)
	r := httptest.NewRequest("GET", "/auth/session", nil)
	r.Header.Set("Cookie", cookie)
	rec := serve(e.site(), r)
	if rec.Code != 503 || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("session with provider down: %d %q", rec.Code, rec.Body)
	}
}

func TestRefreshEndpoint(t *testing.T) {
	e := newEnv(t, func(p *fakeProvider) Authenticator { return pwAuth{p} }, nil)
	h := e.site()
	cookie, _ := e.sealedCookie(t)
	r := httptest.NewRequest("POST", "/auth/refresh", nil)
	r.Header.Set("Cookie", cookie)
	rec := serve(h, r)
	if rec.Code != 200 || setCookies(rec)["__Host-authport"] == nil || e.p.refreshCalls.Load() != 1 {
		t.Fatalf("refresh: %d %q refreshes %d", rec.Code, rec.Body, e.p.refreshCalls.Load())
	}
	if ok, _ := sessionJSON(t, rec); !ok {
		t.Fatal("not authenticated after refresh")
	}
	// Expired cookie: the middleware refreshes; the endpoint does not
	// refresh a second time.
	cookie, _ = e.sealedCookie(t)
	e.clock.Advance(time.Hour)
	r.Header.Set("Cookie", cookie)
	rec = serve(h, r)
	if rec.Code != 200 || e.p.refreshCalls.Load() != 2 || len(rec.Header()["Set-Cookie"]) != 1 {
		t.Fatalf("refresh of expired cookie: %d refreshes %d cookies %d", rec.Code, e.p.refreshCalls.Load(), len(rec.Header()["Set-Cookie"]))
	}
	if rec := serve(h, httptest.NewRequest("POST", "/auth/refresh", nil)); rec.Code != 401 {
		t.Fatalf("refresh without a session: %d", rec.Code)
	}
}

func TestRedirectFlow(t *testing.T) {
	e := newEnv(t, func(p *fakeProvider) Authenticator { return redirectAuth{p} }, nil)
	a := redirectAuth{e.p}
	h := e.site()

	start := func(t *testing.T) (state, flowCookie string) {
		t.Helper()
		r := httptest.NewRequest("GET", "/auth/login?return_to=%2Fdash", nil)
		r.Header.Set("Accept", "text/html")
		rec := serve(h, r)
		loc, _ := url.Parse(rec.Header().Get("Location"))
		if rec.Code != 303 || loc.Host != "idp.example" {
			t.Fatalf("login: %d %q", rec.Code, rec.Header().Get("Location"))
		}
		q := loc.Query()
		if q.Get("redirect_uri") != "https://app.example/auth/callback" || len(q.Get("state")) < 22 || len(q.Get("code_challenge")) != 43 {
			t.Fatalf("authorize request %v", q)
		}
		fc := setCookies(rec)["__Host-authport-flow"]
		if fc == nil || !fc.HttpOnly || !fc.Secure || fc.SameSite != http.SameSiteLaxMode || fc.MaxAge != int(flowMaxAge/time.Second) {
			t.Fatalf("flow cookie %+v", fc)
		}
		return q.Get("state"), "__Host-authport-flow=" + fc.Value
	}
	callback := func(query, cookie string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/auth/callback?"+query, nil)
		r.Header.Set("Accept", "text/html")
		if cookie != "" {
			r.Header.Set("Cookie", cookie)
		}
		return serve(h, r)
	}

	t.Run("success", func(t *testing.T) {
		state, fc := start(t)
		code := a.approve("user_ada")
		rec := callback(url.Values{"code": {code}, "state": {state}}.Encode(), fc)
		if rec.Code != 303 || rec.Header().Get("Location") != "/dash" {
			t.Fatalf("callback: %d %q %q", rec.Code, rec.Header().Get("Location"), rec.Body)
		}
		cs := setCookies(rec)
		if c := cs["__Host-authport-flow"]; c == nil || c.MaxAge >= 0 {
			t.Fatal("flow cookie not consumed")
		}
		if cs["__Host-authport"] == nil {
			t.Fatal("no session cookie")
		}
	})
	t.Run("state mismatch", func(t *testing.T) {
		_, fc := start(t)
		code := a.approve("user_ada")
		rec := callback(url.Values{"code": {code}, "state": {"attacker-state"}}.Encode(), fc)
		if rec.Code != 400 || setCookies(rec)["__Host-authport"] != nil {
			t.Fatalf("state mismatch: %d", rec.Code)
		}
		if c := setCookies(rec)["__Host-authport-flow"]; c == nil || c.MaxAge >= 0 {
			t.Fatal("flow cookie survives a failed callback")
		}
	})
	t.Run("missing flow cookie", func(t *testing.T) {
		state, _ := start(t)
		rec := callback(url.Values{"code": {a.approve("user_ada")}, "state": {state}}.Encode(), "")
		if rec.Code != 400 || setCookies(rec)["__Host-authport"] != nil {
			t.Fatalf("no flow cookie: %d", rec.Code)
		}
	})
	t.Run("two states", func(t *testing.T) {
		state, fc := start(t)
		rec := callback("code=x&state="+state+"&state="+state, fc)
		if rec.Code != 400 {
			t.Fatalf("duplicate state: %d", rec.Code)
		}
	})
	t.Run("session cookie is not a flow cookie", func(t *testing.T) {
		state, _ := start(t)
		cookie, _ := e.sealedCookie(t)
		_, v, _ := strings.Cut(cookie, "=")
		rec := callback(url.Values{"code": {a.approve("user_ada")}, "state": {state}}.Encode(), "__Host-authport-flow="+v)
		if rec.Code != 400 {
			t.Fatalf("session cookie accepted as flow: %d", rec.Code)
		}
	})
	t.Run("flow too old", func(t *testing.T) {
		state, fc := start(t)
		e.clock.Advance(flowMaxAge + time.Second)
		rec := callback(url.Values{"code": {a.approve("user_ada")}, "state": {state}}.Encode(), fc)
		if rec.Code != 400 {
			t.Fatalf("stale flow: %d", rec.Code)
		}
	})
	t.Run("provider error", func(t *testing.T) {
		state, fc := start(t)
		rec := callback(url.Values{"error": {"access_denied"}, "state": {state}}.Encode(), fc)
		if rec.Code != 401 || rec.Header().Get("Location") != "" || !strings.Contains(rec.Body.String(), "<h1>") {
			t.Fatalf("provider error: %d %q (must be a page, not a redirect loop)", rec.Code, rec.Header().Get("Location"))
		}
	})
	t.Run("signup uses hosted page", func(t *testing.T) {
		r := httptest.NewRequest("GET", "/auth/signup", nil)
		if rec := serve(h, r); rec.Code != 303 || e.p.lastAuthz.ScreenHint != "sign-up" {
			t.Fatalf("signup: %d hint %q", rec.Code, e.p.lastAuthz.ScreenHint)
		}
	})
}

func TestSignUpForm(t *testing.T) {
	e := newEnv(t, func(p *fakeProvider) Authenticator { return pwAuth{p} }, nil)
	h := e.site()
	rec := serve(h, httptest.NewRequest("GET", "/auth/signup?return_to=/welcome", nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `autocomplete="new-password"`) || !strings.Contains(rec.Body.String(), `action="/auth/signup"`) {
		t.Fatalf("signup form: %d %s", rec.Code, rec.Body)
	}
	rec = serve(h, formReq("/auth/signup", url.Values{"email": {"bob@example.com"}, "password": {"a long passphrase"}, "return_to": {"/welcome"}}))
	if rec.Code != 303 || rec.Header().Get("Location") != "/welcome" || setCookies(rec)["__Host-authport"] == nil {
		t.Fatalf("signup: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	if len(e.events(EventSignUp)) != 1 {
		t.Fatal("no sign_up event")
	}
}

func TestLoginRateLimit(t *testing.T) {
	e := newEnv(t, func(p *fakeProvider) Authenticator { return pwAuth{p} }, func(c *Config) {
		p := LimitPolicy{Free: 3, Window: time.Minute, Base: time.Minute, Max: time.Hour}
		c.Limiter, c.Limits = NewMemoryLimiter(), Limits{SignInIP: p, SignInAccount: p}
	})
	h := e.site()
	bad := url.Values{"email": {"ada@example.com"}, "password": {"guess"}}

	// Per IP.
	var rec *httptest.ResponseRecorder
	for i := range 4 {
		r := formReq("/auth/login", url.Values{"email": {"u" + string(rune('a'+i)) + "@example.com"}, "password": {"x"}})
		r.RemoteAddr = "198.51.100.7:1234"
		rec = serve(h, r)
	}
	if rec.Code != 429 || rec.Header().Get("Retry-After") != "60" || !strings.Contains(rec.Body.String(), "Too many attempts") {
		t.Fatalf("per-IP limit: %d %q %q", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
	// Per email, from many addresses.
	for i := range 4 {
		r := jsonReq("/auth/login", `{"email":"ADA@example.com","password":"guess"}`)
		r.RemoteAddr = "203.0.113." + string(rune('1'+i)) + ":1"
		rec = serve(h, r)
	}
	if rec.Code != 429 || rec.Header().Get("Retry-After") == "" || !strings.Contains(rec.Body.String(), "too_many_requests") {
		t.Fatalf("per-email limit: %d %q", rec.Code, rec.Body)
	}
	// X-Forwarded-For is not trusted by default.
	for i := range 4 {
		r := formReq("/auth/login", bad)
		r.RemoteAddr = "192.0.2.1:1"
		r.Header.Set("X-Forwarded-For", "10.0.0."+string(rune('1'+i)))
		rec = serve(h, r)
	}
	if rec.Code != 429 {
		t.Fatalf("spoofed X-Forwarded-For escaped the limit: %d", rec.Code)
	}
}

func TestLimiterErrorFailsClosed(t *testing.T) {
	e := newEnv(t, func(p *fakeProvider) Authenticator { return pwAuth{p} }, func(c *Config) { c.Limiter = brokenLimiter{} })
	rec := serve(e.site(), jsonReq("/auth/login", `{"email":"ada@example.com","password":"correct horse battery staple"}`))
	if rec.Code != 503 || len(rec.Result().Cookies()) != 0 {
		t.Fatalf("broken limiter: %d", rec.Code)
	}
}

func TestUnsupportedEndpoints(t *testing.T) {
	e := newEnv(t, func(p *fakeProvider) Authenticator { return staticAuth{p} }, nil)
	h := e.site()
	for _, r := range []*http.Request{
		httptest.NewRequest("GET", "/auth/login", nil),
		jsonReq("/auth/login", `{"email":"ada@example.com","password":"x"}`),
		httptest.NewRequest("GET", "/auth/callback?code=x&state=y", nil),
		httptest.NewRequest("POST", "/auth/refresh", nil),
	} {
		if rec := serve(h, r); rec.Code != 501 {
			t.Errorf("%s %s: %d, want 501", r.Method, r.URL, rec.Code)
		}
	}
}

func TestTemplatesOverride(t *testing.T) {
	tpl := template.Must(template.New("x").Parse(`{{define "login"}}LOGIN {{.Title}} {{.ReturnTo}}{{end}}{{define "error"}}ERR {{.Status}}{{end}}`))
	e := newEnv(t, func(p *fakeProvider) Authenticator { return pwAuth{p} }, func(c *Config) { c.Templates = tpl })
	rec := serve(e.site(), httptest.NewRequest("GET", "/auth/login?return_to=/x", nil))
	if rec.Body.String() != "LOGIN Sign in /x" {
		t.Fatalf("login override: %q", rec.Body)
	}
	r := httptest.NewRequest("GET", "/x", nil)
	r.Header.Set("Accept", "text/html")
	rec = httptest.NewRecorder()
	e.web.WriteError(rec, r, ErrForbidden)
	if rec.Body.String() != "ERR 403" {
		t.Fatalf("error override: %q", rec.Body)
	}
	if _, err := NewWeb(pwAuth{e.p}, Config{CookieKeys: [][]byte{testKey}, Templates: template.Must(template.New("login").Parse("x"))}); !errors.Is(err, ErrMisconfigured) {
		t.Fatalf("template without error page accepted: %v", err)
	}
}

func TestRedirectURIFromHost(t *testing.T) {
	e := newEnv(t, func(p *fakeProvider) Authenticator { return redirectAuth{p} }, func(c *Config) {
		c.PublicOrigin, c.Insecure, c.CookieName = "", true, ""
	})
	r := httptest.NewRequest("GET", "/auth/login", nil)
	r.Host = "localhost:8080"
	rec := serve(e.site(), r)
	if rec.Code != 303 || e.p.lastAuthz.RedirectURI != "http://localhost:8080/auth/callback" {
		t.Fatalf("%d %q", rec.Code, e.p.lastAuthz.RedirectURI)
	}
	if c := setCookies(rec)["authport-flow"]; c == nil || c.Secure {
		t.Fatalf("insecure flow cookie %+v", c)
	}
}
