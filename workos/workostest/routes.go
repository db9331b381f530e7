package workostest

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/big"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/authport/authport/internal/emulator"
)

// Grant types the authenticate endpoint accepts.
const (
	grantPassword          = "password"
	grantCode              = "authorization_code"
	grantRefresh           = "refresh_token"
	grantEmailVerification = "urn:workos:oauth:grant-type:email-verification:code"
	grantOrgSelection      = "urn:workos:oauth:grant-type:organization-selection"
)

const pendingTTL = 10 * time.Minute

func (e *Emulator) routes() {
	m := e.srv.Mux
	e.srv.HandleKeys(KeysRoute, e.wrap(e.handleJWKS))
	m.Handle("GET /user_management/authorize", e.wrap(e.handleAuthorize))
	m.Handle("POST /user_management/authorize", e.wrap(e.handleAuthorize))
	m.Handle("POST /user_management/authenticate", e.wrap(e.handleAuthenticate))
	m.Handle("GET /user_management/sessions/logout", e.wrap(e.handleLogout))
	m.Handle("POST /user_management/sessions/revoke", e.api(e.handleRevoke))
	m.Handle("POST /user_management/users", e.api(e.handleCreateUser))
	m.Handle("GET /user_management/users", e.api(e.handleListUsers))
	m.Handle("GET /user_management/users/{id}", e.api(e.handleGetUser))
	m.Handle("POST /user_management/users/{id}/auth_factors", e.api(e.handleEnrollFactor))
	m.Handle("POST /auth/factors/{id}/challenge", e.api(e.handleChallengeFactor))
	m.Handle("GET /auth/factors/{id}", e.api(e.handleGetFactor))
	m.Handle("POST /user_management/organization_memberships", e.api(e.handleCreateMembership))
	m.Handle("GET /user_management/organization_memberships", e.api(e.handleListMemberships))
	m.Handle("GET /user_management/organization_memberships/{id}", e.api(e.handleGetMembership))
	m.Handle("GET /user_management/email_verification/{id}", e.api(e.handleGetVerification))
	m.Handle("POST /organizations", e.api(e.handleCreateOrg))
	m.Handle("GET /organizations/{id}", e.api(e.handleGetOrg))
	m.Handle("/", e.wrap(func(w http.ResponseWriter, r *http.Request) {
		apiError(w, http.StatusNotFound, "not_found", "Not Found", nil)
	}))
}

// wrap adds the X-Request-ID every WorkOS response carries.
func (e *Emulator) wrap(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-ID", emulator.NewUUID())
		h(w, r)
	})
}

// api is wrap plus the API-key check of management routes.
func (e *Emulator) api(h http.HandlerFunc) http.Handler {
	return e.wrap(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		key, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok || !constantEqual(strings.TrimSpace(key), e.APIKey) {
			apiError(w, http.StatusUnauthorized, "unauthorized", "Unauthorized", nil)
			return
		}
		h(w, r)
	})
}

// apiError writes WorkOS's {"code","message"} error body.
func apiError(w http.ResponseWriter, status int, code, message string, extra map[string]any) {
	body := map[string]any{"code": code, "message": message}
	maps.Copy(body, extra)
	emulator.WriteJSON(w, status, body)
}

// rateLimited is WorkOS's answer past a rate limit: 429 with Retry-After
// and the {"code","message"} body.
func rateLimited(w http.ResponseWriter, r *http.Request, wait time.Duration) {
	w.Header().Set("Retry-After", emulator.RetryAfterSeconds(wait))
	apiError(w, http.StatusTooManyRequests, "rate_limit_exceeded", "Too many requests", nil)
}

// oauthError writes the RFC 6749 {"error","error_description"} body WorkOS
// uses for the standard grants.
func oauthError(w http.ResponseWriter, status int, code, desc string, extra map[string]any) {
	body := map[string]any{"error": code, "error_description": desc}
	maps.Copy(body, extra)
	emulator.WriteJSON(w, status, body)
}

func ts(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func tsOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return ts(t)
}

func strOrNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// userJSON is WorkOS's user object.
func (e *Emulator) userJSON(u *emulator.User) map[string]any {
	e.mu.Lock()
	x := *e.extraLocked(u.ID)
	x.metadata = maps.Clone(x.metadata)
	e.mu.Unlock()
	if x.metadata == nil {
		x.metadata = map[string]string{}
	}
	updated := x.updated
	if updated.IsZero() {
		updated = u.CreatedAt
	}
	return map[string]any{
		"object": "user", "id": u.ID, "email": u.Email, "email_verified": u.EmailVerified,
		"first_name": strOrNil(x.firstName), "last_name": strOrNil(x.lastName),
		"profile_picture_url": nil, "last_sign_in_at": tsOrNil(x.lastSignIn),
		"external_id": strOrNil(x.externalID), "metadata": x.metadata,
		"created_at": ts(u.CreatedAt), "updated_at": ts(updated),
	}
}

