package keyset

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"slices"

	"github.com/authport/authport/internal/b64url"
)

// Format says how a remote key document is encoded.
type Format uint8

const (
	// FormatJWKS is a JSON Web Key Set (RFC 7517): {"keys":[...]}.
	FormatJWKS Format = iota
	// FormatX509Map is Google's certificate map used by Firebase:
	// {"<kid>":"-----BEGIN CERTIFICATE-----..."}; every key is RS256.
	FormatX509Map
)

// ErrNoUsableKey is the error (errors.Is) of Parse, ParseJWKS and
// ParseX509Map for a well-formed document that holds no usable key: an
// empty key set ({"keys":[]}, which a Supabase project without asymmetric
// keys publishes) or one whose every key was skipped. A malformed document
// is another error.
var ErrNoUsableKey = errors.New("keyset: no usable key")

// noUsableKey is an ErrNoUsableKey naming the kind of document.
type noUsableKey string

func (e noUsableKey) Error() string        { return "keyset: " + string(e) + " holds no usable key" }
func (e noUsableKey) Is(target error) bool { return target == ErrNoUsableKey }

// Parse decodes a key document in format f. Unusable keys are skipped and
// reported in skipped; err is set only when the document itself is malformed
// or holds no usable key (ErrNoUsableKey).
func Parse(f Format, data []byte) (keys []Key, skipped []error, err error) {
	switch f {
	case FormatJWKS:
		return ParseJWKS(data)
	case FormatX509Map:
		return ParseX509Map(data)
	}
	return nil, nil, fmt.Errorf("keyset: unknown format %d", f)
}

// JWK is the subset of RFC 7517 fields the parser reads.
type JWK struct {
	Kty    string   `json:"kty"`
	Kid    string   `json:"kid"`
	Alg    string   `json:"alg"`
	Use    string   `json:"use"`
	KeyOps []string `json:"key_ops"`
	Crv    string   `json:"crv"`
	N      string   `json:"n"`
	E      string   `json:"e"`
	X      string   `json:"x"`
	Y      string   `json:"y"`
	D      string   `json:"d"`
	K      string   `json:"k"`
	X5c    []string `json:"x5c"`
}

// ParseJWKS decodes a JSON Web Key Set. Keys are skipped (and listed in
// skipped) when they are symmetric or private, marked for encryption, of an
// unsupported type, too weak, off their curve, inconsistent with their alg, or
// when two keys share a kid (both are dropped: a verifier must not guess).
// A set left with no key is ErrNoUsableKey.
func ParseJWKS(data []byte) (keys []Key, skipped []error, err error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, nil, errors.New("keyset: key set is not a JSON object with a keys array")
	}
	if doc.Keys == nil {
		return nil, nil, errors.New("keyset: key set has no keys array")
	}
	seen := map[string]int{}
	for _, raw := range doc.Keys {
		var j JWK
		if err := json.Unmarshal(raw, &j); err != nil {
			skipped = append(skipped, errors.New("keyset: key is not a JSON object"))
			continue
		}
		k, err := j.Key()
		if err != nil {
			skipped = append(skipped, err)
			continue
		}
		seen[k.ID]++
		keys = append(keys, k)
	}
	keys = slices.DeleteFunc(keys, func(k Key) bool {
		if seen[k.ID] > 1 {
			skipped = append(skipped, fmt.Errorf("keyset: duplicate kid %q dropped", k.ID))
			return true
		}
		return false
	})
	if len(keys) == 0 {
		return nil, skipped, noUsableKey("key set")
	}
	return keys, skipped, nil
}

