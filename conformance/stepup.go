package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/authport/authport"
)

// StepUp lets the suite make the provider interrupt a password sign-in
// with one more step (an *authport.ActionError) and play the user who
// takes it, so the StepUp/ scenarios check an adapter's
// authport.ActionContinuer and Web's /auth/continue flow alike for every
// provider.
type StepUp struct {
	// Actions lists the steps the harness can make the provider demand
	// and the adapter finishes with ContinueSignIn: ActionVerifyEmail,
	// ActionMFA, ActionSelectOrganization (ActionSSO takes no input).
	// Each runs as StepUp/<Action>/….
	Actions []authport.Action
	// Require makes the provider demand step a at u's next password
	// sign-in (leave u's email address unverified, enrol u in MFA, make u
	// a member of several organisations). It may change a provider
	// setting for good (the suite runs StepUp last) but must leave users
	// it was not called for signing in as before.
	Require func(ctx context.Context, u User, a authport.Action) error
	// Input returns what u would enter to take the step e asks for: the
	// code emailed to u (read from the emulator's inbox), the current
	// code of u's authenticator, or the organisation u picks (one of
	// e.Organizations when the provider listed them). e is the error the
	// adapter returned; prefer what the user sees to e.PendingToken.
	Input func(ctx context.Context, u User, e *authport.ActionError) (authport.ActionInput, error)
}

// stepUp is the StepUp/ group: for each action the harness can make the
// provider demand, the interrupted sign-in, its continuation, a wrong
// input and the whole flow through Web's /auth/continue.
func (s *suite) stepUp(t *testing.T) {
	a := s.h.Authenticator
	ac, ok := a.(authport.ActionContinuer)
	if !ok || !authport.Has(a, authport.CapContinue) {
		na(t, reason(a, authport.CapContinue, "the adapter cannot finish a sign-in the provider interrupted"))
	}
	ps, ok := a.(authport.PasswordSignIn)
	if !ok || !authport.Has(a, authport.CapPasswordSignIn) {
		na(t, "the suite starts the interrupted sign-in with a password: "+reason(a, authport.CapPasswordSignIn, "the adapter has no password sign-in"))
	}
	su := s.h.StepUp
	if su == nil || len(su.Actions) == 0 || su.Require == nil || su.Input == nil {
		na(t, "the harness cannot make the provider demand a step")
	}
	for _, act := range su.Actions {
		s.run(t, string(act), func(t *testing.T) {
			switch act {
			case authport.ActionVerifyEmail, authport.ActionMFA, authport.ActionSelectOrganization:
			default:
				t.Fatalf("harness StepUp lists %q, which takes no input the suite can give", act)
			}
			st := &stepper{s: s, ps: ps, ac: ac, act: act}
			s.run(t, "SignInStops", st.signInStops)
			s.run(t, "ContinueSignsIn", st.continueSignsIn)
			s.run(t, "WrongInputRefused", st.wrongInputRefused)
			s.run(t, "ThroughWeb", st.throughWeb)
		})
	}
}

// stepper runs the scenarios of one action.
type stepper struct {
	s   *suite
	ps  authport.PasswordSignIn
	ac  authport.ActionContinuer
	act authport.Action
}

// user creates a user and has the provider demand the step at their next
// sign-in.
func (st *stepper) user(t *testing.T) User {
	t.Helper()
	u := st.s.newUser(t, nil)
	if err := st.s.h.StepUp.Require(t.Context(), u, st.act); err != nil {
		t.Fatalf("harness StepUp.Require(%s): %v", st.act, err)
	}
	return u
}

// stop signs u in with a password and returns the step the adapter
// reports, checking what every interrupted sign-in must show.
func (st *stepper) stop(t *testing.T, u User) *authport.ActionError {
	t.Helper()
	tok, err := st.ps.SignInWithPassword(t.Context(), u.Email, u.Password)
	if err == nil {
		t.Fatalf("the sign-in of a user the provider must stop at %s succeeded", st.act)
	}
	if tok != nil {
		t.Fatal("the interrupted sign-in returned tokens with its error")
	}
	if !errors.Is(err, authport.ErrActionRequired) {
		t.Fatalf("got error %v (kind %v), want kind %v", err, authport.KindOf(err), authport.ErrActionRequired)
	}
	var ae *authport.ActionError
	if !errors.As(err, &ae) || ae == nil {
		t.Fatalf("error %v matches ErrActionRequired but is no *authport.ActionError", err)
	}
	if ae.Action != st.act {
		t.Fatalf("Action = %q, want %q", ae.Action, st.act)
	}
	if ae.PendingToken == "" {
		t.Fatal("the ActionError has no PendingToken: there is nothing to continue with")
	}
	noPending(t, err, ae.PendingToken)
	return ae
}

