package supabasetest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strings"
	"time"

	"github.com/authport/authport/internal/emulator"
)

// legacyKey returns the legacy secret's key, or nil when the emulated
// project has none (or revoked it).
func (e *Emulator) legacyKey() *emulator.SigningKey {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.legacy == nil || e.legacyOff {
		return nil
	}
	if e.o.Mode == ModeHS256 {
		return e.srv.Keys.Current()
	}
	return e.legacy
}

// signsLegacy reports whether new tokens are signed with the legacy secret.
func (e *Emulator) signsLegacy() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.legacy != nil && !e.legacyOff && e.legacySigns
}

// claims are the access-token claims GoTrue's GenerateAccessToken sets.
func (e *Emulator) claims(u *emulator.User, ss *emulator.Session, now time.Time) map[string]any {
	c := map[string]any{
		"iss": e.Issuer,
		"iat": now.Unix(),
		"exp": now.Add(e.o.TokenLifetime).Unix(),
	}
	if u != nil {
		c["sub"] = u.ID
		c["aud"] = mdString(u, mdAud, defaultAud)
		c["email"] = u.Email
		c["phone"] = mdString(u, mdPhone, "")
		c["app_metadata"] = mdMap(u, mdApp)
		c["user_metadata"] = mdMap(u, mdUser)
		c["role"] = mdString(u, mdRole, defaultRole)
		anon, _ := u.Metadata[mdIsAnonymous].(bool)
		c["is_anonymous"] = anon
	}
	if ss != nil {
		c["session_id"] = ss.ID
		c["aal"] = "aal1"
		if aal, ok := ss.Data["aal"].(string); ok {
			c["aal"] = aal
		}
		if amr, ok := ss.Data["amr"]; ok {
			c["amr"] = amr
		}
	}
	return c
}

// defaultClaims feeds the control API's /__authport/mint.
func (e *Emulator) defaultClaims(u *emulator.User, ss *emulator.Session) map[string]any {
	return e.claims(u, ss, e.now())
}

// MintOptions describes a token for Mint. The zero value mints a valid
// access token for no user (set UserID or SessionID).
type MintOptions struct {
	// UserID and SessionID name the token's user and session.
	UserID, SessionID string
	// Legacy signs with the legacy HS256 secret instead of the current
	// asymmetric key (HS256 and migration modes).
	Legacy bool
	// Claims are merged over the default claims; a nil value removes one.
	Claims map[string]any
	// Header is merged over {"alg","kid","typ"}; a nil value removes one.
	Header map[string]any
	// ExpiresIn overrides the lifetime; Expired makes a token that expired
	// an hour ago; NotYetValid sets nbf an hour ahead.
	ExpiresIn   time.Duration
	Expired     bool
	NotYetValid bool
}

