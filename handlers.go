package authport

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits on what the auth endpoints accept.
const (
	// MaxBodySize caps the body of POST /login and /signup.
	MaxBodySize = 16 << 10
	maxEmailLen = 320
	maxPassLen  = 1024
	// flowMaxAge bounds the time between the redirect to the provider
	// and the callback.
	flowMaxAge = 10 * time.Minute
)

// PageData is what the "login", "error" and "continue" templates are
// executed with; supply Config.Templates to replace the built-in pages (a
// Config.Templates without "continue" keeps the built-in continue page).
type PageData struct {
	// Title is the page heading ("Sign in", "Create account", "Forbidden").
	Title string
	// Status is the HTTP status of the response.
	Status int
	// Message is an error or notice to show (safe text, never a token).
	Message string
	// Provider names the adapter.
	Provider string
	// SignUp is set when the form creates an account.
	SignUp bool
	// Action is the URL the form posts to.
	Action string
	// ReturnTo is the safe path to land on afterwards (a hidden field).
	ReturnTo string
	// Email refills the email field after a failure.
	Email string
	// LoginURL links to the sign-in page.
	LoginURL string
	// SignUpURL links to the sign-up form, when the adapter can sign up.
	SignUpURL string
	// RedirectURL links to the provider's hosted sign-in, when available.
	RedirectURL string
	// Step is the pending sign-in step the "continue" page asks for: an
	// Action ("email_verification_required" and "mfa_required" take a
	// one-time code, posted as "code"; "organization_selection_required"
	// takes one of Organizations, posted as "organization").
	Step string
	// Organizations are the organisations the "continue" page offers.
	Organizations []PageOrganization
	// Enrollment is the authenticator the "mfa_required" step sets up
	// before its first code, when it is an enrolment.
	Enrollment *PageEnrollment
}

// PageEnrollment is an authenticator to set up, as the "continue" page
// shows it: the QR code to scan, or the secret to type.
type PageEnrollment struct {
	// Secret is the base32 shared secret.
	Secret string
	// URI is the otpauth:// key URI (a link authenticator apps open).
	URI template.URL
	// QRCode is a data:image/png URI, or empty.
	QRCode template.URL
}

// Handler returns the provider-agnostic authentication endpoints, to be
// mounted at Config.BasePath (default "/auth"):
//
//	mux.Handle("/auth/", web.Handler())
//
// Endpoints (shown with the default BasePath):
//
//   - GET /auth/login: the sign-in form (adapters with PasswordSignIn), or
//     a redirect to the provider's hosted page (RedirectSignIn) with state
//     and a PKCE S256 challenge kept in a short-lived sealed flow cookie.
//     A form that also offers the redirect links to ?via=redirect.
//   - POST /auth/login: signs in from a form or a JSON body
//     {"email","password","return_to"}; sets the session cookie, then 303
//     to return_to (forms) or 200 with the session (JSON).
//   - GET and POST /auth/signup: the same for creating an account.
//   - GET /auth/callback: the redirect sign-in's return; checks state in
//     constant time, exchanges the code with the PKCE verifier, sets the
//     session cookie and redirects to return_to. The flow cookie is single
//     use.
//   - GET and POST /auth/continue (adapters that are ActionContinuers):
//     finishing a sign-in the provider interrupted with an *ActionError
//     (see "Continuing a sign-in" below).
//   - POST /auth/logout: revokes the session where the adapter can, clears
//     the cookies, then 303 (forms, browsers) to the provider's logout page
//     when the adapter is a LogoutRedirector and a session was signed out
//     (the provider ends its own browser session and returns to the
//     absolute URL of AfterLogoutPath, which must be in the provider's
//     allow-list of logout URLs), else to AfterLogoutPath; 204 for API
//     clients. Chromium applies a page's Content-Security-Policy
//     form-action to the redirects of a form post: a page whose sign-out
//     form posts here must allow the provider's logout origin in
//     form-action (examples/webapp shows how).
//   - GET /auth/session: {"authenticated":bool,"session":{...}} (the
//     Session without its raw claims), for client-side route loaders.
//   - POST /auth/refresh: refreshes the cookie session now; JSON as above.
//
// POST endpoints are guarded by http.CrossOriginProtection (cross-origin
// browser requests get 403); sign-in, sign-up and refresh are rate limited
// per client IP and per email address. Bodies are capped at 16 KiB; a
// malformed, non-UTF-8 or oversized body is a 400 and changes nothing.
// The handler runs w's Middleware itself when it is not already upstream.
//
// # Continuing a sign-in
//
// When a password sign-in, a sign-up or the callback's code exchange fails
// with an *ActionError that the adapter can finish (an ActionContinuer
// whose CanContinue says so: email verification, MFA, organisation
// selection), the step (the provider's pending token, the action, the
// organisations offered, return_to) is sealed into a cookie named
// CookieName + "-pending" that lives 10 minutes (HttpOnly, SameSite=Lax,
// like the flow cookie). The pending token is never put in a URL, a page,
// a JSON body or a log. Then:
//
//   - a browser (form post, callback) gets a 303 to /auth/continue, a form
//     asking for the code (autocomplete="one-time-code") or a choice of
//     organisation (radio buttons). Its POST (form or JSON {"code"} /
//     {"organization"}; cross-origin protected, rate limited per client
//     IP and per pending step, body capped like the others) calls
//     ContinueSignIn, starts the session as a sign-in does, clears the
//     pending cookie and redirects to return_to (303), or answers 200 with
//     the session (JSON). A wrong code shows the form again (401) and
//     keeps the step; a further step (organisation selection after email
//     verification) replaces it;
//   - an API client gets 401 {"error":"action_required",
//     "error_description", "action", "organizations":[{"id","name"}],
//     "continue_url"} with the pending cookie, and posts the input to
//     continue_url; GET /auth/continue answers {"action", "organizations",
//     "continue_url"} for the step in progress;
//   - a missing, tampered or expired pending cookie is a 400 (a page or
//     JSON saying to sign in again) that clears it and changes nothing.
//
// A step that takes no input here (ActionSSO, or an action the adapter
// cannot continue) shows the sign-in form with a message and, when the
// adapter has RedirectSignIn, a link to the hosted page (with the
// organisation for single sign-on when exactly one is known); API clients
// get the 401 body with "login_url" instead of "continue_url". It is a
// link rather than a redirect because Chromium applies the sign-in page's
// Content-Security-Policy form-action 'self' to every redirect of the
// form post, which would block the hop to the provider.
func (w *Web) Handler() http.Handler { return w.handler }

