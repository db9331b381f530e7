package clerk

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/authport/authport"
	"github.com/authport/authport/internal/claimpath"
	"github.com/authport/authport/internal/jwtcore"
	clerksdk "github.com/clerk/clerk-sdk-go/v2"
)

// invalid is a claims-shape failure: the token verified, but a Clerk claim
// has a type the SDK would refuse to decode.
func invalid(reason string) error {
	return authport.NewError(authport.ErrInvalidCredential, Name, authport.OpVerify, reason)
}

// The claims decoded into strings by clerk.SessionClaims and the SDK's
// version-2 claims.
var stringClaims = []string{"sid", "azp", "org_id", "org_slug", "org_role", "fea", "sts"}
var orgStringClaims = []string{"id", "slg", "rol", "per", "fpm"}

// checkShape refuses claim values the SDK's JSON decoding would refuse
// (so the adapter rejects every token jwt.Verify rejects). JSON null is
// accepted wherever the SDK accepts it.
func checkShape(raw map[string]any) error {
	for _, name := range stringClaims {
		if v, ok := raw[name]; ok && v != nil {
			if _, ok := v.(string); !ok {
				return invalid("malformed " + name)
			}
		}
	}
	if v, ok := raw["v"]; ok && v != nil {
		if _, ok := integral(v); !ok {
			return invalid("malformed v")
		}
	}
	if v, ok := raw["org_permissions"]; ok && v != nil {
		arr, ok := v.([]any)
		if !ok {
			return invalid("malformed org_permissions")
		}
		for _, e := range arr {
			if _, ok := e.(string); !ok && e != nil {
				return invalid("malformed org_permissions")
			}
		}
	}
	if v, ok := raw["fva"]; ok && v != nil {
		arr, ok := v.([]any)
		if !ok {
			return invalid("malformed fva")
		}
		for _, e := range arr {
			if _, ok := integral(e); !ok && e != nil {
				return invalid("malformed fva")
			}
		}
	}
	if v, ok := raw["o"]; ok && v != nil {
		o, ok := v.(map[string]any)
		if !ok {
			return invalid("malformed o")
		}
		for _, name := range orgStringClaims {
			if e, ok := o[name]; ok && e != nil {
				if _, ok := e.(string); !ok {
					return invalid("malformed o." + name)
				}
			}
		}
	}
	return nil
}

// integral reports whether v is a JSON number that decodes into an int64.
func integral(v any) (int64, bool) {
	f, ok := v.(float64)
	if !ok || math.IsNaN(f) || math.IsInf(f, 0) || f != math.Trunc(f) || f < -(1<<63) || f >= 1<<63 {
		return 0, false
	}
	return int64(f), true
}

func str(m map[string]any, name string) string {
	s, _ := m[name].(string)
	return s
}

// toSession maps verified Clerk claims to a Session (see the package
// documentation for the rules).
func (a *Authenticator) toSession(c *jwtcore.Claims) (*authport.Session, error) {
	raw := c.Raw
	if err := checkShape(raw); err != nil {
		return nil, err
	}
	native := nativeClaims(c)
	s := &authport.Session{
		Provider:  Name,
		Issuer:    c.Issuer,
		UserID:    c.Subject,
		SessionID: native.SessionID,
		TokenID:   c.JTI,
		OrgID:     native.ActiveOrganizationID,
		OrgSlug:   native.ActiveOrganizationSlug,
		IssuedAt:  c.IssuedAt,
		ExpiresAt: c.ExpiresAt,
		Claims:    raw,
		Native:    native,
	}
	if r := native.ActiveOrganizationRole; r != "" && r != "org:" {
		s.Roles = []string{r}
	}
	if len(native.ActiveOrganizationPermissions) > 0 {
		s.Permissions = slices.Clone(native.ActiveOrganizationPermissions)
	}
	s.Roles = appendNew(s.Roles, claimpath.Strings(raw, a.cfg.RolesClaim))
	s.Permissions = appendNew(s.Permissions, claimpath.Fields(raw, a.cfg.PermissionsClaim))
	switch sts := str(raw, "sts"); sts {
	case "", "active":
		s.Status = "active"
	default:
		// "pending" (a required step, such as choosing an organisation,
		// is unfinished); an unknown status fails closed the same way.
		s.Status = authport.StatusPending
	}
	s.Email = str(raw, "email")
	if b, ok := raw["email_verified"].(bool); ok {
		s.EmailVerified = b
	}
	return s, nil
}