// noPending fails if err's text shows the pending token or something
// token-shaped.
func noPending(t *testing.T, err error, pending ...string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, p := range pending {
		if p != "" && strings.Contains(err.Error(), p) {
			t.Fatalf("error text carries the pending token: %q", err.Error())
		}
	}
	checkNoSecret(t, err)
}

// input asks the harness for u's input to ae and checks it fits the step.
func (st *stepper) input(t *testing.T, u User, ae *authport.ActionError) authport.ActionInput {
	t.Helper()
	in, err := st.s.h.StepUp.Input(t.Context(), u, ae)
	if err != nil {
		t.Fatalf("harness StepUp.Input(%s): %v", st.act, err)
	}
	switch st.act {
	case authport.ActionSelectOrganization:
		if in.Organization == "" {
			t.Fatal("harness StepUp.Input gave no organisation")
		}
		if len(ae.Organizations) > 0 && !slices.Contains(ae.Organizations, in.Organization) {
			t.Fatalf("harness StepUp.Input chose %q, which the provider did not offer (%v)", in.Organization, ae.Organizations)
		}
	default:
		if strings.TrimSpace(in.Code) == "" {
			t.Fatal("harness StepUp.Input gave no code")
		}
	}
	return in
}

func (st *stepper) signInStops(t *testing.T) {
	u := st.user(t)
	ae := st.stop(t, u)
	if p := st.s.h.Authenticator.Provider(); ae.Provider != p {
		t.Errorf("ActionError.Provider = %q, want %q", ae.Provider, p)
	}
	if !st.ac.CanContinue(ae) {
		t.Fatalf("CanContinue is false for the adapter's own %s step", st.act)
	}
}

func (st *stepper) continueSignsIn(t *testing.T) {
	u := st.user(t)
	ae := st.stop(t, u)
	in := st.input(t, u, ae)
	tok, err := st.ac.ContinueSignIn(t.Context(), ae, in)
	if err != nil {
		noPending(t, err, ae.PendingToken)
		t.Fatalf("ContinueSignIn with the right input: %v", err)
	}
	if tok == nil || tok.AccessToken == "" {
		t.Fatal("ContinueSignIn returned no access token")
	}
	sess, err := st.s.verify(t, st.s.h.credential(tok))
	if err != nil {
		t.Fatalf("Verify of the continued sign-in: %v", err)
	}
	if sess.UserID != u.ID {
		t.Fatalf("UserID = %q, want %q", sess.UserID, u.ID)
	}
	if in.Organization != "" && sess.OrgID != in.Organization {
		t.Fatalf("OrgID = %q, want the organisation chosen, %q", sess.OrgID, in.Organization)
	}
}

// wrongInputRefused continues with a wrong code (the right one with every
// character changed) or an organisation the provider did not offer and
// the user does not belong to. It must fail as a wrong credential, or ask
// for a step again, and issue nothing. An organisation outside
// ActionError.Organizations may also be refused as ErrInvalidInput, since
// ActionInput must name one of them when the provider listed them.
func (st *stepper) wrongInputRefused(t *testing.T) {
	u := st.user(t)
	ae := st.stop(t, u)
	right := st.input(t, u, ae)
	var wrong authport.ActionInput
	kinds := []*authport.Kind{authport.ErrInvalidCredential, authport.ErrActionRequired}
	if st.act == authport.ActionSelectOrganization {
		wrong.Organization = "org_" + randHex(8)
		if len(ae.Organizations) > 0 {
			kinds = append(kinds, authport.ErrInvalidInput)
		}
	} else {
		wrong.Code = otherCode(right.Code)
	}
	tok, err := st.ac.ContinueSignIn(t.Context(), ae, wrong)
	if err == nil {
		t.Fatalf("ContinueSignIn with a wrong %s succeeded", inputName(st.act))
	}
	if tok != nil {
		t.Fatal("ContinueSignIn returned tokens with its error")
	}
	var next *authport.ActionError
	if errors.As(err, &next) {
		noPending(t, err, ae.PendingToken, next.PendingToken)
	} else {
		noPending(t, err, ae.PendingToken)
	}
	if k := authport.KindOf(err); !slices.Contains(kinds, k) {
		t.Fatalf("wrong %s gave %v (kind %v), want one of %v", inputName(st.act), err, k, kinds)
	}
}

