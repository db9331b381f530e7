package authjs

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/authport/authport"
)

// benchToken is a JWT-strategy session as Auth.js mints it after a
// Credentials sign-in: name, email, picture, sub, a role, iat, exp, jti.
func benchToken(b *testing.B) (string, *Authenticator) {
	now := time.Now()
	payload := []byte(`{"name":"Ada Lovelace","email":"ada@example.com","picture":"https://example.com/ada.png","sub":"42","role":"admin","iat":` +
		itoa(now.Unix()) + `,"exp":` + itoa(now.Add(30*24*time.Hour).Unix()) + `,"jti":"9b2d3c8e-4f1a-4b6e-9d7c-2a1e5f3b8c4d"}`)
	const secret = "bench-secret-bench-secret-bench-secret"
	tok := seal(b, secret, DefaultCookieName, map[string]any{"alg": "dir", "enc": encCBC}, payload)
	a, err := New(b.Context(), Config{Secrets: []string{secret}})
	if err != nil {
		b.Fatal(err)
	}
	return tok, a
}

// BenchmarkVerifyCookie is the adapter's whole Verify of a session cookie.
func BenchmarkVerifyCookie(b *testing.B) {
	tok, a := benchToken(b)
	c := authport.Credential{Token: tok, Source: authport.SourceCookie, Cookie: DefaultCookieName}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Verify(b.Context(), c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBareDecrypt is the floor: base64url-decode the same token's
// segments, check the HMAC-SHA512 tag and AES-256-CBC-decrypt, with the
// key already derived, and nothing else (no header or claims parsing).
func BenchmarkBareDecrypt(b *testing.B) {
	tok, a := benchToken(b)
	var k *key
	for _, kk := range a.keys {
		if kk.salt == DefaultCookieName && kk.enc == encCBC {
			k = kk
		}
	}
	macKey := k.raw[:32]
	block, _ := aes.NewCipher(k.raw[32:])
	b.ReportAllocs()
	for b.Loop() {
		p := strings.Split(tok, ".")
		dec := base64.RawURLEncoding
		iv, _ := dec.DecodeString(p[2])
		ct, _ := dec.DecodeString(p[3])
		tag, _ := dec.DecodeString(p[4])
		m := hmac.New(sha512.New, macKey)
		m.Write([]byte(p[0]))
		m.Write(iv)
		m.Write(ct)
		var al [8]byte
		binary.BigEndian.PutUint64(al[:], uint64(len(p[0]))*8)
		m.Write(al[:])
		if subtle.ConstantTimeCompare(m.Sum(nil)[:32], tag) != 1 {
			b.Fatal("tag")
		}
		pt := make([]byte, len(ct))
		cipher.NewCBCDecrypter(block, iv).CryptBlocks(pt, ct)
	}
}
