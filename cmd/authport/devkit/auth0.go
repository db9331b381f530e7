package devkit

import (
	"context"

	"github.com/authport/authport/auth0/auth0test"
)

func init() { register("auth0", startAuth0) }

// startAuth0 runs auth0test, an Auth0 tenant whose database connection
// allows sign-ups; roles reach tokens through the namespaced claim an Auth0
// Action would add.
func startAuth0(_ context.Context, o EmulatorOptions, e *Emulator) error {
	srv, err := auth0test.Start(auth0test.Options{Addr: o.Addr, AllowedCallbackURLs: o.RedirectURIs, Logger: o.Logger})
	if err != nil {
		return err
	}
	e.close = srv.Close
	e.URL, e.Env = srv.URL, srv.Env()
	e.Env["AUTH0_ALLOW_SIGNUP"] = "true" // the tenant's database connection allows sign-ups
	e.SignIn = "the app's password form (the password grant), or Universal Login, the tenant's hosted page"
	for _, a := range o.Accounts {
		if _, err := srv.CreateUser(auth0test.NewUser{Email: a.Email, Password: a.Password, EmailVerified: true, Roles: a.Roles}); err != nil {
			return err
		}
	}
	return nil
}
