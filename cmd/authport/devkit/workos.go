package devkit

import (
	"context"

	"github.com/authport/authport/workos/workostest"
)

func init() { register("workos", startWorkOS) }

// startWorkOS runs workostest (User Management / AuthKit). A seeded
// account's first role is its role in a "Demo" organisation, which is how
// WorkOS puts roles in tokens.
func startWorkOS(_ context.Context, o EmulatorOptions, e *Emulator) error {
	emu, err := workostest.Start(workostest.Options{Addr: o.Addr, RedirectURIs: o.RedirectURIs, Logger: o.Logger})
	if err != nil {
		return err
	}
	e.close = emu.Close
	e.URL, e.Env = emu.URL, emu.Env()
	e.SignIn = "the app's password form (the API's password grant), or AuthKit's hosted page"
	var org string
	for _, a := range o.Accounts {
		id, err := emu.CreateUser(workostest.NewUser{Email: a.Email, Password: a.Password})
		if err != nil {
			return err
		}
		if len(a.Roles) == 0 {
			continue
		}
		if org == "" {
			if org, err = emu.CreateOrganization("Demo"); err != nil {
				return err
			}
		}
		if _, err := emu.AddMembership(id, org, a.Roles[0]); err != nil {
			return err
		}
	}
	return nil
}
