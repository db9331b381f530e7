package auth0test

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/authport/authport"
	"github.com/authport/authport/auth0"
	"github.com/authport/authport/internal/emulator"
)

// grant is what a refresh-token family (an emulator Session) stands for.
type grant struct {
	id       string
	user     string
	clientID string
	audience string
	scope    string
	gty      string
	orgID    string
	orgName  string
	sso      string
	nonce    string
}

func (g grant) data() map[string]any {
	return map[string]any{"audience": g.audience, "gty": g.gty, "org_name": g.orgName, "sso": g.sso, "nonce": g.nonce}
}

func grantOf(ss *emulator.Session) grant {
	str := func(k string) string { v, _ := ss.Data[k].(string); return v }
	return grant{
		id: ss.ID, user: ss.UserID, clientID: ss.ClientID, scope: ss.Scope, orgID: ss.OrgID,
		audience: str("audience"), gty: str("gty"), orgName: str("org_name"), sso: str("sso"), nonce: str("nonce"),
	}
}

func hasWord(list, w string) bool { return slices.Contains(strings.Fields(list), w) }

var oidcScopes = []string{"openid", "profile", "email", "address", "phone", "offline_access"}

// managementScopes are granted to the application for the Management API.
var managementScopes = []string{"read:users", "create:users", "update:users", "delete:users", "delete:refresh_tokens", "delete:sessions"}

// newGrant starts a refresh-token family for u.
func (s *Server) newGrant(u *User, g grant) (grant, error) {
	g.user = u.ID
	if g.clientID == "" {
		g.clientID = s.o.ClientID
	}
	ss, err := s.core.Store.CreateSession(emulator.NewSession{
		UserID: u.ID, ClientID: g.clientID, Scope: g.scope, OrgID: g.orgID, Data: g.data(),
	})
	if err != nil {
		return grant{}, err
	}
	g.id = ss.ID
	if g.orgID == "" {
		// CreateSession defaults to the user's organisation; Auth0 puts
		// one in the token only when the sign-in named it.
		if _, err := s.core.Store.UpdateSession(ss.ID, func(x *emulator.Session) error { x.OrgID = ""; return nil }); err != nil {
			return grant{}, err
		}
	}
	return g, nil
}