func inputName(a authport.Action) string {
	if a == authport.ActionSelectOrganization {
		return "organisation"
	}
	return "code"
}

// otherCode returns a code of the same length and alphabet as c that
// differs from it in every character.
func otherCode(c string) string {
	c = strings.TrimSpace(c)
	b := []byte(c)
	for i, ch := range b {
		switch {
		case ch >= '0' && ch <= '9':
			b[i] = '0' + (ch-'0'+5)%10
		case ch >= 'a' && ch <= 'z':
			b[i] = 'a' + (ch-'a'+13)%26
		case ch >= 'A' && ch <= 'Z':
			b[i] = 'A' + (ch-'A'+13)%26
		default:
			b[i] = '7'
		}
	}
	if len(b) == 0 {
		return "000000"
	}
	return string(b)
}

// stepTap is the adapter as the ThroughWeb site sees it: password sign-in,
// continuation and verification pass through, and every *ActionError they
// return is kept, so the scenario knows which pending tokens must never
// reach the browser. It offers no other capability, so the site signs in
// with a password only, as the scenario does.
type stepTap struct {
	authport.Authenticator
	mu    sync.Mutex
	steps []*authport.ActionError
}

func (p *stepTap) note(err error) {
	var ae *authport.ActionError
	if errors.As(err, &ae) && ae != nil {
		p.mu.Lock()
		p.steps = append(p.steps, ae)
		p.mu.Unlock()
	}
}

func (p *stepTap) SignInWithPassword(ctx context.Context, email, password string) (*authport.Tokens, error) {
	t, err := p.Authenticator.(authport.PasswordSignIn).SignInWithPassword(ctx, email, password)
	p.note(err)
	return t, err
}

func (p *stepTap) CanContinue(e *authport.ActionError) bool {
	return p.Authenticator.(authport.ActionContinuer).CanContinue(e)
}

func (p *stepTap) ContinueSignIn(ctx context.Context, e *authport.ActionError, in authport.ActionInput) (*authport.Tokens, error) {
	t, err := p.Authenticator.(authport.ActionContinuer).ContinueSignIn(ctx, e, in)
	p.note(err)
	return t, err
}

func (p *stepTap) Describe() authport.Description {
	if d, ok := p.Authenticator.(authport.Describer); ok {
		return d.Describe()
	}
	return authport.Description{}
}

func (p *stepTap) last() *authport.ActionError {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.steps) == 0 {
		return nil
	}
	return p.steps[len(p.steps)-1]
}

func (p *stepTap) pendingTokens() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, ae := range p.steps {
		if ae.PendingToken != "" {
			out = append(out, ae.PendingToken)
		}
	}
	return out
}

// browser is a cookie-keeping client of a site that does not follow
// redirects and keeps every response it got (headers and body).
type browser struct {
	st   *site
	c    *http.Client
	mu   sync.Mutex
	seen []string
}

