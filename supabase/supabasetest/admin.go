package supabasetest

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/authport/authport/internal/config"
	"github.com/authport/authport/internal/emulator"
)

// requireAdmin is GoTrue's requireAdmin: the bearer must be the
// service-role key (or a valid JWT whose role is service_role or
// supabase_admin).
func (e *Emulator) requireAdmin(w http.ResponseWriter, r *http.Request) bool {
	m := bearerRe.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		e.fail(w, r, &apiErr{401, "no_authorization", "This endpoint requires a valid Bearer token"})
		return false
	}
	if m[1] == e.ServiceRoleKey {
		return true
	}
	claims, ae := e.parseJWT(m[1])
	if ae != nil {
		e.fail(w, r, ae)
		return false
	}
	if role, _ := claims["role"].(string); role == "service_role" || role == "supabase_admin" {
		return true
	}
	e.fail(w, r, &apiErr{403, "not_admin", "User not allowed"})
	return false
}

// adminUserParams are GoTrue's AdminUserParams (the fields the emulator
// acts on).
type adminUserParams struct {
	Aud          string          `json:"aud"`
	Role         string          `json:"role"`
	Email        string          `json:"email"`
	Phone        string          `json:"phone"`
	Password     *string         `json:"password"`
	EmailConfirm bool            `json:"email_confirm"`
	UserMetadata map[string]any  `json:"user_metadata"`
	AppMetadata  map[string]any  `json:"app_metadata"`
	BanDuration  json.RawMessage `json:"ban_duration"`
}

// banDuration reads ban_duration: "none", a Go duration string ("24h"), or
// (as auth-go's AdminCreateUser sends a time.Duration) a number of
// nanoseconds. ok is false when it is malformed; d is -1 for "none".
func banDuration(raw json.RawMessage) (d time.Duration, set, ok bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, false, true
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if s == "none" {
			return -1, true, true
		}
		d, err := time.ParseDuration(s)
		return d, true, err == nil && d >= 0
	}
	var n int64
	if json.Unmarshal(raw, &n) == nil {
		return time.Duration(n), n != 0, n >= 0
	}
	return 0, false, false
}

func (e *Emulator) applyBan(id string, raw json.RawMessage) *apiErr {
	d, set, ok := banDuration(raw)
	if !ok {
		return &apiErr{400, "validation_failed", "invalid format for ban duration"}
	}
	if !set {
		return nil
	}
	if d < 0 {
		_, err := e.srv.Store.UpdateUser(id, func(u *emulator.User) {
			u.Disabled = false
			delete(u.Metadata, mdBannedUntil)
		})
		if err != nil {
			return &apiErr{500, "", "Error updating user"}
		}
		return nil
	}
	if err := e.srv.Store.DisableUser(id); err != nil {
		return &apiErr{500, "", "Error updating user"}
	}
	if _, err := e.srv.Store.UpdateMetadata(id, map[string]any{mdBannedUntil: e.now().Add(d)}); err != nil {
		return &apiErr{500, "", "Error updating user"}
	}
	return nil
}

func (e *Emulator) handleAdminCreate(w http.ResponseWriter, r *http.Request) {
	if !e.requireAdmin(w, r) {
		return
	}
	var in adminUserParams
	if ae := readBody(w, r, &in); ae != nil {
		e.fail(w, r, ae)
		return
	}
	if in.Email == "" {
		e.fail(w, r, &apiErr{400, "validation_failed", "Phone users are not supported by the emulator; provide an email"})
		return
	}
	if !validEmail(in.Email) {
		e.fail(w, r, &apiErr{400, "validation_failed", "Unable to validate email address: invalid format"})
		return
	}
	if in.Password != nil && len(*in.Password) < minPasswordLen {
		e.failWeak(w, r)
		return
	}
	if _, err := e.srv.Store.UserByEmail(in.Email); err == nil {
		e.fail(w, r, &apiErr{422, "email_exists", "A user with this email address has already been registered"})
		return
	}
	pw := ""
	if in.Password != nil {
		pw = *in.Password
	}
	u, err := e.newUser(in.Email, pw, in.AppMetadata, in.UserMetadata, in.Phone, in.EmailConfirm, in.Role, in.Aud)
	if errors.Is(err, emulator.ErrConflict) {
		e.fail(w, r, &apiErr{422, "email_exists", "A user with this email address has already been registered"})
		return
	}
	if err != nil {
		e.fail(w, r, &apiErr{500, "", "Database error creating new user"})
		return
	}
	if ae := e.applyBan(u.ID, in.BanDuration); ae != nil {
		e.fail(w, r, ae)
		return
	}
	u, _ = e.lookupUser(u.ID)
	emulator.WriteJSON(w, http.StatusOK, e.userJSON(u))
}

