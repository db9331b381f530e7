package authport

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"html/template"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Continuation of a sign-in that the provider interrupted with an
// *ActionError (GET and POST BasePath + "/continue"; see Handler).
const (
	// pendingMaxAge bounds the time between the interrupted sign-in and
	// its continuation (WorkOS's pending authentication tokens and
	// Auth0's mfa_token live 10 minutes too).
	pendingMaxAge = 10 * time.Minute
	// purposePending marks a sealed pending-step cookie (see cookie.go's
	// sealed-value layout): it cannot be replayed as a session or flow
	// cookie, nor they as it.
	purposePending byte = 'p'

	maxPendingToken = 2048
	maxCodeLen      = 64
	maxOrgIDLen     = 128
	maxOrgNameLen   = 200
	maxOrgs         = 100
	maxSecretLen    = 128
	maxURILen       = 512
	maxQRCodeLen    = 2048
)

// PageOrganization is an organisation the "continue" page offers.
type PageOrganization struct {
	// ID is the provider's organisation id, the value posted back.
	ID string
	// Name is its display name, when the provider gave one.
	Name string
}

// pendingStep is what the sealed pending cookie carries between the
// interrupted sign-in and POST /continue. The provider's pending token
// lives only here (encrypted): never in a URL, a page, a JSON body or a
// log.
type pendingStep struct {
	provider  string
	action    Action
	token     string
	returnTo  string
	orgs      []PageOrganization
	challenge string
	enroll    *Enrollment
}

func (p *pendingStep) actionError() *ActionError {
	ae := &ActionError{Action: p.action, Provider: p.provider, PendingToken: p.token, ChallengeID: p.challenge, Enrollment: p.enroll}
	for _, o := range p.orgs {
		ae.Organizations = append(ae.Organizations, o.ID)
		if o.Name != "" {
			if ae.OrganizationNames == nil {
				ae.OrganizationNames = map[string]string{}
			}
			ae.OrganizationNames[o.ID] = o.Name
		}
	}
	return ae
}

func (p *pendingStep) offers(org string) bool {
	for _, o := range p.orgs {
		if o.ID == org {
			return true
		}
	}
	return false
}

// pendingName is the pending cookie's name.
func (w *Web) pendingName() string { return w.cfg.CookieName + "-pending" }

// clearPending deletes a pending cookie r carries (a step abandoned for
// another sign-in, or signed out of).
func (w *Web) clearPending(rw http.ResponseWriter, r *http.Request) {
	if w.sealer == nil {
		return
	}
	if _, ok := cookieValue(r, w.pendingName()); ok {
		w.clearCookie(rw, w.pendingName())
	}
}

// continuer returns the adapter as an ActionContinuer, when it is one.
func (w *Web) continuer() (ActionContinuer, bool) {
	c, ok := w.auth.(ActionContinuer)
	return c, ok && w.sealer != nil && Has(w.auth, CapContinue)
}

// canContinue reports whether /continue can finish the sign-in ae
// interrupted: the adapter says so, the action takes input the page knows
// how to ask for, and there is a pending token to keep.
func (w *Web) canContinue(ae *ActionError) bool {
	c, ok := w.continuer()
	if !ok || ae == nil || ae.PendingToken == "" || len(ae.PendingToken) > maxPendingToken {
		return false
	}
	switch ae.Action {
	case ActionVerifyEmail, ActionMFA, ActionSelectOrganization:
	default:
		return false
	}
	return c.CanContinue(ae)
}

