package clerk_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authport/authport"
	"github.com/authport/authport/clerk"
	"github.com/authport/authport/clerk/clerktest"
	clerksdk "github.com/clerk/clerk-sdk-go/v2"
)

func newAdapter(t *testing.T, srv *clerktest.Server, mod func(*clerk.Config)) *clerk.Authenticator {
	t.Helper()
	cfg := srv.Config()
	if mod != nil {
		mod(&cfg)
	}
	a, err := clerk.New(t.Context(), cfg)
	if err != nil {
		t.Fatalf("clerk.New: %v", err)
	}
	return a
}

func cookie(tok string) authport.Credential {
	return authport.Credential{Token: tok, Source: authport.SourceCookie, Cookie: clerk.SessionCookie}
}

func bearer(tok string) authport.Credential {
	return authport.Credential{Token: tok, Source: authport.SourceHeader}
}

func wantKind(t *testing.T, err error, k *authport.Kind) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %v", k)
	}
	if !errors.Is(err, k) {
		t.Fatalf("error %v (kind %v), want %v", err, authport.KindOf(err), k)
	}
	if strings.Contains(err.Error(), "eyJ") || strings.Contains(err.Error(), "sk_test_x") || strings.Contains(err.Error(), "sk_test_wrong") {
		t.Fatalf("error text leaks a token or key: %v", err)
	}
}

func mustUser(t *testing.T, srv *clerktest.Server, email string) *clerktest.User {
	t.Helper()
	u, err := srv.CreateUser(clerktest.NewUser{Email: email, Password: "pw-" + email})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestNewConfigErrors(t *testing.T) {
	pk := clerk.PublishableKey("acme-1.clerk.accounts.dev", false)
	cases := []struct {
		name string
		cfg  clerk.Config
		want string // the variable the error must name
	}{
		{"no keys", clerk.Config{PublishableKey: pk}, "CLERK_SECRET_KEY"},
		{"bad secret prefix", clerk.Config{SecretKey: "pk_test_x", PublishableKey: pk}, "CLERK_SECRET_KEY"},
		{"no publishable key", clerk.Config{SecretKey: "sk_test_x"}, "CLERK_PUBLISHABLE_KEY"},
		{"publishable key not base64", clerk.Config{SecretKey: "sk_test_x", PublishableKey: "pk_test_%%%"}, "CLERK_PUBLISHABLE_KEY"},
		{"publishable key without $", clerk.Config{SecretKey: "sk_test_x", PublishableKey: "pk_test_YWNtZS5jb20="}, "CLERK_PUBLISHABLE_KEY"},
		{"publishable key wrong prefix", clerk.Config{SecretKey: "sk_test_x", PublishableKey: "sk_test_YWNtZS5jb20k"}, "CLERK_PUBLISHABLE_KEY"},
		{"http api url", clerk.Config{SecretKey: "sk_test_x", PublishableKey: pk, APIURL: "http://api.example.com/v1"}, "CLERK_API_URL"},
		{"relative api url", clerk.Config{SecretKey: "sk_test_x", PublishableKey: pk, APIURL: "/v1"}, "CLERK_API_URL"},
		{"bad proxy url", clerk.Config{SecretKey: "sk_test_x", ProxyURL: "ftp://proxy"}, "CLERK_PROXY_URL"},
		{"bad sign-in url", clerk.Config{SecretKey: "sk_test_x", PublishableKey: pk, SignInURL: "javascript:alert(1)"}, "CLERK_SIGN_IN_URL"},
		{"bad jwt key", clerk.Config{PublishableKey: pk, JWTKey: "not a key"}, "CLERK_JWT_KEY"},
		{"leeway too large", clerk.Config{SecretKey: "sk_test_x", PublishableKey: pk, Leeway: time.Hour}, "Leeway"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := clerk.New(t.Context(), c.cfg)
			wantKind(t, err, authport.ErrMisconfigured)
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not name %s", err, c.want)
			}
		})
	}
}

