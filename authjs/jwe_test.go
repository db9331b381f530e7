package authjs

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/authport/authport"
)

// seal encrypts claims as Auth.js's encode does (or with a crafted
// header), for the tests that need tokens the library would never mint.
func seal(t testing.TB, secret, salt string, header map[string]any, payload []byte) string {
	t.Helper()
	enc, _ := header["enc"].(string)
	if enc != encGCM {
		enc = encCBC
	}
	k, err := newKey(secret, salt, enc)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := header["kid"]; !ok {
		header["kid"] = k.kid
	}
	if header["kid"] == nil {
		delete(header, "kid")
	}
	hj, _ := json.Marshal(header)
	h := base64.RawURLEncoding.EncodeToString(hj)
	e := base64.RawURLEncoding.EncodeToString
	if enc == encGCM {
		iv := make([]byte, 12)
		_, _ = rand.Read(iv)
		ct := k.aead.Seal(nil, iv, payload, []byte(h))
		return h + ".." + e(iv) + "." + e(ct[:len(ct)-16]) + "." + e(ct[len(ct)-16:])
	}
	iv := make([]byte, 16)
	_, _ = rand.Read(iv)
	p := 16 - len(payload)%16
	pt := append(append([]byte(nil), payload...), []byte(strings.Repeat(string(rune(p)), p))...)
	ct := make([]byte, len(pt))
	b, _ := aes.NewCipher(k.raw[32:])
	cipher.NewCBCEncrypter(b, iv).CryptBlocks(ct, pt)
	m := hmac.New(sha512.New, k.raw[:32])
	m.Write([]byte(h))
	m.Write(iv)
	m.Write(ct)
	var al [8]byte
	binary.BigEndian.PutUint64(al[:], uint64(len(h))*8)
	m.Write(al[:])
	return h + ".." + e(iv) + "." + e(ct) + "." + e(m.Sum(nil)[:32])
}

