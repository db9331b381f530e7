package supabase_test

import (
	"testing"

	"github.com/authport/authport/conformance"
	"github.com/authport/authport/supabase/supabasetest"
)

// TestConformance runs the public conformance suite against the emulator
// in each signing mode: the new asymmetric keys (ES256, RS256), the legacy
// HS256 secret, and a project migrating from one to the other (both
// verify; the asymmetric key signs, and in the second variant the legacy
// secret still signs).
func TestConformance(t *testing.T) {
	modes := []struct {
		name string
		opts supabasetest.Options
	}{
		{"ES256", supabasetest.Options{Mode: supabasetest.ModeES256}},
		// Strictly single-use refresh tokens here, so reuse detection is
		// covered too (the other modes keep Supabase's 10 s reuse interval).
		{"RS256", supabasetest.Options{Mode: supabasetest.ModeRS256, RefreshReuseInterval: -1}},
		{"HS256", supabasetest.Options{Mode: supabasetest.ModeHS256}},
		{"Migration", supabasetest.Options{Mode: supabasetest.ModeMigration}},
		{"MigrationLegacySigns", supabasetest.Options{Mode: supabasetest.ModeMigration, LegacySigns: true}},
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			emu := supabasetest.New(t, m.opts)
			conformance.Run(t, emu.Harness(t))
		})
	}
}