func (w *Web) buildHandler() (http.Handler, error) {
	b := w.cfg.BasePath
	cop := http.NewCrossOriginProtection()
	if w.cfg.PublicOrigin != "" {
		if err := cop.AddTrustedOrigin(w.cfg.PublicOrigin); err != nil {
			return nil, misconfigured("Config.PublicOrigin is not a valid origin")
		}
	}
	post := func(h http.HandlerFunc) http.Handler { return cop.Handler(h) }

	mux := http.NewServeMux()
	mux.HandleFunc("GET "+b+"/session", w.handleSession)
	mux.Handle("POST "+b+"/logout", post(w.handleLogout))
	if w.sealer != nil {
		mux.HandleFunc("GET "+b+"/login", w.handleLoginPage)
		mux.Handle("POST "+b+"/login", post(func(rw http.ResponseWriter, r *http.Request) { w.passwordPost(rw, r, false) }))
		mux.HandleFunc("GET "+b+"/signup", w.handleSignUpPage)
		mux.Handle("POST "+b+"/signup", post(func(rw http.ResponseWriter, r *http.Request) { w.passwordPost(rw, r, true) }))
		mux.HandleFunc("GET "+b+"/callback", w.handleCallback)
		mux.Handle("POST "+b+"/refresh", post(w.handleRefresh))
		if _, ok := w.continuer(); ok {
			mux.HandleFunc("GET "+b+"/continue", w.handleContinuePage)
			mux.Handle("POST "+b+"/continue", post(w.handleContinue))
		}
	}
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if st := stateFrom(r.Context()); st != nil && st.web == w {
			if st.req == nil {
				st.req = r // adapter calls below carry ClientInfo
			}
			mux.ServeHTTP(rw, r)
			return
		}
		c := &authContext{Context: r.Context()}
		c.st.web, c.st.req = w, r
		w.authenticate(rw, r, c)
		mux.ServeHTTP(rw, r.WithContext(c))
	}), nil
}

// returnTo is raw if it is a safe same-origin path outside the auth
// endpoints, else AfterLoginPath.
func (w *Web) returnTo(raw string) string {
	rt, ok := safeReturnTo(raw)
	if !ok || rt == w.cfg.BasePath || strings.HasPrefix(rt, w.cfg.BasePath+"/") || strings.HasPrefix(rt, w.cfg.BasePath+"?") {
		return w.cfg.AfterLoginPath
	}
	return rt
}

// origin is the application's origin as seen by r's client:
// Config.PublicOrigin, else built from r's Host (https, or http with
// Insecure over plain HTTP).
func (w *Web) origin(r *http.Request) string {
	if w.cfg.PublicOrigin != "" {
		return w.cfg.PublicOrigin
	}
	scheme := "https"
	if w.cfg.Insecure && r.TLS == nil {
		scheme = "http"
	}
	return scheme + "://" + r.Host
}