func (e *Emulator) orgJSONLocked(o *organization) map[string]any {
	md := maps.Clone(o.metadata)
	if md == nil {
		md = map[string]string{}
	}
	return map[string]any{
		"object": "organization", "id": o.id, "name": o.name,
		"allow_profiles_outside_organization": false, "external_id": strOrNil(o.externalID),
		"metadata": md, "domains": []any{}, "created_at": ts(o.created), "updated_at": ts(o.updated),
	}
}

func (e *Emulator) membershipJSON(m membership) map[string]any {
	out := map[string]any{
		"object": "organization_membership", "id": m.id, "user_id": m.userID, "organization_id": m.orgID,
		"role": map[string]string{"slug": m.role}, "roles": []map[string]string{{"slug": m.role}},
		"status": m.status, "directory_managed": false, "custom_attributes": map[string]any{},
		"created_at": ts(m.created), "updated_at": ts(m.updated),
	}
	if u, err := e.srv.Store.User(m.userID); err == nil {
		out["user"] = e.userJSON(u)
	}
	return out
}

func listJSON(data []map[string]any, before, after string) map[string]any {
	if data == nil {
		data = []map[string]any{}
	}
	return map[string]any{
		"object": "list", "data": data,
		"list_metadata": map[string]any{"before": strOrNil(before), "after": strOrNil(after)},
	}
}

// page applies WorkOS's list parameters (limit, order, before, after) to
// ids in creation order.
func page(ids []string, q url.Values) (out []string, before, after string, ok bool) {
	limit := 10
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return nil, "", "", false
		}
		limit = n
	}
	ids = slices.Clone(ids)
	switch q.Get("order") {
	case "", "desc":
		slices.Reverse(ids)
	case "asc", "normal":
	default:
		return nil, "", "", false
	}
	start, end := 0, len(ids)
	if a := q.Get("after"); a != "" {
		if i := slices.Index(ids, a); i >= 0 {
			start = i + 1
		}
	} else if b := q.Get("before"); b != "" {
		if i := slices.Index(ids, b); i >= 0 {
			end = i
			start = max(0, end-limit)
		}
	}
	stop := min(end, start+limit)
	out = ids[start:stop]
	if start > 0 && len(out) > 0 {
		before = out[0]
	}
	if stop < len(ids) && len(out) > 0 {
		after = out[len(out)-1]
	}
	return out, before, after, true
}

// --- keys -----------------------------------------------------------------

func (e *Emulator) handleJWKS(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("client_id") != e.ClientID {
		apiError(w, http.StatusNotFound, "not_found", "Not Found", nil)
		return
	}
	keys := []map[string]any{}
	for _, k := range e.srv.Keys.Published() {
		j := k.JWK(true)
		if j == nil {
			continue
		}
		delete(j, "x5t") // WorkOS publishes x5c and x5t#S256 only
		keys = append(keys, j)
	}
	emulator.WriteJSON(w, http.StatusOK, map[string]any{"keys": keys})
}

// --- browser flow ----------------------------------------------------------

// allowedRedirect reports whether raw may be redirected to: listed in
// Options.RedirectURIs, or, when none are listed, any http(s) URL on a
// loopback host.
func (e *Emulator) allowedRedirect(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	if len(e.opts.RedirectURIs) > 0 {
		return slices.Contains(e.opts.RedirectURIs, raw)
	}
	h := u.Hostname()
	ip := net.ParseIP(h)
	return h == "localhost" || strings.HasSuffix(h, ".localhost") || ip != nil && ip.IsLoopback()
}

