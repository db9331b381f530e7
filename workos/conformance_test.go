package workos_test

import (
	"testing"

	"github.com/authport/authport/conformance"
	"github.com/authport/authport/workos/workostest"
)

// TestConformance runs authport's conformance suite against the emulator:
// once as WorkOS issues tokens (no audience), once with an audience so the
// audience check is exercised too.
func TestConformance(t *testing.T) {
	t.Run("default", func(t *testing.T) {
		emu := workostest.New(t)
		conformance.Run(t, emu.Harness(t))
	})
	t.Run("audience", func(t *testing.T) {
		emu := workostest.New(t, workostest.Options{Audience: "client_audience_check"})
		conformance.Run(t, emu.Harness(t))
	})
}
