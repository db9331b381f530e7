package claimpath

import (
	"encoding/json"
	"slices"
	"testing"
)

func TestLookup(t *testing.T) {
	var claims map[string]any
	if err := json.Unmarshal([]byte(`{
		"roles": ["a", "b", "a", ""],
		"app_metadata": {"roles": ["admin"], "org": {"id": "org_1"}},
		"realm_access": {"roles": ["kc"]},
		"https://example.com/roles": ["ns"],
		"https://example.com/app": {"roles": ["deep"], "perms": "read write"},
		"a.b": "exact-dotted",
		"a": {"b": "path"},
		"scope": "openid email",
		"n": 3
	}`), &claims); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		want []string
	}{
		{"roles", []string{"a", "b"}},
		{"app_metadata.roles", []string{"admin"}},
		{"realm_access.roles", []string{"kc"}},
		{"https://example.com/roles", []string{"ns"}},
		{"https://example.com/app.roles", []string{"deep"}},
		{"https://example.com/app.perms", []string{"read write"}},
		{"a.b", []string{"exact-dotted"}},
		{"scope", []string{"openid email"}},
		{"n", nil},
		{"missing", nil},
		{"app_metadata.missing", nil},
		{"app_metadata.", nil},
		{".roles", nil},
		{"", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Strings(claims, tt.name); !slices.Equal(got, tt.want) {
				t.Fatalf("Strings(%q) = %q, want %q", tt.name, got, tt.want)
			}
		})
	}
	if got := Words(Lookup(claims, "scope")); !slices.Equal(got, []string{"openid", "email"}) {
		t.Fatalf("Words(scope) = %q", got)
	}
	if got := String(claims, "app_metadata.org.id"); got != "org_1" {
		t.Fatalf("String org = %q", got)
	}
	if Lookup(nil, "x") != nil {
		t.Fatal("nil claims")
	}
}

func TestLookupDepthBounded(t *testing.T) {
	m := map[string]any{}
	cur := m
	name := "k"
	for range 20 {
		next := map[string]any{}
		cur["k"] = next
		cur = next
		name += ".k"
	}
	cur["k"] = "leaf"
	if Lookup(m, name) != nil {
		t.Fatal("a path deeper than maxDepth was followed")
	}
	if Lookup(m, "k.k.k") == nil {
		t.Fatal("shallow path not found")
	}
}

func FuzzLookup(f *testing.F) {
	f.Add(`{"a":{"b.c":{"d":["x"]}}}`, "a.b.c.d")
	f.Fuzz(func(t *testing.T, js, name string) {
		var m map[string]any
		if json.Unmarshal([]byte(js), &m) != nil {
			return
		}
		_ = Strings(m, name)
	})
}
