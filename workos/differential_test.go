package workos_test

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authport/authport"
	"github.com/authport/authport/internal/emulator"
	"github.com/authport/authport/workos/workostest"
)

func emuSession(userID string) emulator.NewSession { return emulator.NewSession{UserID: userID} }

// refVerifier is the verification WorkOS documents for AuthKit access
// tokens (a JWKS library with the client's key set: signature with the key
// named by kid, RS256, expiry), written with the standard library only,
// plus the issuer list. workos-go v4 has no verifier of its own, so this
// is the oracle of the differential test: the adapter must accept every
// token it accepts, except the documented stricter cases, and must never
// accept a token it refuses.
type refVerifier struct {
	keys    map[string]*rsa.PublicKey
	issuers []string
	now     func() time.Time
}

func loadRef(t testing.TB, emu *workostest.Emulator, issuers []string) *refVerifier {
	t.Helper()
	res, err := http.Get(emu.URL + "/sso/jwks/" + emu.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var doc struct {
		Keys []struct{ Kid, N, E string } `json:"keys"`
	}
	if err := json.NewDecoder(res.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	r := &refVerifier{keys: map[string]*rsa.PublicKey{}, issuers: issuers, now: emu.Clock.Now}
	for _, k := range doc.Keys {
		n, _ := base64.RawURLEncoding.DecodeString(k.N)
		e, _ := base64.RawURLEncoding.DecodeString(k.E)
		r.keys[k.Kid] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	}
	return r
}

// b64 decodes leniently, as most JWT libraries do (padding tolerated).
func b64(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

func (r *refVerifier) verify(tok string) (map[string]any, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, errors.New("not three segments")
	}
	hb, err := b64(parts[0])
	if err != nil {
		return nil, err
	}
	var h struct{ Alg, Kid string }
	if err := json.Unmarshal(hb, &h); err != nil {
		return nil, err
	}
	if h.Alg != "RS256" {
		return nil, errors.New("alg")
	}
	key := r.keys[h.Kid]
	if key == nil {
		return nil, errors.New("kid")
	}
	sig, err := b64(parts[2])
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], sig); err != nil {
		return nil, err
	}
	pb, err := b64(parts[1])
	if err != nil {
		return nil, err
	}
	var c map[string]any
	if err := json.Unmarshal(pb, &c); err != nil {
		return nil, err
	}
	exp, ok := c["exp"].(float64)
	if !ok || float64(r.now().Unix()) >= exp+30 {
		return nil, errors.New("expired")
	}
	if nbf, ok := c["nbf"].(float64); ok && float64(r.now().Unix())+30 < nbf {
		return nil, errors.New("not yet valid")
	}
	if iss, _ := c["iss"].(string); !slices.Contains(r.issuers, iss) {
		return nil, errors.New("issuer")
	}
	return c, nil
}

// Outcomes of a differential case.
const (
	bothAccept = "both accept"
	bothReject = "both reject"
	stricter   = "adapter stricter"
)

