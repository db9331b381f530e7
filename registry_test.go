package authport

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
)

type namedAuth struct {
	name string
	cfg  string
}

func (a namedAuth) Provider() string { return a.name }
func (a namedAuth) Verify(context.Context, Credential) (*Session, error) {
	return nil, ErrInvalidCredential
}

func init() {
	Register("regtest",
		func(_ context.Context, u *url.URL) (Authenticator, error) {
			return namedAuth{"regtest", u.Host + "|" + u.Query().Get("audience")}, nil
		},
		func(_ context.Context, getenv func(string) string) (Authenticator, error) {
			k := getenv("REGTEST_SECRET_KEY")
			if k == "" {
				return nil, NewError(ErrMisconfigured, "regtest", "open", "REGTEST_SECRET_KEY is not set")
			}
			return namedAuth{"regtest", "env"}, nil
		})
	Register("regtest-urlonly", func(context.Context, *url.URL) (Authenticator, error) { return namedAuth{"u", ""}, nil }, nil)
}

func envMap(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestRegistry(t *testing.T) {
	ctx := context.Background()
	if !slices.Contains(Providers(), "regtest") || !slices.IsSorted(Providers()) {
		t.Fatalf("Providers() = %v", Providers())
	}
	a, err := OpenURL(ctx, "REGTEST://tenant.example.com?audience=api")
	if err != nil || a.(namedAuth).cfg != "tenant.example.com|api" {
		t.Fatalf("OpenURL: %v %v", a, err)
	}
	a, err = FromEnvFunc(ctx, envMap(map[string]string{"AUTH_PROVIDER": "regtest", "REGTEST_SECRET_KEY": "sk_live_SECRET"}))
	if err != nil || a.(namedAuth).cfg != "env" {
		t.Fatalf("FromEnvFunc: %v %v", a, err)
	}
	a, err = FromEnvFunc(ctx, envMap(map[string]string{"AUTH_PROVIDER": "regtest://h?audience=x"}))
	if err != nil || a.(namedAuth).cfg != "h|x" {
		t.Fatalf("FromEnvFunc with URL: %v %v", a, err)
	}
	t.Setenv("REGTEST_SECRET_KEY", "k")
	if _, err := Open(ctx, "regtest"); err != nil {
		t.Fatalf("Open: %v", err)
	}

	errTests := []struct {
		name  string
		open  func() (Authenticator, error)
		names []string // must appear in the error
		never string   // must not appear
	}{
		{"no AUTH_PROVIDER", func() (Authenticator, error) { return FromEnvFunc(ctx, envMap(nil)) }, []string{"AUTH_PROVIDER", "regtest"}, ""},
		{"unknown name", func() (Authenticator, error) {
			return FromEnvFunc(ctx, envMap(map[string]string{"AUTH_PROVIDER": "sk_live_SECRET"}))
		}, []string{"AUTH_PROVIDER", "regtest"}, "sk_live_SECRET"},
		{"missing adapter variable", func() (Authenticator, error) {
			return FromEnvFunc(ctx, envMap(map[string]string{"AUTH_PROVIDER": "regtest"}))
		}, []string{"REGTEST_SECRET_KEY"}, ""},
		{"unknown scheme", func() (Authenticator, error) { return OpenURL(ctx, "nope://user:hunter2@h") }, []string{"regtest"}, "hunter2"},
		{"malformed URL", func() (Authenticator, error) { return OpenURL(ctx, "regtest://h/%zz?password=hunter2") }, nil, "hunter2"},
		{"no scheme", func() (Authenticator, error) { return OpenURL(ctx, "hunter2") }, nil, "hunter2"},
		{"env opener missing", func() (Authenticator, error) { return Open(ctx, "regtest-urlonly") }, []string{"OpenURL"}, ""},
		{"unknown Open", func() (Authenticator, error) { return Open(ctx, "nope") }, []string{"regtest"}, ""},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.open()
			if !errors.Is(err, ErrMisconfigured) {
				t.Fatalf("err = %v, want ErrMisconfigured", err)
			}
			for _, n := range tt.names {
				if !strings.Contains(err.Error(), n) {
					t.Errorf("error %q does not name %s", err, n)
				}
			}
			if tt.never != "" && strings.Contains(err.Error(), tt.never) {
				t.Errorf("error %q leaks %q", err, tt.never)
			}
		})
	}
}

func TestRegisterPanics(t *testing.T) {
	open := func(context.Context, *url.URL) (Authenticator, error) { return nil, nil }
	for name, f := range map[string]func(){
		"duplicate":   func() { Register("regtest", open, nil) },
		"bad name":    func() { Register("Bad Name", open, nil) },
		"empty":       func() { Register("", open, nil) },
		"no openers":  func() { Register("regtest-none", nil, nil) },
		"leading dig": func() { Register("1x", open, nil) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			f()
		})
	}
}
