// Package emulator is the core every provider emulator is built on
// (oidc/oidctest, clerk/clerktest, workos/workostest, supabase/supabasetest,
// firebase/firebasetest, auth0/auth0test). A provider emulator is a
// loopback HTTP server that speaks the provider's real wire format, so the
// adapter and the provider's official SDK talk to it unmodified; this
// package supplies everything that is not provider-specific.
//
//   - [Server]: an httptest server bound to 127.0.0.1 (never a
//     non-loopback address). The provider registers its routes on
//     Server.Mux with Go 1.22 patterns ("POST /oauth/token") and its key
//     endpoints with [Server.HandleKeys]. [NewUnstarted] lets it compute
//     its issuer from Server.URL before it starts serving.
//   - [KeyRing]: signing keys (RS256 with pre-generated 2048-bit keys, PS*,
//     ES256/384/512, EdDSA, HS* secrets) with provider-shaped key ids,
//     rotation with a grace period, JWKS (with x5c/x5t for Auth0), the
//     Firebase kid→certificate map, and a [KeyRing.Foreign] key that reuses
//     the trusted kid for forged tokens.
//   - [Store]: users (salted password hashes, constant-time checks with no
//     user enumeration; disabled or deleted for good with
//     [Store.DeleteUser]), sessions (active, pending, revoked, ended),
//     single-use rotating refresh tokens and authorization codes bound to
//     a PKCE S256 challenge and a redirect URI. Safe for concurrent use.
//   - [Clock]: the emulated time, shared with the adapter under test
//     through its Config.Clock so that nobody sleeps.
//   - [Server.Mint]: tokens as the provider issues them — the provider's
//     Options.DefaultClaims hook supplies the claims — and broken ones for
//     negative tests: expired, not yet valid, foreign key, another
//     algorithm, claims removed or overridden. [Server.Introspect] answers
//     for the tokens it minted, byte for byte, so userinfo, introspection
//     and session-check endpoints see revocation.
//   - Fault injection on any route ([Server.SetFault]: down, hang-up,
//     delay, garbage, 10 MiB body, any status) and counters
//     ([Server.Fetches] for key endpoints, [Server.Hits], [Server.Stats]).
//   - [Server.HostedLogin]: an accessible hosted sign-in page for redirect
//     flows, and [SubmitLogin] to drive it from a test.
//
// Tokens are signed by this package's own small JWS code ([SignCompact]),
// not by internal/jwtcore, so the emulator is an independent oracle for the
// verification core rather than its mirror.
//
// # Control API
//
// Besides Go methods, every Server answers a JSON control API under
// /__authport/, for tests in other languages and for `authport emulate`.
// It has no authentication: the server only ever listens on loopback.
// Faults never apply to it. Errors are {"error","error_description"} with
// 400, 401, 404 or 409.
//
//	GET  /__authport/          index of these routes
//	POST /__authport/users     {"email","password","id","email_verified","name",
//	                            "roles","permissions","org_id","metadata"} → 201 user
//	DELETE /__authport/users/{id}  hard delete (Store.DeleteUser) → 204
//	POST /__authport/sign-in   {"email","password"} → what the provider's sign-in
//	                            returns (Options.SignIn; default: a new session's
//	                            {"access_token","refresh_token","expires_in",…})
//	POST /__authport/mint      {"user_id"|"email","session_id","new_session",
//	                            "claims","header","expires_in" (s),"expired",
//	                            "not_yet_valid","foreign","alg","secret"}
//	                            → {"token","kid","session_id"}; null claims remove
//	                            (even the defaults: {"claims":{"sid":null,"jti":null}})
//	POST /__authport/rotate    {"drop_old"} → {"kid","previous","published"}
//	POST /__authport/fault     {"route","down","hangup","delay_ms","garbage",
//	                            "huge","status","count"}, or {"route","clear":true}
//	                            ("route":"" clears all) → 204
//	POST /__authport/ratelimit {"requests","window_ms","routes"}: a request budget
//	                            answered past it with the provider's own 429
//	                            (Options.RateLimited), or {"clear":true}
//	GET  /__authport/stats     {"hits","fetches","users","sessions","kid","faults"}
//	POST /__authport/revoke    {"session_id"} or {"user_id"} → {"revoked":n}
//	POST /__authport/disable   {"user_id"} → 204, sessions revoked
//	POST /__authport/clock     {"advance_seconds"} or {"set":RFC 3339} → {"now"}
//
// # Writing a provider emulator
//
// A provider package (say auth0/auth0test) wraps a Server:
//
//	srv := emulator.NewUnstarted(emulator.Options{
//		Name: "Auth0",
//		Keys: emulator.KeyRingOptions{KID: func() string { return emulator.RandomToken(16) }},
//		DefaultClaims: func(u *emulator.User, s *emulator.Session) map[string]any {
//			c := map[string]any{"iss": issuer, "aud": audience}
//			if u != nil { // nil when a token is minted for no user
//				c["permissions"] = u.Permissions
//			}
//			return c
//		},
//	})
//	issuer = srv.URL + "/"
//	srv.HandleKeys("GET /.well-known/jwks.json", srv.Keys.JWKSHandler(true, time.Hour))
//	srv.Mux.HandleFunc("POST /oauth/token", tokenHandler) // the provider's wire format
//	srv.Start()
//
// and re-exports what its users need as type aliases (type User =
// emulator.User), since internal packages cannot be imported from outside
// the module. Provider-style error bodies are the provider package's job;
// [WriteJSON] and [ReadJSON] are the shared helpers. docs/new-provider.md
// walks through a complete emulator.
package emulator