// redirectURI is the OAuth redirect URI for a flow started by r.
func (w *Web) redirectURI(r *http.Request) string {
	return w.origin(r) + w.cfg.BasePath + "/callback"
}

// afterLogoutURL is the absolute URL of AfterLogoutPath, the returnTo a
// provider's logout page sends the browser back to.
func (w *Web) afterLogoutURL(r *http.Request) string {
	return w.origin(r) + w.cfg.AfterLogoutPath
}

// withReturnTo appends a return_to parameter to path unless rt is the
// default landing page.
func (w *Web) withReturnTo(path, rt string, extra ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	if rt != w.cfg.AfterLoginPath {
		q.Set("return_to", rt)
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

func seeOther(rw http.ResponseWriter, location string) {
	rw.Header().Set("Cache-Control", "no-store")
	rw.Header().Set("Location", location)
	rw.WriteHeader(http.StatusSeeOther)
}

func (w *Web) handleLoginPage(rw http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	rt := w.returnTo(q.Get("return_to"))
	if s, ok := SessionFrom(r.Context()); ok && !s.Pending() {
		seeOther(rw, rt)
		return
	}
	pw, rd := Has(w.auth, CapPasswordSignIn), Has(w.auth, CapRedirectSignIn)
	switch {
	case rd && (!pw || q.Get("via") == "redirect"):
		w.startRedirect(rw, r, rt, "sign-in")
	case pw:
		w.writePage(rw, r, "login", http.StatusOK, w.formData(false, rt, ""))
	default:
		w.failPage(rw, r, NewError(ErrUnsupported, w.provider(), "login", "no sign-in capability"))
	}
}

func (w *Web) handleSignUpPage(rw http.ResponseWriter, r *http.Request) {
	rt := w.returnTo(r.URL.Query().Get("return_to"))
	switch {
	case Has(w.auth, CapSignUp):
		w.writePage(rw, r, "login", http.StatusOK, w.formData(true, rt, ""))
	case Has(w.auth, CapRedirectSignIn):
		w.startRedirect(rw, r, rt, "sign-up")
	default:
		w.failPage(rw, r, NewError(ErrUnsupported, w.provider(), "signup", "no sign-up capability"))
	}
}

func (w *Web) formData(signUp bool, rt, email string) *PageData {
	b := w.cfg.BasePath
	d := &PageData{
		Title:    "Sign in",
		Provider: w.provider(),
		SignUp:   signUp,
		Action:   b + "/login",
		ReturnTo: rt,
		Email:    email,
	}
	if signUp {
		d.Title, d.Action = "Create account", b+"/signup"
		d.LoginURL = w.withReturnTo(b+"/login", rt)
	} else if Has(w.auth, CapSignUp) {
		d.SignUpURL = w.withReturnTo(b+"/signup", rt)
	}
	if Has(w.auth, CapRedirectSignIn) {
		d.RedirectURL = w.withReturnTo(b+"/login", rt, "via", "redirect")
	}
	return d
}

// credentials is the body of POST /login and /signup.
type credentials struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	ReturnTo string `json:"return_to"`
}

func invalidInput(op, reason string) error { return NewError(ErrInvalidInput, "", op, reason) }

// readCredentials parses a form or JSON body of at most MaxBodySize bytes.
func readCredentials(rw http.ResponseWriter, r *http.Request, op string) (credentials, error) {
	var c credentials
	body, mt, err := readBody(rw, r, op)
	if err != nil {
		return c, err
	}
	switch mt {
	case "application/x-www-form-urlencoded":
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return c, invalidInput(op, "malformed form")
		}
		for _, k := range []string{"email", "password", "return_to"} {
			if len(vals[k]) > 1 || !utf8.ValidString(vals.Get(k)) {
				return c, invalidInput(op, "malformed form field "+k)
			}
		}
		c = credentials{Email: vals.Get("email"), Password: vals.Get("password"), ReturnTo: vals.Get("return_to")}
	case "application/json":
		if err := decodeJSON(body, &c); err != nil {
			return c, invalidInput(op, err.Error())
		}
	default:
		return c, invalidInput(op, "unsupported content type")
	}
	c.Email = strings.TrimSpace(c.Email)
	switch {
	case c.Email == "" || c.Password == "":
		return c, invalidInput(op, "email and password are required")
	case len(c.Email) > maxEmailLen || !strings.Contains(c.Email, "@") || strings.ContainsFunc(c.Email, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		return c, invalidInput(op, "malformed email address")
	case len(c.Password) > maxPassLen:
		return c, invalidInput(op, "password too long")
	}
	return c, nil
}

// passwordPost serves POST /login (signUp false) and POST /signup.
func (w *Web) passwordPost(rw http.ResponseWriter, r *http.Request, signUp bool) {
	ctx := r.Context()
	op, capab := "login", CapPasswordSignIn
	if signUp {
		op, capab = "signup", CapSignUp
	}
	form := isForm(r)
	rt := w.cfg.AfterLoginPath
	var email string
	fail := func(err error) {
		w.emit(ctx, Event{Type: EventSignInFailed, Provider: w.provider(), Kind: KindOf(err), Err: err, Path: r.URL.Path})
		var ae *ActionError
		isAction := errors.As(err, &ae)
		if isAction && w.startStep(rw, r, ae, rt, form) {
			return // on to /continue
		}
		if !form {
			if isAction {
				w.writeActionJSON(rw, r, ae, stepOrgs(ae), nil, rt, false)
				return
			}
			writeAPIError(rw, r, err)
			return
		}
		k := kindOrUnavailable(err)
		errorHeaders(rw.Header(), k, err)
		d := w.formData(signUp, rt, email)
		d.Message = formMessage(err, signUp)
		if isAction {
			if u := w.stepRedirectURL(ae, stepOrgs(ae), rt); u != "" {
				d.RedirectURL = u
			}
		}
		w.writePage(rw, r, "login", k.Status(), d)
	}
	if !Has(w.auth, capab) {
		fail(NewError(ErrUnsupported, w.provider(), op, "capability not available"))
		return
	}
	c, err := readCredentials(rw, r, op)
	if err != nil {
		fail(err)
		return
	}
	rt, email = w.returnTo(c.ReturnTo), c.Email
	acct, device := account(c.Email), ""
	if signUp {
		if err := w.allow(ctx, LimiterKey("web-signup-ip", w.clientIP(r)), w.cfg.Limits.SignUpIP); err != nil {
			fail(err)
			return
		}
		if err := w.allow(ctx, LimiterKey("web-signup-acct", acct), w.cfg.Limits.SignUpAccount); err != nil {
			fail(err)
			return
		}
	} else {
		device = w.knownDevice(r, acct)
		if err := w.limited(w.signInGuard().Check(ctx, w.clientIP(r), acct, device)); err != nil {
			fail(err)
			return
		}
		if device != "" {
			ci, _ := ClientInfoFrom(ctx)
			ci.Device = device
			ctx = WithClientInfo(ctx, ci)
		}
	}
	var t *Tokens
	if signUp {
		t, err = w.auth.(SignUp).SignUp(ctx, c.Email, c.Password)
	} else {
		t, err = w.auth.(PasswordSignIn).SignInWithPassword(ctx, c.Email, c.Password)
	}
	if err != nil {
		fail(err)
		return
	}
	if signUp && (t == nil || t.AccessToken == "") {
		// The adapter accepted the sign-up without starting a session
		// (DIY answers a fresh and a taken address alike, so that sign-up
		// reveals no account): the user signs in next.
		w.emit(ctx, Event{Type: EventSignUp, Provider: w.provider()})
		if form {
			seeOther(rw, w.cfg.LoginPath+"?signed_up=1&return_to="+url.QueryEscape(rt))
			return
		}
		writeJSON(rw, r, http.StatusAccepted, map[string]any{"authenticated": false, "status": "sign_up_accepted"})
		return
	}
	s, err := w.startSession(ctx, rw, t, op)
	if err != nil {
		fail(err)
		return
	}
	w.clearPending(rw, r)
	if err := w.signInGuard().Succeeded(ctx, acct, device); err != nil {
		w.logger.LogAttrs(ctx, slog.LevelWarn, "authport: rate limiter reset failed", slog.String("err", err.Error()))
	}
	w.rememberDevice(rw, r, acct)
	typ := EventSignIn
	if signUp {
		typ = EventSignUp
	}
	w.emit(ctx, Event{Type: typ, Provider: w.provider(), UserID: s.UserID, SessionID: s.SessionID})
	if form {
		seeOther(rw, rt)
		return
	}
	writeSession(rw, r, s)
}

// formMessage is the text a form shows for err: one message for every
// credential failure, so it reveals nothing about which accounts exist.
func formMessage(err error, signUp bool) string {
	var ae *ActionError
	switch k := kindOrUnavailable(err); {
	case errors.As(err, &ae):
		switch ae.Action {
		case ActionVerifyEmail:
			return "Check your email to verify your address, then sign in."
		case ActionMFA:
			return "This account needs a second factor; continue with the provider's sign-in."
		case ActionSelectOrganization:
			return "Choose an organisation to continue."
		case ActionSSO:
			return "This account signs in with your organisation's single sign-on: continue there."
		}
		return k.Description()
	case k == ErrInvalidCredential || k == ErrExpired || k == ErrRevoked:
		if signUp {
			return "An account could not be created with that email address and password."
		}
		return "Invalid email address or password."
	case k == ErrInvalidInput:
		return "Enter a valid email address and a password."
	case k == ErrRateLimited:
		return "Too many attempts. Please wait a moment and try again."
	default:
		return "Sign-in is unavailable right now. Please try again later."
	}
}

// startSession verifies freshly issued tokens, seals them into the session
// cookie and records the session in the request state.
func (w *Web) startSession(ctx context.Context, rw http.ResponseWriter, t *Tokens, op string) (*Session, error) {
	p := w.provider()
	if t == nil || t.AccessToken == "" {
		return nil, NewError(ErrProviderUnavailable, p, op, "adapter returned no access token")
	}
	s, err := w.verify(ctx, Credential{Token: t.AccessToken, Source: SourceCookie, Cookie: w.cfg.CookieName})
	if err != nil {
		if kindOrUnavailable(err).Status() == http.StatusUnauthorized {
			// The adapter's own tokens do not verify: a configuration
			// problem (issuer, audience), not the user's fault.
			return nil, WrapError(ErrMisconfigured, p, op, err)
		}
		return nil, err
	}
	tt := *t
	if tt.UserID == "" {
		tt.UserID = s.UserID
	}
	if tt.SessionID == "" {
		tt.SessionID = s.SessionID
	}
	now := w.now()
	sealed, err := w.sealSession(&tt, now)
	if err != nil {
		return nil, WrapError(ErrMisconfigured, p, op, err)
	}
	if err := w.setSessionCookie(rw, sealed, now); err != nil {
		return nil, WrapError(ErrMisconfigured, p, op, err)
	}
	if st := stateFrom(ctx); st != nil && st.web == w {
		st.session, st.err, st.tokens, st.issuedAt, st.sealed, st.cleared = s, nil, &tt, now, true, false
	}
	return s, nil
}

// sessionResponse is the body of GET /session and of JSON sign-ins.
type sessionResponse struct {
	Authenticated bool     `json:"authenticated"`
	Session       *Session `json:"session,omitempty"`
}

func writeSession(rw http.ResponseWriter, r *http.Request, s *Session) {
	if s == nil {
		writeJSON(rw, r, http.StatusOK, sessionResponse{})
		return
	}
	v := *s
	v.Claims = nil
	writeJSON(rw, r, http.StatusOK, sessionResponse{Authenticated: true, Session: &v})
}

func (w *Web) handleSession(rw http.ResponseWriter, r *http.Request) {
	st := stateFrom(r.Context())
	if st.session == nil && st.err != nil && kindOrUnavailable(st.err).Status() != http.StatusUnauthorized {
		writeAPIError(rw, r, st.err) // cannot tell: fail closed, do not claim signed out
		return
	}
	writeSession(rw, r, st.session)
}

func (w *Web) handleRefresh(rw http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	st := stateFrom(ctx)
	if w.refresher == nil {
		writeAPIError(rw, r, NewError(ErrUnsupported, w.provider(), "refresh", "adapter cannot refresh"))
		return
	}
	if err := w.allow(ctx, LimiterKey("web-refresh-ip", w.clientIP(r)), w.cfg.Limits.RefreshIP); err != nil {
		writeAPIError(rw, r, err)
		return
	}
	if !st.refreshed {
		switch {
		case st.tokens == nil && st.err != nil && st.sealed:
			writeAPIError(rw, r, st.err)
			return
		case st.tokens == nil:
			writeAPIError(rw, r, ErrNoCredential)
			return
		case st.tokens.RefreshToken == "":
			writeAPIError(rw, r, invalidInput("refresh", "the session has no refresh token"))
			return
		}
		if !w.refreshInto(ctx, rw, st) {
			writeAPIError(rw, r, st.err)
			return
		}
	}
	writeSession(rw, r, st.session)
}

func (w *Web) handleLogout(rw http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	st := stateFrom(ctx)
	s, t := st.session, st.tokens
	if s == nil && t != nil && (t.UserID != "" || t.SessionID != "") {
		// The access token no longer verifies, but the cookie opened:
		// still ask the provider to end the session it names.
		s = &Session{Provider: w.provider(), UserID: t.UserID, SessionID: t.SessionID}
	}
	var revokeErr error
	if rv, ok := w.auth.(Revoker); ok && s != nil && Has(w.auth, CapRevoke) {
		revokeErr = rv.Revoke(ctx, s, t)
		if revokeErr == nil && w.cfg.Cluster != nil {
			revokeErr = w.flushRevocations(ctx)
		}
		w.emit(ctx, Event{Type: EventRevoke, Provider: w.provider(), Kind: KindOf(revokeErr), Err: revokeErr, UserID: s.UserID, SessionID: s.SessionID})
	}
	if _, ok := cookieValue(r, w.cfg.CookieName); (ok && !st.cleared) || st.refreshed {
		w.clearCookie(rw, w.cfg.CookieName)
		st.cleared = true
	}
	if _, ok := cookieValue(r, w.flowName); ok {
		w.clearCookie(rw, w.flowName)
	}
	w.clearPending(rw, r)
	browser := isForm(r) || acceptsHTML(r)
	e := Event{Type: EventSignOut, Provider: w.provider()}
	target := w.cfg.AfterLogoutPath
	if browser {
		target, e.Err = w.logoutTarget(ctx, r, s, t)
		e.Kind = KindOf(e.Err)
	}
	if s != nil {
		e.UserID, e.SessionID = s.UserID, s.SessionID
	}
	w.emit(ctx, e)
	st.session, st.tokens, st.err = nil, nil, ErrNoCredential
	if KindOf(revokeErr) == ErrProviderUnavailable {
		// The cookie is gone, but the provider could not confirm that the
		// session ended (security.md F8: an unconfirmed revocation fails
		// the request): say so rather than report a clean sign-out.
		w.writeError(rw, r, revokeErr, st)
		return
	}
	if browser {
		seeOther(rw, target)
		return
	}
	rw.Header().Set("Cache-Control", "no-store")
	rw.WriteHeader(http.StatusNoContent)
}

// flushTimeout bounds how long sign-out waits for its revocation to reach
// the other instances (Config.Cluster).
const flushTimeout = 2 * time.Second

// flushRevocations waits until the revocation just made has reached the
// shared store. If it cannot, sign-out is reported unconfirmed (503): the
// revocation holds on this instance and is delivered to the others as soon
// as the store is back.
func (w *Web) flushRevocations(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, flushTimeout)
	defer cancel()
	if err := w.cfg.Cluster.Flush(ctx); err != nil {
		return WrapError(ErrProviderUnavailable, w.provider(), "revoke", err)
	}
	return nil
}

