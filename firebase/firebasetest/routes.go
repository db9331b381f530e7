package firebasetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/authport/authport/firebase"
	"github.com/authport/authport/internal/emulator"
)

func (e *Emulator) routes() {
	e.HandleKeys(RouteIDTokenCerts, e.Keys.X509MapHandler(e.o.KeysMaxAge))
	e.HandleKeys(RouteSessionCookieCerts, e.CookieKeys.X509MapHandler(e.o.KeysMaxAge))
	e.Mux.HandleFunc(RouteIdentityToolkit, e.identityToolkit)
	e.Mux.HandleFunc("POST identitytoolkit.googleapis.com/v1/", e.identityToolkit)
	e.Mux.HandleFunc(RouteSecureToken, e.secureToken)
	e.Mux.HandleFunc("POST securetoken.googleapis.com/v1/token", e.secureToken)
}

// googleError writes Google's API error body:
// {"error":{"code":400,"message":"EMAIL_NOT_FOUND","errors":[{"message":…,"domain":"global","reason":"invalid"}]}}.
func googleError(w http.ResponseWriter, status int, message, reason, gstatus string) {
	body := map[string]any{"code": status, "message": message,
		"errors": []any{map[string]any{"message": message, "domain": "global", "reason": reason}}}
	if gstatus != "" {
		body["status"] = gstatus
	}
	emulator.WriteJSON(w, status, map[string]any{"error": body})
}

func badRequest(w http.ResponseWriter, code string) {
	googleError(w, http.StatusBadRequest, code, "invalid", "")
}

// apiKeyOK enforces ?key= on the client endpoints.
func (e *Emulator) apiKeyOK(w http.ResponseWriter, r *http.Request) bool {
	switch k := r.URL.Query().Get("key"); {
	case k == "":
		googleError(w, http.StatusForbidden, "The request is missing a valid API key.", "forbidden", "PERMISSION_DENIED")
		return false
	case k != e.APIKey:
		const msg = "API key not valid. Please pass a valid API key."
		emulator.WriteJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]any{
			"code": 400, "message": msg, "status": "INVALID_ARGUMENT",
			"errors": []any{map[string]any{"message": msg, "domain": "global", "reason": "badRequest"}},
			"details": []any{map[string]any{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
				"domain": "googleapis.com", "metadata": map[string]any{"service": "identitytoolkit.googleapis.com"}}},
		}})
		return false
	}
	return true
}

// adminOK enforces an OAuth bearer token on the Admin API.
func adminOK(w http.ResponseWriter, r *http.Request) bool {
	a := r.Header.Get("Authorization")
	if !strings.HasPrefix(a, "Bearer ") || len(a) == len("Bearer ") {
		googleError(w, http.StatusUnauthorized, "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential.", "unauthorized", "UNAUTHENTICATED")
		return false
	}
	return true
}

func (e *Emulator) identityToolkit(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/identitytoolkit.googleapis.com")
	var body map[string]any
	if err := emulator.ReadJSON(r, &body); err != nil {
		badRequest(w, "INVALID_JSON")
		return
	}
	switch path {
	case "/v1/accounts:signInWithPassword":
		if e.apiKeyOK(w, r) {
			e.signInWithPassword(w, body)
		}
		return
	case "/v1/accounts:signUp":
		if e.apiKeyOK(w, r) {
			e.signUp(w, body)
		}
		return
	}
	rest, ok := strings.CutPrefix(path, "/v1/projects/")
	if !ok {
		googleError(w, http.StatusNotFound, "Not Found", "notFound", "NOT_FOUND")
		return
	}
	if !adminOK(w, r) {
		return
	}
	project, op, _ := strings.Cut(rest, "/")
	if p, o, found := strings.Cut(project, ":"); found {
		project, op = p, ":"+o
	}
	if project != e.ProjectID {
		googleError(w, http.StatusForbidden, "PROJECT_NOT_FOUND", "forbidden", "PERMISSION_DENIED")
		return
	}
	switch op {
	case "accounts":
		e.createUser(w, body)
	case "accounts:lookup":
		e.lookup(w, body)
	case "accounts:update":
		e.update(w, body)
	case "accounts:delete":
		e.deleteUsers(w, []string{str(body["localId"])})
	case "accounts:batchDelete":
		var ids []string
		if l, ok := body["localIds"].([]any); ok {
			for _, v := range l {
				ids = append(ids, str(v))
			}
		}
		e.deleteUsers(w, ids)
	case ":createSessionCookie":
		e.createSessionCookie(w, body)
	default:
		googleError(w, http.StatusNotFound, "Not Found", "notFound", "NOT_FOUND")
	}
}

func str(v any) string { s, _ := v.(string); return s }

