package emulator

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// SigningKey is one key pair of a KeyRing (or a foreign key made to forge
// tokens). Its fields must not be modified.
type SigningKey struct {
	// ID is the key id ("kid").
	ID string
	// Algorithm is the one JWS algorithm the key signs with.
	Algorithm string
	// Private is *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey or
	// the HMAC secret ([]byte).
	Private any
	// Public is *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey or the
	// HMAC secret ([]byte).
	Public any
	// Certificate is a self-signed X.509 certificate for the public key
	// (nil for HMAC keys); JWKS x5c/x5t and the Firebase certificate map
	// serve it.
	Certificate *x509.Certificate
	// Created is when the key was made (emulator clock).
	Created time.Time

	retired time.Time // when it stopped being current; zero while current
}

// Sign signs claims with this key. The header gets "alg" and "kid" set to
// the key's own unless header already names them.
func (k *SigningKey) Sign(header map[string]any, claims any) (string, error) {
	h := map[string]any{"alg": k.Algorithm, "kid": k.ID}
	for n, v := range header {
		if v == nil {
			delete(h, n)
			continue
		}
		h[n] = v
	}
	hj, err := json.Marshal(h)
	if err != nil {
		return "", fmt.Errorf("emulator: header: %w", err)
	}
	pj, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("emulator: claims: %w", err)
	}
	return k.SignRaw(hj, pj)
}

// SignRaw signs headerJSON and payloadJSON exactly as given with this key's
// algorithm.
func (k *SigningKey) SignRaw(headerJSON, payloadJSON []byte) (string, error) {
	return SignCompact(k.Algorithm, k.Private, headerJSON, payloadJSON)
}

// Symmetric reports whether the key is an HMAC secret.
func (k *SigningKey) Symmetric() bool { _, ok := k.Public.([]byte); return ok }

// PublicKeyPEM returns the public key as a PKIX "PUBLIC KEY" PEM block (nil
// for HMAC keys). It is also the bytes an algorithm-confusion attack (J4)
// uses as an HMAC secret.
func (k *SigningKey) PublicKeyPEM() []byte {
	if k.Symmetric() {
		return nil
	}
	der, err := x509.MarshalPKIXPublicKey(k.Public)
	if err != nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// CertificatePEM returns the self-signed certificate as a PEM block (nil
// for HMAC keys).
func (k *SigningKey) CertificatePEM() []byte {
	if k.Certificate == nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: k.Certificate.Raw})
}

// JWK returns the key's public JSON Web Key (RFC 7517) with "kid", "alg"
// and "use":"sig"; withX5C adds "x5c", "x5t" and "x5t#S256" from the
// self-signed certificate, as Auth0 publishes them. HMAC keys have no public
// JWK and return nil.
func (k *SigningKey) JWK(withX5C bool) map[string]any {
	enc := base64.RawURLEncoding
	m := map[string]any{"kid": k.ID, "alg": k.Algorithm, "use": "sig"}
	switch pub := k.Public.(type) {
	case *rsa.PublicKey:
		m["kty"] = "RSA"
		m["n"] = enc.EncodeToString(pub.N.Bytes())
		m["e"] = enc.EncodeToString(big.NewInt(int64(pub.E)).Bytes())
	case *ecdsa.PublicKey:
		pk, err := pub.ECDH()
		if err != nil {
			return nil
		}
		pt := pk.Bytes() // 0x04 ‖ X ‖ Y, fixed width
		size := (len(pt) - 1) / 2
		m["kty"] = "EC"
		m["crv"] = pub.Curve.Params().Name
		m["x"] = enc.EncodeToString(pt[1 : 1+size])
		m["y"] = enc.EncodeToString(pt[1+size:])
	case ed25519.PublicKey:
		m["kty"] = "OKP"
		m["crv"] = "Ed25519"
		m["x"] = enc.EncodeToString(pub)
	default:
		return nil
	}
	if withX5C && k.Certificate != nil {
		der := k.Certificate.Raw
		s1 := sha1.Sum(der)
		s256 := sha256.Sum256(der)
		m["x5c"] = []string{base64.StdEncoding.EncodeToString(der)}
		m["x5t"] = enc.EncodeToString(s1[:])
		m["x5t#S256"] = enc.EncodeToString(s256[:])
	}
	return m
}

// KeyRingOptions configures a KeyRing.
type KeyRingOptions struct {
	// Algorithm is the signing algorithm: RS256 (default; 2048-bit keys),
	// RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA, Ed25519 (RFC 9864), or
	// HS256/HS384/HS512 (a shared secret, never published).
	Algorithm string
	// KID makes key ids; the default is RandomToken(16) (22 base64url
	// characters, like Auth0's). Providers set their own shape, e.g.
	// PrefixedID("sso_oidc_key_pair_", NewULID) for WorkOS.
	KID func() string
	// Grace is how long a key stays published after Rotate replaced it.
	// Zero keeps it published until Drop.
	Grace time.Duration
	// Clock dates keys and ends grace periods; nil is the real time.
	Clock *Clock
	// Secret is the HMAC secret for HS* (default: random, of the hash's
	// size). Rotate makes a new random secret.
	Secret []byte
	// CommonName is the subject of the self-signed certificates (default
	// "authport emulator").
	CommonName string
}

