package authjs_test

import (
	"context"
	"testing"

	"github.com/authport/authport"
	"github.com/authport/authport/authjs"
	"github.com/authport/authport/authjs/authjstest"
	"github.com/authport/authport/conformance"
)

// TestConformanceJWT runs the conformance suite against the real Auth.js
// library's JWT strategy (scripts/node/authjs).
func TestConformanceJWT(t *testing.T) {
	srv := authjstest.New(t)
	newAuth := func() (authport.Authenticator, error) {
		return authjs.New(context.Background(), authjs.Config{Secrets: []string{srv.Secret}})
	}
	a, err := newAuth()
	if err != nil {
		t.Fatal(err)
	}
	conformance.Run(t, srv.Harness(a, newAuth, authjstest.InstanceJWT))
}
