package clerk_test

import (
	"os"
	"strings"
	"testing"

	"github.com/authport/authport"
	"github.com/authport/authport/clerk"
	"github.com/authport/authport/clerk/clerktest"
	"github.com/authport/authport/conformance"
)

// TestLive runs the conformance suite against a real Clerk development
// instance, through the same Backend API harness the emulator test uses.
// It is skipped unless AUTHPORT_LIVE_CLERK=1, and needs:
//
//   - CLERK_SECRET_KEY: a development instance's sk_test_ key (the test
//     creates users, organisations and sessions, and deletes them after);
//   - CLERK_PUBLISHABLE_KEY: the same instance's pk_test_ key;
//   - optionally CLERK_AUTHORIZED_PARTIES, CLERK_API_URL;
//   - AUTHPORT_LIVE_CLERK_METADATA=1 if the instance's session token is
//     customized as clerktest.HarnessSessionClaims ({"metadata":
//     "{{user.public_metadata}}", "email": "{{user.primary_email_address}}",
//     "email_verified": "{{user.email_verified}}"}), enabling the role,
//     permission and email scenarios;
//   - AUTHPORT_LIVE_CLERK_ORGS=1 if organisations are enabled.
func TestLive(t *testing.T) {
	if os.Getenv("AUTHPORT_LIVE_CLERK") != "1" {
		t.Skip("live Clerk test: set AUTHPORT_LIVE_CLERK=1, CLERK_SECRET_KEY (sk_test_…) and CLERK_PUBLISHABLE_KEY")
	}
	cfg, err := clerk.ConfigFromEnv(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(cfg.SecretKey, "sk_test_") {
		t.Fatal("the live test creates users: CLERK_SECRET_KEY must be a development instance's sk_test_ key")
	}
	meta := os.Getenv("AUTHPORT_LIVE_CLERK_METADATA") == "1"
	if meta {
		cfg.RolesClaim, cfg.PermissionsClaim = "metadata.roles", "metadata.permissions"
	}
	newAuth := func() (authport.Authenticator, error) { return clerk.New(t.Context(), cfg) }
	a, err := newAuth()
	if err != nil {
		t.Fatal(err)
	}
	conformance.Run(t, clerktest.NewHarness(t, clerktest.HarnessConfig{
		Name:             "clerk-live",
		Authenticator:    a,
		NewAuthenticator: newAuth,
		SecretKey:        cfg.SecretKey,
		APIURL:           cfg.APIURL,
		Features: conformance.Features{
			Roles: meta, Permissions: meta, EmailInToken: meta, Org: os.Getenv("AUTHPORT_LIVE_CLERK_ORGS") == "1",
		},
		Cleanup: true,
	}))
}