func TestDifferentialReference(t *testing.T) {
	f := setup(t)
	emu := f.emu
	ref := loadRef(t, emu, f.a.Config().Issuers)
	ids := []string{
		f.user(t, workostest.NewUser{Email: "d1@example.com"}),
		f.user(t, workostest.NewUser{Email: "d2@example.com", FeatureFlags: []string{"x"}, Impersonator: "root@example.com"}),
		f.user(t, workostest.NewUser{Email: "d3@example.com"}),
	}
	org, _ := emu.CreateOrganization("Diff", "sso")
	emu.DefineRole("editor", "docs:write")
	emu.AddMembership(ids[1], org, "admin")
	emu.AddMembership(ids[2], org, "editor")
	sess, err := emu.Core().Store.CreateSession(emuSession(ids[0]))
	if err != nil {
		t.Fatal(err)
	}

	type tc struct {
		name, tok, want string
	}
	var cases []tc
	add := func(name, want string, tok string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		cases = append(cases, tc{name, tok, want})
	}
	for i, email := range []string{"d1@example.com", "d2@example.com", "d3@example.com"} {
		tok, err := emu.SignIn(t.Context(), email, pw)
		add("signed in "+ids[i], bothAccept, tokOf(tok), err)
	}
	mint := func(name, want string, r workostest.MintRequest) {
		t.Helper()
		if r.SessionID == "" {
			r.SessionID = sess.ID
		}
		tok, err := emu.Mint(r)
		add(name, want, tok, err)
	}
	mint("minted", bothAccept, workostest.MintRequest{})
	mint("expired", bothReject, workostest.MintRequest{Expired: true})
	mint("not yet valid", bothReject, workostest.MintRequest{NotYetValid: true})
	mint("foreign key", bothReject, workostest.MintRequest{Foreign: true})
	mint("alg none", bothReject, workostest.MintRequest{Alg: "none"})
	mint("HS256 with the public key", bothReject, workostest.MintRequest{Alg: "HS256"})
	mint("RS384", bothReject, workostest.MintRequest{Alg: "RS384"})
	mint("wrong issuer", bothReject, workostest.MintRequest{Claims: map[string]any{"iss": "https://evil.example"}})
	mint("no exp", bothReject, workostest.MintRequest{Claims: map[string]any{"exp": nil}})
	mint("unknown kid", bothReject, workostest.MintRequest{Header: map[string]any{"kid": "sso_oidc_key_pair_01HNOTAKEY0000000000000000"}})
	mint("issued in the future", stricter, workostest.MintRequest{Claims: map[string]any{"iat": time.Now().Add(time.Hour).Unix()}})
	mint("no sid", stricter, workostest.MintRequest{Claims: map[string]any{"sid": nil}})
	mint("no sub", stricter, workostest.MintRequest{Claims: map[string]any{"sub": nil}})
	mint("another client's client_id", stricter, workostest.MintRequest{Claims: map[string]any{"client_id": "client_someone_else"}})
	mint("roles not an array", stricter, workostest.MintRequest{Claims: map[string]any{"roles": "admin"}})
	mint("org_id not a string", stricter, workostest.MintRequest{Claims: map[string]any{"org_id": 42}})
	mint("embedded jwk header", stricter, workostest.MintRequest{Header: map[string]any{"jwk": map[string]any{"kty": "RSA"}}})
	mint("jku header", stricter, workostest.MintRequest{Header: map[string]any{"jku": "https://evil.example/jwks"}})
	mint("crit header", stricter, workostest.MintRequest{Header: map[string]any{"crit": []string{"exp"}}})
	mint("typ JWE", stricter, workostest.MintRequest{Header: map[string]any{"typ": "JOSE+JSON"}})

	good := cases[3].tok
	parts := strings.Split(good, ".")
	flip := func(s string) string {
		b := []byte(s)
		if b[len(b)/2] == 'A' {
			b[len(b)/2] = 'B'
		} else {
			b[len(b)/2] = 'A'
		}
		return string(b)
	}
	cases = append(cases,
		tc{"tampered payload", parts[0] + "." + flip(parts[1]) + "." + parts[2], bothReject},
		tc{"tampered signature", parts[0] + "." + parts[1] + "." + flip(parts[2]), bothReject},
		tc{"signature stripped", parts[0] + "." + parts[1] + ".", bothReject},
		tc{"four segments", good + ".x", bothReject},
		tc{"padded signature", good + "==", stricter},
		tc{"huge", parts[0] + "." + strings.Repeat("A", 9000) + "." + parts[2], bothReject},
	)
	// Duplicate members: the reference (encoding/json) keeps the last sid,
	// the core refuses the token.
	hdr, _ := b64(parts[0])
	pay, _ := b64(parts[1])
	dup := strings.Replace(string(pay), `"sid":`, `"sid":"session_forged","sid":`, 1)
	tok, err := emu.Core().Keys.Current().SignRaw(hdr, []byte(dup))
	add("duplicate sid member", stricter, tok, err)

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			refClaims, refErr := ref.verify(c.tok)
			s, err := f.a.Verify(t.Context(), authport.Credential{Token: c.tok, Source: authport.SourceHeader})
			got := bothReject
			switch {
			case refErr == nil && err == nil:
				got = bothAccept
			case refErr == nil && err != nil:
				got = stricter
			case refErr != nil && err == nil:
				t.Fatalf("the adapter accepts a token the reference refuses (%v)", refErr)
			}
			if got != c.want {
				t.Fatalf("%s, want %s (reference: %v; adapter: %v)", got, c.want, refErr, err)
			}
			if err != nil && authport.KindOf(err) != authport.ErrInvalidCredential && authport.KindOf(err) != authport.ErrExpired {
				t.Fatalf("refused as %v, want invalid credential or expired", authport.KindOf(err))
			}
			if got == bothAccept {
				if s.UserID != refClaims["sub"] || s.SessionID != refClaims["sid"] || s.ExpiresAt.Unix() != int64(refClaims["exp"].(float64)) {
					t.Fatalf("adapter %+v disagrees with reference %v", s, refClaims)
				}
				if org, _ := refClaims["org_id"].(string); s.OrgID != org {
					t.Fatalf("org %q vs %q", s.OrgID, org)
				}
				if role, _ := refClaims["role"].(string); role != "" && !s.HasRole(role) {
					t.Fatalf("role %q missing from %v", role, s.Roles)
				}
				for _, p := range toStrings(refClaims["permissions"]) {
					if !s.HasPermission(p) {
						t.Fatalf("permission %q missing from %v", p, s.Permissions)
					}
				}
			}
		})
	}
}

func toStrings(v any) []string {
	a, _ := v.([]any)
	var out []string
	for _, e := range a {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func tokOf(t *authport.Tokens) string {
	if t == nil {
		return ""
	}
	return t.AccessToken
}
