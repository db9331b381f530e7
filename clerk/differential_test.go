package clerk_test

import (
	"encoding/base64"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authport/authport/clerk"
	"github.com/authport/authport/clerk/clerktest"
	clerksdk "github.com/clerk/clerk-sdk-go/v2"
	"github.com/clerk/clerk-sdk-go/v2/jwt"
)

// diffCase is one token for the differential test. stricter is set when
// the adapter deliberately rejects a token the SDK accepts, and says why
// (the package documentation lists the same cases).
type diffCase struct {
	name, tok, stricter string
}

// TestDifferential checks the adapter against the SDK's own verifier,
// jwt.Verify with the emulator's JWK and the same leeway and
// authorized-party list: on every token the emulator mints they agree,
// with the same claims; every token the SDK rejects, the adapter rejects;
// the tokens only the adapter rejects are exactly those marked stricter.
func TestDifferential(t *testing.T) {
	clock := clerktest.FixedClock(time.Now().Truncate(time.Second))
	srv := clerktest.New(t, clerktest.Options{Clock: clock, SessionClaims: map[string]any{"metadata": "{{user.public_metadata}}"}})
	v1 := clerktest.New(t, clerktest.Options{Clock: clock, ClaimsVersion: 1, Slug: srv.FrontendAPI[:strings.IndexByte(srv.FrontendAPI, '.')]})
	a := newAdapter(t, srv, func(c *clerk.Config) { c.RolesClaim = "metadata.roles" })
	const azp = clerktest.DefaultAuthorizedParty

	var cases []diffCase
	add := func(name, tok, stricter string) { cases = append(cases, diffCase{name, tok, stricter}) }

	// Valid tokens of every shape the emulator mints.
	srv.DefineRole("org:editor", "org:posts:read", "org:posts:write", "org:billing:manage", "org:sys_profile:manage")
	u, _ := srv.CreateUser(clerktest.NewUser{Email: "d@example.com", Password: "password-123", PublicMetadata: map[string]any{"roles": []any{"admin"}}})
	o, _ := srv.CreateOrganization("Diff Org", "", "")
	srv.AddMembership(o.ID, u.ID, "org:editor")
	o2, _ := srv.CreateOrganization("Plain Org", "", "")
	srv.AddMembership(o2.ID, u.ID, clerktest.RoleMember)
	for _, so := range []struct {
		name string
		o    clerktest.SessionOptions
	}{
		{"plain", clerktest.SessionOptions{}},
		{"org with permissions", clerktest.SessionOptions{ActiveOrganization: o.ID}},
		{"org without custom permissions", clerktest.SessionOptions{ActiveOrganization: o2.ID}},
		{"pending", clerktest.SessionOptions{Pending: true}},
		{"impersonated", clerktest.SessionOptions{Actor: map[string]any{"sub": "user_adm", "iss": "https://dashboard.clerk.com", "sid": "sess_adm"}}},
	} {
		sid, err := srv.CreateSession(u.ID, so.o)
		if err != nil {
			t.Fatal(err)
		}
		tok, _ := srv.SessionToken(sid)
		add("valid/"+so.name, tok, "")
	}
	vu, _ := v1.CreateUser(clerktest.NewUser{Email: "v1@example.com", Password: "password-123"})
	v1.DefineRole("org:editor", "org:posts:read")
	vo, _ := v1.CreateOrganization("V1", "", "")
	v1.AddMembership(vo.ID, vu.ID, "org:editor")
	vsid, _ := v1.CreateSession(vu.ID, clerktest.SessionOptions{ActiveOrganization: vo.ID})
	// v1 shares the issuer but not the key: sign its claims with srv's key.
	vtok, _ := v1.SessionToken(vsid)
	add("valid/version 1 claims", resign(t, srv, vtok, nil, nil), "")

	sid, _ := srv.CreateSession(u.ID, clerktest.SessionOptions{ActiveOrganization: o.ID})
	mint := func(m clerktest.MintOptions) string {
		m.SessionID = sid
		tok, err := srv.Mint(m)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	claims := func(c map[string]any) string { return mint(clerktest.MintOptions{Claims: c}) }
	now := clock.Now()

	// Variants both must accept.
	add("valid/within leeway after exp", claims(map[string]any{"exp": now.Add(-3 * time.Second).Unix(), "iat": now.Add(-63 * time.Second).Unix()}), "")
	add("valid/fractional exp", claims(map[string]any{"exp": float64(now.Unix()) + 30.5}), "")
	add("valid/no nbf", claims(map[string]any{"nbf": nil}), "")
	add("valid/aud present", claims(map[string]any{"aud": []any{"x", "y"}}), "")
	add("valid/v2 without o", claims(map[string]any{"o": nil, "fea": nil}), "")
	add("valid/v2 with empty o.id", claims(map[string]any{"o": map[string]any{"id": "", "rol": "admin"}}), "")
	add("valid/o.rol empty", claims(map[string]any{"o": map[string]any{"id": "org_x", "slg": "x"}}), "")
	add("valid/malformed fpm", claims(map[string]any{"fea": "o:a,o:b", "o": map[string]any{"id": "org_x", "rol": "r", "per": "p", "fpm": "7,x"}}), "")
	add("valid/null claims", claims(map[string]any{"azp": azp, "org_id": nil, "fea": nil}), "")
	add("valid/custom claims", claims(map[string]any{"anything": map[string]any{"deep": []any{1, "x"}}}), "")
	add("valid/template-style no sid", claims(map[string]any{"sid": nil, "v": nil, "o": nil, "fva": nil}), "")

	// Both must reject.
	add("reject/expired", mint(clerktest.MintOptions{Expired: true}), "")
	add("reject/expired beyond leeway", claims(map[string]any{"exp": now.Add(-10 * time.Second).Unix(), "iat": now.Add(-70 * time.Second).Unix()}), "")
	add("reject/not yet valid", mint(clerktest.MintOptions{NotYetValid: true}), "")
	add("reject/issued in the future", claims(map[string]any{"iat": now.Add(time.Hour).Unix(), "exp": now.Add(2 * time.Hour).Unix()}), "")
	add("reject/foreign key", mint(clerktest.MintOptions{Foreign: true}), "")
	add("reject/alg none", mint(clerktest.MintOptions{Alg: "none"}), "")
	add("reject/HS256 with the public key", mint(clerktest.MintOptions{Alg: "HS256"}), "")
	add("reject/RS512", mint(clerktest.MintOptions{Alg: "RS512"}), "")
	add("reject/foreign issuer", claims(map[string]any{"iss": "https://evil.example.com"}), "")
	add("reject/no issuer", claims(map[string]any{"iss": nil}), "")
	add("reject/wrong azp", claims(map[string]any{"azp": "https://evil.example"}), "")
	add("reject/v is a string", claims(map[string]any{"v": "2"}), "")
	add("reject/v is fractional", claims(map[string]any{"v": 2.5}), "")
	add("reject/sid is a number", claims(map[string]any{"sid": 1}), "")
	add("reject/azp is a list", claims(map[string]any{"azp": []any{azp}}), "")
	add("reject/o is a string", claims(map[string]any{"o": "org_1"}), "")
	add("reject/o.per is a list", claims(map[string]any{"o": map[string]any{"id": "org_1", "per": []any{"read"}}}), "")
	add("reject/fea is a list", claims(map[string]any{"fea": []any{"o:a"}}), "")
	add("reject/fva of strings", claims(map[string]any{"fva": []any{"1", "2"}}), "")
	add("reject/org_permissions is a string", claims(map[string]any{"org_permissions": "org:a:b"}), "")
	add("reject/exp is a string", claims(map[string]any{"exp": "9999999999"}), "")
	add("reject/jti is a number", claims(map[string]any{"jti": 5}), "")
	add("reject/aud is a number", claims(map[string]any{"aud": 5}), "")
	add("reject/sub is a number", claims(map[string]any{"sub": 5}), "")
	add("reject/negative exp", claims(map[string]any{"exp": -1}), "")
	good := mint(clerktest.MintOptions{})
	i := strings.LastIndexByte(good, '.')
	add("reject/signature stripped", good[:i+1], "")
	add("reject/signature truncated", good[:len(good)-4], "")
	add("reject/garbage", "garbage", "")
	add("reject/two segments", good[:i], "")

	// The adapter is deliberately stricter on these.
	add("stricter/issuer of another Clerk instance", claims(map[string]any{"iss": "https://other-app.clerk.accounts.dev"}),
		"iss must equal the configured issuer; the SDK accepts any https://clerk.* or *.clerk.accounts* issuer")
	add("stricter/prefix-matching issuer", claims(map[string]any{"iss": "https://clerk.evil.com"}),
		"iss must equal the configured issuer; the SDK accepts any https://clerk.* or *.clerk.accounts* issuer")
	add("stricter/http issuer", claims(map[string]any{"iss": "http://" + srv.FrontendAPI}),
		"iss must equal the configured issuer; the SDK accepts any https://clerk.* or *.clerk.accounts* issuer")
	add("stricter/no azp", claims(map[string]any{"azp": nil}),
		"with authorized parties configured, azp is required; the SDK's AuthorizedPartyMatches accepts a missing azp")
	add("stricter/no exp", claims(map[string]any{"exp": nil}), "exp is required; the SDK accepts a token without exp")
	add("stricter/no sub", claims(map[string]any{"sub": nil}), "sub is required; the SDK does not check it")
	add("stricter/no kid", mint(clerktest.MintOptions{Header: map[string]any{"kid": nil}}),
		"a kid naming a trusted key is required; jwt.Verify given a JWK ignores the kid")
	add("stricter/unknown kid", mint(clerktest.MintOptions{Header: map[string]any{"kid": "ins_other"}}),
		"a kid naming a trusted key is required; jwt.Verify given a JWK ignores the kid")
	add("stricter/typ at+jwt", mint(clerktest.MintOptions{Header: map[string]any{"typ": "at+jwt"}}),
		"typ, when present, must be JWT; the SDK ignores typ")
	add("stricter/jku header", mint(clerktest.MintOptions{Header: map[string]any{"jku": "https://evil.example/jwks"}}),
		"the jku, jwk, x5u, x5c, cty, zip and b64 headers are refused; the SDK ignores them")
	add("stricter/x5u header", mint(clerktest.MintOptions{Header: map[string]any{"x5u": "https://evil.example/cert"}}),
		"the jku, jwk, x5u, x5c, cty, zip and b64 headers are refused; the SDK ignores them")
	add("stricter/jwk header", mint(clerktest.MintOptions{Header: map[string]any{"jwk": json.RawMessage(srv.JWK())}}),
		"the jku, jwk, x5u, x5c, cty, zip and b64 headers are refused; the SDK ignores them")
	add("stricter/zip header", mint(clerktest.MintOptions{Header: map[string]any{"zip": "DEF"}}),
		"the jku, jwk, x5u, x5c, cty, zip and b64 headers are refused; the SDK ignores them")
	add("stricter/b64 header", mint(clerktest.MintOptions{Header: map[string]any{"b64": true}}),
		"the jku, jwk, x5u, x5c, cty, zip and b64 headers are refused; the SDK ignores them")
	add("stricter/cty JWT", mint(clerktest.MintOptions{Header: map[string]any{"cty": "JWT"}}),
		"the jku, jwk, x5u, x5c, cty, zip and b64 headers are refused; the SDK ignores them")
	hj, _ := json.Marshal(map[string]any{"alg": "RS256", "kid": srv.KID(), "typ": "JWT"})
	_, pl := payload(t, good)
	pj, _ := json.Marshal(pl)
	dup := []byte(`{"sub":"user_attacker",` + string(pj[1:]))
	add("reject/duplicate sub", signRaw(t, srv, hj, dup), "")
	esc := []byte(`{"\u0073ub":"user_attacker",` + string(pj[1:]))
	add("reject/escaped duplicate sub", signRaw(t, srv, hj, esc), "")
	add("reject/crit", mint(clerktest.MintOptions{Header: map[string]any{"crit": []any{"exp"}}}), "")
	add("stricter/padded segments", good+"==", "base64url must be canonical, without padding")
	big := claims(map[string]any{"pad": strings.Repeat("x", 9000)})
	add("stricter/over 8 KiB", big, "tokens over 8 KiB are refused before parsing")
	add("stricter/invalid UTF-8", signRaw(t, srv, hj, []byte(strings.Replace(string(pj), `"iss"`, "\"x\":\"\xff\",\"iss\"", 1))),
		"header and payload must be valid UTF-8")

	var jwk clerksdk.JSONWebKey
	if err := json.Unmarshal(srv.JWK(), &jwk); err != nil {
		t.Fatal(err)
	}
	parties := map[string]bool{azp: true}
	stricter := map[string]bool{}
	ran := 0
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ran++
			sc, sdkErr := jwt.Verify(t.Context(), &jwt.VerifyParams{
				Token: c.tok, JWK: &jwk, Clock: clockAdapter{clock}, Leeway: clerk.DefaultLeeway,
				// clerkhttp.AuthorizedPartyMatches' rule.
				AuthorizedPartyHandler: func(p string) bool { return p == "" || parties[p] },
			})
			s, err := a.Verify(t.Context(), bearer(c.tok))
			switch {
			case sdkErr != nil && err == nil:
				t.Fatalf("the adapter accepts a token the SDK rejects (%v)", sdkErr)
			case sdkErr == nil && err != nil && c.stricter == "":
				t.Fatalf("the adapter rejects a token the SDK accepts: %v", err)
			case c.stricter != "" && (err == nil || sdkErr != nil):
				t.Fatalf("marked stricter, but adapter err=%v, SDK err=%v", err, sdkErr)
			case c.stricter != "":
				stricter[c.stricter] = true
			case strings.HasPrefix(c.name, "valid/") && err != nil:
				t.Fatalf("valid token refused by both: adapter %v, SDK %v", err, sdkErr)
			case strings.HasPrefix(c.name, "reject/") && err == nil:
				t.Fatal("a token that must be refused was accepted by both")
			}
			if err != nil || sdkErr != nil {
				return
			}
			// Same claims.
			var exp int64
			if sc.Expiry != nil {
				exp = *sc.Expiry
			}
			if s.UserID != sc.Subject || s.SessionID != sc.SessionID || s.OrgID != sc.ActiveOrganizationID ||
				s.OrgSlug != sc.ActiveOrganizationSlug || s.ExpiresAt.Unix() != exp || s.TokenID != sc.ID {
				t.Fatalf("session %+v differs from SDK claims %+v", s, sc)
			}
			if r := sc.ActiveOrganizationRole; r != "" && r != "org:" && !slices.Contains(s.Roles, r) {
				t.Fatalf("roles %v lack the SDK's %q", s.Roles, r)
			}
			for _, p := range sc.ActiveOrganizationPermissions {
				if !slices.Contains(s.Permissions, p) {
					t.Fatalf("permissions %v lack the SDK's %q", s.Permissions, p)
				}
			}
			var nat *clerksdk.SessionClaims
			if !s.As(&nat) {
				t.Fatal("no native claims")
			}
			if !reflect.DeepEqual(nat.Claims, normalizeActor(t, sc.Claims, nat.Claims)) || nat.Issuer != sc.Issuer ||
				!reflect.DeepEqual(nat.Audience, sc.Audience) {
				t.Fatalf("native claims\n%+v\ndiffer from the SDK's\n%+v", nat.Claims, sc.Claims)
			}
		})
	}
	if t.Failed() || ran != len(cases) {
		return
	}
	want := map[string]bool{}
	for _, c := range cases {
		if c.stricter != "" {
			want[c.stricter] = true
		}
	}
	if !reflect.DeepEqual(want, stricter) {
		t.Fatalf("stricter cases observed %v, declared %v", stricter, want)
	}
}

