package clerktest

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/authport/authport/internal/emulator"
)

func (s *Server) routes() {
	m := s.emu.Mux
	keys := s.emu.Keys.JWKSHandler(false, 0)
	s.emu.HandleKeys("GET /v1/jwks", s.bapi(keys.ServeHTTP))
	s.emu.HandleKeys("GET /.well-known/jwks.json", keys)

	m.HandleFunc("POST /v1/sessions", s.bapi(s.createSession))
	m.HandleFunc("GET /v1/sessions", s.bapi(s.listSessions))
	m.HandleFunc("GET /v1/sessions/{id}", s.bapi(s.getSession))
	m.HandleFunc("POST /v1/sessions/{id}/revoke", s.bapi(s.revokeSession))
	m.HandleFunc("POST /v1/sessions/{id}/tokens", s.bapi(s.createToken))
	m.HandleFunc("POST /v1/sessions/{id}/tokens/{template}", s.bapi(s.createToken))
	m.HandleFunc("POST /v1/users", s.bapi(s.createUser))
	m.HandleFunc("GET /v1/users", s.bapi(s.listUsers))
	m.HandleFunc("GET /v1/users/count", s.bapi(s.countUsers))
	m.HandleFunc("GET /v1/users/{id}", s.bapi(s.getUser))
	m.HandleFunc("POST /v1/users/{id}/verify_password", s.bapi(s.verifyPassword))
	m.HandleFunc("GET /v1/users/{id}/organization_memberships", s.bapi(s.userMemberships))
	m.HandleFunc("POST /v1/organizations", s.bapi(s.createOrganization))
	m.HandleFunc("GET /v1/organizations/{id}", s.bapi(s.getOrganization))
	m.HandleFunc("POST /v1/organizations/{id}/memberships", s.bapi(s.createMembership))
	m.HandleFunc("/v1/", s.bapi(func(w http.ResponseWriter, r *http.Request) {
		clerkError(w, http.StatusNotFound, "resource_not_found", "not found", "The requested resource was not found.")
	}))

	for _, p := range []string{"/sign-in", "/sign-up"} {
		m.HandleFunc(p, s.hostedSignIn)
	}
}

// clerkError writes Clerk's error body.
func clerkError(w http.ResponseWriter, status int, code, msg, long string) {
	trace := emulator.RandomHex(16)
	w.Header().Set("Clerk-Trace-Id", trace)
	emulator.WriteJSON(w, status, map[string]any{
		"errors":         []map[string]any{{"message": msg, "long_message": long, "code": code, "meta": map[string]any{}}},
		"clerk_trace_id": trace,
	})
}

// rateLimited is Clerk's answer past a rate limit: 429 with Retry-After
// and the too_many_requests error.
func rateLimited(w http.ResponseWriter, r *http.Request, wait time.Duration) {
	w.Header().Set("Retry-After", emulator.RetryAfterSeconds(wait))
	clerkError(w, http.StatusTooManyRequests, "too_many_requests", "Too many requests", "Too many requests, retry later")
}

func notFound(w http.ResponseWriter) {
	clerkError(w, http.StatusNotFound, "resource_not_found", "not found", "The requested resource was not found.")
}

func invalidParam(w http.ResponseWriter, param, long string) {
	clerkError(w, http.StatusUnprocessableEntity, "form_param_value_invalid", "is invalid", long+" ("+param+")")
}

// storeError maps a core-store error to Clerk's wire error.
func storeError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, emulator.ErrNotFound):
		notFound(w)
	case errors.Is(err, emulator.ErrConflict):
		clerkError(w, http.StatusUnprocessableEntity, "form_identifier_exists", "That email address is taken. Please try another.", "That email address is taken. Please try another.")
	case errors.Is(err, emulator.ErrDisabled):
		clerkError(w, http.StatusForbidden, "user_banned", "user is banned", "The user is banned.")
	case errors.Is(err, emulator.ErrInactive):
		notFound(w)
	default:
		invalidParam(w, "request", "The request is invalid.")
	}
}