// stepEnrollment returns ae's enrolment when every part of it is well
// formed and of bounded size: a base32 secret, an otpauth://totp/ URI and,
// optionally, a PNG data: URI (dropped when malformed). nil otherwise.
func stepEnrollment(ae *ActionError) *Enrollment {
	e := ae.Enrollment
	if e == nil || ae.Action != ActionMFA {
		return nil
	}
	b32 := func(s string) bool {
		return s != "" && len(s) <= maxSecretLen && !strings.ContainsFunc(s, func(r rune) bool {
			return !(r >= 'A' && r <= 'Z' || r >= '2' && r <= '7' || r == '=')
		})
	}
	uriOK := func(s string) bool {
		return len(s) <= maxURILen && strings.HasPrefix(s, "otpauth://totp/") && !strings.ContainsFunc(s, func(r rune) bool {
			return r <= ' ' || r >= 0x7f || r == '"' || r == '<' || r == '>' || r == '\\'
		})
	}
	if !b32(e.Secret) || e.URI != "" && !uriOK(e.URI) {
		return nil
	}
	out := &Enrollment{Secret: e.Secret, URI: e.URI}
	if qr, ok := strings.CutPrefix(e.QRCode, "data:image/png;base64,"); ok && len(e.QRCode) <= maxQRCodeLen {
		if _, err := base64.StdEncoding.Strict().DecodeString(qr); err == nil && !strings.ContainsAny(qr, "\r\n") {
			out.QRCode = e.QRCode
		}
	}
	return out
}

// stepOrgs lists ae's organisations for the page, dropping malformed ids
// and overlong names.
func stepOrgs(ae *ActionError) []PageOrganization {
	var out []PageOrganization
	for _, id := range ae.Organizations {
		if id == "" || len(id) > maxOrgIDLen || !isToken68(id) || len(out) == maxOrgs {
			continue
		}
		name := ae.OrganizationNames[id]
		if len(name) > maxOrgNameLen || !utf8.ValidString(name) || strings.ContainsFunc(name, unicode.IsControl) {
			name = ""
		}
		out = append(out, PageOrganization{ID: id, Name: name})
	}
	return out
}

func (w *Web) sealPending(p *pendingStep, names, qr bool) (string, error) {
	b := make([]byte, 0, 64+len(p.token)+len(p.returnTo)+len(p.orgs)*40)
	b = appendString(b, p.provider)
	b = appendString(b, string(p.action))
	b = appendString(b, p.token)
	b = appendString(b, p.returnTo)
	b = binary.AppendUvarint(b, uint64(len(p.orgs)))
	for _, o := range p.orgs {
		b = appendString(b, o.ID)
		if names {
			b = appendString(b, o.Name)
		} else {
			b = appendString(b, "")
		}
	}
	b = appendString(b, p.challenge)
	if e := p.enroll; e != nil {
		b = append(b, 1)
		b = appendString(b, e.Secret)
		b = appendString(b, e.URI)
		if qr {
			b = appendString(b, e.QRCode)
		} else {
			b = appendString(b, "")
		}
	} else {
		b = append(b, 0)
	}
	return w.sealer.seal(purposePending, w.now(), b)
}

// Why a pending cookie is refused; both answer 400 and change nothing.
var (
	errNoPending      = NewError(ErrInvalidInput, "", "continue", "no sign-in step in progress")
	errPendingExpired = NewError(ErrInvalidInput, "", "continue", "the sign-in step has expired")
)

// readPending opens the request's pending cookie.
func (w *Web) readPending(r *http.Request) (*pendingStep, error) {
	v, ok := cookieValue(r, w.pendingName())
	if !ok || v == "" {
		return nil, errNoPending
	}
	b, iat, err := w.sealer.open(purposePending, v)
	if err != nil {
		return nil, errNoPending
	}
	if w.now().Sub(iat) > pendingMaxAge {
		return nil, errPendingExpired
	}
	d := decoder{b: b}
	p := &pendingStep{provider: d.string(), action: Action(d.string()), token: d.string(), returnTo: d.string()}
	n, k := binary.Uvarint(d.b)
	if k <= 0 || n > maxOrgs {
		return nil, errNoPending
	}
	d.b = d.b[k:]
	for range n {
		p.orgs = append(p.orgs, PageOrganization{ID: d.string(), Name: d.string()})
	}
	p.challenge = d.string()
	if len(d.b) > 0 {
		hasEnroll := d.b[0]
		d.b = d.b[1:]
		if hasEnroll == 1 {
			p.enroll = &Enrollment{Secret: d.string(), URI: d.string(), QRCode: d.string()}
		}
	}
	if !d.done() || p.provider != w.provider() || p.token == "" {
		return nil, errNoPending
	}
	p.returnTo = w.returnTo(p.returnTo)
	return p, nil
}

