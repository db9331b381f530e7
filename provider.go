// Package authport puts one interface in front of every way a Go backend can
// authenticate its users: hosted providers (Clerk, WorkOS, Supabase, Firebase,
// Auth0, any OpenID Connect issuer) and a do-it-yourself backend.
//
// An application writes its routes, guards and handlers once against this
// package; switching provider is a configuration change (see [Open], [OpenURL]
// and [FromEnv]). Every adapter verifies tokens through one shared
// verification core, maps its claims onto the same [Session], and reports
// failures with the same error kinds ([ErrNoCredential], [ErrInvalidCredential],
// [ErrExpired], [ErrRevoked], [ErrForbidden], [ErrProviderUnavailable], ...),
// which [Web] turns into the same HTTP responses.
//
// # Contract
//
// [Authenticator] is the one required interface: it turns a [Credential]
// (a bearer token or a session cookie) into a verified [Session]. Everything
// else is an optional capability discovered by type assertion, as io.WriterTo
// is: [PasswordSignIn], [SignUp], [RedirectSignIn], [Refresher], [Revoker],
// [StrictVerifier], [LogoutRedirector], [ActionContinuer]. An adapter that
// lacks a capability says why through [Describer], so the conformance
// suite reports it as not applicable rather than passing it silently.
//
// # Decisions
//
//   - Configuration style: adapters take a Config struct that mirrors their
//     environment variables; the HTTP layer takes [Config]. There are no
//     functional options anywhere, so one style holds throughout.
//   - Credentials are read from "Authorization: Bearer" first, then from the
//     sealed session cookie, then from provider cookies an adapter declares
//     (Clerk's __session). Never from the URL. Several Authorization headers
//     or a scheme other than Bearer is a 401, never a fallback to the cookie.
//   - Errors never carry a token, a key or a library name; their Error text
//     is safe to log, and HTTP bodies only ever show the kind's fixed
//     description.
//   - Fail closed: an error that is not one of the kinds maps to 503 (the
//     provider could not be asked), never to a pass.
//
// # HTTP layer
//
// [NewWeb] builds the HTTP layer from an [Authenticator] and a [Config]:
// [Web.Middleware] attaches the verified [Session] to the request context
// (read it with [SessionFrom] and [Check]); [Require], [RequireRole],
// [RequirePermission] and [RequireOrg] block subtrees; [Web.Handler] serves
// /auth/login, /signup, /callback, /continue, /logout, /session and
// /refresh; [WriteError] is the one error response. Decisions:
//
//   - Requirements given side by side must all hold; [AnyOf] expresses
//     alternatives. A pending session (Clerk "sts":"pending") passes
//     [Require] but never [Org].
//   - Tokens obtained by the handlers live in one sealed cookie
//     (AES-256-GCM under HKDF-derived keys with a key-id byte, so keys
//     rotate; base64url; at most 4096 bytes, dropping the ID token rather
//     than failing a sign-in if it would not fit). The cookie carries its
//     sign-in time, and [Config.SessionMaxAge] is enforced on the server
//     across refreshes.
//   - Transparent refresh is single-flight per refresh token, and a result
//     is reused for 30 seconds by requests still carrying the old cookie,
//     so racing tabs never replay a rotated refresh token (which providers
//     with reuse detection punish by revoking the whole session).
//   - Browser navigations (GET or HEAD accepting text/html) get a 303 to
//     the login page instead of a 401; everything else gets JSON. A
//     callback failure is a page, never a redirect back to the login page,
//     which could loop through the provider.
//   - Rate limiting is on by default (10 attempts per minute per client IP
//     and per email address, in memory, with exponential back-off capped at
//     32 minutes); X-Forwarded-For is read only with
//     [Config.ForwardedForHops].
//   - Without [Config.PublicOrigin], the OAuth redirect URI is built from
//     the request's Host and checked by the provider's allow-list; set it
//     in production.
//   - Sign-out ends the session at the provider twice over where it can: a
//     server-side [Revoker] call, then, for a browser, a 303 through the
//     provider's own logout page ([LogoutRedirector]: WorkOS, Auth0, an
//     OpenID Connect issuer with an end_session_endpoint), which ends the
//     provider's browser (SSO) session and comes back to
//     [Config.AfterLogoutPath]. Without it, a hosted page could sign the
//     user straight back in.
//   - A sign-in the provider interrupts with an [*ActionError] (email
//     verification, MFA, organisation selection) continues
//     provider-agnostically on /continue when the adapter is an
//     [ActionContinuer]: the step, with the provider's pending token, is
//     sealed into a 10-minute cookie of its own (never a URL, a page, a
//     JSON body or a log); browsers get a form, API clients a 401
//     {"error":"action_required","action",...} body and post the input
//     as JSON. Single sign-on takes no input here: a link to the
//     provider's hosted page, not an automatic redirect, because Chromium
//     applies the sign-in form's CSP form-action to the redirects that
//     follow its post. An adapter states which actions it can finish with
//     CanContinue, since one error kind (ActionMFA) may be continuable for
//     one provider (Auth0's one-time code) and not another (WorkOS's TOTP
//     challenge).
//   - Adapter calls made by [Web] (sign-in, sign-up, refresh, revoke,
//     verify) carry the client's address and user agent: read them with
//     [ClientInfoFrom]. The address is the one Web rate-limits by
//     ([Config.ForwardedForHops]), so an adapter's own per-IP limits (DIY's)
//     agree with Web's.
package authport