// bapi guards a Backend API route: "Authorization: Bearer <secret key>",
// as Clerk requires on every /v1 route.
func (s *Server) bapi(h http.HandlerFunc) http.HandlerFunc {
	want := []byte("Bearer " + s.SecretKey)
	return func(w http.ResponseWriter, r *http.Request) {
		got := r.Header.Get("Authorization")
		if !strings.HasPrefix(got, "Bearer sk_") {
			clerkError(w, http.StatusUnauthorized, "authentication_invalid", "Unauthenticated",
				"The request was unauthenticated. Please make sure you are passing a valid Clerk Secret Key in the Authorization header.")
			return
		}
		if subtle.ConstantTimeCompare([]byte(got), want) != 1 {
			clerkError(w, http.StatusUnauthorized, "clerk_key_invalid",
				"The provided Clerk Secret Key is invalid. Make sure that your Clerk Secret Key is correct.",
				"The provided Clerk Secret Key is invalid. Make sure that your Clerk Secret Key is correct.")
			return
		}
		h(w, r)
	}
}

// readBody decodes an optional JSON body: empty and "null" (what the SDK
// sends for calls without parameters) mean no parameters.
func readBody(r *http.Request, v any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, emulator.MaxRequestBody))
	if err != nil {
		return err
	}
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	return json.Unmarshal(b, v)
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// sessionJSON renders a session as the Backend API does.
func (s *Server) sessionJSON(ss *emulator.Session) map[string]any {
	var org any
	if ss.OrgID != "" {
		org = ss.OrgID
	}
	s.mu.Lock()
	var act any
	if a := s.actors[ss.ID]; a != nil {
		act = cloneAny(a)
	}
	s.mu.Unlock()
	out := map[string]any{
		"object": "session", "id": ss.ID, "user_id": ss.UserID, "client_id": ss.ClientID,
		"status": s.status(ss), "last_active_organization_id": org, "actor": act,
		"last_active_at": ms(ss.UpdatedAt), "expire_at": ms(ss.ExpiresAt),
		"abandon_at": ms(ss.CreatedAt.Add(30 * 24 * time.Hour)),
		"created_at": ms(ss.CreatedAt), "updated_at": ms(ss.UpdatedAt),
	}
	if ss.Status == emulator.StatusPending {
		out["tasks"] = []map[string]any{{"key": "choose-organization"}}
	}
	return out
}

func (s *Server) createSession(w http.ResponseWriter, r *http.Request) {
	if s.opts.Production {
		// "This operation is intended only for use in testing, and is
		// not available for production instances."
		clerkError(w, http.StatusBadRequest, "bad_request", "not available on production instances",
			"Creating a session from the Backend API is only available on development instances; sign users in through Clerk's frontend, or use sign-in tokens.")
		return
	}
	var in struct {
		UserID               string `json:"user_id"`
		ActiveOrganizationID string `json:"active_organization_id"`
	}
	if err := readBody(r, &in); err != nil {
		invalidParam(w, "body", "The request body is not valid JSON.")
		return
	}
	if in.UserID == "" {
		clerkError(w, http.StatusUnprocessableEntity, "form_param_missing", "is missing", "user_id must be included.")
		return
	}
	sid, err := s.CreateSession(in.UserID, SessionOptions{ActiveOrganization: in.ActiveOrganizationID})
	switch {
	case errors.Is(err, errNotMember):
		invalidParam(w, "active_organization_id", "The user is not a member of this organization.")
		return
	case err != nil:
		storeError(w, err)
		return
	}
	ss, _ := s.emu.Store.Session(sid)
	emulator.WriteJSON(w, http.StatusOK, s.sessionJSON(ss))
}

// page reads limit (default 10, 1..500) and offset.
func page(r *http.Request) (limit, offset int, ok bool) {
	limit, offset = 10, 0
	q := r.URL.Query()
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			return 0, 0, false
		}
		limit = n
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, 0, false
		}
		offset = n
	}
	return limit, offset, true
}

func window[T any](all []T, limit, offset int) []T {
	if offset >= len(all) {
		return []T{}
	}
	return all[offset:min(len(all), offset+limit)]
}

