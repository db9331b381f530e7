// Package clerk is authport's adapter for Clerk (https://clerk.com). It
// verifies Clerk session tokens — the "__session" cookie Clerk's frontend
// sets on the application's origin, or an "Authorization: Bearer" header —
// through authport's one verification core, maps their claims onto
// authport.Session, and uses the official SDK
// (github.com/clerk/clerk-sdk-go/v2) for every Backend API call: the key
// set, strict session checks and revocation.
//
//	a, err := clerk.New(ctx, clerk.ConfigFromEnv(nil)) // CLERK_SECRET_KEY, CLERK_PUBLISHABLE_KEY, ...
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
//
// # Verification
//
//   - Keys: the instance's key set from the Backend API (GET /v1/jwks with
//     the secret key, through the SDK's jwks client — per Authenticator, not
//     the SDK's process-wide backend), parsed with authport's key policy
//     and kept in the shared key-set cache: one fetch for many concurrent
//     misses, a rate-limited refresh on an unknown kid (key rotation), the
//     last good set kept while Clerk is unreachable, fail closed when
//     nothing is cached. The SDK's own jwt.Verify fetches the key set on
//     every call, and its middleware caches keys process-wide by bare kid;
//     the adapter does neither. With CLERK_JWT_KEY nothing is fetched: the
//     one key verifies whatever kid the token names (a kid is still
//     required).
//   - "iss" must equal https://<Frontend API host> from the publishable key
//     (or CLERK_PROXY_URL) exactly; RS256 only; "typ", when present, JWT;
//     "azp" must be one of AuthorizedParties when they are set; "exp" is
//     required; exp, nbf and iat are checked with one leeway, 5 s by
//     default (Clerk's own backend SDKs allow 5 s; tokens live 60 s).
//   - Verified tokens are cached until they expire, so a repeated token
//     costs a map lookup, not a signature check.
//
// # Session mapping
//
// UserID is "sub", SessionID "sid", TokenID "jti", Issuer "iss". For a
// version-2 token with an active organisation ("v":2 and "o" with an
// id), OrgID is o.id, OrgSlug o.slg, Roles ["org:"+o.rol] (Clerk leaves the
// prefix out of the token; the SDK adds it) and Permissions the organisation
// permissions expanded from "fea", o.per and o.fpm exactly as the SDK does
// ([OrganizationPermissions]: bit j of the i-th fpm mask grants
// "org:<feature>:<per[j]>"). Otherwise the deprecated version-1 claims
// apply: org_id, org_slug, org_role (already "org:"-prefixed) and
// org_permissions. System permissions are not in Clerk tokens. Roles and
// Permissions then get the values of Config.RolesClaim and
// Config.PermissionsClaim, custom session-token claims such as
// "metadata.roles" for Clerk's documented "metadata":
// "{{user.public_metadata}}" customization. Email and EmailVerified come
// from "email" and "email_verified" when the session token is customized to
// carry them. Status is "active", or authport.StatusPending for "sts":
// "pending" (a required step such as choosing an organisation is
// unfinished; an unknown sts fails closed the same way): RequireOrg and
// authport.Org refuse pending sessions. Session.Native is the SDK's own
// *clerk.SessionClaims, filled as jwt.Verify fills it (including its
// Version 1 for version-2 tokens without an organisation), so
//
//	var sc *clerksdk.SessionClaims // clerksdk "github.com/clerk/clerk-sdk-go/v2"
//	if sess.As(&sc) && sc.NeedsReverification(policy) { ... }
//
// works as with the SDK; its ValidateWithLeeway has nothing to check
// (authport already checked the times). Claims of a type the SDK would
// refuse to decode ("v" not an integer, "o" not an object of strings, ...)
// make the token invalid, as they make jwt.Verify fail.
//
// # Strict verification, revocation
//
// [Authenticator.VerifyStrict] also asks the Backend API for the session
// (GET /v1/sessions/{sid}, SDK session client): it must belong to the
// token's user and be "active" — or "pending", reported as Status pending —
// else the credential is ErrRevoked. [Authenticator.Revoke] revokes the
// session at Clerk (POST /v1/sessions/{id}/revoke) and denies its session
// id in this process at once. Revocation delay: a session revoked anywhere
// else (the dashboard, another process, Clerk's frontend signing out) keeps
// passing Verify until its last token expires — the token lifetime plus the
// leeway, 65 s by default, reported by Describe — unless the application
// verifies strictly (authport.Config.Strict), at the cost of a Backend API
// round trip per request.
//
// Clerk is not an authport.LogoutRedirector (Describe lists
// CapLogoutRedirect as unsupported, and authport.Web's POST /logout goes
// straight to AfterLogoutPath): Clerk has no hosted logout URL that takes a
// return address — its frontend signs out through clerk-js — and none is
// needed, because the browser's Clerk session (the Account Portal's client
// cookie points at it) is the very session Revoke ends at Clerk. After a
// sign-out through authport.Web the hosted sign-in page asks for a password
// again; clerk/clerktest behaves the same (its __client cookie only
// signs a browser back in while the session is live).
//
// # Redirect sign-in and how Exchange works
//
// Clerk signs users in on its own frontend; the Backend API has no
// password sign-in, no sign-up and no refresh token (those capabilities are
// reported unsupported). [Authenticator.AuthorizeURL] sends the browser to
// the instance's hosted sign-in page — the Account Portal,
// https://<slug>.accounts.dev/sign-in for a development instance and
// https://accounts.<domain>/sign-in for a production one, or
// CLERK_SIGN_IN_URL — with redirect_url set to the application's callback
// carrying the state (Clerk has no state parameter and no PKCE). Clerk hands
// the signed-in session back to the application's origin through its
// handshake: the browser returns to redirect_url with __clerk_handshake, a
// token whose "handshake" claim lists the Set-Cookie lines for the
// application, among them "__session=<session token>". [Authenticator.Exchange]
// takes that __session value and verifies it in full, exactly as Verify
// does; the handshake wrapper itself is only decoded (with the SDK's
// jwt.Decode), because the session token inside is what proves the
// sign-in, and the callback is bound to the browser by state
// (authport.Handler checks it). authport.Handler then keeps the token in its
// sealed cookie. There is no refresh token: when the 60 s token expires the
// browser goes through the hosted page again, which, like Clerk's Account
// Portal, returns at once while the Clerk session is live. Applications that
// run Clerk's frontend on their pages need none of this: the __session
// cookie it keeps fresh is read directly (see
// [Authenticator.ProviderCookies]). Clerk production instances deliver the
// handshake as cookies on the application's domain rather than as a query
// parameter; there, use Clerk's frontend and the __session cookie. The
// emulator (package clerktest) serves a hosted page that completes the
// redirect flow offline.
//
// # Deliberately stricter than the SDK
//
// The differential test (differential_test.go) checks, on tokens the
// emulator mints and on broken variants, that the adapter accepts exactly
// the tokens jwt.Verify (with the emulator's JWK, the same leeway and the
// middleware's AuthorizedPartyMatches rule) accepts, with the same claims,
// except these, which only the adapter refuses:
//
//   - an issuer other than the configured one: the SDK accepts any
//     https://clerk.* or *.clerk.accounts* issuer, so a token of another
//     Clerk instance (or https://clerk.evil.com) passes its check;
//   - a missing "azp" when AuthorizedParties are set (AuthorizedPartyMatches
//     lets a token without azp through);
//   - no "exp" or no "sub";
//   - no kid, or a kid naming no trusted key (jwt.Verify given a JWK
//     ignores the kid);
//   - a "typ" other than JWT; a "jku", "jwk", "x5u", "x5c", "cty", "zip"
//     or "b64" header (the SDK ignores them);
//   - non-canonical base64url (padding), invalid UTF-8, tokens over 8 KiB.
//
// Tokens the SDK refuses and the adapter refuses too include repeated JSON
// members, claims of the wrong type, a "crit" header, alg none, HMAC with
// the public key, another algorithm than the key's, and times outside the
// leeway. The adapter accepts nothing the SDK refuses.
//
// # Migrating from clerkhttp
//
// An application using github.com/clerk/clerk-sdk-go/v2/http changes its
// middleware, not its handlers' logic:
//
//	// before
//	clerk.SetKey(os.Getenv("CLERK_SECRET_KEY"))
//	mux.Handle("/api/", clerkhttp.RequireHeaderAuthorization(
//		clerkhttp.AuthorizedPartyMatches("https://app.example.com"))(api))
//	claims, ok := clerk.SessionClaimsFromContext(r.Context())
//
//	// after (CLERK_PUBLISHABLE_KEY and CLERK_AUTHORIZED_PARTIES set too)
//	a, _ := authport.FromEnv(ctx)
//	web, _ := authport.NewWeb(a, authport.Config{BearerOnly: true})
//	mux.Handle("/api/", authport.Require()(api))
//	handler := web.Middleware(mux)
//	sess, ok := authport.SessionFrom(r.Context())
//	var claims *clerksdk.SessionClaims // clerksdk "github.com/clerk/clerk-sdk-go/v2"
//	sess.As(&claims)                   // the SDK's type, for code that still wants it
//
// The differences: authport also reads the __session cookie (clerkhttp
// only with a custom extractor); it answers 401 with a JSON body and
// WWW-Authenticate, and 403 for a missing role or permission
// (RequireHeaderAuthorization answers 403 for everything); claims.HasRole
// and HasPermission become authport.RequireRole("org:admin") and
// authport.RequirePermission("org:posts:write").
package clerk