// KeyRing holds an emulator's signing keys: the current key, which signs,
// and the keys it replaced, which stay published until their grace period
// ends or they are dropped. It is safe for concurrent use.
type KeyRing struct {
	opts KeyRingOptions

	mu      sync.RWMutex
	keys    []*SigningKey // current last
	foreign *SigningKey   // same kid as current, different key
}

// NewKeyRing makes a ring with one fresh current key. It panics only for an
// unsupported algorithm, a programming error.
func NewKeyRing(o KeyRingOptions) *KeyRing {
	if o.Algorithm == "" {
		o.Algorithm = "RS256"
	}
	if o.KID == nil {
		o.KID = func() string { return RandomToken(16) }
	}
	if o.CommonName == "" {
		o.CommonName = "authport emulator"
	}
	r := &KeyRing{opts: o}
	k, err := r.newKey(o.KID(), o.Secret)
	if err != nil {
		panic(err)
	}
	r.keys = []*SigningKey{k}
	return r
}

// NewSigningKey makes a standalone key of the given algorithm (a random
// secret for HS*), e.g. an attacker's key for a forged token.
func NewSigningKey(alg, kid string) (*SigningKey, error) {
	r := &KeyRing{opts: KeyRingOptions{Algorithm: alg, CommonName: "authport attacker"}}
	return r.newKey(kid, nil)
}

func (r *KeyRing) newKey(kid string, secret []byte) (*SigningKey, error) {
	alg := r.opts.Algorithm
	k := &SigningKey{ID: kid, Algorithm: alg, Created: r.opts.Clock.Now()}
	switch alg {
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
		priv := rsaKey()
		k.Private, k.Public = priv, &priv.PublicKey
	case "ES256", "ES384", "ES512":
		curve := map[string]elliptic.Curve{"ES256": elliptic.P256(), "ES384": elliptic.P384(), "ES512": elliptic.P521()}[alg]
		priv, err := ecdsa.GenerateKey(curve, rand.Reader)
		if err != nil {
			return nil, err
		}
		k.Private, k.Public = priv, &priv.PublicKey
	case "EdDSA", "Ed25519":
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		k.Private, k.Public = priv, pub
	case "HS256", "HS384", "HS512":
		if len(secret) > 0 {
			secret = append([]byte(nil), secret...)
		} else {
			n, _ := strconv.Atoi(alg[2:])
			secret = make([]byte, n/8)
			rand.Read(secret)
		}
		k.Private, k.Public = secret, secret
		return k, nil
	default:
		return nil, fmt.Errorf("emulator: unsupported algorithm %q", alg)
	}
	cert, err := selfSign(k, r.opts.CommonName)
	if err != nil {
		return nil, err
	}
	k.Certificate = cert
	return k, nil
}

func selfSign(k *SigningKey, cn string) (*x509.Certificate, error) {
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	now := k.Created
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(14 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public, k.Private.(crypto.Signer))
	if err != nil {
		return nil, fmt.Errorf("emulator: self-signed certificate: %w", err)
	}
	return x509.ParseCertificate(der)
}

// Current returns the key that signs.
func (r *KeyRing) Current() *SigningKey {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.keys[len(r.keys)-1]
}

// KID returns the current key's id.
func (r *KeyRing) KID() string { return r.Current().ID }

// Algorithm returns the ring's signing algorithm.
func (r *KeyRing) Algorithm() string { return r.opts.Algorithm }

// PublicKey returns the current key's public key (the secret for HS*).
func (r *KeyRing) PublicKey() any { return r.Current().Public }

// Published returns the keys a verifier should trust now: the current key
// and the replaced keys still in their grace period, newest first.
func (r *KeyRing) Published() []*SigningKey {
	now := r.opts.Clock.Now()
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]*SigningKey, 0, len(r.keys))
	for i := len(r.keys) - 1; i >= 0; i-- {
		k := r.keys[i]
		if !k.retired.IsZero() && r.opts.Grace > 0 && !now.Before(k.retired.Add(r.opts.Grace)) {
			continue
		}
		out = append(out, k)
	}
	return out
}

// Lookup returns the published key with id kid.
func (r *KeyRing) Lookup(kid string) (*SigningKey, bool) {
	for _, k := range r.Published() {
		if k.ID == kid {
			return k, true
		}
	}
	return nil, false
}