func (s *Server) listSessions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, offset, ok := page(r)
	if !ok {
		invalidParam(w, "limit", "limit must be between 1 and 500 and offset not negative.")
		return
	}
	userID, clientID, status := q.Get("user_id"), q.Get("client_id"), q.Get("status")
	if userID == "" && clientID == "" {
		clerkError(w, http.StatusUnprocessableEntity, "form_param_missing", "is missing", "Either user_id or client_id must be included.")
		return
	}
	var users []string
	if userID != "" {
		users = []string{userID}
	} else {
		for _, u := range s.emu.Store.Users() {
			users = append(users, u.ID)
		}
	}
	var all []map[string]any
	for _, uid := range users {
		ss := s.emu.Store.Sessions(uid)
		for i := len(ss) - 1; i >= 0; i-- { // newest first
			x := ss[i]
			if clientID != "" && x.ClientID != clientID {
				continue
			}
			if status != "" && s.status(x) != status {
				continue
			}
			all = append(all, s.sessionJSON(x))
		}
	}
	data := window(all, limit, offset)
	if q.Get("paginated") == "true" {
		emulator.WriteJSON(w, http.StatusOK, map[string]any{"data": data, "total_count": len(all)})
		return
	}
	emulator.WriteJSON(w, http.StatusOK, data)
}

func (s *Server) getSession(w http.ResponseWriter, r *http.Request) {
	ss, err := s.emu.Store.Session(r.PathValue("id"))
	if err != nil {
		notFound(w)
		return
	}
	emulator.WriteJSON(w, http.StatusOK, s.sessionJSON(ss))
}

func (s *Server) revokeSession(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := s.emu.Store.RevokeSession(id); err != nil {
		notFound(w)
		return
	}
	ss, _ := s.emu.Store.Session(id)
	emulator.WriteJSON(w, http.StatusOK, s.sessionJSON(ss))
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ExpiresInSeconds *int64 `json:"expires_in_seconds"`
	}
	if err := readBody(r, &in); err != nil {
		invalidParam(w, "body", "The request body is not valid JSON.")
		return
	}
	var ttl time.Duration
	if in.ExpiresInSeconds != nil {
		if n := *in.ExpiresInSeconds; n < 30 || n > 315360000 {
			invalidParam(w, "expires_in_seconds", "expires_in_seconds must be between 30 and 315360000.")
			return
		}
		ttl = time.Duration(*in.ExpiresInSeconds) * time.Second
	}
	sid := r.PathValue("id")
	ss, u, err := s.emu.Store.LiveSession(sid)
	if err != nil {
		notFound(w)
		return
	}
	req := emulator.MintRequest{SessionID: ss.ID, ExpiresIn: ttl}
	if name := r.PathValue("template"); name != "" {
		t, ok := s.opts.JWTTemplates[name]
		if !ok {
			notFound(w)
			return
		}
		if ttl == 0 {
			ttl = t.Lifetime
			if ttl <= 0 {
				ttl = TokenLifetime
			}
			req.ExpiresIn = ttl
		}
		req.Defaults = func(*emulator.User, *emulator.Session) map[string]any { return s.templateClaims(t, u, ss) }
		req.Claims = map[string]any{"sid": nil} // templates carry no session id
	}
	tok, err := s.emu.Mint(req)
	if err != nil {
		storeError(w, err)
		return
	}
	emulator.WriteJSON(w, http.StatusOK, map[string]any{"object": "token", "jwt": tok})
}

