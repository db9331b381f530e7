package authport

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// secretMark is in every pending token the step adapter issues: it must
// never show up in a response (other than inside the sealed cookie) or a
// log.
const secretMark = "PT-SECRET"

// stepState is the provider side of stepAuth: pending sign-ins by token.
type stepState struct {
	mu      sync.Mutex
	n       int
	pending map[string]stepPending
	last    ActionInput
	calls   atomic.Int32
	// noMFA makes CanContinue refuse ActionMFA (an adapter that cannot
	// ask for a second factor itself).
	noMFA bool
	// exchangeStep makes Exchange ask for an organisation.
	exchangeStep bool
}

type stepPending struct {
	user         string
	action, next Action
}

func (s *stepState) step(user string, a, next Action) *ActionError {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	tok := fmt.Sprintf("%s-%d-%s", secretMark, s.n, user)
	s.pending[tok] = stepPending{user: user, action: a, next: next}
	ae := &ActionError{Action: a, Provider: "fake", PendingToken: tok}
	switch a {
	case ActionSelectOrganization:
		ae.Organizations = []string{"org_a", "org_b"}
		ae.OrganizationNames = map[string]string{"org_a": "Acme <Corp>", "org_b": "Beta"}
	case ActionSSO:
		ae.Organizations = []string{"org_sso"}
	}
	return ae
}

// stepAuth is a password and redirect adapter whose provider asks for
// email verification, MFA, an organisation or SSO depending on the
// account, and which continues such sign-ins.
type stepAuth struct {
	redirectAuth
	st *stepState
}

func (a stepAuth) SignInWithPassword(ctx context.Context, email, pw string) (*Tokens, error) {
	switch email {
	case "verify@example.com":
		return nil, a.st.step("user_verify", ActionVerifyEmail, "")
	case "mfa@example.com":
		return nil, a.st.step("user_mfa", ActionMFA, "")
	case "orgs@example.com":
		return nil, a.st.step("user_orgs", ActionSelectOrganization, "")
	case "chain@example.com":
		return nil, a.st.step("user_chain", ActionVerifyEmail, ActionSelectOrganization)
	case "sso@example.com":
		return nil, a.st.step("user_sso", ActionSSO, "")
	}
	return a.signIn(ctx, email, pw)
}

func (a stepAuth) Exchange(ctx context.Context, c Callback) (*Tokens, error) {
	t, err := a.redirectAuth.Exchange(ctx, c)
	if err != nil || !a.st.exchangeStep {
		return t, err
	}
	return nil, a.st.step("user_ada", ActionSelectOrganization, "")
}

func (a stepAuth) CanContinue(e *ActionError) bool {
	return e.Action != ActionSSO && !(a.st.noMFA && e.Action == ActionMFA)
}

func (a stepAuth) ContinueSignIn(_ context.Context, e *ActionError, in ActionInput) (*Tokens, error) {
	a.st.calls.Add(1)
	a.st.mu.Lock()
	p, ok := a.st.pending[e.PendingToken]
	switch {
	case !ok || p.action != e.Action || e.Provider != "fake":
		ok = false
	case e.Action == ActionSelectOrganization:
		ok = in.Organization == "org_a" || in.Organization == "org_b"
	default:
		ok = in.Code == "123456"
	}
	if ok {
		delete(a.st.pending, e.PendingToken)
		a.st.last = in
	}
	a.st.mu.Unlock()
	if !ok {
		return nil, NewError(ErrInvalidCredential, "fake", "continue", "wrong code, organisation or pending token")
	}
	if p.next != "" {
		return nil, a.st.step(p.user, p.next, "")
	}
	return a.issue(p.user, ""), nil
}

func newStepEnv(t *testing.T, mod func(*Config)) (*env, *stepState) {
	st := &stepState{pending: map[string]stepPending{}}
	e := newEnv(t, func(p *fakeProvider) Authenticator { return stepAuth{redirectAuth{p}, st} }, mod)
	return e, st
}

