package supabase

import (
	"math"
	"slices"
	"time"

	"github.com/supabase-community/auth-go/types"

	"github.com/authport/authport"
	"github.com/authport/authport/internal/claimpath"
	"github.com/authport/authport/internal/config"
	"github.com/authport/authport/internal/jwtcore"
)

// Claims are a verified Supabase access token's claims, typed. They are
// Session.Native; reach them with Session.As:
//
//	var c *supabase.Claims
//	if sess.As(&c) && c.AAL == "aal2" { ... }
//
// auth-go has no claims type of its own, so this one mirrors GoTrue's
// AccessTokenClaims. The raw claims stay in Session.Claims.
type Claims struct {
	// Issuer is "iss" (<SUPABASE_URL>/auth/v1).
	Issuer string
	// Subject is "sub", the user's UUID.
	Subject string
	// Audience is "aud" ("authenticated").
	Audience []string
	// IssuedAt and ExpiresAt are "iat" and "exp".
	IssuedAt, ExpiresAt time.Time
	// Email and Phone are the user's, as the token carries them.
	Email, Phone string
	// Role is the PostgreSQL role ("authenticated", "anon",
	// "service_role"). It is never an application role.
	Role string
	// AAL is the authenticator assurance level, "aal1" or "aal2".
	AAL string
	// AMR lists how the session was authenticated.
	AMR []AMR
	// SessionID is "session_id", the session's UUID.
	SessionID string
	// IsAnonymous reports an anonymous sign-in.
	IsAnonymous bool
	// AppMetadata is "app_metadata" (writable only by the server: the
	// admin API or hooks). Application roles and permissions live here.
	AppMetadata map[string]any
	// UserMetadata is "user_metadata", which the user can change
	// themselves: never base an authorization decision on it.
	UserMetadata map[string]any
	// ClientID and Scope are set for sessions of Supabase's OAuth server.
	ClientID, Scope string
	// Legacy reports a token signed with the legacy HS256 JWT secret.
	Legacy bool
	// User is the user record from GET /user, the SDK's own type; it is
	// set only on sessions returned by VerifyStrict.
	User *types.User
}

// AMR is one authentication method reference entry.
type AMR struct {
	// Method is "password", "otp", "oauth", "totp", "anonymous", ...
	Method string
	// Timestamp is when the method was used (zero if not given).
	Timestamp time.Time
	// Provider names the external provider for "oauth"/"sso/saml".
	Provider string
}

// toSession maps verified claims to a Session: UserID = sub, SessionID =
// session_id, roles and permissions from app_metadata (configurable claim
// paths), never from the Postgres "role".
func (a *Authenticator) toSession(c *jwtcore.Claims) (*authport.Session, error) {
	if !config.IsUUID(c.Subject) {
		return nil, authport.NewError(authport.ErrInvalidCredential, Name, "verify", "sub is not a UUID")
	}
	sid, present := c.Raw["session_id"]
	sidStr, isStr := sid.(string)
	if present && (!isStr || (sidStr != "" && !config.IsUUID(sidStr))) {
		return nil, authport.NewError(authport.ErrInvalidCredential, Name, "verify", "session_id is not a UUID")
	}
	nc := &Claims{
		Issuer:       c.Issuer,
		Subject:      c.Subject,
		Audience:     c.Audience,
		IssuedAt:     c.IssuedAt,
		ExpiresAt:    c.ExpiresAt,
		Email:        c.String("email"),
		Phone:        c.String("phone"),
		Role:         c.String("role"),
		AAL:          c.String("aal"),
		AMR:          parseAMR(c.Raw["amr"]),
		SessionID:    sidStr,
		IsAnonymous:  c.Bool("is_anonymous"),
		AppMetadata:  c.Object("app_metadata"),
		UserMetadata: c.Object("user_metadata"),
		ClientID:     c.String("client_id"),
		Scope:        c.String("scope"),
		Legacy:       c.Header.Alg == "HS256",
	}
	s := &authport.Session{
		Provider:  Name,
		Issuer:    c.Issuer,
		UserID:    c.Subject,
		SessionID: sidStr,
		TokenID:   c.JTI,
		Email:     nc.Email,
		IssuedAt:  c.IssuedAt,
		ExpiresAt: c.ExpiresAt,
		Claims:    c.Raw,
		Native:    nc,
	}
	if a.cfg.RolesClaim != "-" {
		s.Roles = claimpath.Strings(c.Raw, a.cfg.RolesClaim)
	}
	if a.cfg.PermissionsClaim != "-" {
		s.Permissions = claimpath.Fields(c.Raw, a.cfg.PermissionsClaim)
	}
	if a.cfg.OrgClaim != "" {
		s.OrgID = claimpath.String(c.Raw, a.cfg.OrgClaim)
	}
	for _, m := range nc.AMR {
		if m.Method != "" && !slices.Contains(s.AuthMethods, m.Method) {
			s.AuthMethods = append(s.AuthMethods, m.Method)
		}
	}
	return s, nil
}

// parseAMR reads GoTrue's [{"method","timestamp","provider"}] entries, and
// RFC 8176 plain strings should a hook emit them.
func parseAMR(v any) []AMR {
	list, ok := v.([]any)
	if !ok {
		return nil
	}
	out := make([]AMR, 0, len(list))
	for _, e := range list {
		switch t := e.(type) {
		case string:
			out = append(out, AMR{Method: t})
		case map[string]any:
			var m AMR
			m.Method, _ = t["method"].(string)
			m.Provider, _ = t["provider"].(string)
			if ts, ok := t["timestamp"].(float64); ok && ts > 0 && ts < 1<<53 && !math.IsInf(ts, 0) {
				m.Timestamp = time.Unix(int64(ts), 0)
			}
			if m.Method != "" {
				out = append(out, m)
			}
		}
	}
	return out
}
