package supabase_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/authport/authport"
	"github.com/authport/authport/supabase"
)

const secret = "super-secret-jwt-token-with-at-least-32-characters-long"

func TestNewMisconfigured(t *testing.T) {
	cases := []struct {
		name  string
		cfg   supabase.Config
		names string // the variable the error must name
	}{
		{"no URL", supabase.Config{AnonKey: "k"}, "SUPABASE_URL"},
		{"URL not a URL", supabase.Config{URL: "::nope", AnonKey: "k"}, "SUPABASE_URL"},
		{"URL without host", supabase.Config{URL: "https://", AnonKey: "k"}, "SUPABASE_URL"},
		{"URL with query", supabase.Config{URL: "https://abc.supabase.co?x=secretvalue", AnonKey: "k"}, "SUPABASE_URL"},
		{"URL with user", supabase.Config{URL: "https://u:secretvalue@abc.supabase.co", AnonKey: "k"}, "SUPABASE_URL"},
		{"plain http remote", supabase.Config{URL: "http://abc.supabase.co", AnonKey: "k"}, "SUPABASE_URL"},
		{"ftp", supabase.Config{URL: "ftp://abc.supabase.co", AnonKey: "k"}, "SUPABASE_URL"},
		{"no anon key", supabase.Config{URL: "https://abc.supabase.co"}, "SUPABASE_ANON_KEY"},
		{"short secret", supabase.Config{URL: "https://abc.supabase.co", AnonKey: "k", JWTSecret: "secretvalue"}, "SUPABASE_JWT_SECRET"},
		{"legacy without secret", supabase.Config{URL: "https://abc.supabase.co", AnonKey: "k", Signing: supabase.SigningLegacy}, "SUPABASE_JWT_SECRET"},
		{"both without secret", supabase.Config{URL: "https://abc.supabase.co", AnonKey: "k", Signing: supabase.SigningBoth}, "SUPABASE_JWT_SECRET"},
		{"bad signing", supabase.Config{URL: "https://abc.supabase.co", AnonKey: "k", Signing: "hs512"}, "AUTHPORT_SUPABASE_SIGNING"},
		{"bad roles path", supabase.Config{URL: "https://abc.supabase.co", AnonKey: "k", RolesClaim: "app_metadata..roles"}, "AUTHPORT_SUPABASE_ROLES_CLAIM"},
		{"bad provider", supabase.Config{URL: "https://abc.supabase.co", AnonKey: "k", OAuthProvider: "git hub"}, "AUTHPORT_SUPABASE_OAUTH_PROVIDER"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := supabase.New(context.Background(), c.cfg)
			if !errors.Is(err, authport.ErrMisconfigured) {
				t.Fatalf("got %v, want ErrMisconfigured", err)
			}
			if !strings.Contains(err.Error(), c.names) {
				t.Fatalf("error %q does not name %s", err, c.names)
			}
			if strings.Contains(err.Error(), "secretvalue") {
				t.Fatalf("error %q repeats a value", err)
			}
		})
	}
}

func TestNewAccepts(t *testing.T) {
	for _, u := range []string{"https://abcdefgh.supabase.co", "https://abcdefgh.supabase.co/", "http://127.0.0.1:54321", "http://localhost:54321", "http://[::1]:9999", "https://auth.example.com"} {
		a, err := supabase.New(context.Background(), supabase.Config{URL: u, AnonKey: "k"})
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		if a.Issuer() != strings.TrimSuffix(u, "/")+"/auth/v1" {
			t.Fatalf("%s: issuer %q", u, a.Issuer())
		}
	}
	a, err := supabase.New(context.Background(), supabase.Config{URL: "https://abcdefgh.supabase.co", AnonKey: "k", Issuer: "https://custom.example/auth/v1"})
	if err != nil || a.Issuer() != "https://custom.example/auth/v1" {
		t.Fatalf("custom issuer: %v %v", a, err)
	}
}

