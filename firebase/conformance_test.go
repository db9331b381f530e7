package firebase_test

import (
	"context"
	"testing"
	"time"

	"github.com/authport/authport"
	"github.com/authport/authport/conformance"
	"github.com/authport/authport/firebase"
	"github.com/authport/authport/firebase/firebasetest"
	"github.com/authport/authport/internal/testenv"
)

// cookieTTL is the session-cookie lifetime of the cookie-mode runs.
const cookieTTL = 24 * time.Hour

// TestConformance runs the public conformance suite four times:
//
//   - against the real Firebase Auth Emulator (firebase-tools, started by
//     scripts/services.sh) with ID tokens and with session cookies: users,
//     password sign-in, sign-up, custom claims, session cookies, refresh,
//     revocation and strict verification through the unmodified Admin SDK.
//     Its tokens are unsigned, so there is no attack catalogue here, and its
//     refresh grant ignores revocation (declared N/A, see firebasetest).
//   - against firebasetest.Emulator, the production path: RS256 tokens,
//     both certificate maps at Google's URLs, the whole attack catalogue,
//     key-fetch counting and a failing key endpoint, with the Admin SDK in
//     production mode.
func TestConformance(t *testing.T) {
	for _, ttl := range []time.Duration{0, cookieTTL} {
		t.Run(mode(ttl)+"/RealEmulator", func(t *testing.T) {
			emu := realEmulator(t)
			cfg := emu.Config()
			cfg.TokenLifetime = ttl
			a, err := firebase.New(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			conformance.Run(t, firebasetest.Harness(t, a, nil))
		})
		t.Run(mode(ttl)+"/Signed", func(t *testing.T) {
			e := signedEmulator(t)
			cfg := e.Config()
			cfg.TokenLifetime = ttl
			open := func() (authport.Authenticator, error) { return firebase.New(context.Background(), cfg) }
			a, err := firebase.New(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			conformance.Run(t, e.Harness(t, a, open))
		})
	}
}

func mode(ttl time.Duration) string {
	if ttl > 0 {
		return "SessionCookie"
	}
	return "IDToken"
}

// realEmulator connects to the Firebase Auth Emulator that
// scripts/services.sh started (FIREBASE_AUTH_EMULATOR_HOST,
// AUTHPORT_TEST_FIREBASE_PROJECT); without it the test is skipped, or
// fails under CI=true.
func realEmulator(t *testing.T) *firebasetest.AuthEmulator {
	t.Helper()
	if realEmulatorHost != "" {
		t.Setenv(firebase.EnvEmulatorHost, realEmulatorHost)
	}
	host := testenv.FirebaseHost(t)
	project := testenv.FirebaseProject(t)
	emu, err := firebasetest.ConnectEmulator(t.Context(), host, project)
	if err != nil {
		t.Fatal(err)
	}
	return emu
}

// signedEmulator starts the production-path emulator, with the Admin SDK
// out of emulator mode (TestMain already unset the variable; this also
// covers a test that set it).
func signedEmulator(t *testing.T) *firebasetest.Emulator {
	t.Helper()
	t.Setenv(firebase.EnvEmulatorHost, "")
	return firebasetest.New(t)
}
