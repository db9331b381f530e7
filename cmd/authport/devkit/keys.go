package devkit

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/authport/authport/diy"
)

// Variable names for the keys `authport keys` generates.
const (
	// CookieKeyEnv holds the cookie-sealing keys (authport.Config.CookieKeys):
	// comma-separated, each 32 bytes in base64url; the first seals.
	CookieKeyEnv = "AUTHPORT_COOKIE_KEY"
	// SigningKeyEnv holds the DIY backend's Ed25519 signing keys for JWT
	// mode (diy.Settings.SigningKeys): comma-separated 32-byte seeds in
	// base64url, the signing key first.
	SigningKeyEnv = "AUTHPORT_SIGNING_KEYS"
)

// CookieKeySize is the size of a cookie-sealing key (AES-256).
const CookieKeySize = 32

// NewCookieKey returns a fresh random 32-byte cookie-sealing key.
func NewCookieKey() []byte {
	k := make([]byte, CookieKeySize)
	rand.Read(k)
	return k
}

// EncodeKey encodes key bytes as unpadded base64url, the form the
// variables hold.
func EncodeKey(k []byte) string { return base64.RawURLEncoding.EncodeToString(k) }

// decodeB64 accepts base64url or standard base64, padded or not.
func decodeB64(s string) ([]byte, error) {
	s = strings.TrimRight(strings.TrimSpace(s), "=")
	if b, err := base64.RawURLEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawStdEncoding.DecodeString(s)
}

// ParseCookieKeys parses a comma-separated list of 32-byte keys in
// base64url (standard base64 is accepted too). Errors never quote a key.
func ParseCookieKeys(s string) ([][]byte, error) {
	var keys [][]byte
	for i, part := range strings.Split(s, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		k, err := decodeB64(part)
		if err != nil || len(k) != CookieKeySize {
			return nil, fmt.Errorf("%s: key %d is not 32 bytes of base64url (generate one with `authport keys`)", CookieKeyEnv, i+1)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%s is empty", CookieKeyEnv)
	}
	return keys, nil
}

// LoadOrCreateCookieKey reads the cookie key stored at path (base64url),
// or, if the file does not exist, generates one and writes it there with
// mode 0600. created reports whether it did.
func LoadOrCreateCookieKey(path string) (key []byte, created bool, err error) {
	b, err := os.ReadFile(path)
	if err == nil {
		keys, perr := ParseCookieKeys(string(b))
		if perr != nil {
			return nil, false, fmt.Errorf("%s: %w", path, perr)
		}
		return keys[0], false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, err
	}
	key = NewCookieKey()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) { // another process won the race
		return LoadOrCreateCookieKey(path)
	}
	if err != nil {
		return nil, false, err
	}
	if _, err := f.WriteString(EncodeKey(key) + "\n"); err != nil {
		f.Close()
		return nil, false, err
	}
	return key, true, f.Close()
}

// NewSigningKey returns a fresh DIY Ed25519 signing key (its ID is the RFC
// 7638 thumbprint, as diy defaults it).
func NewSigningKey() diy.SigningKey {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	return diy.SigningKey{ID: diy.Thumbprint(pub), PrivateKey: priv}
}

// EncodeSigningKey returns k's private key in the form SigningKeyEnv holds
// (what diy.Settings.SigningKeys parses): its 32-byte Ed25519 seed in
// base64url.
func EncodeSigningKey(k diy.SigningKey) string {
	return base64.RawURLEncoding.EncodeToString(k.PrivateKey.Seed())
}
