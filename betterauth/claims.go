package betterauth

import (
	"strings"
	"time"

	"github.com/authport/authport"
	"github.com/authport/authport/internal/claimpath"
	"github.com/authport/authport/internal/jwtcore"
)

// roles splits the admin plugin's role field, a comma-separated list
// ("admin,user"), as the plugin does.
func roles(v string) []string {
	var out []string
	for r := range strings.SplitSeq(v, ",") {
		if r = strings.TrimSpace(r); r != "" {
			out = append(out, r)
		}
	}
	return out
}

// orgRole is how an organization plugin member role appears in
// Session.Roles: "org:<role>", so it never collides with an application
// role of the same name.
func orgRole(r string) []string {
	var out []string
	for _, x := range roles(r) {
		out = append(out, "org:"+x)
	}
	return out
}

// recordSession maps a session row joined to its user onto a Session.
func (a *Authenticator) recordSession(r *Record) *authport.Session {
	s := &authport.Session{
		Provider:      Name,
		Issuer:        a.origin,
		UserID:        r.UserID,
		SessionID:     r.SessionID,
		Email:         r.Email,
		EmailVerified: r.EmailVerified,
		OrgID:         r.ActiveOrganizationID,
		IssuedAt:      r.CreatedAt,
		ExpiresAt:     r.ExpiresAt,
		Native:        r,
	}
	if a.cfg.RolesClaim != "-" {
		s.Roles = roles(r.Role)
	}
	if r.ActiveOrganizationID != "" {
		s.Roles = append(s.Roles, orgRole(r.MemberRole)...)
	}
	return s
}

// jwtSession maps a verified JWT plugin token: the plugin puts the whole
// user object in the payload with sub = user id; it carries no session id
// and no active organisation unless the application's definePayload adds
// them ("sid"/"sessionId", "activeOrganizationId").
func (a *Authenticator) jwtSession(c *jwtcore.Claims) (*authport.Session, error) {
	if c.Subject == "" {
		return nil, invalid(authport.OpVerify, "token has no subject")
	}
	if id := c.String("id"); id != "" && id != c.Subject {
		return nil, invalid(authport.OpVerify, "token's id and sub differ")
	}
	s := &authport.Session{
		Provider:      Name,
		Issuer:        c.Issuer,
		UserID:        c.Subject,
		TokenID:       c.JTI,
		Email:         c.String("email"),
		EmailVerified: c.Bool("emailVerified"),
		OrgID:         c.String("activeOrganizationId"),
		IssuedAt:      c.IssuedAt,
		ExpiresAt:     c.ExpiresAt,
		Claims:        c.Raw,
		Native:        c,
	}
	if sid := c.String("sid"); sid != "" {
		s.SessionID = sid
	} else {
		s.SessionID = c.String("sessionId")
	}
	if a.cfg.RolesClaim != "-" {
		// The admin plugin's role is a comma-separated string; an
		// application's definePayload may put a list there instead.
		if v, ok := claimpath.Lookup(c.Raw, a.cfg.RolesClaim).(string); ok {
			s.Roles = roles(v)
		} else {
			s.Roles = claimpath.Strings(c.Raw, a.cfg.RolesClaim)
		}
	}
	if c.Bool("banned") && !a.cfg.AllowBanned {
		return nil, authport.NewError(authport.ErrRevoked, Name, authport.OpVerify, "the user is banned")
	}
	return s, nil
}

// sessionJSON is {session, user} as the library serialises it: the answer
// of GET /get-session, and the cookie cache's payload (which adds version).
type sessionJSON struct {
	Session struct {
		ID                   string    `json:"id"`
		Token                string    `json:"token"`
		ExpiresAt            time.Time `json:"expiresAt"`
		CreatedAt            time.Time `json:"createdAt"`
		UserID               string    `json:"userId"`
		ActiveOrganizationID string    `json:"activeOrganizationId"`
	} `json:"session"`
	User struct {
		ID            string     `json:"id"`
		Email         string     `json:"email"`
		Name          string     `json:"name"`
		EmailVerified bool       `json:"emailVerified"`
		Role          string     `json:"role"`
		Banned        bool       `json:"banned"`
		BanExpires    *time.Time `json:"banExpires"`
	} `json:"user"`
	Version *string `json:"version"`
}

func (p *sessionJSON) record() *Record {
	r := &Record{
		SessionID: p.Session.ID, ExpiresAt: p.Session.ExpiresAt, CreatedAt: p.Session.CreatedAt,
		UserID: p.User.ID, Email: p.User.Email, Name: p.User.Name, EmailVerified: p.User.EmailVerified,
		Role: p.User.Role, Banned: p.User.Banned, ActiveOrganizationID: p.Session.ActiveOrganizationID,
	}
	if p.User.BanExpires != nil {
		r.BanExpires = *p.User.BanExpires
	}
	return r
}