// userJSON renders a user as the Backend API does.
func (s *Server) userJSON(u *emulator.User) map[string]any {
	md := func(k string) any {
		if v, ok := u.Metadata[k].(map[string]any); ok {
			return v
		}
		return map[string]any{}
	}
	str := func(k string) any {
		if v := mdString(u, k); v != "" {
			return v
		}
		return nil
	}
	emailID := mdString(u, mdEmailID)
	if emailID == "" { // a user made through the control API
		emailID = "idn_" + strings.TrimPrefix(u.ID, "user_")
	}
	status := "verified"
	if !u.EmailVerified {
		status = "unverified"
	}
	var lastSignIn any
	if v, ok := u.Metadata[mdLastLogin]; ok {
		lastSignIn = v
	}
	return map[string]any{
		"object": "user", "id": u.ID, "username": nil,
		"first_name": str(mdFirst), "last_name": str(mdLast), "image_url": "", "has_image": false,
		"primary_email_address_id": emailID, "primary_phone_number_id": nil, "primary_web3_wallet_id": nil,
		"password_enabled": !u.PasswordChangedAt.IsZero(), "two_factor_enabled": false, "totp_enabled": false,
		"backup_code_enabled": false,
		"email_addresses": []map[string]any{{
			"object": "email_address", "id": emailID, "email_address": u.Email, "reserved": false,
			"verification": map[string]any{"status": status, "strategy": "admin", "attempts": nil, "expire_at": nil},
			"linked_to":    []any{}, "created_at": ms(u.CreatedAt), "updated_at": ms(u.CreatedAt),
		}},
		"phone_numbers": []any{}, "web3_wallets": []any{}, "passkeys": []any{}, "external_accounts": []any{},
		"saml_accounts": []any{}, "enterprise_accounts": []any{},
		"public_metadata": md(mdPublic), "private_metadata": md(mdPrivate), "unsafe_metadata": md(mdUnsafe),
		"external_id": str(mdExternal), "last_sign_in_at": lastSignIn, "banned": u.Disabled, "locked": false,
		"lockout_expires_in_seconds": nil, "verification_attempts_remaining": 100,
		"delete_self_enabled": true, "create_organization_enabled": true, "last_active_at": lastSignIn,
		"legal_accepted_at": nil, "created_at": ms(u.CreatedAt), "updated_at": ms(u.CreatedAt),
	}
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) {
	var in struct {
		EmailAddresses          []string       `json:"email_address"`
		Password                *string        `json:"password"`
		FirstName               string         `json:"first_name"`
		LastName                string         `json:"last_name"`
		ExternalID              string         `json:"external_id"`
		PublicMetadata          map[string]any `json:"public_metadata"`
		PrivateMetadata         map[string]any `json:"private_metadata"`
		UnsafeMetadata          map[string]any `json:"unsafe_metadata"`
		SkipPasswordChecks      bool           `json:"skip_password_checks"`
		SkipPasswordRequirement bool           `json:"skip_password_requirement"`
	}
	if err := readBody(r, &in); err != nil {
		invalidParam(w, "body", "The request body is not valid JSON.")
		return
	}
	if len(in.EmailAddresses) == 0 || !strings.Contains(in.EmailAddresses[0], "@") {
		clerkError(w, http.StatusUnprocessableEntity, "form_data_missing", "missing data",
			"This instance signs users in by email address: email_address is required.")
		return
	}
	pw := ""
	if in.Password != nil {
		pw = *in.Password
		if len(pw) < 8 && !in.SkipPasswordChecks {
			clerkError(w, http.StatusUnprocessableEntity, "form_password_length_too_short",
				"Passwords must be 8 characters or more.", "Passwords must be 8 characters or more.")
			return
		}
	} else if !in.SkipPasswordRequirement {
		clerkError(w, http.StatusUnprocessableEntity, "form_password_missing", "is missing", "password must be included.")
		return
	}
	u, err := s.CreateUser(NewUser{
		Email: in.EmailAddresses[0], Password: pw, FirstName: in.FirstName, LastName: in.LastName,
		ExternalID: in.ExternalID, PublicMetadata: in.PublicMetadata, PrivateMetadata: in.PrivateMetadata,
		UnsafeMetadata: in.UnsafeMetadata,
	})
	if err != nil {
		storeError(w, err)
		return
	}
	stored, _ := s.emu.Store.User(u.ID)
	emulator.WriteJSON(w, http.StatusOK, s.userJSON(stored))
}

