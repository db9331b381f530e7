package testenv

import (
	"fmt"
	"strings"
	"testing"
)

// fakeTB records Fatalf and Skipf instead of stopping the goroutine.
type fakeTB struct {
	testing.TB
	fatal, skip string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Fatalf(format string, args ...any) { f.fatal = fmt.Sprintf(format, args...) }

func (f *fakeTB) Skipf(format string, args ...any) { f.skip = fmt.Sprintf(format, args...) }

func TestRequire(t *testing.T) {
	helpers := []struct {
		key string
		get func(testing.TB) string
	}{
		{PostgresURLVar, Postgres},
		{RedisURLVar, Redis},
		{FirebaseHostVar, FirebaseHost},
		{FirebaseProjectVar, FirebaseProject},
		{ChromiumVar, Chromium},
		{"AUTHPORT_TEST_OTHER", func(tb testing.TB) string { return Require(tb, "AUTHPORT_TEST_OTHER") }},
	}
	cases := []struct {
		name      string
		value, ci string
		wantFatal bool
		wantSkip  bool
	}{
		{name: "set", value: "x://127.0.0.1:1", ci: "true"},
		{name: "set outside CI", value: "x://127.0.0.1:1", ci: ""},
		{name: "unset in CI fails", ci: "true", wantFatal: true},
		{name: "unset outside CI skips", ci: "", wantSkip: true},
		{name: "CI=false skips", ci: "false", wantSkip: true},
		{name: "CI=1 skips", ci: "1", wantSkip: true},
	}
	for _, h := range helpers {
		for _, c := range cases {
			t.Run(h.key+"/"+c.name, func(t *testing.T) {
				t.Setenv(h.key, c.value)
				t.Setenv("CI", c.ci)
				f := &fakeTB{}
				got := h.get(f)
				if got != c.value {
					t.Errorf("got %q, want %q", got, c.value)
				}
				if (f.fatal != "") != c.wantFatal {
					t.Errorf("Fatalf called = %v (%q), want %v", f.fatal != "", f.fatal, c.wantFatal)
				}
				if (f.skip != "") != c.wantSkip {
					t.Errorf("Skipf called = %v (%q), want %v", f.skip != "", f.skip, c.wantSkip)
				}
				for _, msg := range []string{f.fatal, f.skip} {
					if msg == "" {
						continue
					}
					if !strings.Contains(msg, h.key) || !strings.Contains(msg, "scripts/services.sh up") {
						t.Errorf("message %q should name %s and scripts/services.sh up", msg, h.key)
					}
				}
			})
		}
	}
}
