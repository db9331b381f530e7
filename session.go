package authport

import (
	"reflect"
	"slices"
	"time"
)

// Session is what every adapter fills from a verified credential. Fields a
// provider does not have are left empty.
type Session struct {
	// Provider names the adapter that verified the credential.
	Provider string `json:"provider"`
	// Issuer is the token's issuer (or the DIY backend's name).
	Issuer string `json:"issuer,omitempty"`
	// UserID is the provider's stable user id (the JWT "sub").
	UserID string `json:"user_id"`
	// SessionID is the provider's session id ("sid", "session_id"), empty
	// where the provider has none.
	SessionID string `json:"session_id,omitempty"`
	// TokenID is the token's "jti", used for deny lists keyed by (iss, jti).
	TokenID string `json:"token_id,omitempty"`
	// Email is the user's email address when the token carries it.
	Email string `json:"email,omitempty"`
	// EmailVerified reports whether the provider verified Email.
	EmailVerified bool `json:"email_verified,omitempty"`
	// OrgID is the active organisation, if any.
	OrgID string `json:"org_id,omitempty"`
	// OrgSlug is the active organisation's slug or name, if any.
	OrgSlug string `json:"org_slug,omitempty"`
	// Roles are application roles (never a database role).
	Roles []string `json:"roles,omitempty"`
	// Permissions are what the user may do, as the provider grants them
	// (Auth0 RBAC "permissions", a configured claim). Guards check these.
	Permissions []string `json:"permissions,omitempty"`
	// Scopes are the OAuth scopes the access token was granted ("openid",
	// "email", "read:orders"): what the client asked for and the user or
	// issuer allowed, kept apart from Permissions so that
	// RequirePermission("email") never passes for anyone signed in.
	Scopes []string `json:"scopes,omitempty"`
	// Status is the provider's session status where it reports one
	// (Clerk "active" or "pending"); empty means active.
	Status string `json:"status,omitempty"`
	// AuthMethods lists how the user authenticated (amr, sign_in_provider).
	AuthMethods []string `json:"auth_methods,omitempty"`
	// IssuedAt is when the credential was issued.
	IssuedAt time.Time `json:"issued_at"`
	// ExpiresAt is when the credential expires.
	ExpiresAt time.Time `json:"expires_at"`
	// Claims are the raw verified claims (nil for opaque sessions).
	Claims map[string]any `json:"claims,omitempty"`

	// Native is the provider's own representation (for example
	// *clerk.SessionClaims); reach it with As rather than a type switch.
	Native any `json:"-"`
}

// StatusPending is the Status of a session that is signed in but has not
// finished a required step (Clerk's "sts":"pending", e.g. choosing an
// organisation). RequireOrg refuses such sessions.
const StatusPending = "pending"

// As sets target, which must be a non-nil pointer, to the provider's own
// representation of the session if it has that type, and reports whether it
// did. It is the escape hatch to provider features authport does not map,
// modelled on gocloud.dev's As.
func (s *Session) As(target any) bool {
	if s == nil || s.Native == nil || target == nil {
		return false
	}
	tv := reflect.ValueOf(target)
	if tv.Kind() != reflect.Pointer || tv.IsNil() {
		return false
	}
	nv := reflect.ValueOf(s.Native)
	if nv.Type().AssignableTo(tv.Elem().Type()) {
		tv.Elem().Set(nv)
		return true
	}
	return false
}

// HasRole reports whether the session carries role r.
func (s *Session) HasRole(r string) bool { return s != nil && slices.Contains(s.Roles, r) }

// HasPermission reports whether the session carries permission p.
func (s *Session) HasPermission(p string) bool {
	return s != nil && slices.Contains(s.Permissions, p)
}

// Pending reports whether the session still has a required step to finish.
func (s *Session) Pending() bool { return s != nil && s.Status == StatusPending }

// Tokens are what a sign-in, sign-up, code exchange or refresh returns.
type Tokens struct {
	// AccessToken is the credential Verify accepts: a JWT access token, a
	// Firebase session cookie, or a DIY opaque session id.
	AccessToken string `json:"-"`
	// RefreshToken is the refresh token, if the provider issued one.
	RefreshToken string `json:"-"`
	// IDToken is the OpenID Connect ID token, if any.
	IDToken string `json:"-"`
	// ExpiresAt is when AccessToken expires (zero if unknown).
	ExpiresAt time.Time `json:"expires_at"`
	// SessionID is the provider's session id, when the response names it.
	SessionID string `json:"session_id,omitempty"`
	// UserID is the user's id, when the response names it.
	UserID string `json:"user_id,omitempty"`
}
