package conformance_test

import (
	"context"
	"fmt"
	"log"

	"github.com/authport/authport"
	"github.com/authport/authport/oidc"
	"github.com/authport/authport/oidc/oidctest"
)

// Example shows the wiring a provider's conformance test needs: an adapter
// connected to the provider (here the OIDC emulator), a constructor for
// cold adapters, and the emulator's admin oracle. In a _test.go file the
// last step is conformance.Run(t, h).
func Example() {
	emu, err := oidctest.Start(oidctest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer emu.Close()
	newAuth := func() (authport.Authenticator, error) {
		return oidc.New(context.Background(), oidc.Config{
			Issuer: emu.Issuer, Audiences: []string{emu.Audience},
			ClientID: emu.ClientID, ClientSecret: emu.ClientSecret,
		})
	}
	a, err := newAuth()
	if err != nil {
		log.Fatal(err)
	}
	h := emu.Harness(a, newAuth)
	fmt.Println("provider:", h.Authenticator.Provider())
	fmt.Println("attack catalogue enabled:", h.Forger != nil)
	fmt.Println("capabilities:", authport.Capabilities(a))
	// Output:
	// provider: oidc
	// attack catalogue enabled: true
	// capabilities: [password_sign_in redirect_sign_in refresh revoke strict_verify logout_redirect]
}