// startStep answers a sign-in that the provider interrupted with ae
// (password sign-in, the callback's code exchange, or a continuation that
// needs a further step). When /continue can finish it, the step is sealed
// into the pending cookie and a browser is sent to the continue page (303)
// while an API client gets the 401 action_required body. It reports false,
// writing nothing, when there is nothing to continue here.
func (w *Web) startStep(rw http.ResponseWriter, r *http.Request, ae *ActionError, rt string, browser bool) bool {
	if !w.canContinue(ae) {
		return false
	}
	p := &pendingStep{provider: w.provider(), action: ae.Action, token: ae.PendingToken, returnTo: rt, orgs: stepOrgs(ae),
		challenge: ae.ChallengeID, enroll: stepEnrollment(ae)}
	if ae.Action == ActionSelectOrganization && len(p.orgs) == 0 && len(ae.Organizations) > 0 {
		return false // nothing offered that could be posted back
	}
	if len(p.challenge) > maxPendingToken || ae.Enrollment != nil && p.enroll == nil {
		return false // a malformed challenge or enrolment: nothing to continue
	}
	v, err := w.sealPending(p, true, true)
	if errors.Is(err, ErrCookieTooLarge) {
		v, err = w.sealPending(p, true, false) // the QR code is a nicety: the secret enrols too
	}
	if errors.Is(err, ErrCookieTooLarge) {
		v, err = w.sealPending(p, false, false) // so are names
	}
	if err == nil {
		err = w.setCookie(rw, w.pendingName(), v, pendingMaxAge)
	}
	if err != nil {
		return false // cannot keep the step: the caller shows a message
	}
	if browser {
		seeOther(rw, w.cfg.BasePath+"/continue")
		return true
	}
	w.writeActionJSON(rw, r, ae, p.orgs, p.enroll, rt, true)
	return true
}

// actionBody is the JSON answer to a sign-in that needs another step.
type actionBody struct {
	Error         string          `json:"error"`
	Description   string          `json:"error_description"`
	Action        Action          `json:"action"`
	Organizations []actionBodyOrg `json:"organizations,omitempty"`
	Enrollment    *enrollmentBody `json:"enrollment,omitempty"`
	ContinueURL   string          `json:"continue_url,omitempty"`
	LoginURL      string          `json:"login_url,omitempty"`
}

// enrollmentBody is the authenticator to set up, for a client that shows
// the enrolment itself (the user's own secret: it is shown to that user
// only, on the step that enrols it).
type enrollmentBody struct {
	Secret string `json:"secret"`
	URI    string `json:"uri,omitempty"`
	QRCode string `json:"qr_code,omitempty"`
}

func newEnrollmentBody(e *Enrollment) *enrollmentBody {
	if e == nil {
		return nil
	}
	return &enrollmentBody{Secret: e.Secret, URI: e.URI, QRCode: e.QRCode}
}

type actionBodyOrg struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

// writeActionJSON writes 401 {"error":"action_required",
// "error_description", "action", "organizations":[{"id","name"}],
// "continue_url" (when POST /continue can finish it) or "login_url" (the
// redirect sign-in, for single sign-on)}. The pending token is never in it.
func (w *Web) writeActionJSON(rw http.ResponseWriter, r *http.Request, ae *ActionError, orgs []PageOrganization, enroll *Enrollment, rt string, continuable bool) {
	errorHeaders(rw.Header(), ErrActionRequired, ae)
	body := actionBody{Error: ErrActionRequired.Code(), Description: actionDescription(ae.Action), Action: ae.Action,
		Enrollment: newEnrollmentBody(enroll)}
	for _, o := range orgs {
		body.Organizations = append(body.Organizations, actionBodyOrg(o))
	}
	if continuable {
		body.ContinueURL = w.cfg.BasePath + "/continue"
	} else {
		body.LoginURL = w.stepRedirectURL(ae, orgs, rt)
	}
	writeJSON(rw, r, http.StatusUnauthorized, body)
}

