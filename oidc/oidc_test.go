package oidc_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authport/authport"
	"github.com/authport/authport/internal/emulator"
	"github.com/authport/authport/internal/testenv"
	"github.com/authport/authport/oidc"
	"github.com/authport/authport/oidc/oidctest"
)

// newAuth returns an adapter for emu sharing its clock.
func newAuth(t *testing.T, emu *oidctest.Emulator, mod func(*oidc.Config)) *oidc.Authenticator {
	t.Helper()
	cfg := oidc.Config{
		Issuer: emu.Issuer, Audiences: []string{emu.Audience},
		ClientID: emu.ClientID, ClientSecret: emu.ClientSecret,
		HTTPClient: emu.Client(), Clock: emu.Clock.Now,
	}
	if mod != nil {
		mod(&cfg)
	}
	a, err := oidc.New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func bearer(tok string) authport.Credential {
	return authport.Credential{Token: tok, Source: authport.SourceHeader}
}

func createUser(t *testing.T, emu *oidctest.Emulator, u oidctest.NewUser) *oidctest.User {
	t.Helper()
	if u.Email == "" {
		u.Email = "u-" + emulator.RandomHex(4) + "@example.com"
	}
	if u.Password == "" {
		u.Password = "correct horse battery"
	}
	got, err := emu.CreateUser(u)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestPasswordSignInAndVerify(t *testing.T) {
	emu := oidctest.New(t)
	a := newAuth(t, emu, nil)
	u := createUser(t, emu, oidctest.NewUser{Email: "Ada@Example.com", Password: "pw-123456", EmailVerified: true,
		Roles: []string{"admin"}, Permissions: []string{"reports:read"}, OrgID: "org_1"})
	tok, err := a.SignInWithPassword(t.Context(), "ada@example.com", "pw-123456")
	if err != nil {
		t.Fatal(err)
	}
	if tok.UserID != u.ID || tok.SessionID == "" || tok.RefreshToken == "" || tok.IDToken == "" || !tok.ExpiresAt.After(emu.Clock.Now()) {
		t.Fatalf("tokens %+v", tok)
	}
	s, err := a.Verify(t.Context(), bearer(tok.AccessToken))
	if err != nil {
		t.Fatal(err)
	}
	if s.Provider != "oidc" || s.Issuer != emu.Issuer || s.UserID != u.ID || s.SessionID != tok.SessionID || s.TokenID == "" ||
		s.Email != "Ada@Example.com" || !s.EmailVerified || s.OrgID != "org_1" || !s.HasRole("admin") ||
		!s.HasPermission("reports:read") || s.HasPermission("openid") || !slices.Contains(s.Scopes, "openid") || s.ExpiresAt.IsZero() || s.Claims["azp"] != emu.ClientID {
		t.Fatalf("session %+v", s)
	}

	_, wrong := a.SignInWithPassword(t.Context(), "ada@example.com", "nope")
	_, unknown := a.SignInWithPassword(t.Context(), "bob@example.com", "pw-123456")
	testenv.WantKind(t, wrong, authport.ErrInvalidCredential)
	testenv.WantKind(t, unknown, authport.ErrInvalidCredential)
	if wrong.Error() != unknown.Error() {
		t.Fatalf("wrong password %q and unknown email %q differ", wrong, unknown)
	}
	if _, err := a.Verify(t.Context(), authport.Credential{}); !errors.Is(err, authport.ErrNoCredential) {
		t.Fatal(err)
	}
	// An ID token is not an access token (its aud is the client id).
	_, err = a.Verify(t.Context(), bearer(tok.IDToken))
	testenv.WantKind(t, err, authport.ErrInvalidCredential)
}

func TestClientSecretPost(t *testing.T) {
	// An issuer that only takes client_secret_post gets it; a wrong secret
	// is a configuration error.
	emu := oidctest.New(t)
	a := newAuth(t, emu, func(c *oidc.Config) { c.ClientSecret = "wrong" })
	createUser(t, emu, oidctest.NewUser{Email: "a@example.com", Password: "pw"})
	_, err := a.SignInWithPassword(t.Context(), "a@example.com", "pw")
	testenv.WantKind(t, err, authport.ErrMisconfigured)

	pub := oidctest.New(t, oidctest.Options{PublicClient: true})
	createUser(t, pub, oidctest.NewUser{Email: "a@example.com", Password: "pw"})
	if _, err := newAuth(t, pub, nil).SignInWithPassword(t.Context(), "a@example.com", "pw"); err != nil {
		t.Fatalf("public client: %v", err)
	}
}

func TestRedirectSignIn(t *testing.T) {
	emu := oidctest.New(t, oidctest.Options{RedirectURIs: []string{"http://app.test/auth/callback"}})
	a := newAuth(t, emu, nil)
	u := createUser(t, emu, oidctest.NewUser{})
	const redirect = "http://app.test/auth/callback"
	verifier := emulator.RandomToken(32)

	authorize := func(state string) *url.URL {
		t.Helper()
		au, err := a.AuthorizeURL(t.Context(), authport.AuthorizeRequest{RedirectURI: redirect, State: state, CodeChallenge: emulator.PKCEChallenge(verifier)})
		if err != nil {
			t.Fatal(err)
		}
		cb, err := emulator.SubmitLogin(t.Context(), emu.Client(), au, u.Email, "correct horse battery")
		if err != nil {
			t.Fatal(err)
		}
		if cb.Query().Get("state") != state || cb.Query().Get("iss") != emu.Issuer {
			t.Fatalf("callback %s", cb)
		}
		return cb
	}

	cb := authorize("st-1")
	tok, err := a.Exchange(t.Context(), authport.Callback{Query: cb.Query(), CodeVerifier: verifier, RedirectURI: redirect})
	if err != nil {
		t.Fatal(err)
	}
	if s, err := a.Verify(t.Context(), bearer(tok.AccessToken)); err != nil || s.UserID != u.ID {
		t.Fatalf("verify exchanged token: %v", err)
	}
	// A code is single use.
	_, err = a.Exchange(t.Context(), authport.Callback{Query: cb.Query(), CodeVerifier: verifier, RedirectURI: redirect})
	testenv.WantKind(t, err, authport.ErrInvalidCredential)

	// Wrong PKCE verifier.
	cb = authorize("st-2")
	_, err = a.Exchange(t.Context(), authport.Callback{Query: cb.Query(), CodeVerifier: emulator.RandomToken(32), RedirectURI: redirect})
	testenv.WantKind(t, err, authport.ErrInvalidCredential)

	// A response from another issuer (RFC 9207 mix-up).
	cb = authorize("st-3")
	q := cb.Query()
	q.Set("iss", "https://evil.example")
	_, err = a.Exchange(t.Context(), authport.Callback{Query: q, CodeVerifier: verifier, RedirectURI: redirect})
	testenv.WantKind(t, err, authport.ErrInvalidCredential)
	q.Del("iss") // the issuer announces the parameter, so it is required
	_, err = a.Exchange(t.Context(), authport.Callback{Query: q, CodeVerifier: verifier, RedirectURI: redirect})
	testenv.WantKind(t, err, authport.ErrInvalidCredential)

	// Errors sent back by the issuer.
	_, err = a.Exchange(t.Context(), authport.Callback{Query: url.Values{"error": {"access_denied"}, "iss": {emu.Issuer}}, RedirectURI: redirect})
	testenv.WantKind(t, err, authport.ErrInvalidCredential)
	_, err = a.Exchange(t.Context(), authport.Callback{Query: url.Values{"iss": {emu.Issuer}}, RedirectURI: redirect})
	testenv.WantKind(t, err, authport.ErrInvalidInput)

	// Missing PKCE or state is refused before anything is sent.
	_, err = a.AuthorizeURL(t.Context(), authport.AuthorizeRequest{RedirectURI: redirect, State: "s"})
	testenv.WantKind(t, err, authport.ErrInvalidInput)

	au, _ := a.AuthorizeURL(t.Context(), authport.AuthorizeRequest{RedirectURI: redirect, State: "s", CodeChallenge: "c", ScreenHint: "sign-up", Organization: "org_9"})
	pu, _ := url.Parse(au)
	if q := pu.Query(); q.Get("prompt") != "create" || q.Get("organization") != "org_9" || q.Get("code_challenge_method") != "S256" ||
		!strings.Contains(q.Get("scope"), "offline_access") {
		t.Fatalf("authorize URL %s", au)
	}
}

func TestRefreshRotation(t *testing.T) {
	emu := oidctest.New(t)
	a := newAuth(t, emu, nil)
	u := createUser(t, emu, oidctest.NewUser{})
	tok, err := a.SignInWithPassword(t.Context(), u.Email, "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	next, err := a.Refresh(t.Context(), tok.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if next.RefreshToken == tok.RefreshToken || next.AccessToken == tok.AccessToken || next.SessionID != tok.SessionID {
		t.Fatalf("refresh did not rotate: %+v", next)
	}
	if _, err := a.Verify(t.Context(), bearer(next.AccessToken)); err != nil {
		t.Fatal(err)
	}
	// Reuse fails, and (reuse detection) ends the session: the successor
	// stops working too.
	_, err = a.Refresh(t.Context(), tok.RefreshToken)
	testenv.WantKind(t, err, authport.ErrInvalidCredential)
	_, err = a.Refresh(t.Context(), next.RefreshToken)
	testenv.WantKind(t, err, authport.ErrInvalidCredential)
	_, err = a.VerifyStrict(t.Context(), bearer(next.AccessToken))
	testenv.WantKind(t, err, authport.ErrRevoked)
	_, err = a.Refresh(t.Context(), "garbage")
	testenv.WantKind(t, err, authport.ErrInvalidCredential)
}

func TestRevokeAndStrictVerify(t *testing.T) {
	for _, introspection := range []bool{true, false} {
		t.Run(map[bool]string{true: "introspection", false: "userinfo"}[introspection], func(t *testing.T) {
			emu := oidctest.New(t, oidctest.Options{NoIntrospection: !introspection})
			a := newAuth(t, emu, nil)
			other := newAuth(t, emu, nil) // another process: no local deny list
			u := createUser(t, emu, oidctest.NewUser{})
			tok, err := a.SignInWithPassword(t.Context(), u.Email, "correct horse battery")
			if err != nil {
				t.Fatal(err)
			}
			c := bearer(tok.AccessToken)
			s, err := a.VerifyStrict(t.Context(), c)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := other.Verify(t.Context(), c); err != nil {
				t.Fatal(err)
			}
			if err := a.Revoke(t.Context(), s, tok); err != nil {
				t.Fatal(err)
			}
			_, err = a.Verify(t.Context(), c)
			testenv.WantKind(t, err, authport.ErrRevoked)
			// Elsewhere the JWT still verifies offline until it expires
			// (the documented revocation delay), but not strictly.
			if _, err := other.Verify(t.Context(), c); err != nil {
				t.Fatalf("offline verify elsewhere: %v", err)
			}
			if other.Describe().RevocationDelay == 0 {
				t.Fatal("no revocation delay declared")
			}
			_, err = other.VerifyStrict(t.Context(), c)
			testenv.WantKind(t, err, authport.ErrRevoked)
			_, err = a.Refresh(t.Context(), tok.RefreshToken)
			testenv.WantKind(t, err, authport.ErrInvalidCredential)
			testenv.WantKind(t, a.Revoke(t.Context(), s, nil), authport.ErrInvalidInput)

			// Revoked by an administrator.
			tok2, _ := a.SignInWithPassword(t.Context(), u.Email, "correct horse battery")
			emu.RevokeSession(tok2.SessionID)
			_, err = a.VerifyStrict(t.Context(), bearer(tok2.AccessToken))
			testenv.WantKind(t, err, authport.ErrRevoked)

			// Strict verification still refuses what offline verification
			// refuses, and the issuer being down is never a pass.
			tok3, _ := a.SignInWithPassword(t.Context(), u.Email, "correct horse battery")
			route := oidctest.RouteIntrospect
			if !introspection {
				route = oidctest.RouteUserinfo
			}
			emu.SetFault(route, oidctest.Fault{Down: true})
			_, err = a.VerifyStrict(t.Context(), bearer(tok3.AccessToken))
			testenv.WantKind(t, err, authport.ErrProviderUnavailable)
		})
	}
}

func TestKeyRotation(t *testing.T) {
	emu := oidctest.New(t)
	a := newAuth(t, emu, nil)
	u := createUser(t, emu, oidctest.NewUser{})
	old, _ := emu.SignIn(t.Context(), u.Email, "correct horse battery")
	if _, err := a.Verify(t.Context(), bearer(old.AccessToken)); err != nil {
		t.Fatal(err)
	}
	emu.Keys.Rotate()
	// The refresh on an unknown kid is rate limited (once per 30 s), so a
	// rotation right after a fetch is seen once the window has passed.
	emu.Clock.Advance(31 * time.Second)
	fresh, _ := emu.SignIn(t.Context(), u.Email, "correct horse battery")
	before := emu.KeyFetches()
	if _, err := a.Verify(t.Context(), bearer(fresh.AccessToken)); err != nil {
		t.Fatalf("token from the rotated key: %v", err)
	}
	if emu.KeyFetches() != before+1 {
		t.Fatalf("%d fetches for a new kid, want 1", emu.KeyFetches()-before)
	}
	if _, err := a.Verify(t.Context(), bearer(old.AccessToken)); err != nil {
		t.Fatalf("token from the previous key during its grace: %v", err)
	}
	// A dropped key stops verifying after the next refresh.
	emu.Keys.DropRetired()
	emu.Keys.Rotate()
	emu.Clock.Advance(31 * time.Second)
	newest, _ := emu.SignIn(t.Context(), u.Email, "correct horse battery")
	if _, err := a.Verify(t.Context(), bearer(newest.AccessToken)); err != nil {
		t.Fatal(err)
	}
	relic, err := emu.Mint(oidctest.MintRequest{UserID: u.ID, Foreign: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Verify(t.Context(), bearer(relic))
	testenv.WantKind(t, err, authport.ErrInvalidCredential)
}

func TestMintedNegatives(t *testing.T) {
	emu := oidctest.New(t)
	a := newAuth(t, emu, func(c *oidc.Config) { c.AuthorizedParties = []string{emu.ClientID} })
	u := createUser(t, emu, oidctest.NewUser{})
	for name, tc := range map[string]struct {
		r    oidctest.MintRequest
		want *authport.Kind
	}{
		"valid":        {oidctest.MintRequest{UserID: u.ID}, nil},
		"expired":      {oidctest.MintRequest{UserID: u.ID, Expired: true}, authport.ErrExpired},
		"not yet":      {oidctest.MintRequest{UserID: u.ID, NotYetValid: true}, authport.ErrInvalidCredential},
		"foreign":      {oidctest.MintRequest{UserID: u.ID, Foreign: true}, authport.ErrInvalidCredential},
		"none":         {oidctest.MintRequest{UserID: u.ID, Alg: "none"}, authport.ErrInvalidCredential},
		"confusion":    {oidctest.MintRequest{UserID: u.ID, Alg: "HS256"}, authport.ErrInvalidCredential},
		"other alg":    {oidctest.MintRequest{UserID: u.ID, Alg: "ES256"}, authport.ErrInvalidCredential},
		"no exp":       {oidctest.MintRequest{UserID: u.ID, Claims: map[string]any{"exp": nil}}, authport.ErrInvalidCredential},
		"no kid":       {oidctest.MintRequest{UserID: u.ID, Header: map[string]any{"kid": nil}}, authport.ErrInvalidCredential},
		"wrong iss":    {oidctest.MintRequest{UserID: u.ID, Claims: map[string]any{"iss": emu.Issuer + "/"}}, authport.ErrInvalidCredential},
		"wrong aud":    {oidctest.MintRequest{UserID: u.ID, Claims: map[string]any{"aud": "other"}}, authport.ErrInvalidCredential},
		"aud any-of":   {oidctest.MintRequest{UserID: u.ID, Claims: map[string]any{"aud": []string{"other", emu.Audience}}}, nil},
		"wrong azp":    {oidctest.MintRequest{UserID: u.ID, Claims: map[string]any{"azp": "evil"}}, authport.ErrInvalidCredential},
		"missing azp":  {oidctest.MintRequest{UserID: u.ID, Claims: map[string]any{"azp": nil}}, authport.ErrInvalidCredential},
		"jku injected": {oidctest.MintRequest{UserID: u.ID, Header: map[string]any{"jku": emu.JWKSURL()}}, authport.ErrInvalidCredential},
	} {
		tok, err := emu.Mint(tc.r)
		if err != nil {
			t.Fatal(err)
		}
		_, err = a.Verify(t.Context(), bearer(tok))
		if tc.want == nil {
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			continue
		}
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
}

func TestColdStartKeysDown(t *testing.T) {
	for _, f := range []oidctest.Fault{{Down: true}, {Hangup: true}, {Garbage: emulator.GarbageHTML}, {Garbage: emulator.GarbageKeys}, {Garbage: emulator.GarbageEmpty}, {Huge: true}, {Status: 404}} {
		emu := oidctest.New(t)
		u := createUser(t, emu, oidctest.NewUser{})
		tok, _ := emu.SignIn(t.Context(), u.Email, "correct horse battery")
		emu.SetFault(oidctest.RouteJWKS, f)
		a := newAuth(t, emu, nil)
		_, err := a.Verify(t.Context(), bearer(tok.AccessToken))
		if !errors.Is(err, authport.ErrProviderUnavailable) && !(f.Garbage == emulator.GarbageEmpty && errors.Is(err, authport.ErrInvalidCredential)) {
			t.Errorf("fault %+v: %v, want provider unavailable", f, err)
		}
		emu.ClearFaults()
		emu.Clock.Advance(2 * time.Second) // past the cold retry window
		if _, err := a.Verify(t.Context(), bearer(tok.AccessToken)); err != nil {
			t.Errorf("fault %+v: no recovery: %v", f, err)
		}
	}
}

func TestWarmKeysDownKeepsServing(t *testing.T) {
	emu := oidctest.New(t)
	a := newAuth(t, emu, nil)
	u := createUser(t, emu, oidctest.NewUser{})
	tok, _ := emu.SignIn(t.Context(), u.Email, "correct horse battery")
	if _, err := a.Verify(t.Context(), bearer(tok.AccessToken)); err != nil {
		t.Fatal(err)
	}
	emu.SetKeysDown(true)
	emu.Clock.Advance(time.Hour) // the cached set is stale now; fetches fail
	tok, _ = emu.SignIn(t.Context(), u.Email, "correct horse battery")
	if _, err := a.Verify(t.Context(), bearer(tok.AccessToken)); err != nil {
		t.Fatalf("stale keys not used while the endpoint is down: %v", err)
	}
}

func TestDiscovery(t *testing.T) {
	emu := oidctest.New(t, oidctest.Options{IssuerPath: "/"})
	if emu.Issuer != emu.URL+"/" {
		t.Fatal(emu.Issuer)
	}
	newAuth(t, emu, nil) // trailing slash issuer works
	cases := map[string]struct {
		mod  func(*oidc.Config)
		want *authport.Kind
		text string
	}{
		"issuer without the slash": {func(c *oidc.Config) { c.Issuer = emu.URL }, authport.ErrMisconfigured, "must match exactly"},
		"no issuer":                {func(c *oidc.Config) { c.Issuer = "" }, authport.ErrMisconfigured, "OIDC_ISSUER"},
		"no audience":              {func(c *oidc.Config) { c.Audiences = []string{" "} }, authport.ErrMisconfigured, "OIDC_AUDIENCE"},
		"http off loopback":        {func(c *oidc.Config) { c.Issuer = "http://idp.example.com/" }, authport.ErrMisconfigured, "loopback"},
		"HS256 allowed":            {func(c *oidc.Config) { c.Algorithms = []string{"HS256"} }, authport.ErrMisconfigured, "HS256"},
		"nothing listening":        {func(c *oidc.Config) { c.Issuer = "http://127.0.0.1:1/" }, authport.ErrProviderUnavailable, ""},
	}
	for name, tc := range cases {
		cfg := oidc.Config{Issuer: emu.Issuer, Audiences: []string{emu.Audience}, HTTPClient: emu.Client()}
		tc.mod(&cfg)
		_, err := oidc.New(t.Context(), cfg)
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("%s: %v", name, err)
		}
	}
	emu.SetFault("*", oidctest.Fault{Down: true})
	_, err := oidc.New(t.Context(), oidc.Config{Issuer: emu.Issuer, Audiences: []string{"x"}})
	testenv.WantKind(t, err, authport.ErrProviderUnavailable)
	emu.SetFault("*", oidctest.Fault{Garbage: emulator.GarbageHTML})
	_, err = oidc.New(t.Context(), oidc.Config{Issuer: emu.Issuer, Audiences: []string{"x"}})
	testenv.WantKind(t, err, authport.ErrMisconfigured)
}

func TestCapabilities(t *testing.T) {
	emu := oidctest.New(t, oidctest.Options{NoPasswordGrant: true, NoRevocation: true, NoIntrospection: true, NoUserinfo: true, NoEndSession: true})
	a := newAuth(t, emu, nil)
	got := authport.Capabilities(a)
	if !slices.Equal(got, []authport.Capability{authport.CapRedirectSignIn, authport.CapRefresh}) {
		t.Fatalf("capabilities %v", got)
	}
	_, err := a.SignInWithPassword(t.Context(), "a@example.com", "pw")
	testenv.WantKind(t, err, authport.ErrUnsupported)
	testenv.WantKind(t, a.Revoke(t.Context(), nil, &authport.Tokens{AccessToken: "x"}), authport.ErrUnsupported)
	_, err = a.VerifyStrict(t.Context(), bearer("x"))
	testenv.WantKind(t, err, authport.ErrUnsupported)
	d := a.Describe()
	if d.Unsupported[authport.CapSignUp] == "" || d.Unsupported[authport.CapPasswordSignIn] == "" || d.Unsupported[authport.CapLogoutRedirect] == "" {
		t.Fatalf("%+v", d)
	}
	_, err = a.LogoutURL(t.Context(), nil, "http://127.0.0.1/")
	testenv.WantKind(t, err, authport.ErrUnsupported)
	// Without a client id only verification is left.
	b := newAuth(t, oidctest.New(t), func(c *oidc.Config) { c.ClientID, c.ClientSecret = "", "" })
	if got := authport.Capabilities(b); !slices.Equal(got, []authport.Capability{authport.CapStrictVerify}) {
		t.Fatalf("no client: %v", got)
	}

	// The emulator's SignIn falls back to the hosted page without the
	// password grant.
	u := createUser(t, emu, oidctest.NewUser{})
	tok, err := emu.SignIn(t.Context(), u.Email, "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if s, err := a.Verify(t.Context(), bearer(tok.AccessToken)); err != nil || s.UserID != u.ID {
		t.Fatal(err)
	}
}

func TestClaimsMapping(t *testing.T) {
	emu := oidctest.New(t)
	u := createUser(t, emu, oidctest.NewUser{})
	tok, _ := emu.Mint(oidctest.MintRequest{UserID: u.ID, Claims: map[string]any{
		"realm_access":              map[string]any{"roles": []string{"editor"}},
		"https://example.com/perms": []string{"a:b"},
		"tenant":                    map[string]any{"id": "t-1"},
		"email_verified":            "true",
		"scope":                     "read write",
		"amr":                       []string{"pwd", "otp"},
	}})
	a := newAuth(t, emu, func(c *oidc.Config) {
		c.RolesClaim, c.PermissionsClaim, c.OrgClaim = "realm_access.roles", "https://example.com/perms", "tenant.id"
	})
	s, err := a.Verify(t.Context(), bearer(tok))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Roles, []string{"editor"}) || !slices.Equal(s.Permissions, []string{"a:b"}) || !slices.Equal(s.Scopes, []string{"read", "write"}) ||
		s.OrgID != "t-1" || !s.EmailVerified || !slices.Equal(s.AuthMethods, []string{"pwd", "otp"}) {
		t.Fatalf("session %+v", s)
	}
}

func TestRegistry(t *testing.T) {
	emu := oidctest.New(t)
	u := createUser(t, emu, oidctest.NewUser{})
	tok, _ := emu.SignIn(t.Context(), u.Email, "correct horse battery")
	env := emu.Env()
	a, err := authport.FromEnvFunc(t.Context(), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Verify(t.Context(), bearer(tok.AccessToken)); err != nil {
		t.Fatal(err)
	}
	b, err := authport.OpenURL(t.Context(), emu.OpenURL())
	if err != nil {
		t.Fatal(err)
	}
	if !authport.Has(b, authport.CapPasswordSignIn) {
		t.Fatal("client credentials from the URL were not used")
	}
	for _, missing := range []string{"OIDC_ISSUER", "OIDC_AUDIENCE"} {
		_, err := authport.FromEnvFunc(t.Context(), func(k string) string {
			if k == missing {
				return ""
			}
			return env[k]
		})
		if !errors.Is(err, authport.ErrMisconfigured) || !strings.Contains(err.Error(), missing) {
			t.Errorf("without %s: %v", missing, err)
		}
	}
	for _, bad := range []string{
		strings.Replace(emu.OpenURL(), "insecure=1", "insecure=0", 1), // https to a plain HTTP server
		strings.Replace(emu.OpenURL(), "127.0.0.1", "example.com", 1),
		emu.OpenURL() + "&colour=blue",
		strings.Replace(emu.OpenURL(), "audience=", "aud=", 1),
	} {
		if _, err := authport.OpenURL(context.Background(), bad); err == nil {
			t.Errorf("%s opened", bad)
		} else if strings.Contains(err.Error(), emu.ClientSecret) {
			t.Errorf("error repeats the client secret: %v", err)
		}
	}
}

func TestLogoutURL(t *testing.T) {
	emu := oidctest.New(t, oidctest.Options{IssuerPath: "/realms/x"})
	a := newAuth(t, emu, nil)
	if !authport.Has(a, authport.CapLogoutRedirect) || a.Metadata().EndSessionEndpoint != emu.URL+"/logout" {
		t.Fatalf("end_session_endpoint %q not used", a.Metadata().EndSessionEndpoint)
	}
	const idt = "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"
	tests := []struct {
		name     string
		idToken  string
		returnTo string
		want     url.Values // nil: ErrInvalidInput
	}{
		{"ID token at hand", idt, "http://127.0.0.1:8080/", url.Values{"id_token_hint": {idt}, "post_logout_redirect_uri": {"http://127.0.0.1:8080/"}}},
		{"no ID token: client_id", "", "http://127.0.0.1:8080/", url.Values{"client_id": {emu.ClientID}, "post_logout_redirect_uri": {"http://127.0.0.1:8080/"}}},
		{"no return URL", idt, "", url.Values{"id_token_hint": {idt}}},
		{"relative return URL", "", "/bye", nil},
		{"script return URL", "", "javascript:alert(1)", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			if tt.idToken != "" {
				ctx = authport.WithIDToken(ctx, tt.idToken)
			}
			raw, err := a.LogoutURL(ctx, &authport.Session{UserID: "u"}, tt.returnTo)
			if tt.want == nil {
				testenv.WantKind(t, err, authport.ErrInvalidInput)
				return
			}
			u, perr := url.Parse(raw)
			if err != nil || perr != nil || u.Scheme+"://"+u.Host+u.Path != emu.URL+"/logout" || u.Query().Encode() != tt.want.Encode() {
				t.Fatalf("LogoutURL = %q, %v; want query %v", raw, err, tt.want)
			}
		})
	}
	// The endpoint is checked at discovery like the others.
	for _, ep := range []string{"http://idp.example.com/logout", "javascript:alert(1)"} {
		var srv *httptest.Server
		srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			json.NewEncoder(w).Encode(map[string]string{"issuer": srv.URL, "jwks_uri": srv.URL + "/jwks", "end_session_endpoint": ep})
		}))
		_, err := oidc.New(t.Context(), oidc.Config{Issuer: srv.URL, Audiences: []string{"api"}})
		srv.Close()
		if !errors.Is(err, authport.ErrMisconfigured) || !strings.Contains(err.Error(), "end_session_endpoint") {
			t.Errorf("end_session_endpoint %q: %v", ep, err)
		}
	}
}

