package auth0test

import (
	"encoding/json"
	"errors"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/authport/authport/internal/emulator"
)

// ssoCookie is the emulated Universal Login session cookie.
const ssoCookie = "auth0"

func (s *Server) routes() {
	m := s.core.Mux
	m.HandleFunc(RouteDiscovery, s.handleDiscovery)
	s.core.HandleKeys(RouteJWKS, http.HandlerFunc(s.handleJWKS))
	m.HandleFunc(RouteAuthorize, s.handleAuthorize)
	m.HandleFunc(RouteToken, s.handleToken)
	m.HandleFunc(RouteRevoke, s.handleRevoke)
	m.HandleFunc(RouteUserinfo, s.handleUserinfo)
	m.HandleFunc(RouteLogout, s.handleLogout)
	m.HandleFunc(RouteOIDCLogout, s.handleOIDCLogout)
	m.HandleFunc(RouteMFAChallenge, s.handleMFAChallenge)
	m.HandleFunc(RouteSignup, s.handleSignup)
	s.mgmtRoutes()
}

func (s *Server) handleDiscovery(w http.ResponseWriter, r *http.Request) {
	b := s.URL
	emulator.WriteJSON(w, http.StatusOK, map[string]any{
		"issuer":                                           s.issuer,
		"authorization_endpoint":                           b + "/authorize",
		"token_endpoint":                                   b + "/oauth/token",
		"userinfo_endpoint":                                b + "/userinfo",
		"mfa_challenge_endpoint":                           b + "/mfa/challenge",
		"jwks_uri":                                         b + "/.well-known/jwks.json",
		"revocation_endpoint":                              b + "/oauth/revoke",
		"end_session_endpoint":                             b + "/oidc/logout",
		"scopes_supported":                                 []string{"openid", "profile", "offline_access", "name", "given_name", "family_name", "nickname", "email", "email_verified", "picture", "created_at", "identities", "phone", "address"},
		"response_types_supported":                         []string{"code", "token", "id_token", "code token", "code id_token", "token id_token", "code token id_token"},
		"code_challenge_methods_supported":                 []string{"S256", "plain"},
		"response_modes_supported":                         []string{"query", "fragment", "form_post"},
		"subject_types_supported":                          []string{"public"},
		"token_endpoint_auth_methods_supported":            []string{"client_secret_basic", "client_secret_post", "private_key_jwt"},
		"claims_supported":                                 []string{"aud", "auth_time", "created_at", "email", "email_verified", "exp", "family_name", "given_name", "iat", "identities", "iss", "name", "nickname", "phone_number", "picture", "sub"},
		"request_uri_parameter_supported":                  false,
		"request_parameter_supported":                      false,
		"id_token_signing_alg_values_supported":            []string{"HS256", "RS256", "PS256"},
		"token_endpoint_auth_signing_alg_values_supported": []string{"RS256", "RS384", "PS256"},
	})
}

// handleJWKS serves the key set as Auth0 does: kty, use, n, e, kid, x5t,
// x5c and alg for every published key.
func (s *Server) handleJWKS(w http.ResponseWriter, r *http.Request) {
	keys := []map[string]any{}
	for _, k := range s.core.Keys.Published() {
		if j := k.JWK(true); j != nil {
			delete(j, "x5t#S256")
			keys = append(keys, j)
		}
	}
	b, _ := json.Marshal(map[string]any{"keys": keys})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Write(b)
}

// allowedCallback checks redirect_uri against Options.AllowedCallbackURLs,
// or, when none are set, accepts any https URL and any http URL on a
// loopback host.
func (s *Server) allowedCallback(u string) bool { return allowedURL(u, s.o.AllowedCallbackURLs) }

// allowedLogout checks /v2/logout's returnTo against
// Options.AllowedLogoutURLs with the same default as allowedCallback.
func (s *Server) allowedLogout(u string) bool { return allowedURL(u, s.o.AllowedLogoutURLs) }

// allowedURL accepts u if it is listed, or, with an empty list, if it is
// an https URL or an http URL on a loopback host.
func allowedURL(u string, list []string) bool {
	pu, err := url.Parse(u)
	if err != nil || !pu.IsAbs() || pu.Host == "" || pu.Fragment != "" || pu.User != nil {
		return false
	}
	if len(list) > 0 {
		return slices.Contains(list, u)
	}
	if pu.Scheme == "https" {
		return true
	}
	h := pu.Hostname()
	ip := net.ParseIP(h)
	return pu.Scheme == "http" && (h == "localhost" || ip != nil && ip.IsLoopback())
}