func redirectWith(w http.ResponseWriter, r *http.Request, to string, params url.Values) {
	u, _ := url.Parse(to)
	q := u.Query()
	for k, vs := range params {
		for _, v := range vs {
			if v != "" {
				q.Set(k, v)
			}
		}
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

func (e *Emulator) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	redirect, state := q.Get("redirect_uri"), q.Get("state")
	switch {
	case q.Get("client_id") != e.ClientID:
		apiError(w, http.StatusBadRequest, "invalid_client_id", "Invalid client ID.", nil)
		return
	case redirect == "":
		apiError(w, http.StatusBadRequest, "invalid_request", "redirect_uri is required", nil)
		return
	case !e.allowedRedirect(redirect):
		apiError(w, http.StatusBadRequest, "invalid_redirect_uri", "The redirect_uri is not allowed for this client.", nil)
		return
	}
	fail := func(code, desc string) {
		redirectWith(w, r, redirect, url.Values{"error": {code}, "error_description": {desc}, "state": {state}})
	}
	provider, conn, orgID := q.Get("provider"), q.Get("connection_id"), q.Get("organization_id")
	n := 0
	for _, s := range []string{provider, conn, orgID} {
		if s != "" {
			n++
		}
	}
	challenge, method := q.Get("code_challenge"), q.Get("code_challenge_method")
	switch {
	case q.Get("response_type") != "code":
		fail("unsupported_response_type", "response_type must be code")
		return
	case n != 1:
		fail("invalid_request", "Exactly one of provider, connection_id or organization_id is required.")
		return
	case provider != "" && provider != "authkit":
		fail("invalid_request", "Only the authkit provider is emulated.")
		return
	case conn != "":
		fail("invalid_connection", "SSO connections are not emulated.")
		return
	case challenge == "" && method != "", challenge != "" && method != "" && method != "S256":
		fail("invalid_request", "code_challenge_method must be S256.")
		return
	}
	if orgID != "" {
		e.mu.Lock()
		known := e.orgs[orgID] != nil
		e.mu.Unlock()
		if !known {
			fail("organization_invalid", "No connection associated with organization")
			return
		}
	}
	title := "Sign in to WorkOS"
	if q.Get("screen_hint") == "sign-up" {
		title = "Sign in or create an account"
	}
	e.srv.HostedLogin(w, r, emulator.LoginOptions{
		Title: title,
		Email: q.Get("login_hint"),
		Complete: func(r *http.Request, u *emulator.User) (string, error) {
			org, multi, err := e.resolveOrg(u.ID, orgID)
			if err != nil {
				return "", err
			}
			ss, err := e.srv.Store.CreateSession(emulator.NewSession{UserID: u.ID, OrgID: org, ClientID: e.ClientID})
			if err != nil {
				return "", err
			}
			extra := map[string]string{"method": "password"}
			if multi {
				extra["multi"] = "1"
			}
			code, err := e.srv.Store.IssueCodeGrant(emulator.CodeGrant{
				SessionID: ss.ID, Challenge: challenge, ClientID: e.ClientID, Extra: extra,
			})
			if err != nil {
				return "", err
			}
			u2, _ := url.Parse(redirect)
			v := u2.Query()
			v.Set("code", code)
			if state != "" {
				v.Set("state", state)
			}
			u2.RawQuery = v.Encode()
			return u2.String(), nil
		},
	})
}

// resolveOrg picks the organisation a fresh sign-in is scoped to: want if
// given (the user must be an active member), else the only active
// membership. multi reports several memberships and no choice.
func (e *Emulator) resolveOrg(userID, want string) (org string, multi bool, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var active []string
	for _, id := range e.memberOrder {
		m := e.members[id]
		if m.userID == userID && m.status == "active" {
			active = append(active, m.orgID)
		}
	}
	if want != "" {
		if !slices.Contains(active, want) {
			return "", false, errors.New("you are not a member of this organization")
		}
		return want, false, nil
	}
	switch len(active) {
	case 0:
		return "", false, nil
	case 1:
		return active[0], false, nil
	}
	return "", true, nil
}

func (e *Emulator) handleLogout(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	sid := q.Get("session_id")
	if sid == "" {
		apiError(w, http.StatusUnprocessableEntity, "invalid_request", "session_id is required", nil)
		return
	}
	ret := q.Get("return_to")
	if ret != "" && !e.allowedRedirect(ret) {
		apiError(w, http.StatusBadRequest, "invalid_return_to", "The return_to URL is not allowed.", nil)
		return
	}
	_ = e.srv.Store.EndSession(sid) // an unknown session is already ended
	if ret != "" {
		http.Redirect(w, r, ret, http.StatusFound)
		return
	}
	emulator.WriteJSON(w, http.StatusOK, map[string]bool{"success": true})
}

// --- authenticate --------------------------------------------------------

// readBody decodes a JSON or form body into string fields. Non-string
// JSON values are kept as their JSON text, so they fail validation.
func readBody(w http.ResponseWriter, r *http.Request) (map[string]string, bool) {
	body := http.MaxBytesReader(w, r.Body, emulator.MaxRequestBody)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	out := map[string]string{}
	switch ct {
	case "application/json":
		var raw map[string]json.RawMessage
		if err := json.NewDecoder(body).Decode(&raw); err != nil {
			return nil, false
		}
		for k, v := range raw {
			var s string
			if err := json.Unmarshal(v, &s); err == nil {
				out[k] = s
			} else if string(v) != "null" {
				out[k] = "\x00" + string(v)
			}
		}
	case "application/x-www-form-urlencoded":
		b, err := io.ReadAll(body)
		if err != nil {
			return nil, false
		}
		v, err := url.ParseQuery(string(b))
		if err != nil {
			return nil, false
		}
		for k := range v {
			out[k] = v.Get(k)
		}
	default:
		return nil, false
	}
	return out, true
}

func (e *Emulator) handleAuthenticate(w http.ResponseWriter, r *http.Request) {
	b, ok := readBody(w, r)
	if !ok {
		apiError(w, http.StatusBadRequest, "invalid_request_body", "Problems parsing JSON", nil)
		return
	}
	switch {
	case b["client_id"] != e.ClientID:
		oauthError(w, http.StatusBadRequest, "invalid_client", "Invalid client ID.", nil)
		return
	case !constantEqual(b["client_secret"], e.APIKey):
		oauthError(w, http.StatusUnauthorized, "invalid_client", "Invalid client secret.", nil)
		return
	}
	switch g := b["grant_type"]; g {
	case "":
		oauthError(w, http.StatusBadRequest, "invalid_request", "grant_type is required.", nil)
	case grantPassword:
		e.grantPassword(w, b)
	case grantCode:
		e.grantCode(w, b)
	case grantRefresh:
		e.grantRefresh(w, b)
	case grantEmailVerification:
		e.grantEmailVerification(w, b)
	case grantOrgSelection:
		e.grantOrgSelection(w, b)
	case grantTOTP:
		e.grantMFATOTP(w, b)
	default:
		oauthError(w, http.StatusBadRequest, "invalid_request", "The grant type is not supported: "+strconv.Quote(g), nil)
	}
}

// newPending records a pending authentication and returns its token.
func (e *Emulator) newPendingLocked(p *pendingAuth) string {
	tok := emulator.RandomBase62(25)
	p.expires = e.Clock.Now().Add(pendingTTL)
	e.pending[tok] = p
	return tok
}

// takePending returns the pending authentication of tok without spending it.
func (e *Emulator) pendingFor(tok string) *pendingAuth {
	e.mu.Lock()
	defer e.mu.Unlock()
	p := e.pending[tok]
	if p == nil || !e.Clock.Now().Before(p.expires) {
		delete(e.pending, tok)
		return nil
	}
	c := *p
	return &c
}

func (e *Emulator) grantPassword(w http.ResponseWriter, b map[string]string) {
	email, password := b["email"], b["password"]
	if email == "" || password == "" || strings.HasPrefix(email, "\x00") || strings.HasPrefix(password, "\x00") {
		oauthError(w, http.StatusBadRequest, "invalid_request", "email and password are required.", nil)
		return
	}
	u, err := e.srv.Store.CheckPassword(email, password)
	if err != nil {
		apiError(w, http.StatusBadRequest, "invalid_credentials", "Invalid credentials for '"+email+"'.", nil)
		return
	}
	e.mu.Lock()
	x := *e.extraLocked(u.ID)
	switch {
	case x.ssoConnection != "":
		tok := e.newPendingLocked(&pendingAuth{userID: u.ID, method: "password"})
		e.mu.Unlock()
		oauthError(w, http.StatusForbidden, "sso_required", "User must authenticate using one of the matching connections.", map[string]any{
			"email": u.Email, "connection_ids": []string{x.ssoConnection}, "pending_authentication_token": tok,
		})
		return
	case e.opts.RequireEmailVerification && !u.EmailVerified:
		now := e.Clock.Now()
		v := &verification{id: "email_verification_" + e.ulid(), userID: u.ID, email: u.Email,
			code: sixDigits(), created: now, expires: now.Add(pendingTTL)}
		e.verifications[v.id] = v
		tok := e.newPendingLocked(&pendingAuth{userID: u.ID, method: "password", verificationID: v.id})
		e.mu.Unlock()
		apiError(w, http.StatusForbidden, "email_verification_required", "Email ownership must be verified before authentication.", map[string]any{
			"pending_authentication_token": tok, "email": u.Email, "email_verification_id": v.id,
		})
		return
	case x.mfa:
		tok := e.newPendingLocked(&pendingAuth{userID: u.ID, method: "password"})
		e.mu.Unlock()
		apiError(w, http.StatusForbidden, "mfa_challenge", "The user must complete an MFA challenge to finish authenticating.", map[string]any{
			"pending_authentication_token": tok, "user": e.userJSON(u),
			"authentication_factors": []map[string]string{{"id": x.factorID, "type": "totp"}},
		})
		return
	case e.opts.RequireMFA:
		tok := e.newPendingLocked(&pendingAuth{userID: u.ID, method: "password"})
		e.mu.Unlock()
		apiError(w, http.StatusForbidden, "mfa_enrollment", "The user must enroll in MFA to finish authenticating.", map[string]any{
			"pending_authentication_token": tok, "user": e.userJSON(u),
		})
		return
	}
	e.mu.Unlock()
	e.signInFresh(w, u, "", "Password")
}

// sixDigits returns a random six-digit one-time code.
func sixDigits() string {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	return fmt.Sprintf("%06d", n.Int64())
}

// signInFresh finishes a fresh sign-in: it resolves the organisation
// (answering organization_selection_required when the user must choose),
// creates the session and answers with tokens.
func (e *Emulator) signInFresh(w http.ResponseWriter, u *emulator.User, org, method string) {
	if org == "" {
		var multi bool
		var err error
		org, multi, err = e.resolveOrg(u.ID, "")
		if err != nil {
			apiError(w, http.StatusBadRequest, "organization_membership_not_found", err.Error(), nil)
			return
		}
		if multi {
			e.orgSelection(w, u, method)
			return
		}
	}
	ss, err := e.srv.Store.CreateSession(emulator.NewSession{UserID: u.ID, OrgID: org, ClientID: e.ClientID, Data: map[string]any{"auth_method": method}})
	if err != nil {
		apiError(w, http.StatusBadRequest, "invalid_credentials", "Invalid credentials.", nil)
		return
	}
	e.respondTokens(w, ss.ID, method)
}

func (e *Emulator) orgSelection(w http.ResponseWriter, u *emulator.User, method string) {
	e.mu.Lock()
	var orgs []map[string]string
	for _, id := range e.memberOrder {
		m := e.members[id]
		if m.userID == u.ID && m.status == "active" {
			orgs = append(orgs, map[string]string{"id": m.orgID, "name": e.orgs[m.orgID].name})
		}
	}
	tok := e.newPendingLocked(&pendingAuth{userID: u.ID, method: method})
	e.mu.Unlock()
	apiError(w, http.StatusForbidden, "organization_selection_required", "The user must choose an organization to finish their authentication.", map[string]any{
		"pending_authentication_token": tok, "organizations": orgs, "user": e.userJSON(u),
	})
}

// respondTokens mints an access token and a refresh token for a live
// session and writes WorkOS's authenticate response.
func (e *Emulator) respondTokens(w http.ResponseWriter, sessionID, method string) {
	resp, err := e.tokenResponse(sessionID, method, "")
	if err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "Invalid refresh token.", nil)
		return
	}
	emulator.WriteJSON(w, http.StatusOK, resp)
}