import (
	"context"
	"net/url"
	"time"
)

// Authenticator turns a credential presented by a client into a verified
// Session. Implementations must be safe for concurrent use.
type Authenticator interface {
	// Provider names the adapter ("clerk", "workos", "diy", ...).
	Provider() string
	// Verify checks the credential offline where the provider allows it
	// (signature, expiry, issuer, audience) and returns the Session it
	// proves. Errors are one of this package's kinds (errors.Is).
	Verify(ctx context.Context, c Credential) (*Session, error)
}

// Source says where a credential was found.
type Source uint8

const (
	// SourceHeader is an "Authorization: Bearer" header.
	SourceHeader Source = iota + 1
	// SourceCookie is a cookie: authport's sealed session cookie or a
	// provider's own cookie (Credential.Cookie names which).
	SourceCookie
)

// String returns "header" or "cookie".
func (s Source) String() string {
	switch s {
	case SourceHeader:
		return "header"
	case SourceCookie:
		return "cookie"
	}
	return "unknown"
}

// Credential is what a client presented.
type Credential struct {
	// Token is the bearer token, provider cookie value, or the access
	// token unsealed from authport's session cookie.
	Token string
	// Source says where Token came from.
	Source Source
	// Cookie is the cookie name when Source is SourceCookie.
	Cookie string
}

// PasswordSignIn is implemented by adapters that sign users in with an email
// address and a password on the server.
type PasswordSignIn interface {
	SignInWithPassword(ctx context.Context, email, password string) (*Tokens, error)
}

// SignUp is implemented by adapters that can create an account with an email
// address and a password.
type SignUp interface {
	SignUp(ctx context.Context, email, password string) (*Tokens, error)
}

// AuthorizeRequest describes a redirect to a provider's hosted sign-in page.
type AuthorizeRequest struct {
	// RedirectURI is the application's callback URL.
	RedirectURI string
	// State is an unguessable value bound to the browser; the provider
	// echoes it to the callback.
	State string
	// CodeChallenge is the PKCE S256 challenge (RFC 7636).
	CodeChallenge string
	// Organization optionally selects an organisation at sign-in.
	Organization string
	// ScreenHint is "sign-in" or "sign-up" where the provider supports it.
	ScreenHint string
}

// Callback is what the provider sent back to the redirect URI.
type Callback struct {
	// Query is the callback's query string (code, state, error ...).
	Query url.Values
	// CodeVerifier is the PKCE verifier matching the challenge sent.
	CodeVerifier string
	// RedirectURI is the redirect URI used in the authorize request.
	RedirectURI string
}

// RedirectSignIn is implemented by adapters whose sign-in happens on the
// provider's hosted page.
type RedirectSignIn interface {
	// AuthorizeURL returns the URL to send the browser to.
	AuthorizeURL(ctx context.Context, r AuthorizeRequest) (string, error)
	// Exchange turns the callback into tokens.
	Exchange(ctx context.Context, c Callback) (*Tokens, error)
}

// Refresher is implemented by adapters that can trade a refresh token for
// new tokens. Refresh tokens are single use where the provider rotates them.
type Refresher interface {
	Refresh(ctx context.Context, refreshToken string) (*Tokens, error)
}

