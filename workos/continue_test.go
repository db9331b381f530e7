package workos_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/authport/authport"
	"github.com/authport/authport/internal/emulator"
	"github.com/authport/authport/workos"
	"github.com/authport/authport/workos/workostest"
)

// pendingSpy records every pending authentication token WorkOS hands the
// adapter, so the test can check that none reaches the browser.
type pendingSpy struct {
	mu     sync.Mutex
	tokens []string
	next   http.RoundTripper
}

func (s *pendingSpy) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := s.next.RoundTrip(r)
	if err != nil || !strings.HasSuffix(r.URL.Path, "/user_management/authenticate") {
		return res, err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(body))
	var v struct {
		Pending string `json:"pending_authentication_token"`
	}
	if json.Unmarshal(body, &v) == nil && v.Pending != "" {
		s.mu.Lock()
		s.tokens = append(s.tokens, v.Pending)
		s.mu.Unlock()
	}
	return res, nil
}

func (s *pendingSpy) seen() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.tokens)
}

// webSite is an application on authport.Web in front of the WorkOS
// adapter and emulator: /auth/ and a protected /app/ that prints the
// session's user, organisation and roles.
type webSite struct {
	emu  *workostest.Emulator
	a    *workos.Authenticator
	spy  *pendingSpy
	srv  *httptest.Server
	logs *bytes.Buffer
	// seen collects every response the client got (bodies and headers).
	mu   sync.Mutex
	seen []string
}

func newWebSite(t *testing.T, o workostest.Options) *webSite {
	t.Helper()
	emu := workostest.New(t, o)
	spy := &pendingSpy{next: http.DefaultTransport}
	cfg := emu.Config()
	cfg.HTTPClient = &http.Client{Transport: spy}
	a, err := workos.New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	logs := &bytes.Buffer{}
	web, err := authport.NewWeb(a, authport.Config{CookieKeys: [][]byte{key}, Insecure: true,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", web.Handler())
	mux.Handle("/app/", authport.Require()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := authport.SessionFrom(r.Context())
		io.WriteString(w, s.UserID+" "+s.OrgID+" "+strings.Join(s.Roles, ","))
	})))
	srv := httptest.NewServer(web.Middleware(mux))
	t.Cleanup(srv.Close)
	return &webSite{emu: emu, a: a, spy: spy, srv: srv, logs: logs}
}

// browser is a cookie-keeping client that does not follow redirects and
// asks for HTML on GET, as a browser navigation does.
func (s *webSite) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if r.Method == "GET" && r.Header.Get("Accept") == "" {
				r.Header.Set("Accept", "text/html")
			}
			res, err := http.DefaultTransport.RoundTrip(r)
			if err != nil {
				return nil, err
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			res.Body = io.NopCloser(bytes.NewReader(body))
			var h bytes.Buffer
			res.Header.Write(&h)
			s.mu.Lock()
			s.seen = append(s.seen, h.String()+string(body))
			s.mu.Unlock()
			return res, nil
		})}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// noPendingTokenShown checks that no pending token WorkOS issued showed
// up in a response the client got or in the application's log.
func (s *webSite) noPendingTokenShown(t *testing.T) {
	t.Helper()
	toks := s.spy.seen()
	if len(toks) == 0 {
		t.Fatal("WorkOS issued no pending token: the test did not exercise a step")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, tok := range toks {
		for _, resp := range s.seen {
			if strings.Contains(resp, tok) {
				t.Fatalf("a response shows the pending token:\n%s", resp)
			}
		}
		if strings.Contains(s.logs.String(), tok) {
			t.Fatal("the log shows the pending token")
		}
	}
}

// reader returns read(res, err): the response and its body, failing t on
// err.
func reader(t *testing.T) func(*http.Response, error) (*http.Response, string) {
	return func(res *http.Response, err error) (*http.Response, string) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res, string(b)
	}
}

