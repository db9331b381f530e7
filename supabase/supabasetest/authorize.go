package supabasetest

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/authport/authport/internal/emulator"
)

// flowStateExpiry is GoTrue's default FlowStateExpiryDuration.
const flowStateExpiry = 300 * time.Second

// flow is GoTrue's flow state: one /authorize request, then the auth code
// it led to.
type flow struct {
	id, provider, redirectTo string
	challenge, method        string // empty for the implicit flow
	created                  time.Time
	userID                   string
	code                     string
}

func (e *Emulator) allowedRedirect(to string) string {
	u, err := url.Parse(to)
	if to == "" || err != nil || !u.IsAbs() {
		return e.o.SiteURL
	}
	if len(e.o.RedirectAllowList) == 0 {
		return to
	}
	for _, p := range e.o.RedirectAllowList {
		if strings.HasPrefix(to, p) {
			return to
		}
	}
	return e.o.SiteURL
}

func validChallenge(c string) bool {
	if len(c) < 43 || len(c) > 128 {
		return false
	}
	for i := 0; i < len(c); i++ {
		ch := c[i]
		if !(ch >= 'A' && ch <= 'Z' || ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
			return false
		}
	}
	return true
}

// handleAuthorize is GoTrue's GET /authorize: it records a flow state and
// redirects (302) to the external provider, here the emulated provider's
// sign-in page.
func (e *Emulator) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	provider := strings.ToLower(q.Get("provider"))
	if !slices.Contains(e.o.Providers, provider) {
		e.fail(w, r, &apiErr{400, "validation_failed", "Unsupported provider: provider " + strconv.Quote(provider) + " could not be found"})
		return
	}
	f := &flow{id: emulator.NewUUID(), provider: provider, redirectTo: e.allowedRedirect(q.Get("redirect_to")), created: e.now()}
	ch, method := q.Get("code_challenge"), strings.ToLower(q.Get("code_challenge_method"))
	switch {
	case ch == "" && method == "":
	case ch == "" || method == "":
		e.fail(w, r, &apiErr{400, "validation_failed", "PKCE flow requires code_challenge_method and code_challenge"})
		return
	case method != "s256" && method != "plain":
		e.fail(w, r, &apiErr{400, "validation_failed", "Invalid code_challenge_method"})
		return
	case !validChallenge(ch):
		e.fail(w, r, &apiErr{400, "validation_failed", "code challenge has to be between 43 and 128 characters and can only contain alphanumeric characters, hyphens, periods, underscores and tildes"})
		return
	default:
		f.challenge, f.method = ch, method
	}
	e.mu.Lock()
	e.flows[f.id] = f
	e.mu.Unlock()
	http.Redirect(w, r, e.AuthURL+"/__emulator/idp/"+provider+"?state="+f.id, http.StatusFound)
}

// handleIdP is the emulated external provider: a sign-in page for the
// emulator's own users. Once the password is right it finishes the flow
// the way GoTrue's /callback does: a PKCE flow gets redirect_to?code=…,
// an implicit one the tokens in the fragment.
func (e *Emulator) handleIdP(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("state")
	e.mu.Lock()
	f := e.flows[id]
	e.mu.Unlock()
	if f == nil || f.provider != r.PathValue("provider") || e.now().Sub(f.created) > flowStateExpiry {
		e.fail(w, r, &apiErr{400, "bad_oauth_state", "OAuth state not found or expired"})
		return
	}
	e.srv.HostedLogin(w, r, emulator.LoginOptions{
		Title: "Sign in with " + f.provider + " (Supabase emulator)",
		Complete: func(r *http.Request, u *emulator.User) (string, error) {
			return e.completeFlow(f, u)
		},
	})
}

func (e *Emulator) completeFlow(f *flow, u *emulator.User) (string, error) {
	if _, err := e.srv.Store.UpdateMetadata(u.ID, map[string]any{mdApp: providersWith(mdMap(u, mdApp), f.provider)}); err != nil {
		return "", err
	}
	target, err := url.Parse(f.redirectTo)
	if err != nil {
		return "", err
	}
	e.mu.Lock()
	delete(e.flows, f.id)
	e.mu.Unlock()
	if f.challenge == "" {
		tr, err := e.issue(u, amrOAuth, f.provider)
		if err != nil {
			return "", err
		}
		frag := url.Values{
			"access_token": {tr.AccessToken}, "token_type": {tr.TokenType},
			"expires_in": {strconv.FormatInt(tr.ExpiresIn, 10)}, "expires_at": {strconv.FormatInt(tr.ExpiresAt, 10)},
			"refresh_token": {tr.RefreshToken}, "type": {"signup"},
		}
		target.Fragment = ""
		return target.String() + "#" + frag.Encode(), nil
	}
	f.userID = u.ID
	f.code = emulator.NewUUID()
	e.mu.Lock()
	e.codes[f.code] = f
	e.mu.Unlock()
	tq := target.Query()
	tq.Set("code", f.code)
	target.RawQuery = tq.Encode()
	return target.String(), nil
}

func (e *Emulator) pkceGrant(w http.ResponseWriter, r *http.Request) {
	var in struct {
		AuthCode     string `json:"auth_code"`
		CodeVerifier string `json:"code_verifier"`
	}
	if ae := readBody(w, r, &in); ae != nil {
		e.fail(w, r, ae)
		return
	}
	if in.AuthCode == "" || in.CodeVerifier == "" {
		e.fail(w, r, &apiErr{400, "validation_failed", "invalid request: both auth code and code verifier should be non-empty"})
		return
	}
	e.mu.Lock()
	f := e.codes[in.AuthCode]
	e.mu.Unlock()
	if f == nil {
		e.fail(w, r, &apiErr{404, "flow_state_not_found", "invalid flow state, no valid flow state found"})
		return
	}
	if e.now().Sub(f.created) > flowStateExpiry {
		e.fail(w, r, &apiErr{422, "flow_state_expired", "invalid flow state, flow state has expired"})
		return
	}
	if !pkceMatches(f.challenge, f.method, in.CodeVerifier) {
		e.fail(w, r, &apiErr{400, "bad_code_verifier", "code challenge does not match previously saved code verifier"})
		return
	}
	u, ok := e.lookupUser(f.userID)
	if !ok {
		e.fail(w, r, &apiErr{404, "flow_state_not_found", "invalid flow state, no valid flow state found"})
		return
	}
	e.mu.Lock()
	if e.codes[in.AuthCode] != f { // redeemed concurrently
		e.mu.Unlock()
		e.fail(w, r, &apiErr{404, "flow_state_not_found", "invalid flow state, no valid flow state found"})
		return
	}
	delete(e.codes, in.AuthCode)
	e.mu.Unlock()
	e.writeTokens(w, r, func() (*tokenResponse, error) { return e.issue(u, amrOAuth, f.provider) })
}

func pkceMatches(challenge, method, verifier string) bool {
	want := verifier
	if method == "s256" {
		h := sha256.Sum256([]byte(verifier))
		want = base64.RawURLEncoding.EncodeToString(h[:])
	}
	return subtle.ConstantTimeCompare([]byte(challenge), []byte(want)) == 1
}