// TestWebLogoutRedirect signs in through authport.Web and the issuer's
// hosted page, then signs out as a browser: Web revokes, clears its cookie
// and, when the issuer advertises an end_session_endpoint, sends the
// browser there with the ID token as hint; the issuer ends its session and
// returns to AfterLogoutPath.
func TestWebLogoutRedirect(t *testing.T) {
	tests := []struct {
		name         string
		opts         oidctest.Options
		wantProvider bool
	}{
		{"end_session_endpoint", oidctest.Options{NoPasswordGrant: true}, true},
		{"no end_session_endpoint", oidctest.Options{NoPasswordGrant: true, NoEndSession: true}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			emu := oidctest.New(t, tt.opts)
			a := newAuth(t, emu, nil)
			u := createUser(t, emu, oidctest.NewUser{})
			key := []byte("0123456789abcdef0123456789abcdef")
			web, err := authport.NewWeb(a, authport.Config{CookieKeys: [][]byte{key}, Insecure: true, Clock: emu.Clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			mux := http.NewServeMux()
			mux.Handle("/auth/", web.Handler())
			mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("landing")) })
			srv := httptest.NewServer(web.Middleware(mux))
			defer srv.Close()
			jar, _ := cookiejar.New(nil)
			c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

			res, err := c.Get(srv.URL + "/auth/login")
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			cb, err := emulator.SubmitLogin(t.Context(), c, res.Header.Get("Location"), u.Email, "correct horse battery")
			if err != nil {
				t.Fatal(err)
			}
			if res, err = c.Get(cb.String()); err != nil || res.StatusCode != http.StatusSeeOther {
				t.Fatalf("callback: %v %v", res, err)
			}
			res.Body.Close()
			sessions := emu.Store.Sessions(u.ID)
			if len(sessions) != 1 {
				t.Fatalf("sessions %+v", sessions)
			}

			req, _ := http.NewRequest("POST", srv.URL+"/auth/logout", strings.NewReader(""))
			req.Header.Set("Origin", srv.URL)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if res, err = c.Do(req); err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			loc, _ := url.Parse(res.Header.Get("Location"))
			if !tt.wantProvider {
				if res.StatusCode != http.StatusSeeOther || loc.String() != "/" {
					t.Fatalf("logout: %d %q, want / directly", res.StatusCode, loc)
				}
				return
			}
			q := loc.Query()
			if res.StatusCode != http.StatusSeeOther || loc.Scheme+"://"+loc.Host+loc.Path != emu.URL+"/logout" ||
				q.Get("post_logout_redirect_uri") != srv.URL+"/" || q.Get("id_token_hint") == "" || q.Has("client_id") {
				t.Fatalf("logout: %d %q", res.StatusCode, loc)
			}
			if res, err = c.Get(loc.String()); err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusFound || res.Header.Get("Location") != srv.URL+"/" {
				t.Fatalf("end session: %d %q", res.StatusCode, res.Header.Get("Location"))
			}
			if s, _ := emu.Store.Session(sessions[0].ID); s.Status.Live() {
				t.Fatalf("issuer session still %s", s.Status)
			}
		})
	}
}