// Revoker is implemented by adapters that can end a session on the server.
// t may be nil when only the verified Session is known; adapters that need a
// token the caller did not supply return an error of kind ErrInvalidInput.
type Revoker interface {
	Revoke(ctx context.Context, s *Session, t *Tokens) error
}

// StrictVerifier is implemented by adapters that can also ask the provider
// whether the session is still live, which catches revocation before the
// token expires (at the cost of a network round trip).
type StrictVerifier interface {
	VerifyStrict(ctx context.Context, c Credential) (*Session, error)
}

// LogoutRedirector is implemented by adapters whose provider keeps a browser
// session of its own (an SSO cookie on the provider's domain) that a
// server-side Revoke does not end. Web's POST /logout sends a browser to
// LogoutURL after revoking the session and clearing its cookies; the
// provider ends its session and redirects to returnTo, the absolute URL of
// Config.AfterLogoutPath, which must be in the provider's allow-list of
// logout URLs.
//
// s is the session being signed out (at least its UserID or SessionID;
// Claims may be nil when only the session cookie's record is left). Web
// sets the session's OpenID Connect ID token, when its cookie holds one, on
// ctx: read it with IDTokenFrom (the id_token_hint of RP-Initiated Logout).
// Building the URL must not call the provider. An error makes Web fall back
// to AfterLogoutPath: sign-out never fails because the provider's page
// cannot be reached.
type LogoutRedirector interface {
	LogoutURL(ctx context.Context, s *Session, returnTo string) (string, error)
}

type idTokenKey struct{}

// WithIDToken returns a copy of ctx carrying idToken, the OpenID Connect ID
// token of the session being signed out. Web sets it for LogoutURL calls;
// set it yourself when calling a LogoutRedirector outside Web.
func WithIDToken(ctx context.Context, idToken string) context.Context {
	return context.WithValue(ctx, idTokenKey{}, idToken)
}

// IDTokenFrom returns the ID token WithIDToken stored in ctx, if any.
func IDTokenFrom(ctx context.Context) (string, bool) {
	t, ok := ctx.Value(idTokenKey{}).(string)
	return t, ok && t != ""
}

// ClientInfo describes the client of a request, for adapters that apply
// their own per-client policies (DIY's per-IP rate limits) or record where
// a session was started.
type ClientInfo struct {
	// IP is the client's address: the connection's, or with
	// Config.ForwardedForHops the address the outermost trusted proxy saw
	// (IPv4 dotted, IPv6 in RFC 5952 form). Empty when unknown. Rate
	// limiters should key IPv6 addresses by their /64, as Web does.
	IP string
	// UserAgent is the User-Agent header (may be empty; never trust it).
	UserAgent string
	// Device identifies a known device: one that signed in to the account
	// being signed in to before, proven by the known-device cookie Web
	// issued it. Empty for any other device. Web sets it on sign-in calls
	// only after checking the cookie for that account; SignInGuard exempts
	// such a device from the limits strangers can exhaust, so set it in
	// your own calls only from an equally verified credential.
	Device string
}

type clientInfoKey struct{}

// WithClientInfo returns a copy of ctx carrying c. Web sets it on the
// context of every adapter call it makes; an application calling an
// adapter from its own handlers (or a gRPC server) should set it too, or
// per-client policies do not apply. A value set with WithClientInfo takes
// precedence over the one Web derives from the request.
func WithClientInfo(ctx context.Context, c ClientInfo) context.Context {
	return context.WithValue(ctx, clientInfoKey{}, c)
}

// ClientInfoFrom returns the ClientInfo of ctx: one set by WithClientInfo,
// else the one Web derives from the request it is serving. ok is false when
// there is none.
func ClientInfoFrom(ctx context.Context) (c ClientInfo, ok bool) {
	if ctx == nil {
		return ClientInfo{}, false
	}
	c, ok = ctx.Value(clientInfoKey{}).(ClientInfo)
	return c, ok
}

// ActionInput is what the user supplied to complete the step an
// *ActionError asked for. Only the field the action needs is set.
type ActionInput struct {
	// Code is the one-time code for ActionVerifyEmail (the code emailed to
	// the user) or ActionMFA (the code of the user's authenticator),
	// trimmed of surrounding white space.
	Code string
	// Organization is the organisation id chosen for
	// ActionSelectOrganization: one of ActionError.Organizations when the
	// provider listed them.
	Organization string
}