func TestPublishableKey(t *testing.T) {
	cases := []struct {
		pk, host string
		ok       bool
	}{
		{clerk.PublishableKey("acme-1.clerk.accounts.dev", false), "acme-1.clerk.accounts.dev", true},
		{clerk.PublishableKey("clerk.example.com", true), "clerk.example.com", true},
		{"pk_test_" + strings.TrimRight(strings.TrimPrefix(clerk.PublishableKey("clerk.example.com", false), "pk_test_"), "="), "clerk.example.com", true},
		{"pk_test_Y2xlcmsuZXhhbXBsZS5jb20=", "", false}, // no trailing $
		{"pk_test_", "", false},
		{"pk_test_JA==", "", false},     // "$": no host
		{"pk_test_Lz8kJA==", "", false}, // "/?$$"
		{"pk_prod_Y2xlcmsuZXhhbXBsZS5jb20k", "", false},
	}
	for _, c := range cases {
		host, err := clerk.ParsePublishableKey(c.pk)
		if (err == nil) != c.ok || host != c.host {
			t.Errorf("ParsePublishableKey(%q) = %q, %v; want %q ok=%v", c.pk, host, err, c.host, c.ok)
		}
	}
}

func TestIssuerAndAccountPortal(t *testing.T) {
	cases := []struct {
		host, issuer, signIn string
	}{
		{"acme-1.clerk.accounts.dev", "https://acme-1.clerk.accounts.dev", "https://acme-1.accounts.dev/sign-in"},
		{"clerk.example.com", "https://clerk.example.com", "https://accounts.example.com/sign-in"},
		{"auth.example.com", "https://auth.example.com", ""},
	}
	for _, c := range cases {
		a, err := clerk.New(t.Context(), clerk.Config{SecretKey: "sk_test_x", PublishableKey: clerk.PublishableKey(c.host, false)})
		if err != nil {
			t.Fatal(err)
		}
		if a.Issuer() != c.issuer {
			t.Errorf("%s: issuer %q, want %q", c.host, a.Issuer(), c.issuer)
		}
		u, err := a.AuthorizeURL(t.Context(), authport.AuthorizeRequest{RedirectURI: "https://app.example.com/auth/callback", State: "s1"})
		if c.signIn == "" {
			wantKind(t, err, authport.ErrUnsupported)
			if authport.Has(a, authport.CapRedirectSignIn) {
				t.Errorf("%s: redirect sign-in reported without a sign-in page", c.host)
			}
			continue
		}
		if err != nil || !strings.HasPrefix(u, c.signIn+"?") {
			t.Errorf("%s: AuthorizeURL = %q, %v; want %s?…", c.host, u, err, c.signIn)
		}
	}
	a, err := clerk.New(t.Context(), clerk.Config{SecretKey: "sk_test_x", ProxyURL: "https://example.com/__clerk"})
	if err != nil || a.Issuer() != "https://example.com/__clerk" {
		t.Fatalf("proxy issuer = %q, %v", a.Issuer(), err)
	}
}

func TestAuthorizeURL(t *testing.T) {
	a, err := clerk.New(t.Context(), clerk.Config{SecretKey: "sk_test_x", PublishableKey: clerk.PublishableKey("acme.clerk.accounts.dev", false)})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := a.AuthorizeURL(t.Context(), authport.AuthorizeRequest{
		RedirectURI: "https://app.example.com/auth/callback?x=1", State: "st&=ate", CodeChallenge: "ignored", ScreenHint: "sign-up",
	})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(raw)
	if u.Host != "acme.accounts.dev" || u.Path != "/sign-up" {
		t.Fatalf("sign-up hint went to %s", raw)
	}
	ret, err := url.Parse(u.Query().Get("redirect_url"))
	if err != nil || ret.Query().Get("state") != "st&=ate" || ret.Query().Get("x") != "1" || ret.Path != "/auth/callback" {
		t.Fatalf("redirect_url %q does not carry the state", u.Query().Get("redirect_url"))
	}
	for _, bad := range []authport.AuthorizeRequest{
		{RedirectURI: "/auth/callback", State: "s"},
		{RedirectURI: "javascript:alert(1)", State: "s"},
		{RedirectURI: "https://app.example.com/cb"},
	} {
		_, err := a.AuthorizeURL(t.Context(), bad)
		wantKind(t, err, authport.ErrInvalidInput)
	}
}

