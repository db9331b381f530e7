package diy_test

import (
	"context"
	"crypto/ed25519"
	"time"

	"testing"

	"github.com/authport/authport"
	"github.com/authport/authport/conformance"
	"github.com/authport/authport/diy"
	"github.com/authport/authport/internal/jwtcore"
)

// TestConformance runs authport's conformance suite against DIY in both
// session modes on SQLite, PostgreSQL, and PostgreSQL with sessions and
// counters in Redis.
func TestConformance(t *testing.T) {
	for _, kind := range storeKinds {
		for _, mode := range modes {
			name := "diy-" + kind + "-" + mode.String()
			t.Run(name, func(t *testing.T) {
				_, priv, _ := ed25519.GenerateKey(nil)
				b := newBackend(t, kind, mode, func(c *diy.Config) {
					c.SigningKeys = []diy.SigningKey{{ID: "conformance-key", PrivateKey: priv}}
				})
				conformance.Run(t, harness(name, b, priv))
			})
		}
	}
}

func harness(name string, b *diy.Backend, priv ed25519.PrivateKey) conformance.Harness {
	h := conformance.Harness{
		Name:          name,
		Authenticator: b,
		CreateUser: func(ctx context.Context, u conformance.User) (string, error) {
			usr, err := b.CreateUserWithAccess(ctx, u.Email, u.Password,
				diy.Access{Roles: u.Roles, Permissions: u.Permissions, OrgID: u.OrgID})
			if err != nil {
				return "", err
			}
			return usr.ID, nil
		},
		SignIn: func(ctx context.Context, u conformance.User) (*authport.Tokens, error) {
			return b.SignInWithPassword(ctx, u.Email, u.Password)
		},
		RevokeSession: func(ctx context.Context, s *authport.Session) error {
			return b.RevokeSession(ctx, s.UserID, s.SessionID)
		},
		Features: conformance.Features{Roles: true, Permissions: true, Org: true, EmailInToken: true},
	}
	if b.Mode() == diy.ModeJWT {
		const iss, aud = "https://diy.test", "https://diy.test"
		h.Forger = &conformance.Forger{
			Issuer:    iss,
			Audience:  []string{aud},
			Alg:       "EdDSA",
			KID:       "conformance-key",
			PublicKey: priv.Public(),
			Header: func() map[string]any {
				return map[string]any{"alg": "EdDSA", "kid": "conformance-key", "typ": "at+jwt"}
			},
			Claims: func(sub string) map[string]any {
				now := time.Now()
				return map[string]any{"iss": iss, "aud": aud, "sub": sub, "sid": "ses_forged", "jti": "j" + sub,
					"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()}
			},
			SignRaw: func(header, payload []byte) (string, error) {
				return jwtcore.SignRaw("EdDSA", priv, header, payload)
			},
		}
	}
	return h
}