func claimsJSON(exp time.Time, extra string) []byte {
	return []byte(`{"sub":"u1","email":"u@example.com","iat":` + itoa(exp.Add(-time.Hour).Unix()) + `,"exp":` + itoa(exp.Unix()) + extra + `}`)
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestVerifyCrafted(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	const secret, old = "s3cret-s3cret-s3cret", "old-secret-old-secret"
	a, err := New(t.Context(), Config{Secrets: []string{secret, old}, Clock: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	hdr := func(kv ...any) map[string]any {
		h := map[string]any{"alg": "dir", "enc": encCBC}
		for i := 0; i < len(kv); i += 2 {
			h[kv[i].(string)] = kv[i+1]
		}
		return h
	}
	valid := claimsJSON(now.Add(time.Hour), "")
	name := DefaultCookieName
	tests := []struct {
		name string
		tok  string
		want *authport.Kind // nil: accepted
	}{
		{"valid", seal(t, secret, name, hdr(), valid), nil},
		{"A256GCM", seal(t, secret, name, hdr("enc", encGCM), valid), nil},
		{"old secret by kid", seal(t, old, name, hdr(), valid), nil},
		{"no kid: first secret", seal(t, secret, name, hdr("kid", nil), valid), nil},
		{"no kid: old secret refused", seal(t, old, name, hdr("kid", nil), valid), authport.ErrInvalidCredential},
		{"foreign secret", seal(t, "foreign-foreign-foreign", name, hdr(), valid), authport.ErrInvalidCredential},
		{"secure salt under plain cookie", seal(t, secret, SecurePrefix+name, hdr(), valid), authport.ErrInvalidCredential},
		{"zip", seal(t, secret, name, hdr("zip", "DEF"), valid), authport.ErrInvalidCredential},
		{"crit", seal(t, secret, name, hdr("crit", []any{"exp"}), valid), authport.ErrInvalidCredential},
		{"alg A256KW", seal(t, secret, name, hdr("alg", "A256KW"), valid), authport.ErrInvalidCredential},
		{"alg none", seal(t, secret, name, hdr("alg", "none"), valid), authport.ErrInvalidCredential},
		{"no alg", seal(t, secret, name, map[string]any{"enc": encCBC}, valid), authport.ErrInvalidCredential},
		{"enc A128CBC-HS256", seal(t, secret, name, hdr("enc", "A128CBC-HS256"), valid), authport.ErrInvalidCredential},
		{"kid not a string", seal(t, secret, name, hdr("kid", 5), valid), authport.ErrInvalidCredential},
		{"jwk in header", seal(t, secret, name, hdr("jwk", map[string]any{"kty": "oct"}), valid), authport.ErrInvalidCredential},
		{"expired", seal(t, secret, name, hdr(), claimsJSON(now.Add(-16*time.Second), "")), authport.ErrExpired},
		{"expired within leeway", seal(t, secret, name, hdr(), claimsJSON(now.Add(-14*time.Second), "")), nil},
		{"nbf future", seal(t, secret, name, hdr(), claimsJSON(now.Add(time.Hour), `,"nbf":`+itoa(now.Add(time.Minute).Unix()))), authport.ErrInvalidCredential},
		{"no exp", seal(t, secret, name, hdr(), []byte(`{"sub":"u1"}`)), authport.ErrInvalidCredential},
		{"exp string", seal(t, secret, name, hdr(), []byte(`{"sub":"u1","exp":"99999999999"}`)), authport.ErrInvalidCredential},
		{"no sub", seal(t, secret, name, hdr(), []byte(`{"exp":`+itoa(now.Add(time.Hour).Unix())+`}`)), authport.ErrInvalidCredential},
		{"sub number", seal(t, secret, name, hdr(), []byte(`{"sub":1,"exp":`+itoa(now.Add(time.Hour).Unix())+`}`)), authport.ErrInvalidCredential},
		{"duplicate sub", seal(t, secret, name, hdr(), []byte(`{"sub":"u1","sub":"admin","exp":`+itoa(now.Add(time.Hour).Unix())+`}`)), authport.ErrInvalidCredential},
		{"payload not object", seal(t, secret, name, hdr(), []byte(`["x"]`)), authport.ErrInvalidCredential},
		{"payload not UTF-8", seal(t, secret, name, hdr(), []byte("{\"sub\":\"\xff\"}")), authport.ErrInvalidCredential},
		{"four segments", "a.b.c.d", authport.ErrInvalidCredential},
		{"six segments", "a..b.c.d.e", authport.ErrInvalidCredential},
		{"oversized", strings.Repeat("a", MaxTokenSize+1), authport.ErrInvalidCredential},
		{"empty", "", authport.ErrNoCredential},
	}
	good := tests[0].tok
	p := strings.Split(good, ".")
	tests = append(tests,
		struct {
			name string
			tok  string
			want *authport.Kind
		}{"encrypted key present", p[0] + ".AAAA." + p[2] + "." + p[3] + "." + p[4], authport.ErrInvalidCredential},
		struct {
			name string
			tok  string
			want *authport.Kind
		}{"padded base64", p[0] + ".." + p[2] + "=." + p[3] + "." + p[4], authport.ErrInvalidCredential},
		struct {
			name string
			tok  string
			want *authport.Kind
		}{"std base64 alphabet", strings.NewReplacer("-", "+", "_", "/").Replace(good), authport.ErrInvalidCredential},
		struct {
			name string
			tok  string
			want *authport.Kind
		}{"short tag", p[0] + ".." + p[2] + "." + p[3] + "." + p[4][:20], authport.ErrInvalidCredential},
	)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := a.Verify(t.Context(), authport.Credential{Token: tt.tok, Source: authport.SourceCookie, Cookie: DefaultCookieName})
			if tt.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if s.UserID != "u1" || s.Email != "u@example.com" {
					t.Fatalf("session %+v", s)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v (kind %v), want %v", err, authport.KindOf(err), tt.want)
			}
		})
	}
}

func TestThumbprintMatchesRFC7638(t *testing.T) {
	// kid for a 64-byte key is 86 characters (SHA-512), for a 32-byte
	// key 43 (SHA-256), as Auth.js computes them.
	k64, _ := newKey("x", "authjs.session-token", encCBC)
	k32, _ := newKey("x", "authjs.session-token", encGCM)
	if len(k64.kid) != 86 || len(k32.kid) != 43 {
		t.Fatalf("kid lengths %d, %d", len(k64.kid), len(k32.kid))
	}
}

// FuzzVerify checks that no input panics or verifies without the key.
func FuzzVerify(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	f.Add(seal(f, "k", DefaultCookieName, map[string]any{"alg": "dir", "enc": encCBC}, claimsJSON(now.Add(time.Hour), "")))
	f.Add(seal(f, "k", DefaultCookieName, map[string]any{"alg": "dir", "enc": encGCM}, claimsJSON(now.Add(time.Hour), "")))
	f.Add("eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..AAAA.AAAA.AAAA")
	a, err := New(f.Context(), Config{Secrets: []string{"other"}, Clock: func() time.Time { return now }})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		for _, src := range []authport.Credential{{Token: tok, Source: authport.SourceHeader}, {Token: tok, Source: authport.SourceCookie, Cookie: DefaultCookieName}} {
			if s, err := a.Verify(t.Context(), src); err == nil {
				t.Fatalf("verified without the key: %+v", s)
			}
		}
	})
}
