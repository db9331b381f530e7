package jwtcore

import (
	"context"

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
	t, err := v.parse(token, true)
	if err != nil {
		return nil, err
	}
	if t.c.Header.Alg != "none" {
		return nil, v.fail(authport.ErrInvalidCredential, "algorithm not allowed")
	}
	if err := v.checkClaims(t.p, t.c); err != nil {
		return nil, err
	}
	return t.c, nil
}
