package auth0

import (
	"slices"
	"strings"
	"time"

	"github.com/auth0/go-jwt-middleware/v2/validator"
	"github.com/authport/authport"
	"github.com/authport/authport/internal/claimpath"
	"github.com/authport/authport/internal/jwtcore"
)

// oidcScopes are left out of Session.Permissions.
var oidcScopes = []string{"openid", "profile", "email", "address", "phone", "offline_access"}

func (a *Authenticator) toSession(c *jwtcore.Claims) (*authport.Session, error) {
	azp := c.String("azp")
	clientID := c.String("client_id")
	if len(a.parties) > 0 {
		// azp (Auth0 profile) or client_id (RFC 9068 profile) must be
		// present, and every one present must be allowed.
		if (azp == "" && clientID == "") ||
			(azp != "" && !slices.Contains(a.parties, azp)) ||
			(clientID != "" && !slices.Contains(a.parties, clientID)) {
			return nil, authport.NewError(authport.ErrInvalidCredential, Name, authport.OpVerify, "authorized party not accepted")
		}
	}
	perms := c.Strings("permissions")
	scope := c.String("scope")
	all := make([]string, 0, len(perms)+4)
	for _, p := range perms {
		if !slices.Contains(all, p) {
			all = append(all, p)
		}
	}
	for _, p := range strings.Fields(scope) {
		if !slices.Contains(oidcScopes, p) && !slices.Contains(all, p) {
			all = append(all, p)
		}
	}
	var roles []string
	if a.cfg.RolesClaim != "" {
		roles = claimpath.Strings(c.Raw, a.cfg.RolesClaim)
	}
	email := c.String("email")
	if a.cfg.EmailClaim != "" {
		if e := c.String(a.cfg.EmailClaim); e != "" {
			email = e
		}
	}
	claims := &Claims{
		Scope:           scope,
		Permissions:     perms,
		Roles:           roles,
		AuthorizedParty: azp,
		ClientID:        clientID,
		GrantType:       c.String("gty"),
		OrgID:           c.String("org_id"),
		OrgName:         c.String("org_name"),
		SessionID:       c.String("sid"),
		Raw:             c.Raw,
	}
	vc := &validator.ValidatedClaims{
		CustomClaims: claims,
		RegisteredClaims: validator.RegisteredClaims{
			Issuer: c.Issuer, Subject: c.Subject, Audience: c.Audience, ID: c.JTI,
			Expiry: unix(c.ExpiresAt), NotBefore: unix(c.NotBefore), IssuedAt: unix(c.IssuedAt),
		},
	}
	if a.cfg.CustomClaims != nil {
		cc, err := decodeCustom(a.cfg.CustomClaims, c.Raw)
		if err != nil {
			return nil, err
		}
		vc.CustomClaims = cc
	}
	s := &authport.Session{
		Provider:      Name,
		Issuer:        c.Issuer,
		UserID:        c.Subject,
		SessionID:     claims.SessionID,
		TokenID:       c.JTI,
		Email:         email,
		EmailVerified: c.Bool("email_verified"),
		OrgID:         claims.OrgID,
		OrgSlug:       claims.OrgName,
		Roles:         roles,
		Permissions:   all,
		Scopes:        claimpath.Words(scope),
		AuthMethods:   c.Strings("amr"),
		IssuedAt:      c.IssuedAt,
		ExpiresAt:     c.ExpiresAt,
		Claims:        c.Raw,
		Native:        vc,
	}
	return s, nil
}

func unix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}
