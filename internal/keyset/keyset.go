// Package keyset holds the verification keys every adapter uses: a remote key
// set cache shared by all adapters (JWKS or an X.509 certificate map), static
// keys (PEM, HMAC secrets), and a router that keeps HMAC and asymmetric keys
// apart.
//
// The cache takes the best of common JWKS caches: one fetch for many concurrent misses
// (single flight), refresh on an unknown kid at most once per
// MinRefreshInterval, the last good set kept while the endpoint fails (up to
// MaxStale), the set replaced rather than merged on refresh, a 1 MiB body cap,
// a 10 s timeout, redirects to another host refused, and unusable keys skipped
// without dropping the rest of the set.
package keyset

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"fmt"
	"strings"

	"github.com/authport/authport"
)

// Key is one verification key, pinned to exactly one algorithm.
type Key struct {
	// ID is the key id ("kid"); empty for a sole static key.
	ID string
	// Algorithm is the one JWS algorithm this key verifies. An Ed25519
	// key's is "Ed25519" (RFC 9864's fully specified name) or the older
	// polymorphic "EdDSA"; see Accepts.
	Algorithm string
	// Public is *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey, or
	// []byte for an HMAC secret.
	Public any
}

// Source finds the key for a token header.
type Source interface {
	// Lookup returns the key for kid that verifies alg. It returns an
	// error of kind authport.ErrInvalidCredential when no such key exists
	// and authport.ErrProviderUnavailable when keys cannot be had.
	Lookup(ctx context.Context, kid, alg string) (Key, error)
}

// minRSABits is the smallest RSA modulus accepted (J40).
const minRSABits = 2048

// Accepts reports whether k verifies tokens whose header names alg: alg
// must be k's algorithm, except that an Ed25519 key answers to both of
// that signature's names, "Ed25519" (RFC 9864) and "EdDSA" (RFC 8037),
// since both denote the same computation over the same key (issuers such
// as oidc-provider 9 publish alg "Ed25519" keys, older ones "EdDSA").
func (k Key) Accepts(alg string) bool {
	if k.Algorithm == alg {
		return true
	}
	if _, ok := k.Public.(ed25519.PublicKey); ok {
		return IsEd25519(alg) && IsEd25519(k.Algorithm)
	}
	return false
}

// IsEd25519 reports whether alg names the Ed25519 signature: "Ed25519"
// (RFC 9864) or "EdDSA" (RFC 8037, used with an Ed25519 key).
func IsEd25519(alg string) bool { return alg == "Ed25519" || alg == "EdDSA" }

func unknownKey() error {
	return &authport.Error{Kind: authport.ErrInvalidCredential, Op: "verify", Reason: "no trusted key for this token"}
}

// CheckKey validates that k's material fits its algorithm and the key
// policy: RSA at least 2048 bits with an odd exponent > 1, EC on the curve the
// algorithm names, Ed25519 32 bytes, HMAC at least as long as the hash.
func CheckKey(k Key) error {
	switch pub := k.Public.(type) {
	case *rsa.PublicKey:
		if !strings.HasPrefix(k.Algorithm, "RS") && !strings.HasPrefix(k.Algorithm, "PS") {
			return fmt.Errorf("keyset: RSA key with algorithm %q", k.Algorithm)
		}
		if pub.N == nil || pub.N.BitLen() < minRSABits {
			return errors.New("keyset: RSA key shorter than 2048 bits")
		}
		if pub.E < 3 || pub.E%2 == 0 {
			return errors.New("keyset: RSA exponent not acceptable")
		}
	case *ecdsa.PublicKey:
		want := map[string]string{"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}[k.Algorithm]
		if want == "" || pub.Curve == nil || pub.Curve.Params().Name != want {
			return fmt.Errorf("keyset: EC key does not match algorithm %q", k.Algorithm)
		}
	case ed25519.PublicKey:
		if !IsEd25519(k.Algorithm) {
			return fmt.Errorf("keyset: Ed25519 key with algorithm %q", k.Algorithm)
		}
		if len(pub) != ed25519.PublicKeySize {
			return errors.New("keyset: Ed25519 key of wrong size")
		}
	case []byte:
		min := map[string]int{"HS256": 32, "HS384": 48, "HS512": 64}[k.Algorithm]
		if min == 0 {
			return fmt.Errorf("keyset: secret with algorithm %q", k.Algorithm)
		}
		if len(pub) < min {
			return fmt.Errorf("keyset: %s secret shorter than %d bytes", k.Algorithm, min)
		}
	default:
		return fmt.Errorf("keyset: unsupported key type %T", k.Public)
	}
	return nil
}

// Static is a fixed set of keys (a PEM public key, an HMAC secret).
type Static struct {
	keys map[string]Key
	sole *Key
}

// NewStatic returns a Source over keys. Every key must pass CheckKey and
// have a distinct ID. A set with exactly one key also serves tokens that
// carry no kid (when the verifier's policy allows a missing kid).
func NewStatic(keys ...Key) (*Static, error) {
	s := &Static{keys: make(map[string]Key, len(keys))}
	for _, k := range keys {
		if err := CheckKey(k); err != nil {
			return nil, err
		}
		if _, dup := s.keys[k.ID]; dup {
			return nil, fmt.Errorf("keyset: duplicate key id %q", k.ID)
		}
		s.keys[k.ID] = k
	}
	if len(keys) == 1 {
		k := keys[0]
		s.sole = &k
	}
	return s, nil
}

// Lookup implements Source.
func (s *Static) Lookup(_ context.Context, kid, alg string) (Key, error) {
	if k, ok := s.keys[kid]; ok && k.Accepts(alg) {
		return k, nil
	}
	if kid == "" && s.sole != nil && s.sole.Accepts(alg) {
		return *s.sole, nil
	}
	return Key{}, unknownKey()
}

// Keys returns the set's keys.
func (s *Static) Keys() []Key {
	out := make([]Key, 0, len(s.keys))
	for _, k := range s.keys {
		out = append(out, k)
	}
	return out
}

// ByAlg routes a lookup by algorithm family so that an HMAC token is checked
// only against the secret and an asymmetric token only against the key set
// (Supabase during a migration from its legacy JWT secret). Either may be nil.
type ByAlg struct {
	HMAC       Source
	Asymmetric Source
}

// Lookup implements Source.
func (b ByAlg) Lookup(ctx context.Context, kid, alg string) (Key, error) {
	src := b.Asymmetric
	if strings.HasPrefix(alg, "HS") {
		src = b.HMAC
	}
	if src == nil {
		return Key{}, unknownKey()
	}
	return src.Lookup(ctx, kid, alg)
}

// Multi tries each source in turn and returns the first key found; an
// unavailable source is an error only if no source has the key.
type Multi []Source

// Lookup implements Source.
func (m Multi) Lookup(ctx context.Context, kid, alg string) (Key, error) {
	var firstErr error
	for _, s := range m {
		k, err := s.Lookup(ctx, kid, alg)
		if err == nil {
			return k, nil
		}
		if firstErr == nil || errors.Is(err, authport.ErrProviderUnavailable) {
			firstErr = err
		}
	}
	if firstErr == nil {
		firstErr = unknownKey()
	}
	return Key{}, firstErr
}
