package auth0_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/auth0/go-jwt-middleware/v2/jwks"
	"github.com/auth0/go-jwt-middleware/v2/validator"

	"github.com/authport/authport"
	"github.com/authport/authport/auth0"
	"github.com/authport/authport/auth0/auth0test"
)

// verdict is what a differential case expects.
type verdict int

const (
	bothAccept verdict = iota
	bothReject
	// stricter: the adapter rejects a token the SDK's validator accepts,
	// deliberately (listed in the package doc).
	stricter
)

func (v verdict) String() string {
	return [...]string{"both accept", "both reject", "adapter stricter"}[v]
}

// oracle is go-jwt-middleware's own verifier, wired to the emulator the way
// an application wires it to a tenant.
func oracle(t testing.TB, emu *auth0test.Server, skew time.Duration) *validator.Validator {
	t.Helper()
	iss, err := url.Parse(emu.Issuer())
	if err != nil {
		t.Fatal(err)
	}
	prov := jwks.NewCachingProvider(iss, 5*time.Minute)
	v, err := validator.New(prov.KeyFunc, validator.RS256, emu.Issuer(), []string{emu.Audience()},
		validator.WithAllowedClockSkew(skew))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func b64(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// TestDifferential signs tokens with the emulator and verifies each with
// the adapter and with validator.ValidateToken (same issuer, audience and
// clock skew): they agree on every valid token, the adapter rejects every
// token the validator rejects, and where the adapter alone rejects, the
// case is one of the documented deliberate differences.
func TestDifferential(t *testing.T) {
	ctx := context.Background()
	emu := auth0test.New(t)
	cfg := emu.Config()
	cfg.Leeway = 30 * time.Second
	a, err := auth0.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	sdk := oracle(t, emu, cfg.Leeway)
	u, err := emu.CreateUser(auth0test.NewUser{Email: "diff@example.com", Password: "Pw-0123456789",
		Roles: []string{"admin"}, Permissions: []string{"read:reports"}, OrgID: "org_diff"})
	if err != nil {
		t.Fatal(err)
	}
	now := emu.Clock().Now()
	mint := func(req auth0test.MintRequest) func(t *testing.T) string {
		return func(t *testing.T) string {
			switch req.UserID {
			case "":
				req.UserID = u.ID
			case "-": // no user: an M2M token
				req.UserID = ""
			}
			tok, err := emu.Mint(req)
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}
	}
	validClaims := func() map[string]any {
		return map[string]any{"iss": emu.Issuer(), "sub": u.ID, "aud": emu.Audience(), "azp": emu.ClientID(),
			"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "scope": "read:reports"}
	}
	validHeader := func() map[string]any { return map[string]any{"alg": "RS256", "typ": "JWT", "kid": emu.KID()} }
	raw := func(h, p string) func(t *testing.T) string {
		return func(t *testing.T) string { return emu.SignRaw([]byte(h), []byte(p)) }
	}
	rawJSON := func(h, c map[string]any) func(t *testing.T) string {
		return func(t *testing.T) string {
			hj, _ := json.Marshal(h)
			cj, _ := json.Marshal(c)
			return emu.SignRaw(hj, cj)
		}
	}
	with := func(k string, v any) map[string]any { c := validClaims(); c[k] = v; return c }
	hdr := func(k string, v any) map[string]any { h := validHeader(); h[k] = v; return h }
	good := mint(auth0test.MintRequest{})

	cases := []struct {
		name string
		tok  func(t *testing.T) string
		want verdict
	}{
		// Valid tokens, as Auth0 issues them.
		{"default", good, bothAccept},
		{"audience string", mint(auth0test.MintRequest{Claims: map[string]any{"aud": emu.Audience()}}), bothAccept},
		{"audience array with userinfo", mint(auth0test.MintRequest{Claims: map[string]any{"aud": []any{emu.Audience(), emu.Issuer() + "userinfo"}}}), bothAccept},
		{"audience array, API second", mint(auth0test.MintRequest{Claims: map[string]any{"aud": []any{"https://other.example", emu.Audience()}}}), bothAccept},
		{"rfc9068 at+jwt", mint(auth0test.MintRequest{Header: map[string]any{"typ": "at+jwt"}, Claims: map[string]any{"jti": "j-1", "client_id": emu.ClientID(), "azp": nil, "gty": nil}}), bothAccept},
		{"no typ", mint(auth0test.MintRequest{Header: map[string]any{"typ": nil}}), bothAccept},
		{"nbf now", mint(auth0test.MintRequest{Claims: map[string]any{"nbf": now.Unix()}}), bothAccept},
		{"expired within skew", mint(auth0test.MintRequest{Claims: map[string]any{"exp": now.Add(-10 * time.Second).Unix(), "iat": now.Add(-time.Hour).Unix()}}), bothAccept},
		{"m2m token", mint(auth0test.MintRequest{UserID: "-", Claims: map[string]any{"sub": emu.ClientID() + "@clients", "gty": "client-credentials"}}), bothAccept},
		{"exp fractional", rawJSON(validHeader(), with("exp", float64(now.Add(time.Hour).Unix())+0.5)), bothAccept},

		// Rejected by both.
		{"expired", mint(auth0test.MintRequest{Expired: true}), bothReject},
		{"not yet valid", mint(auth0test.MintRequest{NotYetValid: true}), bothReject},
		{"issued in the future", mint(auth0test.MintRequest{Claims: map[string]any{"iat": now.Add(time.Hour).Unix()}}), bothReject},
		{"foreign key, trusted kid", mint(auth0test.MintRequest{Foreign: true}), bothReject},
		{"alg none", mint(auth0test.MintRequest{Alg: "none"}), bothReject},
		{"HS256 with the public key", mint(auth0test.MintRequest{Alg: "HS256"}), bothReject},
		{"PS256 throwaway key", mint(auth0test.MintRequest{Alg: "PS256"}), bothReject},
		{"issuer without trailing slash", mint(auth0test.MintRequest{Claims: map[string]any{"iss": strings.TrimSuffix(emu.Issuer(), "/")}}), bothReject},
		{"other issuer", mint(auth0test.MintRequest{Claims: map[string]any{"iss": "https://evil.auth0.com/"}}), bothReject},
		{"no issuer", mint(auth0test.MintRequest{Claims: map[string]any{"iss": nil}}), bothReject},
		{"wrong audience", mint(auth0test.MintRequest{Claims: map[string]any{"aud": "https://other.example"}}), bothReject},
		{"userinfo audience only", mint(auth0test.MintRequest{Claims: map[string]any{"aud": emu.Issuer() + "userinfo"}}), bothReject},
		{"no audience", mint(auth0test.MintRequest{Claims: map[string]any{"aud": nil}}), bothReject},
		{"audience not a string", mint(auth0test.MintRequest{Claims: map[string]any{"aud": []any{1, emu.Audience()}}}), bothReject},
		{"exp a string", mint(auth0test.MintRequest{Claims: map[string]any{"exp": "9999999999"}}), bothReject},
		{"unknown kid", mint(auth0test.MintRequest{Header: map[string]any{"kid": "unknown-kid"}}), bothReject},
		{"no kid", mint(auth0test.MintRequest{Header: map[string]any{"kid": nil}}), bothReject},
		{"tampered payload", func(t *testing.T) string {
			p := strings.Split(good(t), ".")
			c := validClaims()
			c["sub"] = "auth0|admin"
			p[1] = b64(c)
			return strings.Join(p, ".")
		}, bothReject},
		{"signature stripped", func(t *testing.T) string { g := good(t); return g[:strings.LastIndexByte(g, '.')+1] }, bothReject},
		{"duplicate sub", raw(`{"alg":"RS256","typ":"JWT","kid":"`+emu.KID()+`"}`,
			`{"sub":"auth0|admin",`+strings.TrimPrefix(string(must(json.Marshal(validClaims()))), "{")), bothReject},
		{"duplicate exp", raw(`{"alg":"RS256","typ":"JWT","kid":"`+emu.KID()+`"}`,
			`{"exp":1,`+strings.TrimPrefix(string(must(json.Marshal(validClaims()))), "{")), bothReject},
		{"padded segments", func(t *testing.T) string {
			p := strings.Split(good(t), ".")
			return p[0] + "." + p[1] + "=." + p[2]
		}, bothReject},
		{"garbage", func(*testing.T) string { return "not-a-jwt" }, bothReject},
		{"JWE shape", func(*testing.T) string { return b64(map[string]any{"alg": "dir", "enc": "A128GCM"}) + ".a.b.c.d" }, bothReject},

		// The adapter is stricter (package doc, "deliberately stricter").
		{"no exp", mint(auth0test.MintRequest{Claims: map[string]any{"exp": nil}}), stricter},
		{"no sub", mint(auth0test.MintRequest{Claims: map[string]any{"sub": nil}}), stricter},
		{"empty sub", mint(auth0test.MintRequest{Claims: map[string]any{"sub": ""}}), stricter},
		{"typ refresh+jwt", mint(auth0test.MintRequest{Header: map[string]any{"typ": "refresh+jwt"}}), stricter},
		{"typ id_token+jwt", mint(auth0test.MintRequest{Header: map[string]any{"typ": "id_token+jwt"}}), stricter},
		{"jku header", rawJSON(hdr("jku", "https://evil.example/jwks.json"), validClaims()), stricter},
		{"x5u header", rawJSON(hdr("x5u", "https://evil.example/cert.pem"), validClaims()), stricter},
		{"cty JWT header", rawJSON(hdr("cty", "JWT"), validClaims()), stricter},
		{"over 8 KiB", mint(auth0test.MintRequest{Claims: map[string]any{"https://example.com/blob": strings.Repeat("x", 9<<10)}}), stricter},
		{"azp not allowed", mint(auth0test.MintRequest{Claims: map[string]any{"azp": "other-client"}}), stricter},
	}

	aWithParties, err := auth0.New(ctx, withParties(cfg, emu.ClientID()))
	if err != nil {
		t.Fatal(err)
	}
	var stricterSeen []string
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tok := c.tok(t)
			sdkOut, sdkErr := sdk.ValidateToken(ctx, tok)
			ad := a
			if c.name == "azp not allowed" {
				ad = aWithParties
			}
			sess, ourErr := ad.Verify(ctx, authport.Credential{Token: tok, Source: authport.SourceHeader})
			if sdkErr != nil && ourErr == nil {
				t.Fatalf("the SDK rejects (%v) but the adapter accepts", sdkErr)
			}
			var got verdict
			switch {
			case sdkErr == nil && ourErr == nil:
				got = bothAccept
			case sdkErr != nil:
				got = bothReject
			default:
				got = stricter
			}
			if got != c.want {
				t.Fatalf("%v, want %v (SDK: %v; adapter: %v)", got, c.want, sdkErr, ourErr)
			}
			if got == stricter {
				stricterSeen = append(stricterSeen, c.name)
			}
			if ourErr != nil {
				if k := authport.KindOf(ourErr); k != authport.ErrInvalidCredential && k != authport.ErrExpired {
					t.Fatalf("adapter error kind %v (%v)", k, ourErr)
				}
				return
			}
			vc := sdkOut.(*validator.ValidatedClaims)
			agree(t, vc, sess)
		})
	}
	t.Logf("adapter stricter than validator.ValidateToken on: %s", strings.Join(stricterSeen, "; "))
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func withParties(c auth0.Config, parties ...string) auth0.Config {
	c.AuthorizedParties = parties
	return c
}

// agree checks that the adapter's Session and its ValidateToken result
// carry what the SDK's validator returned.
func agree(t *testing.T, vc *validator.ValidatedClaims, sess *authport.Session) {
	t.Helper()
	r := vc.RegisteredClaims
	if sess.UserID != r.Subject || sess.Issuer != r.Issuer || sess.TokenID != r.ID {
		t.Fatalf("session %q/%q/%q, SDK %q/%q/%q", sess.UserID, sess.Issuer, sess.TokenID, r.Subject, r.Issuer, r.ID)
	}
	if sess.ExpiresAt.Unix() != r.Expiry {
		t.Fatalf("exp %d, SDK %d", sess.ExpiresAt.Unix(), r.Expiry)
	}
	var ours *validator.ValidatedClaims
	if !sess.As(&ours) {
		t.Fatal("Session.As(*validator.ValidatedClaims) failed")
	}
	if ours.RegisteredClaims.Subject != r.Subject || ours.RegisteredClaims.Expiry != r.Expiry ||
		ours.RegisteredClaims.IssuedAt != r.IssuedAt || ours.RegisteredClaims.NotBefore != r.NotBefore ||
		!slices.Equal(ours.RegisteredClaims.Audience, r.Audience) {
		t.Fatalf("registered claims %+v, SDK %+v", ours.RegisteredClaims, r)
	}
}

// TestDifferentialIssuedTokens runs every kind of token the emulated tenant
// issues through its real flows (password-realm, Universal Login with an
// organisation, refresh, client credentials, the RFC 9068 profile) past
// both verifiers: both accept, and agree on the claims.
func TestDifferentialIssuedTokens(t *testing.T) {
	ctx := context.Background()
	for _, profile := range []auth0test.Profile{auth0test.ProfileAuth0, auth0test.ProfileRFC9068} {
		t.Run(string(profile), func(t *testing.T) {
			emu := auth0test.New(t, auth0test.Options{Profile: profile, OrgNames: true})
			a, err := auth0.New(ctx, emu.Config())
			if err != nil {
				t.Fatal(err)
			}
			sdk := oracle(t, emu, 0)
			if _, err := emu.CreateUser(auth0test.NewUser{Email: "x@example.com", Password: "Pw-0123456789", OrgID: "org_x", Permissions: []string{"read:x"}}); err != nil {
				t.Fatal(err)
			}
			var toks []string
			pw, err := emu.SignIn(ctx, "x@example.com", "Pw-0123456789")
			if err != nil {
				t.Fatal(err)
			}
			org, err := emu.SignInWithOrganization(ctx, "x@example.com", "Pw-0123456789", "org_x")
			if err != nil {
				t.Fatal(err)
			}
			ref, err := a.Refresh(ctx, pw.RefreshToken)
			if err != nil {
				t.Fatal(err)
			}
			m2m, err := emu.ManagementToken(ctx)
			if err != nil {
				t.Fatal(err)
			}
			_ = m2m // a Management API token: other audience, both must reject
			toks = append(toks, pw.AccessToken, org.AccessToken, ref.AccessToken)
			for i, tok := range toks {
				out, sdkErr := sdk.ValidateToken(ctx, tok)
				sess, err := a.Verify(ctx, authport.Credential{Token: tok, Source: authport.SourceHeader})
				if sdkErr != nil || err != nil {
					t.Fatalf("token %d: SDK %v, adapter %v", i, sdkErr, err)
				}
				agree(t, out.(*validator.ValidatedClaims), sess)
			}
			_, sdkErr := sdk.ValidateToken(ctx, m2m)
			_, err = a.Verify(ctx, authport.Credential{Token: m2m, Source: authport.SourceHeader})
			if sdkErr == nil || err == nil {
				t.Fatalf("Management API token: SDK %v, adapter %v; both must reject (wrong audience)", sdkErr, err)
			}
		})
	}
}

// TestDifferentialKeyRotation shows the one place the adapter accepts what
// the SDK rejects, and why it is right to: after the tenant rotates its
// key, the SDK's CachingProvider keeps serving the old key set until its TTL
// passes and rejects tokens signed by the new key; the adapter refreshes on
// the unknown kid and accepts them.
func TestDifferentialKeyRotation(t *testing.T) {
	ctx := context.Background()
	emu := auth0test.New(t)
	a, err := auth0.New(ctx, emu.Config())
	if err != nil {
		t.Fatal(err)
	}
	sdk := oracle(t, emu, 0)
	u, err := emu.CreateUser(auth0test.NewUser{Email: "rot@example.com", Password: "Pw-0123456789"})
	if err != nil {
		t.Fatal(err)
	}
	old, _ := emu.Mint(auth0test.MintRequest{UserID: u.ID})
	if _, err := sdk.ValidateToken(ctx, old); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Verify(ctx, authport.Credential{Token: old}); err != nil {
		t.Fatal(err)
	}
	emu.Rotate()
	fresh, _ := emu.Mint(auth0test.MintRequest{UserID: u.ID})
	if _, err := sdk.ValidateToken(ctx, fresh); err == nil {
		t.Fatal("the SDK's caching provider accepted a token from the rotated key before its TTL (behaviour changed?)")
	}
	// The adapter refreshes on an unknown kid at most once per 30 s; the
	// warm-up fetch above was just now.
	emu.Clock().Advance(31 * time.Second)
	if _, err := a.Verify(ctx, authport.Credential{Token: fresh}); err != nil {
		t.Fatalf("adapter after rotation: %v", err)
	}
	if _, err := a.Verify(ctx, authport.Credential{Token: old}); err != nil {
		t.Fatalf("adapter, old key still published: %v", err)
	}
}