// actionDescription is the fixed error_description of an action.
func actionDescription(a Action) string {
	switch a {
	case ActionVerifyEmail:
		return "enter the code sent to the email address to verify it"
	case ActionMFA:
		return "enter the code of the second factor"
	case ActionSelectOrganization:
		return "choose an organization to sign in to"
	case ActionSSO:
		return "sign in with the organization's single sign-on"
	}
	return ErrActionRequired.Description()
}

// stepRedirectURL is the redirect sign-in (with the organisation, when
// exactly one is known) for a step only the provider's hosted page can
// take, such as single sign-on; "" when the adapter has no redirect
// sign-in or the step is one the user cannot take there.
func (w *Web) stepRedirectURL(ae *ActionError, orgs []PageOrganization, rt string) string {
	if !Has(w.auth, CapRedirectSignIn) || w.sealer == nil {
		return ""
	}
	extra := []string{"via", "redirect"}
	if ae.Action == ActionSSO && len(orgs) == 1 {
		extra = append(extra, "organization", orgs[0].ID)
	}
	return w.withReturnTo(w.cfg.BasePath+"/login", rt, extra...)
}

// continueData is the "continue" page for p, with an optional message.
func (w *Web) continueData(p *pendingStep, msg string) *PageData {
	d := &PageData{
		Provider:      w.provider(),
		Action:        w.cfg.BasePath + "/continue",
		Step:          string(p.action),
		Organizations: p.orgs,
		Message:       msg,
		LoginURL:      w.withReturnTo(w.cfg.BasePath+"/login", p.returnTo),
	}
	if e := p.enroll; e != nil {
		// Checked when the step was sealed (stepEnrollment): safe to use
		// as an image source and a link.
		d.Enrollment = &PageEnrollment{Secret: e.Secret, URI: template.URL(e.URI), QRCode: template.URL(e.QRCode)}
	}
	switch p.action {
	case ActionVerifyEmail:
		d.Title = "Verify your email address"
	case ActionMFA:
		d.Title = "Two-step verification"
	case ActionSelectOrganization:
		d.Title = "Choose an organisation"
	default:
		d.Title = "Continue signing in"
	}
	return d
}

// handleContinuePage serves GET /continue: the form for the pending step
// (browsers), or {"action","organizations","continue_url"} (API clients).
func (w *Web) handleContinuePage(rw http.ResponseWriter, r *http.Request) {
	p, err := w.readPending(r)
	if err != nil {
		w.pendingFail(rw, r, err, isBrowser(r))
		return
	}
	if isBrowser(r) {
		w.writePage(rw, r, "continue", http.StatusOK, w.continueData(p, ""))
		return
	}
	body := pendingBody{Action: p.action, ContinueURL: w.cfg.BasePath + "/continue", Enrollment: newEnrollmentBody(p.enroll)}
	for _, o := range p.orgs {
		body.Organizations = append(body.Organizations, actionBodyOrg(o))
	}
	writeJSON(rw, r, http.StatusOK, body)
}

// pendingBody is GET /continue's JSON answer.
type pendingBody struct {
	Action        Action          `json:"action"`
	Organizations []actionBodyOrg `json:"organizations,omitempty"`
	Enrollment    *enrollmentBody `json:"enrollment,omitempty"`
	ContinueURL   string          `json:"continue_url"`
}

