package clerktest

import (
	"strconv"
	"strings"
	"time"

	"github.com/authport/authport/internal/emulator"
)

// reservedClaims are set by Clerk and cannot be customized.
var reservedClaims = map[string]bool{
	"azp": true, "exp": true, "iat": true, "iss": true, "jti": true, "nbf": true, "sub": true, "sid": true,
	"v": true, "o": true, "fea": true, "sts": true, "act": true, "pla": true, "fva": true,
	"org_id": true, "org_slug": true, "org_role": true, "org_permissions": true,
}

// status maps a stored session to Clerk's status vocabulary.
func (s *Server) status(ss *emulator.Session) string {
	if ss.Status.Live() && !ss.ExpiresAt.IsZero() && !s.emu.Clock.Now().Before(ss.ExpiresAt) {
		return "expired"
	}
	return string(ss.Status)
}

// activeOrg returns the session's active organisation and the user's
// membership in it, if both still exist.
func (s *Server) activeOrg(ss *emulator.Session) (*org, *membership, []string) {
	if ss == nil || ss.OrgID == "" {
		return nil, nil, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.orgs[ss.OrgID]
	m := s.members[ss.OrgID][ss.UserID]
	if o == nil || m == nil {
		return nil, nil, nil
	}
	return o, m, append([]string(nil), s.roles[m.Role]...)
}

// sessionClaims is the emulator core's DefaultClaims hook: the claims of a
// Clerk session token for user u and session ss.
func (s *Server) sessionClaims(u *emulator.User, ss *emulator.Session) map[string]any {
	now := s.emu.Clock.Now()
	c := map[string]any{
		"iss": s.Issuer,
		"nbf": now.Unix() - 5,
		"jti": emulator.RandomHex(10),
	}
	if !s.opts.NoAuthorizedParty {
		c["azp"] = s.opts.AuthorizedParty
	}
	if s.opts.ClaimsVersion == 2 {
		c["v"] = 2
	}
	var o *org
	var m *membership
	var perms []string
	if ss != nil {
		c["fva"] = []int64{int64(now.Sub(ss.CreatedAt) / time.Minute), -1}
		if ss.Status == emulator.StatusPending {
			c["sts"] = "pending"
		}
		s.mu.Lock()
		if act := s.actors[ss.ID]; act != nil {
			c["act"] = cloneAny(act)
		}
		s.mu.Unlock()
		o, m, perms = s.activeOrg(ss)
	}
	if o != nil {
		custom := nonSystem(perms)
		if s.opts.ClaimsVersion == 2 {
			oc := map[string]any{"id": o.ID, "slg": o.Slug, "rol": strings.TrimPrefix(m.Role, "org:")}
			if fea, per, fpm := encodePermissions(custom); fea != "" {
				c["fea"] = fea
				oc["per"], oc["fpm"] = per, fpm
			}
			c["o"] = oc
		} else {
			c["org_id"], c["org_slug"], c["org_role"] = o.ID, o.Slug, m.Role
			c["org_permissions"] = custom
		}
	}
	s.mu.Lock()
	tmpl := s.claims
	s.mu.Unlock()
	for k, v := range tmpl {
		if !reservedClaims[k] {
			c[k] = s.expand(v, u, o, m)
		}
	}
	return c
}

// templateClaims are a JWT template's claims for a session.
func (s *Server) templateClaims(t JWTTemplate, u *emulator.User, ss *emulator.Session) map[string]any {
	now := s.emu.Clock.Now()
	c := map[string]any{"iss": s.Issuer, "nbf": now.Unix() - 5, "jti": emulator.RandomHex(10)}
	if !s.opts.NoAuthorizedParty {
		c["azp"] = s.opts.AuthorizedParty
	}
	o, m, _ := s.activeOrg(ss)
	for k, v := range t.Claims {
		switch k {
		case "iss", "sub", "iat", "exp", "nbf", "jti", "azp", "sid":
		default:
			c[k] = s.expand(v, u, o, m)
		}
	}
	return c
}

func nonSystem(perms []string) []string {
	out := []string{}
	for _, p := range perms {
		if !strings.HasPrefix(p, "org:sys_") {
			out = append(out, p)
		}
	}
	return out
}

// encodePermissions turns "org:<feature>:<permission>" strings into the
// version-2 claims: fea lists "o:<feature>" once per feature, per lists
// each permission name once, and fpm holds one bit mask per feature entry
// (bit j for per[j], least significant first).
func encodePermissions(perms []string) (fea, per, fpm string) {
	var features, names []string
	masks := map[string]int{}
	for _, p := range perms {
		parts := strings.SplitN(p, ":", 3)
		if len(parts) != 3 || parts[0] != "org" {
			continue
		}
		f, n := parts[1], parts[2]
		if _, ok := masks[f]; !ok {
			features = append(features, f)
			masks[f] = 0
		}
		j := -1
		for i, x := range names {
			if x == n {
				j = i
			}
		}
		if j < 0 {
			names = append(names, n)
			j = len(names) - 1
		}
		masks[f] |= 1 << j
	}
	if len(features) == 0 {
		return "", "", ""
	}
	fs := make([]string, len(features))
	ms := make([]string, len(features))
	for i, f := range features {
		fs[i] = "o:" + f
		ms[i] = strconv.Itoa(masks[f])
	}
	return strings.Join(fs, ","), strings.Join(names, ","), strings.Join(ms, ",")
}

// expand replaces Clerk shortcodes in a template value.
func (s *Server) expand(v any, u *emulator.User, o *org, m *membership) any {
	switch t := v.(type) {
	case string:
		if code, ok := wholeShortcode(t); ok {
			return s.shortcode(code, u, o, m)
		}
		if !strings.Contains(t, "{{") {
			return t
		}
		var b strings.Builder
		rest := t
		for {
			i := strings.Index(rest, "{{")
			if i < 0 {
				b.WriteString(rest)
				break
			}
			j := strings.Index(rest[i:], "}}")
			if j < 0 {
				b.WriteString(rest)
				break
			}
			b.WriteString(rest[:i])
			val := s.shortcode(strings.TrimSpace(rest[i+2:i+j]), u, o, m)
			switch x := val.(type) {
			case nil:
			case string:
				b.WriteString(x)
			default:
				b.WriteString(strings.Trim(jsonString(x), `"`))
			}
			rest = rest[i+j+2:]
		}
		return b.String()
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = s.expand(e, u, o, m)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = s.expand(e, u, o, m)
		}
		return out
	}
	return v
}