func TestDescribe(t *testing.T) {
	a, err := supabase.New(context.Background(), supabase.Config{URL: "https://abcdefgh.supabase.co", AnonKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	d := a.Describe()
	if d.RevocationDelay != supabase.DefaultTokenLifetime {
		t.Fatalf("revocation delay %v", d.RevocationDelay)
	}
	if _, off := d.Unsupported[authport.CapRedirectSignIn]; !off {
		t.Fatal("redirect sign-in reported without an OAuth provider")
	}
	got := authport.Capabilities(a)
	want := []authport.Capability{authport.CapPasswordSignIn, authport.CapSignUp, authport.CapRefresh, authport.CapRevoke, authport.CapStrictVerify}
	if len(got) != len(want) {
		t.Fatalf("capabilities %v, want %v", got, want)
	}
	a, _ = supabase.New(context.Background(), supabase.Config{URL: "https://abcdefgh.supabase.co", AnonKey: "k", OAuthProvider: "github"})
	if !authport.Has(a, authport.CapRedirectSignIn) {
		t.Fatal("redirect sign-in missing with an OAuth provider")
	}
}

func TestFromEnv(t *testing.T) {
	env := map[string]string{
		"AUTH_PROVIDER":                       "supabase",
		"SUPABASE_URL":                        "https://abcdefgh.supabase.co",
		"SUPABASE_PUBLISHABLE_KEY":            "sb_publishable_x",
		"SUPABASE_JWT_SECRET":                 secret,
		"AUTHPORT_SUPABASE_ROLES_CLAIM":       "app_metadata.app_roles",
		"AUTHPORT_SUPABASE_OAUTH_PROVIDER":    "github",
		"AUTHPORT_SUPABASE_PERMISSIONS_CLAIM": "-",
	}
	a, err := authport.FromEnvFunc(context.Background(), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if a.Provider() != "supabase" || !authport.Has(a, authport.CapRedirectSignIn) {
		t.Fatalf("adapter %v", a)
	}
	delete(env, "SUPABASE_PUBLISHABLE_KEY")
	_, err = authport.FromEnvFunc(context.Background(), func(k string) string { return env[k] })
	if !errors.Is(err, authport.ErrMisconfigured) || !strings.Contains(err.Error(), "SUPABASE_ANON_KEY") {
		t.Fatalf("missing key: %v", err)
	}
	env["SUPABASE_ANON_KEY"] = "k"
	env["AUTHPORT_SUPABASE_SIGNING"] = "legacy"
	delete(env, "SUPABASE_JWT_SECRET")
	_, err = authport.FromEnvFunc(context.Background(), func(k string) string { return env[k] })
	if !errors.Is(err, authport.ErrMisconfigured) || !strings.Contains(err.Error(), "SUPABASE_JWT_SECRET") {
		t.Fatalf("legacy without secret: %v", err)
	}
}

func TestOpenURL(t *testing.T) {
	ctx := context.Background()
	a, err := authport.OpenURL(ctx, "supabase://abcdefgh.supabase.co?anon_key=k&jwt_secret="+secret+"&oauth_provider=google&jwt_expiry=15m")
	if err != nil {
		t.Fatal(err)
	}
	sa := a.(*supabase.Authenticator)
	if sa.Issuer() != "https://abcdefgh.supabase.co/auth/v1" || sa.Describe().RevocationDelay.Minutes() != 15 {
		t.Fatalf("issuer %q delay %v", sa.Issuer(), sa.Describe().RevocationDelay)
	}
	a, err = authport.OpenURL(ctx, "supabase://127.0.0.1:54321?anon_key=k")
	if err != nil || a.(*supabase.Authenticator).Issuer() != "http://127.0.0.1:54321/auth/v1" {
		t.Fatalf("loopback: %v", err)
	}
	for _, bad := range []string{
		"supabase://abcdefgh.supabase.co",                               // no anon key
		"supabase://abcdefgh.supabase.co?anon_key=k&jwt_secrte=x",       // typo
		"supabase://abcdefgh.supabase.co?anon_key=k&jwt_secret=short",   // weak secret
		"supabase://abcdefgh.supabase.co?anon_key=k&jwt_expiry=forever", // malformed
		"supabase:///path-only?anon_key=k",                              // no host
		"supabase://abcdefgh.supabase.co?anon_key=k&signing=legacy",     // legacy without secret
	} {
		_, err := authport.OpenURL(ctx, bad)
		if !errors.Is(err, authport.ErrMisconfigured) {
			t.Fatalf("%s: %v", bad, err)
		}
		if strings.Contains(err.Error(), "SUPABASE_") {
			t.Fatalf("%s: error names an environment variable, not the URL parameter: %v", bad, err)
		}
	}
}
