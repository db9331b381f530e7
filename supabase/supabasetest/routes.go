package supabasetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/authport/authport/internal/config"
	"github.com/authport/authport/internal/emulator"
)

const prefix = "/auth/v1"

func (e *Emulator) routes() {
	m := e.srv.Mux
	api := func(pattern string, h http.HandlerFunc) {
		method, path, _ := strings.Cut(pattern, " ")
		m.Handle(method+" "+prefix+path, e.gateway(h))
	}
	open := func(pattern string, h http.HandlerFunc) {
		method, path, _ := strings.Cut(pattern, " ")
		m.HandleFunc(method+" "+prefix+path, h)
	}
	e.srv.HandleKeys(jwksRoute, http.HandlerFunc(e.handleJWKS))
	open("GET /.well-known/openid-configuration", e.handleOpenID)
	open("GET /authorize", e.handleAuthorize)
	open("GET /__emulator/idp/{provider}", e.handleIdP)
	open("POST /__emulator/idp/{provider}", e.handleIdP)
	api("GET /health", e.handleHealth)
	api("GET /settings", e.handleSettings)
	api("POST /token", e.handleToken)
	api("POST /signup", e.handleSignup)
	api("GET /user", e.handleGetUser)
	api("PUT /user", e.handleUpdateUser)
	api("POST /logout", e.handleLogout)
	api("POST /admin/users", e.handleAdminCreate)
	api("GET /admin/users", e.handleAdminList)
	api("GET /admin/users/{id}", e.handleAdminGet)
	api("PUT /admin/users/{id}", e.handleAdminUpdate)
	api("DELETE /admin/users/{id}", e.handleAdminDelete)
	m.HandleFunc(prefix+"/", func(w http.ResponseWriter, r *http.Request) {
		e.gateway(func(w http.ResponseWriter, r *http.Request) {
			e.fail(w, r, &apiErr{404, "", "Not Found"})
		}).ServeHTTP(w, r)
	})
}

// gateway does what Supabase's API gateway does in front of Auth: it
// refuses requests without a known apikey (header or query parameter).
func (e *Emulator) gateway(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("apikey")
		if key == "" {
			key = r.URL.Query().Get("apikey")
		}
		switch key {
		case "":
			emulator.WriteJSON(w, http.StatusUnauthorized, map[string]string{
				"message": "No API key found in request",
				"hint":    "No `apikey` request header or url param was found.",
			})
		case e.AnonKey, e.ServiceRoleKey:
			h(w, r)
		default:
			emulator.WriteJSON(w, http.StatusUnauthorized, map[string]string{
				"message": "Invalid API key",
				"hint":    "Double check your Supabase `anon` or `service_role` API key.",
			})
		}
	})
}

// apiVersion2024 reports whether the client asked for the 2024-01-01 API
// (error bodies {"code","message"}).
func apiVersion2024(r *http.Request) bool {
	v := r.Header.Get("X-Supabase-Api-Version")
	t, err := time.Parse("2006-01-02", v)
	return err == nil && !t.Before(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
}

// fail writes a GoTrue error answer in the form the request asked for.
func (e *Emulator) fail(w http.ResponseWriter, r *http.Request, ae *apiErr) {
	code := ae.code
	if code == "" {
		code = "unknown"
		if ae.status >= 500 {
			code = "unexpected_failure"
		}
	}
	w.Header().Set("x-sb-error-code", code)
	if apiVersion2024(r) {
		w.Header().Set("X-Supabase-Api-Version", "2024-01-01")
		emulator.WriteJSON(w, ae.status, map[string]any{"code": code, "message": ae.msg})
		return
	}
	emulator.WriteJSON(w, ae.status, map[string]any{"code": ae.status, "error_code": code, "msg": ae.msg})
}

// failWeak writes GoTrue's weak-password answer (422 with reasons).
func (e *Emulator) failWeak(w http.ResponseWriter, r *http.Request) {
	msg := fmt.Sprintf("Password should be at least %d characters.", minPasswordLen)
	reasons := map[string]any{"reasons": []string{"length"}}
	w.Header().Set("x-sb-error-code", "weak_password")
	if apiVersion2024(r) {
		w.Header().Set("X-Supabase-Api-Version", "2024-01-01")
		emulator.WriteJSON(w, 422, map[string]any{"code": "weak_password", "message": msg, "weak_password": reasons})
		return
	}
	emulator.WriteJSON(w, 422, map[string]any{"code": 422, "error_code": "weak_password", "msg": msg, "weak_password": reasons})
}

// readBody decodes a JSON body leniently (GoTrue ignores unknown fields),
// at most 1 MiB.
func readBody(w http.ResponseWriter, r *http.Request, v any) *apiErr {
	r.Body = http.MaxBytesReader(w, r.Body, emulator.MaxRequestBody)
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return &apiErr{400, "bad_json", "Could not read request body"}
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		return &apiErr{400, "bad_json", "Could not parse request body as JSON: " + err.Error()}
	}
	return nil
}

