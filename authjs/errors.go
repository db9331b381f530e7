package authjs

import (
	"github.com/authport/authport"
)

// Errors carry a fixed, safe reason: never the token, a secret, a derived
// key or a database error's text (which could quote a query parameter).

func invalid(reason string) error {
	return authport.NewError(authport.ErrInvalidCredential, Name, "verify", reason)
}

// invalidErr reports one of the JWE parsing or decryption errors, whose
// texts are fixed.
func invalidErr(err error) error {
	return invalid(err.Error())
}

func expired(reason string) error {
	return authport.NewError(authport.ErrExpired, Name, "verify", reason)
}

// unavailable reports that the session store could not be asked. The
// cause is kept for errors.Is/As but its text is not shown: a driver error
// may quote the session token it was given.
func unavailable(op string, cause error) error {
	return &authport.Error{Kind: authport.ErrProviderUnavailable, Provider: Name, Op: op,
		Reason: "the session database could not be reached", Err: quiet{cause}}
}

func misconfigured(reason string) error {
	return authport.NewError(authport.ErrMisconfigured, Name, "config", reason)
}

// quiet wraps an error for errors.Is and errors.As without showing its
// text.
type quiet struct{ err error }

func (q quiet) Error() string { return "database error" }
func (q quiet) Unwrap() error { return q.err }
