package safetext

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
)

func TestCode(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"invalid_grant", "invalid_grant"},
		{"user.not-found", "user.not-found"},
		{"INVALID_PASSWORD", "INVALID_PASSWORD"},
		{"", ""},
		{strings.Repeat("a", MaxCode), strings.Repeat("a", MaxCode)},
		{strings.Repeat("a", MaxCode+1), ""},
		{"has space", ""},
		{"a@b.example", ""},
		{"eyJhbGciOi.x.y", ""},
		{"mfa-totp", "mfa-totp"},
		{"x\ny", ""},
		{"é", ""},
		{"a/b?c=d", ""},
	} {
		if got := Code(tc.in); got != tc.want {
			t.Errorf("Code(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestMessage(t *testing.T) {
	jwt := "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln"
	for _, tc := range []struct{ in, want string }{
		{"Invalid login credentials", "Invalid login credentials"},
		{"token " + jwt + " expired", ""},
		{"user ada@example.com not found", ""},
		{"opaque " + strings.Repeat("x", maxWord+1), ""},
		{"line\nbreak", ""},
		{"bell\x07", ""},
		{"del\x7f", ""},
		{strings.Repeat("word ", 100), strings.Repeat("word ", 100)[:MaxMessage]},
		{"", ""},
	} {
		if got := Message(tc.in); got != tc.want {
			t.Errorf("Message(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestFirstLine(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"bad config", "bad config"},
		{"status 400\n{\"secret\":\"s3cr3t\"}", "status 400"},
		{"", ""},
	} {
		if got := FirstLine(errors.New(tc.in)); got != tc.want {
			t.Errorf("FirstLine(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestRedact(t *testing.T) {
	ue := &url.Error{Op: "Get", URL: "https://idp.example/token?client_secret=s3cr3t", Err: context.DeadlineExceeded}
	for _, tc := range []struct {
		name string
		in   error
		want error
	}{
		{"url error", ue, context.DeadlineExceeded},
		{"wrapped url error", errors.Join(errors.New("fetch"), ue), context.DeadlineExceeded},
		{"other", context.Canceled, context.Canceled},
		{"nil", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Redact(tc.in)
			if got != tc.want {
				t.Fatalf("Redact = %v, want %v", got, tc.want)
			}
			if got != nil && strings.Contains(got.Error(), "s3cr3t") {
				t.Fatalf("Redact kept the secret: %v", got)
			}
		})
	}
}
