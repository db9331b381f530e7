// Package authjs authenticates the users of an Auth.js application (the
// @auth/core library, which NextAuth.js v5, SvelteKit Auth and the
// TanStack Start integration wrap) in a Go API: the JavaScript app signs
// users in, and the Go service reads the same session.
//
// Both Auth.js session strategies are supported:
//
//   - JWT (the default without a database adapter): the
//     "authjs.session-token" cookie, or "__Secure-authjs.session-token" on
//     HTTPS sites, holds a JWE (alg "dir", enc A256CBC-HS512; A256GCM is
//     accepted too, as the library's decoder does). Its key is derived, as
//     Auth.js derives it, by HKDF-SHA256 from AUTH_SECRET with the cookie
//     name as salt, so the Go service needs the same secret. A cookie too
//     long for one is split by the library into name.0, name.1, …; the
//     middleware joins exactly those (see authport.ChunkedCookieReader).
//     Secret rotation works as in the library: AUTH_SECRET_1…3 are newer
//     secrets, and the token's "kid" (the RFC 7638 thumbprint of the
//     derived key) selects the secret. "exp" is checked with the library's
//     15 s clock tolerance. "Authorization: Bearer <JWE>" (URL-encoded or
//     not) is accepted as the library's getToken accepts it.
//   - Database (the default with an adapter): the cookie holds a session
//     token that is looked up, joined to its user, in the application's
//     database through a SessionStore; authjspg reads the @auth/pg-adapter
//     schema with pgx, linked only when imported. A missing row is
//     refused, an expired one is ErrExpired, and revocation (sign-out,
//     Revoke) is seen at once.
//
// The Session carries "sub" as UserID, "email", and the role claim an
// application adds in its jwt callback (Config.RolesClaim, default "role";
// the users column of that name in the database strategy). "name" and
// "picture" are in Session.Claims and in the *Token (JWT) or *DBSession
// (database) that Session.As reaches.
//
// Decisions:
//
//   - Sign-in, sign-up and refresh happen in the JavaScript application;
//     Describe says so, and reports the JWT strategy's revocation delay as
//     the session lifetime (30 days unless AUTHJS_SESSION_MAX_AGE says
//     otherwise), since a JWT session lives only in the cookie.
//   - Only the exact cookie names are read: a cookie whose name merely
//     starts with the session cookie's (the library's prefix match would
//     join "authjs.session-token-x") is ignored.
//   - The JWE is parsed strictly: five segments of unpadded base64url, an
//     empty encrypted key, alg "dir", enc A256CBC-HS512 or A256GCM, no
//     "zip" (a decompression bomb), no "crit", at most MaxTokenSize bytes;
//     the payload must be one JSON object without repeated names, and must
//     carry "exp" and "sub".
//   - The JWE is decrypted with the standard library (crypto/hkdf,
//     crypto/aes, crypto/cipher, crypto/hmac): the five-segment format with
//     one key algorithm and two encryptions is small, and the general JOSE
//     libraries cost more per request than the decryption itself. Tests
//     check it against the library (node) and go-jose.
//   - There is no verified-token cache: decryption costs about what a
//     cache lookup would.
//
// Environment (ConfigFromEnv, authport.FromEnv with AUTH_PROVIDER=authjs):
// AUTH_SECRET, AUTH_SECRET_1…3, AUTH_URL (https makes the cookies
// "__Secure-"), AUTHJS_SESSION_STRATEGY ("jwt" or "database"),
// AUTHJS_DATABASE_URL (database strategy; import authjspg, or all),
// AUTHJS_COOKIE_NAME, AUTHJS_SECURE_COOKIES, AUTHJS_ROLES_CLAIM,
// AUTHJS_SESSION_MAX_AGE. authport.OpenURL takes
// "authjs://?strategy=database&database_url=…" with the same settings;
// secrets are read from the environment only, never from a URL.
//
// See docs/providers/authjs.md for setting up the JavaScript side,
// including how a Next.js or TanStack Start app forwards its user to the
// Go API.
package authjs