// grantedScope is the requested scope as Auth0 grants it with RBAC: the
// OpenID Connect scopes, plus the API scopes the user holds a permission
// for. No API scope requested (password grants) means all of them.
func (s *Server) grantedScope(requested string, u *User, audience string) string {
	var out []string
	req := strings.Fields(requested)
	api := audience == s.o.Audience || slices.Contains(s.o.ExtraAudiences, audience)
	anyAPI := false
	for _, w := range req {
		switch {
		case slices.Contains(oidcScopes, w):
			out = append(out, w)
		case api && u != nil && slices.Contains(u.Permissions, w):
			out = append(out, w)
			anyAPI = true
		}
	}
	if !anyAPI && api && u != nil {
		for _, p := range u.Permissions {
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return strings.Join(out, " ")
}

// accessClaims are the access token's claims for u (nil for an M2M
// token) under grant g, before the profile overrides.
func (s *Server) accessClaims(u *User, g grant) map[string]any {
	c := map[string]any{"iss": s.issuer}
	if hasWord(g.scope, "openid") && u != nil {
		c["aud"] = []any{g.audience, s.issuer + "userinfo"}
	} else {
		c["aud"] = g.audience
	}
	if u == nil {
		c["sub"] = g.clientID + "@clients"
	}
	if g.scope != "" {
		c["scope"] = g.scope
	}
	if s.o.Profile == ProfileRFC9068 {
		c["client_id"] = g.clientID
	} else {
		c["azp"] = g.clientID
		if g.gty != "" {
			c["gty"] = g.gty
		}
	}
	if g.audience != s.ManagementAudience() {
		if !s.o.NoPermissions {
			perms := []any{}
			if u != nil {
				for _, p := range u.Permissions {
					perms = append(perms, p)
				}
			} else {
				for _, p := range strings.Fields(g.scope) {
					perms = append(perms, p)
				}
			}
			c["permissions"] = perms
		}
		if u != nil && len(u.Roles) > 0 {
			roles := make([]any, len(u.Roles))
			for i, r := range u.Roles {
				roles[i] = r
			}
			c[s.o.RolesClaim] = roles
		}
	}
	if g.orgID != "" {
		c["org_id"] = g.orgID
		if s.o.OrgNames && g.orgName != "" {
			c["org_name"] = g.orgName
		}
	}
	return c
}

// profileOverrides removes what the emulator core adds and the profile
// lacks: Auth0-profile tokens carry no jti. Explicit claims win.
func (s *Server) profileOverrides(claims map[string]any) map[string]any {
	out := map[string]any{"sid": nil}
	if s.o.Profile != ProfileRFC9068 {
		out["jti"] = nil
	}
	for k, v := range claims {
		out[k] = v
	}
	return out
}

// tokenResponse is Auth0's /oauth/token success body.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	IDToken      string `json:"id_token,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
	ExpiresIn    int64  `json:"expires_in"`
	TokenType    string `json:"token_type"`
}

// issue mints the tokens for g; withRefresh issues a refresh token when
// offline_access was granted.
func (s *Server) issue(g grant, withRefresh bool) (*tokenResponse, error) {
	var u *User
	if g.user != "" {
		var err error
		if u, err = s.core.Store.User(g.user); err != nil {
			return nil, err
		}
	}
	resp := &tokenResponse{TokenType: "Bearer", ExpiresIn: int64(s.o.TokenTTL / time.Second), Scope: g.scope}
	if g.audience == "" {
		// No audience and no tenant default: Auth0 issues an opaque token
		// good for /userinfo only.
		resp.AccessToken = emulator.RandomToken(24)
		s.mu.Lock()
		s.opaque[resp.AccessToken] = g.user
		s.mu.Unlock()
	} else {
		at, err := s.core.Mint(emulator.MintRequest{
			UserID:   g.user,
			Defaults: func(u *emulator.User, _ *emulator.Session) map[string]any { return s.accessClaims(u, g) },
			Claims:   s.profileOverrides(nil),
		})
		if err != nil {
			return nil, err
		}
		resp.AccessToken = at
	}
	if u != nil && hasWord(g.scope, "openid") {
		resp.IDToken = s.idToken(u, g)
	}
	if withRefresh && u != nil && g.id != "" && hasWord(g.scope, "offline_access") {
		rt, err := s.core.Store.IssueRefresh(g.id)
		if err != nil {
			return nil, err
		}
		resp.RefreshToken = rt
	}
	return resp, nil
}

// idToken signs the OpenID Connect ID token.
func (s *Server) idToken(u *User, g grant) string {
	now := s.core.Clock.Now()
	c := map[string]any{
		"iss": s.issuer, "sub": u.ID, "aud": g.clientID, "iat": now.Unix(), "exp": now.Add(10 * time.Hour).Unix(),
		"updated_at": u.CreatedAt.UTC().Format("2006-01-02T15:04:05.000Z"),
	}
	if hasWord(g.scope, "email") {
		c["email"], c["email_verified"] = u.Email, u.EmailVerified
	}
	if hasWord(g.scope, "profile") {
		name := u.Name
		if name == "" {
			name = u.Email
		}
		c["name"], c["nickname"] = name, strings.SplitN(u.Email, "@", 2)[0]
		c["picture"] = "https://s.gravatar.com/avatar/" + emulator.RandomHex(16)
	}
	if g.sso != "" {
		c["sid"] = g.sso
	}
	if g.nonce != "" {
		c["nonce"] = g.nonce
	}
	if g.orgID != "" {
		c["org_id"] = g.orgID
		if s.o.OrgNames && g.orgName != "" {
			c["org_name"] = g.orgName
		}
	}
	tok := s.core.Keys.Sign(map[string]any{"typ": "JWT"}, c)
	s.mu.Lock()
	s.idTokens[sha256.Sum256([]byte(tok))] = issuedIDToken{clientID: g.clientID, sid: g.sso}
	s.mu.Unlock()
	return tok
}

// oauthError writes Auth0's OAuth error body.
func oauthError(w http.ResponseWriter, status int, code, desc string) {
	emulator.WriteJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// readParams reads a form or JSON request body into url.Values. A
// parameter given twice is an error (RFC 6749 §3.2).
func readParams(r *http.Request) (url.Values, error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	body, err := io.ReadAll(io.LimitReader(r.Body, emulator.MaxRequestBody+1))
	if err != nil || len(body) > emulator.MaxRequestBody {
		return nil, errors.New("body unreadable or too large")
	}
	switch ct {
	case "application/json":
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			return nil, errors.New("body is not a JSON object")
		}
		v := url.Values{}
		for k, x := range m {
			switch t := x.(type) {
			case string:
				v.Set(k, t)
			case bool, float64:
				v.Set(k, fmt.Sprint(t))
			case nil:
			default:
				if k == "user_metadata" || k == "app_metadata" {
					continue
				}
				return nil, fmt.Errorf("parameter %s must be a string", k)
			}
		}
		return v, nil
	case "application/x-www-form-urlencoded", "":
		v, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, errors.New("malformed form body")
		}
		for k, vs := range v {
			if len(vs) > 1 {
				return nil, fmt.Errorf("parameter %s given more than once", k)
			}
		}
		return v, nil
	}
	return nil, errors.New("unsupported content type")
}

