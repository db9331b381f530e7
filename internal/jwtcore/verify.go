// Package jwtcore is authport's one token verification path. Every adapter,
// whatever its provider, verifies compact JWS tokens here, so the policy below
// is the same everywhere:
//
//   - size cap before any parsing (8 KiB by default) and exactly three
//     segments (JWE, JSON serialisation and extra segments refused);
//   - canonical base64url only (no padding, no whitespace, no stray bits);
//   - header and payload must be JSON objects of valid UTF-8 with no repeated
//     member names (escaped spellings count), nested at most 32 deep;
//   - "alg" must be in the issuer's allow-list and equal the algorithm the key
//     is pinned to; "none" in any spelling is never accepted; HMAC and
//     asymmetric keys are never interchangeable;
//   - "jku", "jwk", "x5u" and "x5c" are refused, never followed; "crit",
//     "b64", "cty" (nested JWTs), "zip" and "enc" are refused;
//   - "kid" is required unless the policy allows a sole static key for
//     that algorithm;
//   - "typ", when present, must be one of the policy's types (JWT, at+jwt);
//   - the issuer must match a configured one exactly; "aud" any-of (string
//     or array of strings); "azp" in the allow-list when one is set;
//   - "exp" is required; "exp", "nbf" and "iat" must be finite JSON numbers
//     below 2^53 and are checked with one leeway (default 30 s, at most
//     5 min); "sub" must be a non-empty string;
//   - an expired token is reported as expired only after its signature has
//     verified (J44).
//
// Verified tokens are cached (bounded, expiring with the token), so a
// repeated token costs no signature check; revocation is keyed by
// (iss, jti) and session id, never by token bytes (ECDSA signatures are
// malleable, J37).
package jwtcore

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"
	"math"
	"math/big"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/authport/authport"
	"github.com/authport/authport/internal/b64url"
	"github.com/authport/authport/internal/keyset"
)

// Defaults and limits.
const (
	DefaultMaxTokenSize = 8 << 10
	DefaultLeeway       = 30 * time.Second
	MaxLeeway           = 5 * time.Minute
	maxKIDLen           = 256
	maxNumericDate      = 1 << 53
)

// Policy is what one issuer's tokens must satisfy.
type Policy struct {
	// Issuer is compared exactly with "iss".
	Issuer string
	// Audiences: "aud" must contain at least one of them. Empty means the
	// provider's tokens carry no audience to check (Clerk); "aud" is then
	// ignored.
	Audiences []string
	// AuthorizedParties: when set, "azp" must be present and listed.
	AuthorizedParties []string
	// Algorithms is the allow-list (default RS256). "none" is refused at
	// construction.
	Algorithms []string
	// Types lists accepted "typ" values, compared case-insensitively with
	// an "application/" prefix ignored; default JWT and at+jwt. An absent
	// typ is always accepted.
	Types []string
	// Keys finds the verification key.
	Keys keyset.Source
	// KIDOptional lists the algorithms whose tokens may omit "kid" (a sole
	// static key, such as Supabase's legacy HS256 secret); every other
	// algorithm's tokens must name their key.
	KIDOptional []string
	// SingleAudience requires "aud" to be one string, refusing the array
	// form RFC 7519 allows, for providers whose own SDK refuses it
	// (Firebase): never more lenient than the provider.
	SingleAudience bool
	// IntegerTimes requires "exp", "nbf" and "iat" to be whole seconds,
	// refusing the fractions RFC 7519 allows, likewise (Firebase).
	IntegerTimes bool
}

// Options apply to a Verifier.
type Options struct {
	// Provider names the adapter in errors.
	Provider string
	// Leeway is the one clock-skew allowance for exp, nbf and iat
	// (default 30 s, at most 5 min).
	Leeway time.Duration
	// MaxTokenSize caps a token before parsing (default 8 KiB).
	MaxTokenSize int
	// Clock returns the current time (default time.Now).
	Clock func() time.Time
	// CacheSize bounds the verified-token cache (default 10000; negative
	// disables it).
	CacheSize int
	// ToSession maps verified claims to a Session (required for Session).
	ToSession func(*Claims) (*authport.Session, error)
}