// logoutTarget is where a browser goes after signing out: the provider's
// logout page when the adapter has one and a session was signed out, else
// AfterLogoutPath. When LogoutURL fails, the browser goes to
// AfterLogoutPath (the local sign-out is done) and err says why.
func (w *Web) logoutTarget(ctx context.Context, r *http.Request, s *Session, t *Tokens) (target string, err error) {
	lr, ok := w.auth.(LogoutRedirector)
	if !ok || s == nil || !Has(w.auth, CapLogoutRedirect) {
		return w.cfg.AfterLogoutPath, nil
	}
	if t != nil && t.IDToken != "" {
		ctx = WithIDToken(ctx, t.IDToken)
	}
	u, err := lr.LogoutURL(ctx, s, w.afterLogoutURL(r))
	if err == nil && !isRedirectTarget(u) {
		err = NewError(ErrMisconfigured, w.provider(), "logout", "LogoutURL returned no absolute http(s) URL")
	}
	if err != nil {
		return w.cfg.AfterLogoutPath, err
	}
	return u, nil
}

// isRedirectTarget reports whether u is an absolute http(s) URL without
// user info, safe to put in a Location header.
func isRedirectTarget(u string) bool {
	p, err := url.Parse(u)
	return err == nil && (p.Scheme == "https" || p.Scheme == "http") && p.Host != "" && p.User == nil &&
		!strings.ContainsAny(u, "\r\n")
}

