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
// The full guide (verification rules, capabilities, migration, emulator) is
// docs/providers/workos.md in the repository.
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
//	WORKOS_AUDIENCE          Audiences       comma-separated; when set, "aud" must match
//	WORKOS_ACCESS_TOKEN_TTL  TokenLifetime  Go duration, default 5m
//	WORKOS_COOKIE_PASSWORD   CookiePassword  at least 32 characters; see CookieKeys
//	AUTHPORT_WORKOS_TOTP_ISSUER TOTPIssuer   the name authenticator apps show for MFA enrolment
//
// The URL form is workos://<client_id>?redirect_uri=...&base_url=...&issuer=...
// (issuer and audience may repeat); the API key comes from WORKOS_API_KEY
// unless the URL carries api_key.
package workos
