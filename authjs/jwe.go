package authjs

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"hash"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/authport/authport/internal/jwtcore"
)

// The content encryptions Auth.js decodes (it encrypts with the first).
const (
	encCBC = "A256CBC-HS512"
	encGCM = "A256GCM"
)

// b64 is strict unpadded base64url: no padding, no stray bits.
var b64 = base64.RawURLEncoding.Strict()

// deriveKey is Auth.js's getDerivedEncryptionKey: HKDF-SHA256 of the
// secret, salted with the cookie name, with the info string naming the
// salt; 64 bytes for A256CBC-HS512, 32 for A256GCM.
func deriveKey(secret, salt, enc string) ([]byte, error) {
	n := 64
	if enc == encGCM {
		n = 32
	}
	return hkdf.Key(sha256.New, []byte(secret), []byte(salt), "Auth.js Generated Encryption Key ("+salt+")", n)
}

// thumbprint is the key's "kid" as Auth.js computes it: the RFC 7638
// thumbprint of {"k":…,"kty":"oct"}, hashed with SHA-512 for the 64-byte
// key and SHA-256 for the 32-byte one.
func thumbprint(key []byte) string {
	j := `{"k":"` + base64.RawURLEncoding.EncodeToString(key) + `","kty":"oct"}`
	if len(key) == 64 {
		s := sha512.Sum512([]byte(j))
		return base64.RawURLEncoding.EncodeToString(s[:])
	}
	s := sha256.Sum256([]byte(j))
	return base64.RawURLEncoding.EncodeToString(s[:])
}

// key is one derived content-encryption key.
type key struct {
	salt, enc, kid string
	raw            []byte
	// For A256CBC-HS512: the MAC and encryption halves; for A256GCM the
	// AEAD.
	mac  sync.Pool // of keyed HMAC-SHA512 states
	cbc  cipher.Block
	aead cipher.AEAD
}

func newKey(secret, salt, enc string) (*key, error) {
	raw, err := deriveKey(secret, salt, enc)
	if err != nil {
		return nil, err
	}
	k := &key{salt: salt, enc: enc, kid: thumbprint(raw), raw: raw}
	if enc == encCBC {
		macKey := raw[:32]
		k.mac.New = func() any { return hmac.New(sha512.New, macKey) }
		if k.cbc, err = aes.NewCipher(raw[32:]); err != nil {
			return nil, err
		}
		return k, nil
	}
	b, err := aes.NewCipher(raw)
	if err != nil {
		return nil, err
	}
	if k.aead, err = cipher.NewGCM(b); err != nil {
		return nil, err
	}
	return k, nil
}

// jwe is a parsed compact JWE with direct encryption.
type jwe struct {
	protected           string // the first segment, the AAD
	enc, kid            string
	iv, ciphertext, tag []byte
}

var (
	errMalformed = errors.New("malformed JWE")
	errHeader    = errors.New("JWE header not allowed")
	errDecrypt   = errors.New("JWE does not decrypt")
)

// parseJWE splits and decodes token, refusing anything Auth.js would not
// produce: five segments of strict base64url, an empty encrypted key (alg
// "dir"), an enc of A256CBC-HS512 or A256GCM, no "zip" and no "crit".
func parseJWE(token string) (*jwe, error) {
	var seg [5]string
	rest := token
	for i := range 4 {
		j := strings.IndexByte(rest, '.')
		if j < 0 {
			return nil, errMalformed
		}
		seg[i], rest = rest[:j], rest[j+1:]
	}
	seg[4] = rest
	if strings.IndexByte(seg[4], '.') >= 0 || seg[0] == "" || seg[1] != "" || seg[2] == "" || seg[3] == "" || seg[4] == "" {
		return nil, errMalformed
	}
	out := &jwe{protected: seg[0]}
	hdr, err := parseHeader(seg[0])
	if err != nil {
		return nil, err
	}
	out.enc, out.kid = hdr.enc, hdr.kid
	// One buffer for the three binary segments; the plaintext is
	// decrypted in place over the ciphertext.
	buf := make([]byte, b64.DecodedLen(len(seg[2]))+b64.DecodedLen(len(seg[3]))+b64.DecodedLen(len(seg[4])))
	var n int
	for i, dst := range []*[]byte{&out.iv, &out.ciphertext, &out.tag} {
		m, err := b64.Decode(buf[n:], []byte(seg[2+i]))
		if err != nil {
			return nil, errMalformed
		}
		*dst = buf[n : n+m]
		n += m
	}
	return out, nil
}