func (e *Emulator) handleAdminList(w http.ResponseWriter, r *http.Request) {
	if !e.requireAdmin(w, r) {
		return
	}
	page, perPage := 1, 50
	if v, err := strconv.Atoi(r.URL.Query().Get("page")); err == nil && v > 0 {
		page = v
	}
	if v, err := strconv.Atoi(r.URL.Query().Get("per_page")); err == nil && v > 0 {
		perPage = v
	}
	var all []userJSON
	for _, u := range e.srv.Store.Users() {
		all = append(all, e.userJSON(u))
	}
	total := len(all)
	from := min((page-1)*perPage, total)
	to := min(from+perPage, total)
	users := all[from:to]
	if users == nil {
		users = []userJSON{}
	}
	w.Header().Set("X-Total-Count", strconv.Itoa(total))
	emulator.WriteJSON(w, http.StatusOK, map[string]any{"users": users, "aud": defaultAud})
}

func (e *Emulator) adminUser(w http.ResponseWriter, r *http.Request) (*emulator.User, bool) {
	if !e.requireAdmin(w, r) {
		return nil, false
	}
	id := r.PathValue("id")
	if !config.IsUUID(id) {
		e.fail(w, r, &apiErr{404, "user_not_found", "User not found"})
		return nil, false
	}
	u, ok := e.lookupUser(strings.ToLower(id))
	if !ok {
		e.fail(w, r, &apiErr{404, "user_not_found", "User not found"})
		return nil, false
	}
	return u, true
}

func (e *Emulator) handleAdminGet(w http.ResponseWriter, r *http.Request) {
	u, ok := e.adminUser(w, r)
	if !ok {
		return
	}
	emulator.WriteJSON(w, http.StatusOK, e.userJSON(u))
}

func (e *Emulator) handleAdminUpdate(w http.ResponseWriter, r *http.Request) {
	u, ok := e.adminUser(w, r)
	if !ok {
		return
	}
	var in adminUserParams
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
	now := e.now()
	patch := map[string]any{mdUpdatedAt: now}
	if in.AppMetadata != nil {
		patch[mdApp] = mergeMetadata(mdMap(u, mdApp), in.AppMetadata)
	}
	if in.UserMetadata != nil {
		patch[mdUser] = mergeMetadata(mdMap(u, mdUser), in.UserMetadata)
	}
	if in.Role != "" {
		patch[mdRole] = in.Role
	}
	if in.Aud != "" {
		patch[mdAud] = in.Aud
	}
	if in.Phone != "" {
		patch[mdPhone] = in.Phone
	}
	if in.EmailConfirm && mdTime(u, mdConfirmedAt) == nil {
		patch[mdConfirmedAt] = now
	}
	if _, err := e.srv.Store.UpdateMetadata(u.ID, patch); err != nil {
		e.fail(w, r, &apiErr{500, "", "Error updating user"})
		return
	}
	if in.EmailConfirm {
		_, _ = e.srv.Store.UpdateUser(u.ID, func(x *emulator.User) { x.EmailVerified = true })
	}
	if ae := e.applyBan(u.ID, in.BanDuration); ae != nil {
		e.fail(w, r, ae)
		return
	}
	u, _ = e.lookupUser(u.ID)
	emulator.WriteJSON(w, http.StatusOK, e.userJSON(u))
}

// handleAdminDelete deletes a user for good (Store.DeleteUser), as
// GoTrue's hard delete does: the user is gone from every route, their
// sessions and refresh tokens end, and the email address is free for a new
// sign-up. A body asking for a soft delete ({"should_soft_delete":true},
// which GoTrue answers by obfuscating the address) is treated the same.
func (e *Emulator) handleAdminDelete(w http.ResponseWriter, r *http.Request) {
	u, ok := e.adminUser(w, r)
	if !ok {
		return
	}
	if err := e.srv.Store.DeleteUser(u.ID); err != nil {
		e.fail(w, r, &apiErr{404, "user_not_found", "User not found"})
		return
	}
	emulator.WriteJSON(w, http.StatusOK, map[string]any{})
}