// flow is what the sealed flow cookie carries between the redirect to the
// provider and the callback.
type flow struct {
	state, verifier, returnTo, redirectURI string
}

func (w *Web) sealFlow(f flow) (string, error) {
	p := make([]byte, 0, 16+len(f.state)+len(f.verifier)+len(f.returnTo)+len(f.redirectURI))
	p = appendString(p, f.state)
	p = appendString(p, f.verifier)
	p = appendString(p, f.returnTo)
	p = appendString(p, f.redirectURI)
	return w.sealer.seal(purposeFlow, w.now(), p)
}

func (w *Web) openFlow(v string) (flow, error) {
	p, iat, err := w.sealer.open(purposeFlow, v)
	if err != nil {
		return flow{}, err
	}
	if w.now().Sub(iat) > flowMaxAge {
		return flow{}, NewError(ErrInvalidInput, w.provider(), "callback", "sign-in took too long")
	}
	d := decoder{b: p}
	f := flow{state: d.string(), verifier: d.string(), returnTo: d.string(), redirectURI: d.string()}
	if !d.done() || f.state == "" || f.verifier == "" || f.redirectURI == "" {
		return flow{}, errSealedInvalid
	}
	return f, nil
}

// startRedirect sends the browser to the provider's hosted page, keeping
// state, the PKCE verifier and return_to in the flow cookie.
func (w *Web) startRedirect(rw http.ResponseWriter, r *http.Request, rt, hint string) {
	rd := w.auth.(RedirectSignIn)
	var vb [32]byte
	rand.Read(vb[:])
	f := flow{state: rand.Text(), verifier: base64.RawURLEncoding.EncodeToString(vb[:]), returnTo: rt, redirectURI: w.redirectURI(r)}
	sum := sha256.Sum256([]byte(f.verifier))
	req := AuthorizeRequest{
		RedirectURI:   f.redirectURI,
		State:         f.state,
		CodeChallenge: base64.RawURLEncoding.EncodeToString(sum[:]),
		ScreenHint:    hint,
	}
	if org := r.URL.Query().Get("organization"); org != "" {
		if len(org) > 128 || !isToken68(org) {
			w.failPage(rw, r, invalidInput("login", "malformed organization"))
			return
		}
		req.Organization = org
	}
	target, err := rd.AuthorizeURL(r.Context(), req)
	if err != nil {
		w.emit(r.Context(), Event{Type: EventSignInFailed, Provider: w.provider(), Kind: KindOf(err), Err: err, Path: r.URL.Path})
		w.failPage(rw, r, err)
		return
	}
	v, err := w.sealFlow(f)
	if err == nil {
		err = w.setCookie(rw, w.flowName, v, flowMaxAge)
	}
	if err != nil {
		w.failPage(rw, r, WrapError(ErrMisconfigured, w.provider(), "login", err))
		return
	}
	seeOther(rw, target)
}

