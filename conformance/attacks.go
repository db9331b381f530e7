package conformance

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authport/authport"
	"github.com/authport/authport/internal/jwtcore"
)

var b64 = base64.RawURLEncoding

var (
	attackerOnce sync.Once
	attackerRSA  *rsa.PrivateKey
	attackerEC   *ecdsa.PrivateKey
)

// attackerKey returns an untrusted private key of the same family as alg.
func attackerKey(t testing.TB, alg string) any {
	attackerOnce.Do(func() {
		var err error
		if attackerRSA, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if attackerEC, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			panic(err)
		}
	})
	switch {
	case strings.HasPrefix(alg, "ES"):
		return attackerEC
	case strings.HasPrefix(alg, "HS"):
		return []byte("attacker-secret-attacker-secret-attacker-secret!!")
	case alg == "EdDSA" || alg == "Ed25519":
		// An RSA attacker key with the header alg kept: signature cannot
		// verify under the trusted Ed25519 key.
		return attackerRSA
	}
	return attackerRSA
}

func signWith(t testing.TB, key any, alg string, header map[string]any, claims map[string]any) string {
	t.Helper()
	if alg == "EdDSA" || alg == "Ed25519" {
		alg = "RS256"
		header = clone(header)
		header["alg"] = "RS256"
	}
	tok, err := jwtcore.Sign(alg, key, header, claims)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return tok
}

