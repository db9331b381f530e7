package auth0_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/auth0/go-jwt-middleware/v2/validator"

	"github.com/authport/authport"
	"github.com/authport/authport/auth0"
	"github.com/authport/authport/auth0/auth0test"
)

const secretValue = "s3cr3t-value-never-printed"

func TestNewConfig(t *testing.T) {
	base := func() auth0.Config {
		return auth0.Config{Domain: "example.eu.auth0.com", Audiences: []string{"https://api.example.com"}}
	}
	cases := []struct {
		name    string
		mod     func(*auth0.Config)
		wantErr string // substring naming the variable; "" means success
		issuer  string
	}{
		{"minimal", func(*auth0.Config) {}, "", "https://example.eu.auth0.com/"},
		{"https prefix and slash", func(c *auth0.Config) { c.Domain = "https://Example.EU.auth0.com/" }, "", "https://example.eu.auth0.com/"},
		{"audiences split", func(c *auth0.Config) { c.Audiences = []string{"https://a.example, https://b.example"} }, "", ""},
		{"custom domain issuer", func(c *auth0.Config) { c.Issuer = "https://login.example.com/" }, "", "https://login.example.com/"},
		{"loopback insecure", func(c *auth0.Config) { c.Domain, c.Insecure = "127.0.0.1:8080", true }, "", "http://127.0.0.1:8080/"},
		{"localhost http prefix", func(c *auth0.Config) { c.Domain = "http://localhost:9999" }, "", "http://localhost:9999/"},
		{"PS256", func(c *auth0.Config) { c.Algorithms = []string{"RS256,PS256"} }, "", ""},
		{"no domain", func(c *auth0.Config) { c.Domain = "" }, "AUTH0_DOMAIN", ""},
		{"domain with path", func(c *auth0.Config) { c.Domain = "example.auth0.com/tenant" }, "AUTH0_DOMAIN", ""},
		{"domain other scheme", func(c *auth0.Config) { c.Domain = "ftp://example.auth0.com" }, "AUTH0_DOMAIN", ""},
		{"domain with user", func(c *auth0.Config) { c.Domain = "u:p@example.auth0.com" }, "AUTH0_DOMAIN", ""},
		{"insecure public host", func(c *auth0.Config) { c.Insecure = true }, "AUTH0_INSECURE", ""},
		{"http public host", func(c *auth0.Config) { c.Domain = "http://example.auth0.com" }, "AUTH0_INSECURE", ""},
		{"no audience", func(c *auth0.Config) { c.Audiences = nil }, "AUTH0_AUDIENCE", ""},
		{"blank audience", func(c *auth0.Config) { c.Audiences = []string{" , "} }, "AUTH0_AUDIENCE", ""},
		{"audience is the client id", func(c *auth0.Config) { c.ClientID = "abc"; c.Audiences = []string{"abc"} }, "AUTH0_AUDIENCE", ""},
		{"secret without id", func(c *auth0.Config) { c.ClientSecret = secretValue }, "AUTH0_CLIENT_ID", ""},
		{"HS256", func(c *auth0.Config) { c.Algorithms = []string{"HS256"} }, "AUTH0_ALGORITHMS", ""},
		{"none", func(c *auth0.Config) { c.Algorithms = []string{"none"} }, "AUTH0_ALGORITHMS", ""},
		{"leeway too big", func(c *auth0.Config) { c.Leeway = time.Hour }, "AUTH0_LEEWAY", ""},
		{"negative lifetime", func(c *auth0.Config) { c.TokenLifetime = -time.Second }, "AUTH0_TOKEN_LIFETIME", ""},
		{"relative callback", func(c *auth0.Config) { c.CallbackURL = "/callback" }, "AUTH0_CALLBACK_URL", ""},
		{"issuer without slash", func(c *auth0.Config) { c.Issuer = "https://login.example.com" }, "AUTH0_ISSUER", ""},
		{"http issuer", func(c *auth0.Config) { c.Issuer = "http://login.example.com/" }, "AUTH0_ISSUER", ""},
		{"jwks off domain", func(c *auth0.Config) { c.JWKSURL = "https://evil.example/jwks.json" }, "AUTH0_JWKS_URL", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := base()
			c.mod(&cfg)
			a, err := auth0.New(context.Background(), cfg)
			if c.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if c.issuer != "" && a.Issuer() != c.issuer {
					t.Fatalf("issuer %q, want %q", a.Issuer(), c.issuer)
				}
				return
			}
			if !errors.Is(err, authport.ErrMisconfigured) {
				t.Fatalf("error %v, want ErrMisconfigured", err)
			}
			if !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("error %q does not name %s", err, c.wantErr)
			}
			if strings.Contains(err.Error(), secretValue) {
				t.Fatal("error repeats the secret")
			}
		})
	}
}

