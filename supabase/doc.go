// Package supabase is authport's adapter for Supabase Auth (GoTrue). It
// verifies Supabase access tokens offline through authport's shared
// verification core and calls Supabase Auth through the official Go SDK,
// github.com/supabase-community/auth-go.
//
//	a, err := supabase.New(ctx, supabase.Config{
//		URL:     os.Getenv("SUPABASE_URL"),      // https://<ref>.supabase.co
//		AnonKey: os.Getenv("SUPABASE_ANON_KEY"), // sent as the apikey header
//		// JWTSecret: os.Getenv("SUPABASE_JWT_SECRET"), // while legacy HS256 tokens are live
//	})
//
// or, by configuration, authport.FromEnv with AUTH_PROVIDER=supabase, or
// authport.OpenURL(ctx, "supabase://<ref>.supabase.co?anon_key=...").
//
// The full guide (verification rules, capabilities, migration, emulator) is
// docs/providers/supabase.md in the repository.
//
// # Configuration
//
// Supabase's own variables: SUPABASE_URL, SUPABASE_ANON_KEY (or
// SUPABASE_PUBLISHABLE_KEY), SUPABASE_SERVICE_ROLE_KEY (or
// SUPABASE_SECRET_KEY), SUPABASE_JWT_SECRET. authport's own:
// AUTHPORT_SUPABASE_SIGNING, AUTHPORT_SUPABASE_ROLES_CLAIM,
// AUTHPORT_SUPABASE_PERMISSIONS_CLAIM, AUTHPORT_SUPABASE_ORG_CLAIM,
// AUTHPORT_SUPABASE_OAUTH_PROVIDER, AUTHPORT_SUPABASE_OAUTH_SCOPES.
// ConfigFromEnv reads them.
package supabase
