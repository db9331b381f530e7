package auth0

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/auth0/go-jwt-middleware/v2/validator"

	"github.com/authport/authport"
)

// Claims are the Auth0-specific claims of a verified access token. A
// *Claims is the CustomClaims of the *validator.ValidatedClaims that
// ValidateToken returns and Session.Native holds (unless Config.CustomClaims
// supplies another type). It must be treated as read-only: verified tokens
// are cached and their claims shared.
type Claims struct {
	// Scope is the space-separated "scope" claim.
	Scope string `json:"scope,omitempty"`
	// Permissions is the RBAC "permissions" claim.
	Permissions []string `json:"permissions,omitempty"`
	// Roles is the claim named by Config.RolesClaim.
	Roles []string `json:"-"`
	// AuthorizedParty is "azp" (Auth0 token profile).
	AuthorizedParty string `json:"azp,omitempty"`
	// ClientID is "client_id" (RFC 9068 token profile).
	ClientID string `json:"client_id,omitempty"`
	// GrantType is "gty" ("password", "client-credentials", ...).
	GrantType string `json:"gty,omitempty"`
	// OrgID is "org_id", the organisation the user signed in to.
	OrgID string `json:"org_id,omitempty"`
	// OrgName is "org_name", when the tenant adds organisation names.
	OrgName string `json:"org_name,omitempty"`
	// SessionID is "sid", when present.
	SessionID string `json:"sid,omitempty"`
	// Raw holds every claim of the token.
	Raw map[string]any `json:"-"`
}

// Validate implements validator.CustomClaims; the verification core has
// already checked everything it needs to.
func (c *Claims) Validate(context.Context) error { return nil }

// HasScope reports whether the token's "scope" contains s.
func (c *Claims) HasScope(s string) bool {
	return c != nil && slices.Contains(strings.Fields(c.Scope), s)
}

// HasPermission reports whether the token's "permissions" contains p.
func (c *Claims) HasPermission(p string) bool {
	return c != nil && slices.Contains(c.Permissions, p)
}

var _ validator.CustomClaims = (*Claims)(nil)

// ValidateToken has the signature of go-jwt-middleware's
// jwtmiddleware.ValidateToken and returns what validator.ValidateToken
// returns, a *validator.ValidatedClaims, so that
//
//	jwtmiddleware.New(a.ValidateToken)
//
// replaces a middleware built on the SDK's validator with one line. The
// token goes through the same verification (and cache) as Verify; errors are
// authport errors (errors.Is with authport.ErrExpired and the other kinds),
// which jwtmiddleware's error handler treats as "JWT is invalid".
func (a *Authenticator) ValidateToken(ctx context.Context, token string) (any, error) {
	s, err := a.Verify(ctx, authport.Credential{Token: token, Source: authport.SourceHeader})
	if err != nil {
		return nil, err
	}
	return s.Native, nil
}

// decodeCustom decodes the verified claims into the application's custom
// claims type, as validator.WithCustomClaims does.
func decodeCustom(newClaims func() validator.CustomClaims, raw map[string]any) (validator.CustomClaims, error) {
	cc := newClaims()
	if cc == nil {
		return nil, authport.NewError(authport.ErrMisconfigured, Name, authport.OpVerify, "Config.CustomClaims returned nil")
	}
	b, err := json.Marshal(raw)
	if err == nil {
		err = json.Unmarshal(b, cc)
	}
	if err != nil {
		return nil, &authport.Error{Kind: authport.ErrInvalidCredential, Provider: Name, Op: authport.OpVerify, Reason: "claims do not fit the custom claims type", Err: err}
	}
	return cc, nil
}