func clone(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// attack is one catalogue entry.
type attack struct {
	name string
	// build returns the tokens to present; every one must be refused.
	build func(t testing.TB, e *env) []string
	// want is the required kind (nil: any 401 kind except ErrExpired
	// unless expiredOK).
	want      *authport.Kind
	expiredOK bool
	// accept lists tokens that must verify (legal variants).
	accept func(t testing.TB, e *env) []string
	// needs names a Forger property the attack requires.
	needs string
}

type env struct {
	f    *Forger
	sub  string
	now  time.Time
	good string
}

func (e *env) claims() map[string]any { return e.f.Claims(e.sub) }
func (e *env) header() map[string]any { return e.f.Header() }

// trusted signs header and claims with the provider's trusted key.
func (e *env) trusted(t testing.TB, h, c map[string]any) string {
	t.Helper()
	return e.raw(t, mustJSON(h), mustJSON(c))
}

func (e *env) raw(t testing.TB, h, c []byte) string {
	t.Helper()
	tok, err := e.f.SignRaw(h, c)
	if err != nil {
		t.Fatalf("forger SignRaw: %v", err)
	}
	return tok
}

func unsigned(h, c map[string]any) string {
	return b64.EncodeToString(mustJSON(h)) + "." + b64.EncodeToString(mustJSON(c)) + "."
}

func hs(t testing.TB, key []byte, h, c map[string]any) string {
	t.Helper()
	h = clone(h)
	h["alg"] = "HS256"
	input := b64.EncodeToString(mustJSON(h)) + "." + b64.EncodeToString(mustJSON(c))
	// jwtcore.Sign refuses short HMAC keys only at verification; signing
	// with any key is what an attacker does.
	tok, err := jwtcore.SignRaw("HS256", key, mustJSON(h), mustJSON(c))
	if err != nil {
		t.Fatalf("hs: %v", err)
	}
	_ = input
	return tok
}

// counter is a loopback server that counts requests (for jku/x5u).
func counter(t testing.TB) (string, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"keys":[]}`))
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &n
}

func selfSignedCert(t testing.TB) string {
	k := attackerKey(t, "RS256").(*rsa.PrivateKey)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "attacker"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

func publicKeyEncodings(pub any) [][]byte {
	var out [][]byte
	if der, err := x509.MarshalPKIXPublicKey(pub); err == nil {
		p := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
		out = append(out, p, []byte(strings.TrimSuffix(string(p), "\n")), der)
	}
	if rk, ok := pub.(*rsa.PublicKey); ok {
		der := x509.MarshalPKCS1PublicKey(rk)
		out = append(out, der, pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: der}))
	}
	return out
}

func catalogue() []attack {
	return []attack{
		{name: "J01_AlgNone", build: func(t testing.TB, e *env) []string {
			h := e.header()
			h["alg"] = "none"
			return []string{unsigned(h, e.claims())}
		}},
		{name: "J02_AlgNoneCaseVariants", build: func(t testing.TB, e *env) []string {
			var out []string
			for _, a := range []string{"None", "NONE", "nOnE"} {
				h := e.header()
				h["alg"] = a
				out = append(out, unsigned(h, e.claims()))
			}
			return out
		}},
		{name: "J03_AlgNoneKeptSignature", build: func(t testing.TB, e *env) []string {
			h := e.header()
			h["alg"] = "none"
			sig := e.good[strings.LastIndexByte(e.good, '.')+1:]
			return []string{unsigned(h, e.claims()) + sig}
		}},
		{name: "J04_HMACWithPublicKey", build: func(t testing.TB, e *env) []string {
			var out []string
			for _, k := range publicKeyEncodings(e.f.PublicKey) {
				out = append(out, hs(t, k, e.header(), e.claims()))
			}
			if jwk := mustJSON(map[string]any{"kid": e.f.KID}); len(jwk) > 0 {
				out = append(out, hs(t, jwk, e.header(), e.claims()))
			}
			return out
		}},
		{name: "J06_AlgSwap", build: func(t testing.TB, e *env) []string {
			var out []string
			for _, a := range []string{"RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA", "Ed25519", "HS256"} {
				// The two names of Ed25519 (RFC 8037, RFC 9864) are
				// one algorithm, not a swap.
				if a == e.f.Alg || (a == "EdDSA" || a == "Ed25519") && (e.f.Alg == "EdDSA" || e.f.Alg == "Ed25519") {
					continue
				}
				h := e.header()
				h["alg"] = a
				out = append(out, e.trusted(t, h, e.claims()))
			}
			return out
		}},
		{name: "J07_MissingKid", needs: "kid", build: func(t testing.TB, e *env) []string {
			h := e.header()
			delete(h, "kid")
			return []string{e.trusted(t, h, e.claims()), signWith(t, attackerKey(t, e.f.Alg), e.f.Alg, h, e.claims())}
		}},
		{name: "J08_UnknownKid", build: func(t testing.TB, e *env) []string {
			h := e.header()
			h["kid"] = "attacker-" + randHex(4)
			return []string{signWith(t, attackerKey(t, e.f.Alg), e.f.Alg, h, e.claims())}
		}},
		{name: "J09_KidPathTraversal", build: func(t testing.TB, e *env) []string {
			var out []string
			for _, kid := range []string{"../../../../../../dev/null", "/dev/null"} {
				h := e.header()
				h["kid"] = kid
				out = append(out, hs(t, []byte{}, h, e.claims()))
			}
			return out
		}},
		{name: "J10_KidInjection", build: func(t testing.TB, e *env) []string {
			var out []string
			for _, kid := range []string{"x' UNION SELECT '1';--", "|sleep 10", "$(id)"} {
				h := e.header()
				h["kid"] = kid
				out = append(out, hs(t, []byte("1"), h, e.claims()))
			}
			return out
		}},
		{name: "J11_EmbeddedJWK", build: func(t testing.TB, e *env) []string {
			k := attackerKey(t, "RS256").(*rsa.PrivateKey)
			h := e.header()
			h["alg"] = "RS256"
			h["jwk"] = map[string]any{"kty": "RSA", "kid": e.f.KID, "n": b64.EncodeToString(k.N.Bytes()), "e": "AQAB"}
			return []string{signWith(t, k, "RS256", h, e.claims())}
		}},
		{name: "J12_JKUNotFollowed", build: func(t testing.TB, e *env) []string {
			u, n := counter(t)
			t.Cleanup(func() {
				if n.Load() != 0 {
					t.Errorf("the verifier fetched the attacker's jku %d times", n.Load())
				}
			})
			h := e.header()
			h["jku"] = u + "/jwks.json"
			return []string{signWith(t, attackerKey(t, e.f.Alg), e.f.Alg, h, e.claims()), e.trusted(t, h, e.claims())}
		}},
		{name: "J13_X5UX5CNotFollowed", build: func(t testing.TB, e *env) []string {
			u, n := counter(t)
			t.Cleanup(func() {
				if n.Load() != 0 {
					t.Errorf("the verifier fetched the attacker's x5u %d times", n.Load())
				}
			})
			h1 := e.header()
			h1["x5u"] = u + "/cert.pem"
			h2 := e.header()
			h2["x5c"] = []string{selfSignedCert(t)}
			k := attackerKey(t, "RS256")
			return []string{signWith(t, k, "RS256", h1, e.claims()), signWith(t, k, "RS256", h2, e.claims()), e.trusted(t, h2, e.claims())}
		}},
		{name: "J14_UnknownCrit", build: func(t testing.TB, e *env) []string {
			h := e.header()
			h["crit"] = []string{"x-unknown"}
			h["x-unknown"] = 1
			return []string{e.trusted(t, h, e.claims())}
		}},
		{name: "J15_B64False", build: func(t testing.TB, e *env) []string {
			h := e.header()
			h["b64"] = false
			h["crit"] = []string{"b64"}
			return []string{e.trusted(t, h, e.claims())}
		}},
		{name: "J16_Expired", want: authport.ErrExpired, build: func(t testing.TB, e *env) []string {
			c := e.claims()
			c["exp"] = e.now.Add(-10 * time.Minute).Unix()
			c["iat"] = e.now.Add(-20 * time.Minute).Unix()
			c["nbf"] = e.now.Add(-20 * time.Minute).Unix()
			return []string{e.trusted(t, e.header(), c)}
		}},
		{name: "J17_NotYetValid", build: func(t testing.TB, e *env) []string {
			c := e.claims()
			c["nbf"] = e.now.Add(10 * time.Minute).Unix()
			c["exp"] = e.now.Add(20 * time.Minute).Unix()
			return []string{e.trusted(t, e.header(), c)}
		}},
		{name: "J18_IssuedInFuture", build: func(t testing.TB, e *env) []string {
			c := e.claims()
			c["iat"] = e.now.Add(time.Hour).Unix()
			c["exp"] = e.now.Add(2 * time.Hour).Unix()
			delete(c, "nbf")
			return []string{e.trusted(t, e.header(), c)}
		}},
		{name: "J19_MissingExp", build: func(t testing.TB, e *env) []string {
			c := e.claims()
			delete(c, "exp")
			return []string{e.trusted(t, e.header(), c)}
		}},
		{name: "J20_MalformedTimes", build: func(t testing.TB, e *env) []string {
			var out []string
			for _, v := range []any{"9999999999", -1, int64(9223372036854775807), nil, true, []any{1}} {
				c := e.claims()
				c["exp"] = v
				out = append(out, e.trusted(t, e.header(), c))
			}
			c := e.claims()
			pj := mustJSON(c)
			huge := []byte(strings.Replace(string(pj), `"exp":`, `"exp":1e400,"x_exp":`, 1))
			out = append(out, e.raw(t, mustJSON(e.header()), huge))
			return out
		}, accept: func(t testing.TB, e *env) []string {
			c := e.claims()
			c["exp"] = float64(e.now.Add(5*time.Minute).Unix()) + 0.5
			return []string{e.trusted(t, e.header(), c)}
		}},
		{name: "J21_WrongIssuer", build: func(t testing.TB, e *env) []string {
			iss := e.f.Issuer
			variants := []string{"https://evil.example.com", iss + "x", iss + ".evil.com", strings.ToUpper(iss)}
			if strings.HasSuffix(iss, "/") {
				variants = append(variants, strings.TrimSuffix(iss, "/"))
			} else {
				variants = append(variants, iss+"/")
			}
			if strings.HasPrefix(iss, "https://") {
				variants = append(variants, "http://"+strings.TrimPrefix(iss, "https://"))
			}
			var out []string
			for _, v := range variants {
				c := e.claims()
				c["iss"] = v
				out = append(out, e.trusted(t, e.header(), c))
			}
			c := e.claims()
			delete(c, "iss")
			return append(out, e.trusted(t, e.header(), c))
		}},
		{name: "J22_WrongAudience", needs: "aud", build: func(t testing.TB, e *env) []string {
			var out []string
			for _, v := range []any{"other", []string{"other"}, []string{}, "", map[string]any{"x": 1}, []any{1}} {
				c := e.claims()
				c["aud"] = v
				out = append(out, e.trusted(t, e.header(), c))
			}
			c := e.claims()
			delete(c, "aud")
			return append(out, e.trusted(t, e.header(), c))
		}, accept: func(t testing.TB, e *env) []string {
			c := e.claims()
			c["aud"] = []string{"other", e.f.Audience[0]}
			return []string{e.trusted(t, e.header(), c)}
		}},
		{name: "J23_WrongAuthorizedParty", needs: "azp", build: func(t testing.TB, e *env) []string {
			c1 := e.claims()
			c1["azp"] = "https://evil.example"
			c2 := e.claims()
			delete(c2, "azp")
			return []string{e.trusted(t, e.header(), c1), e.trusted(t, e.header(), c2)}
		}},
		{name: "J24_SignatureStripped", build: func(t testing.TB, e *env) []string {
			i := strings.LastIndexByte(e.good, '.')
			return []string{e.good[:i+1], e.good[:i]}
		}},
		{name: "J25_OtherKeySameKid", build: func(t testing.TB, e *env) []string {
			return []string{signWith(t, attackerKey(t, e.f.Alg), e.f.Alg, e.header(), e.claims())}
		}},
		{name: "J26_WeakHMACSecret", build: func(t testing.TB, e *env) []string {
			var out []string
			for _, k := range []string{"", "secret", "your-256-bit-secret"} {
				out = append(out, hs(t, []byte(k), e.header(), e.claims()))
			}
			return out
		}},
		{name: "J27_Truncated", build: func(t testing.TB, e *env) []string {
			g := e.good
			i := strings.LastIndexByte(g, '.')
			j := strings.IndexByte(g, '.')
			return []string{g[:len(g)-1], g[:i+1+(len(g)-i)/2], g[:j], g[:j+1], g[:i]}
		}},
		{name: "J28_ExtraSegments", build: func(t testing.TB, e *env) []string {
			return []string{e.good + ".", e.good + ".foo", e.good + ".a.b"}
		}},
		{name: "J29_NonBase64URL", build: func(t testing.TB, e *env) []string {
			g := e.good
			j := strings.IndexByte(g, '.')
			return []string{" " + g, g[:j] + "\n" + g[j:], g[:2] + "+" + g[3:], g[:2] + "/" + g[3:], g[:j+3] + "?" + g[j+4:], g + " "}
		}},
		{name: "J30_PaddingAndNonCanonical", build: func(t testing.TB, e *env) []string {
			g := e.good
			i := strings.LastIndexByte(g, '.')
			j := strings.IndexByte(g, '.')
			out := []string{g + "=", g + "==", g[:i] + "=" + g[i:], g[:j] + "=" + g[j:]}
			// Flip the unused low bits of the payload's last character.
			p := g[j+1 : i]
			if len(p)%4 != 0 {
				last := p[len(p)-1]
				alt := strings.IndexByte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", last) ^ 1
				out = append(out, g[:i-1]+string("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[alt])+g[i:])
			}
			return out
		}},
		{name: "J31_Huge", build: func(t testing.TB, e *env) []string {
			h := e.header()
			h["kid"] = strings.Repeat("k", 64<<10)
			c := e.claims()
			aud := make([]string, 10000)
			for i := range aud {
				aud[i] = "a"
			}
			c["aud"] = aud
			return []string{strings.Repeat("a", 1<<20), strings.Repeat(".", 100000), e.trusted(t, h, e.claims()), e.trusted(t, e.header(), c)}
		}},
		{name: "J32_DuplicateMembers", build: func(t testing.TB, e *env) []string {
			hj := mustJSON(e.header())
			dupAlg := []byte(`{"alg":"none",` + string(hj[1:]))
			cj := mustJSON(e.claims())
			dupSub := []byte(`{"sub":"admin",` + string(cj[1:]))
			dupExp := []byte(`{"exp":9999999999,` + string(cj[1:]))
			escaped := []byte(`{"\u0073ub":"admin",` + string(cj[1:]))
			return []string{e.raw(t, dupAlg, cj), e.raw(t, hj, dupSub), e.raw(t, hj, dupExp), e.raw(t, hj, escaped)}
		}},
		{name: "J33_CaseVariantMembers", expiredOK: true, build: func(t testing.TB, e *env) []string {
			c := e.claims()
			c["exp"] = e.now.Add(-time.Hour).Unix()
			c["EXP"] = e.now.Add(time.Hour).Unix()
			h := e.header()
			h["Alg"] = "none"
			delete(h, "alg")
			return []string{e.trusted(t, e.header(), c), unsigned(h, e.claims())}
		}},
		{name: "J34_NestedJWT", build: func(t testing.TB, e *env) []string {
			h := e.header()
			h["cty"] = "JWT"
			inner := unsigned(map[string]any{"alg": "none"}, e.claims())
			return []string{e.raw(t, mustJSON(h), []byte(inner))}
		}},
		{name: "J35_JWE", build: func(t testing.TB, e *env) []string {
			h := map[string]any{"alg": "PBES2-HS256+A128KW", "enc": "A128GCM", "p2c": 2000000000, "p2s": "AAAA", "zip": "DEF", "kid": e.f.KID}
			return []string{b64.EncodeToString(mustJSON(h)) + ".AAAA.AAAA.AAAA.AAAA"}
		}},
		{name: "J36_ZeroSignature", build: func(t testing.TB, e *env) []string {
			i := strings.LastIndexByte(e.good, '.')
			sig, _ := b64.DecodeString(e.good[i+1:])
			zero := make([]byte, len(sig))
			return []string{e.good[:i+1] + b64.EncodeToString(zero), e.good[:i+1] + b64.EncodeToString(make([]byte, 64))}
		}},
		{name: "J38_WrongLengthSignature", build: func(t testing.TB, e *env) []string {
			i := strings.LastIndexByte(e.good, '.')
			sig, _ := b64.DecodeString(e.good[i+1:])
			return []string{
				e.good[:i+1] + b64.EncodeToString(append(append([]byte{}, sig...), 0)),
				e.good[:i+1] + b64.EncodeToString(append([]byte{0}, sig...)),
				e.good[:i+1] + b64.EncodeToString(sig[:len(sig)-1]),
			}
		}},
		{name: "J42_JSONSerialization", build: func(t testing.TB, e *env) []string {
			p := strings.Split(e.good, ".")
			flat := mustJSON(map[string]any{"protected": p[0], "payload": p[1], "signature": p[2]})
			general := mustJSON(map[string]any{"payload": p[1], "signatures": []any{map[string]any{"protected": p[0], "signature": p[2]}}})
			return []string{string(flat), string(general)}
		}},
		{name: "J43_TokenTypeConfusion", build: func(t testing.TB, e *env) []string {
			var out []string
			for _, typ := range []string{"refresh+jwt", "secevent+jwt", "JWE", "id_token+jwt"} {
				h := e.header()
				h["typ"] = typ
				out = append(out, e.trusted(t, h, e.claims()))
			}
			return out
		}},
		{name: "J44_ExpiredAndBadSignature", build: func(t testing.TB, e *env) []string {
			c := e.claims()
			c["exp"] = e.now.Add(-10 * time.Minute).Unix()
			c["iat"] = e.now.Add(-20 * time.Minute).Unix()
			c["nbf"] = e.now.Add(-20 * time.Minute).Unix()
			tok := e.trusted(t, e.header(), c)
			i := strings.LastIndexByte(tok, '.')
			sig, _ := b64.DecodeString(tok[i+1:])
			sig[len(sig)/2] ^= 1
			return []string{tok[:i+1] + b64.EncodeToString(sig)}
		}},
	}
}

func (s *suite) attacks(t *testing.T) {
	f := s.h.Forger
	if f == nil {
		na(t, "the harness has no Forger (only an emulator holds the provider's signing key)")
	}
	u := s.newUser(t, nil)
	e := &env{f: f, sub: u.ID, now: time.Now()}
	e.good = e.trusted(t, f.Header(), f.Claims(u.ID))
	if _, err := s.verify(t, s.h.bearer(e.good)); err != nil {
		t.Fatalf("the forger's own valid token does not verify: %v", err)
	}
	for _, a := range catalogue() {
		s.run(t, a.name, func(t *testing.T) {
			switch a.needs {
			case "kid":
				if f.KIDOptional {
					na(t, "the adapter accepts a sole static key without kid")
				}
			case "aud":
				if len(f.Audience) == 0 {
					na(t, "the provider's tokens carry no audience to check")
				}
			case "azp":
				if f.AuthorizedParty == "" {
					na(t, "no authorized-party allow-list is configured")
				}
			}
			for i, tok := range a.build(t, e) {
				_, err := s.verify(t, s.h.bearer(tok))
				if err == nil {
					t.Fatalf("token %d was accepted", i)
				}
				checkNoSecret(t, err)
				k := authport.KindOf(err)
				switch {
				case a.want != nil:
					if k != a.want {
						t.Fatalf("token %d: kind %v, want %v (%v)", i, k, a.want, err)
					}
				case k == authport.ErrExpired && a.expiredOK:
				case k != authport.ErrInvalidCredential:
					t.Fatalf("token %d: kind %v, want %v (%v)", i, k, authport.ErrInvalidCredential, err)
				}
				if errors.Is(err, authport.ErrExpired) && a.name == "J44_ExpiredAndBadSignature" {
					t.Fatal("a bad signature was reported as expired")
				}
			}
			if a.accept != nil {
				why, stricter := f.Stricter[a.name]
				for i, tok := range a.accept(t, e) {
					_, err := s.verify(t, s.h.bearer(tok))
					switch {
					case stricter && err == nil:
						t.Fatalf("legal variant %d accepted, but the provider refuses it (%s)", i, why)
					case stricter && authport.KindOf(err) != authport.ErrInvalidCredential:
						t.Fatalf("legal variant %d: kind %v, want %v (%v)", i, authport.KindOf(err), authport.ErrInvalidCredential, err)
					case stricter:
						t.Logf("legal variant %d refused as the provider refuses it: %s", i, why)
					case err != nil:
						t.Fatalf("legal variant %d refused: %v", i, err)
					}
				}
			}
		})
	}
}

// CatalogueTokens builds the attack catalogue's tokens (the forged,
// malformed and confused tokens a verifier can be handed) for the
// provider f describes and user id sub, keyed by attack name. Every one must
// be refused. It serves verifier unit tests and fuzzers as seeds without a
// whole Harness; Run uses the same catalogue.
func CatalogueTokens(tb testing.TB, f *Forger, sub string) map[string][]string {
	tb.Helper()
	e := &env{f: f, sub: sub, now: time.Now()}
	e.good = e.trusted(tb, f.Header(), f.Claims(sub))
	out := map[string][]string{}
	for _, a := range catalogue() {
		switch {
		case a.needs == "kid" && f.KIDOptional,
			a.needs == "aud" && len(f.Audience) == 0,
			a.needs == "azp" && f.AuthorizedParty == "":
			continue
		}
		out[a.name] = a.build(tb, e)
	}
	return out
}
