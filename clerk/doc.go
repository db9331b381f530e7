// Package clerk is authport's adapter for Clerk (https://clerk.com). It
// verifies Clerk session tokens — the "__session" cookie Clerk's frontend
// sets on the application's origin, or an "Authorization: Bearer" header —
// through authport's one verification core, maps their claims onto
// authport.Session, and uses the official SDK
// (github.com/clerk/clerk-sdk-go/v2) for every Backend API call: the key
// set, strict session checks and revocation.
//
//	cfg, err := clerk.ConfigFromEnv(nil) // CLERK_SECRET_KEY, CLERK_PUBLISHABLE_KEY, ...
//	a, err := clerk.New(ctx, cfg)
//	web, err := authport.NewWeb(a, authport.Config{BearerOnly: true})
//	mux.Handle("/app/", authport.Require()(app))
//	mux.Handle("/org/", authport.RequireOrg()(orgApp)) // refuses pending sessions
//	http.ListenAndServe(addr, web.Middleware(mux))
//
// Importing the package registers it as "clerk" for authport.Open,
// authport.FromEnv (AUTH_PROVIDER=clerk) and authport.OpenURL
// ("clerk://clerk.example.com?authorized_parties=https://app.example.com",
// the secret key staying in CLERK_SECRET_KEY).
//
// The full guide (verification rules, capabilities, migration, emulator) is
// docs/providers/clerk.md in the repository.
//
// # Configuration
//
// [Config] mirrors the environment variables: CLERK_SECRET_KEY (sk_test_…
// or sk_live_…) and CLERK_PUBLISHABLE_KEY (pk_…, which encodes the
// instance's Frontend API host) are needed; CLERK_JWT_KEY (the dashboard's
// PEM public key) verifies without fetching keys and then makes the secret
// key optional (without it there is no strict verification and no
// revocation); CLERK_AUTHORIZED_PARTIES (comma-separated origins),
// CLERK_PROXY_URL, CLERK_API_URL, CLERK_SIGN_IN_URL, CLERK_SIGN_UP_URL,
// CLERK_ROLES_CLAIM and CLERK_PERMISSIONS_CLAIM are optional. A missing or
// malformed value is an ErrMisconfigured error naming the variable, never
// quoting it. New makes no network call.
package clerk
