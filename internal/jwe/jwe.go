// Package jwe decrypts the compact JWEs JavaScript auth libraries put in
// cookies: "dir" key management with A256CBC-HS512 (RFC 7518 §5.2.5) or
// A256GCM content encryption under a key derived from the application's
// secret. It parses strictly and never returns plaintext whose integrity
// check failed.
package jwe

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"strings"
)

// Header is a JWE's protected header.
type Header struct {
	Alg  string   `json:"alg"`
	Enc  string   `json:"enc"`
	Kid  string   `json:"kid"`
	Zip  string   `json:"zip"`
	Crit []string `json:"crit"`
}

// ErrInvalid is returned for every malformed or unauthentic JWE; the caller
// maps it to its own error kind.
var ErrInvalid = errors.New("jwe: invalid token")

var b64 = base64.RawURLEncoding.Strict()

// Parsed is a structurally valid compact JWE, not yet decrypted.
type Parsed struct {
	Header              Header
	protected           string
	iv, ciphertext, tag []byte
}

// Parse splits and decodes a compact JWE with alg "dir" and an empty
// encrypted key, refusing compression and critical extensions.
func Parse(token string, maxLen int) (*Parsed, error) {
	if len(token) > maxLen {
		return nil, ErrInvalid
	}
	parts := strings.Split(token, ".")
	if len(parts) != 5 || parts[1] != "" {
		return nil, ErrInvalid
	}
	hb, err := b64.DecodeString(parts[0])
	if err != nil {
		return nil, ErrInvalid
	}
	p := &Parsed{protected: parts[0]}
	if err := json.Unmarshal(hb, &p.Header); err != nil || p.Header.Alg != "dir" || p.Header.Zip != "" || len(p.Header.Crit) > 0 {
		return nil, ErrInvalid
	}
	if p.iv, err = b64.DecodeString(parts[2]); err != nil {
		return nil, ErrInvalid
	}
	if p.ciphertext, err = b64.DecodeString(parts[3]); err != nil {
		return nil, ErrInvalid
	}
	if p.tag, err = b64.DecodeString(parts[4]); err != nil {
		return nil, ErrInvalid
	}
	return p, nil
}

// Decrypt decrypts p with the content-encryption key: 64 bytes for
// A256CBC-HS512, 32 for A256GCM (the only encryptions accepted).
func (p *Parsed) Decrypt(key []byte) ([]byte, error) {
	aad := []byte(p.protected)
	switch p.Header.Enc {
	case "A256CBC-HS512":
		if len(key) != 64 || len(p.iv) != 16 || len(p.tag) != 32 || len(p.ciphertext) == 0 || len(p.ciphertext)%aes.BlockSize != 0 {
			return nil, ErrInvalid
		}
		macKey, encKey := key[:32], key[32:]
		m := hmac.New(sha512.New, macKey)
		m.Write(aad)
		m.Write(p.iv)
		m.Write(p.ciphertext)
		var al [8]byte
		binary.BigEndian.PutUint64(al[:], uint64(len(aad))*8)
		m.Write(al[:])
		if subtle.ConstantTimeCompare(m.Sum(nil)[:32], p.tag) != 1 {
			return nil, ErrInvalid
		}
		block, err := aes.NewCipher(encKey)
		if err != nil {
			return nil, ErrInvalid
		}
		out := make([]byte, len(p.ciphertext))
		cipher.NewCBCDecrypter(block, p.iv).CryptBlocks(out, p.ciphertext)
		n := int(out[len(out)-1])
		if n == 0 || n > aes.BlockSize {
			return nil, ErrInvalid
		}
		for _, b := range out[len(out)-n:] {
			if int(b) != n {
				return nil, ErrInvalid
			}
		}
		return out[:len(out)-n], nil
	case "A256GCM":
		if len(key) != 32 || len(p.iv) != 12 || len(p.tag) != 16 {
			return nil, ErrInvalid
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, ErrInvalid
		}
		g, err := cipher.NewGCM(block)
		if err != nil {
			return nil, ErrInvalid
		}
		out, err := g.Open(nil, p.iv, append(append([]byte{}, p.ciphertext...), p.tag...), aad)
		if err != nil {
			return nil, ErrInvalid
		}
		return out, nil
	}
	return nil, ErrInvalid
}