// client authenticates the request's client: client_secret_basic or
// client_secret_post. It returns the client id and whether a secret was
// presented; a wrong id or secret is reported as not ok.
func (s *Server) client(r *http.Request, p url.Values) (id string, secret bool, ok bool) {
	id, sec := p.Get("client_id"), p.Get("client_secret")
	if bid, bsec, has := r.BasicAuth(); has {
		bid, _ = url.QueryUnescape(bid)
		bsec, _ = url.QueryUnescape(bsec)
		if id != "" && id != bid {
			return "", false, false
		}
		id, sec = bid, bsec
	}
	if id != s.o.ClientID {
		return id, false, false
	}
	if sec == "" {
		return id, false, true
	}
	return id, true, subtle.ConstantTimeCompare([]byte(sec), []byte(s.o.ClientSecret)) == 1
}

func (s *Server) knownAudience(a string) bool {
	return a == s.o.Audience || a == s.ManagementAudience() || slices.Contains(s.o.ExtraAudiences, a)
}

func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	p, err := readParams(r)
	if err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	clientID, hasSecret, ok := s.client(r, p)
	if !ok {
		oauthError(w, http.StatusUnauthorized, "access_denied", "Unauthorized")
		return
	}
	gt := p.Get("grant_type")
	switch gt {
	case "authorization_code":
		if !hasSecret && p.Get("code_verifier") == "" {
			oauthError(w, http.StatusUnauthorized, "access_denied", "Unauthorized")
			return
		}
		s.codeGrant(w, clientID, p)
	case "password", auth0.PasswordRealmGrant:
		if !hasSecret {
			oauthError(w, http.StatusUnauthorized, "access_denied", "Unauthorized")
			return
		}
		s.passwordGrant(w, gt, p)
	case auth0.MFAOTPGrant:
		if !hasSecret {
			oauthError(w, http.StatusUnauthorized, "access_denied", "Unauthorized")
			return
		}
		s.mfaOTPGrant(w, p)
	case "refresh_token":
		s.refreshGrant(w, clientID, p)
	case "client_credentials":
		if !hasSecret {
			oauthError(w, http.StatusUnauthorized, "access_denied", "Unauthorized")
			return
		}
		s.clientCredentials(w, clientID, p)
	case "":
		oauthError(w, http.StatusBadRequest, "invalid_request", "Missing required parameter: grant_type")
	default:
		oauthError(w, http.StatusForbidden, "unsupported_grant_type", "Unsupported grant type: "+gt)
	}
}

func (s *Server) passwordGrant(w http.ResponseWriter, gt string, p url.Values) {
	username, password := p.Get("username"), p.Get("password")
	switch {
	case username == "":
		oauthError(w, http.StatusBadRequest, "invalid_request", "Missing required parameter: username")
		return
	case password == "":
		oauthError(w, http.StatusBadRequest, "invalid_request", "Missing required parameter: password")
		return
	}
	if gt == "password" && s.o.NoDefaultDirectory {
		oauthError(w, http.StatusForbidden, "server_error", "Authorization server not configured with default connection.")
		return
	}
	if gt == auth0.PasswordRealmGrant {
		realm := p.Get("realm")
		if realm == "" {
			oauthError(w, http.StatusBadRequest, "invalid_request", "Missing required parameter: realm")
			return
		}
		if realm != s.o.Connection {
			oauthError(w, http.StatusBadRequest, "invalid_request", "the connection was not found")
			return
		}
	}
	audience := p.Get("audience")
	if audience != "" && !s.knownAudience(audience) {
		oauthError(w, http.StatusForbidden, "access_denied", "Service not found: "+audience)
		return
	}
	key := strings.ToLower(strings.TrimSpace(username))
	s.mu.Lock()
	blocked := s.o.MaxAttempts > 0 && s.failures[key] >= s.o.MaxAttempts
	s.mu.Unlock()
	if blocked {
		oauthError(w, http.StatusTooManyRequests, "too_many_attempts", "Your account has been blocked after multiple consecutive login attempts. We've sent you an email with instructions on how to unblock it.")
		return
	}
	u, err := s.core.Store.CheckPassword(username, password)
	switch {
	case errors.Is(err, emulator.ErrDisabled):
		oauthError(w, http.StatusUnauthorized, "unauthorized", "user is blocked")
		return
	case err != nil:
		s.mu.Lock()
		s.failures[key]++
		s.mu.Unlock()
		oauthError(w, http.StatusForbidden, "invalid_grant", "Wrong email or password.")
		return
	}
	s.mu.Lock()
	delete(s.failures, key)
	s.mu.Unlock()
	if mfa, _ := u.Metadata[MetadataMFA].(bool); mfa {
		emulator.WriteJSON(w, http.StatusForbidden, map[string]string{
			"error": "mfa_required", "error_description": "Multifactor authentication required",
			"mfa_token": s.newMFAToken(u, audience, s.grantedScope(p.Get("scope"), u, audience)),
		})
		return
	}
	g, err := s.newGrant(u, grant{audience: audience, scope: s.grantedScope(p.Get("scope"), u, audience), gty: "password"})
	if err != nil {
		oauthError(w, http.StatusInternalServerError, "server_error", "could not start a session")
		return
	}
	s.writeTokens(w, g, true)
}