// normalizeActor returns sdk with its Actor replaced by ours when both
// hold the same JSON (key order may differ).
func normalizeActor(t *testing.T, sdk, ours clerksdk.Claims) clerksdk.Claims {
	t.Helper()
	if len(sdk.Actor) == 0 && len(ours.Actor) == 0 {
		sdk.Actor = ours.Actor
		return sdk
	}
	var x, y any
	json.Unmarshal(sdk.Actor, &x)
	json.Unmarshal(ours.Actor, &y)
	if reflect.DeepEqual(x, y) {
		sdk.Actor = ours.Actor
	}
	return sdk
}

type clockAdapter struct{ c *clerktest.Clock }

func (c clockAdapter) Now() time.Time { return c.c.Now() }

func signRaw(t *testing.T, srv *clerktest.Server, h, p []byte) string {
	t.Helper()
	tok, err := srv.SignRaw(h, p)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// resign re-signs tok's header and claims (with changes) under srv's key.
func resign(t *testing.T, srv *clerktest.Server, tok string, hdr, cl map[string]any) string {
	t.Helper()
	h, c := payload(t, tok)
	h["kid"] = srv.KID()
	for k, v := range hdr {
		h[k] = v
	}
	for k, v := range cl {
		c[k] = v
	}
	hj, _ := json.Marshal(h)
	cj, _ := json.Marshal(c)
	return signRaw(t, srv, hj, cj)
}

func payload(t *testing.T, tok string) (map[string]any, map[string]any) {
	t.Helper()
	p := strings.Split(tok, ".")
	var h, c map[string]any
	hb, _ := base64.RawURLEncoding.DecodeString(p[0])
	cb, _ := base64.RawURLEncoding.DecodeString(p[1])
	if json.Unmarshal(hb, &h) != nil || json.Unmarshal(cb, &c) != nil {
		t.Fatal("undecodable token")
	}
	return h, c
}
