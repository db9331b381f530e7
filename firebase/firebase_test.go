package firebase_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"firebase.google.com/go/v4/auth"

	"github.com/authport/authport"
	"github.com/authport/authport/firebase"
	"github.com/authport/authport/firebase/firebasetest"
)

const project = "demo-unit"

// fakeEmulatorHost is an emulator address nothing listens on: the unit
// tests of emulator mode verify hand-made unsigned tokens and never call
// the Admin API.
const fakeEmulatorHost = "127.0.0.1:9"

func emulatorAdapter(t testing.TB, mod func(*firebase.Config)) *firebase.Authenticator {
	t.Helper()
	t.Setenv(firebase.EnvEmulatorHost, fakeEmulatorHost)
	cfg := firebase.Config{ProjectID: project, EmulatorHost: fakeEmulatorHost, Logger: slog.New(slog.DiscardHandler),
		HTTPClient: &http.Client{Transport: failingTransport{}}}
	if mod != nil {
		mod(&cfg)
	}
	a, err := firebase.New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func enc(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// unsigned builds a token like the Firebase Auth Emulator's.
func unsigned(header, claims map[string]any) string {
	if header == nil {
		header = map[string]any{"alg": "none", "typ": "JWT"}
	}
	return enc(header) + "." + enc(claims) + "."
}

// emuClaims are the claims the emulator puts in an ID token.
func emuClaims(iss string) map[string]any {
	now := time.Now()
	return map[string]any{
		"iss": iss + project, "aud": project, "auth_time": now.Unix(), "user_id": "uid-1", "sub": "uid-1",
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "email": "ada@example.com", "email_verified": true,
		"firebase": map[string]any{"identities": map[string]any{"email": []any{"ada@example.com"}}, "sign_in_provider": "password"},
	}
}

func verify(a authport.Authenticator, tok string) (*authport.Session, error) {
	return a.Verify(context.Background(), authport.Credential{Token: tok, Source: authport.SourceHeader})
}

func TestNewMisconfigured(t *testing.T) {
	cases := []struct {
		name    string
		env     string // FIREBASE_AUTH_EMULATOR_HOST in the process
		cfg     firebase.Config
		mention string
	}{
		{"no project", "", firebase.Config{}, "FIREBASE_PROJECT_ID"},
		{"bad project", "", firebase.Config{ProjectID: "My Project!"}, "FIREBASE_PROJECT_ID"},
		{"emulator only in the process", "127.0.0.1:9099", firebase.Config{ProjectID: project}, "FIREBASE_AUTH_EMULATOR_HOST"},
		{"emulator only in Config", "", firebase.Config{ProjectID: project, EmulatorHost: "127.0.0.1:9099"}, "FIREBASE_AUTH_EMULATOR_HOST"},
		{"emulator hosts differ", "127.0.0.1:9099", firebase.Config{ProjectID: project, EmulatorHost: "127.0.0.1:9100"}, "FIREBASE_AUTH_EMULATOR_HOST"},
		{"emulator host not host:port", "http://x/", firebase.Config{ProjectID: project, EmulatorHost: "http://x/"}, "host:port"},
		{"cookie TTL too short", "", firebase.Config{ProjectID: project, TokenLifetime: time.Minute}, "FIREBASE_SESSION_COOKIE_TTL"},
		{"cookie TTL too long", "", firebase.Config{ProjectID: project, TokenLifetime: 15 * 24 * time.Hour}, "FIREBASE_SESSION_COOKIE_TTL"},
		{"leeway too long", "", firebase.Config{ProjectID: project, Leeway: time.Hour}, "Leeway"},
		{"credentials file missing", "", firebase.Config{ProjectID: project, CredentialsFile: "/nonexistent/secret-sa.json"}, "GOOGLE_APPLICATION_CREDENTIALS"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv(firebase.EnvEmulatorHost, c.env)
			_, err := firebase.New(t.Context(), c.cfg)
			if !errors.Is(err, authport.ErrMisconfigured) {
				t.Fatalf("err %v, want ErrMisconfigured", err)
			}
			if !strings.Contains(err.Error(), c.mention) {
				t.Fatalf("%q does not name %s", err, c.mention)
			}
			if c.cfg.CredentialsFile != "" && strings.Contains(err.Error(), c.cfg.CredentialsFile) {
				t.Fatalf("%q quotes the configured value", err)
			}
		})
	}
}

func TestFromEnvAndURL(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	t.Run("env", func(t *testing.T) {
		a, err := authport.FromEnvFunc(t.Context(), env(map[string]string{
			"AUTH_PROVIDER": "firebase", firebase.EnvProjectID: project, firebase.EnvAPIKey: "k",
			firebase.EnvSessionCookieTTL: "48h", firebase.EnvRolesClaims: "tier, roles", firebase.EnvCookieName: "session",
		}))
		if err != nil {
			t.Fatal(err)
		}
		fa := a.(*firebase.Authenticator)
		cfg := fa.Config()
		if cfg.ProjectID != project || cfg.APIKey != "k" || cfg.TokenLifetime != 48*time.Hour || !slices.Equal(cfg.RolesClaims, []string{"tier", "roles"}) {
			t.Fatalf("config %+v", cfg)
		}
		if !slices.Equal(fa.ProviderCookies(), []string{"session"}) {
			t.Fatalf("cookies %v", fa.ProviderCookies())
		}
	})
	for name, m := range map[string]map[string]string{
		"FIREBASE_PROJECT_ID":         {"AUTH_PROVIDER": "firebase"},
		"FIREBASE_SESSION_COOKIE_TTL": {"AUTH_PROVIDER": "firebase", firebase.EnvProjectID: project, firebase.EnvSessionCookieTTL: "two weeks"},
	} {
		t.Run("env missing "+name, func(t *testing.T) {
			_, err := authport.FromEnvFunc(t.Context(), env(m))
			if !errors.Is(err, authport.ErrMisconfigured) || !strings.Contains(err.Error(), name) {
				t.Fatalf("err %v, want ErrMisconfigured naming %s", err, name)
			}
			if strings.Contains(err.Error(), "two weeks") {
				t.Fatal("the error quotes the value")
			}
		})
	}
	t.Run("url", func(t *testing.T) {
		a, err := authport.OpenURL(t.Context(), "firebase://"+project+"?api_key=secret-key&session_cookie_ttl=1h&leeway=10s&org_claim=tenant_org")
		if err != nil {
			t.Fatal(err)
		}
		cfg := a.(*firebase.Authenticator).Config()
		if cfg.APIKey != "secret-key" || cfg.TokenLifetime != time.Hour || cfg.Leeway != 10*time.Second || cfg.OrgClaim != "tenant_org" {
			t.Fatalf("config %+v", cfg)
		}
	})
	for _, u := range []string{
		"firebase://" + project + "?bogus=1",
		"firebase://" + project + "/path",
		"firebase://" + project + "?leeway=forever&api_key=secret-key",
		"firebase://?api_key=secret-key",
	} {
		t.Run("bad url", func(t *testing.T) {
			_, err := authport.OpenURL(t.Context(), u)
			if !errors.Is(err, authport.ErrMisconfigured) {
				t.Fatalf("%s: err %v", u, err)
			}
			if strings.Contains(err.Error(), "secret-key") {
				t.Fatal("the error quotes the URL")
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	t.Setenv(firebase.EnvEmulatorHost, "")
	e := firebasetest.New(t)
	cfg := e.Config()
	cfg.APIKey = ""
	a, err := firebase.New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	got := authport.Capabilities(a)
	if want := []authport.Capability{authport.CapRevoke, authport.CapStrictVerify}; !slices.Equal(got, want) {
		t.Fatalf("capabilities without an API key %v, want %v", got, want)
	}
	if _, err := a.SignInWithPassword(t.Context(), "a@example.com", "pw1234"); !errors.Is(err, authport.ErrUnsupported) {
		t.Fatalf("sign-in without an API key: %v", err)
	}
	if d := a.Describe(); d.RevocationDelay != time.Hour {
		t.Fatalf("revocation delay %v, want 1h (ID token lifetime)", d.RevocationDelay)
	}
	cfg = e.Config()
	cfg.TokenLifetime = 72 * time.Hour
	a, err = firebase.New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if d := a.Describe(); d.RevocationDelay != 72*time.Hour {
		t.Fatalf("cookie-mode revocation delay %v, want the cookie lifetime", d.RevocationDelay)
	}
	want := []authport.Capability{authport.CapPasswordSignIn, authport.CapSignUp, authport.CapRefresh, authport.CapRevoke, authport.CapStrictVerify}
	if got := authport.Capabilities(a); !slices.Equal(got, want) {
		t.Fatalf("capabilities %v, want %v", got, want)
	}
}

// TestNoCredentials: with only a project id and no Google credentials, the
// adapter still verifies tokens; the Admin API capabilities are off.
func TestNoCredentials(t *testing.T) {
	t.Setenv(firebase.EnvEmulatorHost, "")
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", "")
	t.Setenv("HOME", t.TempDir()) // no gcloud application_default_credentials.json
	e := firebasetest.New(t)
	u, _ := e.CreateUser(firebasetest.NewUser{Email: "nocreds@example.com", Password: "password1"})
	a, err := firebase.New(t.Context(), firebase.Config{ProjectID: e.ProjectID, HTTPClient: e.GoogleClient(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if a.AuthClient() != nil {
		t.Skip("this machine has Application Default Credentials")
	}
	if got := authport.Capabilities(a); len(got) != 0 {
		t.Fatalf("capabilities %v, want none", got)
	}
	tok, err := e.MintIDToken(u.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verify(a, tok); err != nil {
		t.Fatal(err)
	}
	if _, err := a.VerifyStrict(t.Context(), authport.Credential{Token: tok}); !errors.Is(err, authport.ErrUnsupported) {
		t.Fatalf("VerifyStrict: %v, want ErrUnsupported", err)
	}
}

func TestEmulatorModeWarnsLoudly(t *testing.T) {
	var buf bytes.Buffer
	emulatorAdapter(t, func(c *firebase.Config) { c.Logger = slog.New(slog.NewTextHandler(&buf, nil)) })
	if !strings.Contains(buf.String(), "level=WARN") || !strings.Contains(buf.String(), "EMULATOR MODE") {
		t.Fatalf("no start-up warning: %q", buf.String())
	}
}

func TestUnsignedTokens(t *testing.T) {
	idIss, ckIss := firebase.IDTokenIssuerPrefix, firebase.SessionCookieIssuerPrefix
	mod := func(iss string, f func(h, c map[string]any)) string {
		h, c := map[string]any{"alg": "none", "typ": "JWT"}, emuClaims(iss)
		f(h, c)
		return unsigned(h, c)
	}
	valid := unsigned(nil, emuClaims(idIss))
	cases := []struct {
		name string
		tok  string
		want *authport.Kind // nil: accepted in emulator mode
	}{
		{"ID token", valid, nil},
		{"session cookie", unsigned(nil, emuClaims(ckIss)), nil},
		{"no typ", mod(idIss, func(h, c map[string]any) { delete(h, "typ") }), nil},
		{"alg None", mod(idIss, func(h, c map[string]any) { h["alg"] = "None" }), authport.ErrInvalidCredential},
		{"alg NONE", mod(idIss, func(h, c map[string]any) { h["alg"] = "NONE" }), authport.ErrInvalidCredential},
		{"alg RS256 unsigned", mod(idIss, func(h, c map[string]any) { h["alg"] = "RS256" }), authport.ErrInvalidCredential},
		{"alg none with a signature", valid + "c2ln", authport.ErrInvalidCredential},
		{"expired", mod(idIss, func(h, c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() }), authport.ErrExpired},
		{"wrong audience", mod(idIss, func(h, c map[string]any) { c["aud"] = "other" }), authport.ErrInvalidCredential},
		{"wrong issuer", mod("https://evil.example/", func(h, c map[string]any) {}), authport.ErrInvalidCredential},
		{"no sub", mod(idIss, func(h, c map[string]any) { delete(c, "sub") }), authport.ErrInvalidCredential},
		{"long sub", mod(idIss, func(h, c map[string]any) { c["sub"] = strings.Repeat("x", 129) }), authport.ErrInvalidCredential},
		{"no auth_time", mod(idIss, func(h, c map[string]any) { delete(c, "auth_time") }), authport.ErrInvalidCredential},
		{"jku header", mod(idIss, func(h, c map[string]any) { h["jku"] = "http://evil" }), authport.ErrInvalidCredential},
		{"typ at+jwt", mod(idIss, func(h, c map[string]any) { h["typ"] = "at+jwt" }), authport.ErrInvalidCredential},
		{"padded", strings.TrimSuffix(valid, ".") + "=.", authport.ErrInvalidCredential},
		{"four segments", valid + ".", authport.ErrInvalidCredential},
		{"duplicate member", enc(map[string]any{"alg": "none"}) + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"x","sub":"y"}`)) + ".", authport.ErrInvalidCredential},
	}
	prod := func(t *testing.T) authport.Authenticator {
		t.Setenv(firebase.EnvEmulatorHost, "")
		a, err := firebase.New(t.Context(), firebase.Config{ProjectID: project, HTTPClient: &http.Client{Transport: failingTransport{}}, ClientOptions: firebasetest.New(t).ClientOptions()})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	t.Run("EmulatorMode", func(t *testing.T) {
		a := emulatorAdapter(t, nil)
		for _, c := range cases {
			s, err := verify(a, c.tok)
			switch {
			case c.want == nil && err != nil:
				t.Errorf("%s: refused: %v", c.name, err)
			case c.want == nil && s.UserID != "uid-1":
				t.Errorf("%s: user %q", c.name, s.UserID)
			case c.want != nil && !errors.Is(err, c.want):
				t.Errorf("%s: err %v, want %v", c.name, err, c.want)
			}
		}
	})
	t.Run("ProductionMode", func(t *testing.T) {
		a := prod(t)
		for _, c := range cases {
			_, err := verify(a, c.tok)
			if err == nil || (c.want != authport.ErrExpired && !errors.Is(err, authport.ErrInvalidCredential)) {
				t.Errorf("%s: err %v, want refused as invalid", c.name, err)
			}
		}
	})
}

// failingTransport fails every request: production-mode tests that must
// not reach any key endpoint.
type failingTransport struct{}

func (failingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("no network in this test")
}

func TestClaimsMapping(t *testing.T) {
	cases := []struct {
		name   string
		mod    func(*firebase.Config)
		claims map[string]any
		check  func(t *testing.T, s *authport.Session)
	}{
		{"role string and roles array", nil, map[string]any{"role": "admin", "roles": []any{"editor", "admin", 7}},
			func(t *testing.T, s *authport.Session) {
				if !slices.Equal(s.Roles, []string{"admin", "editor"}) {
					t.Errorf("roles %v", s.Roles)
				}
			}},
		{"a role with a space stays one role", nil, map[string]any{"role": "super admin"},
			func(t *testing.T, s *authport.Session) {
				if !slices.Equal(s.Roles, []string{"super admin"}) {
					t.Errorf("roles %v", s.Roles)
				}
			}},
		{"permissions array and org", nil, map[string]any{"permissions": []any{"posts:read", "posts:write"}, "org_id": "org_1"},
			func(t *testing.T, s *authport.Session) {
				if !slices.Equal(s.Permissions, []string{"posts:read", "posts:write"}) || s.OrgID != "org_1" {
					t.Errorf("permissions %v org %q", s.Permissions, s.OrgID)
				}
			}},
		{"permissions as a space-separated string", nil, map[string]any{"permissions": "a b"},
			func(t *testing.T, s *authport.Session) {
				if !slices.Equal(s.Permissions, []string{"a", "b"}) {
					t.Errorf("permissions %v", s.Permissions)
				}
			}},
		{"configured claim names", func(c *firebase.Config) {
			c.RolesClaims, c.PermissionsClaim, c.OrgClaim = []string{"groups"}, "scopes", "team"
		}, map[string]any{"groups": []any{"ops"}, "role": "ignored", "scopes": []any{"x"}, "team": "t1", "org_id": "ignored"},
			func(t *testing.T, s *authport.Session) {
				if !slices.Equal(s.Roles, []string{"ops"}) || !slices.Equal(s.Permissions, []string{"x"}) || s.OrgID != "t1" {
					t.Errorf("roles %v permissions %v org %q", s.Roles, s.Permissions, s.OrgID)
				}
			}},
		{"tenant, provider and second factor carried through", nil, map[string]any{"firebase": map[string]any{
			"sign_in_provider": "google.com", "tenant": "tenant-7", "sign_in_second_factor": "phone",
			"identities": map[string]any{"google.com": []any{"123"}}}},
			func(t *testing.T, s *authport.Session) {
				var tok *auth.Token
				if !s.As(&tok) {
					t.Fatal("As(*auth.Token) failed")
				}
				if tok.Firebase.Tenant != "tenant-7" || tok.Firebase.SignInProvider != "google.com" || tok.UID != "uid-1" {
					t.Errorf("native %+v", tok)
				}
				if !slices.Equal(s.AuthMethods, []string{"google.com", "mfa:phone"}) {
					t.Errorf("auth methods %v", s.AuthMethods)
				}
				if f, _ := s.Claims["firebase"].(map[string]any); f["tenant"] != "tenant-7" {
					t.Errorf("claims %v", s.Claims)
				}
			}},
		{"standard fields", nil, map[string]any{},
			func(t *testing.T, s *authport.Session) {
				var tok *auth.Token
				s.As(&tok)
				if s.Provider != "firebase" || s.Email != "ada@example.com" || !s.EmailVerified || s.SessionID != "" ||
					s.Issuer != firebase.IDTokenIssuerPrefix+project || tok.Audience != project || tok.Claims["user_id"] != "uid-1" {
					t.Errorf("session %+v native %+v", s, tok)
				}
				if _, ok := tok.Claims["sub"]; ok {
					t.Error("native claims keep sub, as the SDK's do not")
				}
			}},
		{"wrongly typed custom claims are ignored, not fatal", nil, map[string]any{"roles": 5, "role": []any{}, "org_id": 5, "permissions": 3},
			func(t *testing.T, s *authport.Session) {
				if len(s.Roles) != 0 || s.OrgID != "" || len(s.Permissions) != 0 {
					t.Errorf("roles %v org %q permissions %v", s.Roles, s.OrgID, s.Permissions)
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := emulatorAdapter(t, c.mod)
			claims := emuClaims(firebase.IDTokenIssuerPrefix)
			for k, v := range c.claims {
				claims[k] = v
			}
			s, err := verify(a, unsigned(nil, claims))
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, s)
		})
	}
}

// signedAdapter returns an adapter on the production path against e.
func signedAdapter(t *testing.T, e *firebasetest.Emulator, mod func(*firebase.Config)) *firebase.Authenticator {
	t.Helper()
	cfg := e.Config()
	cfg.Logger = slog.New(slog.DiscardHandler)
	if mod != nil {
		mod(&cfg)
	}
	a, err := firebase.New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestSignInErrors(t *testing.T) {
	for _, legacy := range []bool{false, true} {
		t.Run(map[bool]string{false: "EnumerationProtection", true: "LegacyCodes"}[legacy], func(t *testing.T) {
			t.Setenv(firebase.EnvEmulatorHost, "")
			e := firebasetest.New(t, firebasetest.Options{LegacyErrorCodes: legacy})
			a := signedAdapter(t, e, nil)
			u, _ := e.CreateUser(firebasetest.NewUser{Email: "err@example.com", Password: "right-password"})
			ctx := t.Context()
			_, wrongPW := a.SignInWithPassword(ctx, "err@example.com", "wrong-password")
			_, noUser := a.SignInWithPassword(ctx, "nobody@example.com", "wrong-password")
			for _, err := range []error{wrongPW, noUser} {
				if !errors.Is(err, authport.ErrInvalidCredential) {
					t.Fatalf("err %v, want ErrInvalidCredential", err)
				}
			}
			if wrongPW.Error() != noUser.Error() {
				t.Fatalf("a wrong password and an unknown email differ: %q vs %q", wrongPW, noUser)
			}
			if _, err := a.SignInWithPassword(ctx, "", "x"); !errors.Is(err, authport.ErrInvalidInput) {
				t.Fatalf("empty email: %v", err)
			}
			if _, err := a.SignInWithPassword(ctx, "not-an-email", "x"); !errors.Is(err, authport.ErrInvalidInput) {
				t.Fatalf("malformed email: %v", err)
			}
			_ = e.DisableUser(u.ID)
			if _, err := a.SignInWithPassword(ctx, "err@example.com", "right-password"); !errors.Is(err, authport.ErrInvalidCredential) {
				t.Fatalf("disabled user: %v", err)
			}
		})
	}
	t.Run("Faults", func(t *testing.T) {
		t.Setenv(firebase.EnvEmulatorHost, "")
		e := firebasetest.New(t)
		_, _ = e.CreateUser(firebasetest.NewUser{Email: "f@example.com", Password: "password1"})
		a := signedAdapter(t, e, nil)
		bad := signedAdapter(t, e, func(c *firebase.Config) { c.APIKey = "wrong-key-value" })
		ctx := t.Context()
		if _, err := bad.SignInWithPassword(ctx, "f@example.com", "password1"); !errors.Is(err, authport.ErrMisconfigured) || strings.Contains(err.Error(), "wrong-key-value") {
			t.Fatalf("wrong API key: %v", err)
		}
		for _, c := range []struct {
			f    firebasetest.Fault
			want *authport.Kind
		}{
			{firebasetest.Fault{Status: http.StatusServiceUnavailable}, authport.ErrProviderUnavailable},
			{firebasetest.Fault{Status: http.StatusTooManyRequests}, authport.ErrRateLimited},
			{firebasetest.Fault{Garbage: "html"}, authport.ErrProviderUnavailable},
			{firebasetest.Fault{Hangup: true}, authport.ErrProviderUnavailable},
		} {
			e.SetFault("*", c.f)
			_, err := a.SignInWithPassword(ctx, "f@example.com", "password1")
			e.ClearFaults()
			if !errors.Is(err, c.want) {
				t.Errorf("fault %+v: err %v, want %v", c.f, err, c.want)
			}
		}
	})
}

func TestRefreshAndRevoke(t *testing.T) {
	t.Setenv(firebase.EnvEmulatorHost, "")
	e := firebasetest.New(t)
	a := signedAdapter(t, e, nil)
	ctx := t.Context()
	u, _ := e.CreateUser(firebasetest.NewUser{Email: "r@example.com", Password: "password1"})
	tok, err := a.SignInWithPassword(ctx, "r@example.com", "password1")
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken != tok.IDToken || tok.UserID != u.ID || time.Until(tok.ExpiresAt) < 50*time.Minute {
		t.Fatalf("tokens %+v", tok)
	}
	next, err := a.Refresh(ctx, tok.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if next.RefreshToken != tok.RefreshToken {
		t.Fatal("Firebase refresh tokens are not rotated; the adapter must keep the same one")
	}
	if _, err := a.Refresh(ctx, "garbage"); !errors.Is(err, authport.ErrInvalidCredential) {
		t.Fatalf("garbage refresh token: %v", err)
	}
	s, err := a.Verify(ctx, authport.Credential{Token: next.AccessToken})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := a.Revoke(ctx, s, next); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > 2500*time.Millisecond {
		t.Fatalf("Revoke took %v", time.Since(start))
	}
	if _, err := a.Verify(ctx, authport.Credential{Token: next.AccessToken}); !errors.Is(err, authport.ErrRevoked) {
		t.Fatalf("Verify after Revoke in this process: %v, want ErrRevoked at once", err)
	}
	if _, err := a.VerifyStrict(ctx, authport.Credential{Token: tok.AccessToken}); !errors.Is(err, authport.ErrRevoked) {
		t.Fatalf("VerifyStrict after Revoke: %v", err)
	}
	// Another process (a fresh adapter) sees it only through VerifyStrict.
	other := signedAdapter(t, e, nil)
	if _, err := other.Verify(ctx, authport.Credential{Token: tok.AccessToken}); err != nil {
		t.Fatalf("another process's Verify: %v (revocation is only visible to VerifyStrict)", err)
	}
	if _, err := other.VerifyStrict(ctx, authport.Credential{Token: tok.AccessToken}); !errors.Is(err, authport.ErrRevoked) {
		t.Fatalf("another process's VerifyStrict: %v", err)
	}
	if _, err := a.Refresh(ctx, tok.RefreshToken); !errors.Is(err, authport.ErrRevoked) {
		t.Fatalf("refresh after revoke: %v, want ErrRevoked (TOKEN_EXPIRED)", err)
	}
	// Signing in again starts a session that is not revoked.
	again, err := a.SignInWithPassword(ctx, "r@example.com", "password1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.VerifyStrict(ctx, authport.Credential{Token: again.AccessToken}); err != nil {
		t.Fatalf("new sign-in after revoke: %v", err)
	}
	// A disabled or deleted user is revoked for VerifyStrict.
	_ = e.DisableUser(u.ID)
	if _, err := a.VerifyStrict(ctx, authport.Credential{Token: again.AccessToken}); !errors.Is(err, authport.ErrRevoked) {
		t.Fatalf("disabled user: %v", err)
	}
	if _, err := a.Refresh(ctx, again.RefreshToken); !errors.Is(err, authport.ErrRevoked) {
		t.Fatalf("refresh of a disabled user: %v", err)
	}
	if err := a.Revoke(ctx, nil, nil); !errors.Is(err, authport.ErrInvalidInput) {
		t.Fatalf("Revoke with nothing: %v", err)
	}
}

func TestSessionCookieMode(t *testing.T) {
	t.Setenv(firebase.EnvEmulatorHost, "")
	e := firebasetest.New(t)
	a := signedAdapter(t, e, func(c *firebase.Config) { c.TokenLifetime = 48 * time.Hour })
	ctx := t.Context()
	_, _ = e.CreateUser(firebasetest.NewUser{Email: "c@example.com", Password: "password1", Roles: []string{"admin"}})
	tok, err := a.SignInWithPassword(ctx, "c@example.com", "password1")
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken == tok.IDToken || time.Until(tok.ExpiresAt) < 47*time.Hour {
		t.Fatalf("cookie mode tokens: expires %v", tok.ExpiresAt)
	}
	s, err := a.Verify(ctx, authport.Credential{Token: tok.AccessToken, Source: authport.SourceCookie, Cookie: "__session"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Issuer != e.SessionCookieIssuer() || !s.HasRole("admin") {
		t.Fatalf("session %+v", s)
	}
	// Both kinds verify, from either source.
	if _, err := a.Verify(ctx, authport.Credential{Token: tok.IDToken, Source: authport.SourceCookie, Cookie: "__session"}); err != nil {
		t.Fatal(err)
	}
	next, err := a.Refresh(ctx, tok.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if ns, err := a.Verify(ctx, authport.Credential{Token: next.AccessToken}); err != nil || ns.Issuer != e.SessionCookieIssuer() {
		t.Fatalf("refreshed cookie: %v %+v", err, ns)
	}
	// The ID token's signing key does not verify cookies, nor the reverse.
	forged, err := e.Keys.Current().Sign(map[string]any{"typ": "JWT"}, sessionClaimsOf(t, tok.AccessToken))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Verify(ctx, authport.Credential{Token: forged}); !errors.Is(err, authport.ErrInvalidCredential) {
		t.Fatalf("a cookie signed with the ID-token key: %v", err)
	}
}

func sessionClaimsOf(t *testing.T, tok string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSignUp(t *testing.T) {
	t.Setenv(firebase.EnvEmulatorHost, "")
	e := firebasetest.New(t)
	a := signedAdapter(t, e, nil)
	ctx := t.Context()
	tok, err := a.SignUp(ctx, "new@example.com", "password1")
	if err != nil {
		t.Fatal(err)
	}
	if s, err := a.Verify(ctx, authport.Credential{Token: tok.AccessToken}); err != nil || s.Email != "new@example.com" {
		t.Fatalf("signed-up session: %v %+v", err, s)
	}
	for _, c := range []struct{ email, pw string }{
		{"new@example.com", "password1"}, // already registered
		{"not-an-email", "password1"},
		{"short@example.com", "12345"},
	} {
		if _, err := a.SignUp(ctx, c.email, c.pw); !errors.Is(err, authport.ErrInvalidInput) {
			t.Errorf("SignUp(%q): %v, want ErrInvalidInput", c.email, err)
		}
	}
}

func TestKeyRotation(t *testing.T) {
	t.Setenv(firebase.EnvEmulatorHost, "")
	clk := firebasetest.NewClock()
	e := firebasetest.New(t, firebasetest.Options{KeysMaxAge: time.Hour, Clock: clk})
	a := signedAdapter(t, e, func(c *firebase.Config) { c.Clock = clk.Now })
	u, _ := e.CreateUser(firebasetest.NewUser{Email: "k@example.com", Password: "password1"})
	old, _ := e.MintIDToken(u.ID, nil)
	if _, err := verify(a, old); err != nil {
		t.Fatal(err)
	}
	e.Keys.Rotate()
	fresh, _ := e.MintIDToken(u.ID, nil)
	// An unknown kid refreshes the key set at most once per 30 s.
	if _, err := verify(a, fresh); !errors.Is(err, authport.ErrInvalidCredential) {
		t.Fatalf("a new kid right after a fetch: %v, want refused until the refresh interval passes", err)
	}
	clk.Advance(31 * time.Second)
	if _, err := verify(a, fresh); err != nil {
		t.Fatalf("a token of the rotated-in key: %v", err)
	}
	if _, err := verify(a, old); err != nil {
		t.Fatalf("a token of the still-published old key: %v", err)
	}
	if n := a.KeyFetches(); n != 2 {
		t.Fatalf("%d key fetches, want 2 (one cold, one for the new kid)", n)
	}
}

// TestMiddlewareReadsProviderCookie: the session cookie a Firebase app sets
// (here "__session") authenticates a request through authport.Web.
func TestMiddlewareReadsProviderCookie(t *testing.T) {
	t.Setenv(firebase.EnvEmulatorHost, "")
	e := firebasetest.New(t)
	a := signedAdapter(t, e, nil)
	u, _ := e.CreateUser(firebasetest.NewUser{Email: "m@example.com", Password: "password1"})
	cookie, err := e.MintSessionCookie(u.ID, time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	web, err := authport.NewWeb(a, authport.Config{BearerOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	h := web.Middleware(authport.Require()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := authport.SessionFrom(r.Context())
		_, _ = w.Write([]byte(s.UserID))
	})))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.AddCookie(&http.Cookie{Name: "__session", Value: cookie})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 || rec.Body.String() != u.ID {
		t.Fatalf("status %d body %q", rec.Code, rec.Body)
	}
}

// FuzzVerify: no input panics, in either mode, and nothing but a valid
// token verifies.
func FuzzVerify(f *testing.F) {
	claims := emuClaims(firebase.IDTokenIssuerPrefix)
	for _, s := range []string{"", ".", "..", "a.b.c", unsigned(nil, claims), unsigned(nil, claims) + "x",
		"eyJhbGciOiJub25lIn0.e30.", "eyJhbGciOiJSUzI1NiJ9." + enc(claims) + ".AAAA", strings.Repeat("e", 9000)} {
		f.Add(s)
	}
	a := emulatorAdapter(f, nil)
	f.Fuzz(func(t *testing.T, tok string) {
		s, err := verify(a, tok)
		if err == nil && (s == nil || s.UserID == "") {
			t.Fatal("accepted without a user")
		}
		if err != nil && strings.HasSuffix(tok, ".") && authport.KindOf(err) == authport.ErrProviderUnavailable {
			t.Fatalf("an unsigned token needed keys: %v", err) // keys are unreachable here by design
		}
	})
}