// filterUsers applies GET /v1/users' filters, newest first.
func (s *Server) filterUsers(r *http.Request) []*emulator.User {
	q := r.URL.Query()
	emails, ids, ext := q["email_address"], q["user_id"], q["external_id"]
	query := strings.ToLower(q.Get("query"))
	all := s.emu.Store.Users()
	slices.Reverse(all)
	var out []*emulator.User
	for _, u := range all {
		if len(emails) > 0 && !slices.ContainsFunc(emails, func(e string) bool { return strings.EqualFold(e, u.Email) }) {
			continue
		}
		if len(ids) > 0 && !slices.Contains(ids, u.ID) {
			continue
		}
		if len(ext) > 0 && !slices.Contains(ext, mdString(u, mdExternal)) {
			continue
		}
		if query != "" && !strings.Contains(strings.ToLower(u.ID+" "+u.Email+" "+mdString(u, mdFirst)+" "+mdString(u, mdLast)), query) {
			continue
		}
		out = append(out, u)
	}
	return out
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) {
	limit, offset, ok := page(r)
	if !ok {
		invalidParam(w, "limit", "limit must be between 1 and 500 and offset not negative.")
		return
	}
	var out []map[string]any
	for _, u := range window(s.filterUsers(r), limit, offset) {
		out = append(out, s.userJSON(u))
	}
	if out == nil {
		out = []map[string]any{}
	}
	emulator.WriteJSON(w, http.StatusOK, out)
}

func (s *Server) countUsers(w http.ResponseWriter, r *http.Request) {
	emulator.WriteJSON(w, http.StatusOK, map[string]any{"object": "total_count", "total_count": len(s.filterUsers(r))})
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) {
	u, err := s.emu.Store.User(r.PathValue("id"))
	if err != nil {
		notFound(w)
		return
	}
	emulator.WriteJSON(w, http.StatusOK, s.userJSON(u))
}

func (s *Server) verifyPassword(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Password string `json:"password"`
	}
	if err := readBody(r, &in); err != nil {
		invalidParam(w, "body", "The request body is not valid JSON.")
		return
	}
	u, err := s.emu.Store.User(r.PathValue("id"))
	if err != nil {
		notFound(w)
		return
	}
	if u.PasswordChangedAt.IsZero() {
		clerkError(w, http.StatusBadRequest, "no_password_set", "no password set", "The user does not have a password set.")
		return
	}
	got, err := s.emu.Store.CheckPassword(u.Email, in.Password)
	if err != nil || got.ID != u.ID {
		clerkError(w, http.StatusUnprocessableEntity, "form_password_incorrect", "Password is incorrect. Try again, or use another method.",
			"Password is incorrect. Try again, or use another method.")
		return
	}
	emulator.WriteJSON(w, http.StatusOK, map[string]any{"verified": true})
}

func (s *Server) orgJSON(o *org) map[string]any {
	var createdBy any
	if o.CreatedBy != "" {
		createdBy = o.CreatedBy
	}
	return map[string]any{
		"object": "organization", "id": o.ID, "name": o.Name, "slug": o.Slug, "image_url": "", "has_image": false,
		"max_allowed_memberships": o.MaxMemberships, "admin_delete_enabled": true,
		"public_metadata": o.PublicMetadata, "private_metadata": o.PrivateMetadata, "created_by": createdBy,
		"created_at": ms(o.CreatedAt), "updated_at": ms(o.UpdatedAt),
	}
}

// membershipJSON renders a membership; the caller holds no lock.
func (s *Server) membershipJSON(o *org, userID string, m *membership) map[string]any {
	s.mu.Lock()
	perms := append([]string{}, s.roles[m.Role]...)
	oj := s.orgJSON(o)
	s.mu.Unlock()
	pud := map[string]any{"user_id": userID, "first_name": nil, "last_name": nil, "image_url": "", "has_image": false, "identifier": ""}
	if u, err := s.emu.Store.User(userID); err == nil {
		pud["identifier"] = u.Email
		if v := mdString(u, mdFirst); v != "" {
			pud["first_name"] = v
		}
		if v := mdString(u, mdLast); v != "" {
			pud["last_name"] = v
		}
	}
	return map[string]any{
		"object": "organization_membership", "id": m.ID, "role": m.Role, "role_name": roleName(m.Role),
		"permissions": perms, "public_metadata": map[string]any{}, "private_metadata": map[string]any{},
		"organization": oj, "public_user_data": pud, "created_at": ms(m.CreatedAt), "updated_at": ms(m.UpdatedAt),
	}
}

func roleName(key string) string {
	n := strings.TrimPrefix(key, "org:")
	n = strings.ReplaceAll(n, "_", " ")
	if n == "" {
		return key
	}
	return strings.ToUpper(n[:1]) + n[1:]
}

