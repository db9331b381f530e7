// Package oidc is authport's adapter for any OpenID Connect issuer
// (Keycloak, Okta, Auth0, Google, Dex, Zitadel, …), and the reference
// adapter new providers are modelled on (docs/new-provider.md).
//
// [New] reads the issuer's discovery document
// (/.well-known/openid-configuration), requires its "issuer" to equal
// Config.Issuer exactly, and verifies JWT access tokens offline against the
// issuer's JWKS through authport's shared verification core: algorithm
// allow-list, exact issuer, audience any-of, optional azp allow-list, a
// required "exp", one leeway, and the shared key-set cache (single flight,
// rate-limited refresh on an unknown kid, stale keys kept while the
// endpoint is down, fail closed when nothing is cached).
//
// The [Authenticator] implements every capability the issuer allows:
//
//   - RedirectSignIn: authorization code flow with PKCE S256 and state;
//     the RFC 9207 "iss" response parameter is checked when present.
//   - PasswordSignIn: the resource owner password grant, only when the
//     discovery document lists it in grant_types_supported.
//   - Refresher: the refresh_token grant (rotated tokens replace the old).
//   - Revoker: RFC 7009 revocation when a revocation_endpoint exists; the
//     session is also denied locally, so this process refuses it at once.
//   - StrictVerifier: RFC 7662 introspection (with client credentials) or
//     else the userinfo endpoint; an inactive token is ErrRevoked.
//   - LogoutRedirector: OpenID Connect RP-Initiated Logout 1.0, only when
//     the discovery document advertises an end_session_endpoint (else
//     Describe lists it as unsupported): LogoutURL adds
//     post_logout_redirect_uri (the absolute URL of
//     authport.Config.AfterLogoutPath, which must be registered with the
//     issuer as a post-logout redirect URI) and id_token_hint when the ID
//     token is at hand (authport.IDTokenFrom; the session cookie keeps it
//     unless it did not fit), else client_id. authport.Web's POST /logout
//     sends browsers there after Revoke, which ends the issuer's own
//     browser session.
//
// The full guide (verification rules, capabilities, migration, emulator) is
// docs/providers/oidc.md in the repository.
//
// # Configuration
//
// From the environment (authport.FromEnv with AUTH_PROVIDER=oidc):
// OIDC_ISSUER and OIDC_AUDIENCE (comma-separated) are required;
// OIDC_CLIENT_ID and OIDC_CLIENT_SECRET enable the sign-in capabilities;
// OIDC_AUTHORIZED_PARTIES, OIDC_ROLES_CLAIM, OIDC_PERMISSIONS_CLAIM,
// OIDC_ORG_CLAIM and OIDC_SCOPES (comma- or space-separated) are optional.
// By URL: oidc://issuer-host/path?audience=a,b&client_id=…&client_secret=…
// (https is implied; insecure=1 selects http, for loopback test issuers
// only), with authorized_parties, roles_claim, permissions_claim,
// org_claim, scopes and leeway (a Go duration) as optional parameters.
package oidc
