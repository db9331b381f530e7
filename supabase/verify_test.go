package supabase_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authport/authport"
	"github.com/authport/authport/internal/jwtcore"
	"github.com/authport/authport/supabase"
	"github.com/authport/authport/supabase/supabasetest"
)

func bearer(tok string) authport.Credential {
	return authport.Credential{Token: tok, Source: authport.SourceHeader}
}

func mustUser(t *testing.T, emu *supabasetest.Emulator, u supabasetest.User) string {
	t.Helper()
	if u.Email == "" {
		u.Email = "u-" + strings.ReplaceAll(t.Name(), "/", "-") + "-" + time.Now().Format("150405.000000000") + "@example.com"
		u.Email = strings.ToLower(strings.NewReplacer("_", "-").Replace(u.Email))
	}
	if u.Password == "" {
		u.Password = "correct horse battery"
	}
	id, err := emu.CreateUser(u)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func newAdapter(t *testing.T, emu *supabasetest.Emulator, mod func(*supabase.Config)) *supabase.Authenticator {
	t.Helper()
	cfg := emu.Config()
	if mod != nil {
		mod(&cfg)
	}
	a, err := supabase.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestSessionMapping(t *testing.T) {
	emu := supabasetest.New(t)
	a := newAdapter(t, emu, nil)
	uid := mustUser(t, emu, supabasetest.User{
		Email: "mapping@example.com", Password: "pw-123456",
		Roles: []string{"admin", "editor", "admin"}, Permissions: []string{"reports:read"},
		AppMetadata: map[string]any{"org_id": "org_1"}, UserMetadata: map[string]any{"email_verified": true, "roles": []any{"superuser"}},
	})
	tok, err := a.SignInWithPassword(t.Context(), "mapping@example.com", "pw-123456")
	if err != nil {
		t.Fatal(err)
	}
	s, err := a.Verify(t.Context(), bearer(tok.AccessToken))
	if err != nil {
		t.Fatal(err)
	}
	if s.Provider != "supabase" || s.UserID != uid || s.Issuer != emu.Issuer || s.Email != "mapping@example.com" {
		t.Fatalf("session %+v", s)
	}
	if s.SessionID == "" || s.SessionID != tok.SessionID || tok.UserID != uid {
		t.Fatalf("session id %q, tokens %+v", s.SessionID, tok)
	}
	if !emu.SessionLive(s.SessionID) {
		t.Fatal("the emulator does not know the session")
	}
	if !slices.Equal(s.Roles, []string{"admin", "editor"}) || !slices.Equal(s.Permissions, []string{"reports:read"}) {
		t.Fatalf("roles %v permissions %v", s.Roles, s.Permissions)
	}
	if s.HasRole("authenticated") || s.HasRole("superuser") {
		t.Fatalf("Postgres role or user_metadata became an app role: %v", s.Roles)
	}
	if s.EmailVerified {
		t.Fatal("EmailVerified trusted from user-writable user_metadata")
	}
	if s.OrgID != "" {
		t.Fatalf("OrgID %q without OrgClaim", s.OrgID)
	}
	if !slices.Equal(s.AuthMethods, []string{"password"}) {
		t.Fatalf("auth methods %v", s.AuthMethods)
	}
	if !s.ExpiresAt.After(time.Now().Add(59*time.Minute)) || s.IssuedAt.IsZero() || !tok.ExpiresAt.Equal(s.ExpiresAt) {
		t.Fatalf("times %v %v (tokens %v)", s.IssuedAt, s.ExpiresAt, tok.ExpiresAt)
	}
	var c *supabase.Claims
	if !s.As(&c) {
		t.Fatal("As(*supabase.Claims) failed")
	}
	if c.Role != "authenticated" || c.AAL != "aal1" || c.SessionID != s.SessionID || c.IsAnonymous || c.Legacy ||
		len(c.AMR) != 1 || c.AMR[0].Method != "password" || c.AMR[0].Timestamp.IsZero() || c.User != nil {
		t.Fatalf("claims %+v", c)
	}
	if c.AppMetadata["org_id"] != "org_1" || c.UserMetadata["email_verified"] != true {
		t.Fatalf("metadata %v %v", c.AppMetadata, c.UserMetadata)
	}
	if s.Claims["aud"] != "authenticated" {
		t.Fatalf("aud %v (Supabase sends a string)", s.Claims["aud"])
	}

	// Configurable claim paths.
	b := newAdapter(t, emu, func(c *supabase.Config) {
		c.RolesClaim, c.PermissionsClaim, c.OrgClaim = "app_metadata.authz.roles", "-", "app_metadata.org_id"
	})
	tok2, err := emu.Mint(supabasetest.MintOptions{UserID: uid, Claims: map[string]any{
		"app_metadata": map[string]any{"org_id": "org_1", "authz": map[string]any{"roles": "owner"}, "permissions": []any{"x"}},
		"role":         "service_role", "is_anonymous": true,
		"amr": []any{"otp", map[string]any{"method": "oauth", "provider": "github", "timestamp": 1.7e9}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	s, err = b.Verify(t.Context(), bearer(tok2))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Roles, []string{"owner"}) || s.Permissions != nil || s.OrgID != "org_1" {
		t.Fatalf("roles %v permissions %v org %q", s.Roles, s.Permissions, s.OrgID)
	}
	if !s.As(&c) || !c.IsAnonymous || c.Role != "service_role" || !slices.Equal(s.AuthMethods, []string{"otp", "oauth"}) || c.AMR[1].Provider != "github" {
		t.Fatalf("claims %+v methods %v", c, s.AuthMethods)
	}
}

func TestVerifyRefuses(t *testing.T) {
	emu := supabasetest.New(t)
	a := newAdapter(t, emu, nil)
	uid := mustUser(t, emu, supabasetest.User{})
	mint := func(m supabasetest.MintOptions) string {
		t.Helper()
		m.UserID = uid
		tok, err := emu.Mint(m)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	cases := []struct {
		name string
		tok  string
		want *authport.Kind
	}{
		{"empty", "", authport.ErrNoCredential},
		{"garbage", "garbage", authport.ErrInvalidCredential},
		{"expired", mint(supabasetest.MintOptions{Expired: true}), authport.ErrExpired},
		{"not yet valid", mint(supabasetest.MintOptions{NotYetValid: true}), authport.ErrInvalidCredential},
		{"anon audience", mint(supabasetest.MintOptions{Claims: map[string]any{"aud": "anon"}}), authport.ErrInvalidCredential},
		{"other project", mint(supabasetest.MintOptions{Claims: map[string]any{"iss": "https://other.supabase.co/auth/v1"}}), authport.ErrInvalidCredential},
		{"sub not a UUID", mint(supabasetest.MintOptions{Claims: map[string]any{"sub": "admin"}}), authport.ErrInvalidCredential},
		{"session_id not a UUID", mint(supabasetest.MintOptions{Claims: map[string]any{"session_id": "s1"}}), authport.ErrInvalidCredential},
		{"session_id a number", mint(supabasetest.MintOptions{Claims: map[string]any{"session_id": 7}}), authport.ErrInvalidCredential},
		{"no kid", mint(supabasetest.MintOptions{Header: map[string]any{"kid": nil}}), authport.ErrInvalidCredential},
		{"unknown kid", mint(supabasetest.MintOptions{Header: map[string]any{"kid": "3a18cfe2-7226-43b0-bbb4-7c5242f2406e"}}), authport.ErrInvalidCredential},
		{"no exp", mint(supabasetest.MintOptions{Claims: map[string]any{"exp": nil}}), authport.ErrInvalidCredential},
		// An API key is a JWT too, but it names no user.
		{"service key", emu.ServiceRoleKey, authport.ErrInvalidCredential},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := a.Verify(t.Context(), bearer(c.tok))
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v (kind %v), want %v", err, authport.KindOf(err), c.want)
			}
			if c.tok != "" && strings.Contains(err.Error(), c.tok) {
				t.Fatal("error carries the token")
			}
		})
	}
	// Custom audiences.
	b := newAdapter(t, emu, func(c *supabase.Config) { c.Audiences = []string{"anon", "authenticated"} })
	if _, err := b.Verify(t.Context(), bearer(mint(supabasetest.MintOptions{Claims: map[string]any{"aud": "anon"}}))); err != nil {
		t.Fatalf("configured audience refused: %v", err)
	}
}

// hsWith signs claims with HS256 under key (any bytes), as an attacker who
// knows only public material would.
func hsWith(t *testing.T, key []byte, header map[string]any, claims map[string]any) string {
	t.Helper()
	h := map[string]any{"alg": "HS256", "typ": "JWT"}
	for k, v := range header {
		h[k] = v
	}
	hj, _ := json.Marshal(h)
	cj, _ := json.Marshal(claims)
	tok, err := jwtcore.SignRaw("HS256", key, hj, cj)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func payload(t *testing.T, tok string) map[string]any {
	t.Helper()
	p := strings.Split(tok, ".")
	var m map[string]any
	b, err := jsonB64(p[1])
	if err != nil || json.Unmarshal(b, &m) != nil {
		t.Fatalf("payload: %v", err)
	}
	return m
}

func header(t *testing.T, tok string) map[string]any {
	t.Helper()
	p := strings.Split(tok, ".")
	var m map[string]any
	b, err := jsonB64(p[0])
	if err != nil || json.Unmarshal(b, &m) != nil {
		t.Fatalf("header: %v", err)
	}
	return m
}

// TestMigration: a project moving from the legacy JWT secret to asymmetric
// keys has both kinds of token live; each verifies against its own key
// only, and an HS256 token made from the public key is refused.
func TestMigration(t *testing.T) {
	emu := supabasetest.New(t, supabasetest.Options{Mode: supabasetest.ModeMigration})
	a := newAdapter(t, emu, nil) // SigningAuto with the secret: both
	uid := mustUser(t, emu, supabasetest.User{Roles: []string{"admin"}})
	ctx := t.Context()

	es, err := emu.Mint(supabasetest.MintOptions{UserID: uid})
	if err != nil {
		t.Fatal(err)
	}
	hs, err := emu.Mint(supabasetest.MintOptions{UserID: uid, Legacy: true})
	if err != nil {
		t.Fatal(err)
	}
	if header(t, es)["alg"] != "ES256" || header(t, hs)["alg"] != "HS256" || header(t, hs)["kid"] != nil {
		t.Fatalf("headers %v %v", header(t, es), header(t, hs))
	}
	for name, tok := range map[string]string{"ES256": es, "HS256": hs} {
		s, err := a.Verify(ctx, bearer(tok))
		if err != nil {
			t.Fatalf("%s token refused: %v", name, err)
		}
		var c *supabase.Claims
		if !s.As(&c) || c.Legacy != (name == "HS256") || !s.HasRole("admin") {
			t.Fatalf("%s: legacy=%v roles=%v", name, c.Legacy, s.Roles)
		}
	}
	// The provider signs with either, depending on the phase.
	emu.SetLegacySigns(true)
	legacySession, err := a.SignInWithPassword(ctx, mustEmail(t, emu, uid), "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if header(t, legacySession.AccessToken)["alg"] != "HS256" {
		t.Fatal("legacy phase did not sign with HS256")
	}
	emu.SetLegacySigns(false)

	// Algorithm confusion: HS256 keyed with the ES256 public key, in every
	// encoding, with and without the asymmetric kid.
	pub := emu.Server().Keys.Current().Public
	der, _ := x509.MarshalPKIXPublicKey(pub)
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	jwks, _ := json.Marshal(emu.Server().Keys.Current().JWK(false))
	claims := payload(t, es)
	for i, key := range [][]byte{pemKey, []byte(strings.TrimSpace(string(pemKey))), der, jwks} {
		for _, h := range []map[string]any{nil, {"kid": emu.Server().Keys.KID()}} {
			tok := hsWith(t, key, h, claims)
			if _, err := a.Verify(ctx, bearer(tok)); !errors.Is(err, authport.ErrInvalidCredential) {
				t.Fatalf("confusion token %d (kid %v) got %v", i, h, err)
			}
			// Supabase itself refuses it as well.
			if _, err := newAdapter(t, emu, nil).Client().WithToken(tok).GetUser(); err == nil {
				t.Fatalf("the emulator accepted confusion token %d", i)
			}
		}
	}
	// An asymmetric token never falls back to the secret, and a missing
	// kid on it is refused without a key fetch.
	before := a.KeyFetches()
	noKid, _ := emu.Mint(supabasetest.MintOptions{UserID: uid, Header: map[string]any{"kid": nil}})
	if _, err := a.Verify(ctx, bearer(noKid)); !errors.Is(err, authport.ErrInvalidCredential) {
		t.Fatalf("ES256 without kid: %v", err)
	}
	if a.KeyFetches() != before {
		t.Fatal("a token without kid triggered a key fetch")
	}
	swapped := strings.Split(hsWith(t, []byte(emu.JWTSecret), map[string]any{"alg": "ES256"}, claims), ".")
	if _, err := a.Verify(ctx, bearer(strings.Join(swapped, "."))); !errors.Is(err, authport.ErrInvalidCredential) {
		t.Fatalf("HMAC signature under alg ES256: %v", err)
	}

	// After the migration the legacy path can be closed while the secret
	// is still in the environment.
	strict := newAdapter(t, emu, func(c *supabase.Config) { c.Signing = supabase.SigningAsymmetric })
	if _, err := strict.Verify(ctx, bearer(hs)); !errors.Is(err, authport.ErrInvalidCredential) {
		t.Fatalf("asymmetric-only adapter accepted HS256: %v", err)
	}
	if _, err := strict.Verify(ctx, bearer(es)); err != nil {
		t.Fatal(err)
	}
	emu.RevokeLegacy()
	if _, err := strict.Client().WithToken(hs).GetUser(); err == nil {
		t.Fatal("the emulated project still accepts the revoked legacy secret")
	}
	if _, err := a.Verify(ctx, bearer(hs)); err != nil {
		t.Fatalf("documented: an adapter configured with the secret keeps accepting it offline; got %v", err)
	}

	// Legacy-only adapter: never fetches keys.
	legacy := newAdapter(t, emu, func(c *supabase.Config) { c.Signing = supabase.SigningLegacy })
	if _, err := legacy.Verify(ctx, bearer(es)); !errors.Is(err, authport.ErrInvalidCredential) {
		t.Fatalf("legacy-only adapter accepted ES256: %v", err)
	}
	if _, err := legacy.Verify(ctx, bearer(hs)); err != nil {
		t.Fatal(err)
	}
	if legacy.KeyFetches() != 0 {
		t.Fatal("legacy-only adapter fetched keys")
	}
}

func mustEmail(t *testing.T, emu *supabasetest.Emulator, uid string) string {
	t.Helper()
	u, err := emu.AsSDKUser(uid)
	if err != nil {
		t.Fatal(err)
	}
	return u.Email
}

// TestLegacyKID: GoTrue adds a kid to HS256 tokens when GOTRUE_JWT_KEY_ID
// is set; the secret verifies them whatever the kid.
func TestLegacyKID(t *testing.T) {
	emu := supabasetest.New(t, supabasetest.Options{Mode: supabasetest.ModeHS256, LegacyKID: "legacy-key-1"})
	a := newAdapter(t, emu, nil)
	uid := mustUser(t, emu, supabasetest.User{})
	tok, err := emu.Mint(supabasetest.MintOptions{UserID: uid, Legacy: true})
	if err != nil {
		t.Fatal(err)
	}
	if header(t, tok)["kid"] != "legacy-key-1" {
		t.Fatalf("header %v", header(t, tok))
	}
	if _, err := a.Verify(t.Context(), bearer(tok)); err != nil {
		t.Fatal(err)
	}
}

// TestLegacyProjectEmptyJWKS: a legacy-only project publishes an empty
// JWKS. An asymmetric token must then be refused as invalid (401), not
// make the keys look unavailable (503).
func TestLegacyProjectEmptyJWKS(t *testing.T) {
	emu := supabasetest.New(t, supabasetest.Options{Mode: supabasetest.ModeHS256})
	other := supabasetest.New(t)
	a := newAdapter(t, emu, nil)
	uid := mustUser(t, other, supabasetest.User{})
	es, err := other.Mint(supabasetest.MintOptions{UserID: uid, Claims: map[string]any{"iss": emu.Issuer}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Verify(t.Context(), bearer(es))
	if !errors.Is(err, authport.ErrInvalidCredential) {
		t.Fatalf("got %v (kind %v), want invalid credential", err, authport.KindOf(err))
	}
	if a.KeyFetches() != 1 {
		t.Fatalf("%d fetches", a.KeyFetches())
	}
}

// TestKeyRotation: a new signing key is picked up on its first token, and
// tokens of the previous key keep verifying while it is published.
func TestKeyRotation(t *testing.T) {
	emu := supabasetest.New(t)
	a := newAdapter(t, emu, nil)
	uid := mustUser(t, emu, supabasetest.User{})
	old, _ := emu.Mint(supabasetest.MintOptions{UserID: uid})
	if _, err := a.Verify(t.Context(), bearer(old)); err != nil {
		t.Fatal(err)
	}
	emu.RotateKeys()
	fresh, _ := emu.Mint(supabasetest.MintOptions{UserID: uid})
	// An unknown kid refreshes the key set at most once per 30 s (so a
	// flood of made-up kids cannot hammer Supabase); Supabase publishes a
	// standby key well before it signs with it.
	if _, err := a.Verify(t.Context(), bearer(fresh)); !errors.Is(err, authport.ErrInvalidCredential) {
		t.Fatalf("token of a key published after the last fetch, within 30 s: %v", err)
	}
	emu.Clock().Advance(31 * time.Second)
	if _, err := a.Verify(t.Context(), bearer(fresh)); err != nil {
		t.Fatalf("token of the rotated key: %v", err)
	}
	if _, err := newAdapter(t, emu, func(c *supabase.Config) { c.CacheSize = -1 }).Verify(t.Context(), bearer(old)); err != nil {
		t.Fatalf("token of the previous, still published key: %v", err)
	}
	if n := a.KeyFetches(); n != 2 {
		t.Fatalf("%d key fetches, want 2", n)
	}
}

// FuzzVerify: no input panics the adapter, and every failure has a kind.
func FuzzVerify(f *testing.F) {
	emu := supabasetest.New(f)
	a, err := supabase.New(context.Background(), emu.Config())
	if err != nil {
		f.Fatal(err)
	}
	uid, _ := emu.CreateUser(supabasetest.User{Email: "fuzz@example.com", Password: "pw-123456"})
	good, _ := emu.Mint(supabasetest.MintOptions{UserID: uid})
	for _, s := range []string{good, good + ".", "a.b.c", "eyJ.eyJ.", strings.Repeat(".", 50), "\x00", good[:len(good)/2]} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		s, err := a.Verify(context.Background(), bearer(tok))
		if err == nil {
			if s == nil || s.UserID != uid {
				t.Fatalf("verified to %+v", s)
			}
			return
		}
		if k := authport.KindOf(err); k != authport.ErrInvalidCredential && k != authport.ErrExpired && k != authport.ErrNoCredential {
			t.Fatalf("kind %v for %q", k, tok)
		}
	})
}
