package oidctest

import (
	"context"
	"errors"

	"github.com/authport/authport"
	"github.com/authport/authport/conformance"
	"github.com/authport/authport/internal/emulator"
)

// Forger gives the conformance suite the emulator's trusted key: headers
// and claims exactly as the emulator mints access tokens, and raw signing
// with the current key. authorizedParty is the "azp" the adapter under
// test requires ("" when it has no allow-list; the emulator's tokens carry
// azp = ClientID).
func (e *Emulator) Forger(authorizedParty string) *conformance.Forger {
	k := e.Keys.Current()
	return &conformance.Forger{
		Issuer:          e.Issuer,
		Audience:        []string{e.Audience},
		AuthorizedParty: authorizedParty,
		Alg:             k.Algorithm,
		KID:             k.ID,
		PublicKey:       k.Public,
		Header: func() map[string]any {
			return map[string]any{"alg": e.Keys.Algorithm(), "kid": e.Keys.KID(), "typ": "at+jwt"}
		},
		Claims: func(sub string) map[string]any {
			now := e.Clock.Now()
			c := e.accessClaims(nil, nil)
			c["sub"] = sub
			c["iat"] = now.Unix()
			c["nbf"] = now.Unix()
			c["exp"] = now.Add(e.o.TokenTTL).Unix()
			c["jti"] = emulator.NewUUID()
			return c
		},
		SignRaw: func(header, payload []byte) (string, error) {
			return e.Keys.Current().SignRaw(header, payload)
		},
	}
}

// Harness wires adapter a (and newAuth, which returns a fresh adapter
// with cold caches; may be nil) to this emulator for conformance.Run:
// users are created in the emulator's store, signed in through its /token
// endpoint (or hosted page), revoked as an administrator would, and the
// JWKS endpoint is counted and failed on demand. Set Forger.AuthorizedParty
// if a requires azp.
func (e *Emulator) Harness(a authport.Authenticator, newAuth func() (authport.Authenticator, error)) conformance.Harness {
	return conformance.Harness{
		Name:             "oidc",
		Authenticator:    a,
		NewAuthenticator: newAuth,
		CreateUser: func(ctx context.Context, u conformance.User) (string, error) {
			nu, err := e.CreateUser(NewUser{
				Email: u.Email, Password: u.Password, EmailVerified: true,
				Roles: u.Roles, Permissions: u.Permissions, OrgID: u.OrgID,
			})
			if err != nil {
				return "", err
			}
			return nu.ID, nil
		},
		SignIn: func(ctx context.Context, u conformance.User) (*authport.Tokens, error) {
			return e.SignIn(ctx, u.Email, u.Password)
		},
		RevokeSession: func(ctx context.Context, s *authport.Session) error {
			if s.SessionID == "" {
				return errors.New("oidctest: the session has no id")
			}
			return e.RevokeSession(s.SessionID)
		},
		Forger:         e.Forger(""),
		KeyFetches:     e.KeyFetches,
		SetKeysDown:    e.SetKeysDown,
		SetRateLimited: e.SetRateLimited,
		Features:       conformance.Features{Roles: true, Permissions: true, Org: true, EmailInToken: true},
	}
}
