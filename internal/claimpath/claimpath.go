// Package claimpath is the one rule every adapter uses to find the claim a
// configuration names (RolesClaim, PermissionsClaim, OrgClaim): the exact
// claim name first, then a dotted path into JSON objects. Roles are read
// with Strings (a string is one role), permissions with Fields (a string is
// space-separated, as OAuth scopes are), organisations with String. A path segment
// may itself contain dots, so URL-shaped names work at any depth:
// "https://example.com/roles" is an exact top-level claim, and
// "https://example.com/app.roles" reaches "roles" inside the object claim
// "https://example.com/app".
package claimpath

import "strings"

// maxDepth bounds how deep a path may reach (and the work a hostile claim
// set can cause).
const maxDepth = 8

// Lookup returns the value name refers to in claims, or nil.
func Lookup(claims map[string]any, name string) any {
	if name == "" || claims == nil {
		return nil
	}
	return lookup(claims, name, 0)
}

func lookup(m map[string]any, name string, depth int) any {
	if v, ok := m[name]; ok {
		return v
	}
	if depth >= maxDepth {
		return nil
	}
	// Split at each dot, the longest key first, so a key containing dots
	// ("https://example.com/app") wins over a shorter one.
	for i := strings.LastIndexByte(name, '.'); i > 0; i = strings.LastIndexByte(name[:i], '.') {
		child, ok := m[name[:i]].(map[string]any)
		if !ok || i+1 >= len(name) {
			continue
		}
		if v := lookup(child, name[i+1:], depth+1); v != nil {
			return v
		}
	}
	return nil
}

// String returns the string name refers to ("" if absent or not a string).
func String(claims map[string]any, name string) string {
	s, _ := Lookup(claims, name).(string)
	return s
}

// Strings returns the list name refers to: a JSON array's non-empty string
// elements, or a single string as one element ("super admin" is one role);
// duplicates are removed, order kept.
func Strings(claims map[string]any, name string) []string {
	if s, ok := Lookup(claims, name).(string); ok {
		return Words([]string{strings.TrimSpace(s)})
	}
	return Words(Lookup(claims, name))
}

// Fields returns the list name refers to like Strings, except that a single
// string is split at spaces: the rule for permission claims, which
// providers write in the OAuth "scope" style ("read:a write:b").
func Fields(claims map[string]any, name string) []string {
	return Words(Lookup(claims, name))
}

// Words converts a claim value to a list of strings: a JSON array's
// non-empty string elements, or a space-separated string split into words
// (the OAuth "scope" claim); duplicates are removed, order kept.
func Words(v any) []string {
	var in []string
	switch t := v.(type) {
	case string:
		in = strings.Fields(t)
	case []any:
		in = make([]string, 0, len(t))
		for _, e := range t {
			if s, ok := e.(string); ok && s != "" {
				in = append(in, s)
			}
		}
	case []string:
		in = t
	default:
		return nil
	}
	out := in[:0:0]
	for _, s := range in {
		if s != "" && !contains(out, s) {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func contains(l []string, s string) bool {
	for _, e := range l {
		if e == s {
			return true
		}
	}
	return false
}