func (w *Web) handleCallback(rw http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p := w.provider()
	fail := func(err error) {
		w.emit(ctx, Event{Type: EventSignInFailed, Provider: p, Kind: KindOf(err), Err: err, Path: r.URL.Path})
		w.failPage(rw, r, err) // never back to the login page: that could loop
	}
	rd, ok := w.auth.(RedirectSignIn)
	if !ok || !Has(w.auth, CapRedirectSignIn) {
		fail(NewError(ErrUnsupported, p, "callback", "no redirect sign-in"))
		return
	}
	v, ok := cookieValue(r, w.flowName)
	if !ok {
		fail(invalidInput("callback", "no sign-in in progress"))
		return
	}
	w.clearCookie(rw, w.flowName) // single use, whatever happens next
	f, err := w.openFlow(v)
	if err != nil {
		fail(invalidInput("callback", "sign-in flow cookie does not open"))
		return
	}
	q := r.URL.Query()
	if len(q["state"]) != 1 {
		fail(invalidInput("callback", "state missing"))
		return
	}
	got, want := sha256.Sum256([]byte(q.Get("state"))), sha256.Sum256([]byte(f.state))
	if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
		fail(invalidInput("callback", "state mismatch"))
		return
	}
	if e := q.Get("error"); e != "" {
		reason := "provider returned an error"
		if len(e) <= 64 && isToken68(e) {
			reason += " " + strconv.Quote(e)
		}
		fail(NewError(ErrInvalidCredential, p, "callback", reason))
		return
	}
	t, err := rd.Exchange(ctx, Callback{Query: q, CodeVerifier: f.verifier, RedirectURI: f.redirectURI})
	if err != nil {
		var ae *ActionError
		if errors.As(err, &ae) {
			w.emit(ctx, Event{Type: EventSignInFailed, Provider: p, Kind: ErrActionRequired, Err: err, Path: r.URL.Path})
			if !w.startStep(rw, r, ae, w.returnTo(f.returnTo), true) {
				w.actionFail(rw, r, ae, w.returnTo(f.returnTo), true)
			}
			return
		}
		fail(err)
		return
	}
	s, err := w.startSession(ctx, rw, t, "callback")
	if err != nil {
		fail(err)
		return
	}
	w.clearPending(rw, r)
	w.emit(ctx, Event{Type: EventSignIn, Provider: p, UserID: s.UserID, SessionID: s.SessionID})
	seeOther(rw, w.returnTo(f.returnTo))
}