// TestEd25519Algorithm: an issuer that signs with RFC 9864's "Ed25519" and
// lists only that name in discovery (as oidc-provider 9 does) is used as
// is, whether the allow-list comes from discovery or from Config.
func TestEd25519Algorithm(t *testing.T) {
	emu := oidctest.New(t, oidctest.Options{Algorithm: "Ed25519"})
	createUser(t, emu, oidctest.NewUser{Email: "ed@example.com", Password: "pw-123456"})
	for name, algs := range map[string][]string{"discovered": nil, "configured": {"Ed25519"}, "both names": {"EdDSA", "Ed25519"}} {
		t.Run(name, func(t *testing.T) {
			a := newAuth(t, emu, func(c *oidc.Config) { c.Algorithms = algs })
			tok, err := a.SignInWithPassword(t.Context(), "ed@example.com", "pw-123456")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := a.Verify(t.Context(), bearer(tok.AccessToken)); err != nil {
				t.Fatal(err)
			}
		})
	}
	// An allow-list without the issuer's algorithm refuses its tokens.
	a := newAuth(t, emu, func(c *oidc.Config) { c.Algorithms = []string{"ES256"} })
	_, err := a.SignInWithPassword(t.Context(), "ed@example.com", "pw-123456")
	testenv.WantKind(t, err, authport.ErrInvalidCredential)
	_, err = oidc.New(t.Context(), oidc.Config{Issuer: emu.Issuer, Audiences: []string{emu.Audience}, HTTPClient: emu.Client(), Algorithms: []string{"HS256"}})
	testenv.WantKind(t, err, authport.ErrMisconfigured)
}