func wholeShortcode(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "{{") && strings.HasSuffix(s, "}}") && strings.Count(s, "{{") == 1 {
		return strings.TrimSpace(s[2 : len(s)-2]), true
	}
	return "", false
}

func (s *Server) shortcode(code string, u *emulator.User, o *org, m *membership) any {
	head, rest, _ := strings.Cut(code, ".")
	switch head {
	case "user":
		if u == nil {
			return nil
		}
		field, sub, _ := strings.Cut(rest, ".")
		switch field {
		case "id":
			return u.ID
		case "first_name", "last_name", "external_id":
			return nilIfEmpty(mdString(u, field))
		case "full_name":
			return nilIfEmpty(strings.TrimSpace(mdString(u, mdFirst) + " " + mdString(u, mdLast)))
		case "primary_email_address":
			return u.Email
		case "email_verified":
			return u.EmailVerified
		case "public_metadata", "unsafe_metadata":
			return dig(u.Metadata[field], sub)
		}
	case "org":
		if o == nil {
			return nil
		}
		field, sub, _ := strings.Cut(rest, ".")
		switch field {
		case "id":
			return o.ID
		case "name":
			return o.Name
		case "slug":
			return o.Slug
		case "role":
			return m.Role
		case "public_metadata":
			return dig(any(o.PublicMetadata), sub)
		}
	}
	return nil
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func dig(v any, path string) any {
	if path == "" {
		if m, ok := v.(map[string]any); ok {
			return cloneAny(m)
		}
		return v
	}
	for part := range strings.SplitSeq(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[part]
	}
	return v
}
