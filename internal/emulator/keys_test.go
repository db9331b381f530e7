package emulator

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"hash"
	"math/big"
	"strings"
	"testing"
	"time"
)

// verifyCompact is the tests' own minimal JWS check, independent of the
// package's signing code paths.
func verifyCompact(t *testing.T, alg string, pub any, tok string) bool {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	input := []byte(parts[0] + "." + parts[1])
	var h crypto.Hash
	var nh func() hash.Hash
	switch alg[len(alg)-3:] {
	case "256":
		h, nh = crypto.SHA256, sha256.New
	case "384":
		h, nh = crypto.SHA384, sha512.New384
	case "512":
		h, nh = crypto.SHA512, sha512.New
	}
	digest := func() []byte { d := nh(); d.Write(input); return d.Sum(nil) }
	switch {
	case alg == "EdDSA":
		return ed25519.Verify(pub.(ed25519.PublicKey), input, sig)
	case strings.HasPrefix(alg, "HS"):
		m := hmac.New(nh, pub.([]byte))
		m.Write(input)
		return hmac.Equal(m.Sum(nil), sig)
	case strings.HasPrefix(alg, "RS"):
		return rsa.VerifyPKCS1v15(pub.(*rsa.PublicKey), h, digest(), sig) == nil
	case strings.HasPrefix(alg, "PS"):
		return rsa.VerifyPSS(pub.(*rsa.PublicKey), h, digest(), sig, nil) == nil
	case strings.HasPrefix(alg, "ES"):
		n := len(sig) / 2
		r, s := new(big.Int).SetBytes(sig[:n]), new(big.Int).SetBytes(sig[n:])
		return ecdsa.Verify(pub.(*ecdsa.PublicKey), digest(), r, s)
	}
	t.Fatalf("alg %s", alg)
	return false
}

func decodeSegment(t *testing.T, seg string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSigningAlgorithms(t *testing.T) {
	t.Parallel()
	for _, alg := range []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "HS256", "HS384", "HS512"} {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			r := NewKeyRing(KeyRingOptions{Algorithm: alg})
			tok := r.Sign(map[string]any{"typ": "JWT"}, map[string]any{"sub": "u1"})
			if !verifyCompact(t, alg, r.PublicKey(), tok) {
				t.Fatal("signature does not verify")
			}
			h := decodeSegment(t, strings.Split(tok, ".")[0])
			if h["alg"] != alg || h["kid"] != r.KID() || h["typ"] != "JWT" {
				t.Fatalf("header %v", h)
			}
			if ES := strings.HasPrefix(alg, "ES"); ES {
				sig, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[2])
				want := map[string]int{"ES256": 64, "ES384": 96, "ES512": 132}[alg]
				if len(sig) != want {
					t.Fatalf("ES signature is %d bytes, want %d", len(sig), want)
				}
			}
			if strings.HasPrefix(alg, "HS") {
				if r.Current().Certificate != nil || string(r.JWKS(true)) != `{"keys":[]}` {
					t.Fatalf("an HMAC secret was published: %s", r.JWKS(true))
				}
				return
			}
			var set struct{ Keys []map[string]any }
			if err := json.Unmarshal(r.JWKS(true), &set); err != nil || len(set.Keys) != 1 {
				t.Fatalf("JWKS %s: %v", r.JWKS(true), err)
			}
			k := set.Keys[0]
			if k["kid"] != r.KID() || k["alg"] != alg || k["use"] != "sig" || k["x5c"] == nil || k["x5t"] == nil {
				t.Fatalf("JWK %v", k)
			}
			der, _ := base64.StdEncoding.DecodeString(k["x5c"].([]any)[0].(string))
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				t.Fatal(err)
			}
			if !verifyCompact(t, alg, cert.PublicKey, tok) {
				t.Fatal("x5c certificate's key does not verify the token")
			}
		})
	}
}

func TestSignCompactNone(t *testing.T) {
	tok, err := SignCompact("none", nil, []byte(`{"alg":"none"}`), []byte(`{}`))
	if err != nil || !strings.HasSuffix(tok, ".") || strings.Count(tok, ".") != 2 {
		t.Fatalf("%q %v", tok, err)
	}
	if _, err := SignCompact("RS256", []byte("x"), nil, nil); err == nil {
		t.Fatal("wrong key type accepted")
	}
	if _, err := SignCompact("XX999", nil, nil, nil); err == nil {
		t.Fatal("unknown alg accepted")
	}
}

func TestJWKSecrets(t *testing.T) {
	r := NewKeyRing(KeyRingOptions{Algorithm: "HS256", Secret: []byte("0123456789abcdef0123456789abcdef")})
	if string(r.PublicKey().([]byte)) != "0123456789abcdef0123456789abcdef" {
		t.Fatal("configured secret not used")
	}
	r.Rotate()
	if string(r.PublicKey().([]byte)) == "0123456789abcdef0123456789abcdef" {
		t.Fatal("rotation kept the secret")
	}
}