func (e *Emulator) handleJWKS(w http.ResponseWriter, r *http.Request) {
	keys := []map[string]any{}
	if e.o.Mode != ModeHS256 {
		for _, k := range e.srv.Keys.Published() {
			j := k.JWK(false)
			if j == nil {
				continue
			}
			// GoTrue publishes keys as WebCrypto exports them.
			j["key_ops"] = []string{"verify"}
			j["ext"] = true
			keys = append(keys, j)
		}
	}
	b, _ := json.Marshal(map[string]any{"keys": keys})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=600")
	w.Write(b)
}

func (e *Emulator) handleOpenID(w http.ResponseWriter, r *http.Request) {
	emulator.WriteJSON(w, http.StatusOK, map[string]any{
		"issuer":                                e.Issuer,
		"authorization_endpoint":                e.AuthURL + "/oauth/authorize",
		"token_endpoint":                        e.AuthURL + "/oauth/token",
		"jwks_uri":                              e.AuthURL + "/.well-known/jwks.json",
		"userinfo_endpoint":                     e.AuthURL + "/oauth/userinfo",
		"response_types_supported":              []string{"code"},
		"grant_types_supported":                 []string{"authorization_code", "refresh_token"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{e.signingAlg()},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post", "none"},
		"code_challenge_methods_supported":      []string{"S256", "plain"},
	})
}

func (e *Emulator) signingAlg() string {
	if e.signsLegacy() {
		return "HS256"
	}
	return e.srv.Keys.Algorithm()
}

func (e *Emulator) handleHealth(w http.ResponseWriter, r *http.Request) {
	emulator.WriteJSON(w, http.StatusOK, map[string]string{
		"version": e.o.Version, "name": "GoTrue",
		"description": "GoTrue is a user registration and authentication API",
	})
}

func (e *Emulator) handleSettings(w http.ResponseWriter, r *http.Request) {
	ext := map[string]bool{"anonymous_users": false, "email": true, "phone": false}
	for _, p := range defaultProviders {
		ext[p] = false
	}
	for _, p := range e.o.Providers {
		ext[p] = true
	}
	emulator.WriteJSON(w, http.StatusOK, map[string]any{
		"external":           ext,
		"disable_signup":     e.o.DisableSignup,
		"mailer_autoconfirm": !e.o.ConfirmEmail,
		"phone_autoconfirm":  false,
		"sms_provider":       "",
		"saml_enabled":       false,
		"mfa_enabled":        false,
	})
}

var bearerRe = regexp.MustCompile(`^(?i:Bearer)\s+(\S+)$`)

// authenticate is GoTrue's requireAuthentication: a valid JWT whose user
// exists and, if it names one, whose session still exists.
func (e *Emulator) authenticate(r *http.Request) (*emulator.User, *emulator.Session, map[string]any, *apiErr) {
	m := bearerRe.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		return nil, nil, nil, &apiErr{401, "no_authorization", "This endpoint requires a valid Bearer token"}
	}
	claims, ae := e.parseJWT(m[1])
	if ae != nil {
		return nil, nil, nil, ae
	}
	sub, _ := claims["sub"].(string)
	if sub == "" {
		return nil, nil, nil, &apiErr{403, "bad_jwt", "invalid claim: missing sub claim"}
	}
	if !config.IsUUID(sub) {
		return nil, nil, nil, &apiErr{400, "bad_jwt", "invalid claim: sub claim must be a UUID"}
	}
	u, ok := e.lookupUser(sub)
	if !ok {
		return nil, nil, nil, &apiErr{403, "user_not_found", "User from sub claim in JWT does not exist"}
	}
	var ss *emulator.Session
	if raw, present := claims["session_id"]; present {
		sid, isStr := raw.(string)
		if !isStr || (sid != "" && !config.IsUUID(sid)) {
			return nil, nil, nil, &apiErr{403, "bad_jwt", "invalid claim: session_id claim must be a UUID"}
		}
		if sid != "" && sid != "00000000-0000-0000-0000-000000000000" {
			s, _, err := e.srv.Store.LiveSession(sid)
			if err != nil && !errors.Is(err, emulator.ErrDisabled) {
				return nil, nil, nil, &apiErr{403, "session_not_found", "Session from session_id claim in JWT does not exist"}
			}
			if s == nil {
				s, _ = e.srv.Store.Session(sid)
			}
			ss = s
		}
	}
	if e.banned(u) {
		return nil, nil, nil, &apiErr{403, "user_banned", "User is banned"}
	}
	return u, ss, claims, nil
}

