package firebase

import (
	"math"
	"time"

	"firebase.google.com/go/v4/auth"
	"github.com/authport/authport"
	"github.com/authport/authport/internal/claimpath"
	"github.com/authport/authport/internal/jwtcore"
)

func invalid(reason string) error {
	return authport.NewError(authport.ErrInvalidCredential, Name, "verify", reason)
}

// toSession applies the Firebase claim rules on top of the shared core's
// and maps the claims.
func (a *Authenticator) toSession(c *jwtcore.Claims) (*authport.Session, error) {
	if len(c.Subject) > maxUIDLen {
		return nil, invalid("subject longer than 128 characters")
	}
	if _, ok := c.Raw["iat"]; !ok {
		return nil, invalid("token has no iat")
	}
	authTime, ok := numeric(c.Raw["auth_time"])
	if !ok {
		return nil, invalid("token has no valid auth_time")
	}
	now := a.cfg.Clock()
	if time.Unix(int64(authTime), 0).After(now.Add(a.v.Leeway())) {
		return nil, invalid("auth_time in the future")
	}
	fbInfo := auth.FirebaseInfo{}
	if v, present := c.Raw["firebase"]; present {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, invalid("malformed firebase claim")
		}
		if fbInfo.SignInProvider, ok = optString(m, "sign_in_provider"); !ok {
			return nil, invalid("malformed firebase.sign_in_provider")
		}
		if fbInfo.Tenant, ok = optString(m, "tenant"); !ok {
			return nil, invalid("malformed firebase.tenant")
		}
		if id, present := m["identities"]; present && id != nil {
			if fbInfo.Identities, ok = id.(map[string]any); !ok {
				return nil, invalid("malformed firebase.identities")
			}
		}
	}
	email, ok := optString(c.Raw, "email")
	if !ok {
		return nil, invalid("malformed email")
	}
	s := &authport.Session{
		Provider:  Name,
		Issuer:    c.Issuer,
		UserID:    c.Subject,
		Email:     email,
		IssuedAt:  c.IssuedAt,
		ExpiresAt: c.ExpiresAt,
		Claims:    c.Raw,
	}
	if v, ok := c.Raw["email_verified"].(bool); ok {
		s.EmailVerified = v
	}
	for _, name := range a.cfg.RolesClaims {
		for _, r := range claimpath.Strings(c.Raw, name) {
			if !contains(s.Roles, r) {
				s.Roles = append(s.Roles, r)
			}
		}
	}
	s.Permissions = claimpath.Fields(c.Raw, a.cfg.PermissionsClaim)
	s.OrgID = claimpath.String(c.Raw, a.cfg.OrgClaim)
	if fbInfo.SignInProvider != "" {
		s.AuthMethods = []string{fbInfo.SignInProvider}
	}
	if f, _ := c.Raw["firebase"].(map[string]any); f != nil {
		if sf, _ := f["sign_in_second_factor"].(string); sf != "" {
			s.AuthMethods = append(s.AuthMethods, "mfa:"+sf)
		}
	}
	aud := ""
	if len(c.Audience) > 0 {
		aud = a.cfg.ProjectID
	}
	custom := make(map[string]any, len(c.Raw))
	for k, v := range c.Raw {
		switch k {
		case "iss", "aud", "exp", "iat", "sub", "uid":
		default:
			custom[k] = v
		}
	}
	s.Native = &auth.Token{
		AuthTime: int64(authTime),
		Issuer:   c.Issuer,
		Audience: aud,
		Expires:  c.ExpiresAt.Unix(),
		IssuedAt: c.IssuedAt.Unix(),
		Subject:  c.Subject,
		UID:      c.Subject,
		Firebase: fbInfo,
		Claims:   custom,
	}
	return s, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// optString returns m[name] as a string; ok is false when it is present
// and not a string (null counts as absent).
func optString(m map[string]any, name string) (string, bool) {
	v, present := m[name]
	if !present || v == nil {
		return "", true
	}
	s, ok := v.(string)
	return s, ok
}

// numeric returns a JSON number claim as float64 when it is finite,
// non-negative and below 2^53.
func numeric(v any) (float64, bool) {
	f, ok := v.(float64)
	if !ok || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f >= 1<<53 {
		return 0, false
	}
	return f, true
}