func (e *Emulator) user(uid string) (*User, error) {
	e.mu.Lock()
	gone := e.deleted[uid]
	e.mu.Unlock()
	if gone || uid == "" {
		return nil, emulator.ErrNotFound
	}
	return e.Store.User(uid)
}

func (e *Emulator) signInWithPassword(w http.ResponseWriter, body map[string]any) {
	email, password := str(body["email"]), str(body["password"])
	switch {
	case email == "":
		badRequest(w, "MISSING_EMAIL")
		return
	case !strings.Contains(email, "@"):
		badRequest(w, "INVALID_EMAIL")
		return
	case password == "":
		badRequest(w, "MISSING_PASSWORD")
		return
	}
	u, err := e.Store.CheckPassword(email, password)
	if err == nil {
		if _, err2 := e.user(u.ID); err2 != nil {
			u, err = nil, emulator.ErrBadCredentials
		}
	}
	switch {
	case errors.Is(err, emulator.ErrDisabled):
		badRequest(w, "USER_DISABLED")
		return
	case err != nil && e.o.LegacyErrorCodes:
		if known, _ := e.Store.UserByEmail(email); known == nil {
			badRequest(w, "EMAIL_NOT_FOUND")
		} else {
			badRequest(w, "INVALID_PASSWORD")
		}
		return
	case err != nil:
		badRequest(w, "INVALID_LOGIN_CREDENTIALS")
		return
	}
	resp, err := e.issue(u)
	if err != nil {
		googleError(w, http.StatusInternalServerError, "INTERNAL_ERROR", "backendError", "INTERNAL")
		return
	}
	emulator.WriteJSON(w, http.StatusOK, resp)
}

func (e *Emulator) signUp(w http.ResponseWriter, body map[string]any) {
	email, password := str(body["email"]), str(body["password"])
	switch {
	case email == "":
		badRequest(w, "MISSING_EMAIL")
		return
	case !strings.Contains(email, "@"):
		badRequest(w, "INVALID_EMAIL")
		return
	case len(password) < 6:
		badRequest(w, "WEAK_PASSWORD : Password should be at least 6 characters")
		return
	}
	u, err := e.CreateUser(NewUser{Email: email, Password: password})
	if errors.Is(err, emulator.ErrConflict) {
		badRequest(w, "EMAIL_EXISTS")
		return
	} else if err != nil {
		badRequest(w, "INVALID_EMAIL")
		return
	}
	resp, err := e.issue(u)
	if err != nil {
		googleError(w, http.StatusInternalServerError, "INTERNAL_ERROR", "backendError", "INTERNAL")
		return
	}
	resp["kind"] = "identitytoolkit#SignupNewUserResponse"
	delete(resp, "registered")
	emulator.WriteJSON(w, http.StatusOK, resp)
}

// createUser answers the Admin SDK's CreateUser:
// {"email","password","emailVerified","displayName","localId","disabled"} → {"localId"}.
func (e *Emulator) createUser(w http.ResponseWriter, body map[string]any) {
	nu := NewUser{ID: str(body["localId"]), Email: str(body["email"]), Password: str(body["password"]), Name: str(body["displayName"])}
	nu.EmailVerified, _ = body["emailVerified"].(bool)
	if nu.Email == "" {
		badRequest(w, "MISSING_EMAIL")
		return
	}
	u, err := e.CreateUser(nu)
	switch {
	case errors.Is(err, emulator.ErrConflict):
		if nu.ID != "" {
			if _, e2 := e.Store.User(nu.ID); e2 == nil {
				badRequest(w, "DUPLICATE_LOCAL_ID")
				return
			}
		}
		badRequest(w, "EMAIL_EXISTS")
		return
	case err != nil:
		badRequest(w, "INVALID_EMAIL")
		return
	}
	if d, _ := body["disabled"].(bool); d {
		_ = e.Store.DisableUser(u.ID)
	}
	e.mu.Lock()
	e.validSince[u.ID] = e.Clock.Now().Unix()
	e.mu.Unlock()
	emulator.WriteJSON(w, http.StatusOK, map[string]any{"kind": "identitytoolkit#SignupNewUserResponse", "localId": u.ID, "email": strings.ToLower(u.Email)})
}

// record is a user as accounts:lookup returns it.
func (e *Emulator) record(u *User) map[string]any {
	e.mu.Lock()
	vs, last := e.validSince[u.ID], e.lastLogin[u.ID]
	e.mu.Unlock()
	cc, _ := json.Marshal(customClaims(u))
	email := strings.ToLower(u.Email)
	m := map[string]any{
		"localId": u.ID, "email": email, "emailVerified": u.EmailVerified,
		"passwordHash": "UkVEQUNURUQ=", "passwordUpdatedAt": u.CreatedAt.UnixMilli(),
		"providerUserInfo": []any{map[string]any{"providerId": "password", "email": email, "federatedId": email, "rawId": email}},
		"validSince":       strconv.FormatInt(vs, 10),
		"createdAt":        strconv.FormatInt(u.CreatedAt.UnixMilli(), 10),
		"customAttributes": string(cc),
		"disabled":         u.Disabled,
	}
	if u.Name != "" {
		m["displayName"] = u.Name
	}
	if !last.IsZero() {
		m["lastLoginAt"] = strconv.FormatInt(last.UnixMilli(), 10)
		m["lastRefreshAt"] = last.UTC().Format(time.RFC3339)
	}
	return m
}

