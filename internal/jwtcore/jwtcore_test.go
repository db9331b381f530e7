package jwtcore

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/authport/authport"
	"github.com/authport/authport/internal/keyset"
)

var (
	keysOnce sync.Once
	rsaKey   *rsa.PrivateKey
	ecKey    *ecdsa.PrivateKey
	edKey    ed25519.PrivateKey
)

func testKeys() {
	keysOnce.Do(func() {
		rsaKey, _ = rsa.GenerateKey(rand.Reader, 2048)
		ecKey, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		_, edKey, _ = ed25519.GenerateKey(rand.Reader)
	})
}

const iss = "https://issuer.test"

func newVerifier(t testing.TB, now func() time.Time, cacheSize int) *Verifier {
	testKeys()
	src, err := keyset.NewStatic(
		keyset.Key{ID: "rsa", Algorithm: "RS256", Public: &rsaKey.PublicKey},
		keyset.Key{ID: "ec", Algorithm: "ES256", Public: &ecKey.PublicKey},
		keyset.Key{ID: "ed", Algorithm: "EdDSA", Public: edKey.Public()},
	)
	if err != nil {
		t.Fatal(err)
	}
	v, err := New(Options{Provider: "test", Clock: now, CacheSize: cacheSize, ToSession: func(c *Claims) (*authport.Session, error) {
		return &authport.Session{UserID: c.Subject, SessionID: c.String("sid"), ExpiresAt: c.ExpiresAt}, nil
	}}, Policy{Issuer: iss, Audiences: []string{"api"}, Algorithms: []string{"RS256", "ES256", "EdDSA"}, Keys: src})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func claimsAt(now time.Time) map[string]any {
	return map[string]any{"iss": iss, "aud": "api", "sub": "u1", "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "jti": "j1", "sid": "s1"}
}

func TestVerifyAlgorithms(t *testing.T) {
	testKeys()
	now := time.Now()
	v := newVerifier(t, func() time.Time { return now }, -1)
	for _, c := range []struct {
		alg, kid string
		key      any
	}{{"RS256", "rsa", rsaKey}, {"ES256", "ec", ecKey}, {"EdDSA", "ed", edKey}} {
		t.Run(c.alg, func(t *testing.T) {
			tok, err := Sign(c.alg, c.key, map[string]any{"kid": c.kid, "typ": "JWT"}, claimsAt(now))
			if err != nil {
				t.Fatal(err)
			}
			cl, err := v.Verify(context.Background(), tok)
			if err != nil {
				t.Fatal(err)
			}
			if cl.Subject != "u1" || cl.JTI != "j1" || len(cl.Audience) != 1 {
				t.Fatalf("claims %+v", cl)
			}
		})
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	src, _ := keyset.NewStatic()
	cases := []struct {
		name string
		o    Options
		p    []Policy
	}{
		{"no policy", Options{}, nil},
		{"none alg", Options{}, []Policy{{Issuer: iss, Keys: src, Algorithms: []string{"none"}}}},
		{"no keys", Options{}, []Policy{{Issuer: iss}}},
		{"no issuer", Options{}, []Policy{{Keys: src}}},
		{"leeway too big", Options{Leeway: 10 * time.Minute}, []Policy{{Issuer: iss, Keys: src}}},
		{"dup issuer", Options{}, []Policy{{Issuer: iss, Keys: src}, {Issuer: iss, Keys: src}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := New(c.o, c.p...); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestLeewayBoundaries(t *testing.T) {
	testKeys()
	base := time.Unix(1_800_000_000, 0)
	tok, _ := Sign("RS256", rsaKey, map[string]any{"kid": "rsa"}, map[string]any{"iss": iss, "aud": "api", "sub": "u", "exp": base.Unix(), "nbf": base.Add(-time.Hour).Unix()})
	cases := []struct {
		at   time.Time
		want *authport.Kind
	}{
		{base.Add(-time.Second), nil},
		{base.Add(29 * time.Second), nil},
		{base.Add(30 * time.Second), authport.ErrExpired},
		{base.Add(time.Hour), authport.ErrExpired},
		{base.Add(-time.Hour - 29*time.Second), nil},
		{base.Add(-time.Hour - 31*time.Second), authport.ErrInvalidCredential},
	}
	for _, c := range cases {
		at := c.at
		v := newVerifier(t, func() time.Time { return at }, -1)
		_, err := v.Verify(context.Background(), tok)
		if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("at %v: err %v, want %v", c.at.Sub(base), err, c.want)
		}
	}
}

func TestCacheHonoursExpiryAndDeny(t *testing.T) {
	testKeys()
	now := time.Now()
	clock := func() time.Time { return now }
	v := newVerifier(t, func() time.Time { return clock() }, 100)
	tok, _ := Sign("RS256", rsaKey, map[string]any{"kid": "rsa"}, claimsAt(now))
	ctx := context.Background()
	if _, err := v.Session(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Session(ctx, tok); err != nil {
		t.Fatal(err)
	}
	v.DenyToken(iss, "j1", now.Add(5*time.Minute))
	if _, err := v.Session(ctx, tok); !errors.Is(err, authport.ErrRevoked) {
		t.Fatalf("denied jti: %v", err)
	}
	v2 := newVerifier(t, func() time.Time { return clock() }, 100)
	if _, err := v2.Session(ctx, tok); err != nil {
		t.Fatal(err)
	}
	v2.DenySession("s1", now.Add(time.Minute))
	if _, err := v2.Session(ctx, tok); !errors.Is(err, authport.ErrRevoked) {
		t.Fatalf("denied sid: %v", err)
	}
	v3 := newVerifier(t, func() time.Time { return clock() }, 100)
	if _, err := v3.Session(ctx, tok); err != nil {
		t.Fatal(err)
	}
	later := now.Add(10 * time.Minute)
	clock = func() time.Time { return later }
	if _, err := v3.Session(ctx, tok); !errors.Is(err, authport.ErrExpired) {
		t.Fatalf("cached token past exp: %v", err)
	}
}

func TestCacheBounded(t *testing.T) {
	testKeys()
	now := time.Now()
	v := newVerifier(t, func() time.Time { return now }, 32)
	for i := range 200 {
		c := claimsAt(now)
		c["jti"] = strings.Repeat("x", i+1)
		tok, _ := Sign("EdDSA", edKey, map[string]any{"kid": "ed"}, c)
		if _, err := v.Session(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
	}
	total := 0
	for i := range v.cache.s {
		total += len(v.cache.s[i].m)
	}
	if total > 32+shards {
		t.Fatalf("cache holds %d entries, bound 32", total)
	}
}

func TestCheckJSON(t *testing.T) {
	cases := []struct {
		in string
		ok bool
	}{
		{`{}`, true},
		{`{"a":1,"b":[1,{"a":2}],"c":{"d":"e"}}`, true},
		{`{"a":1,"a":2}`, false},
		{`{"a":1,"\u0061":2}`, false},
		{`{"a":{"b":1,"b":2}}`, false},
		{`{"a":"x\"y","b":1}`, true},
		{`[1]`, false},
		{`{"a":1}x`, false},
		{`{"a"}`, false},
		{`{"a":1,}`, false},
		{strings.Repeat(`{"a":`, 40) + "1" + strings.Repeat("}", 40), false},
	}
	for _, c := range cases {
		if err := checkJSON([]byte(c.in)); (err == nil) != c.ok {
			t.Errorf("%s: err %v, want ok=%v", c.in, err, c.ok)
		}
	}
}

func FuzzVerify(f *testing.F) {
	testKeys()
	now := time.Now()
	good, _ := Sign("RS256", rsaKey, map[string]any{"kid": "rsa"}, claimsAt(now))
	ec, _ := Sign("ES256", ecKey, map[string]any{"kid": "ec"}, claimsAt(now))
	for _, s := range []string{good, ec, "", ".", "..", "a.b.c", good + ".", "eyJhbGciOiJub25lIn0.e30.", strings.Repeat(".", 100)} {
		f.Add(s)
	}
	v := newVerifier(f, func() time.Time { return now }, -1)
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := v.Verify(context.Background(), tok)
		if err == nil {
			// Only a token signed by a trusted key can verify: its
			// signing input must hash to something the key signed.
			if c.Issuer != iss || c.Subject == "" {
				t.Fatalf("accepted %q with claims %+v", tok, c)
			}
			return
		}
		if authport.KindOf(err) == authport.ErrProviderUnavailable {
			t.Fatalf("kind %v for a static key set", authport.KindOf(err))
		}
		if strings.Contains(err.Error(), tok) && len(tok) > 20 {
			t.Fatal("error echoes the token")
		}
	})
}

// The floor and the verifier on the same RS256 token; docs/benchmarks.md
// reports their ratio from one run.
func BenchmarkRS256(b *testing.B) {
	testKeys()
	now := time.Now()
	c := claimsAt(now)
	c["email"] = "user@example.com"
	c["org_id"] = "org_123"
	c["roles"] = []string{"admin", "member"}
	c["azp"] = "https://app.example.com"
	c["nbf"] = now.Unix()
	tok, _ := Sign("RS256", rsaKey, map[string]any{"kid": "rsa", "typ": "JWT"}, c)
	i := strings.LastIndexByte(tok, '.')
	sig, _ := b64enc.DecodeString(tok[i+1:])
	input := tok[:i]
	b.Run("floor_crypto_rsa", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			d := sha256.Sum256([]byte(input))
			if err := rsa.VerifyPKCS1v15(&rsaKey.PublicKey, crypto.SHA256, d[:], sig); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("jwtcore_uncached", func(b *testing.B) {
		v := newVerifier(b, time.Now, -1)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.Session(context.Background(), tok); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("jwtcore_cached", func(b *testing.B) {
		v := newVerifier(b, time.Now, 1000)
		if _, err := v.Session(context.Background(), tok); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.Session(context.Background(), tok); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestParseMatchesEncodingJSON checks the strict parser against
// encoding/json on valid input.
func TestParseMatchesEncodingJSON(t *testing.T) {
	for _, in := range []string{
		`{"a":1,"b":-2.5e3,"c":"x\"y\u00e9","d":[1,"2",null,true,false,{"e":[]}],"f":{},"g":0}`,
		`{"iss":"https://x","aud":["a","b"],"exp":1800000000.5,"roles":[],"nested":{"x":{"y":{"z":1}}}}`,
		` { "a" : "b" } `,
	} {
		got, err := parseJSONObject([]byte(in))
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		var want map[string]any
		if err := json.Unmarshal([]byte(in), &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s:\n got %#v\nwant %#v", in, got, want)
		}
	}
	for _, bad := range []string{`{"a":01}`, `{"a":1.}`, `{"a":-}`, `{"a":1e}`, `{"a":tru}`, `{"a":"x` + "\n" + `"}`, `{"a":1e400}`, `{"a":[1,]}`, `{"a" 1}`, `{"a":nul}`, `{"a":+1}`, `{"a":.5}`} {
		if _, err := parseJSONObject([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzParseJSON(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":[1,{"b":"c"}]}`, `{"a":1,"a":2}`, `{"\u0061":1}`, `{"a":1e400}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := parseJSONObject(data)
		if err != nil || !utf8.Valid(data) {
			return
		}
		// Whatever the strict parser accepts, encoding/json must accept
		// with the same result.
		var want map[string]any
		if err := json.Unmarshal(data, &want); err != nil {
			t.Fatalf("strict parser accepted %q that encoding/json refuses: %v", data, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: got %#v want %#v", data, got, want)
		}
	})
}

// TestKIDOptionalPerAlgorithm: a missing kid is allowed only for the
// algorithms the policy names (a legacy HMAC secret), never for the others.
func TestKIDOptionalPerAlgorithm(t *testing.T) {
	testKeys()
	secret := []byte(strings.Repeat("s", 32))
	hk, _ := keyset.HMACKey("", secret, "HS256")
	hs, _ := keyset.NewStatic(hk)
	rs, _ := keyset.NewStatic(keyset.Key{ID: "", Algorithm: "RS256", Public: &rsaKey.PublicKey})
	now := time.Now()
	v, err := New(Options{Clock: func() time.Time { return now }, CacheSize: -1},
		Policy{Issuer: iss, Audiences: []string{"api"}, Algorithms: []string{"HS256", "RS256"},
			Keys: keyset.ByAlg{HMAC: hs, Asymmetric: rs}, KIDOptional: []string{"HS256"}})
	if err != nil {
		t.Fatal(err)
	}
	hsTok, _ := Sign("HS256", secret, nil, claimsAt(now))
	if _, err := v.Verify(context.Background(), hsTok); err != nil {
		t.Fatalf("HS256 without kid: %v", err)
	}
	rsTok, _ := Sign("RS256", rsaKey, nil, claimsAt(now))
	if _, err := v.Verify(context.Background(), rsTok); !errors.Is(err, authport.ErrInvalidCredential) {
		t.Fatalf("RS256 without kid: %v, want refused", err)
	}
}

// TestSingleAudienceAndIntegerTimes: a provider whose own SDK refuses an
// "aud" array and fractional times gets a verifier that refuses them too;
// without the settings both are accepted as RFC 7519 allows.
func TestSingleAudienceAndIntegerTimes(t *testing.T) {
	testKeys()
	src, _ := keyset.NewStatic(keyset.Key{ID: "rsa", Algorithm: "RS256", Public: &rsaKey.PublicKey})
	now := time.Now().Truncate(time.Second)
	mk := func(strict bool) *Verifier {
		v, err := New(Options{Clock: func() time.Time { return now }, CacheSize: -1},
			Policy{Issuer: iss, Audiences: []string{"api"}, Algorithms: []string{"RS256"}, Keys: src,
				SingleAudience: strict, IntegerTimes: strict})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	lax, strict := mk(false), mk(true)
	for _, tc := range []struct {
		name  string
		edit  func(c map[string]any)
		laxOK bool
	}{
		{"plain", func(c map[string]any) {}, true},
		{"aud array", func(c map[string]any) { c["aud"] = []string{"api"} }, true},
		{"aud array with others", func(c map[string]any) { c["aud"] = []string{"other", "api"} }, true},
		{"fractional exp", func(c map[string]any) { c["exp"] = float64(now.Add(time.Minute).Unix()) + 0.5 }, true},
		{"fractional iat", func(c map[string]any) { c["iat"] = float64(now.Unix()) - 0.25 }, true},
		{"fractional nbf", func(c map[string]any) { c["nbf"] = float64(now.Unix()) - 0.25 }, true},
		{"whole float exp", func(c map[string]any) { c["exp"] = float64(now.Add(time.Minute).Unix()) }, true},
	} {
		c := claimsAt(now)
		tc.edit(c)
		tok, _ := Sign("RS256", rsaKey, map[string]any{"kid": "rsa"}, c)
		_, lerr := lax.Verify(context.Background(), tok)
		if (lerr == nil) != tc.laxOK {
			t.Errorf("%s: lax verifier: %v", tc.name, lerr)
		}
		_, serr := strict.Verify(context.Background(), tok)
		wantStrictOK := tc.name == "plain" || tc.name == "whole float exp"
		if wantStrictOK && serr != nil {
			t.Errorf("%s: strict verifier refused: %v", tc.name, serr)
		}
		if !wantStrictOK && !errors.Is(serr, authport.ErrInvalidCredential) {
			t.Errorf("%s: strict verifier: %v, want ErrInvalidCredential", tc.name, serr)
		}
	}
}

// TestEd25519Names checks RFC 9864's "Ed25519" beside RFC 8037's "EdDSA":
// a key published under either name verifies tokens naming either, and
// the policy's allow-list alone decides which header names pass.
func TestEd25519Names(t *testing.T) {
	testKeys()
	now := time.Now()
	for _, keyAlg := range []string{"Ed25519", "EdDSA"} {
		for _, allowed := range [][]string{{"Ed25519"}, {"EdDSA"}, {"Ed25519", "EdDSA"}} {
			src, err := keyset.NewStatic(keyset.Key{ID: "ed", Algorithm: keyAlg, Public: edKey.Public()})
			if err != nil {
				t.Fatal(err)
			}
			v, err := New(Options{Provider: "test", Clock: func() time.Time { return now }, CacheSize: -1},
				Policy{Issuer: iss, Audiences: []string{"api"}, Algorithms: allowed, Keys: src})
			if err != nil {
				t.Fatal(err)
			}
			for _, tokAlg := range []string{"Ed25519", "EdDSA"} {
				t.Run(keyAlg+"/"+strings.Join(allowed, "+")+"/"+tokAlg, func(t *testing.T) {
					tok, err := Sign(tokAlg, edKey, map[string]any{"kid": "ed"}, claimsAt(now))
					if err != nil {
						t.Fatal(err)
					}
					_, err = v.Verify(context.Background(), tok)
					if want := slices.Contains(allowed, tokAlg); (err == nil) != want {
						t.Fatalf("verify: %v, want accepted=%v", err, want)
					}
				})
			}
		}
	}
	// The name does not make an Ed25519 token verify under another key.
	src, _ := keyset.NewStatic(keyset.Key{ID: "ed", Algorithm: "RS256", Public: &rsaKey.PublicKey})
	v, err := New(Options{Provider: "test", Clock: func() time.Time { return now }, CacheSize: -1},
		Policy{Issuer: iss, Audiences: []string{"api"}, Algorithms: []string{"Ed25519", "RS256"}, Keys: src})
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := Sign("Ed25519", edKey, map[string]any{"kid": "ed"}, claimsAt(now))
	if _, err := v.Verify(context.Background(), tok); err == nil {
		t.Fatal("an Ed25519 token verified under an RSA key")
	}
}
