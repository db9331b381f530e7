package jwtcore

import (
	"context"
	"slices"
	"strings"

	"github.com/authport/authport"
)

// VerifyUnsignedForEmulator checks an UNSIGNED token ("alg":"none", empty
// signature segment) against every rule Verify applies except the
// signature: size cap, exactly three segments, canonical base64url, strict
// JSON with no repeated members, refused header parameters, "typ", the
// trusted issuer's policy (exact "iss", audience any-of, azp) and the
// claim checks ("sub", "exp" required, "nbf", "iat", one leeway).
//
// It exists for one purpose only: the Firebase Auth Emulator issues
// unsigned tokens, and the Firebase adapter accepts them when — and only
// when — FIREBASE_AUTH_EMULATOR_HOST is set. No other caller may use it.
// The header's alg must be exactly "none" (no other spelling) and the
// signature segment must be empty; a token with any signature is refused,
// so a signed token can never be downgraded through this path. Verify and
// Session still refuse every unsigned token.
func (v *Verifier) VerifyUnsignedForEmulator(_ context.Context, token string) (*Claims, error) {
	if token == "" {
		return nil, &authport.Error{Kind: authport.ErrNoCredential, Provider: v.o.Provider, Op: "verify", Reason: "empty token"}
	}
	if len(token) > v.o.MaxTokenSize {
		return nil, v.fail(authport.ErrInvalidCredential, "token too large")
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, v.fail(authport.ErrInvalidCredential, "not a compact JWS")
	}
	hseg, pseg, sseg := parts[0], parts[1], parts[2]
	if hseg == "" || pseg == "" {
		return nil, v.fail(authport.ErrInvalidCredential, "empty segment")
	}
	if sseg != "" {
		return nil, v.fail(authport.ErrInvalidCredential, "an unsigned token must have an empty signature")
	}
	hjson, err := b64.DecodeString(hseg)
	if err != nil {
		return nil, v.fail(authport.ErrInvalidCredential, "header is not canonical base64url")
	}
	h, err := v.parseHeader(hjson)
	if err != nil {
		return nil, err
	}
	if h.Alg != "none" {
		return nil, v.fail(authport.ErrInvalidCredential, "algorithm not allowed")
	}
	pjson, err := b64.DecodeString(pseg)
	if err != nil {
		return nil, v.fail(authport.ErrInvalidCredential, "payload is not canonical base64url")
	}
	raw, err := v.parseObject(pjson, "payload")
	if err != nil {
		return nil, err
	}
	iss, _ := raw["iss"].(string)
	p := v.policies[iss]
	if p == nil {
		return nil, v.fail(authport.ErrInvalidCredential, "issuer not trusted")
	}
	if h.Typ != "" && !slices.Contains(p.types, normType(h.Typ)) {
		return nil, v.fail(authport.ErrInvalidCredential, "token type not accepted")
	}
	c := &Claims{Header: h, Raw: raw, Issuer: iss}
	if err := v.checkClaims(p, c); err != nil {
		return nil, err
	}
	return c, nil
}
