// Package betterauth authenticates the users of a Better Auth deployment
// (the better-auth npm library, typically in a TanStack Start or Next.js
// application) in a Go API, without running any JavaScript.
//
// Sign-in happens in the JavaScript application; the Go API verifies what
// the library hands the browser or client:
//
//   - the session cookie better-auth.session_token (or its __Secure- form;
//     prefix and name configurable): URL-decoded, split at the last '.',
//     its HMAC-SHA256 signature checked with the library's secret, then the
//     session looked up by token in the application's database and joined
//     to its user. A missing or expired row is refused, so sign-out and
//     revocation take effect at once. Only the current secret signs
//     session cookies, as in the library: a cookie signed before a secret
//     rotation is refused there too.
//   - the bearer plugin's token (Authorization: Bearer token.signature),
//     checked the same way.
//   - the JWT plugin's tokens (GET /api/auth/token, the set-auth-jwt
//     header), verified offline against /api/auth/jwks through authport's
//     verification core: EdDSA (Ed25519, the plugin's default), ES256,
//     ES512, RS256 or PS256; issuer and audience are the base URL's origin,
//     as the plugin sets them. They carry no session id: a revoked session's
//     tokens verify until they expire (15 minutes by default), except
//     through VerifyStrict.
//   - optionally the cookie cache (session.cookieCache, the session_data
//     cookie, possibly in chunks; compact, jwt and jwe strategies), trusted
//     under exactly the library's conditions, which delays revocation by up
//     to its maxAge. Verify reads it from the request authport.Web is
//     serving, or one set with RequestCookies.
//   - without database access (remote mode), by asking the server:
//     GET /api/auth/get-session with the cookie forwarded, bounded by
//     HTTPTimeout and reused for RemoteCacheTTL; ErrProviderUnavailable
//     when the server is down.
//
// The user's id, email, emailVerified and the admin plugin's role (a
// comma-separated list) map onto Session; a user the admin plugin banned
// is refused as revoked until the ban expires; the organization plugin's
// active organisation becomes OrgID and the user's member role in it the
// role "org:<role>". Describe reports the revocation delay the
// configuration implies.
//
// The library's tables (session, user, member) and camelCase columns are
// read as its migrations create them; Schema renames them as the
// application did. Config.DB is a database/sql handle: the adapter links no
// database engine. Import betterauth/pgdb to open postgres:// URLs by
// configuration.
//
// # Configuration
//
// ConfigFromEnv (and authport.FromEnv with AUTH_PROVIDER=betterauth) reads
// the library's own variables: BETTER_AUTH_SECRETS ("2:new,1:old", current
// first), BETTER_AUTH_SECRET and AUTH_SECRET (the first set is the
// secret), BETTER_AUTH_URL, DATABASE_URL (or
// AUTHPORT_BETTERAUTH_DATABASE_URL), and AUTHPORT_BETTERAUTH_JWT=true to
// accept JWT plugin tokens, AUTHPORT_BETTERAUTH_COOKIE_CACHE (compact, jwt,
// jwe) with AUTHPORT_BETTERAUTH_COOKIE_CACHE_MAX_AGE,
// AUTHPORT_BETTERAUTH_COOKIE_PREFIX, AUTHPORT_BETTERAUTH_COOKIE_NAME.
// authport.OpenURL takes
// "betterauth://app.example.com?secret=...&database_url=...&jwt=true".
//
// See docs/providers/betterauth.md for forwarding the user from a TanStack
// Start or Next.js application to the Go API.
package betterauth
