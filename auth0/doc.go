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
// # Verification
//
// Access tokens are verified offline by internal/jwtcore, the same code that
// verifies every other provider's tokens:
//
//   - keys come from the tenant's JSON Web Key Set, found through OpenID
//     discovery at https://<domain>/.well-known/openid-configuration (the
//     document's issuer must equal the expected issuer and its jwks_uri must
//     be on the tenant's host). Discovery and the key fetch happen on first
//     use, never in New, so a cold start does not depend on Auth0. The key
//     set is cached; an unknown kid triggers a refresh (at most one per 30 s)
//     and the last good set keeps serving while Auth0 is unreachable — unlike
//     go-jwt-middleware's CachingProvider, which neither refetches on an
//     unknown kid nor survives a failed refresh;
//   - "iss" must equal https://<domain>/ exactly, trailing slash included
//     (or Config.Issuer for a custom domain);
//   - "aud" (a string or an array) must contain one of Config.Audiences;
//   - with Config.AuthorizedParties set, "azp" (Auth0 profile) or
//     "client_id" (RFC 9068 profile) must be one of them;
//   - RS256 only by default; "typ" JWT or at+jwt (RFC 9068 tokens);
//   - one clock-skew leeway (30 s by default) for exp, nbf and iat.
//
// # Session mapping
//
// UserID is "sub" (M2M tokens: "<client_id>@clients"); SessionID is "sid"
// when the token has one; TokenID is "jti" (RFC 9068 profile); Permissions
// are the RBAC "permissions" array followed by the words of "scope" (the
// OpenID Connect scopes openid, profile, email, address, phone and
// offline_access are left out; duplicates removed); Roles come from the
// namespaced claim named by Config.RolesClaim (Auth0 puts no roles in a
// token by itself — an Action adds them, conventionally as
// "https://<your namespace>/roles"); OrgID and OrgSlug are "org_id" and
// "org_name"; Email is "email" or Config.EmailClaim; AuthMethods is "amr".
// Session.Native is the *validator.ValidatedClaims that
// [Authenticator.ValidateToken] returns, whose CustomClaims is a *[Claims]
// (or your own type, see Config.CustomClaims), so
//
//	var vc *validator.ValidatedClaims
//	if sess.As(&vc) { c := vc.CustomClaims.(*auth0.Claims) ... }
//
// # Migrating from go-jwt-middleware
//
// [Authenticator.ValidateToken] has jwtmiddleware.ValidateToken's signature and
// returns the same *validator.ValidatedClaims, so an application keeps its
// middleware, error handler and handlers and swaps only the validator:
//
//	middleware := jwtmiddleware.New(a.ValidateToken) // was: jwtValidator.ValidateToken
//
// # Where this adapter is deliberately stricter than go-jwt-middleware
//
// The differential test (differential_test.go) signs tokens with the
// emulator and checks that the adapter accepts every token
// validator.ValidateToken accepts and rejects every token it rejects,
// except these, which the adapter rejects and the validator accepts:
//
//   - no "exp" (the validator treats a token without exp as never expiring);
//   - no "sub" or an empty "sub";
//   - a "typ" header other than JWT or at+jwt (refresh+jwt, id_token+jwt, ...);
//   - a "jku", "x5u" or "cty" header (and "jwk", "x5c", "crit", "zip", "b64",
//     which the core refuses as well; the validator ignores them);
//   - tokens over 8 KiB (the validator allows 1 MB);
//   - an "azp"/"client_id" outside Config.AuthorizedParties (the validator
//     has no such check).
//
// Both refuse repeated JSON member names, padded or otherwise
// non-canonical base64url, alg none, algorithm confusion, a foreign key
// under the trusted kid, and wrong issuers (a missing trailing slash
// included) and audiences. The key set is stricter too: RSA keys shorter
// than 2048 bits are skipped.
//
// The clock is the one difference the other way round: the validator's
// default clock skew is 0, the adapter's leeway 30 s (set Config.Leeway).
// After a key rotation the adapter accepts tokens signed by the new key
// (refreshing on the unknown kid, at most once per 30 s); the validator's
// CachingProvider rejects them until its TTL passes.
//
// # Sign-in, refresh, revocation
//
//   - RedirectSignIn: AuthorizeURL sends the browser to /authorize with
//     state, a PKCE S256 challenge, audience (the first of
//     Config.Audiences), organization and screen_hint=signup; Exchange
//     redeems the code at /oauth/token with the PKCE verifier. Both through
//     x/oauth2.
//   - PasswordSignIn: the password-realm grant
//     (http://auth0.com/oauth/grant-type/password-realm, realm
//     Config.Realm, default "Username-Password-Authentication"). x/oauth2's
//     PasswordCredentialsToken cannot send realm or audience, so the request
//     goes through oauth2.Config.Exchange with the grant type and the extra
//     parameters set as options (the request therefore also carries an empty
//     "code" parameter, which Auth0 ignores). The application must have the
//     Password grant enabled.
//   - SignUp (only with Config.AllowSignUp): POST /dbconnections/signup,
//     then a password sign-in.
//   - Refresher: grant_type=refresh_token through x/oauth2; with refresh
//     token rotation Auth0 returns a new refresh token each time and a
//     reused one fails (ErrInvalidCredential).
//   - Revoker: POST /oauth/revoke for the refresh token (so no new access
//     token can be minted), plus a local deny-list entry for the access
//     token's jti (RFC 9068 profile) or sid, which only this process sees.
//   - ActionContinuer: a password sign-in of a user enrolled in MFA fails
//     with *authport.ActionError (ActionMFA, PendingToken = Auth0's
//     mfa_token); [Authenticator.ContinueSignIn] redeems the mfa_token
//     with the code of the user's authenticator app through the mfa-otp
//     grant (http://auth0.com/oauth/grant-type/mfa-otp; enable the MFA
//     grant type on the application). authport.Web's /auth/continue asks
//     for that code. Enrolment, push, SMS and recovery codes (Auth0's
//     /mfa/associate and /mfa/challenge) are not driven: a user who has no
//     one-time-password factor yet signs in on Universal Login.
//   - LogoutRedirector: [Authenticator.LogoutURL] builds the /v2/logout URL
//     (client_id, returnTo) that ends Auth0's browser (SSO) session;
//     authport.Web's POST /logout sends browsers there after Revoke, with
//     returnTo the absolute URL of authport.Config.AfterLogoutPath, which
//     must be in the application's Allowed Logout URLs. Without that, the
//     next Universal Login would sign the user straight back in.
//
// # Revocation delay
//
// Auth0 access tokens are self-contained JWTs and cannot be revoked: there
// is no introspection endpoint, and /userinfo keeps answering until "exp".
// So there is no strict verification (authport.CapStrictVerify is
// unsupported) and a signed-out or revoked user's access token keeps
// verifying until it expires: Describe().RevocationDelay is the API's token
// lifetime, Config.TokenLifetime (Auth0's default, 24 h, unless you say
// otherwise). Keep the API's "Token Expiration" short.
//
// # Errors
//
// Auth0's error bodies ({"error":"invalid_grant","error_description":"Wrong
// email or password."}) become authport kinds: invalid_grant, access_denied
// (403), unauthorized (blocked user) → ErrInvalidCredential;
// too_many_attempts, too_many_requests, HTTP 429 → ErrRateLimited;
// mfa_required → *authport.ActionError (ActionMFA, PendingToken = mfa_token);
// invalid_client, unauthorized_client, access_denied (401),
// unsupported_grant_type, invalid_scope → ErrMisconfigured (the
// application's Auth0 settings are wrong); invalid_request, invalid_signup,
// user_exists, invalid_password → ErrInvalidInput; 5xx and network failures
// → ErrProviderUnavailable. Error texts carry the Auth0 error code, never
// its description (which may repeat an email address), a token or a secret.
package auth0
