package oidc

import (
	"github.com/authport/authport"
	"github.com/authport/authport/internal/claimpath"
	"github.com/authport/authport/internal/jwtcore"
)

func (a *Authenticator) toSession(c *jwtcore.Claims) (*authport.Session, error) {
	s := &authport.Session{
		Provider:    a.cfg.Provider,
		Issuer:      c.Issuer,
		UserID:      c.Subject,
		SessionID:   c.String("sid"),
		TokenID:     c.JTI,
		Email:       c.String("email"),
		OrgID:       claimpath.String(c.Raw, a.cfg.OrgClaim),
		Roles:       claimpath.Strings(c.Raw, a.cfg.RolesClaim),
		AuthMethods: c.Strings("amr"),
		IssuedAt:    c.IssuedAt,
		ExpiresAt:   c.ExpiresAt,
		Claims:      c.Raw,
	}
	switch v := c.Raw["email_verified"].(type) {
	case bool:
		s.EmailVerified = v
	case string:
		s.EmailVerified = v == "true"
	}
	// OAuth scopes say what the client may ask for, not what the user may
	// do: they stay in Scopes, never in Permissions.
	s.Permissions = claimpath.Fields(c.Raw, a.cfg.PermissionsClaim)
	s.Scopes = claimpath.Words(c.Raw["scope"])
	return s, nil
}
