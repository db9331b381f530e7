package workos

import (
	"slices"
	"time"

	"github.com/authport/authport"
	"github.com/authport/authport/internal/jwtcore"
)

// AccessTokenClaims are a verified WorkOS access token's claims
// (https://workos.com/docs/reference/authkit/session-tokens). workos-go v4
// has no claims type of its own, so Session.Native holds one of these:
//
//	var c *workos.AccessTokenClaims
//	if sess.As(&c) { flags := c.FeatureFlags }
type AccessTokenClaims struct {
	// Issuer is "iss".
	Issuer string `json:"iss"`
	// Subject is the user id, "user_...".
	Subject string `json:"sub"`
	// SessionID is "sid", "session_...".
	SessionID string `json:"sid"`
	// TokenID is "jti".
	TokenID string `json:"jti,omitempty"`
	// OrganizationID is "org_id", the organisation the session is scoped
	// to (empty when none).
	OrganizationID string `json:"org_id,omitempty"`
	// Role is the membership's role slug.
	Role string `json:"role,omitempty"`
	// Roles are the membership's role slugs.
	Roles []string `json:"roles,omitempty"`
	// Permissions are the role's permission slugs.
	Permissions []string `json:"permissions,omitempty"`
	// Entitlements are the organisation's entitlement slugs.
	Entitlements []string `json:"entitlements,omitempty"`
	// FeatureFlags are the feature flags enabled for the user and
	// organisation.
	FeatureFlags []string `json:"feature_flags,omitempty"`
	// Actor is set when a WorkOS dashboard user is impersonating the user
	// ("act"); Actor.Subject is the impersonator's email address.
	Actor *Actor `json:"act,omitempty"`
	// ClientID is the WorkOS client the token was issued for, when the
	// token names it.
	ClientID string `json:"client_id,omitempty"`
	// Audience is "aud", when present.
	Audience []string `json:"aud,omitempty"`
	// IssuedAt is "iat".
	IssuedAt time.Time `json:"-"`
	// ExpiresAt is "exp".
	ExpiresAt time.Time `json:"-"`
}

// Actor is the "act" claim of an impersonated session.
type Actor struct {
	// Subject is the impersonator's email address.
	Subject string `json:"sub"`
}

// AuthMethodImpersonation is the Session.AuthMethods entry of a session a
// WorkOS dashboard user is impersonating.
const AuthMethodImpersonation = "impersonation"

func (a *Authenticator) malformed(claim string) error {
	return authport.NewError(authport.ErrInvalidCredential, Name, authport.OpVerify, "malformed "+claim+" claim")
}

// optString returns a string claim; absent or null is "".
func optString(raw map[string]any, name string) (string, bool) {
	switch v := raw[name].(type) {
	case nil:
		return "", true
	case string:
		return v, true
	}
	return "", false
}

// optStrings returns an array-of-strings claim; absent or null is nil.
func optStrings(raw map[string]any, name string) ([]string, bool) {
	switch v := raw[name].(type) {
	case nil:
		return nil, true
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok || s == "" {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	return nil, false
}

// toSession maps verified claims to a Session (jwtcore calls it once per
// token; the result is cached with the token).
func (a *Authenticator) toSession(c *jwtcore.Claims) (*authport.Session, error) {
	n := &AccessTokenClaims{
		Issuer: c.Issuer, Subject: c.Subject, TokenID: c.JTI, Audience: c.Audience,
		IssuedAt: c.IssuedAt, ExpiresAt: c.ExpiresAt,
	}
	var ok bool
	for _, f := range []struct {
		name string
		dst  *string
	}{
		{"sid", &n.SessionID}, {"org_id", &n.OrganizationID}, {"role", &n.Role}, {"client_id", &n.ClientID},
	} {
		if *f.dst, ok = optString(c.Raw, f.name); !ok {
			return nil, a.malformed(f.name)
		}
	}
	for _, f := range []struct {
		name string
		dst  *[]string
	}{
		{"roles", &n.Roles}, {"permissions", &n.Permissions}, {"entitlements", &n.Entitlements}, {"feature_flags", &n.FeatureFlags},
	} {
		if *f.dst, ok = optStrings(c.Raw, f.name); !ok {
			return nil, a.malformed(f.name)
		}
	}
	switch act := c.Raw["act"].(type) {
	case nil:
	case map[string]any:
		sub, ok := act["sub"].(string)
		if !ok || sub == "" {
			return nil, a.malformed("act")
		}
		n.Actor = &Actor{Subject: sub}
	default:
		return nil, a.malformed("act")
	}
	if n.SessionID == "" {
		return nil, authport.NewError(authport.ErrInvalidCredential, Name, authport.OpVerify, "token has no session id (sid)")
	}
	if n.ClientID != "" && n.ClientID != a.cfg.ClientID {
		return nil, authport.NewError(authport.ErrInvalidCredential, Name, authport.OpVerify, "token was issued for another WorkOS client")
	}

	roles := n.Roles
	if n.Role != "" && !slices.Contains(roles, n.Role) {
		roles = append([]string{n.Role}, roles...)
	}
	s := &authport.Session{
		Provider:    Name,
		Issuer:      c.Issuer,
		UserID:      c.Subject,
		SessionID:   n.SessionID,
		TokenID:     c.JTI,
		OrgID:       n.OrganizationID,
		Roles:       roles,
		Permissions: n.Permissions,
		IssuedAt:    c.IssuedAt,
		ExpiresAt:   c.ExpiresAt,
		Claims:      c.Raw,
		Native:      n,
	}
	if n.Actor != nil {
		s.AuthMethods = []string{AuthMethodImpersonation}
	}
	return s, nil
}
