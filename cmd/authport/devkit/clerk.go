package devkit

import (
	"context"
	"fmt"

	"github.com/authport/authport/clerk"
	"github.com/authport/authport/clerk/clerktest"
)

func init() { register("clerk", startClerk) }

// startClerk runs clerktest, a Clerk development instance whose session
// tokens are customized, as Clerk's documentation suggests, to carry the
// email address and the public metadata; a seeded account's roles live in
// its public metadata and CLERK_ROLES_CLAIM=metadata.roles maps them.
func startClerk(_ context.Context, o EmulatorOptions, e *Emulator) (err error) {
	defer func() {
		if r := recover(); r != nil { // Start panics when it cannot listen
			err = fmt.Errorf("clerktest: %v", r)
		}
	}()
	srv := clerktest.Start(clerktest.Options{Addr: o.Addr, SessionClaims: clerktest.HarnessSessionClaims, Logger: o.Logger})
	e.close = srv.Close
	e.URL, e.Env = srv.URL, srv.Env()
	e.Env[clerk.EnvRolesClaim] = "metadata.roles"
	e.SignIn = "the instance's hosted sign-in page (the Account Portal), which hands the session back through Clerk's handshake"
	for _, a := range o.Accounts {
		u := clerktest.NewUser{Email: a.Email, Password: a.Password}
		if len(a.Roles) > 0 {
			u.PublicMetadata = map[string]any{"roles": a.Roles}
		}
		if _, err := srv.CreateUser(u); err != nil {
			return err
		}
	}
	return nil
}