func (e *Emulator) tokenResponse(sessionID, method, refresh string) (map[string]any, error) {
	ss, u, err := e.srv.Store.LiveSession(sessionID)
	if err != nil {
		return nil, err
	}
	at, err := e.srv.Mint(emulator.MintRequest{SessionID: ss.ID})
	if err != nil {
		return nil, err
	}
	if refresh == "" {
		if refresh, err = e.srv.Store.IssueRefresh(ss.ID); err != nil {
			return nil, err
		}
	}
	e.mu.Lock()
	x := e.extraLocked(u.ID)
	x.lastSignIn = e.Clock.Now()
	imp := x.impersonator
	e.mu.Unlock()
	resp := map[string]any{
		"user": e.userJSON(u), "organization_id": strOrNil(ss.OrgID),
		"access_token": at, "refresh_token": refresh,
		"authentication_method": method,
	}
	if imp != "" {
		resp["impersonator"] = map[string]string{"email": imp, "reason": ""}
		resp["authentication_method"] = "Impersonation"
	}
	return resp, nil
}

func (e *Emulator) grantCode(w http.ResponseWriter, b map[string]string) {
	code := b["code"]
	if code == "" || strings.HasPrefix(code, "\x00") {
		oauthError(w, http.StatusBadRequest, "invalid_request", "code is required.", nil)
		return
	}
	ss, g, err := e.srv.Store.RedeemCode(code, b["code_verifier"], "")
	if err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "The code '"+code+"' has expired or is invalid.", nil)
		return
	}
	if g.Extra["multi"] == "1" {
		u, err := e.srv.Store.User(ss.UserID)
		if err == nil {
			_ = e.srv.Store.EndSession(ss.ID)
			e.orgSelection(w, u, "OAuth")
			return
		}
	}
	e.respondTokens(w, ss.ID, "Password")
}