// noSecret fails if a response shows a pending token anywhere: body,
// headers (Set-Cookie included: the sealed value is encrypted).
func noSecret(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	if strings.Contains(rec.Body.String(), secretMark) {
		t.Fatalf("the body shows a pending token: %s", rec.Body)
	}
	for k, vs := range rec.Header() {
		for _, v := range vs {
			if strings.Contains(v, secretMark) {
				t.Fatalf("header %s shows a pending token: %s", k, v)
			}
		}
	}
}

const pendingCookie = "__Host-authport-pending"

// stepClient plays a browser (or an API client) against the site,
// keeping cookies by hand and checking every response for secrets.
type stepClient struct {
	t       *testing.T
	h       http.Handler
	cookies map[string]string
	browser bool
}

func (e *env) client(t *testing.T, browser bool) *stepClient {
	return &stepClient{t: t, h: e.site(), cookies: map[string]string{}, browser: browser}
}

func (c *stepClient) do(r *http.Request) *httptest.ResponseRecorder {
	c.t.Helper()
	var parts []string
	for k, v := range c.cookies {
		parts = append(parts, k+"="+v)
	}
	if len(parts) > 0 {
		r.Header.Set("Cookie", strings.Join(parts, "; "))
	}
	if c.browser && r.Method == "GET" {
		r.Header.Set("Accept", "text/html")
	}
	rec := serve(c.h, r)
	noSecret(c.t, rec)
	for _, ck := range rec.Result().Cookies() {
		if ck.MaxAge < 0 {
			delete(c.cookies, ck.Name)
		} else {
			c.cookies[ck.Name] = ck.Value
		}
	}
	return rec
}

func (c *stepClient) get(path string) *httptest.ResponseRecorder {
	return c.do(httptest.NewRequest("GET", path, nil))
}

func (c *stepClient) post(path string, vals url.Values) *httptest.ResponseRecorder {
	return c.do(formReq(path, vals))
}

func (c *stepClient) postJSON(path, body string) *httptest.ResponseRecorder {
	return c.do(jsonReq(path, body))
}

func signInForm(email string) url.Values {
	return url.Values{"email": {email}, "password": {"whatever-password"}, "return_to": {"/app/x?y=1"}}
}

