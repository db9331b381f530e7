// Package workos is authport's adapter for WorkOS AuthKit (User
// Management), built on the official SDK github.com/workos/workos-go/v4
// (package usermanagement, v4.46.1).
//
// Import it for its side effect to make "workos" available to
// authport.Open, authport.OpenURL and authport.FromEnv, or call New:
//
//	a, err := workos.New(ctx, workos.Config{
//		APIKey:   os.Getenv("WORKOS_API_KEY"),
//		ClientID: os.Getenv("WORKOS_CLIENT_ID"),
//	})
//
// # Verification
//
// workos-go v4 has no token verifier: it only builds the key-set URL
// (usermanagement.Client.GetJWKSURL, "<endpoint>/sso/jwks/<client_id>").
// The adapter therefore verifies access tokens with authport's shared core
// (internal/jwtcore) against that key set, fetched and cached by the shared
// key-set cache (single flight, refresh on an unknown kid at most every 30 s,
// last good set kept while WorkOS is unreachable). Policy:
//
//   - RS256 only, "kid" required;
//   - "iss" must equal one of Config.Issuers, compared exactly. WorkOS tokens
//     are seen with two issuer forms, so the default list is
//     "https://api.workos.com/user_management/<client_id>",
//     "https://api.workos.com/" and "https://api.workos.com"; a custom auth
//     domain is added through WORKOS_ISSUERS. Each issuer is one policy of the
//     core, all sharing the one key set;
//   - "aud" is checked only when Config.Audience is set (WorkOS access tokens
//     document no audience);
//   - "exp" required, 30 s leeway for exp, nbf and iat.
//
// Claims map to authport.Session as DESIGN.md prescribes: sub → UserID,
// sid → SessionID, jti → TokenID, org_id → OrgID, roles (plus role, when it
// is not already listed) → Roles, permissions → Permissions, act → an
// "impersonation" entry in AuthMethods. entitlements, feature_flags and the
// actor are kept in Session.Native, a *AccessTokenClaims (the SDK has no
// claims type of its own), reached with Session.As. WorkOS access tokens
// carry no email address, so Session.Email is empty.
//
// # Deliberately stricter than WorkOS's own guidance
//
// WorkOS's documented verification (a JWKS library with the key set of the
// client id) checks the signature and expiry only. The adapter also
// refuses, as authport.ErrInvalidCredential:
//
//   - an issuer outside the configured list;
//   - a token without "sid" (every AuthKit access token names its session;
//     revocation is keyed by it);
//   - a "client_id" claim naming another WorkOS client;
//   - a known claim of the wrong JSON type (org_id not a string, roles not an
//     array of strings, ...), instead of silently dropping it;
//   - everything the shared core refuses (security.md J1–J45: alg none,
//     key confusion, embedded keys, duplicate JSON members, non-canonical
//     base64, oversized tokens, ...).
//
// # Capabilities
//
//   - authport.PasswordSignIn: AuthenticateWithPassword.
//   - authport.SignUp: CreateUser (with the API key) followed by
//     AuthenticateWithPassword. In environments that require email
//     verification this returns an *authport.ActionError
//     (ActionVerifyEmail) carrying the pending authentication token;
//     finish with ContinueSignIn or CompleteEmailVerification.
//   - authport.ActionContinuer: ContinueSignIn finishes email verification
//     (CompleteEmailVerification, AuthenticateWithEmailVerificationCode)
//     and organisation selection (CompleteOrganizationSelection,
//     AuthenticateWithOrganizationSelection), so authport.Web's
//     /auth/continue page and JSON endpoint complete them for any
//     application. CanContinue is false for MFA (a TOTP challenge needs
//     the factor id and a challenge through WorkOS's MFA API, enrolment a
//     QR code), SSO and ActionOrgAuthMethods: those finish on AuthKit's
//     hosted page.
//   - authport.RedirectSignIn: GetAuthorizationURL with provider "authkit"
//     (or an organisation's SSO when AuthorizeRequest.Organization is set),
//     state and a PKCE S256 challenge, which are required; Exchange calls
//     AuthenticateWithCode with the code verifier.
//   - authport.Refresher: AuthenticateWithRefreshToken. Refresh tokens rotate
//     and are single use: always keep the new one. SwitchOrganization
//     refreshes into another organisation.
//   - authport.Revoker: RevokeSession for the token's sid. The adapter also
//     denies that session locally at once, so this process stops accepting
//     its tokens immediately; other processes see the revocation only when
//     the token expires or fails to refresh.
//   - authport.LogoutRedirector: LogoutURL returns the browser logout URL
//     (GetLogoutURL, /user_management/sessions/logout?session_id=&
//     return_to=) that also ends AuthKit's own session; authport.Web's
//     POST /logout sends browsers there after revoking, with return_to the
//     absolute URL of Config.AfterLogoutPath (add it to the dashboard's
//     sign-out redirects).
//   - No authport.StrictVerifier: WorkOS has no session-introspection
//     endpoint. Describe says so, and reports a revocation delay equal to
//     the access-token lifetime (Config.AccessTokenTTL, 5 minutes by
//     default, WorkOS's default "access token duration").
//
// WorkOS's typed authentication errors become *authport.ActionError
// (errors.Is(err, authport.ErrActionRequired)) with the pending
// authentication token: email_verification_required → ActionVerifyEmail,
// mfa_enrollment and mfa_challenge → ActionMFA,
// organization_selection_required → ActionSelectOrganization (with the
// organisation ids and, in OrganizationNames, their names), sso_required → ActionSSO and
// organization_authentication_methods_required → ActionOrgAuthMethods.
// Other WorkOS errors map to authport's kinds; their text (which can echo
// codes and tokens) is never copied into an error.
//
// # Configuration
//
// Environment variables (FromEnv, Open) and their Config fields:
//
//	WORKOS_API_KEY           APIKey          required, "sk_..."
//	WORKOS_CLIENT_ID         ClientID        required, "client_..."
//	WORKOS_REDIRECT_URI      RedirectURI     default callback URL for AuthorizeURL
//	WORKOS_BASE_URL          BaseURL         API base URL (default https://api.workos.com);
//	                                         also WORKOS_API_HOSTNAME, WORKOS_API_PORT, WORKOS_API_HTTPS
//	WORKOS_JWKS_URL          JWKSURL         default <base>/sso/jwks/<client_id>
//	WORKOS_ISSUERS           Issuers         comma-separated list of accepted issuers
//	WORKOS_AUDIENCE          Audience        comma-separated; when set, "aud" must match
//	WORKOS_ACCESS_TOKEN_TTL  AccessTokenTTL  Go duration, default 5m
//	WORKOS_COOKIE_PASSWORD   CookiePassword  at least 32 characters; see CookieKeys
//
// The URL form is workos://<client_id>?redirect_uri=...&base_url=...&issuer=...
// (issuer and audience may repeat); the API key comes from WORKOS_API_KEY
// unless the URL carries api_key.
package workos
