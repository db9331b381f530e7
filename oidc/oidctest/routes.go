package oidctest

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/authport/authport/internal/emulator"
)

func (e *Emulator) routes() {
	m := e.Mux
	disc := strings.TrimSuffix(mustPath(e.Issuer), "/") + "/.well-known/openid-configuration"
	m.HandleFunc("GET "+disc, e.discovery)
	e.HandleKeys(RouteJWKS, e.Keys.JWKSHandler(false, e.o.KeysMaxAge))
	m.HandleFunc(RouteAuthorize, e.authorize)
	m.HandleFunc(RouteToken, e.token)
	if !e.o.NoRevocation {
		m.HandleFunc(RouteRevoke, e.revoke)
	}
	if !e.o.NoUserinfo {
		m.HandleFunc(RouteUserinfo, e.userinfo)
	}
	if !e.o.NoIntrospection {
		m.HandleFunc(RouteIntrospect, e.introspect)
	}
	if !e.o.NoEndSession {
		m.HandleFunc(RouteEndSession, e.endSession)
	}
}

func mustPath(u string) string {
	p, _ := url.Parse(u)
	return p.Path
}

func (e *Emulator) discovery(w http.ResponseWriter, r *http.Request) {
	grants := []string{"authorization_code", "refresh_token"}
	if !e.o.NoPasswordGrant {
		grants = append(grants, "password")
	}
	auth := []string{"client_secret_basic", "client_secret_post"}
	if e.ClientSecret == "" {
		auth = []string{"none"}
	}
	d := map[string]any{
		"issuer":                                e.Issuer,
		"authorization_endpoint":                e.URL + "/authorize",
		"token_endpoint":                        e.URL + "/token",
		"jwks_uri":                              e.URL + "/jwks",
		"response_types_supported":              []string{"code"},
		"response_modes_supported":              []string{"query"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{e.Keys.Algorithm()},
		"scopes_supported":                      []string{"openid", "email", "profile", "offline_access"},
		"grant_types_supported":                 grants,
		"token_endpoint_auth_methods_supported": auth,
		"code_challenge_methods_supported":      []string{"S256"},
		"claims_supported": []string{"iss", "sub", "aud", "exp", "iat", "nbf", "auth_time", "nonce", "sid", "email",
			"email_verified", "name", "roles", "permissions", "org_id"},
		"authorization_response_iss_parameter_supported": true,
	}
	if !e.o.NoUserinfo {
		d["userinfo_endpoint"] = e.URL + "/userinfo"
	}
	if !e.o.NoRevocation {
		d["revocation_endpoint"] = e.URL + "/revoke"
		d["revocation_endpoint_auth_methods_supported"] = auth
	}
	if !e.o.NoIntrospection {
		d["introspection_endpoint"] = e.URL + "/introspect"
		d["introspection_endpoint_auth_methods_supported"] = auth
	}
	if !e.o.NoEndSession {
		d["end_session_endpoint"] = e.URL + "/logout"
	}
	w.Header().Set("Cache-Control", "public, max-age=3600")
	emulator.WriteJSON(w, http.StatusOK, d)
}

// oauthError writes an RFC 6749 §5.2 error.
func oauthError(w http.ResponseWriter, status int, code, desc string) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="oidctest"`)
	}
	emulator.WriteJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// clientAuth authenticates the client (client_secret_basic,
// client_secret_post, or none for a public client) and reports whether it
// answered with an error.
func (e *Emulator) clientAuth(w http.ResponseWriter, r *http.Request) bool {
	id, secret, basic := r.BasicAuth()
	if basic {
		var err1, err2 error
		id, err1 = url.QueryUnescape(id)
		secret, err2 = url.QueryUnescape(secret)
		if err1 != nil || err2 != nil || r.PostForm.Has("client_secret") {
			oauthError(w, http.StatusBadRequest, "invalid_request", "malformed or duplicated client credentials")
			return true
		}
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	okID := subtle.ConstantTimeCompare([]byte(id), []byte(e.ClientID)) == 1
	okSecret := subtle.ConstantTimeCompare([]byte(secret), []byte(e.ClientSecret)) == 1
	if !okID || !okSecret {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return true
	}
	return false
}

func parseForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		oauthError(w, http.StatusBadRequest, "invalid_request", "the body must be application/x-www-form-urlencoded")
		return false
	}
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "malformed form")
		return false
	}
	for k, v := range r.PostForm {
		if len(v) > 1 {
			oauthError(w, http.StatusBadRequest, "invalid_request", "parameter "+k+" repeated")
			return false
		}
	}
	return true
}

// grantError maps a store error to an OAuth token error.
func grantError(w http.ResponseWriter, err error) {
	desc := "the grant is invalid, expired, revoked or was already used"
	switch {
	case errors.Is(err, emulator.ErrBadCredentials):
		desc = "invalid username or password"
	case errors.Is(err, emulator.ErrDisabled):
		desc = "the user is disabled"
	case errors.Is(err, emulator.ErrPKCE):
		desc = "PKCE verification failed"
	case errors.Is(err, emulator.ErrRedirectMismatch):
		desc = "redirect_uri does not match the authorization request"
	}
	oauthError(w, http.StatusBadRequest, "invalid_grant", desc)
}

func (e *Emulator) token(w http.ResponseWriter, r *http.Request) {
	if !parseForm(w, r) || e.clientAuth(w, r) {
		return
	}
	f := r.PostForm
	var (
		ts  *emulator.TokenSet
		err error
	)
	switch f.Get("grant_type") {
	case "authorization_code":
		if f.Get("code") == "" || f.Get("redirect_uri") == "" {
			oauthError(w, http.StatusBadRequest, "invalid_request", "code and redirect_uri are required")
			return
		}
		ss, g, rerr := e.Store.RedeemCode(f.Get("code"), f.Get("code_verifier"), f.Get("redirect_uri"))
		if rerr == nil && g.ClientID != e.ClientID {
			rerr = emulator.ErrNotFound
		}
		if rerr != nil {
			grantError(w, rerr)
			return
		}
		ts, err = e.issue(ss, g.Nonce, "")
	case "refresh_token":
		next, ss, rerr := e.Store.RotateRefresh(f.Get("refresh_token"))
		if rerr != nil {
			grantError(w, rerr)
			return
		}
		ts, err = e.issue(ss, "", next)
	case "password":
		if e.o.NoPasswordGrant {
			oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "the password grant is disabled")
			return
		}
		u, perr := e.Store.CheckPassword(f.Get("username"), f.Get("password"))
		if perr != nil {
			grantError(w, perr)
			return
		}
		scope := f.Get("scope")
		if scope == "" {
			scope = "openid email profile"
		}
		ss, serr := e.Store.CreateSession(emulator.NewSession{UserID: u.ID, ClientID: e.ClientID, Scope: scope})
		if serr != nil {
			grantError(w, serr)
			return
		}
		ts, err = e.issue(ss, "", "")
	case "":
		oauthError(w, http.StatusBadRequest, "invalid_request", "grant_type is required")
		return
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "unsupported grant_type")
		return
	}
	if err != nil {
		grantError(w, err)
		return
	}
	w.Header().Set("Pragma", "no-cache")
	emulator.WriteJSON(w, http.StatusOK, ts)
}

// authorize serves the hosted sign-in page of the code flow.
func (e *Emulator) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != e.ClientID {
		http.Error(w, "unknown client_id", http.StatusBadRequest)
		return
	}
	redirect := q.Get("redirect_uri")
	ru, err := url.Parse(redirect)
	if err != nil || !ru.IsAbs() || (ru.Scheme != "http" && ru.Scheme != "https") || ru.Fragment != "" {
		http.Error(w, "invalid redirect_uri", http.StatusBadRequest)
		return
	}
	if len(e.o.RedirectURIs) > 0 && !contains(e.o.RedirectURIs, redirect) {
		http.Error(w, "redirect_uri is not registered for this client", http.StatusBadRequest)
		return
	}
	// From here on errors go back to the client (RFC 6749 §4.1.2.1).
	fail := func(code, desc string) {
		v := ru.Query()
		v.Set("error", code)
		v.Set("error_description", desc)
		if s := q.Get("state"); s != "" {
			v.Set("state", s)
		}
		v.Set("iss", e.Issuer)
		to := *ru
		to.RawQuery = v.Encode()
		http.Redirect(w, r, to.String(), http.StatusFound)
	}
	switch {
	case q.Get("response_type") != "code":
		fail("unsupported_response_type", "only response_type=code is supported")
		return
	case q.Get("code_challenge") == "":
		fail("invalid_request", "PKCE is required: send code_challenge")
		return
	case q.Get("code_challenge_method") != "S256":
		fail("invalid_request", "code_challenge_method must be S256")
		return
	case q.Get("prompt") == "none":
		fail("login_required", "the user is not signed in at the emulator")
		return
	}
	scope := q.Get("scope")
	if scope == "" {
		scope = "openid"
	}
	e.HostedLogin(w, r, emulator.LoginOptions{
		Email: q.Get("login_hint"),
		Complete: func(_ *http.Request, u *emulator.User) (string, error) {
			ss, err := e.Store.CreateSession(emulator.NewSession{UserID: u.ID, ClientID: e.ClientID, Scope: scope, OrgID: q.Get("organization")})
			if err != nil {
				return "", err
			}
			code, err := e.Store.IssueCodeGrant(emulator.CodeGrant{
				SessionID: ss.ID, Challenge: q.Get("code_challenge"), RedirectURI: redirect,
				ClientID: e.ClientID, Nonce: q.Get("nonce"), Scope: scope,
			})
			if err != nil {
				return "", err
			}
			v := ru.Query()
			v.Set("code", code)
			if s := q.Get("state"); s != "" {
				v.Set("state", s)
			}
			v.Set("iss", e.Issuer)
			to := *ru
			to.RawQuery = v.Encode()
			return to.String(), nil
		},
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// revoke implements RFC 7009: revoking a refresh token or an access token
// ends its session. Unknown tokens are not an error.
func (e *Emulator) revoke(w http.ResponseWriter, r *http.Request) {
	if !parseForm(w, r) || e.clientAuth(w, r) {
		return
	}
	tok := r.PostForm.Get("token")
	if tok == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "token is required")
		return
	}
	if ss, err := e.Store.RefreshSession(tok); ss != nil && (err == nil || errors.Is(err, emulator.ErrReused)) {
		e.Store.RevokeSession(ss.ID)
	} else if m, ok := e.Minted(tok); ok && m.SessionID != "" {
		e.Store.RevokeSession(m.SessionID)
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

// bearer returns the access token of an RFC 6750 request.
func bearer(r *http.Request) string {
	h := r.Header.Values("Authorization")
	if len(h) != 1 {
		return ""
	}
	scheme, tok, ok := strings.Cut(h[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}

func (e *Emulator) userinfo(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	m, err := e.Introspect(bearer(r))
	if err != nil || m.Header["typ"] != "at+jwt" {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		emulator.WriteJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token", "error_description": "the access token is invalid, expired or revoked"})
		return
	}
	u, err := e.Store.User(m.UserID)
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		emulator.WriteJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token"})
		return
	}
	out := map[string]any{"sub": u.ID, "email": u.Email, "email_verified": u.EmailVerified}
	if u.Name != "" {
		out["name"] = u.Name
	}
	emulator.WriteJSON(w, http.StatusOK, out)
}

// introspect implements RFC 7662 for access and refresh tokens.
func (e *Emulator) introspect(w http.ResponseWriter, r *http.Request) {
	if !parseForm(w, r) || e.clientAuth(w, r) {
		return
	}
	tok := r.PostForm.Get("token")
	if tok == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "token is required")
		return
	}
	if m, err := e.Introspect(tok); err == nil {
		out := map[string]any{"active": true, "token_type": "Bearer", "client_id": e.ClientID, "iss": e.Issuer}
		for _, k := range []string{"sub", "aud", "exp", "iat", "nbf", "jti", "sid", "scope"} {
			if v, ok := m.Claims[k]; ok {
				out[k] = v
			}
		}
		if email, ok := m.Claims["email"].(string); ok {
			out["username"] = email
		}
		emulator.WriteJSON(w, http.StatusOK, out)
		return
	}
	if ss, err := e.Store.RefreshSession(tok); err == nil {
		if live, u, err := e.Store.LiveSession(ss.ID); err == nil {
			emulator.WriteJSON(w, http.StatusOK, map[string]any{
				"active": true, "token_type": "refresh_token", "client_id": e.ClientID, "iss": e.Issuer,
				"sub": u.ID, "sid": live.ID, "scope": live.Scope, "iat": live.CreatedAt.Unix(),
			})
			return
		}
	}
	emulator.WriteJSON(w, http.StatusOK, map[string]bool{"active": false})
}

// allowedPostLogout checks a post_logout_redirect_uri against
// Options.PostLogoutRedirectURIs, or, when none are registered, accepts an
// http(s) URI on a loopback host.
func (e *Emulator) allowedPostLogout(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.User != nil || u.Fragment != "" || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	if len(e.o.PostLogoutRedirectURIs) > 0 {
		return contains(e.o.PostLogoutRedirectURIs, raw)
	}
	h := u.Hostname()
	ip := net.ParseIP(h)
	return h == "localhost" || ip != nil && ip.IsLoopback()
}

// endSession implements OpenID Connect RP-Initiated Logout 1.0 (GET or a
// form POST). An id_token_hint must be an ID token this issuer minted for
// the client (expired ones included) and ends its session; client_id, if
// given, must be the client's (and the hint's audience). A
// post_logout_redirect_uri needs one of the two to name the client and
// must be registered; the browser is then sent there (302) with state.
// Without one a signed-out page is shown. Errors are a 400 page, never a
// redirect.
func (e *Emulator) endSession(w http.ResponseWriter, r *http.Request) {
	lr, ok := emulator.ReadLogout(w, r, func(status int, msg string) { logoutPage(w, status, msg) })
	if !ok {
		return
	}
	hint, clientID := lr.IDTokenHint, lr.ClientID
	redirect, state := lr.PostLogoutRedirectURI, lr.State
	var sid string
	if hint != "" {
		m, ok := e.Minted(hint)
		if !ok || m.Header["typ"] != "JWT" || m.Claims["aud"] != e.ClientID {
			logoutPage(w, http.StatusBadRequest, "The id_token_hint is not an ID token this issuer issued to the client.")
			return
		}
		sid = m.SessionID
	}
	if clientID != "" && clientID != e.ClientID {
		logoutPage(w, http.StatusBadRequest, "Unknown client_id.")
		return
	}
	if redirect != "" {
		if hint == "" && clientID == "" {
			logoutPage(w, http.StatusBadRequest, "post_logout_redirect_uri needs id_token_hint or client_id.")
			return
		}
		if !e.allowedPostLogout(redirect) {
			logoutPage(w, http.StatusBadRequest, "post_logout_redirect_uri is not registered for this client.")
			return
		}
	}
	if sid != "" {
		_ = e.Store.EndSession(sid) // an unknown or ended session is already over
	}
	if redirect == "" {
		logoutPage(w, http.StatusOK, "You have signed out.")
		return
	}
	emulator.RedirectAfterLogout(w, r, redirect, state)
}

func logoutPage(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign out</title></head>\n<body><main><h1>Sign out</h1><p id=\"logout-message\">%s</p></main></body></html>\n", html.EscapeString(msg))
}
