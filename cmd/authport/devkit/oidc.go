package devkit

import (
	"context"

	"github.com/authport/authport/oidc/oidctest"
)

func init() { register("oidc", startOIDC) }

// startOIDC runs oidctest as a typical hosted identity provider: sign-in
// happens on its hosted page (authorization code + PKCE); the password
// grant is left out, as most issuers do today.
func startOIDC(_ context.Context, o EmulatorOptions, e *Emulator) error {
	emu, err := oidctest.Start(oidctest.Options{
		Addr:            o.Addr,
		RedirectURIs:    o.RedirectURIs,
		NoPasswordGrant: true,
		Logger:          o.Logger,
	})
	if err != nil {
		return err
	}
	e.close = emu.Close
	e.URL = emu.URL
	e.Env = emu.Env()
	e.SignIn = "sign in on the emulator's hosted page (you are redirected there from /auth/login)"
	for _, a := range o.Accounts {
		if _, err := emu.CreateUser(oidctest.NewUser{Email: a.Email, Password: a.Password, EmailVerified: true, Roles: a.Roles}); err != nil {
			return err
		}
	}
	return nil
}
