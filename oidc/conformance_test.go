package oidc_test

import (
	"testing"

	"github.com/authport/authport"
	"github.com/authport/authport/conformance"
	"github.com/authport/authport/oidc"
	"github.com/authport/authport/oidc/oidctest"
)

// TestConformance runs the public conformance suite against the adapter
// and its emulator, with an azp allow-list so J23 runs too.
func TestConformance(t *testing.T) {
	emu := oidctest.New(t)
	cfg := oidc.Config{
		Issuer: emu.Issuer, Audiences: []string{emu.Audience},
		ClientID: emu.ClientID, ClientSecret: emu.ClientSecret,
		AuthorizedParties: []string{emu.ClientID},
		HTTPClient:        emu.Client(),
		Clock:             emu.Clock.Now,
	}
	open := func() (authport.Authenticator, error) { return oidc.New(t.Context(), cfg) }
	a, err := open()
	if err != nil {
		t.Fatal(err)
	}
	h := emu.Harness(a, open)
	h.Forger.AuthorizedParty = emu.ClientID
	conformance.Run(t, h)
}