func (e *Emulator) handleGetUser(w http.ResponseWriter, r *http.Request) {
	u, _, _, ae := e.authenticate(r)
	if ae != nil {
		e.fail(w, r, ae)
		return
	}
	emulator.WriteJSON(w, http.StatusOK, e.userJSON(u))
}

func (e *Emulator) handleUpdateUser(w http.ResponseWriter, r *http.Request) {
	u, _, _, ae := e.authenticate(r)
	if ae != nil {
		e.fail(w, r, ae)
		return
	}
	var in struct {
		Email    string         `json:"email"`
		Password *string        `json:"password"`
		Data     map[string]any `json:"data"`
	}
	if ae := readBody(w, r, &in); ae != nil {
		e.fail(w, r, ae)
		return
	}
	if in.Email != "" && !strings.EqualFold(in.Email, u.Email) {
		e.fail(w, r, &apiErr{422, "validation_failed", "Email changes are not supported by the emulator"})
		return
	}
	if in.Password != nil {
		if len(*in.Password) < minPasswordLen {
			e.failWeak(w, r)
			return
		}
		if err := e.srv.Store.SetPassword(u.ID, *in.Password); err != nil {
			e.fail(w, r, &apiErr{500, "", "Error updating user"})
			return
		}
	}
	patch := map[string]any{mdUpdatedAt: e.now()}
	if in.Data != nil {
		patch[mdUser] = mergeMetadata(mdMap(u, mdUser), in.Data)
	}
	nu, err := e.srv.Store.UpdateMetadata(u.ID, patch)
	if err != nil {
		e.fail(w, r, &apiErr{500, "", "Error updating user"})
		return
	}
	emulator.WriteJSON(w, http.StatusOK, e.userJSON(nu))
}

func (e *Emulator) handleLogout(w http.ResponseWriter, r *http.Request) {
	scope := r.URL.Query().Get("scope")
	switch scope {
	case "", "global", "local", "others":
	default:
		e.fail(w, r, &apiErr{400, "validation_failed", fmt.Sprintf("Unsupported logout scope %q", scope)})
		return
	}
	u, ss, _, ae := e.authenticate(r)
	if ae != nil {
		e.fail(w, r, ae)
		return
	}
	st := e.srv.Store
	switch {
	case ss != nil && scope == "local":
		_ = st.EndSession(ss.ID)
	case ss != nil && scope == "others":
		for _, s := range st.Sessions(u.ID) {
			if s.ID != ss.ID {
				_ = st.EndSession(s.ID)
			}
		}
	default:
		for _, s := range st.Sessions(u.ID) {
			_ = st.EndSession(s.ID)
		}
	}
	w.WriteHeader(http.StatusNoContent)
}