func (s *Server) writeTokens(w http.ResponseWriter, g grant, withRefresh bool) {
	resp, err := s.issue(g, withRefresh)
	if err != nil {
		oauthError(w, http.StatusForbidden, "invalid_grant", "Unknown or invalid refresh token.")
		return
	}
	emulator.WriteJSON(w, http.StatusOK, resp)
}

func (s *Server) codeGrant(w http.ResponseWriter, clientID string, p url.Values) {
	code := p.Get("code")
	if code == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "Missing required parameter: code")
		return
	}
	ss, cg, err := s.core.Store.RedeemCode(code, p.Get("code_verifier"), p.Get("redirect_uri"))
	switch {
	case errors.Is(err, emulator.ErrPKCE):
		oauthError(w, http.StatusForbidden, "invalid_grant", "Failed to verify code verifier")
		return
	case errors.Is(err, emulator.ErrRedirectMismatch):
		oauthError(w, http.StatusForbidden, "invalid_grant", "Invalid redirect_uri")
		return
	case err != nil:
		oauthError(w, http.StatusForbidden, "invalid_grant", "Invalid authorization code")
		return
	case cg.ClientID != clientID:
		oauthError(w, http.StatusForbidden, "invalid_grant", "Invalid authorization code")
		return
	}
	s.writeTokens(w, grantOf(ss), true)
}

func (s *Server) refreshGrant(w http.ResponseWriter, clientID string, p url.Values) {
	rt := p.Get("refresh_token")
	if rt == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "Missing required parameter: refresh_token")
		return
	}
	invalid := func() { oauthError(w, http.StatusForbidden, "invalid_grant", "Unknown or invalid refresh token.") }
	var (
		next string
		ss   *emulator.Session
		err  error
	)
	if !s.o.Rotation {
		if ss, err = s.core.Store.RefreshSession(rt); err == nil {
			ss, _, err = s.core.Store.LiveSession(ss.ID)
		}
	} else {
		next, ss, err = s.core.Store.RotateRefresh(rt)
	}
	if err != nil || ss.ClientID != clientID {
		invalid()
		return
	}
	resp, err := s.issue(grantOf(ss), false)
	if err != nil {
		invalid()
		return
	}
	resp.RefreshToken = next
	emulator.WriteJSON(w, http.StatusOK, resp)
}

func (s *Server) clientCredentials(w http.ResponseWriter, clientID string, p url.Values) {
	audience := p.Get("audience")
	if audience == "" {
		oauthError(w, http.StatusForbidden, "access_denied", "No audience parameter was provided, and no default audience has been configured")
		return
	}
	if !s.knownAudience(audience) {
		oauthError(w, http.StatusForbidden, "access_denied", "Service not found: "+audience)
		return
	}
	scope := p.Get("scope")
	if audience == s.ManagementAudience() {
		granted := managementScopes
		if scope != "" {
			granted = nil
			for _, w := range strings.Fields(scope) {
				if slices.Contains(managementScopes, w) {
					granted = append(granted, w)
				}
			}
		}
		scope = strings.Join(granted, " ")
	}
	s.writeTokens(w, grant{clientID: clientID, audience: audience, scope: scope, gty: "client-credentials"}, false)
}

// postToken posts form to a token endpoint and decodes the answer, for the
// emulator's own client helpers (SignIn, ManagementToken).
func postToken(ctx context.Context, c *http.Client, tokenURL string, form url.Values) (*authport.Tokens, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
			Desc  string `json:"error_description"`
		}
		_ = json.Unmarshal(body, &e)
		return nil, fmt.Errorf("auth0test: /oauth/token answered %d %s: %s", resp.StatusCode, e.Error, e.Desc)
	}
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		return nil, err
	}
	t := &authport.Tokens{AccessToken: tr.AccessToken, RefreshToken: tr.RefreshToken, IDToken: tr.IDToken}
	if tr.ExpiresIn > 0 {
		t.ExpiresAt = time.Now().Add(time.Duration(tr.ExpiresIn) * time.Second)
	}
	return t, nil
}