func TestFromEnv(t *testing.T) {
	ctx := context.Background()
	emu := auth0test.New(t)
	env := emu.Env()
	a, err := authport.FromEnvFunc(ctx, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if a.Provider() != "auth0" {
		t.Fatalf("provider %q", a.Provider())
	}
	if _, err := emu.CreateUser(auth0test.NewUser{Email: "env@example.com", Password: "Pw-0123456789"}); err != nil {
		t.Fatal(err)
	}
	tok, err := emu.SignIn(ctx, "env@example.com", "Pw-0123456789")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Verify(ctx, authport.Credential{Token: tok.AccessToken, Source: authport.SourceHeader}); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct{ unset, set, value, want string }{
		{unset: auth0.EnvDomain, want: "AUTH0_DOMAIN"},
		{unset: auth0.EnvAudience, want: "AUTH0_AUDIENCE"},
		{set: auth0.EnvLeeway, value: "soon" + secretValue, want: "AUTH0_LEEWAY"},
		{set: auth0.EnvTokenLifetime, value: "x" + secretValue, want: "AUTH0_TOKEN_LIFETIME"},
		{set: auth0.EnvAllowSignUp, value: "maybe" + secretValue, want: "AUTH0_ALLOW_SIGNUP"},
		{set: auth0.EnvInsecure, value: "perhaps" + secretValue, want: "AUTH0_INSECURE"},
	} {
		t.Run(c.want, func(t *testing.T) {
			_, err := authport.FromEnvFunc(ctx, func(k string) string {
				switch k {
				case c.unset:
					return ""
				case c.set:
					return c.value
				}
				return env[k]
			})
			if !errors.Is(err, authport.ErrMisconfigured) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want ErrMisconfigured naming %s", err, c.want)
			}
			if strings.Contains(err.Error(), secretValue) {
				t.Fatal("error quotes the value")
			}
		})
	}
}

