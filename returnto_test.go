package authport

import (
	"strings"
	"testing"
)

func TestSafeReturnTo(t *testing.T) {
	tests := []struct {
		raw, want string
	}{
		// Accepted.
		{"/", "/"},
		{"/app", "/app"},
		{"/app/x?y=1&z=%2F", "/app/x?y=1&z=%2F"},
		{"/a/b/", "/a/b/"},
		{"/search?q=a%20b", "/search?q=a%20b"},
		{"/caf%C3%A9", "/caf%C3%A9"},
		{"/a//b", "/a//b"},
		{"/javascript:alert(1)", "/javascript:alert(1)"},
		{"/100%25", "/100%25"},

		// Hostile.
		{"", "/"},
		{"app", "/"},
		{"https://evil.example/", "/"},
		{"http://evil.example", "/"},
		{"HTTPS://evil.example", "/"},
		{"//evil.example", "/"},
		{"//evil.example/path", "/"},
		{"///evil.example", "/"},
		{"/\\evil.example", "/"},
		{"\\\\evil.example", "/"},
		{"/app\\..\\..\\evil", "/"},
		{"/\t/evil.example", "/"},
		{"/\n/evil.example", "/"},
		{"/\r\n/evil.example", "/"},
		{"/ /evil.example", "/"},
		{"/\x00/evil", "/"},
		{"/\x7f", "/"},
		{"javascript:alert(1)", "/"},
		{"JavaScript:alert(1)", "/"},
		{"data:text/html,<script>alert(1)</script>", "/"},
		{"/%2F%2Fevil.example", "/"},
		{"/%2f/evil.example", "/"},
		{"%2F%2Fevil.example", "/"},
		{"/%5Cevil.example", "/"},
		{"/%5cevil.example", "/"},
		{"/%252F%252Fevil.example", "/"},
		{"/%25252F%25252Fevil.example", "/"},
		{"/%09/evil.example", "/"},
		{"/%0d%0aSet-Cookie:x=y", "/"},
		{"/%00", "/"},
		{"/%zz", "/"},
		{"/../evil", "/"},
		{"/app/../../evil", "/"},
		{"/./evil", "/"},
		{"/%2e%2e/%2e%2e//evil", "/"},
		{"/app#frag", "/"},
		{"/caf\u00e9", "/"},
		{"/\u2215\u2215evil.example", "/"},
		{"/" + strings.Repeat("a", maxReturnTo), "/"},
		{"https:/evil.example", "/"},
		{"/@evil.example", "/@evil.example"}, // a path, not userinfo
	}
	hostile := 0
	for _, tt := range tests {
		if tt.want == "/" && tt.raw != "/" {
			hostile++
		}
		t.Run(tt.raw, func(t *testing.T) {
			if got := SafeReturnTo(tt.raw); got != tt.want {
				t.Fatalf("SafeReturnTo(%q) = %q, want %q", tt.raw, got, tt.want)
			}
		})
	}
	if hostile < 20 {
		t.Fatalf("only %d hostile cases", hostile)
	}
}

func FuzzSafeReturnTo(f *testing.F) {
	for _, s := range []string{"/app", "//evil", "/%2F%2Fevil", "/\\evil", "/a?b=c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got := SafeReturnTo(raw)
		if got != "/" && got != raw {
			t.Fatalf("rewrote %q to %q", raw, got)
		}
		if got[0] != '/' || strings.HasPrefix(got, "//") || strings.ContainsAny(got, "\\\t\r\n #") {
			t.Fatalf("unsafe result %q", got)
		}
	})
}