func (e *Emulator) grantRefresh(w http.ResponseWriter, b map[string]string) {
	rt := b["refresh_token"]
	if rt == "" || strings.HasPrefix(rt, "\x00") {
		oauthError(w, http.StatusBadRequest, "invalid_request", "refresh_token is required.", nil)
		return
	}
	org := b["organization_id"]
	if org != "" {
		ss, err := e.srv.Store.RefreshSession(rt)
		if err != nil {
			oauthError(w, http.StatusBadRequest, "invalid_grant", "Invalid refresh token.", nil)
			return
		}
		if _, _, err := e.resolveOrg(ss.UserID, org); err != nil {
			apiError(w, http.StatusBadRequest, "organization_membership_not_found", "The user is not an active member of the organization.", nil)
			return
		}
	}
	next, ss, err := e.srv.Store.RotateRefresh(rt)
	if err != nil {
		desc := "Invalid refresh token."
		if errors.Is(err, emulator.ErrExpired) {
			desc = "Refresh token has expired."
		}
		oauthError(w, http.StatusBadRequest, "invalid_grant", desc, nil)
		return
	}
	if org != "" && org != ss.OrgID {
		if _, err := e.srv.Store.UpdateSession(ss.ID, func(s *emulator.Session) error { s.OrgID = org; return nil }); err != nil {
			oauthError(w, http.StatusBadRequest, "invalid_grant", "Invalid refresh token.", nil)
			return
		}
	}
	method, _ := ss.Data["auth_method"].(string)
	if method == "" {
		method = "Password"
	}
	resp, err := e.tokenResponse(ss.ID, method, next)
	if err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "Invalid refresh token.", nil)
		return
	}
	emulator.WriteJSON(w, http.StatusOK, resp)
}

