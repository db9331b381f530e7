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
// # Verification
//
// auth-go has no token verifier (its only check is GET /user, a round trip
// per request), so every token goes through internal/jwtcore:
//
//   - Asymmetric tokens (ES256, the default for new projects, and RS256)
//     are checked against <SUPABASE_URL>/auth/v1/.well-known/jwks.json,
//     fetched on first use and cached (refreshed on an unknown kid at most
//     every 30 s, kept while the endpoint is down).
//   - Legacy HS256 tokens are checked against SUPABASE_JWT_SECRET when it
//     is set. A project migrating from the secret to signing keys has both
//     kinds live at once: the key is chosen per token by its "alg"
//     (keyset.ByAlg), never mixed — an HS256 token is checked only against
//     the secret, an asymmetric token only against the key set, so an
//     HS256 token made from the public key can never verify. Config.Signing
//     (AUTHPORT_SUPABASE_SIGNING) closes either path: "asymmetric" once the
//     legacy secret is revoked, "legacy" for a project without signing keys
//     (no JWKS fetch at all).
//   - Issuer <SUPABASE_URL>/auth/v1 (exact), audience "authenticated",
//     exp required, one 30 s leeway.
//
// Legacy HS256 tokens usually carry no kid (GoTrue adds one only when
// GOTRUE_JWT_KEY_ID is set) and GoTrue checks them against the secret
// whatever kid they name, so the secret serves any kid. The verifier's
// Policy.KIDOptional names HS256 only: an ES256/RS256 token without kid is
// refused before any key lookup or fetch.
//
// # Deliberately stricter than Supabase
//
// Compared with GoTrue's own check of a bearer token (golang-jwt defaults,
// see TestDifferential), the adapter also refuses: a wrong or missing
// issuer (another project's token), an audience other than the configured
// ones ("anon"), a token without exp, an iat in the future, a "typ" other
// than JWT/at+jwt, "crit", "jku", "jwk", "x5u"/"x5c" headers, repeated JSON
// members, non-canonical base64url, a "sub" or "session_id" that is not a
// UUID (GoTrue refuses those too, at /user). It is laxer in one corner: an
// HS256 token that names an asymmetric key's kid but is signed with the
// legacy secret verifies (GoTrue refuses the key type); only the holder of
// the secret can make one.
//
// # Session mapping
//
// UserID is "sub", SessionID "session_id", Email "email", AuthMethods the
// "amr" methods. Roles come from app_metadata.roles and Permissions from
// app_metadata.permissions (Config.RolesClaim, Config.PermissionsClaim:
// any dotted path, e.g. a custom access-token hook's "user_role").
// app_metadata is writable only by the server; user_metadata is writable by
// the user and never used for roles or for EmailVerified. The top-level
// "role" claim is a PostgreSQL role ("authenticated", "anon",
// "service_role") and never becomes an application role. Supabase has no
// organisations; Config.OrgClaim can name one in app_metadata.
// EmailVerified is set only by VerifyStrict, from the user record's
// email_confirmed_at: the token carries no trustworthy verification flag.
// Session.Native is *Claims (aal, amr, session_id, is_anonymous, the
// metadata, and for VerifyStrict the SDK's *types.User); reach it with
// Session.As.
//
// # Capabilities
//
// Every call below goes through auth-go (configured with
// WithCustomAuthURL(<SUPABASE_URL>/auth/v1) and an http.Client bound to
// the caller's context, since auth-go takes none):
//
//   - PasswordSignIn: SignInWithEmailPassword (POST /token?grant_type=password).
//     An unconfirmed email is an *authport.ActionError (ActionVerifyEmail).
//   - SignUp: Signup (POST /signup); a project that confirms emails returns
//     no session, reported as ActionVerifyEmail.
//   - Refresher: RefreshToken (POST /token?grant_type=refresh_token).
//     Refresh tokens rotate: keep the new one. Supabase refuses a used one
//     once its reuse interval (10 s on hosted projects) has passed, and then
//     ends the session.
//   - Revoker: Logout (POST /logout) with the user's access token, so Revoke
//     needs authport.Tokens. The SDK sends no scope and Supabase's default
//     is global: all of the user's sessions end and their refresh tokens
//     die. This process refuses the revoked session at once.
//   - StrictVerifier: offline Verify, then GetUser (GET /user):
//     "session_not_found", a deleted or banned user are ErrRevoked.
//   - RedirectSignIn (when Config.OAuthProvider is set): Supabase's
//     /authorize with a PKCE S256 challenge, then Token with
//     grant_type=pkce. Supabase does not pass a client state through, so
//     the state rides in redirect_to's query, which Supabase keeps; the
//     redirect URI must be in the project's redirect allow list. The
//     authorize URL is built, not called (the browser calls it), because
//     the SDK's Authorize makes its own PKCE verifier.
//
// # Errors
//
// auth-go returns Supabase's answers as plain strings ("response status
// code 400: {...}"). The adapter parses the body — legacy
// {"code":400,"error_code":...,"msg":...}, API version 2024-01-01
// {"code":"...","message":...}, OAuth {"error","error_description"} and
// the gateway's {"message":"Invalid API key"} — into an *APIError (reach it
// with errors.As) wrapped in one authport kind: invalid_credentials and
// token errors are ErrInvalidCredential, session_not_found ErrRevoked,
// validation and weak_password ErrInvalidInput, rate limits ErrRateLimited,
// a refused API key ErrMisconfigured, 5xx and transport failures
// ErrProviderUnavailable. Error texts never contain a token.
//
// # Revocation delay
//
// A session signed out elsewhere keeps verifying offline until its access
// token expires: at most the project's JWT expiry (Config.JWTExpiry,
// default one hour, which Describe reports). VerifyStrict sees it at once.
package supabase