func TestContinueEmailVerificationBrowser(t *testing.T) {
	e, st := newStepEnv(t, nil)
	c := e.client(t, true)

	rec := c.post("/auth/login", signInForm("verify@example.com"))
	if rec.Code != 303 || rec.Header().Get("Location") != "/auth/continue" {
		t.Fatalf("sign-in needing verification: %d %q %s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	pc := setCookies(rec)[pendingCookie]
	if pc == nil || !pc.HttpOnly || !pc.Secure || pc.SameSite != http.SameSiteLaxMode || pc.Path != "/" || pc.MaxAge != int(pendingMaxAge/time.Second) {
		t.Fatalf("pending cookie %+v", pc)
	}
	if setCookies(rec)["__Host-authport"] != nil {
		t.Fatal("a session cookie before the step is done")
	}

	rec = c.get("/auth/continue")
	body := rec.Body.String()
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("continue page: %d %s", rec.Code, body)
	}
	for _, want := range []string{`<title>Verify your email address</title>`, `<form method="post" action="/auth/continue">`,
		`<label for="code">Verification code</label>`, `id="code" name="code"`, `autocomplete="one-time-code"`,
		`aria-describedby="code-hint"`, `href="/auth/login?return_to=%2Fapp%2Fx%3Fy%3D1">Start over`} {
		if !strings.Contains(body, want) {
			t.Fatalf("continue page lacks %q:\n%s", want, body)
		}
	}
	if rec.Header().Get("Cache-Control") != "no-store" || rec.Header().Get("X-Frame-Options") != "DENY" ||
		!strings.Contains(rec.Header().Get("Content-Security-Policy"), "form-action 'self'") {
		t.Fatalf("continue page headers %v", rec.Header())
	}

	// A wrong code: the form again, with the step kept.
	rec = c.post("/auth/continue", url.Values{"code": {"000000"}})
	if rec.Code != 401 || !strings.Contains(rec.Body.String(), `role="alert"`) || !strings.Contains(rec.Body.String(), `aria-describedby="code-hint form-message"`) {
		t.Fatalf("wrong code: %d %s", rec.Code, rec.Body)
	}
	if len(rec.Result().Cookies()) != 0 || c.cookies[pendingCookie] == "" {
		t.Fatal("a wrong code changed the cookies")
	}
	// No code: 400, the provider is not asked.
	calls := st.calls.Load()
	if rec = c.post("/auth/continue", url.Values{"code": {"  "}}); rec.Code != 400 || st.calls.Load() != calls {
		t.Fatalf("empty code: %d", rec.Code)
	}

	old := c.cookies[pendingCookie]
	rec = c.post("/auth/continue", url.Values{"code": {" 123456 "}})
	if rec.Code != 303 || rec.Header().Get("Location") != "/app/x?y=1" {
		t.Fatalf("right code: %d %q %s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	if st.last.Code != "123456" {
		t.Fatalf("adapter got %+v", st.last)
	}
	cs := setCookies(rec)
	if cs["__Host-authport"] == nil || cs[pendingCookie] == nil || cs[pendingCookie].MaxAge >= 0 {
		t.Fatalf("cookies after the step: %v", rec.Header()["Set-Cookie"])
	}
	if rec = c.get("/app/x"); rec.Code != 200 || rec.Body.String() != "user=user_verify" {
		t.Fatalf("signed in: %d %q", rec.Code, rec.Body)
	}
	// The spent step replayed: the provider refuses it, nothing changes.
	r := formReq("/auth/continue", url.Values{"code": {"123456"}})
	r.Header.Set("Cookie", pendingCookie+"="+old)
	if rec = serve(e.site(), r); rec.Code != 401 || setCookies(rec)["__Host-authport"] != nil {
		t.Fatalf("replayed step: %d", rec.Code)
	}
	if n := len(e.events(EventSignIn)); n != 1 {
		t.Fatalf("%d sign_in events", n)
	}
	if strings.Contains(e.logs.String(), secretMark) {
		t.Fatalf("logs show a pending token:\n%s", e.logs)
	}
}

func TestContinueOrganizationSelectionBrowser(t *testing.T) {
	e, st := newStepEnv(t, nil)
	c := e.client(t, true)
	if rec := c.post("/auth/login", signInForm("orgs@example.com")); rec.Code != 303 || rec.Header().Get("Location") != "/auth/continue" {
		t.Fatalf("sign-in: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	rec := c.get("/auth/continue")
	body := rec.Body.String()
	for _, want := range []string{`<title>Choose an organisation</title>`, `<fieldset>`, `<legend>Sign in to</legend>`,
		`<input type="radio" id="org-0" name="organization" value="org_a" required><label for="org-0">Acme &lt;Corp&gt;</label>`,
		`<input type="radio" id="org-1" name="organization" value="org_b"><label for="org-1">Beta</label>`} {
		if !strings.Contains(body, want) {
			t.Fatalf("chooser lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "Acme <Corp>") {
		t.Fatal("organisation name not escaped")
	}
	calls := st.calls.Load()
	for _, bad := range []url.Values{{"organization": {"org_other"}}, {"organization": {"org a"}}, {}, {"organization": {"org_a", "org_b"}}} {
		if rec := c.post("/auth/continue", bad); rec.Code != 400 || st.calls.Load() != calls {
			t.Fatalf("organisation %v: %d (provider called: %v)", bad, rec.Code, st.calls.Load() != calls)
		}
	}
	rec = c.post("/auth/continue", url.Values{"organization": {"org_b"}})
	if rec.Code != 303 || rec.Header().Get("Location") != "/app/x?y=1" || st.last.Organization != "org_b" {
		t.Fatalf("choose org_b: %d %q %+v", rec.Code, rec.Header().Get("Location"), st.last)
	}
	if c.cookies[pendingCookie] != "" || c.cookies["__Host-authport"] == "" {
		t.Fatalf("cookies %v", c.cookies)
	}
}

func TestContinueJSON(t *testing.T) {
	e, st := newStepEnv(t, nil)
	c := e.client(t, false)
	rec := c.postJSON("/auth/login", `{"email":"orgs@example.com","password":"x","return_to":"/dash"}`)
	if rec.Code != 401 || rec.Header().Get("WWW-Authenticate") != `Bearer realm="authport"` || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("JSON sign-in: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	want := `{"error":"action_required","error_description":"choose an organization to sign in to","action":"organization_selection_required",` +
		`"organizations":[{"id":"org_a","name":"Acme \u003cCorp\u003e"},{"id":"org_b","name":"Beta"}],"continue_url":"/auth/continue"}` + "\n"
	if rec.Body.String() != want {
		t.Fatalf("body %s\nwant %s", rec.Body, want)
	}
	if c.cookies[pendingCookie] == "" {
		t.Fatal("no pending cookie for the API client")
	}
	rec = c.get("/auth/continue")
	if rec.Code != 200 || rec.Body.String() != `{"action":"organization_selection_required","organizations":[{"id":"org_a","name":"Acme \u003cCorp\u003e"},{"id":"org_b","name":"Beta"}],"continue_url":"/auth/continue"}`+"\n" {
		t.Fatalf("GET continue: %d %s", rec.Code, rec.Body)
	}
	for _, bad := range []string{`{"organization":"org_x"}`, `{"organization":1}`, `{"organization":"org_a"} {}`, `{}`} {
		if rec := c.postJSON("/auth/continue", bad); rec.Code != 400 || !strings.Contains(rec.Body.String(), `"invalid_request"`) {
			t.Fatalf("%s: %d %s", bad, rec.Code, rec.Body)
		}
	}
	rec = c.postJSON("/auth/continue", `{"organization":"org_a"}`)
	if ok, s := sessionJSON(t, rec); rec.Code != 200 || !ok || s["user_id"] != "user_orgs" || st.last.Organization != "org_a" {
		t.Fatalf("continue: %d %s", rec.Code, rec.Body)
	}
	if c.cookies[pendingCookie] != "" || c.cookies["__Host-authport"] == "" {
		t.Fatalf("cookies %v", c.cookies)
	}

	// MFA over JSON, code in the body.
	rec = c.postJSON("/auth/login", `{"email":"mfa@example.com","password":"x"}`)
	var b map[string]any
	json.Unmarshal(rec.Body.Bytes(), &b)
	if rec.Code != 401 || b["action"] != "mfa_required" || b["continue_url"] != "/auth/continue" || b["organizations"] != nil {
		t.Fatalf("MFA: %d %s", rec.Code, rec.Body)
	}
	if rec = c.postJSON("/auth/continue", `{"code":"999999"}`); rec.Code != 401 || rec.Body.String() != `{"error":"invalid_token","error_description":"the credential is not valid"}`+"\n" {
		t.Fatalf("wrong MFA code: %d %s", rec.Code, rec.Body)
	}
	if rec = c.postJSON("/auth/continue", `{"code":"123456"}`); rec.Code != 200 {
		t.Fatalf("MFA code: %d %s", rec.Code, rec.Body)
	}
}

func TestContinueChainedSteps(t *testing.T) {
	e, _ := newStepEnv(t, nil)
	c := e.client(t, true)
	c.post("/auth/login", signInForm("chain@example.com"))
	first := c.cookies[pendingCookie]
	rec := c.post("/auth/continue", url.Values{"code": {"123456"}})
	if rec.Code != 303 || rec.Header().Get("Location") != "/auth/continue" || c.cookies[pendingCookie] == first || c.cookies[pendingCookie] == "" {
		t.Fatalf("first step: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	if c.cookies["__Host-authport"] != "" {
		t.Fatal("signed in before the last step")
	}
	if rec = c.get("/auth/continue"); !strings.Contains(rec.Body.String(), `value="org_b"`) {
		t.Fatalf("second step page: %s", rec.Body)
	}
	if rec = c.post("/auth/continue", url.Values{"organization": {"org_a"}}); rec.Code != 303 || rec.Header().Get("Location") != "/app/x?y=1" {
		t.Fatalf("second step: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	if rec = c.get("/app/"); rec.Body.String() != "user=user_chain" {
		t.Fatalf("app: %q", rec.Body)
	}
}

func TestContinueBadPendingState(t *testing.T) {
	e, st := newStepEnv(t, nil)
	h := e.site()
	start := func() string {
		rec := serve(h, formReq("/auth/login", signInForm("verify@example.com")))
		return setCookies(rec)[pendingCookie].Value
	}
	v := start()
	raw := []byte(v)
	raw[len(raw)/2] ^= 1
	sessionCookie, _ := e.sealedCookie(t)
	_, sessionValue, _ := strings.Cut(sessionCookie, "=")

	for name, cookie := range map[string]string{
		"missing":           "",
		"empty":             pendingCookie + "=",
		"tampered":          pendingCookie + "=" + string(raw),
		"truncated":         pendingCookie + "=" + v[:len(v)-4],
		"session as step":   pendingCookie + "=" + sessionValue,
		"garbage":           pendingCookie + "=" + strings.Repeat("A", 80),
		"under another key": pendingCookie + "=" + mustSealAs(t, []byte(strings.Repeat("k", 32))),
	} {
		t.Run(name, func(t *testing.T) {
			for _, browser := range []bool{true, false} {
				r := httptest.NewRequest("GET", "/auth/continue", nil)
				if browser {
					r.Header.Set("Accept", "text/html")
				}
				r.Header.Set("Cookie", cookie)
				rec := serve(h, r)
				if rec.Code != 400 || !strings.Contains(strings.ToLower(rec.Body.String()), "no sign-in step is in progress") {
					t.Fatalf("GET (browser %v): %d %s", browser, rec.Code, rec.Body)
				}
				if cookie != "" {
					if pc := setCookies(rec)[pendingCookie]; pc == nil || pc.MaxAge >= 0 {
						t.Fatal("the bad cookie is not cleared")
					}
				}
			}
			for _, r := range []*http.Request{formReq("/auth/continue", url.Values{"code": {"123456"}}), jsonReq("/auth/continue", `{"code":"123456"}`)} {
				r.Header.Set("Cookie", cookie)
				rec := serve(h, r)
				if rec.Code != 400 || setCookies(rec)["__Host-authport"] != nil {
					t.Fatalf("POST: %d %s", rec.Code, rec.Body)
				}
			}
		})
	}

	v = start()
	e.clock.Advance(pendingMaxAge + time.Second)
	for _, r := range []*http.Request{httptest.NewRequest("GET", "/auth/continue", nil), formReq("/auth/continue", url.Values{"code": {"123456"}})} {
		r.Header.Set("Accept", "text/html")
		r.Header.Set("Cookie", pendingCookie+"="+v)
		rec := serve(h, r)
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), "This sign-in step has expired. Please sign in again.") ||
			!strings.Contains(rec.Body.String(), `href="/auth/login"`) || setCookies(rec)["__Host-authport"] != nil {
			t.Fatalf("expired step %s: %d %s", r.Method, rec.Code, rec.Body)
		}
	}
	r := jsonReq("/auth/continue", `{"code":"123456"}`)
	r.Header.Set("Cookie", pendingCookie+"="+v)
	if rec := serve(h, r); rec.Code != 400 || rec.Body.String() != `{"error":"invalid_request","error_description":"the sign-in step has expired: sign in again"}`+"\n" {
		t.Fatalf("expired step JSON: %d %s", rec.Code, rec.Body)
	}
	if st.calls.Load() != 0 {
		t.Fatal("the adapter was asked to continue a bad step")
	}
}

// mustSealAs seals a well-formed pending step under another key.
func mustSealAs(t *testing.T, key []byte) string {
	other, err := NewWeb(stepAuth{redirectAuth{newFakeProvider(newClock())}, &stepState{}}, Config{CookieKeys: [][]byte{key}})
	if err != nil {
		t.Fatal(err)
	}
	v, err := other.sealPending(&pendingStep{provider: "fake", action: ActionVerifyEmail, token: secretMark + "-x", returnTo: "/"}, true, true)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestContinueCrossOriginRefused(t *testing.T) {
	e, st := newStepEnv(t, nil)
	h := e.site()
	rec := serve(h, formReq("/auth/login", signInForm("verify@example.com")))
	cookie := pendingCookie + "=" + setCookies(rec)[pendingCookie].Value
	for name, hdr := range map[string]http.Header{
		"sec-fetch-site": {"Sec-Fetch-Site": {"cross-site"}},
		"origin":         {"Origin": {"https://evil.example"}},
	} {
		r := formReq("/auth/continue", url.Values{"code": {"123456"}})
		r.Host = "app.example"
		r.Header.Set("Cookie", cookie)
		for k, v := range hdr {
			r.Header[k] = v
		}
		if rec := serve(h, r); rec.Code != 403 || len(rec.Result().Cookies()) != 0 {
			t.Errorf("%s: %d", name, rec.Code)
		}
	}
	if st.calls.Load() != 0 {
		t.Fatal("a cross-origin post reached the adapter")
	}
	r := formReq("/auth/continue", url.Values{"code": {"123456"}})
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	r.Header.Set("Cookie", cookie)
	if rec := serve(h, r); rec.Code != 303 {
		t.Fatalf("same-origin: %d", rec.Code)
	}
}

func TestContinueRateLimitedPerStep(t *testing.T) {
	e, st := newStepEnv(t, func(c *Config) {
		c.Limiter, c.Limits = NewMemoryLimiter(), Limits{SignInDevice: LimitPolicy{Free: 3, Window: time.Minute, Base: time.Minute, Max: time.Minute}}
	})
	c := e.client(t, true)
	c.post("/auth/login", signInForm("verify@example.com"))
	for i := range 3 {
		r := formReq("/auth/continue", url.Values{"code": {"00000" + fmt.Sprint(i)}})
		r.RemoteAddr = fmt.Sprintf("192.0.2.%d:1234", i+1) // a new address each time: the step's own limit
		if rec := c.do(r); rec.Code != 401 {
			t.Fatalf("attempt %d: %d", i, rec.Code)
		}
	}
	r := formReq("/auth/continue", url.Values{"code": {"123456"}})
	r.RemoteAddr = "192.0.2.9:1234"
	rec := c.do(r)
	if rec.Code != 429 || rec.Header().Get("Retry-After") == "" || !strings.Contains(rec.Body.String(), "Too many attempts") {
		t.Fatalf("fourth attempt: %d %s", rec.Code, rec.Body)
	}
	if st.calls.Load() != 3 {
		t.Fatalf("%d adapter calls", st.calls.Load())
	}
	// And per client address.
	e2, _ := newStepEnv(t, func(c *Config) {
		c.Limiter, c.Limits = NewMemoryLimiter(), Limits{SignInIP: LimitPolicy{Free: 2, Window: time.Minute, Base: time.Minute, Max: time.Minute}}
	})
	h := e2.site()
	for i := range 3 {
		rec := serve(h, formReq("/auth/continue", url.Values{"code": {"1"}}))
		if want := map[bool]int{true: 400, false: 429}[i < 2]; rec.Code != want {
			t.Fatalf("attempt %d without a step: %d, want %d", i, rec.Code, want)
		}
	}
}

func TestContinueBodyLimits(t *testing.T) {
	e, st := newStepEnv(t, nil)
	c := e.client(t, false)
	c.postJSON("/auth/login", `{"email":"verify@example.com","password":"x"}`)
	for name, r := range map[string]*http.Request{
		"oversized":    formReq("/auth/continue", url.Values{"code": {"1"}, "pad": {strings.Repeat("x", MaxBodySize)}}),
		"not UTF-8":    jsonReq("/auth/continue", "{\"code\":\"\xff\"}"),
		"content type": httptest.NewRequest("POST", "/auth/continue", strings.NewReader("code=1")),
		"long code":    jsonReq("/auth/continue", `{"code":"`+strings.Repeat("1", maxCodeLen+1)+`"}`),
		"control":      jsonReq("/auth/continue", `{"code":"12\u00003"}`),
	} {
		if rec := c.do(r); rec.Code != 400 {
			t.Errorf("%s: %d", name, rec.Code)
		}
	}
	if st.calls.Load() != 0 || c.cookies[pendingCookie] == "" {
		t.Fatal("a malformed body reached the adapter or dropped the step")
	}
}

func TestContinueNotPossible(t *testing.T) {
	e, st := newStepEnv(t, nil)
	st.noMFA = true
	h := e.site()

	// Single sign-on: the sign-in form says so and links to the hosted
	// page with the organisation.
	rec := serve(h, formReq("/auth/login", signInForm("sso@example.com")))
	body := rec.Body.String()
	if rec.Code != 401 || setCookies(rec)[pendingCookie] != nil || !strings.Contains(body, "single sign-on") ||
		!strings.Contains(body, `href="/auth/login?organization=org_sso&amp;return_to=%2Fapp%2Fx%3Fy%3D1&amp;via=redirect"`) {
		t.Fatalf("SSO form: %d %s", rec.Code, body)
	}
	noSecret(t, rec)
	rec = serve(h, jsonReq("/auth/login", `{"email":"sso@example.com","password":"x"}`))
	want := `{"error":"action_required","error_description":"sign in with the organization's single sign-on","action":"sso_required",` +
		`"organizations":[{"id":"org_sso"}],"login_url":"/auth/login?organization=org_sso\u0026via=redirect"}` + "\n"
	if rec.Code != 401 || rec.Body.String() != want || setCookies(rec)[pendingCookie] != nil {
		t.Fatalf("SSO JSON: %d %s", rec.Code, rec.Body)
	}
	// The link starts the redirect sign-in for that organisation.
	r := httptest.NewRequest("GET", "/auth/login?organization=org_sso&via=redirect", nil)
	if rec := serve(h, r); rec.Code != 303 || e.p.lastAuthz.Organization != "org_sso" {
		t.Fatalf("SSO redirect: %d %+v", rec.Code, e.p.lastAuthz)
	}

	// An action the adapter cannot continue: a message, no step kept.
	rec = serve(h, formReq("/auth/login", signInForm("mfa@example.com")))
	if rec.Code != 401 || setCookies(rec)[pendingCookie] != nil || !strings.Contains(rec.Body.String(), "second factor") {
		t.Fatalf("MFA not continuable: %d %s", rec.Code, rec.Body)
	}
	rec = serve(h, jsonReq("/auth/login", `{"email":"mfa@example.com","password":"x"}`))
	if rec.Code != 401 || !strings.Contains(rec.Body.String(), `"action":"mfa_required"`) || strings.Contains(rec.Body.String(), "continue_url") {
		t.Fatalf("MFA JSON: %d %s", rec.Code, rec.Body)
	}
	noSecret(t, rec)

	// An adapter that continues nothing serves no /continue.
	p := newEnv(t, func(p *fakeProvider) Authenticator { return pwAuth{p} }, nil)
	if rec := serve(p.site(), httptest.NewRequest("GET", "/auth/continue", nil)); rec.Code != 404 {
		t.Fatalf("continue without a continuer: %d", rec.Code)
	}
	if !Has(stepAuth{}, CapContinue) || Has(pwAuth{}, CapContinue) || !slices.Contains(AllCapabilities, CapContinue) {
		t.Fatal("CapContinue")
	}
}

func TestContinueAfterCallback(t *testing.T) {
	e, st := newStepEnv(t, nil)
	st.exchangeStep = true
	c := e.client(t, true)
	rec := c.get("/auth/login?via=redirect&return_to=%2Fdash")
	state, _ := url.Parse(rec.Header().Get("Location"))
	code := e.web.auth.(stepAuth).approve("user_ada")
	rec = c.get("/auth/callback?" + url.Values{"code": {code}, "state": {state.Query().Get("state")}}.Encode())
	if rec.Code != 303 || rec.Header().Get("Location") != "/auth/continue" || c.cookies[pendingCookie] == "" || c.cookies["__Host-authport-flow"] != "" {
		t.Fatalf("callback needing a step: %d %q %v", rec.Code, rec.Header().Get("Location"), c.cookies)
	}
	if rec = c.post("/auth/continue", url.Values{"organization": {"org_a"}}); rec.Code != 303 || rec.Header().Get("Location") != "/dash" {
		t.Fatalf("continue: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	if rec = c.get("/app/"); rec.Body.String() != "user=user_ada" {
		t.Fatalf("app: %q", rec.Body)
	}
}

func TestContinueCookieClearedBySignOutAndSignIn(t *testing.T) {
	e, _ := newStepEnv(t, nil)
	c := e.client(t, true)
	c.post("/auth/login", signInForm("verify@example.com"))
	rec := c.post("/auth/login", adaForm) // the step abandoned for another account
	if rec.Code != 303 || c.cookies[pendingCookie] != "" {
		t.Fatalf("sign-in did not clear the step: %d %v", rec.Code, c.cookies)
	}
	c.post("/auth/login", signInForm("verify@example.com"))
	c.post("/auth/logout", nil)
	if c.cookies[pendingCookie] != "" || c.cookies["__Host-authport"] != "" {
		t.Fatalf("sign-out left %v", c.cookies)
	}
}

func TestContinueTemplateFallback(t *testing.T) {
	tpl := template.Must(template.New("x").Parse(`{{define "login"}}LOGIN {{.Message}}{{end}}{{define "error"}}ERR {{.Status}}{{end}}`))
	e, _ := newStepEnv(t, func(c *Config) { c.Templates = tpl })
	c := e.client(t, true)
	c.post("/auth/login", signInForm("verify@example.com"))
	rec := c.get("/auth/continue")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `id="code"`) {
		t.Fatalf("built-in continue page: %d %s", rec.Code, rec.Body)
	}
	if strings.Contains(e.logs.String(), "template failed") {
		t.Fatal("a missing optional template was logged as a failure")
	}
	custom := template.Must(template.Must(tpl.Clone()).Parse(`{{define "continue"}}STEP {{.Step}} {{range .Organizations}}{{.ID}} {{end}}{{end}}`))
	e2, _ := newStepEnv(t, func(c *Config) { c.Templates = custom })
	c2 := e2.client(t, true)
	c2.post("/auth/login", signInForm("orgs@example.com"))
	if rec := c2.get("/auth/continue"); rec.Body.String() != "STEP organization_selection_required org_a org_b " {
		t.Fatalf("custom continue page: %q", rec.Body)
	}
}

func TestPendingCookieOversized(t *testing.T) {
	e, _ := newStepEnv(t, nil)
	ae := &ActionError{Action: ActionSelectOrganization, Provider: "fake", PendingToken: secretMark, OrganizationNames: map[string]string{}}
	for i := range 60 {
		id := fmt.Sprintf("org_%030d", i)
		ae.Organizations = append(ae.Organizations, id)
		ae.OrganizationNames[id] = strings.Repeat("n", maxOrgNameLen)
	}
	rec := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "/auth/login", nil)
	if !e.web.startStep(rec, r, ae, "/", true) {
		t.Fatal("names were not dropped to make the step fit")
	}
	r.Header.Set("Cookie", pendingCookie+"="+setCookies(rec)[pendingCookie].Value)
	p, err := e.web.readPending(r)
	if err != nil || len(p.orgs) != 60 || p.orgs[0].Name != "" {
		t.Fatalf("step %v %v", err, p)
	}
	ae.Organizations = nil
	for i := range 90 {
		ae.Organizations = append(ae.Organizations, fmt.Sprintf("org_%0120d", i))
	}
	if e.web.startStep(httptest.NewRecorder(), r, ae, "/", true) {
		t.Fatal("a step too large for a cookie was kept")
	}
}