func (e *Emulator) grantEmailVerification(w http.ResponseWriter, b map[string]string) {
	tok, code := b["pending_authentication_token"], b["code"]
	if tok == "" || code == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "code and pending_authentication_token are required.", nil)
		return
	}
	p := e.pendingFor(tok)
	if p == nil {
		apiError(w, http.StatusBadRequest, "invalid_pending_authentication_token", "Invalid pending authentication token", nil)
		return
	}
	e.mu.Lock()
	v := e.verifications[p.verificationID]
	okCode := v != nil && e.Clock.Now().Before(v.expires) && constantEqual(v.code, code)
	if okCode {
		delete(e.verifications, v.id)
		delete(e.pending, tok)
	}
	e.mu.Unlock()
	if !okCode {
		apiError(w, http.StatusBadRequest, "invalid_code", "Invalid code", nil)
		return
	}
	u, err := e.srv.Store.UpdateUser(p.userID, func(u *emulator.User) { u.EmailVerified = true })
	if err != nil {
		apiError(w, http.StatusBadRequest, "invalid_pending_authentication_token", "Invalid pending authentication token", nil)
		return
	}
	e.signInFresh(w, u, p.orgID, "Password")
}

func (e *Emulator) grantOrgSelection(w http.ResponseWriter, b map[string]string) {
	tok, org := b["pending_authentication_token"], b["organization_id"]
	if tok == "" || org == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "pending_authentication_token and organization_id are required.", nil)
		return
	}
	p := e.pendingFor(tok)
	if p == nil {
		apiError(w, http.StatusBadRequest, "invalid_pending_authentication_token", "Invalid pending authentication token", nil)
		return
	}
	if _, _, err := e.resolveOrg(p.userID, org); err != nil {
		apiError(w, http.StatusBadRequest, "organization_membership_not_found", "The user is not an active member of the selected organization", nil)
		return
	}
	e.mu.Lock()
	delete(e.pending, tok)
	e.mu.Unlock()
	u, err := e.srv.Store.User(p.userID)
	if err != nil {
		apiError(w, http.StatusBadRequest, "invalid_pending_authentication_token", "Invalid pending authentication token", nil)
		return
	}
	e.signInFresh(w, u, org, "Password")
}

