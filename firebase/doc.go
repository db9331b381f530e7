// Package firebase is authport's adapter for Firebase Authentication, built
// on the official Admin SDK firebase.google.com/go/v4 (package auth,
// v4.19.0).
//
// Import it for its side effect to make "firebase" available to
// authport.Open, authport.OpenURL and authport.FromEnv, or call New:
//
//	a, err := firebase.New(ctx, firebase.Config{
//		ProjectID: os.Getenv("FIREBASE_PROJECT_ID"),
//		APIKey:    os.Getenv("FIREBASE_API_KEY"), // optional: password sign-in, refresh
//	})
//
// # Verification
//
// Firebase issues two kinds of credential, and Verify accepts both, from a
// bearer header or a cookie alike: ID tokens (issuer
// https://securetoken.google.com/<project>, one hour) and session cookies
// (issuer https://session.firebase.google.com/<project>, 5 minutes to 14
// days). They go through authport's shared verification core
// (internal/jwtcore): one verifier holding one policy per issuer, each with
// its own key set — the X.509 certificate maps the Admin SDK itself
// fetches (robot/v1/metadata/x509/securetoken@system.gserviceaccount.com
// and identitytoolkit/v3/relyingparty/publicKeys on www.googleapis.com),
// held by the shared key-set cache (Cache-Control max-age honoured, single
// flight, refresh on an unknown kid at most every 30 s, last good set kept
// while Google is unreachable, fail closed when nothing is cached). Policy:
//
//   - RS256 only, "kid" required, "typ" JWT when present;
//   - "iss" exactly one of the two issuers, "aud" the project id;
//   - "exp" and "iat" required, "auth_time" required and not in the
//     future, one leeway for all three (Config.Leeway, default 30 s; the
//     Admin SDK's is a fixed 5 minutes);
//   - "sub" a non-empty string of at most 128 characters, as the SDK checks;
//   - the "firebase" claim, when present, an object whose sign_in_provider
//     and tenant are strings and identities an object; "email" a string;
//   - everything the shared core refuses for every provider
//     (reference/security.md J1–J45).
//
// Verified tokens are cached until they expire, so a repeat costs a map
// lookup. The SDK's own verifier is used only as the differential test's
// oracle and, after the adapter's own checks, by VerifyStrict.
//
// # Emulator mode
//
// The Firebase Auth Emulator issues unsigned tokens ("alg":"none", empty
// signature). When — and only when — FIREBASE_AUTH_EMULATOR_HOST is set
// (Config.EmulatorHost, which must equal the process environment's value,
// the only one the Admin SDK reads), Verify also accepts such tokens,
// through a separate path that requires alg to be exactly "none" and the
// signature empty and applies every other rule above
// (jwtcore.Verifier.VerifyUnsignedForEmulator). New logs a warning when it
// is on. Signed tokens keep the normal path. Without the variable, an
// unsigned token is refused like any other (ErrInvalidCredential).
//
// # Session mapping
//
// sub → UserID; email, email_verified → Email, EmailVerified; custom claims
// "role" (a string) and "roles" (an array) → Roles, "permissions" (an array
// or a space-separated string) → Permissions, "org_id" → OrgID (claim names
// configurable); firebase.sign_in_provider → AuthMethods (plus
// "mfa:<factor>" after a second factor). Firebase has no session id:
// SessionID and TokenID are empty. Session.Native is the SDK's own
// *auth.Token, filled exactly as VerifyIDToken fills it (Firebase info with
// tenant and identities, Claims without iss, aud, exp, iat, sub and uid):
//
//	var tok *auth.Token
//	if sess.As(&tok) { tenant := tok.Firebase.Tenant; … }
//
// # Capabilities and tokens
//
//   - PasswordSignIn: the Identity Toolkit REST endpoint
//     accounts:signInWithPassword with the Web API key (the Admin SDK has no
//     sign-in). INVALID_PASSWORD, EMAIL_NOT_FOUND and Firebase's
//     enumeration-protected INVALID_LOGIN_CREDENTIALS (and USER_DISABLED)
//     are one and the same ErrInvalidCredential. An MFA-enrolled user gives
//     an *authport.ActionError (ActionMFA) carrying mfaPendingCredential.
//   - SignUp: the Admin SDK's CreateUser, then password sign-in.
//   - Refresher: the Secure Token API's refresh grant. Firebase refresh
//     tokens are long-lived and not rotated; after a revocation, a disabled
//     or a deleted user the grant fails with ErrRevoked.
//   - Revoker: the Admin SDK's RevokeRefreshTokens (see below).
//   - StrictVerifier: Verify, then the SDK's VerifyIDTokenAndCheckRevoked or
//     VerifySessionCookieAndCheckRevoked (chosen by issuer): one user lookup
//     per call, ErrRevoked for a revoked, disabled or deleted user.
//   - CookieReader: the middleware reads a session cookie (or ID token) from
//     the "__session" cookie (Config.CookieName), the one cookie Firebase
//     Hosting forwards to Cloud Functions and Cloud Run.
//   - RedirectSignIn is unsupported: sign-in with identity providers happens
//     in Firebase's client SDKs, whose ID token the backend then verifies.
//
// Tokens.AccessToken is the ID token by default (ExpiresAt one hour; the
// handlers refresh it through the refresh token, which also enforces
// revocation within the hour). With Config.TokenLifetime it is instead a
// session cookie of that lifetime minted with the SDK's SessionCookie
// (IDToken keeps the ID token): fewer refreshes, but a revocation reaches
// other processes only through VerifyStrict or the cookie's expiry.
//
// Without a Web API key, PasswordSignIn, SignUp and Refresh are
// unsupported; without Google credentials (no GOOGLE_APPLICATION_CREDENTIALS
// and no Application Default Credentials), SignUp, Revoke, VerifyStrict and
// cookie minting are. Verification needs neither. Describe says which.
//
// # Revocation
//
// RevokeRefreshTokens records "valid since now" for the user, in whole
// seconds; Firebase spares a token issued in the same second, so Revoke
// first waits for the next second when the session is younger than that.
// Afterwards the user's refresh tokens fail and VerifyStrict refuses every
// older token everywhere. Verify is offline: in the process that called
// Revoke it refuses the user's older tokens at once (an in-memory list
// keyed by user id), but other processes accept them until they expire —
// one hour for ID tokens, the cookie lifetime for session cookies (up to 14
// days). Describe().RevocationDelay says one hour, or TokenLifetime in
// cookie mode. Use authport.Config.Strict (VerifyStrict on every request)
// where that window is too long.
//
// # Deliberately stricter than the Admin SDK
//
// TestDifferential checks each case against VerifyIDToken and
// VerifySessionCookie. The adapter refuses what the SDK accepts:
//
//   - a token up to 5 minutes past "exp" or with "iat" up to 5 minutes
//     ahead (the SDK's fixed skew; the adapter allows Config.Leeway);
//   - a missing "iat" or "auth_time", or an "auth_time" in the future;
//   - an "nbf" in the future (the SDK ignores nbf);
//   - a "typ" other than JWT; "jku", "jwk", "x5u", "x5c", "crit" headers;
//   - duplicate JSON members (the SDK's decoder keeps the last one),
//     non-canonical base64url, tokens over 8 KiB;
//   - an "email" that is not a string.
//
// It is never more lenient: two RFC 7519-legal forms the SDK's struct
// decoding refuses are refused too, an "aud" array (even one holding the
// project id) and fractional "exp"/"iat"/"nbf". Firebase never issues
// either; the conformance run declares both as the provider's stricter
// rule (Forger.Stricter).
//
// # Decisions
//
//   - The REST calls (signInWithPassword, the refresh grant) are made by
//     hand: the Admin SDK has no client API, and Google's generated
//     google.golang.org/api/identitytoolkit/v1 client would add a large
//     package for one call and drop the API key when given an HTTP client.
//     Errors never carry the API key (transport errors lose their URL) nor a
//     token, and the SDK's error text (which can quote a response body) is
//     replaced by a fixed reason.
//   - A mismatch between Config.EmulatorHost and the process environment is
//     a start-up error rather than a guess: the Admin SDK would otherwise
//     manage one project while tokens are checked by another's rules.
//   - Multi-tenancy: firebase.tenant is carried through (Claims, Native);
//     tenant-scoped admin calls are left to AuthClient().TenantManager.
package firebase