// pendingFail answers a request whose pending cookie is missing, does not
// open or has expired: 400 with a clear message, clearing the cookie;
// nothing else changes.
func (w *Web) pendingFail(rw http.ResponseWriter, r *http.Request, err error, browser bool) {
	if _, ok := cookieValue(r, w.pendingName()); ok {
		w.clearCookie(rw, w.pendingName())
	}
	msg, desc := "No sign-in step is in progress. Please sign in again.", "no sign-in step is in progress: sign in again"
	if err == errPendingExpired {
		msg, desc = "This sign-in step has expired. Please sign in again.", "the sign-in step has expired: sign in again"
	}
	errorHeaders(rw.Header(), ErrInvalidInput, err)
	if browser {
		w.writePage(rw, r, "error", http.StatusBadRequest, &PageData{
			Title: "Sign-in expired", Message: msg, Provider: w.provider(), LoginURL: w.cfg.LoginPath,
		})
		return
	}
	writeJSON(rw, r, http.StatusBadRequest, jsonError{Error: ErrInvalidInput.Code(), Description: desc})
}

// readActionInput parses POST /continue's body, a form or JSON
// {"code","organization"}, of at most MaxBodySize bytes, and checks it
// against the pending step.
func readActionInput(rw http.ResponseWriter, r *http.Request, p *pendingStep) (ActionInput, error) {
	const op = "continue"
	var in struct {
		Code         string `json:"code"`
		Organization string `json:"organization"`
	}
	body, mt, err := readBody(rw, r, op)
	if err != nil {
		return ActionInput{}, err
	}
	switch mt {
	case "application/x-www-form-urlencoded":
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return ActionInput{}, invalidInput(op, "malformed form")
		}
		for _, k := range []string{"code", "organization"} {
			if len(vals[k]) > 1 {
				return ActionInput{}, invalidInput(op, "malformed form field "+k)
			}
		}
		in.Code, in.Organization = vals.Get("code"), vals.Get("organization")
	case "application/json":
		if err := decodeJSON(body, &in); err != nil {
			return ActionInput{}, invalidInput(op, err.Error())
		}
	default:
		return ActionInput{}, invalidInput(op, "unsupported content type")
	}
	if !utf8.ValidString(in.Code) || !utf8.ValidString(in.Organization) {
		return ActionInput{}, invalidInput(op, "input is not UTF-8")
	}
	var out ActionInput
	switch p.action {
	case ActionVerifyEmail, ActionMFA:
		out.Code = strings.TrimSpace(in.Code)
		switch {
		case out.Code == "":
			return out, invalidInput(op, "a code is required")
		case len(out.Code) > maxCodeLen || strings.ContainsFunc(out.Code, func(r rune) bool { return r <= ' ' || r == 0x7f || unicode.IsControl(r) }):
			return out, invalidInput(op, "malformed code")
		}
	case ActionSelectOrganization:
		out.Organization = strings.TrimSpace(in.Organization)
		switch {
		case out.Organization == "":
			return out, invalidInput(op, "an organization is required")
		case len(out.Organization) > maxOrgIDLen || !isToken68(out.Organization):
			return out, invalidInput(op, "malformed organization")
		case len(p.orgs) > 0 && !p.offers(out.Organization):
			return out, invalidInput(op, "organization not offered")
		}
	default:
		return out, NewError(ErrUnsupported, "", op, "the pending step takes no input")
	}
	return out, nil
}