// TestWebContinueEmailVerificationThenOrganization signs in through
// authport.Web's password form as an unverified member of two
// organisations: WorkOS asks for the emailed code, then for an
// organisation, and the browser lands signed in to the one chosen.
func TestWebContinueEmailVerificationThenOrganization(t *testing.T) {
	read := reader(t)
	s := newWebSite(t, workostest.Options{RequireEmailVerification: true})
	id := s.user(t, workostest.NewUser{Email: "new@example.com", Unverified: true})
	one, _ := s.emu.CreateOrganization("One")
	two, _ := s.emu.CreateOrganization("Two")
	s.emu.AddMembership(id, one, "member")
	s.emu.AddMembership(id, two, "admin")
	c := s.browser()

	res, _ := read(c.PostForm(s.srv.URL+"/auth/login", url.Values{"email": {"new@example.com"}, "password": {pw}, "return_to": {"/app/home"}}))
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/auth/continue" {
		t.Fatalf("sign-in answered %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	res, body := read(c.Get(s.srv.URL + "/auth/continue"))
	if res.StatusCode != 200 || !strings.Contains(body, `autocomplete="one-time-code"`) || !strings.Contains(body, "Verify your email address") {
		t.Fatalf("continue page %d:\n%s", res.StatusCode, body)
	}
	res, body = read(c.PostForm(s.srv.URL+"/auth/continue", url.Values{"code": {"000000"}}))
	if res.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `role="alert"`) {
		t.Fatalf("wrong code answered %d:\n%s", res.StatusCode, body)
	}
	code := s.emu.EmailVerificationCodeFor("new@example.com")
	if len(code) != 6 {
		t.Fatalf("code %q", code)
	}
	res, _ = read(c.PostForm(s.srv.URL+"/auth/continue", url.Values{"code": {code}}))
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/auth/continue" {
		t.Fatalf("code answered %d %q (want the organisation step next)", res.StatusCode, res.Header.Get("Location"))
	}
	res, body = read(c.Get(s.srv.URL + "/auth/continue"))
	for _, want := range []string{`value="` + one + `"`, `value="` + two + `"`, ">One</label>", ">Two</label>"} {
		if !strings.Contains(body, want) {
			t.Fatalf("organisation page lacks %q:\n%s", want, body)
		}
	}
	res, _ = read(c.PostForm(s.srv.URL+"/auth/continue", url.Values{"organization": {two}}))
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/app/home" {
		t.Fatalf("organisation answered %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	res, body = read(c.Get(s.srv.URL + "/app/home"))
	if res.StatusCode != 200 || body != id+" "+two+" admin" {
		t.Fatalf("app answered %d %q", res.StatusCode, body)
	}
	u, _ := url.Parse(s.srv.URL)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "authport-pending" {
			t.Fatal("the pending cookie survived the sign-in")
		}
	}
	s.noPendingTokenShown(t)
}