// defaultClaims are the WorkOS claims of an access token for a user and
// session (the core adds sub, sid, iat, exp).
func (e *Emulator) defaultClaims(u *emulator.User, s *emulator.Session) map[string]any {
	c := map[string]any{"iss": e.Issuer, "jti": e.ulid(), "client_id": e.ClientID}
	if e.Audience != "" {
		c["aud"] = e.Audience
	}
	if u == nil {
		return c
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	x := e.extraLocked(u.ID)
	if x.impersonator != "" {
		c["act"] = map[string]string{"sub": x.impersonator}
	}
	if len(x.featureFlags) > 0 {
		c["feature_flags"] = slices.Clone(x.featureFlags)
	}
	if s == nil || s.OrgID == "" {
		return c
	}
	c["org_id"] = s.OrgID
	for _, id := range e.memberOrder {
		m := e.members[id]
		if m.userID == u.ID && m.orgID == s.OrgID && m.status == "active" {
			c["role"] = m.role
			c["roles"] = []string{m.role}
			c["permissions"] = append([]string{}, e.roles[m.role]...)
			break
		}
	}
	if o := e.orgs[s.OrgID]; o != nil && len(o.entitlements) > 0 {
		c["entitlements"] = slices.Clone(o.entitlements)
	}
	return c
}

// controlSignIn answers the core's POST /__authport/sign-in with WorkOS's
// authenticate response (no step-up checks).
func (e *Emulator) controlSignIn(u *emulator.User) (any, error) {
	org, _, err := e.resolveOrg(u.ID, "")
	if err != nil {
		return nil, err
	}
	ss, err := e.srv.Store.CreateSession(emulator.NewSession{UserID: u.ID, OrgID: org, ClientID: e.ClientID})
	if err != nil {
		return nil, err
	}
	return e.tokenResponse(ss.ID, "Password", "")
}

// --- management API ------------------------------------------------------

func (e *Emulator) handleRevoke(w http.ResponseWriter, r *http.Request) {
	var in struct {
		SessionID string `json:"session_id"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, emulator.MaxRequestBody)).Decode(&in); err != nil {
		apiError(w, http.StatusBadRequest, "invalid_request_body", "Problems parsing JSON", nil)
		return
	}
	if in.SessionID == "" {
		apiError(w, http.StatusBadRequest, "invalid_request", "session_id is required", nil)
		return
	}
	ss, err := e.srv.Store.Session(in.SessionID)
	if err != nil || !ss.Status.Live() {
		apiError(w, http.StatusNotFound, "not_found", "Session not found", nil)
		return
	}
	if err := e.srv.Store.RevokeSession(in.SessionID); err != nil {
		apiError(w, http.StatusNotFound, "not_found", "Session not found", nil)
		return
	}
	emulator.WriteJSON(w, http.StatusOK, map[string]bool{"success": true})
}

func (e *Emulator) handleCreateUser(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Email         string            `json:"email"`
		Password      string            `json:"password"`
		PasswordHash  string            `json:"password_hash"`
		HashType      string            `json:"password_hash_type"`
		FirstName     string            `json:"first_name"`
		LastName      string            `json:"last_name"`
		EmailVerified bool              `json:"email_verified"`
		ExternalID    string            `json:"external_id"`
		Metadata      map[string]string `json:"metadata"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, emulator.MaxRequestBody)).Decode(&in); err != nil {
		apiError(w, http.StatusBadRequest, "invalid_request_body", "Problems parsing JSON", nil)
		return
	}
	if in.Email == "" || !strings.Contains(in.Email, "@") {
		apiError(w, http.StatusUnprocessableEntity, "invalid_request_parameters", "Validation failed", map[string]any{
			"errors": []map[string]string{{"field": "email", "code": "email_string_invalid"}},
		})
		return
	}
	if in.PasswordHash != "" {
		apiError(w, http.StatusUnprocessableEntity, "invalid_request_parameters", "Password hashes are not emulated", map[string]any{
			"errors": []map[string]string{{"field": "password_hash", "code": "unsupported"}},
		})
		return
	}
	id, err := e.CreateUser(NewUser{
		Email: in.Email, Password: in.Password, FirstName: in.FirstName, LastName: in.LastName,
		Unverified: !in.EmailVerified, ExternalID: in.ExternalID, Metadata: in.Metadata,
	})
	switch {
	case errors.Is(err, emulator.ErrConflict):
		apiError(w, http.StatusConflict, "user_already_exists", "A user with this email already exists", nil)
		return
	case err != nil:
		apiError(w, http.StatusUnprocessableEntity, "invalid_request_parameters", "Validation failed", nil)
		return
	}
	u, _ := e.srv.Store.User(id)
	emulator.WriteJSON(w, http.StatusCreated, e.userJSON(u))
}

func (e *Emulator) handleGetUser(w http.ResponseWriter, r *http.Request) {
	u, err := e.srv.Store.User(r.PathValue("id"))
	if err != nil {
		apiError(w, http.StatusNotFound, "not_found", "User not found", nil)
		return
	}
	emulator.WriteJSON(w, http.StatusOK, e.userJSON(u))
}

func (e *Emulator) handleListUsers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	email, org := strings.ToLower(q.Get("email")), q.Get("organization_id")
	var inOrg map[string]bool
	if org != "" {
		inOrg = map[string]bool{}
		e.mu.Lock()
		for _, m := range e.members {
			if m.orgID == org {
				inOrg[m.userID] = true
			}
		}
		e.mu.Unlock()
	}
	byID := map[string]*emulator.User{}
	var ids []string
	for _, u := range e.srv.Store.Users() {
		if email != "" && strings.ToLower(u.Email) != email || inOrg != nil && !inOrg[u.ID] {
			continue
		}
		byID[u.ID] = u
		ids = append(ids, u.ID)
	}
	sel, before, after, ok := page(ids, q)
	if !ok {
		apiError(w, http.StatusUnprocessableEntity, "invalid_request_parameters", "Validation failed", nil)
		return
	}
	data := make([]map[string]any, 0, len(sel))
	for _, id := range sel {
		data = append(data, e.userJSON(byID[id]))
	}
	emulator.WriteJSON(w, http.StatusOK, listJSON(data, before, after))
}