// header is a checked protected header.
type header struct{ enc, kid string }

// headers remembers protected headers that passed parseHeader: every
// session of a deployment carries the same one (the kid changes only with
// the secret), so the hot path skips decoding and parsing it. Bounded:
// once full, new headers are parsed every time.
var (
	headersMu sync.RWMutex
	headers   = map[string]header{}
)

const maxHeaders = 64

func parseHeader(seg string) (header, error) {
	headersMu.RLock()
	h, ok := headers[seg]
	headersMu.RUnlock()
	if ok {
		return h, nil
	}
	h, err := parseHeaderSlow(seg)
	if err != nil {
		return h, err
	}
	headersMu.Lock()
	if len(headers) < maxHeaders {
		headers[seg] = h
	}
	headersMu.Unlock()
	return h, nil
}

func parseHeaderSlow(seg string) (header, error) {
	var out header
	if len(seg) > 1024 {
		return out, errMalformed
	}
	hb, err := b64.DecodeString(seg)
	if err != nil || !utf8.Valid(hb) {
		return out, errMalformed
	}
	h, err := jwtcore.ParseObject(hb)
	if err != nil {
		return out, errMalformed
	}
	for name, v := range h {
		switch name {
		case "alg":
			if v != "dir" {
				return out, errHeader
			}
		case "enc":
			s, _ := v.(string)
			if s != encCBC && s != encGCM {
				return out, errHeader
			}
			out.enc = s
		case "kid":
			s, ok := v.(string)
			if !ok {
				return out, errHeader
			}
			out.kid = s
		case "zip", "crit", "jku", "jwk", "x5u", "x5c", "epk", "p2s", "p2c":
			// No compression (a decompression bomb), no extensions the
			// library does not know, no keys named by the token itself.
			return out, errHeader
		}
	}
	if _, ok := h["alg"]; !ok || out.enc == "" {
		return out, errHeader
	}
	return out, nil
}

// decrypt authenticates and decrypts j with k (RFC 7518 5.2 and 5.3).
func (j *jwe) decrypt(k *key) ([]byte, error) {
	if k.enc != j.enc {
		return nil, errDecrypt
	}
	if k.enc == encGCM {
		if len(j.iv) != 12 || len(j.tag) != 16 {
			return nil, errDecrypt
		}
		// The tag directly follows the ciphertext in the shared buffer.
		ct := j.ciphertext[:len(j.ciphertext)+len(j.tag)]
		pt, err := k.aead.Open(ct[:0], j.iv, ct, []byte(j.protected))
		if err != nil {
			return nil, errDecrypt
		}
		return pt, nil
	}
	if len(j.iv) != aes.BlockSize || len(j.tag) != 32 || len(j.ciphertext) == 0 || len(j.ciphertext)%aes.BlockSize != 0 {
		return nil, errDecrypt
	}
	m := k.mac.Get().(hash.Hash)
	defer k.mac.Put(m)
	m.Reset()
	m.Write([]byte(j.protected))
	m.Write(j.iv)
	m.Write(j.ciphertext)
	var al [8]byte
	binary.BigEndian.PutUint64(al[:], uint64(len(j.protected))*8)
	m.Write(al[:])
	var sum [64]byte
	if subtle.ConstantTimeCompare(m.Sum(sum[:0])[:32], j.tag) != 1 {
		return nil, errDecrypt
	}
	pt := j.ciphertext
	cipher.NewCBCDecrypter(k.cbc, j.iv).CryptBlocks(pt, pt)
	// PKCS#7 padding; the tag already proved the bytes are the sender's.
	p := int(pt[len(pt)-1])
	if p == 0 || p > aes.BlockSize {
		return nil, errDecrypt
	}
	for _, c := range pt[len(pt)-p:] {
		if int(c) != p {
			return nil, errDecrypt
		}
	}
	return pt[:len(pt)-p], nil
}