// handleContinue serves POST /continue: it completes the pending step
// with the user's input through the adapter's ContinueSignIn, starts the
// session as a sign-in does, clears the pending cookie and sends a browser
// to return_to (303) or answers an API client with the session (200).
func (w *Web) handleContinue(rw http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	form := isForm(r)
	var p *pendingStep
	fail := func(err error) {
		w.emit(ctx, Event{Type: EventSignInFailed, Provider: w.provider(), Kind: KindOf(err), Err: err, Path: r.URL.Path})
		if !form {
			writeAPIError(rw, r, err)
			return
		}
		k := kindOrUnavailable(err)
		errorHeaders(rw.Header(), k, err)
		if p == nil {
			w.writePage(rw, r, "error", k.Status(), &PageData{
				Title: http.StatusText(k.Status()), Message: continueMessage(err, ""), Provider: w.provider(), LoginURL: w.cfg.LoginPath,
			})
			return
		}
		w.writePage(rw, r, "continue", k.Status(), w.continueData(p, continueMessage(err, p.action)))
	}
	c, _ := w.continuer()
	if err := w.allow(ctx, LimiterKey("web-continue-ip", w.clientIP(r)), w.cfg.Limits.SignInIP); err != nil {
		fail(err)
		return
	}
	p, err := w.readPending(r)
	if err != nil {
		w.pendingFail(rw, r, err, form)
		return
	}
	in, err := readActionInput(rw, r, p)
	if err != nil {
		fail(err)
		return
	}
	if err := w.allow(ctx, LimiterKey("web-continue", p.token), w.cfg.Limits.SignInDevice); err != nil {
		fail(err)
		return
	}
	t, err := c.ContinueSignIn(ctx, p.actionError(), in)
	if err != nil {
		var next *ActionError
		if errors.As(err, &next) {
			w.emit(ctx, Event{Type: EventSignInFailed, Provider: w.provider(), Kind: ErrActionRequired, Err: err, Path: r.URL.Path})
			if w.startStep(rw, r, next, p.returnTo, form) {
				return
			}
			// A further step this endpoint cannot take (single sign-on):
			// nothing is left to continue here.
			w.clearCookie(rw, w.pendingName())
			w.actionFail(rw, r, next, p.returnTo, form)
			return
		}
		fail(err)
		return
	}
	s, err := w.startSession(ctx, rw, t, "continue")
	if err != nil {
		fail(err)
		return
	}
	w.clearCookie(rw, w.pendingName())
	w.emit(ctx, Event{Type: EventSignIn, Provider: w.provider(), UserID: s.UserID, SessionID: s.SessionID})
	if form {
		seeOther(rw, p.returnTo)
		return
	}
	writeSession(rw, r, s)
}

// actionFail answers a step that cannot be continued here: a page with
// the step's message and, where the provider's hosted page can take it,
// a link there (browsers), or the 401 action body (API clients).
func (w *Web) actionFail(rw http.ResponseWriter, r *http.Request, ae *ActionError, rt string, browser bool) {
	orgs := stepOrgs(ae)
	if !browser {
		w.writeActionJSON(rw, r, ae, orgs, nil, rt, false)
		return
	}
	errorHeaders(rw.Header(), ErrActionRequired, ae)
	w.writePage(rw, r, "error", http.StatusUnauthorized, &PageData{
		Title:       "Sign in",
		Message:     formMessage(ae, false),
		Provider:    w.provider(),
		LoginURL:    w.withReturnTo(w.cfg.BasePath+"/login", rt),
		RedirectURL: w.stepRedirectURL(ae, orgs, rt),
	})
}

// continueMessage is the text the continue page shows for err.
func continueMessage(err error, a Action) string {
	switch kindOrUnavailable(err) {
	case ErrInvalidCredential, ErrExpired, ErrRevoked:
		if a == ActionSelectOrganization {
			return "You cannot sign in to that organisation. Choose another, or start over."
		}
		return "That code is not valid or has expired. Check it and try again, or start over."
	case ErrInvalidInput:
		if a == ActionSelectOrganization {
			return "Choose one of the organisations listed."
		}
		return "Enter the code."
	case ErrRateLimited:
		return "Too many attempts. Please wait a moment and try again."
	case ErrUnsupported:
		return "This step cannot be completed here. Please start over."
	}
	return "Sign-in is unavailable right now. Please try again later."
}

// readBody reads a request body of at most MaxBodySize bytes, which must
// be UTF-8, and returns it with its media type.
func readBody(rw http.ResponseWriter, r *http.Request, op string) ([]byte, string, error) {
	body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, MaxBodySize))
	if err != nil {
		return nil, "", invalidInput(op, "body too large or unreadable")
	}
	if !utf8.Valid(body) {
		return nil, "", invalidInput(op, "body is not UTF-8")
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return body, mt, nil
}

// decodeJSON decodes exactly one JSON value from body into v.
func decodeJSON(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return errors.New("malformed JSON")
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after JSON")
	}
	return nil
}