func (st *site) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{st: st, c: &http.Client{
		Transport:     st.srv.Client().Transport,
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// do sends a request; a non-nil form is posted as a same-origin HTML form.
func (b *browser) do(t *testing.T, method, path, accept string, form url.Values) resp {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(t.Context(), method, b.st.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", accept)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", b.st.srv.URL)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	res, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	var h strings.Builder
	_ = res.Header.Write(&h)
	b.mu.Lock()
	b.seen = append(b.seen, h.String()+"\n"+string(data))
	b.mu.Unlock()
	return resp{res.StatusCode, res.Header, string(data)}
}

// setCookie returns the value r sets for cookie name, and whether it sets
// (rather than deletes) it.
func setCookie(r resp, name string) (string, bool) {
	for _, line := range r.header.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err == nil && c.Name == name && c.Value != "" && c.MaxAge >= 0 {
			return c.Value, true
		}
	}
	return "", false
}

// throughWeb takes the step the way a browser does on the suite's site:
// the password form, the continue page, its form, then the session.
func (st *stepper) throughWeb(t *testing.T) {
	u := st.user(t)
	tap := &stepTap{Authenticator: st.s.h.Authenticator}
	site := st.s.newSiteFor(t, tap)
	b := site.browser()
	const dest = "/app/stepped"
	pendingCookie := siteCookie + "-pending"

	r := b.do(t, "POST", "/auth/login", "text/html", url.Values{"email": {u.Email}, "password": {u.Password}, "return_to": {dest}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/auth/continue" {
		t.Fatalf("POST /auth/login: status %d Location %q, want 303 to /auth/continue (body %q)", r.status, r.header.Get("Location"), r.body)
	}
	if _, ok := setCookie(r, pendingCookie); !ok {
		t.Fatalf("POST /auth/login set no %s cookie: %q", pendingCookie, r.header.Values("Set-Cookie"))
	}
	if _, ok := setCookie(r, siteCookie); ok {
		t.Fatal("POST /auth/login set a session cookie although a step is pending")
	}
	ae := tap.last()
	if ae == nil || ae.Action != st.act {
		t.Fatalf("the adapter reported %+v through Web, want a %s step", ae, st.act)
	}

	r = b.do(t, "GET", "/auth/continue", "text/html", nil)
	field := "code"
	if st.act == authport.ActionSelectOrganization {
		field = "organization"
	}
	if r.status != http.StatusOK || !strings.Contains(r.body, "<form") || !strings.Contains(r.body, `action="/auth/continue"`) ||
		!strings.Contains(r.body, `name="`+field+`"`) {
		t.Fatalf("GET /auth/continue: status %d, want 200 with a form asking for the %s:\n%s", r.status, field, r.body)
	}
	in := st.input(t, u, ae)
	form := url.Values{}
	if field == "code" {
		form.Set("code", in.Code)
	} else {
		form.Set("organization", in.Organization)
		if len(ae.Organizations) > 0 && !strings.Contains(r.body, `value="`+in.Organization+`"`) {
			t.Fatalf("the continue page does not offer organisation %q:\n%s", in.Organization, r.body)
		}
	}

	r = b.do(t, "POST", "/auth/continue", "text/html", form)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != dest {
		t.Fatalf("POST /auth/continue: status %d Location %q, want 303 to %s (body %q)", r.status, r.header.Get("Location"), dest, r.body)
	}
	if _, ok := setCookie(r, siteCookie); !ok {
		t.Fatalf("POST /auth/continue set no session cookie: %q", r.header.Values("Set-Cookie"))
	}

	r = b.do(t, "GET", "/auth/session", "application/json", nil)
	var got struct {
		Authenticated bool `json:"authenticated"`
		Session       *struct {
			UserID string `json:"user_id"`
			OrgID  string `json:"org_id"`
		} `json:"session"`
	}
	if err := json.Unmarshal([]byte(r.body), &got); err != nil || !got.Authenticated || got.Session == nil || got.Session.UserID != u.ID {
		t.Fatalf("/auth/session after the step: %d %q, want authenticated as %s", r.status, r.body, u.ID)
	}
	if in.Organization != "" && got.Session.OrgID != in.Organization {
		t.Fatalf("/auth/session organisation %q, want %q", got.Session.OrgID, in.Organization)
	}
	if r = b.do(t, "GET", dest, "application/json", nil); r.status != http.StatusOK || !strings.Contains(r.body, u.ID) {
		t.Fatalf("GET %s after the step: %d %q", dest, r.status, r.body)
	}

	// The pending token lives only inside the sealed cookie: never in a
	// URL, a page, a JSON body, another header or the log.
	toks := tap.pendingTokens()
	if len(toks) == 0 {
		t.Fatal("the adapter reported no pending token through Web")
	}
	logs := site.logs.String()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, tok := range toks {
		for _, v := range []string{tok, url.QueryEscape(tok)} {
			for _, seen := range b.seen {
				if strings.Contains(seen, v) {
					t.Fatalf("a response shows the pending token:\n%s", seen)
				}
			}
			if strings.Contains(logs, v) {
				t.Fatal("the site's log shows the pending token")
			}
		}
	}
}
