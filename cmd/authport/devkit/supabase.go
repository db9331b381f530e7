package devkit

import (
	"context"

	"github.com/authport/authport/supabase/supabasetest"
)

func init() { register("supabase", startSupabase) }

// startSupabase runs supabasetest (Supabase Auth behind the API gateway,
// ES256 keys); roles go to app_metadata.roles.
func startSupabase(_ context.Context, o EmulatorOptions, e *Emulator) error {
	emu, err := supabasetest.Start(supabasetest.Options{Addr: o.Addr, Logger: o.Logger})
	if err != nil {
		return err
	}
	e.close = emu.Close
	e.URL, e.Env = emu.URL, emu.Env()
	e.SignIn = "the app's password form (Supabase Auth's password grant); sign-up works too"
	for _, a := range o.Accounts {
		if _, err := emu.CreateUser(supabasetest.User{Email: a.Email, Password: a.Password, Roles: a.Roles}); err != nil {
			return err
		}
	}
	return nil
}