// Mint signs an access token as the emulated project would, or a
// deliberately odd one for a negative test.
func (e *Emulator) Mint(m MintOptions) (string, error) {
	var (
		u  *emulator.User
		ss *emulator.Session
	)
	if m.SessionID != "" {
		s, err := e.srv.Store.Session(m.SessionID)
		if err != nil {
			return "", fmt.Errorf("supabasetest: mint: %w", err)
		}
		ss = s
		if m.UserID == "" {
			m.UserID = s.UserID
		}
	}
	if m.UserID != "" {
		x, ok := e.lookupUser(m.UserID)
		if !ok {
			return "", fmt.Errorf("supabasetest: mint: no user %s", m.UserID)
		}
		u = x
	}
	now := e.now()
	ttl := e.o.TokenLifetime
	if m.ExpiresIn > 0 {
		ttl = m.ExpiresIn
	}
	if m.Expired {
		now = now.Add(-time.Hour - ttl)
	}
	c := e.claims(u, ss, now)
	c["exp"] = now.Add(ttl).Unix()
	if m.NotYetValid {
		c["nbf"] = e.now().Add(time.Hour).Unix()
		c["exp"] = e.now().Add(time.Hour + ttl).Unix()
	}
	for k, v := range m.Claims {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return e.sign(m.Legacy, m.Header, c)
}

// sign signs claims with the legacy secret (legacy) or the current
// asymmetric key.
func (e *Emulator) sign(legacy bool, extra map[string]any, claims map[string]any) (string, error) {
	var key *emulator.SigningKey
	header := map[string]any{"typ": "JWT"}
	if legacy {
		key = e.legacyKey()
		if key == nil {
			return "", errors.New("supabasetest: the emulated project has no legacy JWT secret")
		}
		header["alg"] = "HS256"
		if e.o.LegacyKID != "" {
			header["kid"] = e.o.LegacyKID
		}
	} else {
		if e.o.Mode == ModeHS256 {
			return "", errors.New("supabasetest: the emulated project has no asymmetric key (ModeHS256)")
		}
		key = e.srv.Keys.Current()
		header["alg"], header["kid"] = key.Algorithm, key.ID
	}
	for k, v := range extra {
		if v == nil {
			delete(header, k)
		} else {
			header[k] = v
		}
	}
	hj, err := json.Marshal(header)
	if err != nil {
		return "", err
	}
	pj, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	return key.SignRaw(hj, pj)
}

// accessToken mints a session's access token with the key that currently
// signs.
func (e *Emulator) accessToken(u *emulator.User, ss *emulator.Session) (string, int64, error) {
	now := e.now()
	c := e.claims(u, ss, now)
	tok, err := e.sign(e.signsLegacy(), nil, c)
	return tok, c["exp"].(int64), err
}

// apiErr is an error answer in GoTrue's terms.
type apiErr struct {
	status    int
	code, msg string
}

// Error returns the message.
func (a *apiErr) Error() string { return a.msg }

func badJWT(format string, args ...any) *apiErr {
	return &apiErr{403, "bad_jwt", "invalid JWT: unable to parse or verify signature, " + fmt.Sprintf(format, args...)}
}

var rawURL = base64.RawURLEncoding

// parseJWT checks a bearer token as GoTrue's parseJWTClaims does (with
// golang-jwt's default validation): the algorithm must be one the project
// signs with; a kid selects a published key, and an HS256 token without a
// known kid falls back to the legacy secret; exp and nbf are checked when
// present. GoTrue checks neither iss nor aud, and does not require exp.
// This is an independent implementation (it shares no code with the
// adapter's verification core), so it serves as the provider's oracle in
// differential tests.
func (e *Emulator) parseJWT(tok string) (map[string]any, *apiErr) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, badJWT("token is malformed: token contains an invalid number of segments")
	}
	hb, err := rawURL.DecodeString(parts[0])
	if err != nil {
		return nil, badJWT("token is malformed: could not base64 decode header")
	}
	var header map[string]any
	if json.Unmarshal(hb, &header) != nil {
		return nil, badJWT("token is malformed: could not JSON decode header")
	}
	pb, err := rawURL.DecodeString(parts[1])
	if err != nil {
		return nil, badJWT("token is malformed: could not base64 decode claim")
	}
	var claims map[string]any
	if json.Unmarshal(pb, &claims) != nil || claims == nil {
		return nil, badJWT("token is malformed: could not JSON decode claim")
	}
	alg, _ := header["alg"].(string)
	legacy := e.legacyKey()
	valid := []string{}
	if e.o.Mode != ModeHS256 {
		valid = append(valid, e.srv.Keys.Algorithm())
	}
	if legacy != nil {
		valid = append(valid, "HS256")
	}
	ok := false
	for _, v := range valid {
		ok = ok || v == alg
	}
	if !ok {
		return nil, badJWT("token is unverifiable: token signature is invalid: signing method %s is invalid", alg)
	}
	var key any
	if kid, isStr := header["kid"].(string); isStr {
		if e.o.Mode != ModeHS256 {
			if k, found := e.srv.Keys.Lookup(kid); found {
				key = k.Public
			}
		}
		if key == nil && legacy != nil && e.o.LegacyKID != "" && kid == e.o.LegacyKID {
			key = legacy.Public
		}
	}
	if key == nil && alg == "HS256" && legacy != nil {
		key = legacy.Public
	}
	if key == nil {
		return nil, badJWT("token is unverifiable: error while executing keyfunc: unrecognized JWT kid %v for algorithm %v", header["kid"], alg)
	}
	sig, err := rawURL.DecodeString(parts[2])
	if err != nil {
		return nil, badJWT("token signature is invalid: could not base64 decode signature")
	}
	if err := verifySignature(alg, key, parts[0]+"."+parts[1], sig); err != nil {
		return nil, badJWT("token signature is invalid: %v", err)
	}
	now := e.now()
	if exp, present := claims["exp"]; present {
		f, isNum := exp.(float64)
		if !isNum || math.IsNaN(f) {
			return nil, badJWT("token is malformed: could not JSON decode claim")
		}
		if !now.Before(time.Unix(int64(f), 0)) {
			return nil, badJWT("token has invalid claims: token is expired")
		}
	}
	if nbf, present := claims["nbf"]; present {
		f, isNum := nbf.(float64)
		if !isNum {
			return nil, badJWT("token is malformed: could not JSON decode claim")
		}
		if now.Before(time.Unix(int64(f), 0)) {
			return nil, badJWT("token has invalid claims: token is not valid yet")
		}
	}
	return claims, nil
}

func verifySignature(alg string, key any, input string, sig []byte) error {
	sum := sha256.Sum256([]byte(input))
	switch alg {
	case "HS256":
		k, ok := key.([]byte)
		if !ok {
			return errors.New("key is of invalid type")
		}
		m := hmac.New(sha256.New, k)
		m.Write([]byte(input))
		if !hmac.Equal(m.Sum(nil), sig) {
			return errors.New("signature is invalid")
		}
	case "ES256":
		k, ok := key.(*ecdsa.PublicKey)
		if !ok {
			return errors.New("key is of invalid type")
		}
		if len(sig) != 64 {
			return errors.New("signature is invalid")
		}
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		if !ecdsa.Verify(k, sum[:], r, s) {
			return errors.New("signature is invalid")
		}
	case "RS256":
		k, ok := key.(*rsa.PublicKey)
		if !ok {
			return errors.New("key is of invalid type")
		}
		if rsa.VerifyPKCS1v15(k, crypto.SHA256, sum[:], sig) != nil {
			return errors.New("crypto/rsa: verification error")
		}
	default:
		return errors.New("signing method not supported")
	}
	return nil
}
