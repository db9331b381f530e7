package supabase_test

import (
	"os"
	"testing"

	"github.com/authport/authport/conformance"
	"github.com/authport/authport/supabase"
	"github.com/authport/authport/supabase/supabasetest"
)

// TestLive runs the conformance suite against a real Supabase project. It
// is skipped unless AUTHPORT_LIVE_SUPABASE=1; it then needs SUPABASE_URL,
// SUPABASE_ANON_KEY and SUPABASE_SERVICE_ROLE_KEY (users are created with
// the admin API and deleted afterwards), and SUPABASE_JWT_SECRET if the
// project still signs with its legacy secret. The project must allow
// email sign-ins for @example.com addresses.
func TestLive(t *testing.T) {
	if os.Getenv("AUTHPORT_LIVE_SUPABASE") != "1" {
		t.Skip("live test: set AUTHPORT_LIVE_SUPABASE=1, SUPABASE_URL, SUPABASE_ANON_KEY and SUPABASE_SERVICE_ROLE_KEY")
	}
	cfg := supabase.Config{
		URL:            os.Getenv("SUPABASE_URL"),
		AnonKey:        os.Getenv("SUPABASE_ANON_KEY"),
		ServiceRoleKey: os.Getenv("SUPABASE_SERVICE_ROLE_KEY"),
		JWTSecret:      os.Getenv("SUPABASE_JWT_SECRET"),
	}
	for name, v := range map[string]string{"SUPABASE_URL": cfg.URL, "SUPABASE_ANON_KEY": cfg.AnonKey, "SUPABASE_SERVICE_ROLE_KEY": cfg.ServiceRoleKey} {
		if v == "" {
			t.Fatalf("AUTHPORT_LIVE_SUPABASE=1 but %s is not set", name)
		}
	}
	h, err := supabasetest.ProjectHarness(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.Name = "supabase-live"
	h.NotApplicable = map[string]string{
		"Refresh/ReuseRejected": "hosted Supabase accepts a used refresh token again within its reuse interval (10 s by default)",
	}
	a := h.Authenticator.(*supabase.Authenticator)
	if s, err := a.Client().GetSettings(); err == nil && !s.MailerAutoconfirm {
		h.NotApplicable["PasswordSignIn/SignUp"] = "the project confirms email addresses: sign-up returns no session"
	}
	conformance.Run(t, h)
}
