package firebase_test

import (
	"os"
	"testing"

	"github.com/authport/authport/firebase"
	"github.com/authport/authport/firebase/firebasetest"
)

// realEmulatorHost is FIREBASE_AUTH_EMULATOR_HOST as the test binary got it
// (scripts/services.sh / make test export it). TestMain removes it from the
// environment so that everything runs in production mode (signed tokens
// only) except the tests against the real emulator, which set it back for
// their own duration (realEmulator).
var realEmulatorHost string

// TestMain also sends the Admin SDK's hard-coded fetches of Google's
// signing certificates (https://www.googleapis.com/...) to the firebasetest
// emulator running at the time, inside this test binary only, so that the
// SDK's own VerifyIDToken, VerifySessionCookie and ...AndCheckRevoked check
// real RS256 signatures against it (the differential test and the signed
// conformance runs). Every other host is untouched.
func TestMain(m *testing.M) {
	realEmulatorHost = os.Getenv(firebase.EnvEmulatorHost)
	os.Unsetenv(firebase.EnvEmulatorHost)
	firebasetest.InterceptDefaultTransport()
	os.Exit(m.Run())
}