func (s *Server) userMemberships(w http.ResponseWriter, r *http.Request) {
	uid := r.PathValue("id")
	if _, err := s.emu.Store.User(uid); err != nil {
		notFound(w)
		return
	}
	limit, offset, ok := page(r)
	if !ok {
		invalidParam(w, "limit", "limit must be between 1 and 500 and offset not negative.")
		return
	}
	type pair struct {
		o *org
		m *membership
	}
	var mine []pair
	s.mu.Lock()
	for i := len(s.orgOrder) - 1; i >= 0; i-- {
		id := s.orgOrder[i]
		if m := s.members[id][uid]; m != nil {
			mine = append(mine, pair{s.orgs[id], m})
		}
	}
	s.mu.Unlock()
	data := []map[string]any{}
	for _, p := range window(mine, limit, offset) {
		data = append(data, s.membershipJSON(p.o, uid, p.m))
	}
	emulator.WriteJSON(w, http.StatusOK, map[string]any{"data": data, "total_count": len(mine)})
}

func (s *Server) createOrganization(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name            string         `json:"name"`
		Slug            string         `json:"slug"`
		CreatedBy       string         `json:"created_by"`
		PublicMetadata  map[string]any `json:"public_metadata"`
		PrivateMetadata map[string]any `json:"private_metadata"`
		MaxMemberships  *int64         `json:"max_allowed_memberships"`
	}
	if err := readBody(r, &in); err != nil {
		invalidParam(w, "body", "The request body is not valid JSON.")
		return
	}
	if strings.TrimSpace(in.Name) == "" {
		clerkError(w, http.StatusUnprocessableEntity, "form_param_missing", "is missing", "name must be included.")
		return
	}
	o, err := s.createOrg(in.Name, in.Slug, in.CreatedBy, in.PublicMetadata, in.PrivateMetadata)
	switch {
	case errors.Is(err, errSlugTaken):
		clerkError(w, http.StatusUnprocessableEntity, "form_identifier_exists", "That slug is taken. Please try another.", "That slug is taken. Please try another.")
		return
	case err != nil:
		storeError(w, err)
		return
	}
	s.mu.Lock()
	if in.MaxMemberships != nil {
		o.MaxMemberships = *in.MaxMemberships
	}
	out := s.orgJSON(o)
	s.mu.Unlock()
	emulator.WriteJSON(w, http.StatusOK, out)
}

// findOrg looks an organisation up by id or slug.
func (s *Server) findOrg(idOrSlug string) *org {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o := s.orgs[idOrSlug]; o != nil {
		return o
	}
	for _, o := range s.orgs {
		if o.Slug == idOrSlug {
			return o
		}
	}
	return nil
}

func (s *Server) getOrganization(w http.ResponseWriter, r *http.Request) {
	o := s.findOrg(r.PathValue("id"))
	if o == nil {
		notFound(w)
		return
	}
	s.mu.Lock()
	out := s.orgJSON(o)
	s.mu.Unlock()
	emulator.WriteJSON(w, http.StatusOK, out)
}

func (s *Server) createMembership(w http.ResponseWriter, r *http.Request) {
	var in struct {
		UserID string `json:"user_id"`
		Role   string `json:"role"`
	}
	if err := readBody(r, &in); err != nil {
		invalidParam(w, "body", "The request body is not valid JSON.")
		return
	}
	o := s.findOrg(r.PathValue("id"))
	if o == nil {
		notFound(w)
		return
	}
	if in.UserID == "" || in.Role == "" {
		clerkError(w, http.StatusUnprocessableEntity, "form_param_missing", "is missing", "user_id and role must be included.")
		return
	}
	m, err := s.addMembership(o.ID, in.UserID, in.Role)
	switch {
	case errors.Is(err, errUnknownRole):
		invalidParam(w, "role", "The role does not exist in this instance.")
		return
	case errors.Is(err, errAlreadyMember):
		clerkError(w, http.StatusBadRequest, "already_a_member_in_organization", "already a member", "The user is already a member of the organization.")
		return
	case err != nil:
		storeError(w, err)
		return
	}
	emulator.WriteJSON(w, http.StatusOK, s.membershipJSON(o, in.UserID, m))
}