// Key converts a JWK into a Key after the usage and strength checks.
func (j JWK) Key() (Key, error) {
	if j.D != "" || j.K != "" || j.Kty == "oct" {
		return Key{}, fmt.Errorf("keyset: kid %q: private or symmetric key in a public key set", j.Kid)
	}
	if j.Use != "" && j.Use != "sig" {
		return Key{}, fmt.Errorf("keyset: kid %q: use %q", j.Kid, j.Use)
	}
	if j.KeyOps != nil && !slices.Contains(j.KeyOps, "verify") {
		return Key{}, fmt.Errorf("keyset: kid %q: key_ops without verify", j.Kid)
	}
	var k Key
	k.ID = j.Kid
	switch j.Kty {
	case "RSA":
		n, err1 := b64url.DecodeString(j.N)
		e, err2 := b64url.DecodeString(j.E)
		if err1 != nil || err2 != nil || len(n) == 0 || len(e) == 0 || len(e) > 4 {
			return Key{}, fmt.Errorf("keyset: kid %q: malformed RSA key", j.Kid)
		}
		k.Public = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		k.Algorithm = j.Alg
		if k.Algorithm == "" {
			k.Algorithm = "RS256"
		}
	case "EC":
		var curve elliptic.Curve
		var alg string
		switch j.Crv {
		case "P-256":
			curve, alg = elliptic.P256(), "ES256"
		case "P-384":
			curve, alg = elliptic.P384(), "ES384"
		case "P-521":
			curve, alg = elliptic.P521(), "ES512"
		default:
			return Key{}, fmt.Errorf("keyset: kid %q: unsupported curve %q", j.Kid, j.Crv)
		}
		size := (curve.Params().BitSize + 7) / 8
		x, err1 := b64url.DecodeString(j.X)
		y, err2 := b64url.DecodeString(j.Y)
		if err1 != nil || err2 != nil || len(x) != size || len(y) != size {
			return Key{}, fmt.Errorf("keyset: kid %q: malformed EC key", j.Kid)
		}
		pt := append(append([]byte{4}, x...), y...)
		pub, err := ecdsa.ParseUncompressedPublicKey(curve, pt)
		if err != nil {
			return Key{}, fmt.Errorf("keyset: kid %q: EC point not on %s", j.Kid, j.Crv)
		}
		if j.Alg != "" && j.Alg != alg {
			return Key{}, fmt.Errorf("keyset: kid %q: alg %q does not fit curve %s", j.Kid, j.Alg, j.Crv)
		}
		k.Public, k.Algorithm = pub, alg
	case "OKP":
		if j.Crv != "Ed25519" {
			return Key{}, fmt.Errorf("keyset: kid %q: unsupported OKP curve %q", j.Kid, j.Crv)
		}
		x, err := b64url.DecodeString(j.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			return Key{}, fmt.Errorf("keyset: kid %q: malformed Ed25519 key", j.Kid)
		}
		// "Ed25519" is RFC 9864's name, "EdDSA" RFC 8037's; the key
		// keeps the name its JWK gives (default EdDSA) and answers to
		// both (Key.Accepts).
		alg := "EdDSA"
		switch j.Alg {
		case "", "EdDSA":
		case "Ed25519":
			alg = "Ed25519"
		default:
			return Key{}, fmt.Errorf("keyset: kid %q: alg %q does not fit Ed25519", j.Kid, j.Alg)
		}
		k.Public, k.Algorithm = ed25519.PublicKey(x), alg
	default:
		return Key{}, fmt.Errorf("keyset: kid %q: unsupported key type %q", j.Kid, j.Kty)
	}
	if err := CheckKey(k); err != nil {
		return Key{}, fmt.Errorf("kid %q: %w", j.Kid, err)
	}
	return k, nil
}

// ParseX509Map decodes Google's kid → PEM certificate map. Every key is
// pinned to RS256. A map with no usable certificate is ErrNoUsableKey.
func ParseX509Map(data []byte) (keys []Key, skipped []error, err error) {
	var m map[string]string
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, nil, errors.New("keyset: certificate map is not a JSON object of strings")
	}
	for kid, p := range m {
		pub, err := ParsePublicKeyPEM([]byte(p))
		if err != nil {
			skipped = append(skipped, fmt.Errorf("keyset: kid %q: %w", kid, err))
			continue
		}
		k := Key{ID: kid, Algorithm: "RS256", Public: pub}
		if err := CheckKey(k); err != nil {
			skipped = append(skipped, fmt.Errorf("kid %q: %w", kid, err))
			continue
		}
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b Key) int {
		if a.ID < b.ID {
			return -1
		}
		return 1
	})
	if len(keys) == 0 {
		return nil, skipped, noUsableKey("certificate map")
	}
	return keys, skipped, nil
}

// ParsePublicKeyPEM reads a PEM "PUBLIC KEY" (PKIX), "RSA PUBLIC KEY"
// (PKCS #1) or "CERTIFICATE" block and returns its public key.
func ParsePublicKeyPEM(data []byte) (any, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	switch block.Type {
	case "PUBLIC KEY":
		return x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		return x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		return c.PublicKey, nil
	}
	return nil, fmt.Errorf("unsupported PEM block %q", block.Type)
}

// AlgorithmFor returns the default algorithm for a public key: RS256 for
// RSA, ES256/384/512 by curve, EdDSA for Ed25519.
func AlgorithmFor(pub any) (string, error) {
	switch p := pub.(type) {
	case *rsa.PublicKey:
		return "RS256", nil
	case *ecdsa.PublicKey:
		switch p.Curve {
		case elliptic.P256():
			return "ES256", nil
		case elliptic.P384():
			return "ES384", nil
		case elliptic.P521():
			return "ES512", nil
		}
	case ed25519.PublicKey:
		return "EdDSA", nil
	}
	return "", fmt.Errorf("keyset: unsupported public key %T", pub)
}

// HMACKey returns a Key for an HMAC secret, refusing secrets shorter than
// the hash output (J26).
func HMACKey(id string, secret []byte, alg string) (Key, error) {
	k := Key{ID: id, Algorithm: alg, Public: secret}
	return k, CheckKey(k)
}