func (e *Emulator) lookup(w http.ResponseWriter, body map[string]any) {
	var users []any
	seen := map[string]bool{}
	add := func(u *User) {
		if u != nil && !seen[u.ID] {
			if _, err := e.user(u.ID); err == nil {
				seen[u.ID] = true
				users = append(users, e.record(u))
			}
		}
	}
	ids, _ := body["localId"].([]any)
	for _, id := range ids {
		u, _ := e.user(str(id))
		add(u)
	}
	emails, _ := body["email"].([]any)
	for _, em := range emails {
		u, _ := e.Store.UserByEmail(str(em))
		add(u)
	}
	resp := map[string]any{"kind": "identitytoolkit#GetAccountInfoResponse"}
	if len(users) > 0 {
		resp["users"] = users
	}
	emulator.WriteJSON(w, http.StatusOK, resp)
}

// update answers accounts:update: customAttributes (a JSON string),
// validSince (seconds, as a string), disableUser, password, emailVerified,
// displayName.
func (e *Emulator) update(w http.ResponseWriter, body map[string]any) {
	uid := str(body["localId"])
	if uid == "" {
		badRequest(w, "MISSING_LOCAL_ID")
		return
	}
	if _, err := e.user(uid); err != nil {
		badRequest(w, "USER_NOT_FOUND")
		return
	}
	if _, ok := body["email"]; ok {
		googleError(w, http.StatusNotImplemented, "firebasetest: changing the email is not emulated", "unimplemented", "UNIMPLEMENTED")
		return
	}
	if ca, ok := body["customAttributes"]; ok {
		var claims map[string]any
		if err := json.Unmarshal([]byte(str(ca)), &claims); err != nil {
			badRequest(w, "INVALID_CLAIMS")
			return
		}
		if err := e.SetCustomClaims(uid, claims); err != nil {
			msg := strings.TrimPrefix(err.Error(), emulator.ErrInvalid.Error()+": ")
			badRequest(w, msg)
			return
		}
	}
	now := e.Clock.Now().Unix()
	if vs, ok := body["validSince"]; ok {
		n, err := strconv.ParseInt(str(vs), 10, 64)
		if err != nil {
			badRequest(w, "INVALID_VALID_SINCE")
			return
		}
		e.mu.Lock()
		e.validSince[uid] = n
		e.mu.Unlock()
	}
	if pw, ok := body["password"]; ok {
		if len(str(pw)) < 6 {
			badRequest(w, "WEAK_PASSWORD : Password should be at least 6 characters")
			return
		}
		_ = e.Store.SetPassword(uid, str(pw))
		// Changing the password ends every session, as in Firebase.
		e.mu.Lock()
		e.validSince[uid] = now
		e.mu.Unlock()
	}
	if d, ok := body["disableUser"].(bool); ok {
		_, _ = e.Store.UpdateUser(uid, func(u *User) { u.Disabled = d })
	}
	if v, ok := body["emailVerified"].(bool); ok {
		_, _ = e.Store.UpdateUser(uid, func(u *User) { u.EmailVerified = v })
	}
	if n, ok := body["displayName"].(string); ok {
		_, _ = e.Store.UpdateUser(uid, func(u *User) { u.Name = n })
	}
	emulator.WriteJSON(w, http.StatusOK, map[string]any{"kind": "identitytoolkit#SetAccountInfoResponse", "localId": uid})
}

func (e *Emulator) deleteUsers(w http.ResponseWriter, ids []string) {
	e.mu.Lock()
	for _, id := range ids {
		if id != "" {
			e.deleted[id] = true
		}
	}
	e.mu.Unlock()
	emulator.WriteJSON(w, http.StatusOK, map[string]any{"kind": "identitytoolkit#DeleteAccountResponse"})
}

// tokenLive reports why a token of uid issued at iat is no longer good:
// "" when it is.
func (e *Emulator) tokenLive(uid string, iat int64) string {
	u, err := e.user(uid)
	switch {
	case err != nil:
		return "USER_NOT_FOUND"
	case u.Disabled:
		return "USER_DISABLED"
	}
	e.mu.Lock()
	vs := e.validSince[uid]
	e.mu.Unlock()
	if iat < vs {
		return "TOKEN_EXPIRED"
	}
	return ""
}

