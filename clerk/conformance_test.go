package clerk_test

import (
	"testing"

	"github.com/authport/authport/clerk/clerktest"
	"github.com/authport/authport/conformance"
)

// TestConformance runs authport's conformance suite against the adapter
// and the Clerk emulator.
func TestConformance(t *testing.T) {
	srv := clerktest.New(t)
	conformance.Run(t, srv.Harness(t))
}
