package authjs

import (
	"context"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/authport/authport"
)

// Token is a verified JWT-strategy session: the claims Auth.js's default
// jwt callback writes, plus whatever the application's callback adds (in
// Claims). Reach it with Session.As.
type Token struct {
	// Subject is the user id ("sub").
	Subject string
	// Email, Name and Picture are the user's, as the sign-in provider
	// gave them.
	Email, Name, Picture string
	// ID is the token id ("jti"), new for every re-encryption.
	ID string
	// IssuedAt and ExpiresAt are "iat" and "exp".
	IssuedAt, ExpiresAt time.Time
	// Claims are all the decrypted claims.
	Claims map[string]any
}

// SessionStore looks up database-strategy sessions. authjspg implements it
// for the @auth/pg-adapter schema; an application on another adapter
// (Prisma, Drizzle, …) can implement it over its own tables.
type SessionStore interface {
	// SessionAndUser returns the session whose token is token, joined to
	// its user, or nil (and no error) when there is none. An error means
	// the database could not be asked.
	SessionAndUser(ctx context.Context, token string) (*DBSession, error)
	// DeleteSession deletes the session with row id id (Auth.js's
	// signOut deletes it the same way). Deleting a missing session is not
	// an error.
	DeleteSession(ctx context.Context, id string) error
}

// DBSession is a database session row and its user.
type DBSession struct {
	// ID is the session row's id; UserID the user's.
	ID, UserID string
	// Expires is the session's expiry; Auth.js slides it forward when the
	// user uses the JavaScript application.
	Expires time.Time
	// Email, Name and Image are the user's columns.
	Email, Name, Image string
	// EmailVerified reports whether "emailVerified" is set.
	EmailVerified bool
	// Roles is the role column (Config.RolesClaim), if the table has it.
	Roles []string
}

// sessionFromClaims checks the registered times and maps the claims.
func (a *Authenticator) sessionFromClaims(c map[string]any) (*authport.Session, error) {
	now := a.cfg.Clock()
	exp, ok := numericDate(c["exp"])
	if !ok {
		return nil, invalid(`"exp" is missing or malformed`)
	}
	if now.After(exp.Add(a.cfg.Leeway)) {
		return nil, expired("the session has expired")
	}
	var iat time.Time
	if v, present := c["iat"]; present {
		if iat, ok = numericDate(v); !ok {
			return nil, invalid(`"iat" is malformed`)
		}
	}
	if v, present := c["nbf"]; present {
		nbf, ok := numericDate(v)
		if !ok {
			return nil, invalid(`"nbf" is malformed`)
		}
		if nbf.After(now.Add(a.cfg.Leeway)) {
			return nil, invalid("the token is not valid yet")
		}
	}
	t := &Token{Claims: c, IssuedAt: iat, ExpiresAt: exp}
	var bad bool
	str := func(name string) string {
		v, present := c[name]
		if !present || v == nil {
			return ""
		}
		s, ok := v.(string)
		bad = bad || !ok
		return s
	}
	t.Subject, t.Email, t.Name, t.Picture, t.ID = str("sub"), str("email"), str("name"), str("picture"), str("jti")
	if bad {
		return nil, invalid("a registered claim is not a string")
	}
	if t.Subject == "" {
		return nil, invalid(`"sub" is missing`)
	}
	return &authport.Session{
		Provider:  Name,
		UserID:    t.Subject,
		TokenID:   t.ID,
		Email:     t.Email,
		Roles:     rolesOf(a.rolesValue(c)),
		IssuedAt:  iat,
		ExpiresAt: exp,
		Claims:    c,
		Native:    t,
	}, nil
}

// sessionFromDB maps a database session; its Claims use the JWT claim
// names (sub, email, name, picture, the role claim), so an application
// reads both strategies alike.
func (a *Authenticator) sessionFromDB(s *DBSession) *authport.Session {
	claims := map[string]any{"sub": s.UserID}
	for name, v := range map[string]string{"email": s.Email, "name": s.Name, "picture": s.Image} {
		if v != "" {
			claims[name] = v
		}
	}
	if len(s.Roles) > 0 && a.cfg.RolesClaim != "-" {
		claims[a.cfg.RolesClaim] = strings.Join(s.Roles, " ")
	}
	return &authport.Session{
		Provider:      Name,
		UserID:        s.UserID,
		SessionID:     s.ID,
		Email:         s.Email,
		EmailVerified: s.EmailVerified,
		Roles:         append([]string(nil), s.Roles...),
		ExpiresAt:     s.Expires,
		Claims:        claims,
		Native:        s,
	}
}

// rolesValue returns the value at the dotted path Config.RolesClaim.
func (a *Authenticator) rolesValue(c map[string]any) any {
	if a.cfg.RolesClaim == "-" {
		return nil
	}
	var cur any = c
	for part := range strings.SplitSeq(a.cfg.RolesClaim, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[part]
	}
	return cur
}

// rolesOf reads a role claim: one role as a string, or a list of strings.
func rolesOf(v any) []string {
	switch t := v.(type) {
	case string:
		if t != "" {
			return []string{t}
		}
	case []any:
		var out []string
		for _, e := range t {
			if s, ok := e.(string); ok && s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// numericDate reads a JSON number of seconds since the epoch.
func numericDate(v any) (time.Time, bool) {
	f, ok := v.(float64)
	if !ok || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1e11 {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true
}

func validUTF8(b []byte) bool { return utf8.Valid(b) }