// Rotate makes a new current key and returns it. The previous key stays
// published for the ring's Grace (until Drop if Grace is zero), so tokens it
// signed keep verifying while verifiers pick up the new key.
func (r *KeyRing) Rotate() *SigningKey {
	k, err := r.newKey(r.opts.KID(), nil)
	if err != nil {
		panic(err) // the algorithm was accepted by NewKeyRing
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.keys[len(r.keys)-1].retired = k.Created
	r.keys = append(r.keys, k)
	r.foreign = nil
	return k
}

// Drop stops publishing the replaced key kid and reports whether it was
// there. The current key cannot be dropped.
func (r *KeyRing) Drop(kid string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, k := range r.keys[:len(r.keys)-1] {
		if k.ID == kid {
			r.keys = append(r.keys[:i:i], r.keys[i+1:]...)
			return true
		}
	}
	return false
}

// DropRetired stops publishing every key but the current one.
func (r *KeyRing) DropRetired() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.keys = r.keys[len(r.keys)-1:]
}

// Foreign returns a key that no verifier trusts but that carries the
// current key's id and algorithm: the key of the "signature from another
// key" attack (J25). It is made once per current key.
func (r *KeyRing) Foreign() *SigningKey {
	cur := r.Current()
	r.mu.RLock()
	f := r.foreign
	r.mu.RUnlock()
	if f != nil && f.ID == cur.ID && f.Algorithm == cur.Algorithm {
		return f
	}
	// Generate outside the lock: an RSA key can take a while.
	alien := &KeyRing{opts: KeyRingOptions{Algorithm: cur.Algorithm, CommonName: "authport foreign", Clock: r.opts.Clock}}
	k, err := alien.newKey(cur.ID, nil)
	if err != nil {
		panic(err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.foreign != nil && r.foreign.ID == cur.ID && r.foreign.Algorithm == cur.Algorithm {
		return r.foreign // another caller won
	}
	r.foreign = k
	return k
}

// Sign signs claims with the current key; header fields are added to
// {"alg","kid"} (a nil value removes one). It panics if claims cannot be
// encoded as JSON, a programming error.
func (r *KeyRing) Sign(header map[string]any, claims any) string {
	t, err := r.Current().Sign(header, claims)
	if err != nil {
		panic(err)
	}
	return t
}

// SignRaw signs headerJSON and payloadJSON, byte for byte, with the current
// key. It panics only if the key cannot sign, which does not happen.
func (r *KeyRing) SignRaw(headerJSON, payloadJSON []byte) string {
	t, err := r.Current().SignRaw(headerJSON, payloadJSON)
	if err != nil {
		panic(err)
	}
	return t
}

// JWKS returns the published public keys as a JSON Web Key Set,
// {"keys":[…]}, newest first; withX5C adds each key's certificate (x5c,
// x5t, x5t#S256). HMAC secrets are never published.
func (r *KeyRing) JWKS(withX5C bool) []byte {
	keys := []map[string]any{}
	for _, k := range r.Published() {
		if j := k.JWK(withX5C); j != nil {
			keys = append(keys, j)
		}
	}
	b, _ := json.Marshal(map[string]any{"keys": keys})
	return b
}

// X509Map returns the published keys as Firebase publishes them: a JSON
// object mapping each kid to its PEM certificate.
func (r *KeyRing) X509Map() []byte {
	m := map[string]string{}
	for _, k := range r.Published() {
		if p := k.CertificatePEM(); p != nil {
			m[k.ID] = string(p)
		}
	}
	b, _ := json.Marshal(m)
	return b
}

// JWKSHandler serves JWKS(withX5C) with "Cache-Control: public,
// max-age=…" when maxAge is positive. Register it with Server.HandleKeys so
// fetches are counted and faults apply.
func (r *KeyRing) JWKSHandler(withX5C bool, maxAge time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		serveKeys(w, r.JWKS(withX5C), maxAge)
	})
}

// X509MapHandler serves X509Map like JWKSHandler serves the JWKS.
func (r *KeyRing) X509MapHandler(maxAge time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		serveKeys(w, r.X509Map(), maxAge)
	})
}

func serveKeys(w http.ResponseWriter, body []byte, maxAge time.Duration) {
	w.Header().Set("Content-Type", "application/json")
	if maxAge > 0 {
		w.Header().Set("Cache-Control", "public, max-age="+strconv.Itoa(int(maxAge/time.Second)))
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	w.Write(body)
}

// RSA key generation costs tens of milliseconds (more under -race), and a
// test run makes many emulators, so fresh 2048-bit keys are generated ahead
// of need by one background goroutine per process. Keys are never reused:
// every SigningKey is distinct.
var (
	rsaPoolOnce sync.Once
	rsaPool     = make(chan *rsa.PrivateKey, 6)
)

func rsaKey() *rsa.PrivateKey {
	rsaPoolOnce.Do(func() {
		go func() {
			for {
				k, err := rsa.GenerateKey(rand.Reader, 2048)
				if err != nil {
					panic(err)
				}
				rsaPool <- k
			}
		}()
	})
	select {
	case k := <-rsaPool:
		return k
	default:
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		return k
	}
}
