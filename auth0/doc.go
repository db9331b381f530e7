// Package auth0 is authport's adapter for Auth0: it verifies Auth0 access
// tokens for your API through authport's one verification core, signs users
// in with Auth0's Authentication API through golang.org/x/oauth2 (the
// library Auth0's own Go quick-starts use), and plugs into an application
// already written for github.com/auth0/go-jwt-middleware/v2 with a one-line
// change.
//
//	a, err := auth0.New(ctx, auth0.Config{
//		Domain:    "example.eu.auth0.com",
//		Audiences: []string{"https://api.example.com"},
//	})
//	mux.Handle("/api/", authport.Require()(api))
//	web, _ := authport.NewWeb(a, authport.Config{BearerOnly: true})
//	http.ListenAndServe(addr, web.Middleware(mux))
//
// Importing the package registers it as "auth0" for authport.Open,
// authport.OpenURL ("auth0://example.eu.auth0.com?audience=https://api.example.com")
// and authport.FromEnv (AUTH0_DOMAIN, AUTH0_AUDIENCE, ...; see [Config]).
//
// The full guide (verification rules, capabilities, migration, emulator) is
// docs/providers/auth0.md in the repository.
package auth0
