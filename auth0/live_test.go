package auth0_test

import (
	"os"
	"testing"

	"github.com/authport/authport/auth0"
	"github.com/authport/authport/auth0/auth0test"
	"github.com/authport/authport/conformance"
)

// TestLive runs the conformance suite against a real Auth0 tenant. It is
// opt-in: set AUTHPORT_LIVE_AUTH0=1 and
//
//	AUTH0_DOMAIN         the tenant, e.g. example.eu.auth0.com
//	AUTH0_AUDIENCE       an API identifier of the tenant
//	AUTH0_CLIENT_ID      a Regular Web Application with the Password and
//	AUTH0_CLIENT_SECRET  Client Credentials grants, authorised for the
//	                     Management API with create:users, delete:users,
//	                     delete:refresh_tokens and delete:sessions
//	AUTH0_REALM          the database connection (default
//	                     Username-Password-Authentication)
//
// (and optionally the other AUTH0_* variables auth0.ConfigFromEnv reads).
// Users it creates are deleted at the end. Without AUTHPORT_LIVE_AUTH0=1 the
// test is skipped, also under CI.
func TestLive(t *testing.T) {
	if os.Getenv("AUTHPORT_LIVE_AUTH0") != "1" {
		t.Skip("live Auth0 test: set AUTHPORT_LIVE_AUTH0=1 and the AUTH0_* variables (see TestLive's doc)")
	}
	cfg, err := auth0.ConfigFromEnv(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{auth0.EnvDomain, auth0.EnvAudience, auth0.EnvClientID, auth0.EnvClientSecret} {
		if os.Getenv(v) == "" {
			t.Fatalf("AUTHPORT_LIVE_AUTH0=1 but %s is not set", v)
		}
	}
	conformance.Run(t, auth0test.RemoteHarness(t, auth0test.RemoteOptions{Config: cfg}))
}
