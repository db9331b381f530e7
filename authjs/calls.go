package authjs

import (
	"context"

	"github.com/authport/authport"
)

// Revoke ends a database session by deleting its row, as Auth.js's
// signOut does; the next Verify of its cookie fails at once. A JWT
// session cannot be revoked (it lives only in the cookie): Revoke returns
// ErrUnsupported, and Describe reports the session lifetime as the
// revocation delay.
func (a *Authenticator) Revoke(ctx context.Context, s *authport.Session, _ *authport.Tokens) error {
	if a.strategy != StrategyDatabase {
		return authport.NewError(authport.ErrUnsupported, Name, "revoke", "a JWT session cannot be revoked")
	}
	if s == nil || s.SessionID == "" {
		return authport.NewError(authport.ErrInvalidInput, Name, "revoke", "the session has no id")
	}
	if err := a.cfg.Sessions.DeleteSession(ctx, s.SessionID); err != nil {
		return unavailable("revoke", err)
	}
	return nil
}