func appendNew(dst, src []string) []string {
	for _, v := range src {
		if v != "" && !slices.Contains(dst, v) {
			dst = append(dst, v)
		}
	}
	return dst
}

// nativeClaims builds the SDK's own *clerk.SessionClaims from verified
// claims, as jwt.Verify fills it: version-2 organisation claims ("o" with
// an id) become ActiveOrganization* with the role prefixed "org:" and the
// permissions expanded from "fea"/"o.per"/"o.fpm"; otherwise Version is 1
// and the version-1 claims (org_id, org_slug, org_role, org_permissions)
// are used. The registered-claim times are set, but the value's
// ValidateWithLeeway has nothing to check: authport has already verified
// them.
func nativeClaims(c *jwtcore.Claims) *clerksdk.SessionClaims {
	raw := c.Raw
	sc := &clerksdk.SessionClaims{}
	sc.Issuer, sc.Subject, sc.ID = c.Issuer, c.Subject, c.JTI
	if len(c.Audience) > 0 {
		sc.Audience = c.Audience
	}
	if !c.ExpiresAt.IsZero() {
		sc.Expiry = clerksdk.Int64(c.ExpiresAt.Unix())
	}
	if !c.NotBefore.IsZero() {
		sc.NotBefore = clerksdk.Int64(c.NotBefore.Unix())
	}
	if !c.IssuedAt.IsZero() {
		sc.IssuedAt = clerksdk.Int64(c.IssuedAt.Unix())
	}
	v, _ := integral(raw["v"])
	sc.Version = int(v)
	sc.SessionID = str(raw, "sid")
	sc.AuthorizedParty = str(raw, "azp")
	if act, ok := raw["act"]; ok && act != nil {
		if b, err := json.Marshal(act); err == nil {
			sc.Actor = b
		}
	}
	if fva, ok := raw["fva"].([]any); ok {
		for i := 0; i < len(fva) && i < 2; i++ {
			sc.FactorVerificationAge[i], _ = integral(fva[i])
		}
	}
	o, _ := raw["o"].(map[string]any)
	if sc.Version == 2 && str(o, "id") != "" {
		sc.ActiveOrganizationID = str(o, "id")
		sc.ActiveOrganizationSlug = str(o, "slg")
		sc.ActiveOrganizationRole = "org:" + str(o, "rol")
		sc.ActiveOrganizationPermissions = OrganizationPermissions(str(raw, "fea"), str(o, "per"), str(o, "fpm"))
	} else {
		sc.Version = 1
		sc.ActiveOrganizationID = str(raw, "org_id")
		sc.ActiveOrganizationSlug = str(raw, "org_slug")
		sc.ActiveOrganizationRole = str(raw, "org_role")
		if perms, ok := raw["org_permissions"].([]any); ok {
			for _, p := range perms {
				if s, ok := p.(string); ok {
					sc.ActiveOrganizationPermissions = append(sc.ActiveOrganizationPermissions, s)
				}
			}
		}
	}
	return sc
}

// OrganizationPermissions expands version-2 session-token claims into
// organisation permissions exactly as the SDK does: for the i-th entry of
// fea ("<scope>:<feature>", comma-separated) whose scope includes "o", the
// i-th integer of fpm is a bit mask over per (comma-separated permission
// names, least significant bit first), and each set bit j grants
// "org:<feature>:<per[j]>". Malformed entries are skipped.
func OrganizationPermissions(fea, per, fpm string) []string {
	perms := strings.Split(per, ",")
	maps := strings.Split(fpm, ",")
	out := make([]string, 0)
	for i, feature := range strings.Split(fea, ",") {
		sf := strings.Split(feature, ":")
		if len(sf) < 2 || !strings.Contains(sf[0], "o") || i >= len(maps) {
			continue
		}
		m, err := strconv.Atoi(maps[i])
		if err != nil {
			continue
		}
		var bits []int
		for n := m; n > 0; n >>= 1 {
			bits = append(bits, n&1)
		}
		if len(bits) > len(perms) {
			continue
		}
		for j, b := range bits {
			if b != 0 {
				out = append(out, "org:"+sf[1]+":"+perms[j])
			}
		}
	}
	return out
}
