package firebase_test

import (
	"os"
	"testing"
	"time"

	"github.com/authport/authport/conformance"
	"github.com/authport/authport/firebase"
	"github.com/authport/authport/firebase/firebasetest"
)

// TestLive runs the conformance suite against a real Firebase project. It
// is skipped unless AUTHPORT_LIVE_FIREBASE=1 and FIREBASE_PROJECT_ID,
// FIREBASE_API_KEY and GOOGLE_APPLICATION_CREDENTIALS (a service account
// allowed to manage users) are set. It creates users with random
// conf-…@example.com addresses (Email/Password sign-in must be enabled) and
// deletes them at the end.
func TestLive(t *testing.T) {
	if os.Getenv("AUTHPORT_LIVE_FIREBASE") != "1" {
		t.Skip("live test: set AUTHPORT_LIVE_FIREBASE=1 with FIREBASE_PROJECT_ID, FIREBASE_API_KEY and GOOGLE_APPLICATION_CREDENTIALS")
	}
	for _, v := range []string{firebase.EnvProjectID, firebase.EnvAPIKey, firebase.EnvCredentials} {
		if os.Getenv(v) == "" {
			t.Fatalf("AUTHPORT_LIVE_FIREBASE=1 needs %s", v)
		}
	}
	for _, ttl := range []time.Duration{0, time.Hour} {
		t.Run(mode(ttl), func(t *testing.T) {
			cfg, err := firebase.ConfigFromEnv(os.Getenv)
			if err != nil {
				t.Fatal(err)
			}
			cfg.EmulatorHost = ""
			cfg.TokenLifetime = ttl
			a, err := firebase.New(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			conformance.Run(t, firebasetest.Harness(t, a, nil))
		})
	}
}