// builtinPages are the default sign-in form and error page. They load no
// external resources, so they work under the strict Content-Security-Policy
// the handlers send.
var builtinPages = template.Must(template.New("pages").Parse(`
{{- define "head" -}}
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>{{.Title}}</title>
<style>
body{font-family:system-ui,sans-serif;margin:0;display:flex;justify-content:center;color:#111;background:#f6f6f6}
main{background:#fff;margin:4rem 1rem;padding:2rem;max-width:22rem;width:100%;border-radius:8px;box-shadow:0 1px 3px #0003}
h1{font-size:1.5rem;margin-top:0}
label{display:block;margin:1rem 0 .25rem;font-weight:600}
input{box-sizing:border-box;width:100%;padding:.6rem;font-size:1rem;border:1px solid #767676;border-radius:4px}
input:focus,button:focus,a:focus{outline:3px solid #1a5fb4;outline-offset:2px}
button{margin-top:1.5rem;width:100%;padding:.7rem;font-size:1rem;border:0;border-radius:4px;background:#1a5fb4;color:#fff;cursor:pointer}
[role=alert]{padding:.75rem;border-radius:4px;background:#fdecea;color:#8a1c1c}
fieldset{border:0;padding:0;margin:1rem 0 0}
legend{font-weight:600;padding:0}
.choice{display:flex;align-items:center;gap:.5rem;margin:.6rem 0}
.choice input{width:auto;margin:0}
.choice label{margin:0;font-weight:400}
a{color:#1a5fb4}
</style>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
{{- end}}

{{- define "login" -}}
{{template "head" .}}
{{if .Message}}<p id="form-message" role="alert">{{.Message}}</p>{{end}}
<form method="post" action="{{.Action}}">
<input type="hidden" name="return_to" value="{{.ReturnTo}}">
<label for="email">Email address</label>
<input id="email" name="email" type="email" inputmode="email" autocomplete="{{if .SignUp}}email{{else}}username{{end}}" required autofocus value="{{.Email}}"{{if .Message}} aria-describedby="form-message"{{end}}>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="{{if .SignUp}}new-password{{else}}current-password{{end}}" required{{if .SignUp}} minlength="8"{{end}}>
<button type="submit">{{if .SignUp}}Create account{{else}}Sign in{{end}}</button>
</form>
{{if .RedirectURL}}<p><a href="{{.RedirectURL}}">Continue with {{.Provider}}</a></p>{{end}}
{{if .SignUpURL}}<p>No account yet? <a href="{{.SignUpURL}}">Create one</a></p>{{end}}
{{if and .SignUp .LoginURL}}<p>Already have an account? <a href="{{.LoginURL}}">Sign in</a></p>{{end}}
</main>
</body>
</html>
{{end}}

{{- define "error" -}}
{{template "head" .}}
<p>{{.Message}}</p>
{{if .RedirectURL}}<p><a href="{{.RedirectURL}}">Continue with {{.Provider}}</a></p>{{end}}
{{if .LoginURL}}<p><a href="{{.LoginURL}}">Sign in</a></p>{{end}}
</main>
</body>
</html>
{{end}}

{{- define "continue" -}}
{{template "head" .}}
{{if .Message}}<p id="form-message" role="alert">{{.Message}}</p>{{end}}
<form method="post" action="{{.Action}}">
{{- if eq .Step "organization_selection_required"}}
{{- if .Organizations}}
<fieldset{{if .Message}} aria-describedby="form-message"{{end}}>
<legend>Sign in to</legend>
{{- range $i, $o := .Organizations}}
<div class="choice"><input type="radio" id="org-{{$i}}" name="organization" value="{{$o.ID}}"{{if eq $i 0}} required{{end}}><label for="org-{{$i}}">{{if $o.Name}}{{$o.Name}}{{else}}{{$o.ID}}{{end}}</label></div>
{{- end}}
</fieldset>
{{- else}}
<label for="organization">Organisation ID</label>
<input id="organization" name="organization" type="text" required autofocus maxlength="128" spellcheck="false" autocomplete="off"{{if .Message}} aria-describedby="form-message"{{end}}>
{{- end}}
{{- else}}
{{- with .Enrollment}}
<section id="enroll" aria-labelledby="enroll-title">
<h2 id="enroll-title">Set up your authenticator app</h2>
<p>Scan this code with an authenticator app, or enter the key by hand.</p>
{{if .QRCode}}<img id="enroll-qr" src="{{.QRCode}}" alt="QR code for your authenticator app" width="200" height="200">{{end}}
<p>Key: <code id="enroll-secret">{{.Secret}}</code></p>
{{if .URI}}<p><a id="enroll-uri" href="{{.URI}}">Open in an authenticator app</a></p>{{end}}
</section>
{{- end}}
<p id="code-hint">{{if eq .Step "mfa_required"}}Enter the code from your authenticator app.{{else}}Enter the code we sent to your email address.{{end}}</p>
<label for="code">{{if eq .Step "mfa_required"}}Authentication code{{else}}Verification code{{end}}</label>
<input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" required autofocus maxlength="64" spellcheck="false" aria-describedby="code-hint{{if .Message}} form-message{{end}}">
{{- end}}
<button type="submit">Continue</button>
</form>
{{if .LoginURL}}<p><a href="{{.LoginURL}}">Start over</a></p>{{end}}
</main>
</body>
</html>
{{end}}
`))