// TestWebContinueOrganizationJSON is the same step for an API client.
func TestWebContinueOrganizationJSON(t *testing.T) {
	read := reader(t)
	s := newWebSite(t, workostest.Options{})
	id := s.user(t, workostest.NewUser{Email: "api@example.com"})
	one, _ := s.emu.CreateOrganization("One")
	two, _ := s.emu.CreateOrganization("Two")
	s.emu.AddMembership(id, one, "admin")
	s.emu.AddMembership(id, two, "member")
	c := s.browser()
	post := func(path, body string) (*http.Response, string) {
		return read(c.Post(s.srv.URL+path, "application/json", strings.NewReader(body)))
	}

	res, body := post("/auth/login", `{"email":"api@example.com","password":"`+pw+`"}`)
	var got struct {
		Error         string                      `json:"error"`
		Action        string                      `json:"action"`
		Organizations []struct{ ID, Name string } `json:"organizations"`
		ContinueURL   string                      `json:"continue_url"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil || res.StatusCode != 401 || got.Error != "action_required" ||
		got.Action != string(authport.ActionSelectOrganization) || got.ContinueURL != "/auth/continue" || len(got.Organizations) != 2 ||
		got.Organizations[0].ID != one || got.Organizations[0].Name != "One" || got.Organizations[1].ID != two {
		t.Fatalf("sign-in answered %d %s", res.StatusCode, body)
	}
	other, _ := s.emu.CreateOrganization("Not mine")
	if res, body = post("/auth/continue", `{"organization":"`+other+`"}`); res.StatusCode != 400 {
		t.Fatalf("foreign organisation: %d %s", res.StatusCode, body)
	}
	res, body = post("/auth/continue", `{"organization":"`+one+`"}`)
	var sess struct {
		Authenticated bool              `json:"authenticated"`
		Session       *authport.Session `json:"session"`
	}
	if err := json.Unmarshal([]byte(body), &sess); err != nil || res.StatusCode != 200 || !sess.Authenticated ||
		sess.Session.UserID != id || sess.Session.OrgID != one || !sess.Session.HasRole("admin") {
		t.Fatalf("continue answered %d %s", res.StatusCode, body)
	}
	req, _ := http.NewRequest("GET", s.srv.URL+"/app/x", nil)
	req.Header.Set("Accept", "application/json")
	if res, body = read(c.Do(req)); res.StatusCode != 200 || body != id+" "+one+" admin" {
		t.Fatalf("app answered %d %q", res.StatusCode, body)
	}
	// The step is spent: replaying it is a 400 (no step in progress).
	if res, _ = post("/auth/continue", `{"organization":"`+one+`"}`); res.StatusCode != 400 {
		t.Fatalf("replay: %d", res.StatusCode)
	}
	s.noPendingTokenShown(t)
}

// TestWebContinueAfterHostedPage: the code exchange of a member of two
// organisations asks which one; /continue finishes it.
func TestWebContinueAfterHostedPage(t *testing.T) {
	read := reader(t)
	s := newWebSite(t, workostest.Options{})
	id := s.user(t, workostest.NewUser{Email: "hosted@example.com"})
	one, _ := s.emu.CreateOrganization("One")
	two, _ := s.emu.CreateOrganization("Two")
	s.emu.AddMembership(id, one, "")
	s.emu.AddMembership(id, two, "admin")
	c := s.browser()
	res, _ := read(c.Get(s.srv.URL + "/auth/login?via=redirect&return_to=/app/dash"))
	back, err := emulator.SubmitLogin(t.Context(), c, res.Header.Get("Location"), "hosted@example.com", pw)
	if err != nil {
		t.Fatal(err)
	}
	res, _ = read(c.Get(back.String()))
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/auth/continue" {
		t.Fatalf("callback answered %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	res, _ = read(c.PostForm(s.srv.URL+"/auth/continue", url.Values{"organization": {two}}))
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/app/dash" {
		t.Fatalf("continue answered %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if res, body := read(c.Get(s.srv.URL + "/app/dash")); body != id+" "+two+" admin" {
		t.Fatalf("app answered %d %q", res.StatusCode, body)
	}
	s.noPendingTokenShown(t)
}

// TestWebContinueNotPossible: SSO is not continued by authport with
// WorkOS; the form says so and keeps no step.
func TestWebContinueNotPossible(t *testing.T) {
	read := reader(t)
	s := newWebSite(t, workostest.Options{})
	s.user(t, workostest.NewUser{Email: "sso@example.com", SSOConnection: "conn_01TEST"})
	c := s.browser()
	res, body := read(c.PostForm(s.srv.URL+"/auth/login", url.Values{"email": {"sso@example.com"}, "password": {pw}}))
	if res.StatusCode != 401 || !strings.Contains(body, "single sign-on") || !strings.Contains(body, `href="/auth/login?via=redirect"`) {
		t.Fatalf("answered %d:\n%s", res.StatusCode, body)
	}
	for _, ck := range res.Cookies() {
		if ck.Name == "authport-pending" {
			t.Fatal("a step was kept")
		}
	}
	s.noPendingTokenShown(t)
}

// TestWebContinueMFA: a user enrolled in MFA signs in with password and
// then the code of their authenticator app on the continue page; a user
// the environment requires to enrol sees the authenticator to set up (QR
// code, secret, key URI) and enrols with its first code, and the next
// sign-in asks for a code only. Wrong codes are refused and leave the step
// open; nothing shows the pending token or the challenge.
func TestWebContinueMFA(t *testing.T) {
	read := reader(t)
	t.Run("challenge", func(t *testing.T) {
		s := newWebSite(t, workostest.Options{})
		id := s.user(t, workostest.NewUser{Email: "mfa@example.com", MFAEnrolled: true})
		c := s.browser()
		res, _ := read(c.PostForm(s.srv.URL+"/auth/login", url.Values{"email": {"mfa@example.com"}, "password": {pw}, "return_to": {"/app/dash"}}))
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/auth/continue" {
			t.Fatalf("sign-in answered %d %q", res.StatusCode, res.Header.Get("Location"))
		}
		res, body := read(c.Get(s.srv.URL + "/auth/continue"))
		if res.StatusCode != 200 || !strings.Contains(body, "authenticator app") || strings.Contains(body, `id="enroll"`) {
			t.Fatalf("continue page %d:\n%s", res.StatusCode, body)
		}
		code := s.emu.TOTPCode("mfa@example.com")
		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		res, body = read(c.PostForm(s.srv.URL+"/auth/continue", url.Values{"code": {wrong}}))
		if res.StatusCode != 401 || !strings.Contains(body, `name="code"`) {
			t.Fatalf("wrong code answered %d:\n%s", res.StatusCode, body)
		}
		res, _ = read(c.PostForm(s.srv.URL+"/auth/continue", url.Values{"code": {code}}))
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/app/dash" {
			t.Fatalf("right code answered %d %q", res.StatusCode, res.Header.Get("Location"))
		}
		if res, body := read(c.Get(s.srv.URL + "/app/dash")); !strings.HasPrefix(body, id) {
			t.Fatalf("app answered %d %q", res.StatusCode, body)
		}
		s.noPendingTokenShown(t)
	})
	t.Run("enrolment", func(t *testing.T) {
		s := newWebSite(t, workostest.Options{RequireMFA: true})
		id := s.user(t, workostest.NewUser{Email: "new@example.com"})
		c := s.browser()
		res, _ := read(c.PostForm(s.srv.URL+"/auth/login", url.Values{"email": {"new@example.com"}, "password": {pw}}))
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/auth/continue" {
			t.Fatalf("sign-in answered %d %q", res.StatusCode, res.Header.Get("Location"))
		}
		res, body := read(c.Get(s.srv.URL + "/auth/continue"))
		m := regexp.MustCompile(`<code id="enroll-secret">([A-Z2-7]+)</code>`).FindStringSubmatch(body)
		if res.StatusCode != 200 || m == nil || !strings.Contains(body, `src="data:image/png;base64,`) || !strings.Contains(body, `href="otpauth://totp/`) {
			t.Fatalf("enrolment page %d:\n%s", res.StatusCode, body)
		}
		// An API client asks the same page as JSON: the enrolment is there.
		req, _ := http.NewRequest("GET", s.srv.URL+"/auth/continue", nil)
		req.Header.Set("Accept", "application/json")
		res, body = read(c.Do(req))
		if res.StatusCode != 200 || !strings.Contains(body, `"secret":"`+m[1]+`"`) || !strings.Contains(body, `"action":"mfa_required"`) {
			t.Fatalf("JSON continue %d: %s", res.StatusCode, body)
		}
		res, _ = read(c.PostForm(s.srv.URL+"/auth/continue", url.Values{"code": {s.emu.TOTPCodeFor(m[1])}}))
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("first code answered %d", res.StatusCode)
		}
		if res, body := read(c.Get(s.srv.URL + "/app/dash")); !strings.HasPrefix(body, id) {
			t.Fatalf("app answered %d %q", res.StatusCode, body)
		}
		// Enrolled now: the next sign-in asks for a code, with no enrolment.
		c2 := s.browser()
		read(c2.PostForm(s.srv.URL+"/auth/login", url.Values{"email": {"new@example.com"}, "password": {pw}}))
		if _, body := read(c2.Get(s.srv.URL + "/auth/continue")); strings.Contains(body, `id="enroll"`) || !strings.Contains(body, `name="code"`) {
			t.Fatalf("second sign-in's page:\n%s", body)
		}
		res, _ = read(c2.PostForm(s.srv.URL+"/auth/continue", url.Values{"code": {s.emu.TOTPCode("new@example.com")}}))
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("second sign-in's code answered %d", res.StatusCode)
		}
		s.noPendingTokenShown(t)
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, resp := range s.seen {
			if strings.Contains(resp, "auth_challenge_") {
				t.Fatalf("a response shows the challenge id:\n%s", resp)
			}
		}
	})
}

