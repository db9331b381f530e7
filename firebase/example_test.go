package firebase_test

import (
	"context"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/authport/authport"
	"github.com/authport/authport/firebase"
	"github.com/authport/authport/firebase/firebasetest"
)

// ExampleNew verifies a Firebase ID token as a request would carry it. The
// project here is firebasetest's emulator of Firebase's production
// endpoints; in an application, Config needs only ProjectID (and APIKey for
// password sign-in).
func ExampleNew() {
	emu, err := firebasetest.Start(firebasetest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer emu.Close()
	if _, err := emu.CreateUser(firebasetest.NewUser{Email: "ada@example.com", Password: "correct horse", Roles: []string{"admin"}}); err != nil {
		log.Fatal(err)
	}

	ctx := context.Background()
	cfg := emu.Config() // ProjectID, APIKey, and clients that reach the emulator at Google's URLs
	a, err := firebase.New(ctx, cfg)
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
	fmt.Println(sess.Provider, sess.Email, sess.Roles, sess.AuthMethods)
	// Output: firebase ada@example.com [admin] [password]
}

// ExampleConfig_sessionCookie signs in with session cookies: the access
// token is a Firebase session cookie minted by the Admin SDK from the ID
// token, valid for TokenLifetime.
func ExampleConfig_sessionCookie() {
	emu, err := firebasetest.Start(firebasetest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer emu.Close()
	if _, err := emu.CreateUser(firebasetest.NewUser{Email: "ada@example.com", Password: "correct horse"}); err != nil {
		log.Fatal(err)
	}

	ctx := context.Background()
	cfg := emu.Config()
	cfg.TokenLifetime = 14 * 24 * time.Hour
	a, err := firebase.New(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	tokens, err := a.SignInWithPassword(ctx, "ada@example.com", "correct horse")
	if err != nil {
		log.Fatal(err)
	}
	sess, err := a.Verify(ctx, authport.Credential{Token: tokens.AccessToken, Source: authport.SourceCookie, Cookie: "__session"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(strings.HasPrefix(sess.Issuer, firebase.SessionCookieIssuerPrefix), sess.ExpiresAt.Sub(sess.IssuedAt))
	// Output: true 336h0m0s
}