// Verifier verifies tokens for one or more issuers. It is safe for
// concurrent use.
type Verifier struct {
	o        Options
	policies map[string]*policy
	sole     *policy
	cache    *tokenCache
	deny     *denyList
}

type policy struct {
	Policy
	algs  map[string]bool
	types []string
}

var supportedAlgs = map[string]bool{
	"RS256": true, "RS384": true, "RS512": true,
	"PS256": true, "PS384": true, "PS512": true,
	"ES256": true, "ES384": true, "ES512": true,
	"EdDSA": true, "Ed25519": true,
	"HS256": true, "HS384": true, "HS512": true,
}

// New returns a Verifier for the given issuers.
func New(o Options, policies ...Policy) (*Verifier, error) {
	if o.Leeway == 0 {
		o.Leeway = DefaultLeeway
	}
	if o.Leeway < 0 || o.Leeway > MaxLeeway {
		return nil, fmt.Errorf("jwtcore: leeway %v outside 0..%v", o.Leeway, MaxLeeway)
	}
	if o.MaxTokenSize <= 0 {
		o.MaxTokenSize = DefaultMaxTokenSize
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if len(policies) == 0 {
		return nil, errors.New("jwtcore: no issuer policy")
	}
	v := &Verifier{o: o, policies: map[string]*policy{}, deny: newDenyList()}
	for _, p := range policies {
		if p.Issuer == "" {
			return nil, errors.New("jwtcore: policy without issuer")
		}
		if p.Keys == nil {
			return nil, fmt.Errorf("jwtcore: issuer %q has no key source", p.Issuer)
		}
		if len(p.Algorithms) == 0 {
			p.Algorithms = []string{"RS256"}
		}
		pp := &policy{Policy: p, algs: map[string]bool{}}
		for _, a := range p.Algorithms {
			if !supportedAlgs[a] {
				return nil, fmt.Errorf("jwtcore: algorithm %q not supported", a)
			}
			pp.algs[a] = true
		}
		types := p.Types
		if len(types) == 0 {
			types = []string{"jwt", "at+jwt"}
		}
		for _, t := range types {
			pp.types = append(pp.types, normType(t))
		}
		if _, dup := v.policies[p.Issuer]; dup {
			return nil, fmt.Errorf("jwtcore: issuer %q configured twice", p.Issuer)
		}
		v.policies[p.Issuer] = pp
	}
	if len(policies) == 1 {
		v.sole = v.policies[policies[0].Issuer]
	}
	if o.CacheSize >= 0 {
		n := o.CacheSize
		if n == 0 {
			n = 10000
		}
		v.cache = newTokenCache(n)
	}
	return v, nil
}

func normType(t string) string {
	t = strings.ToLower(t)
	return strings.TrimPrefix(t, "application/")
}

// Header is a token's protected header.
type Header struct {
	Alg string
	Kid string
	Typ string
	// Raw is the whole decoded header.
	Raw map[string]any
}

// Claims are a verified token's claims.
type Claims struct {
	Header    Header
	Raw       map[string]any
	Issuer    string
	Subject   string
	JTI       string
	Audience  []string
	ExpiresAt time.Time
	NotBefore time.Time
	IssuedAt  time.Time
}

// String returns claim name as a string ("" if absent or not a string).
func (c *Claims) String(name string) string { s, _ := c.Raw[name].(string); return s }

// Bool returns claim name as a bool (false if absent or not a bool).
func (c *Claims) Bool(name string) bool { b, _ := c.Raw[name].(bool); return b }

// Object returns claim name as a JSON object (nil if absent or not one).
func (c *Claims) Object(name string) map[string]any {
	m, _ := c.Raw[name].(map[string]any)
	return m
}

// Strings returns claim name as a list of strings: a JSON array's string
// elements, or a space-separated string split into words (OAuth "scope").
func (c *Claims) Strings(name string) []string { return StringsOf(c.Raw[name]) }

// StringsOf converts a claim value to a list of strings, as Claims.Strings.
func StringsOf(v any) []string {
	switch t := v.(type) {
	case string:
		return strings.Fields(t)
	case []any:
		out := make([]string, 0, len(t))
		for _, e := range t {
			if s, ok := e.(string); ok && s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// Path returns the value at a dotted claim path ("app_metadata.roles").
func (c *Claims) Path(path string) any {
	var cur any = c.Raw
	for part := range strings.SplitSeq(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[part]
	}
	return cur
}

// Leeway reports the configured clock-skew allowance.
func (v *Verifier) Leeway() time.Duration { return v.o.Leeway }

// Now reports the verifier's current time.
func (v *Verifier) Now() time.Time { return v.o.Clock() }

func (v *Verifier) fail(k *authport.Kind, reason string) error {
	return &authport.Error{Kind: k, Provider: v.o.Provider, Op: "verify", Reason: reason}
}

// Verify checks token against the policy and returns its claims. It does
// not consult the verified-token cache; Session does.
func (v *Verifier) Verify(ctx context.Context, token string) (*Claims, error) {
	t, err := v.parse(token, false)
	if err != nil {
		return nil, err
	}
	p, h := t.p, t.c.Header
	if !p.algs[h.Alg] {
		return nil, v.fail(authport.ErrInvalidCredential, "algorithm not allowed")
	}
	if h.Kid == "" && !slices.Contains(p.KIDOptional, h.Alg) {
		return nil, v.fail(authport.ErrInvalidCredential, "token has no key id")
	}
	key, err := p.Keys.Lookup(ctx, h.Kid, h.Alg)
	if err != nil {
		var ae *authport.Error
		if errors.As(err, &ae) && ae.Provider == "" {
			cp := *ae
			cp.Provider = v.o.Provider
			return nil, &cp
		}
		return nil, err
	}
	if !key.Accepts(h.Alg) {
		return nil, v.fail(authport.ErrInvalidCredential, "algorithm does not match key")
	}
	if !verifySig(key, h.Alg, t.input, t.sig) {
		return nil, v.fail(authport.ErrInvalidCredential, "signature does not verify")
	}
	if err := v.checkClaims(p, t.c); err != nil {
		return nil, err
	}
	return t.c, nil
}

// parsedToken is a token that passed the structural checks, before its
// signature and claims are checked.
type parsedToken struct {
	c     *Claims
	p     *policy
	input string // the signing input: header "." payload
	sig   []byte
}

// parse applies every check that needs no key: the size cap, exactly three
// segments, canonical base64url, strict JSON, refused header parameters,
// the trusted issuer and its "typ" rule. unsigned demands an empty
// signature segment (VerifyUnsignedForEmulator); otherwise one is required.
func (v *Verifier) parse(token string, unsigned bool) (*parsedToken, error) {
	if token == "" {
		return nil, &authport.Error{Kind: authport.ErrNoCredential, Provider: v.o.Provider, Op: "verify", Reason: "empty token"}
	}
	if len(token) > v.o.MaxTokenSize {
		return nil, v.fail(authport.ErrInvalidCredential, "token too large")
	}
	d1 := strings.IndexByte(token, '.')
	if d1 < 0 {
		return nil, v.fail(authport.ErrInvalidCredential, "not a compact JWS")
	}
	d2 := strings.IndexByte(token[d1+1:], '.')
	if d2 < 0 {
		return nil, v.fail(authport.ErrInvalidCredential, "not a compact JWS")
	}
	d2 += d1 + 1
	if strings.IndexByte(token[d2+1:], '.') >= 0 {
		return nil, v.fail(authport.ErrInvalidCredential, "not a compact JWS (extra segments)")
	}
	hseg, pseg, sseg := token[:d1], token[d1+1:d2], token[d2+1:]
	if hseg == "" || pseg == "" {
		return nil, v.fail(authport.ErrInvalidCredential, "empty segment")
	}
	if unsigned != (sseg == "") {
		if unsigned {
			return nil, v.fail(authport.ErrInvalidCredential, "an unsigned token must have an empty signature")
		}
		return nil, v.fail(authport.ErrInvalidCredential, "empty segment")
	}
	hjson, err := b64url.DecodeString(hseg)
	if err != nil {
		return nil, v.fail(authport.ErrInvalidCredential, "header is not canonical base64url")
	}
	h, err := v.parseHeader(hjson)
	if err != nil {
		return nil, err
	}
	pjson, err := b64url.DecodeString(pseg)
	if err != nil {
		return nil, v.fail(authport.ErrInvalidCredential, "payload is not canonical base64url")
	}
	t := &parsedToken{input: token[:d2]}
	if !unsigned {
		if t.sig, err = b64url.DecodeString(sseg); err != nil {
			return nil, v.fail(authport.ErrInvalidCredential, "signature is not canonical base64url")
		}
	}
	raw, err := v.parseObject(pjson, "payload")
	if err != nil {
		return nil, err
	}
	iss, _ := raw["iss"].(string)
	if t.p = v.policies[iss]; t.p == nil {
		return nil, v.fail(authport.ErrInvalidCredential, "issuer not trusted")
	}
	if h.Typ != "" && !slices.Contains(t.p.types, normType(h.Typ)) {
		return nil, v.fail(authport.ErrInvalidCredential, "token type not accepted")
	}
	t.c = &Claims{Header: h, Raw: raw, Issuer: iss}
	return t, nil
}

var forbiddenHeaders = []string{"jku", "jwk", "x5u", "x5c", "crit", "b64", "cty", "zip", "enc", "p2c", "p2s", "epk"}

func (v *Verifier) parseHeader(data []byte) (Header, error) {
	raw, err := v.parseObject(data, "header")
	if err != nil {
		return Header{}, err
	}
	for _, name := range forbiddenHeaders {
		if _, ok := raw[name]; ok {
			return Header{}, v.fail(authport.ErrInvalidCredential, "header parameter "+name+" is not accepted")
		}
	}
	h := Header{Raw: raw}
	var ok bool
	if h.Alg, ok = raw["alg"].(string); !ok || h.Alg == "" {
		return Header{}, v.fail(authport.ErrInvalidCredential, "header has no alg")
	}
	if k, present := raw["kid"]; present {
		if h.Kid, ok = k.(string); !ok || h.Kid == "" || len(h.Kid) > maxKIDLen {
			return Header{}, v.fail(authport.ErrInvalidCredential, "malformed kid")
		}
	}
	if t, present := raw["typ"]; present {
		if h.Typ, ok = t.(string); !ok {
			return Header{}, v.fail(authport.ErrInvalidCredential, "malformed typ")
		}
	}
	return h, nil
}

func (v *Verifier) parseObject(data []byte, what string) (map[string]any, error) {
	if !utf8.Valid(data) {
		return nil, v.fail(authport.ErrInvalidCredential, what+" is not valid UTF-8")
	}
	m, err := parseJSONObject(data)
	if err != nil {
		return nil, v.fail(authport.ErrInvalidCredential, what+": "+err.Error())
	}
	return m, nil
}

func numericDate(raw map[string]any, name string, whole bool) (t time.Time, present bool, ok bool) {
	val, present := raw[name]
	if !present {
		return time.Time{}, false, true
	}
	f, isNum := val.(float64)
	if !isNum || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f >= maxNumericDate {
		return time.Time{}, true, false
	}
	sec, frac := math.Modf(f)
	if whole && frac != 0 {
		return time.Time{}, true, false
	}
	return time.Unix(int64(sec), int64(frac*1e9)), true, true
}

func (v *Verifier) checkClaims(p *policy, c *Claims) error {
	raw := c.Raw
	var ok bool
	if c.Subject, ok = raw["sub"].(string); !ok || c.Subject == "" {
		return v.fail(authport.ErrInvalidCredential, "token has no subject")
	}
	if j, present := raw["jti"]; present {
		if c.JTI, ok = j.(string); !ok {
			return v.fail(authport.ErrInvalidCredential, "malformed jti")
		}
	}
	exp, present, ok := numericDate(raw, "exp", p.IntegerTimes)
	if !ok {
		return v.fail(authport.ErrInvalidCredential, "malformed exp")
	}
	if !present {
		return v.fail(authport.ErrInvalidCredential, "token has no exp")
	}
	nbf, _, ok := numericDate(raw, "nbf", p.IntegerTimes)
	if !ok {
		return v.fail(authport.ErrInvalidCredential, "malformed nbf")
	}
	iat, _, ok := numericDate(raw, "iat", p.IntegerTimes)
	if !ok {
		return v.fail(authport.ErrInvalidCredential, "malformed iat")
	}
	c.ExpiresAt, c.NotBefore, c.IssuedAt = exp, nbf, iat
	switch a := raw["aud"].(type) {
	case nil:
	case string:
		c.Audience = []string{a}
	case []any:
		if p.SingleAudience {
			return v.fail(authport.ErrInvalidCredential, "aud is not a single string")
		}
		c.Audience = make([]string, 0, len(a))
		for _, e := range a {
			s, ok := e.(string)
			if !ok {
				return v.fail(authport.ErrInvalidCredential, "malformed aud")
			}
			c.Audience = append(c.Audience, s)
		}
	default:
		return v.fail(authport.ErrInvalidCredential, "malformed aud")
	}
	if len(p.Audiences) > 0 && !anyOf(c.Audience, p.Audiences) {
		return v.fail(authport.ErrInvalidCredential, "audience not accepted")
	}
	if len(p.AuthorizedParties) > 0 {
		azp, _ := raw["azp"].(string)
		if !slices.Contains(p.AuthorizedParties, azp) {
			return v.fail(authport.ErrInvalidCredential, "authorized party not accepted")
		}
	}
	now := v.o.Clock()
	lw := v.o.Leeway
	if !nbf.IsZero() && now.Add(lw).Before(nbf) {
		return v.fail(authport.ErrInvalidCredential, "token not valid yet")
	}
	if !iat.IsZero() && now.Add(lw).Before(iat) {
		return v.fail(authport.ErrInvalidCredential, "token issued in the future")
	}
	if !now.Add(-lw).Before(exp) {
		return v.fail(authport.ErrExpired, "token expired")
	}
	return nil
}

func anyOf(have, want []string) bool {
	for _, h := range have {
		if h != "" && slices.Contains(want, h) {
			return true
		}
	}
	return false
}

func hashFor(alg string) (crypto.Hash, func() hash.Hash) {
	switch alg[2:] {
	case "256":
		return crypto.SHA256, sha256.New
	case "384":
		return crypto.SHA384, sha512.New384
	case "512":
		return crypto.SHA512, sha512.New
	}
	return 0, nil
}

func digest(h crypto.Hash, data string) []byte {
	switch h {
	case crypto.SHA256:
		d := sha256.Sum256([]byte(data))
		return d[:]
	case crypto.SHA384:
		d := sha512.Sum384([]byte(data))
		return d[:]
	default:
		d := sha512.Sum512([]byte(data))
		return d[:]
	}
}

func verifySig(k keyset.Key, alg, input string, sig []byte) bool {
	switch pub := k.Public.(type) {
	case *rsa.PublicKey:
		h, _ := hashFor(alg)
		if h == 0 || len(sig) != pub.Size() {
			return false
		}
		d := digest(h, input)
		if alg[0] == 'P' {
			return rsa.VerifyPSS(pub, h, d, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
		}
		return rsa.VerifyPKCS1v15(pub, h, d, sig) == nil
	case *ecdsa.PublicKey:
		h, _ := hashFor(alg)
		size := (pub.Curve.Params().BitSize + 7) / 8
		if h == 0 || len(sig) != 2*size {
			return false
		}
		r := new(big.Int).SetBytes(sig[:size])
		s := new(big.Int).SetBytes(sig[size:])
		return ecdsa.Verify(pub, digest(h, input), r, s)
	case ed25519.PublicKey:
		return len(sig) == ed25519.SignatureSize && ed25519.Verify(pub, []byte(input), sig)
	case []byte:
		_, newHash := hashFor(alg)
		if newHash == nil {
			return false
		}
		m := hmac.New(newHash, pub)
		m.Write([]byte(input))
		return hmac.Equal(m.Sum(nil), sig)
	}
	return false
}