func (s *webSite) user(t *testing.T, u workostest.NewUser) string {
	t.Helper()
	if u.Password == "" {
		u.Password = pw
	}
	id, err := s.emu.CreateUser(u)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestContinueSignIn(t *testing.T) {
	f := setup(t, workostest.Options{RequireEmailVerification: true})
	if !authport.Has(f.a, authport.CapContinue) {
		t.Fatal("CapContinue missing")
	}
	f.user(t, workostest.NewUser{Email: "v@example.com", Unverified: true})
	_, err := f.a.SignInWithPassword(t.Context(), "v@example.com", pw)
	ae := wantAction(t, err, authport.ActionVerifyEmail)
	if !f.a.CanContinue(ae) {
		t.Fatal("email verification not continuable")
	}
	if _, err := f.a.ContinueSignIn(t.Context(), ae, authport.ActionInput{}); !errors.Is(err, authport.ErrInvalidInput) {
		t.Fatalf("no code: %v", err)
	}
	tok, err := f.a.ContinueSignIn(t.Context(), ae, authport.ActionInput{Code: " " + f.emu.EmailVerificationCode(ae.PendingToken) + " "})
	if err != nil {
		t.Fatal(err)
	}
	f.verify(t, tok.AccessToken)

	id := f.user(t, workostest.NewUser{Email: "o@example.com"})
	one, _ := f.emu.CreateOrganization("One")
	two, _ := f.emu.CreateOrganization("Two")
	f.emu.AddMembership(id, one, "")
	f.emu.AddMembership(id, two, "admin")
	_, err = f.a.SignInWithPassword(t.Context(), "o@example.com", pw)
	ae = wantAction(t, err, authport.ActionSelectOrganization)
	if ae.OrganizationNames[one] != "One" || ae.OrganizationNames[two] != "Two" {
		t.Fatalf("names %v", ae.OrganizationNames)
	}
	if _, err := f.a.ContinueSignIn(t.Context(), ae, authport.ActionInput{Organization: "org_elsewhere"}); !errors.Is(err, authport.ErrInvalidInput) {
		t.Fatalf("organisation not offered: %v", err)
	}
	tok, err = f.a.ContinueSignIn(t.Context(), ae, authport.ActionInput{Organization: two})
	if err != nil {
		t.Fatal(err)
	}
	if s := f.verify(t, tok.AccessToken); s.OrgID != two {
		t.Fatalf("session %+v", s)
	}

	for _, e := range []*authport.ActionError{
		{Action: authport.ActionMFA, Provider: "workos", PendingToken: "x"},
		{Action: authport.ActionSSO, Provider: "workos", PendingToken: "x"},
		{Action: workos.ActionOrgAuthMethods, Provider: "workos", PendingToken: "x"},
		{Action: authport.ActionVerifyEmail, Provider: "auth0", PendingToken: "x"},
		{Action: authport.ActionVerifyEmail, Provider: "workos"},
	} {
		if f.a.CanContinue(e) {
			t.Errorf("CanContinue(%+v)", e)
		}
		if _, err := f.a.ContinueSignIn(context.Background(), e, authport.ActionInput{Code: "1"}); err == nil {
			t.Errorf("ContinueSignIn(%+v) succeeded", e)
		}
	}
}

// TestWebContinueSignUpVerification: an account created through
// POST /auth/signup in an environment that requires email verification
// is signed in once the emailed code is posted (JSON API).
func TestWebContinueSignUpVerification(t *testing.T) {
	read := reader(t)
	s := newWebSite(t, workostest.Options{RequireEmailVerification: true})
	c := s.browser()
	res, body := read(c.Post(s.srv.URL+"/auth/signup", "application/json", strings.NewReader(`{"email":"fresh@example.com","password":"`+pw+`"}`)))
	if res.StatusCode != 401 || !strings.Contains(body, `"action":"email_verification_required"`) || !strings.Contains(body, `"continue_url":"/auth/continue"`) {
		t.Fatalf("sign-up answered %d %s", res.StatusCode, body)
	}
	code := s.emu.EmailVerificationCodeFor("fresh@example.com")
	res, body = read(c.Post(s.srv.URL+"/auth/continue", "application/json", strings.NewReader(`{"code":"`+code+`"}`)))
	if res.StatusCode != 200 || !strings.Contains(body, `"authenticated":true`) {
		t.Fatalf("continue answered %d %s", res.StatusCode, body)
	}
	s.noPendingTokenShown(t)
}