var errorPage = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Error</title></head>
<body><main><h1>Oops!, something went wrong</h1><p role="alert">{{.}}</p></main></body></html>
`))

func pageError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	errorPage.Execute(w, msg)
}

// org resolves an organization parameter (an id or a name).
func (s *Server) org(v string) (id, name string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n, ok := s.orgs[v]; ok {
		return v, n, nil
	}
	for id, n := range s.orgs {
		if n == v {
			return id, n, nil
		}
	}
	return "", "", errNoOrg
}

func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != s.o.ClientID {
		pageError(w, http.StatusBadRequest, "Unknown client: "+q.Get("client_id"))
		return
	}
	redirect := q.Get("redirect_uri")
	if !s.allowedCallback(redirect) {
		pageError(w, http.StatusBadRequest, "Callback URL mismatch. The provided redirect_uri is not in the list of allowed callback URLs.")
		return
	}
	state := q.Get("state")
	back := func(params url.Values) string {
		if state != "" {
			params.Set("state", state)
		}
		sep := "?"
		if strings.Contains(redirect, "?") {
			sep = "&"
		}
		return redirect + sep + params.Encode()
	}
	fail := func(code, desc string) {
		http.Redirect(w, r, back(url.Values{"error": {code}, "error_description": {desc}}), http.StatusFound)
	}
	if rt := q.Get("response_type"); rt != "code" {
		fail("unsupported_response_type", "Unsupported response type: "+rt)
		return
	}
	challenge := q.Get("code_challenge")
	if challenge != "" && q.Get("code_challenge_method") != "S256" {
		fail("invalid_request", "code_challenge_method must be S256")
		return
	}
	audience := q.Get("audience")
	if audience != "" && !s.knownAudience(audience) {
		fail("access_denied", "Service not found: "+audience)
		return
	}
	var orgID, orgName string
	if o := q.Get("organization"); o != "" {
		var err error
		if orgID, orgName, err = s.org(o); err != nil {
			fail("invalid_request", "parameter organization is invalid: "+o+" does not exist")
			return
		}
	}
	complete := func(u *User, sso string) (string, error) {
		if orgID != "" && u.OrgID != orgID {
			return back(url.Values{"error": {"access_denied"}, "error_description": {"user " + u.ID + " is not part of the " + orgID + " organization"}}), nil
		}
		g, err := s.newGrant(u, grant{
			audience: audience, scope: s.grantedScope(q.Get("scope"), u, audience),
			orgID: orgID, orgName: orgName, sso: sso, nonce: q.Get("nonce"),
		})
		if err != nil {
			return "", err
		}
		code, err := s.core.Store.IssueCodeGrant(emulator.CodeGrant{
			SessionID: g.id, Challenge: challenge, RedirectURI: redirect, ClientID: s.o.ClientID,
			Nonce: q.Get("nonce"), Scope: g.scope,
		})
		if err != nil {
			return "", err
		}
		return back(url.Values{"code": {code}}), nil
	}
	prompt := q.Get("prompt")
	if c, err := r.Cookie(ssoCookie); err == nil && prompt != "login" && r.Method == http.MethodGet {
		if uid, ok := s.liveSSO(c.Value); ok {
			if u, err := s.core.Store.User(uid); err == nil && !u.Disabled {
				to, err := complete(u, c.Value)
				if err != nil {
					fail("server_error", "could not complete the sign-in")
					return
				}
				http.Redirect(w, r, to, http.StatusFound)
				return
			}
		}
	}
	if prompt == "none" {
		fail("login_required", "Login required")
		return
	}
	s.core.HostedLogin(w, r, emulator.LoginOptions{
		Title: "Log in to " + s.core.Options().Name,
		Email: q.Get("login_hint"),
		Complete: func(r *http.Request, u *User) (string, error) {
			sso := emulator.RandomToken(24)
			s.mu.Lock()
			s.sso[sso] = &ssoSession{userID: u.ID, live: true}
			s.mu.Unlock()
			http.SetCookie(w, &http.Cookie{Name: ssoCookie, Value: sso, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
			return complete(u, sso)
		},
	})
}

func (s *Server) liveSSO(id string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ss, ok := s.sso[id]; ok && ss.live {
		return ss.userID, true
	}
	return "", false
}

func (s *Server) endSSO(userID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, ss := range s.sso {
		if ss.userID == userID && ss.live {
			ss.live = false
			n++
		}
	}
	return n
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(ssoCookie); err == nil {
		s.mu.Lock()
		if ss, ok := s.sso[c.Value]; ok {
			ss.live = false
		}
		s.mu.Unlock()
		http.SetCookie(w, &http.Cookie{Name: ssoCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true})
	}
	q := r.URL.Query()
	if cid := q.Get("client_id"); cid != "" && cid != s.o.ClientID {
		pageError(w, http.StatusBadRequest, "Unknown client")
		return
	}
	if to := q.Get("returnTo"); to != "" {
		if !s.allowedLogout(to) {
			pageError(w, http.StatusBadRequest, `The "returnTo" querystring parameter is not defined as a valid URL in "Allowed Logout URLs".`)
			return
		}
		http.Redirect(w, r, to, http.StatusFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("OK"))
}

func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	p, err := readParams(r)
	if err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	clientID, hasSecret, ok := s.client(r, p)
	if !ok || !hasSecret {
		oauthError(w, http.StatusUnauthorized, "access_denied", "Unauthorized")
		return
	}
	tok := p.Get("token")
	if tok == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "Missing required parameter: token")
		return
	}
	if ss, err := s.core.Store.RefreshSession(tok); err == nil && ss.ClientID == clientID {
		_ = s.core.Store.RevokeSession(ss.ID)
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

func bearerToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "Bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

func (s *Server) handleUserinfo(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	unauthorized := func() {
		w.Header().Set("WWW-Authenticate", `Bearer realm="`+s.issuer+`", error="invalid_token"`)
		http.Error(w, "Unauthorized", http.StatusUnauthorized)
	}
	tok := bearerToken(r)
	if tok == "" {
		unauthorized()
		return
	}
	var uid, scope string
	s.mu.Lock()
	if id, ok := s.opaque[tok]; ok {
		uid, scope = id, "openid profile email"
	}
	s.mu.Unlock()
	if uid == "" {
		m, err := s.core.Introspect(tok)
		if err != nil {
			unauthorized()
			return
		}
		aud := m.Claims["aud"]
		auds, _ := aud.([]any)
		if !slices.Contains(auds, any(s.issuer+"userinfo")) {
			unauthorized()
			return
		}
		uid, _ = m.Claims["sub"].(string)
		scope, _ = m.Claims["scope"].(string)
	}
	u, err := s.core.Store.User(uid)
	if err != nil || u.Disabled {
		unauthorized()
		return
	}
	out := map[string]any{"sub": u.ID}
	if hasWord(scope, "profile") {
		name := u.Name
		if name == "" {
			name = u.Email
		}
		out["name"], out["nickname"] = name, strings.SplitN(u.Email, "@", 2)[0]
		out["updated_at"] = u.CreatedAt.UTC().Format("2006-01-02T15:04:05.000Z")
	}
	if hasWord(scope, "email") {
		out["email"], out["email_verified"] = u.Email, u.EmailVerified
	}
	emulator.WriteJSON(w, http.StatusOK, out)
}

// dbError writes the /dbconnections error body.
func dbError(w http.ResponseWriter, name, code string, desc any) {
	emulator.WriteJSON(w, http.StatusBadRequest, map[string]any{"name": name, "code": code, "description": desc, "statusCode": 400})
}

func (s *Server) handleSignup(w http.ResponseWriter, r *http.Request) {
	p, err := readParams(r)
	if err != nil {
		dbError(w, "BadRequestError", "invalid_request", err.Error())
		return
	}
	if p.Get("client_id") != s.o.ClientID {
		dbError(w, "BadRequestError", "invalid_client", "Unknown client")
		return
	}
	if p.Get("connection") != s.o.Connection {
		dbError(w, "BadRequestError", "invalid_connection", "the connection was not found")
		return
	}
	email, password := strings.TrimSpace(p.Get("email")), p.Get("password")
	if email == "" || !strings.Contains(email, "@") {
		dbError(w, "BadRequestError", "invalid_signup", "Invalid sign up")
		return
	}
	if len(password) < 8 {
		emulator.WriteJSON(w, http.StatusBadRequest, map[string]any{
			"name": "PasswordStrengthError", "message": "Password is too weak", "code": "invalid_password",
			"description": map[string]any{"rules": []any{map[string]any{"message": "At least %d characters in length", "format": []int{8}, "code": "lengthAtLeast", "verified": false}}, "verified": false},
			"policy":      "* At least 8 characters in length", "statusCode": 400,
		})
		return
	}
	u, err := s.core.Store.CreateUser(emulator.NewUser{Email: email, Password: password, Name: p.Get("name")})
	if errors.Is(err, emulator.ErrConflict) {
		dbError(w, "BadRequestError", "invalid_signup", "Invalid sign up")
		return
	}
	if err != nil {
		dbError(w, "BadRequestError", "invalid_signup", "Invalid sign up")
		return
	}
	emulator.WriteJSON(w, http.StatusOK, map[string]any{"_id": strings.TrimPrefix(u.ID, "auth0|"), "email_verified": false, "email": u.Email})
}
