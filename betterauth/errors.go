package betterauth

import "github.com/authport/authport"

// invalid is an ErrInvalidCredential for op with a safe reason (never the
// token).
func invalid(op, reason string) error {
	return authport.NewError(authport.ErrInvalidCredential, Name, op, reason)
}

// unavailable is an ErrProviderUnavailable for op.
func unavailable(op, reason string, err error) error {
	return &authport.Error{Kind: authport.ErrProviderUnavailable, Provider: Name, Op: op, Reason: reason, Err: err}
}
