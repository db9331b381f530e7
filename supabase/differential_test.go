package supabase_test

import (
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	"github.com/authport/authport/internal/emulator"
	"github.com/authport/authport/supabase"
	"github.com/authport/authport/supabase/supabasetest"
)

// TestDifferential compares the adapter's offline Verify with Supabase's
// own check of the same token. auth-go has no token verifier, so the
// oracle is the provider: GET /user through the SDK, answered by the
// emulator's independent implementation of GoTrue's JWT check (golang-jwt
// defaults: exp/nbf when present, no iss, aud, iat or typ check, kid
// optional for HS256). The adapter must accept every valid token the
// provider accepts and refuse everything the provider refuses, except:
//
//   - sessions ended at the provider: offline verification cannot see
//     them until the token expires (VerifyStrict does, and is checked);
//   - laxer: an HS256 token that names an asymmetric key's kid but is
//     signed with the legacy secret (GoTrue refuses the key type; the
//     adapter checks HS256 only against the secret and ignores the kid —
//     only the secret's holder can make such a token).
//
// Where the adapter is stricter, the case is listed in stricter below and
// in the package documentation.
func TestDifferential(t *testing.T) {
	emu := supabasetest.New(t, supabasetest.Options{Mode: supabasetest.ModeMigration})
	a := newAdapter(t, emu, func(c *supabase.Config) { c.CacheSize = -1 })
	client := a.Client()
	ctx := t.Context()
	mustUser(t, emu, supabasetest.User{Email: "diff@example.com", Password: "pw-123456"})
	live, err := emu.SignIn("diff@example.com", "pw-123456")
	if err != nil {
		t.Fatal(err)
	}
	sid := sessionOf(t, live.AccessToken)
	ended, _ := emu.SignIn("diff@example.com", "pw-123456")
	key := emu.Server().Keys.Current()
	now := time.Now()

	mint := func(m supabasetest.MintOptions) string {
		t.Helper()
		m.SessionID = sid
		tok, err := emu.Mint(m)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	raw := func(header, payload string) string {
		t.Helper()
		tok, err := key.SignRaw([]byte(header), []byte(payload))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	claimsJSON := func() string {
		b, _ := json.Marshal(payload(t, mint(supabasetest.MintOptions{})))
		return string(b)
	}
	hdr := `{"alg":"ES256","kid":"` + key.ID + `","typ":"JWT"}`
	valid := mint(supabasetest.MintOptions{})
	tampered := valid[:len(valid)-4] + "AAAA"
	foreign, _ := emulator.NewSigningKey("ES256", key.ID)
	foreignTok, _ := foreign.SignRaw([]byte(hdr), []byte(claimsJSON()))
	legacyWithESKid := mint(supabasetest.MintOptions{Legacy: true, Header: map[string]any{"kid": key.ID}})

	cases := []struct{ name, tok string }{
		{"valid ES256", valid},
		{"valid HS256", mint(supabasetest.MintOptions{Legacy: true})},
		{"valid HS256 with its own kid", mint(supabasetest.MintOptions{Legacy: true, Header: map[string]any{"kid": "legacy-1"}})},
		{"fractional exp", mint(supabasetest.MintOptions{Claims: map[string]any{"exp": float64(now.Add(time.Hour).Unix()) + 0.5}})},
		{"aud array", mint(supabasetest.MintOptions{Claims: map[string]any{"aud": []string{"other", "authenticated"}}})},
		{"empty session_id", mint(supabasetest.MintOptions{Claims: map[string]any{"session_id": ""}})},
		{"wrong issuer", mint(supabasetest.MintOptions{Claims: map[string]any{"iss": "https://evil.example/auth/v1"}})},
		{"no issuer", mint(supabasetest.MintOptions{Claims: map[string]any{"iss": nil}})},
		{"wrong audience", mint(supabasetest.MintOptions{Claims: map[string]any{"aud": "anon"}})},
		{"no exp", mint(supabasetest.MintOptions{Claims: map[string]any{"exp": nil}})},
		{"issued in the future", mint(supabasetest.MintOptions{Claims: map[string]any{"iat": now.Add(time.Hour).Unix(), "exp": now.Add(2 * time.Hour).Unix()}})},
		{"typ refresh+jwt", mint(supabasetest.MintOptions{Header: map[string]any{"typ": "refresh+jwt"}})},
		{"crit header", mint(supabasetest.MintOptions{Header: map[string]any{"crit": []string{"x"}, "x": 1}})},
		{"jku header", mint(supabasetest.MintOptions{Header: map[string]any{"jku": "https://evil.example/jwks.json"}})},
		{"duplicate exp", raw(hdr, `{"exp":1,`+claimsJSON()[1:])},
		{"expired", mint(supabasetest.MintOptions{Expired: true})},
		{"not yet valid", mint(supabasetest.MintOptions{NotYetValid: true})},
		{"tampered signature", tampered},
		{"alg none", b64json(`{"alg":"none","typ":"JWT"}`) + "." + b64json(claimsJSON()) + "."},
		{"HS256 keyed with the public key", hsWith(t, key.PublicKeyPEM(), nil, payload(t, valid))},
		{"HS256 with a weak secret", hsWith(t, []byte("secret"), nil, payload(t, valid))},
		{"unknown kid", mint(supabasetest.MintOptions{Header: map[string]any{"kid": "00000000-0000-4000-8000-000000000000"}})},
		{"other key, same kid", foreignTok},
		{"sub not a UUID", mint(supabasetest.MintOptions{Claims: map[string]any{"sub": "admin"}})},
		{"session_id not a UUID", mint(supabasetest.MintOptions{Claims: map[string]any{"session_id": "s1"}})},
		{"exp as a string", mint(supabasetest.MintOptions{Claims: map[string]any{"exp": "9999999999"}})},
		{"three dots", valid + "."},
		{"ended session", ended.AccessToken},
		{"HS256 naming the asymmetric kid", legacyWithESKid},
	}
	stricter := map[string]bool{
		"wrong issuer": true, "no issuer": true, "wrong audience": true, "no exp": true,
		"issued in the future": true, "typ refresh+jwt": true, "crit header": true, "jku header": true,
		"duplicate exp": true,
	}
	exempt := map[string]string{
		"ended session":                   "revocation delay",
		"HS256 naming the asymmetric kid": "laxer by design",
	}
	// End one session at the provider (as a sign-out with scope=local).
	if err := emu.RevokeSession(sessionOf(t, ended.AccessToken)); err != nil {
		t.Fatal(err)
	}

	var gotStricter []string
	for _, c := range cases {
		_, aerr := a.Verify(ctx, bearer(c.tok))
		_, serr := client.WithToken(c.tok).GetUser()
		adapterOK, serverOK := aerr == nil, serr == nil
		switch {
		case adapterOK == serverOK:
			if stricter[c.name] {
				t.Errorf("%s: listed as stricter but both %v", c.name, adapterOK)
			}
		case adapterOK && !serverOK:
			why, ok := exempt[c.name]
			if !ok {
				t.Errorf("%s: the adapter accepts a token Supabase refuses (%v)", c.name, serr)
			}
			if why == "revocation delay" {
				if _, err := a.VerifyStrict(ctx, bearer(c.tok)); err == nil {
					t.Errorf("%s: VerifyStrict accepts it", c.name)
				}
			}
		case !adapterOK && serverOK:
			gotStricter = append(gotStricter, c.name)
			if !stricter[c.name] {
				t.Errorf("%s: the adapter refuses a token Supabase accepts, undocumented: %v", c.name, aerr)
			}
		}
		t.Logf("%-34s adapter=%-5v supabase=%v", c.name, adapterOK, serverOK)
	}
	if len(gotStricter) != len(stricter) {
		t.Errorf("stricter cases %v, documented %d", gotStricter, len(stricter))
	}
	for _, must := range []string{"valid ES256", "valid HS256", "valid HS256 with its own kid", "fractional exp", "aud array", "empty session_id"} {
		for _, c := range cases {
			if c.name == must {
				if _, err := a.Verify(ctx, bearer(c.tok)); err != nil {
					t.Errorf("%s refused: %v", must, err)
				}
			}
		}
	}
}

func sessionOf(t *testing.T, tok string) string {
	t.Helper()
	s, _ := payload(t, tok)["session_id"].(string)
	return s
}

func b64json(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
