package auth0test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/authport/authport/internal/emulator"
)

// The Management API subset: enough for a harness to create, read and
// delete users and to revoke their refresh tokens and sessions, with the
// API's error shape {"statusCode","error","message","errorCode"}.
func (s *Server) mgmtRoutes() {
	m := s.core.Mux
	m.HandleFunc("POST /api/v2/users", s.mgmt("create:users", s.mgmtCreateUser))
	m.HandleFunc("GET /api/v2/users/{id}", s.mgmt("read:users", s.mgmtGetUser))
	m.HandleFunc("DELETE /api/v2/users/{id}", s.mgmt("delete:users", s.mgmtDeleteUser))
	m.HandleFunc("DELETE /api/v2/users/{id}/refresh-tokens", s.mgmt("delete:refresh_tokens", s.mgmtRevokeRefresh))
	m.HandleFunc("DELETE /api/v2/users/{id}/sessions", s.mgmt("delete:sessions", s.mgmtEndSessions))
}

func mgmtError(w http.ResponseWriter, status int, msg, code string) {
	body := map[string]any{"statusCode": status, "error": http.StatusText(status), "message": msg}
	if code != "" {
		body["errorCode"] = code
	}
	emulator.WriteJSON(w, status, body)
}

// mgmt wraps h with the Management API's bearer-token check: a token this
// tenant issued for the Management API audience holding scope.
func (s *Server) mgmt(scope string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok := bearerToken(r)
		if tok == "" {
			mgmtError(w, http.StatusUnauthorized, "Missing authentication", "")
			return
		}
		m, err := s.core.Introspect(tok)
		if err != nil {
			mgmtError(w, http.StatusUnauthorized, "Invalid token", "")
			return
		}
		aud, _ := m.Claims["aud"].(string)
		if aud != s.ManagementAudience() {
			mgmtError(w, http.StatusUnauthorized, "Bad audience: "+aud, "")
			return
		}
		sc, _ := m.Claims["scope"].(string)
		if !hasWord(sc, scope) {
			mgmtError(w, http.StatusForbidden, "Insufficient scope, expected any of: "+scope, "insufficient_scope")
			return
		}
		h(w, r)
	}
}

// mgmtUser is the Management API's user representation.
func (s *Server) mgmtUser(u *User) map[string]any {
	ts := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
	name := u.Name
	if name == "" {
		name = u.Email
	}
	appMeta := map[string]any{}
	if len(u.Roles) > 0 {
		appMeta["roles"] = u.Roles
	}
	return map[string]any{
		"user_id": u.ID, "email": u.Email, "email_verified": u.EmailVerified, "name": name,
		"nickname": strings.SplitN(u.Email, "@", 2)[0], "created_at": ts(u.CreatedAt), "updated_at": ts(u.CreatedAt),
		"blocked": u.Disabled,
		"identities": []any{map[string]any{
			"connection": s.o.Connection, "user_id": strings.TrimPrefix(u.ID, "auth0|"), "provider": "auth0", "isSocial": false,
		}},
		"app_metadata": appMeta, "user_metadata": map[string]any{},
	}
}

func (s *Server) mgmtCreateUser(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Email         string         `json:"email"`
		Password      string         `json:"password"`
		Connection    string         `json:"connection"`
		EmailVerified bool           `json:"email_verified"`
		Name          string         `json:"name"`
		UserID        string         `json:"user_id"`
		AppMetadata   map[string]any `json:"app_metadata"`
		UserMetadata  map[string]any `json:"user_metadata"`
		Blocked       bool           `json:"blocked"`
		VerifyEmail   *bool          `json:"verify_email"`
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, emulator.MaxRequestBody))
	if err == nil {
		err = json.Unmarshal(body, &in)
	}
	if err != nil {
		mgmtError(w, http.StatusBadRequest, "Payload validation error: 'Invalid JSON'", "invalid_body")
		return
	}
	switch {
	case in.Connection == "":
		mgmtError(w, http.StatusBadRequest, "Payload validation error: 'Missing required property: connection'.", "invalid_body")
		return
	case in.Connection != s.o.Connection:
		mgmtError(w, http.StatusBadRequest, "The connection does not exist.", "inexistent_connection")
		return
	case in.Email == "" || in.Password == "":
		mgmtError(w, http.StatusBadRequest, "Payload validation error: 'Missing required property: email, password'.", "invalid_body")
		return
	}
	n := NewUser{Email: in.Email, Password: in.Password, EmailVerified: in.EmailVerified, Name: in.Name, Metadata: in.UserMetadata}
	if in.UserID != "" {
		n.ID = "auth0|" + in.UserID
	}
	if roles, ok := in.AppMetadata["roles"].([]any); ok {
		for _, x := range roles {
			if r, ok := x.(string); ok {
				n.Roles = append(n.Roles, r)
			}
		}
	}
	u, err := s.CreateUser(n)
	switch {
	case errors.Is(err, emulator.ErrConflict):
		mgmtError(w, http.StatusConflict, "The user already exists.", "auth0_idp_error")
		return
	case err != nil:
		mgmtError(w, http.StatusBadRequest, "Payload validation error: 'Object didn't pass validation for format email'.", "invalid_body")
		return
	}
	if in.Blocked {
		_ = s.core.Store.DisableUser(u.ID)
		u, _ = s.core.Store.User(u.ID)
	}
	emulator.WriteJSON(w, http.StatusCreated, s.mgmtUser(u))
}

func (s *Server) mgmtGetUser(w http.ResponseWriter, r *http.Request) {
	u, err := s.core.Store.User(r.PathValue("id"))
	if err != nil {
		mgmtError(w, http.StatusNotFound, "The user does not exist.", "inexistent_user")
		return
	}
	emulator.WriteJSON(w, http.StatusOK, s.mgmtUser(u))
}

func (s *Server) mgmtDeleteUser(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := s.core.Store.User(id); err == nil {
		// The store cannot forget a user; a deleted user is blocked and
		// signed out everywhere, which is what a client can observe.
		_ = s.core.Store.DisableUser(id)
		s.endSSO(id)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) mgmtRevokeRefresh(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := s.core.Store.User(id); err != nil {
		mgmtError(w, http.StatusNotFound, "The user does not exist.", "inexistent_user")
		return
	}
	s.core.Store.RevokeUserSessions(id)
	w.WriteHeader(http.StatusAccepted)
}

func (s *Server) mgmtEndSessions(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := s.core.Store.User(id); err != nil {
		mgmtError(w, http.StatusNotFound, "The user does not exist.", "inexistent_user")
		return
	}
	s.endSSO(id)
	w.WriteHeader(http.StatusAccepted)
}
