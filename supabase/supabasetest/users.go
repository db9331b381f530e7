package supabasetest

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/supabase-community/auth-go/types"

	"github.com/authport/authport/internal/emulator"
)

// The emulator keeps Supabase's user fields in emulator.User.Metadata under
// these keys.
const (
	mdApp          = "app_metadata"
	mdUser         = "user_metadata"
	mdRole         = "role"
	mdAud          = "aud"
	mdPhone        = "phone"
	mdConfirmedAt  = "email_confirmed_at"
	mdConfirmSent  = "confirmation_sent_at"
	mdLastSignIn   = "last_sign_in_at"
	mdBannedUntil  = "banned_until"
	mdUpdatedAt    = "updated_at"
	mdIdentityID   = "identity_id"
	mdIsAnonymous  = "is_anonymous"
	defaultRole    = "authenticated"
	defaultAud     = "authenticated"
	providerEmail  = "email"
	amrPassword    = "password"
	amrOAuth       = "oauth"
	minPasswordLen = 6
)

// User describes a user to create with CreateUser.
type User struct {
	// Email and Password sign the user in.
	Email, Password string
	// Roles and Permissions are stored in app_metadata.roles and
	// app_metadata.permissions, where the adapter reads them by default.
	Roles, Permissions []string
	// AppMetadata is merged into app_metadata (server-only data).
	AppMetadata map[string]any
	// UserMetadata is user_metadata (data the user may change).
	UserMetadata map[string]any
	// Phone is stored and returned; phone sign-in is not emulated.
	Phone string
	// Unconfirmed leaves the email unconfirmed: password sign-in then
	// fails with email_not_confirmed.
	Unconfirmed bool
}

