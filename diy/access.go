package diy

import (
	"encoding/json"
	"slices"
	"strconv"
	"unicode/utf8"
)

// Limits on a user's Access. Beyond them a call is ErrInvalidInput and
// changes nothing.
const (
	// MaxRoles is the most roles a user may hold; a role has 1 to 64 bytes.
	MaxRoles = 64
	// MaxPermissions is the most permissions a user may hold; a
	// permission has 1 to 128 bytes.
	MaxPermissions = 64
	// MaxAccessSize bounds a user's roles, permissions and organisation
	// together, measured as the JSON they add to an access token. It keeps
	// a JWT-mode access token, with its refresh token, within authport's
	// sealed session cookie (4 KiB) whatever the rest of the token holds.
	MaxAccessSize = 1024

	maxRoleLen       = 64
	maxPermissionLen = 128
	maxOrgLen        = 64
)

// Access is what a user may do: application roles, fine-grained
// permissions and the user's organisation (one per user). A session
// carries a snapshot of it taken at sign-in (Session.Roles,
// Session.Permissions, Session.OrgID, Session.OrgSlug; in JWT mode the
// access-token claims "roles", "permissions", "org_id" and "org_slug"), so
// that authport.RequireRole, RequirePermission and RequireOrg work with
// DIY as with the hosted providers. Changing it ends the user's sessions
// (see Backend.SetAccess).
//
// Every value is valid UTF-8 without spaces, commas or control characters.
// Roles and permissions are sets: duplicates are dropped and the lists
// sorted. See MaxRoles, MaxPermissions and MaxAccessSize for the limits.
type Access struct {
	// Roles are application roles ("admin").
	Roles []string
	// Permissions are fine-grained permissions ("reports:read").
	Permissions []string
	// OrgID is the user's organisation; empty for none. It has at most 64
	// bytes.
	OrgID string
	// OrgSlug is the organisation's slug or short name (optional; at most
	// 64 bytes; only with an OrgID).
	OrgSlug string
}

// equal reports whether a and o grant the same thing (both normalised).
func (a Access) equal(o Access) bool {
	return slices.Equal(a.Roles, o.Roles) && slices.Equal(a.Permissions, o.Permissions) && a.OrgID == o.OrgID && a.OrgSlug == o.OrgSlug
}

// loose normalises access read from a store without judging it (records
// written before a limit existed still compare).
func (a Access) loose() Access {
	set := func(l []string) []string {
		l = slices.Clone(l)
		slices.Sort(l)
		return slices.Compact(l)
	}
	return Access{Roles: set(a.Roles), Permissions: set(a.Permissions), OrgID: a.OrgID, OrgSlug: a.OrgSlug}
}

// checkName checks one role, permission or organisation value.
func checkName(op, what, v string, maxLen int) error {
	if v == "" || len(v) > maxLen || !utf8.ValidString(v) {
		return invalidInput(op, "a "+what+" must have 1 to "+strconv.Itoa(maxLen)+" bytes of UTF-8")
	}
	for _, c := range v {
		if c <= ' ' || c == ',' || c == 0x7f || (c >= 0x80 && c <= 0x9f) || c == '\u2028' || c == '\u2029' || c == utf8.RuneError {
			return invalidInput(op, "a "+what+" must not contain spaces, commas or control characters")
		}
	}
	return nil
}

// checkSet validates and normalises a role or permission list: sorted,
// duplicates removed, never nil.
func checkSet(op, what string, l []string, maxN, maxLen int) ([]string, error) {
	if len(l) > maxN {
		return nil, invalidInput(op, "more than "+strconv.Itoa(maxN)+" "+what+"s")
	}
	out := make([]string, 0, len(l))
	for _, v := range l {
		if err := checkName(op, what, v, maxLen); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// checkRoles validates and normalises a role list: at most MaxRoles roles
// of 1–64 bytes, printable, without spaces or commas; duplicates removed;
// sorted.
func checkRoles(roles []string) ([]string, error) {
	return checkSet("roles", "role", roles, MaxRoles, maxRoleLen)
}

// checkPermissions is checkRoles for permissions (1–128 bytes each).
func checkPermissions(perms []string) ([]string, error) {
	return checkSet("permissions", "permission", perms, MaxPermissions, maxPermissionLen)
}

// checkOrg validates an organisation id and slug; both empty means none.
func checkOrg(id, slug string) error {
	const op = "organization"
	if id == "" {
		if slug != "" {
			return invalidInput(op, "an organisation slug needs an organisation id")
		}
		return nil
	}
	if err := checkName(op, "organisation id", id, maxOrgLen); err != nil {
		return err
	}
	if slug != "" {
		return checkName(op, "organisation slug", slug, maxOrgLen)
	}
	return nil
}

// checkAccess validates and normalises a, including the MaxAccessSize
// budget.
func checkAccess(a Access) (Access, error) {
	var err error
	if a.Roles, err = checkRoles(a.Roles); err != nil {
		return Access{}, err
	}
	if a.Permissions, err = checkPermissions(a.Permissions); err != nil {
		return Access{}, err
	}
	if err := checkOrg(a.OrgID, a.OrgSlug); err != nil {
		return Access{}, err
	}
	if accessSize(a) > MaxAccessSize {
		return Access{}, invalidInput("access", "roles, permissions and organisation exceed "+strconv.Itoa(MaxAccessSize)+" bytes together")
	}
	return a, nil
}

// accessSize is the JSON a carries into an access token.
func accessSize(a Access) int {
	b, _ := json.Marshal(struct {
		Roles       []string `json:"roles,omitempty"`
		Permissions []string `json:"permissions,omitempty"`
		OrgID       string   `json:"org_id,omitempty"`
		OrgSlug     string   `json:"org_slug,omitempty"`
	}{a.Roles, a.Permissions, a.OrgID, a.OrgSlug})
	return len(b)
}