// createSessionCookie answers the Admin SDK's SessionCookie:
// {"idToken","validDuration"} → {"sessionCookie"}. The ID token must be
// one this emulator issued, unexpired, of a live user, not revoked.
func (e *Emulator) createSessionCookie(w http.ResponseWriter, body map[string]any) {
	idt := str(body["idToken"])
	if idt == "" {
		badRequest(w, "MISSING_ID_TOKEN")
		return
	}
	secs, _ := body["validDuration"].(float64)
	if s, ok := body["validDuration"].(string); ok {
		n, _ := strconv.ParseInt(s, 10, 64)
		secs = float64(n)
	}
	d := time.Duration(secs) * time.Second
	if d < firebase.MinSessionCookieTTL || d > firebase.MaxSessionCookieTTL {
		badRequest(w, "INVALID_SESSION_COOKIE_DURATION")
		return
	}
	m, err := e.Introspect(idt)
	if err != nil || m.Claims["iss"] != e.IDTokenIssuer() {
		if errors.Is(err, emulator.ErrExpired) {
			badRequest(w, "TOKEN_EXPIRED")
		} else {
			badRequest(w, "INVALID_ID_TOKEN")
		}
		return
	}
	if why := e.tokenLive(m.UserID, m.IssuedAt.Unix()); why != "" {
		badRequest(w, why)
		return
	}
	u, _ := e.user(m.UserID)
	now := e.Clock.Now()
	c := e.idClaims(u, time.Unix(int64(num(m.Claims["auth_time"])), 0))
	c["iss"] = e.SessionCookieIssuer()
	c["iat"] = now.Unix()
	c["exp"] = now.Add(d).Unix()
	cookie, err := e.CookieKeys.Current().Sign(map[string]any{"typ": "JWT"}, c)
	if err != nil {
		googleError(w, http.StatusInternalServerError, "INTERNAL_ERROR", "backendError", "INTERNAL")
		return
	}
	emulator.WriteJSON(w, http.StatusOK, map[string]any{"sessionCookie": cookie})
}

func num(v any) float64 {
	switch n := v.(type) {
	case float64:
		return n
	case int64:
		return float64(n)
	case int:
		return float64(n)
	}
	return 0
}

// secureToken answers the refresh grant: form grant_type=refresh_token &
// refresh_token=… → {"access_token","expires_in","token_type","refresh_token",
// "id_token","user_id","project_id"}. Errors are
// {"error":{"code":400,"message":"INVALID_REFRESH_TOKEN","status":"INVALID_ARGUMENT"}}.
func (e *Emulator) secureToken(w http.ResponseWriter, r *http.Request) {
	if !e.apiKeyOK(w, r) {
		return
	}
	fail := func(code string) {
		emulator.WriteJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]any{"code": 400, "message": code, "status": "INVALID_ARGUMENT"}})
	}
	r.Body = http.MaxBytesReader(w, r.Body, emulator.MaxRequestBody)
	var grant, rt string
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		var b struct {
			GrantType    string `json:"grant_type"`
			RefreshToken string `json:"refresh_token"`
		}
		if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
			fail("INVALID_JSON")
			return
		}
		grant, rt = b.GrantType, b.RefreshToken
	} else {
		if err := r.ParseForm(); err != nil {
			fail("INVALID_FORM")
			return
		}
		grant, rt = r.PostForm.Get("grant_type"), r.PostForm.Get("refresh_token")
	}
	switch {
	case grant == "":
		fail("MISSING_GRANT_TYPE")
		return
	case grant != "refresh_token":
		fail("INVALID_GRANT_TYPE")
		return
	case rt == "":
		fail("MISSING_REFRESH_TOKEN")
		return
	}
	e.mu.Lock()
	rec, ok := e.refresh[rt]
	e.mu.Unlock()
	if !ok {
		fail("INVALID_REFRESH_TOKEN")
		return
	}
	uid := rec.uid
	// A refresh token dies with a revocation: the grant compares the
	// sign-in second it was issued at with validSince.
	if why := e.tokenLive(uid, rec.issued); why != "" {
		fail(why)
		return
	}
	u, _ := e.user(uid)
	idt, err := e.mintID(u, e.authTime(u), nil)
	if err != nil {
		googleError(w, http.StatusInternalServerError, "INTERNAL_ERROR", "backendError", "INTERNAL")
		return
	}
	emulator.WriteJSON(w, http.StatusOK, map[string]any{
		"access_token": idt, "expires_in": fmt.Sprint(int64(e.o.TokenTTL / time.Second)), "token_type": "Bearer",
		"refresh_token": rt, "id_token": idt, "user_id": uid, "project_id": e.o.ProjectNumber,
	})
}