// CreateUser adds a user directly to the store (as the dashboard would)
// and returns its UUID.
func (e *Emulator) CreateUser(u User) (string, error) {
	app := map[string]any{}
	if len(u.Roles) > 0 {
		app["roles"] = toAny(u.Roles)
	}
	if len(u.Permissions) > 0 {
		app["permissions"] = toAny(u.Permissions)
	}
	maps.Copy(app, u.AppMetadata)
	eu, err := e.newUser(u.Email, u.Password, app, u.UserMetadata, u.Phone, !u.Unconfirmed, "", "")
	if err != nil {
		return "", err
	}
	return eu.ID, nil
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// newUser creates a Supabase-shaped user in the store.
func (e *Emulator) newUser(email, password string, app, userMeta map[string]any, phone string, confirmed bool, role, aud string) (*emulator.User, error) {
	now := e.now()
	if role == "" {
		role = defaultRole
	}
	if aud == "" {
		aud = defaultAud
	}
	appMD := map[string]any{"provider": providerEmail, "providers": []any{providerEmail}}
	maps.Copy(appMD, app)
	md := map[string]any{
		mdApp: appMD, mdRole: role, mdAud: aud, mdPhone: phone,
		mdUpdatedAt: now, mdIdentityID: emulator.NewUUID(),
	}
	if confirmed {
		md[mdConfirmedAt] = now
	} else {
		md[mdConfirmSent] = now
	}
	n := emulator.NewUser{Email: email, Password: password, EmailVerified: confirmed, Metadata: md}
	u, err := e.srv.Store.CreateUser(n)
	if err != nil {
		return nil, err
	}
	um := map[string]any{"email": u.Email, "email_verified": confirmed, "phone_verified": false, "sub": u.ID}
	maps.Copy(um, userMeta)
	return e.srv.Store.UpdateMetadata(u.ID, map[string]any{mdUser: um})
}

func (e *Emulator) now() time.Time { return e.srv.Clock.Now() }

// lookupUser returns a user by id (deleted users are gone from the store).
func (e *Emulator) lookupUser(id string) (*emulator.User, bool) {
	u, err := e.srv.Store.User(id)
	if err != nil {
		return nil, false
	}
	return u, true
}

// banned reports whether u is banned now, lifting an expired ban.
func (e *Emulator) banned(u *emulator.User) bool {
	if !u.Disabled {
		return false
	}
	if until, ok := u.Metadata[mdBannedUntil].(time.Time); ok && !e.now().Before(until) {
		_, _ = e.srv.Store.UpdateUser(u.ID, func(x *emulator.User) {
			x.Disabled = false
			delete(x.Metadata, mdBannedUntil)
		})
		u.Disabled = false
		return false
	}
	return true
}

func mdMap(u *emulator.User, key string) map[string]any {
	m, _ := u.Metadata[key].(map[string]any)
	if m == nil {
		return map[string]any{}
	}
	return m
}

func mdString(u *emulator.User, key, def string) string {
	if s, ok := u.Metadata[key].(string); ok && s != "" {
		return s
	}
	return def
}

func mdTime(u *emulator.User, key string) *time.Time {
	if t, ok := u.Metadata[key].(time.Time); ok && !t.IsZero() {
		t = t.UTC()
		return &t
	}
	return nil
}

// userJSON is GoTrue's models.User as the API serialises it.
type userJSON struct {
	ID                 string         `json:"id"`
	Aud                string         `json:"aud"`
	Role               string         `json:"role"`
	Email              string         `json:"email"`
	EmailConfirmedAt   *time.Time     `json:"email_confirmed_at,omitempty"`
	Phone              string         `json:"phone"`
	ConfirmationSentAt *time.Time     `json:"confirmation_sent_at,omitempty"`
	ConfirmedAt        *time.Time     `json:"confirmed_at,omitempty"`
	LastSignInAt       *time.Time     `json:"last_sign_in_at,omitempty"`
	AppMetadata        map[string]any `json:"app_metadata"`
	UserMetadata       map[string]any `json:"user_metadata"`
	Identities         []identityJSON `json:"identities"`
	CreatedAt          time.Time      `json:"created_at"`
	UpdatedAt          time.Time      `json:"updated_at"`
	BannedUntil        *time.Time     `json:"banned_until,omitempty"`
	IsAnonymous        bool           `json:"is_anonymous"`
}

type identityJSON struct {
	IdentityID   string         `json:"identity_id"`
	ID           string         `json:"id"`
	UserID       string         `json:"user_id"`
	IdentityData map[string]any `json:"identity_data"`
	Provider     string         `json:"provider"`
	LastSignInAt *time.Time     `json:"last_sign_in_at,omitempty"`
	CreatedAt    time.Time      `json:"created_at"`
	UpdatedAt    time.Time      `json:"updated_at"`
	Email        string         `json:"email"`
}

func (e *Emulator) userJSON(u *emulator.User) userJSON {
	created := u.CreatedAt.UTC()
	updated := created
	if t := mdTime(u, mdUpdatedAt); t != nil {
		updated = *t
	}
	confirmed := mdTime(u, mdConfirmedAt)
	j := userJSON{
		ID: u.ID, Aud: mdString(u, mdAud, defaultAud), Role: mdString(u, mdRole, defaultRole),
		Email: u.Email, EmailConfirmedAt: confirmed, Phone: mdString(u, mdPhone, ""),
		ConfirmationSentAt: mdTime(u, mdConfirmSent), ConfirmedAt: confirmed,
		LastSignInAt: mdTime(u, mdLastSignIn),
		AppMetadata:  mdMap(u, mdApp), UserMetadata: mdMap(u, mdUser),
		CreatedAt: created, UpdatedAt: updated, BannedUntil: mdTime(u, mdBannedUntil),
	}
	j.IsAnonymous, _ = u.Metadata[mdIsAnonymous].(bool)
	j.Identities = []identityJSON{{
		IdentityID: mdString(u, mdIdentityID, u.ID), ID: u.ID, UserID: u.ID,
		IdentityData: map[string]any{"email": u.Email, "email_verified": confirmed != nil, "phone_verified": false, "sub": u.ID},
		Provider:     providerEmail, LastSignInAt: j.LastSignInAt, CreatedAt: created, UpdatedAt: updated, Email: u.Email,
	}}
	return j
}

// AsSDKUser converts the stored user with id to the SDK's types.User, as
// GET /user would return it.
func (e *Emulator) AsSDKUser(id string) (*types.User, error) {
	u, ok := e.lookupUser(id)
	if !ok {
		return nil, fmt.Errorf("supabasetest: no user %s", id)
	}
	b, err := json.Marshal(e.userJSON(u))
	if err != nil {
		return nil, err
	}
	var out types.User
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Session returns the stored session with id (any status), so tests can
// check what a sign-out did on the provider's side.
func (e *Emulator) Session(id string) (*emulator.Session, error) { return e.srv.Store.Session(id) }

// SessionLive reports whether session id still exists for Supabase (not
// signed out, revoked or expired, and its user not banned or deleted).
func (e *Emulator) SessionLive(id string) bool {
	ss, u, err := e.srv.Store.LiveSession(id)
	if err != nil {
		return false
	}
	_ = ss
	_, ok := e.lookupUser(u.ID)
	return ok
}

// RevokeSession ends a session as a sign-out elsewhere would.
func (e *Emulator) RevokeSession(id string) error { return e.srv.Store.EndSession(id) }

// mergeMetadata merges patch into m (a nil value deletes a key), as
// GoTrue's UpdateUserMetaData does.
func mergeMetadata(m, patch map[string]any) map[string]any {
	out := maps.Clone(m)
	if out == nil {
		out = map[string]any{}
	}
	for k, v := range patch {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// providersWith adds provider to app_metadata.providers.
func providersWith(app map[string]any, provider string) map[string]any {
	out := maps.Clone(app)
	var list []any
	if l, ok := out["providers"].([]any); ok {
		list = slices.Clone(l)
	}
	if !slices.Contains(list, any(provider)) {
		list = append(list, provider)
	}
	out["providers"] = list
	return out
}