func (e *Emulator) handleCreateOrg(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name       string            `json:"name"`
		ExternalID string            `json:"external_id"`
		Metadata   map[string]string `json:"metadata"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, emulator.MaxRequestBody))
	if err := dec.Decode(&in); err != nil {
		apiError(w, http.StatusBadRequest, "invalid_request_body", "Problems parsing JSON", nil)
		return
	}
	if in.Name == "" {
		apiError(w, http.StatusUnprocessableEntity, "invalid_request_parameters", "Validation failed", map[string]any{
			"errors": []map[string]string{{"field": "name", "code": "required"}},
		})
		return
	}
	id, _ := e.CreateOrganization(in.Name)
	e.mu.Lock()
	o := e.orgs[id]
	o.externalID, o.metadata = in.ExternalID, maps.Clone(in.Metadata)
	out := e.orgJSONLocked(o)
	e.mu.Unlock()
	emulator.WriteJSON(w, http.StatusCreated, out)
}

func (e *Emulator) handleGetOrg(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	o := e.orgs[r.PathValue("id")]
	var out map[string]any
	if o != nil {
		out = e.orgJSONLocked(o)
	}
	e.mu.Unlock()
	if o == nil {
		apiError(w, http.StatusNotFound, "not_found", "Organization not found", nil)
		return
	}
	emulator.WriteJSON(w, http.StatusOK, out)
}

func (e *Emulator) handleCreateMembership(w http.ResponseWriter, r *http.Request) {
	var in struct {
		UserID         string `json:"user_id"`
		OrganizationID string `json:"organization_id"`
		RoleSlug       string `json:"role_slug"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, emulator.MaxRequestBody)).Decode(&in); err != nil {
		apiError(w, http.StatusBadRequest, "invalid_request_body", "Problems parsing JSON", nil)
		return
	}
	for _, f := range []struct{ name, v string }{{"user_id", in.UserID}, {"organization_id", in.OrganizationID}} {
		if f.v == "" {
			apiError(w, http.StatusUnprocessableEntity, "invalid_request_parameters", f.name+" is required", map[string]any{
				"errors": []map[string]string{{"field": f.name, "code": "required"}},
			})
			return
		}
	}
	if _, err := e.srv.Store.User(in.UserID); err != nil {
		apiError(w, http.StatusNotFound, "not_found", "User not found", nil)
		return
	}
	e.mu.Lock()
	m, err := e.addMembershipLocked(in.UserID, in.OrganizationID, in.RoleSlug)
	var c membership
	if m != nil {
		c = *m
	}
	e.mu.Unlock()
	switch {
	case errors.Is(err, emulator.ErrNotFound):
		apiError(w, http.StatusNotFound, "not_found", "Organization not found", nil)
		return
	case errors.Is(err, errMembershipExists):
		apiError(w, http.StatusConflict, "conflict", "Membership already exists", nil)
		return
	case err != nil:
		apiError(w, http.StatusUnprocessableEntity, "invalid_request_parameters", "Validation failed", nil)
		return
	}
	emulator.WriteJSON(w, http.StatusCreated, e.membershipJSON(c))
}

func (e *Emulator) handleGetMembership(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	m := e.members[r.PathValue("id")]
	var c membership
	if m != nil {
		c = *m
	}
	e.mu.Unlock()
	if m == nil {
		apiError(w, http.StatusNotFound, "not_found", "Organization Membership not found", nil)
		return
	}
	emulator.WriteJSON(w, http.StatusOK, e.membershipJSON(c))
}

func (e *Emulator) handleListMemberships(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	user, org := q.Get("user_id"), q.Get("organization_id")
	statuses := append(q["statuses"], q["statuses[]"]...)
	e.mu.Lock()
	byID := map[string]membership{}
	var ids []string
	for _, id := range e.memberOrder {
		m := e.members[id]
		if user != "" && m.userID != user || org != "" && m.orgID != org || len(statuses) > 0 && !slices.Contains(statuses, m.status) {
			continue
		}
		byID[id] = *m
		ids = append(ids, id)
	}
	e.mu.Unlock()
	sel, before, after, ok := page(ids, q)
	if !ok {
		apiError(w, http.StatusUnprocessableEntity, "invalid_request_parameters", "Validation failed", nil)
		return
	}
	data := make([]map[string]any, 0, len(sel))
	for _, id := range sel {
		data = append(data, e.membershipJSON(byID[id]))
	}
	emulator.WriteJSON(w, http.StatusOK, listJSON(data, before, after))
}

func (e *Emulator) handleGetVerification(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	v := e.verifications[r.PathValue("id")]
	var out map[string]any
	if v != nil {
		out = map[string]any{
			"object": "email_verification", "id": v.id, "user_id": v.userID, "email": v.email,
			"expires_at": ts(v.expires), "code": v.code, "created_at": ts(v.created), "updated_at": ts(v.created),
		}
	}
	e.mu.Unlock()
	if v == nil {
		apiError(w, http.StatusNotFound, "not_found", "Email Verification not found", nil)
		return
	}
	emulator.WriteJSON(w, http.StatusOK, out)
}
