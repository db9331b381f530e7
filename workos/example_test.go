package workos_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/authport/authport"
	"github.com/authport/authport/workos"
	"github.com/authport/authport/workos/workostest"
)

// Example signs a user in with a password against the local emulator and
// verifies the access token, as a request's middleware would.
func Example() {
	ctx := context.Background()
	emu, err := workostest.Start(workostest.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer emu.Close()
	uid, _ := emu.CreateUser(workostest.NewUser{Email: "ada@example.com", Password: "correct horse battery staple"})
	org, _ := emu.CreateOrganization("Analytical Engines")
	emu.DefineRole("admin", "reports:read")
	emu.AddMembership(uid, org, "admin")

	a, err := workos.New(ctx, emu.Config()) // in production: WORKOS_API_KEY, WORKOS_CLIENT_ID
	if err != nil {
		fmt.Println(err)
		return
	}
	tok, err := a.SignInWithPassword(ctx, "ada@example.com", "correct horse battery staple")
	if err != nil {
		fmt.Println(err)
		return
	}
	s, err := a.Verify(ctx, authport.Credential{Token: tok.AccessToken, Source: authport.SourceHeader})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s.Provider, s.UserID == uid, s.OrgID == org, s.Roles, s.Permissions)

	_, err = a.SignInWithPassword(ctx, "ada@example.com", "wrong")
	fmt.Println(errors.Is(err, authport.ErrInvalidCredential))
	// Output:
	// workos true true [admin] [reports:read]
	// true
}

// ExampleAuthenticator_AuthorizeURL builds the AuthKit redirect with state
// and a PKCE challenge; authport's /auth/login handler does this for you.
func ExampleAuthenticator_AuthorizeURL() {
	a, _ := workos.New(context.Background(), workos.Config{
		APIKey: "sk_test_example", ClientID: "client_01EXAMPLE",
		RedirectURI: "https://app.example.com/auth/callback",
	})
	raw, _ := a.AuthorizeURL(context.Background(), authport.AuthorizeRequest{
		State: "af0ifjsldkj", CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
	})
	u, _ := url.Parse(raw)
	fmt.Println(u.Host + u.Path)
	fmt.Println(u.Query().Get("provider"), u.Query().Get("code_challenge_method"), u.Query().Get("redirect_uri"))
	// Output:
	// api.workos.com/user_management/authorize
	// authkit S256 https://app.example.com/auth/callback
}

// ExampleAuthenticator_SwitchOrganization moves a session into another
// organisation by refreshing it.
func ExampleAuthenticator_SwitchOrganization() {
	ctx := context.Background()
	emu, err := workostest.Start(workostest.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer emu.Close()
	uid, _ := emu.CreateUser(workostest.NewUser{Email: "grace@example.com", Password: "pw-123456789"})
	one, _ := emu.CreateOrganization("One")
	two, _ := emu.CreateOrganization("Two")
	emu.AddMembership(uid, one, "member")
	emu.AddMembership(uid, two, "admin")

	a, _ := workos.New(ctx, emu.Config())
	_, err = a.SignInWithPassword(ctx, "grace@example.com", "pw-123456789")
	var ae *authport.ActionError
	if errors.As(err, &ae) && ae.Action == authport.ActionSelectOrganization {
		tok, _ := a.CompleteOrganizationSelection(ctx, ae.PendingToken, one)
		tok, _ = a.SwitchOrganization(ctx, tok.RefreshToken, two)
		s, _ := a.Verify(ctx, authport.Credential{Token: tok.AccessToken})
		fmt.Println(len(ae.Organizations), s.OrgID == two, s.Roles)
	}
	// Output: 2 true [admin]
}