func TestFromEnvAndURL(t *testing.T) {
	srv := clerktest.New(t)
	a, err := authport.FromEnvFunc(t.Context(), srv.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	if a.Provider() != "clerk" {
		t.Fatalf("provider %q", a.Provider())
	}
	u := mustUser(t, srv, "env@example.com")
	tok, err := srv.SignIn("env@example.com", "pw-env@example.com")
	if err != nil {
		t.Fatal(err)
	}
	s, err := a.Verify(t.Context(), bearer(tok.AccessToken))
	if err != nil || s.UserID != u.ID {
		t.Fatalf("Verify via FromEnv: %+v, %v", s, err)
	}

	q := url.Values{"secret_key": {srv.SecretKey}, "api_url": {srv.APIURL}, "authorized_parties": {"http://localhost:3000"}, "leeway": {"2s"}}
	a2, err := authport.OpenURL(t.Context(), "clerk://"+srv.FrontendAPI+"?"+q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a2.Verify(t.Context(), bearer(tok.AccessToken)); err != nil {
		t.Fatalf("Verify via OpenURL: %v", err)
	}
	for _, bad := range []string{"clerk://exa_mple.com", "clerk://" + srv.FrontendAPI + "?leeway=soon&secret_key=sk_test_x"} {
		_, err := authport.OpenURL(t.Context(), bad)
		wantKind(t, err, authport.ErrMisconfigured)
	}
	_, err = authport.FromEnvFunc(t.Context(), func(k string) string {
		if k == clerk.EnvSecretKey {
			return ""
		}
		return srv.Getenv(k)
	})
	wantKind(t, err, authport.ErrMisconfigured)
	if !strings.Contains(err.Error(), "CLERK_SECRET_KEY") {
		t.Fatalf("error does not name the variable: %v", err)
	}
}

func TestClaimsMapping(t *testing.T) {
	srv := clerktest.New(t)
	srv.DefineRole("org:editor", "org:posts:read", "org:posts:write", "org:billing:manage", "org:sys_memberships:read")
	a := newAdapter(t, srv, func(c *clerk.Config) { c.RolesClaim, c.PermissionsClaim = "metadata.roles", "metadata.permissions" })
	srv.SetSessionClaims(map[string]any{"metadata": "{{user.public_metadata}}", "email": "{{user.primary_email_address}}", "email_verified": "{{user.email_verified}}"})

	u, err := srv.CreateUser(clerktest.NewUser{Email: "ada@example.com", Password: "pw-ada-123",
		PublicMetadata: map[string]any{"roles": []any{"admin"}, "permissions": []any{"reports:read"}}})
	if err != nil {
		t.Fatal(err)
	}
	o, err := srv.CreateOrganization("Acme Inc", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.AddMembership(o.ID, u.ID, "org:editor"); err != nil {
		t.Fatal(err)
	}

	type want struct {
		org, slug    string
		roles, perms []string
		status       string
		sdkRole      string
		version      int
		actor        bool
	}
	cases := []struct {
		name string
		opts clerktest.SessionOptions
		want want
	}{
		{"no organisation", clerktest.SessionOptions{},
			want{roles: []string{"admin"}, perms: []string{"reports:read"}, status: "active", version: 1}},
		{"active organisation", clerktest.SessionOptions{ActiveOrganization: o.ID},
			want{org: o.ID, slug: "acme-inc", roles: []string{"org:editor", "admin"},
				perms:  []string{"org:posts:read", "org:posts:write", "org:billing:manage", "reports:read"},
				status: "active", sdkRole: "org:editor", version: 2}},
		{"pending", clerktest.SessionOptions{Pending: true},
			want{roles: []string{"admin"}, perms: []string{"reports:read"}, status: authport.StatusPending, version: 1}},
		{"impersonated", clerktest.SessionOptions{Actor: map[string]any{"sub": "user_admin", "iss": "https://dashboard.clerk.com"}},
			want{roles: []string{"admin"}, perms: []string{"reports:read"}, status: "active", version: 1, actor: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sid, err := srv.CreateSession(u.ID, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := srv.SessionToken(sid)
			if err != nil {
				t.Fatal(err)
			}
			s, err := a.Verify(t.Context(), cookie(tok))
			if err != nil {
				t.Fatal(err)
			}
			w := c.want
			if s.UserID != u.ID || s.SessionID != sid || s.Provider != "clerk" || s.Issuer != srv.Issuer || s.TokenID == "" {
				t.Errorf("identity: %+v", s)
			}
			if s.Email != "ada@example.com" || !s.EmailVerified {
				t.Errorf("email %q verified=%v", s.Email, s.EmailVerified)
			}
			if s.OrgID != w.org || s.OrgSlug != w.slug {
				t.Errorf("org %q/%q, want %q/%q", s.OrgID, s.OrgSlug, w.org, w.slug)
			}
			if !slices.Equal(s.Roles, w.roles) || !slices.Equal(s.Permissions, w.perms) {
				t.Errorf("roles %v perms %v, want %v %v", s.Roles, s.Permissions, w.roles, w.perms)
			}
			if s.Status != w.status {
				t.Errorf("status %q, want %q", s.Status, w.status)
			}
			if exp := s.ExpiresAt.Sub(s.IssuedAt); exp != 60*time.Second {
				t.Errorf("lifetime %v", exp)
			}
			var sc *clerksdk.SessionClaims
			if !s.As(&sc) {
				t.Fatal("As(*clerk.SessionClaims) failed")
			}
			if sc.Subject != u.ID || sc.SessionID != sid || sc.Version != w.version || sc.ActiveOrganizationRole != w.sdkRole ||
				sc.AuthorizedParty != clerktest.DefaultAuthorizedParty || (len(sc.Actor) > 0) != w.actor {
				t.Errorf("native claims %+v", sc)
			}
			if w.org != "" && (!sc.HasPermission("org:posts:write") || sc.HasPermission("org:sys_memberships:read")) {
				t.Errorf("native permissions %v", sc.ActiveOrganizationPermissions)
			}
		})
	}

	t.Run("RequireOrg refuses pending", func(t *testing.T) {
		sid, _ := srv.CreateSession(u.ID, clerktest.SessionOptions{Pending: true})
		tok, _ := srv.SessionToken(sid)
		s, err := a.Verify(t.Context(), cookie(tok))
		if err != nil {
			t.Fatal(err)
		}
		if err := authport.Org()(s); !errors.Is(err, authport.ErrForbidden) {
			t.Fatalf("Org() on a pending session: %v", err)
		}
	})
}

func TestClaimsVersion1(t *testing.T) {
	srv := clerktest.New(t, clerktest.Options{ClaimsVersion: 1})
	srv.DefineRole("org:editor", "org:posts:read", "org:sys_profile:manage")
	a := newAdapter(t, srv, nil)
	u := mustUser(t, srv, "v1@example.com")
	o, _ := srv.CreateOrganization("V1 Org", "v1-org", "")
	if err := srv.AddMembership(o.ID, u.ID, "org:editor"); err != nil {
		t.Fatal(err)
	}
	sid, err := srv.CreateSession(u.ID, clerktest.SessionOptions{ActiveOrganization: o.ID})
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := srv.SessionToken(sid)
	s, err := a.Verify(t.Context(), bearer(tok))
	if err != nil {
		t.Fatal(err)
	}
	if s.OrgID != o.ID || s.OrgSlug != "v1-org" || !slices.Equal(s.Roles, []string{"org:editor"}) || !slices.Equal(s.Permissions, []string{"org:posts:read"}) {
		t.Fatalf("v1 mapping: %+v", s)
	}
	if _, ok := s.Claims["v"]; ok {
		t.Fatal("a version-1 token carries v")
	}
}

func TestOrganizationPermissions(t *testing.T) {
	cases := []struct {
		fea, per, fpm string
		want          []string
	}{
		{"o:posts", "read,write", "3", []string{"org:posts:read", "org:posts:write"}},
		{"o:posts,o:billing", "read,write,manage", "3,4", []string{"org:posts:read", "org:posts:write", "org:billing:manage"}},
		{"u:dashboard,o:posts", "read", "1,1", []string{"org:posts:read"}}, // user-scoped features ignored
		{"uo:posts", "read", "1", []string{"org:posts:read"}},              // both scopes
		{"o:posts", "read", "3", []string{}},                               // more bits than permissions: malformed
		{"o:posts", "read", "x", []string{}},                               // not a number
		{"o:posts,o:more", "read", "1", []string{"org:posts:read"}},        // missing mapping
		{"posts", "read", "1", []string{}},                                 // no scope
		{"", "", "", []string{}},
		{"o:a,o:b", "r,w", "2,0", []string{"org:a:w"}},
	}
	for _, c := range cases {
		if got := clerk.OrganizationPermissions(c.fea, c.per, c.fpm); !slices.Equal(got, c.want) {
			t.Errorf("OrganizationPermissions(%q,%q,%q) = %v, want %v", c.fea, c.per, c.fpm, got, c.want)
		}
	}
}

func TestVerifyRejects(t *testing.T) {
	srv := clerktest.New(t)
	a := newAdapter(t, srv, nil)
	u := mustUser(t, srv, "r@example.com")
	sid, _ := srv.CreateSession(u.ID, clerktest.SessionOptions{})
	good, _ := srv.SessionToken(sid)
	if _, err := a.Verify(t.Context(), bearer(good)); err != nil {
		t.Fatal(err)
	}
	mint := func(o clerktest.MintOptions) string {
		o.SessionID = sid
		tok, err := srv.Mint(o)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	cases := []struct {
		name string
		tok  string
		kind *authport.Kind
	}{
		{"empty", "", authport.ErrNoCredential},
		{"garbage", "not-a-token", authport.ErrInvalidCredential},
		{"expired", mint(clerktest.MintOptions{Expired: true}), authport.ErrExpired},
		{"not yet valid", mint(clerktest.MintOptions{NotYetValid: true}), authport.ErrInvalidCredential},
		{"foreign key", mint(clerktest.MintOptions{Foreign: true}), authport.ErrInvalidCredential},
		{"alg none", mint(clerktest.MintOptions{Alg: "none"}), authport.ErrInvalidCredential},
		{"hmac confusion", mint(clerktest.MintOptions{Alg: "HS256"}), authport.ErrInvalidCredential},
		{"prefix issuer", mint(clerktest.MintOptions{Claims: map[string]any{"iss": "https://clerk.evil.com"}}), authport.ErrInvalidCredential},
		{"other instance", mint(clerktest.MintOptions{Claims: map[string]any{"iss": "https://other.clerk.accounts.dev"}}), authport.ErrInvalidCredential},
		{"wrong azp", mint(clerktest.MintOptions{Claims: map[string]any{"azp": "https://evil.example"}}), authport.ErrInvalidCredential},
		{"missing azp", mint(clerktest.MintOptions{Claims: map[string]any{"azp": nil}}), authport.ErrInvalidCredential},
		{"no kid", mint(clerktest.MintOptions{Header: map[string]any{"kid": nil}}), authport.ErrInvalidCredential},
		{"typ at+jwt", mint(clerktest.MintOptions{Header: map[string]any{"typ": "at+jwt"}}), authport.ErrInvalidCredential},
		{"v not a number", mint(clerktest.MintOptions{Claims: map[string]any{"v": "2"}}), authport.ErrInvalidCredential},
		{"o not an object", mint(clerktest.MintOptions{Claims: map[string]any{"o": "org_1"}}), authport.ErrInvalidCredential},
		{"o.rol not a string", mint(clerktest.MintOptions{Claims: map[string]any{"o": map[string]any{"id": "org_1", "rol": 1}}}), authport.ErrInvalidCredential},
		{"sid not a string", mint(clerktest.MintOptions{Claims: map[string]any{"sid": 7}}), authport.ErrInvalidCredential},
		{"fva not numbers", mint(clerktest.MintOptions{Claims: map[string]any{"fva": []any{"a", "b"}}}), authport.ErrInvalidCredential},
		{"org_permissions not a list", mint(clerktest.MintOptions{Claims: map[string]any{"org_permissions": "org:a:b"}}), authport.ErrInvalidCredential},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := a.Verify(t.Context(), bearer(c.tok))
			wantKind(t, err, c.kind)
		})
	}
}

func TestVerifyClockAndRotation(t *testing.T) {
	clock := clerktest.NewClock()
	srv := clerktest.New(t, clerktest.Options{Clock: clock})
	a := newAdapter(t, srv, nil)
	u := mustUser(t, srv, "clock@example.com")
	sid, _ := srv.CreateSession(u.ID, clerktest.SessionOptions{})
	tok, _ := srv.SessionToken(sid)
	if _, err := a.Verify(t.Context(), cookie(tok)); err != nil {
		t.Fatal(err)
	}
	clock.Advance(63 * time.Second) // within the 5 s leeway
	if _, err := a.Verify(t.Context(), cookie(tok)); err != nil {
		t.Fatalf("within leeway: %v", err)
	}
	clock.Advance(3 * time.Second)
	_, err := a.Verify(t.Context(), cookie(tok))
	wantKind(t, err, authport.ErrExpired)

	fetches := srv.KeyFetches()
	old := srv.KID()
	if srv.Rotate() == old {
		t.Fatal("rotation kept the kid")
	}
	tok2, _ := srv.SessionToken(sid)
	if _, err := a.Verify(t.Context(), cookie(tok2)); err != nil {
		t.Fatalf("token signed by the new key: %v", err)
	}
	if n := srv.KeyFetches() - fetches; n != 1 {
		t.Fatalf("rotation caused %d key fetches, want 1", n)
	}
}

func TestNetworklessJWTKey(t *testing.T) {
	srv := clerktest.New(t)
	a := newAdapter(t, srv, func(c *clerk.Config) {
		c.SecretKey = ""
		c.JWTKey = strings.NewReplacer("-----BEGIN PUBLIC KEY-----", "", "-----END PUBLIC KEY-----", "", "\n", "").Replace(srv.PublicKeyPEM())
	})
	u := mustUser(t, srv, "jwtkey@example.com")
	sid, _ := srv.CreateSession(u.ID, clerktest.SessionOptions{})
	tok, _ := srv.SessionToken(sid)
	if _, err := a.Verify(t.Context(), cookie(tok)); err != nil {
		t.Fatal(err)
	}
	if srv.KeyFetches() != 0 || a.KeyFetches() != 0 {
		t.Fatal("networkless verification fetched keys")
	}
	for _, c := range []authport.Capability{authport.CapStrictVerify, authport.CapRevoke} {
		if authport.Has(a, c) {
			t.Errorf("%s available without a secret key", c)
		}
	}
	_, err := a.VerifyStrict(t.Context(), cookie(tok))
	wantKind(t, err, authport.ErrUnsupported)
	foreign, _ := srv.Mint(clerktest.MintOptions{SessionID: sid, Foreign: true})
	_, err = a.Verify(t.Context(), cookie(foreign))
	wantKind(t, err, authport.ErrInvalidCredential)
}

func TestStrictAndRevoke(t *testing.T) {
	srv := clerktest.New(t)
	a := newAdapter(t, srv, nil)
	other := newAdapter(t, srv, nil) // another process
	u := mustUser(t, srv, "strict@example.com")
	newTok := func(o clerktest.SessionOptions) (string, string) {
		sid, err := srv.CreateSession(u.ID, o)
		if err != nil {
			t.Fatal(err)
		}
		tok, _ := srv.SessionToken(sid)
		return sid, tok
	}

	sid, tok := newTok(clerktest.SessionOptions{})
	if s, err := a.VerifyStrict(t.Context(), cookie(tok)); err != nil || s.Status != "active" {
		t.Fatalf("strict on a live session: %+v, %v", s, err)
	}
	before := srv.Hits("GET /v1/sessions/{id}")
	a.VerifyStrict(t.Context(), cookie(tok))
	if srv.Hits("GET /v1/sessions/{id}") != before+1 {
		t.Fatal("strict verification did not ask the Backend API")
	}
	s, _ := a.Verify(t.Context(), cookie(tok))
	if err := a.Revoke(t.Context(), s, nil); err != nil {
		t.Fatal(err)
	}
	if st, _ := srv.SessionStatus(sid); st != "revoked" {
		t.Fatalf("status at Clerk after Revoke: %q", st)
	}
	_, err := a.Verify(t.Context(), cookie(tok))
	wantKind(t, err, authport.ErrRevoked)
	if _, err := other.Verify(t.Context(), cookie(tok)); err != nil {
		t.Fatalf("another process within the revocation delay: %v", err)
	}
	_, err = other.VerifyStrict(t.Context(), cookie(tok))
	wantKind(t, err, authport.ErrRevoked)
	if err := a.Revoke(t.Context(), s, nil); err != nil {
		t.Fatalf("revoking twice: %v", err)
	}
	if d := a.Describe().RevocationDelay; d != 65*time.Second {
		t.Fatalf("RevocationDelay %v, want 65s", d)
	}

	sid, tok = newTok(clerktest.SessionOptions{})
	srv.EndSession(sid)
	_, err = a.VerifyStrict(t.Context(), cookie(tok))
	wantKind(t, err, authport.ErrRevoked)

	_, tok = newTok(clerktest.SessionOptions{Pending: true})
	if s, err := a.VerifyStrict(t.Context(), cookie(tok)); err != nil || !s.Pending() {
		t.Fatalf("strict on a pending session: %+v, %v", s, err)
	}

	// A token naming a session Clerk does not know.
	forged, _ := srv.Mint(clerktest.MintOptions{SessionID: sid, Claims: map[string]any{"sid": "sess_unknown"}})
	_, err = a.VerifyStrict(t.Context(), cookie(forged))
	wantKind(t, err, authport.ErrRevoked)
	// A session of another user.
	u2 := mustUser(t, srv, "strict2@example.com")
	sid2, _ := srv.CreateSession(u2.ID, clerktest.SessionOptions{})
	mixed, _ := srv.Mint(clerktest.MintOptions{SessionID: sid, Claims: map[string]any{"sid": sid2}})
	_, err = a.VerifyStrict(t.Context(), cookie(mixed))
	wantKind(t, err, authport.ErrInvalidCredential)

	err = a.Revoke(t.Context(), &authport.Session{UserID: u.ID}, nil)
	wantKind(t, err, authport.ErrInvalidInput)
}

func TestBackendAPIErrors(t *testing.T) {
	srv := clerktest.New(t)
	u := mustUser(t, srv, "errors@example.com")
	sid, _ := srv.CreateSession(u.ID, clerktest.SessionOptions{})
	tok, _ := srv.SessionToken(sid)

	wrongKey := newAdapter(t, srv, func(c *clerk.Config) { c.SecretKey = "sk_test_wrong" })
	_, err := wrongKey.Verify(t.Context(), cookie(tok))
	wantKind(t, err, authport.ErrProviderUnavailable) // keys cannot be fetched
	_, err = wrongKey.VerifyStrict(t.Context(), cookie(tok))
	wantKind(t, err, authport.ErrProviderUnavailable)

	a := newAdapter(t, srv, nil)
	if _, err := a.Verify(t.Context(), cookie(tok)); err != nil {
		t.Fatal(err)
	}
	wrongKey2 := newAdapter(t, srv, func(c *clerk.Config) { c.JWTKey = srv.PublicKeyPEM(); c.SecretKey = "sk_test_wrong" })
	_, err = wrongKey2.VerifyStrict(t.Context(), cookie(tok))
	wantKind(t, err, authport.ErrMisconfigured)
	if !strings.Contains(err.Error(), "CLERK_SECRET_KEY") {
		t.Fatalf("401 from Clerk does not point at the secret key: %v", err)
	}

	for _, f := range []clerktest.Fault{{Status: 503}, {Status: 429}, {Hangup: true}, {Garbage: "html", Status: 500}} {
		srv.SetFault("GET /v1/sessions/{id}", f)
		_, err := a.VerifyStrict(t.Context(), cookie(tok))
		wantKind(t, err, authport.ErrProviderUnavailable)
		srv.ClearFaults()
	}
	srv.SetFault("POST /v1/sessions/{id}/revoke", clerktest.Fault{Status: 503})
	s, _ := a.Verify(t.Context(), cookie(tok))
	err = a.Revoke(t.Context(), s, nil)
	wantKind(t, err, authport.ErrProviderUnavailable)
	_, err = a.Verify(t.Context(), cookie(tok))
	wantKind(t, err, authport.ErrRevoked) // denied locally even though Clerk could not be told
	srv.ClearFaults()

	slow := newAdapter(t, srv, func(c *clerk.Config) { c.HTTPClient = &http.Client{Timeout: 100 * time.Millisecond} })
	srv.SetFault("GET /v1/sessions/{id}", clerktest.Fault{Delay: 2 * time.Second})
	_, err = slow.VerifyStrict(t.Context(), cookie(tok))
	wantKind(t, err, authport.ErrProviderUnavailable)
	srv.ClearFaults()
}

func TestProviderCookieMiddleware(t *testing.T) {
	srv := clerktest.New(t)
	a := newAdapter(t, srv, nil)
	web, err := authport.NewWeb(a, authport.Config{BearerOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	h := web.Middleware(authport.Require()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := authport.SessionFrom(r.Context())
		w.Write([]byte(s.UserID))
	})))
	u := mustUser(t, srv, "cookie@example.com")
	tok, _ := srv.SignIn("cookie@example.com", "pw-cookie@example.com")
	for _, set := range []func(*http.Request){
		func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "__session", Value: tok.AccessToken}) },
		func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok.AccessToken) },
	} {
		r := httptest.NewRequest("GET", "/", nil)
		set(r)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != 200 || rec.Body.String() != u.ID {
			t.Fatalf("got %d %q", rec.Code, rec.Body.String())
		}
	}
}

func TestNoPanicOnBadInput(t *testing.T) {
	srv := clerktest.New(t)
	a := newAdapter(t, srv, nil)
	inputs := []string{"", ".", "..", "...", "a.b.c", "eyJ.eyJ.", strings.Repeat("A", 9000), "\x00\xff.\x00.\x00",
		"eyJhbGciOiJSUzI1NiJ9.bnVsbA.AAAA", "eyJhbGciOiJSUzI1NiJ9.W10.AAAA"}
	for _, in := range inputs {
		a.Verify(context.Background(), bearer(in))
		a.VerifyStrict(context.Background(), bearer(in))
		a.Exchange(context.Background(), authport.Callback{Query: url.Values{clerk.HandshakeParam: {in}}})
	}
	a.Revoke(context.Background(), nil, nil)
}
