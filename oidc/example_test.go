package oidc_test

import (
	"context"
	"fmt"
	"log"

	"github.com/authport/authport"
	"github.com/authport/authport/oidc"
	"github.com/authport/authport/oidc/oidctest"
)

// ExampleNew connects the adapter to an issuer (here the local emulator),
// signs a user in and verifies the access token as a request would carry
// it.
func ExampleNew() {
	emu, err := oidctest.Start(oidctest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer emu.Close()
	if _, err := emu.CreateUser(oidctest.NewUser{Email: "ada@example.com", Password: "correct horse", Roles: []string{"admin"}}); err != nil {
		log.Fatal(err)
	}

	ctx := context.Background()
	a, err := oidc.New(ctx, oidc.Config{
		Issuer:       emu.Issuer, // e.g. https://login.example.com/realms/acme
		Audiences:    []string{emu.Audience},
		ClientID:     emu.ClientID,
		ClientSecret: emu.ClientSecret,
	})
	if err != nil {
		log.Fatal(err)
	}
	tokens, err := a.SignInWithPassword(ctx, "ada@example.com", "correct horse")
	if err != nil {
		log.Fatal(err)
	}
	sess, err := a.Verify(ctx, authport.Credential{Token: tokens.AccessToken, Source: authport.SourceHeader})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(sess.Provider, sess.Email, sess.Roles, sess.HasRole("admin"))
	// Output: oidc ada@example.com [admin] true
}

// Example_openURL opens the adapter by URL, as AUTH_PROVIDER or a config
// file would name it.
func Example_openURL() {
	emu, err := oidctest.Start(oidctest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer emu.Close()

	// oidc://<issuer host and path>?audience=…&client_id=…&client_secret=…
	// (insecure=1 because the emulator serves plain HTTP on loopback).
	a, err := authport.OpenURL(context.Background(), emu.OpenURL())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(a.Provider(), authport.Capabilities(a))
	// Output: oidc [password_sign_in redirect_sign_in refresh revoke strict_verify logout_redirect]
}