func TestJWKShapes(t *testing.T) {
	t.Parallel()
	cases := map[string][]string{"RS256": {"kty:RSA", "n", "e"}, "ES256": {"kty:EC", "crv:P-256", "x", "y"}, "ES512": {"crv:P-521", "x", "y"}, "EdDSA": {"kty:OKP", "crv:Ed25519", "x"}}
	for alg, want := range cases {
		k := NewKeyRing(KeyRingOptions{Algorithm: alg}).Current().JWK(false)
		for _, w := range want {
			name, val, _ := strings.Cut(w, ":")
			if k[name] == nil || (val != "" && k[name] != val) {
				t.Errorf("%s: JWK %v lacks %s", alg, k, w)
			}
		}
		if k["x5c"] != nil {
			t.Errorf("%s: x5c without asking", alg)
		}
		if alg == "RS256" && k["e"] != "AQAB" {
			t.Errorf("e = %v", k["e"])
		}
		if alg == "ES512" {
			x, _ := base64.RawURLEncoding.DecodeString(k["x"].(string))
			if len(x) != 66 {
				t.Errorf("P-521 x is %d bytes, want 66", len(x))
			}
		}
	}
}

func TestRotation(t *testing.T) {
	clock := FixedClock(time.Unix(1_700_000_000, 0))
	n := 0
	r := NewKeyRing(KeyRingOptions{Clock: clock, Grace: time.Hour, KID: PrefixedID("ins_", func() string { n++; return string(rune('a' + n - 1)) })})
	old := r.Current()
	if old.ID != "ins_a" {
		t.Fatalf("kid %q", old.ID)
	}
	oldTok := r.Sign(nil, map[string]any{"sub": "u"})
	cur := r.Rotate()
	if cur.ID != "ins_b" || r.KID() != "ins_b" {
		t.Fatalf("rotated to %q", r.KID())
	}
	if got := kids(r.Published()); got != "ins_b,ins_a" {
		t.Fatalf("published %s", got)
	}
	if k, ok := r.Lookup("ins_a"); !ok || !verifyCompact(t, "RS256", k.Public, oldTok) {
		t.Fatal("old key not published during grace")
	}
	clock.Advance(time.Hour)
	if got := kids(r.Published()); got != "ins_b" {
		t.Fatalf("after grace: %s", got)
	}
	if strings.Contains(string(r.JWKS(false)), "ins_a") || strings.Contains(string(r.X509Map()), "ins_a") {
		t.Fatal("expired key still served")
	}

	r2 := NewKeyRing(KeyRingOptions{})
	a := r2.KID()
	r2.Rotate()
	b := r2.KID()
	r2.Rotate()
	if len(r2.Published()) != 3 {
		t.Fatal("grace 0 should keep keys until dropped")
	}
	if r2.Drop(r2.KID()) {
		t.Fatal("dropped the current key")
	}
	if !r2.Drop(a) || r2.Drop(a) {
		t.Fatal("Drop")
	}
	if _, ok := r2.Lookup(b); !ok {
		t.Fatal("b gone")
	}
	r2.DropRetired()
	if len(r2.Published()) != 1 {
		t.Fatal("DropRetired")
	}
}

func kids(ks []*SigningKey) string {
	var s []string
	for _, k := range ks {
		s = append(s, k.ID)
	}
	return strings.Join(s, ",")
}

func TestForeignAndX509Map(t *testing.T) {
	r := NewKeyRing(KeyRingOptions{KID: func() string { return RandomHex(20) }})
	f := r.Foreign()
	if f.ID != r.KID() || f.Algorithm != "RS256" {
		t.Fatalf("foreign %s %s", f.ID, f.Algorithm)
	}
	if f.Public.(*rsa.PublicKey).Equal(r.PublicKey()) {
		t.Fatal("foreign key is the trusted key")
	}
	if r.Foreign() != f {
		t.Fatal("foreign key not kept for the current key")
	}
	tok, _ := f.Sign(nil, map[string]any{"sub": "x"})
	if verifyCompact(t, "RS256", r.PublicKey(), tok) {
		t.Fatal("foreign signature verifies with the trusted key")
	}
	r.Rotate()
	if g := r.Foreign(); g.ID != r.KID() || g == f {
		t.Fatal("foreign key not renewed on rotation")
	}
	var m map[string]string
	if err := json.Unmarshal(r.X509Map(), &m); err != nil || len(m) != 2 {
		t.Fatalf("x509 map %v %v", m, err)
	}
	blk, _ := pem.Decode([]byte(m[r.KID()]))
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil || !cert.PublicKey.(*rsa.PublicKey).Equal(r.PublicKey()) {
		t.Fatalf("certificate for current kid: %v", err)
	}
	if p := r.Current().PublicKeyPEM(); !strings.HasPrefix(string(p), "-----BEGIN PUBLIC KEY-----") {
		t.Fatalf("PEM %q", p)
	}
}

func TestIDs(t *testing.T) {
	u := NewUUID()
	if len(u) != 36 || u[14] != '4' || !strings.ContainsRune("89ab", rune(u[19])) {
		t.Fatalf("uuid %s", u)
	}
	prev := ""
	for range 1000 {
		id := NewULID()
		if len(id) != 26 || id <= prev {
			t.Fatalf("ulid %s after %s", id, prev)
		}
		prev = id
	}
	if got := ULIDAt(time.UnixMilli(0))[:10]; got != "0000000000" {
		t.Fatalf("ulid time prefix %s", got)
	}
	if got := ULIDAt(time.UnixMilli(1469918176385))[:10]; got != "01ARYZ6S41" { // from the ULID spec
		t.Fatalf("ulid time prefix %s", got)
	}
	if s := RandomBase62(27); len(s) != 27 || strings.Trim(s, base62) != "" {
		t.Fatalf("base62 %s", s)
	}
	if len(RandomHex(20)) != 40 || len(RandomToken(32)) != 43 {
		t.Fatal("random lengths")
	}
}