// ActionContinuer is implemented by adapters that can finish a sign-in
// that failed with an *ActionError once the user has done what it asked
// (entered an emailed or authenticator code, chosen an organisation).
// Web's /continue endpoint drives it provider-agnostically: it keeps the
// ActionError in a short-lived sealed cookie, asks the user for the input
// and calls ContinueSignIn.
type ActionContinuer interface {
	// CanContinue reports whether ContinueSignIn can complete a (which
	// carries the provider's pending token). Actions without user input
	// (ActionSSO) and those the adapter cannot finish report false; Web
	// then shows a message instead of a form.
	CanContinue(a *ActionError) bool
	// ContinueSignIn completes the sign-in a interrupted, with the user's
	// input. A wrong or expired code, a pending token the provider no
	// longer knows or an organisation the user does not belong to is
	// ErrInvalidCredential; a further step is another *ActionError; a
	// missing input is ErrInvalidInput; an action the adapter cannot
	// complete is ErrUnsupported.
	ContinueSignIn(ctx context.Context, a *ActionError, in ActionInput) (*Tokens, error)
}

// CookieReader is implemented by adapters whose provider frontend sets a
// cookie the middleware should read as it is (Clerk's "__session").
type CookieReader interface {
	ProviderCookies() []string
}

// ChunkedCookieReader is a CookieReader whose provider frontend splits a
// value too long for one cookie into name.0, name.1, … (Auth.js does so
// past 3936 bytes). For the names ChunkedCookies returns (a subset of
// ProviderCookies), the middleware reads the cookie itself or, when it is
// absent, joins exactly the chunks name.0 … name.N-1 in order: a name that
// merely starts with the cookie's name is never part of it, and a chunk
// set with a gap, a repeat or a non-canonical number counts as no cookie.
type ChunkedCookieReader interface {
	CookieReader
	ChunkedCookies() []string
}

// Capability names an optional capability.
type Capability string

// The optional capabilities.
const (
	CapPasswordSignIn Capability = "password_sign_in"
	CapSignUp         Capability = "sign_up"
	CapRedirectSignIn Capability = "redirect_sign_in"
	CapRefresh        Capability = "refresh"
	CapRevoke         Capability = "revoke"
	CapStrictVerify   Capability = "strict_verify"
	CapLogoutRedirect Capability = "logout_redirect"
	CapContinue       Capability = "continue_sign_in"
)

// AllCapabilities lists every optional capability in a stable order.
var AllCapabilities = []Capability{CapPasswordSignIn, CapSignUp, CapRedirectSignIn, CapRefresh, CapRevoke, CapStrictVerify, CapLogoutRedirect, CapContinue}

// Description is what an adapter says about itself.
type Description struct {
	// RevocationDelay is how long a revoked session's token may still pass
	// Verify (usually the access-token lifetime); 0 means revocation is
	// seen at once by Verify.
	RevocationDelay time.Duration
	// Unsupported maps each capability the adapter lacks to the reason.
	Unsupported map[Capability]string
}

// Describer is implemented by adapters that document their limits.
type Describer interface {
	Describe() Description
}

// Has reports whether a implements capability c and does not list it as
// unsupported in its Description (an adapter may implement a method whose
// capability depends on configuration, such as DIY refresh in JWT mode only).
func Has(a Authenticator, c Capability) bool {
	if d, ok := a.(Describer); ok {
		if _, off := d.Describe().Unsupported[c]; off {
			return false
		}
	}
	var ok bool
	switch c {
	case CapPasswordSignIn:
		_, ok = a.(PasswordSignIn)
	case CapSignUp:
		_, ok = a.(SignUp)
	case CapRedirectSignIn:
		_, ok = a.(RedirectSignIn)
	case CapRefresh:
		_, ok = a.(Refresher)
	case CapRevoke:
		_, ok = a.(Revoker)
	case CapStrictVerify:
		_, ok = a.(StrictVerifier)
	case CapLogoutRedirect:
		_, ok = a.(LogoutRedirector)
	case CapContinue:
		_, ok = a.(ActionContinuer)
	}
	return ok
}

// Capabilities lists the optional capabilities a implements.
func Capabilities(a Authenticator) []Capability {
	var out []Capability
	for _, c := range AllCapabilities {
		if Has(a, c) {
			out = append(out, c)
		}
	}
	return out
}
