package workos_test

import (
	"os"
	"testing"

	"github.com/authport/authport/conformance"
	"github.com/authport/authport/workos"
	"github.com/authport/authport/workos/workostest"
)

// TestLive runs the conformance suite against a real WorkOS environment.
// It is skipped unless AUTHPORT_LIVE_WORKOS=1; it then needs
// WORKOS_API_KEY and WORKOS_CLIENT_ID of a test environment with password
// sign-in enabled and email verification and MFA not required (it creates
// and deletes users and organisations there). WORKOS_BASE_URL,
// WORKOS_ISSUERS and WORKOS_ACCESS_TOKEN_TTL are honoured.
func TestLive(t *testing.T) {
	if os.Getenv("AUTHPORT_LIVE_WORKOS") != "1" {
		t.Skip("live WorkOS test: set AUTHPORT_LIVE_WORKOS=1, WORKOS_API_KEY and WORKOS_CLIENT_ID")
	}
	cfg, err := workos.ConfigFromEnv(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.APIKey == "" || cfg.ClientID == "" {
		t.Fatal("AUTHPORT_LIVE_WORKOS=1 needs WORKOS_API_KEY and WORKOS_CLIENT_ID")
	}
	h, err := workostest.LiveHarness(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	conformance.Run(t, h)
}