func TestOpenURL(t *testing.T) {
	ctx := context.Background()
	emu := auth0test.New(t)
	u := "auth0://" + emu.Domain() + "?insecure=true&audience=" + emu.Audience() + "&client_id=" + emu.ClientID() +
		"&client_secret=" + emu.ClientSecret() + "&roles_claim=" + emu.RolesClaim() + "&leeway=10s&authorized_party=" + emu.ClientID()
	a, err := authport.OpenURL(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	if !authport.Has(a, authport.CapPasswordSignIn) || authport.Has(a, authport.CapSignUp) {
		t.Fatalf("capabilities %v", authport.Capabilities(a))
	}
	if _, err := emu.CreateUser(auth0test.NewUser{Email: "url@example.com", Password: "Pw-0123456789", Roles: []string{"editor"}}); err != nil {
		t.Fatal(err)
	}
	tok, err := a.(authport.PasswordSignIn).SignInWithPassword(ctx, "url@example.com", "Pw-0123456789")
	if err != nil {
		t.Fatal(err)
	}
	s, err := a.Verify(ctx, authport.Credential{Token: tok.AccessToken})
	if err != nil || !s.HasRole("editor") {
		t.Fatalf("session %+v, %v", s, err)
	}
	for _, bad := range []string{
		"auth0://" + emu.Domain() + "?insecure=true&audience=x&client_secret=" + secretValue + "&colour=blue",
		"auth0://" + emu.Domain() + "/path?insecure=true&audience=x",
		"auth0://?audience=x",
		"auth0://example.auth0.com?audience=x&leeway=" + secretValue,
	} {
		_, err := authport.OpenURL(ctx, bad)
		if !errors.Is(err, authport.ErrMisconfigured) {
			t.Fatalf("%s: %v, want ErrMisconfigured", bad, err)
		}
		if strings.Contains(err.Error(), secretValue) {
			t.Fatalf("error repeats the URL's secret: %v", err)
		}
	}
}

func newEmu(t *testing.T, o ...auth0test.Options) (*auth0test.Server, *auth0.Authenticator) {
	t.Helper()
	emu := auth0test.New(t, o...)
	a, err := auth0.New(context.Background(), emu.Config())
	if err != nil {
		t.Fatal(err)
	}
	return emu, a
}

func TestSessionMapping(t *testing.T) {
	ctx := context.Background()
	emu, a := newEmu(t, auth0test.Options{OrgNames: true})
	emu.AddOrganization("org_acme", "acme")
	u, err := emu.CreateUser(auth0test.NewUser{
		Email: "map@example.com", Password: "Pw-0123456789", Roles: []string{"admin", "billing"},
		Permissions: []string{"read:reports", "write:reports"}, OrgID: "org_acme",
	})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := emu.SignInWithOrganization(ctx, "map@example.com", "Pw-0123456789", "acme")
	if err != nil {
		t.Fatal(err)
	}
	s, err := a.Verify(ctx, authport.Credential{Token: tok.AccessToken, Source: authport.SourceHeader})
	if err != nil {
		t.Fatal(err)
	}
	if s.Provider != "auth0" || s.UserID != u.ID || s.Issuer != emu.Issuer() {
		t.Fatalf("identity %q %q %q", s.Provider, s.UserID, s.Issuer)
	}
	if !slices.Equal(s.Roles, []string{"admin", "billing"}) {
		t.Fatalf("roles %v", s.Roles)
	}
	// permissions first, then the API scopes; OIDC scopes left out.
	if !slices.Equal(s.Permissions, []string{"read:reports", "write:reports"}) {
		t.Fatalf("permissions %v", s.Permissions)
	}
	if s.OrgID != "org_acme" || s.OrgSlug != "acme" {
		t.Fatalf("org %q %q", s.OrgID, s.OrgSlug)
	}
	if s.ExpiresAt.Sub(s.IssuedAt) != emu.TokenTTL() {
		t.Fatalf("lifetime %v", s.ExpiresAt.Sub(s.IssuedAt))
	}
	var vc *validator.ValidatedClaims
	if !s.As(&vc) {
		t.Fatal("As(*validator.ValidatedClaims) failed")
	}
	c, ok := vc.CustomClaims.(*auth0.Claims)
	if !ok {
		t.Fatalf("CustomClaims is %T", vc.CustomClaims)
	}
	if !c.HasScope("openid") || !c.HasScope("read:reports") || !c.HasPermission("write:reports") || c.HasScope("admin") {
		t.Fatalf("claims %+v", c)
	}
	if c.AuthorizedParty != emu.ClientID() || c.OrgName != "acme" || !slices.Equal(c.Roles, s.Roles) {
		t.Fatalf("claims %+v", c)
	}
	if !slices.Contains(vc.RegisteredClaims.Audience, emu.Audience()) || !slices.Contains(vc.RegisteredClaims.Audience, emu.Issuer()+"userinfo") {
		t.Fatalf("audience %v", vc.RegisteredClaims.Audience)
	}
}

func TestSessionMappingClaims(t *testing.T) {
	ctx := context.Background()
	emu := auth0test.New(t)
	cfg := emu.Config()
	cfg.EmailClaim = "https://example.com/email"
	a, err := auth0.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := emu.CreateUser(auth0test.NewUser{Email: "c@example.com", Password: "Pw-0123456789"})
	cases := []struct {
		name   string
		claims map[string]any
		check  func(t *testing.T, s *authport.Session)
	}{
		{"scope only", map[string]any{"permissions": nil, "scope": "openid read:a read:a write:b offline_access"}, func(t *testing.T, s *authport.Session) {
			if !slices.Equal(s.Permissions, []string{"read:a", "write:b"}) {
				t.Fatalf("permissions %v", s.Permissions)
			}
			if !slices.Equal(s.Scopes, []string{"openid", "read:a", "write:b", "offline_access"}) {
				t.Fatalf("scopes %v", s.Scopes)
			}
		}},
		{"permissions and scope overlap", map[string]any{"permissions": []any{"read:a"}, "scope": "read:a write:b"}, func(t *testing.T, s *authport.Session) {
			if !slices.Equal(s.Permissions, []string{"read:a", "write:b"}) {
				t.Fatalf("permissions %v", s.Permissions)
			}
		}},
		{"roles as a string", map[string]any{"https://example.com/roles": "admin"}, func(t *testing.T, s *authport.Session) {
			if !slices.Equal(s.Roles, []string{"admin"}) {
				t.Fatalf("roles %v", s.Roles)
			}
		}},
		{"roles of the wrong type", map[string]any{"https://example.com/roles": map[string]any{"a": 1}}, func(t *testing.T, s *authport.Session) {
			if len(s.Roles) != 0 {
				t.Fatalf("roles %v", s.Roles)
			}
		}},
		{"non-namespaced roles ignored", map[string]any{"roles": []any{"admin"}}, func(t *testing.T, s *authport.Session) {
			if len(s.Roles) != 0 {
				t.Fatalf("roles %v", s.Roles)
			}
		}},
		{"namespaced email", map[string]any{"https://example.com/email": "c@example.com", "email_verified": true}, func(t *testing.T, s *authport.Session) {
			if s.Email != "c@example.com" || !s.EmailVerified {
				t.Fatalf("email %q %v", s.Email, s.EmailVerified)
			}
		}},
		{"sid and jti", map[string]any{"sid": "sess-1", "jti": "tok-1", "amr": []any{"mfa"}}, func(t *testing.T, s *authport.Session) {
			if s.SessionID != "sess-1" || s.TokenID != "tok-1" || !slices.Equal(s.AuthMethods, []string{"mfa"}) {
				t.Fatalf("session %q token %q amr %v", s.SessionID, s.TokenID, s.AuthMethods)
			}
		}},
		{"m2m", map[string]any{"sub": "client@clients", "gty": "client-credentials", "permissions": []any{"read:a"}}, func(t *testing.T, s *authport.Session) {
			if s.UserID != "client@clients" || !slices.Equal(s.Permissions, []string{"read:a"}) {
				t.Fatalf("m2m session %q %v", s.UserID, s.Permissions)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tok, err := emu.Mint(auth0test.MintRequest{UserID: u.ID, Claims: c.claims})
			if err != nil {
				t.Fatal(err)
			}
			s, err := a.Verify(ctx, authport.Credential{Token: tok})
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, s)
		})
	}
}

func TestAuthorizedParties(t *testing.T) {
	ctx := context.Background()
	emu := auth0test.New(t)
	cfg := emu.Config()
	cfg.AuthorizedParties = []string{emu.ClientID(), "second-client"}
	a, err := auth0.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := emu.CreateUser(auth0test.NewUser{Email: "p@example.com", Password: "Pw-0123456789"})
	for _, c := range []struct {
		name   string
		claims map[string]any
		ok     bool
	}{
		{"azp allowed", nil, true},
		{"second azp allowed", map[string]any{"azp": "second-client"}, true},
		{"client_id allowed", map[string]any{"azp": nil, "client_id": "second-client"}, true},
		{"azp other", map[string]any{"azp": "other"}, false},
		{"client_id other", map[string]any{"azp": nil, "client_id": "other"}, false},
		{"azp fine, client_id other", map[string]any{"client_id": "other"}, false},
		{"neither", map[string]any{"azp": nil}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			tok, _ := emu.Mint(auth0test.MintRequest{UserID: u.ID, Claims: c.claims})
			_, err := a.Verify(ctx, authport.Credential{Token: tok})
			if c.ok != (err == nil) {
				t.Fatalf("err %v, want ok=%v", err, c.ok)
			}
			if err != nil && !errors.Is(err, authport.ErrInvalidCredential) {
				t.Fatalf("kind %v", authport.KindOf(err))
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	ctx := context.Background()
	a, err := auth0.New(ctx, auth0.Config{Domain: "example.auth0.com", Audiences: []string{"https://api"}})
	if err != nil {
		t.Fatal(err)
	}
	d := a.Describe()
	if d.RevocationDelay != auth0.DefaultTokenLifetime {
		t.Fatalf("delay %v", d.RevocationDelay)
	}
	if got := authport.Capabilities(a); len(got) != 0 {
		t.Fatalf("verify-only adapter offers %v", got)
	}
	if _, err := a.SignInWithPassword(ctx, "a@example.com", "pw"); !errors.Is(err, authport.ErrUnsupported) {
		t.Fatalf("sign-in without a client: %v", err)
	}
	if _, err := a.AuthorizeURL(ctx, authport.AuthorizeRequest{State: "s", CodeChallenge: "c"}); !errors.Is(err, authport.ErrUnsupported) {
		t.Fatalf("authorize without a client: %v", err)
	}
	if _, err := a.LogoutURL(ctx, nil, "https://app.example/"); !errors.Is(err, authport.ErrUnsupported) || d.Unsupported[authport.CapLogoutRedirect] == "" {
		t.Fatalf("logout URL without a client: %v", err)
	}

	a, err = auth0.New(ctx, auth0.Config{Domain: "example.auth0.com", Audiences: []string{"https://api"}, ClientID: "cid", TokenLifetime: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	d = a.Describe()
	if d.RevocationDelay != 10*time.Minute {
		t.Fatalf("delay %v", d.RevocationDelay)
	}
	want := []authport.Capability{authport.CapPasswordSignIn, authport.CapRedirectSignIn, authport.CapRefresh, authport.CapRevoke, authport.CapLogoutRedirect, authport.CapContinue}
	if got := authport.Capabilities(a); !slices.Equal(got, want) {
		t.Fatalf("capabilities %v, want %v", got, want)
	}
	if d.Unsupported[authport.CapStrictVerify] == "" || d.Unsupported[authport.CapSignUp] == "" {
		t.Fatalf("unsupported %v", d.Unsupported)
	}
	if _, err := a.SignUp(ctx, "a@example.com", "pw"); !errors.Is(err, authport.ErrUnsupported) {
		t.Fatalf("sign-up while disabled: %v", err)
	}
}

func TestNoCredential(t *testing.T) {
	_, a := newEmu(t)
	_, err := a.Verify(context.Background(), authport.Credential{})
	if !errors.Is(err, authport.ErrNoCredential) {
		t.Fatalf("%v", err)
	}
	if _, err := a.ValidateToken(context.Background(), ""); !errors.Is(err, authport.ErrNoCredential) {
		t.Fatalf("%v", err)
	}
}

func TestNewMakesNoRequest(t *testing.T) {
	emu := auth0test.New(t)
	if _, err := auth0.New(context.Background(), emu.Config()); err != nil {
		t.Fatal(err)
	}
	if n := emu.Hits(auth0test.RouteDiscovery) + emu.KeyFetches(); n != 0 {
		t.Fatalf("New made %d requests", n)
	}
}
