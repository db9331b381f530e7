package supabase

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	auth "github.com/supabase-community/auth-go"
	"github.com/supabase-community/auth-go/types"

	"github.com/authport/authport"
	"github.com/authport/authport/internal/safetext"
)

// ctxTransport binds the SDK's requests, which it builds without a
// context, to the caller's context: cancellation and deadlines reach the
// wire although auth-go has no context parameters.
type ctxTransport struct {
	ctx  context.Context
	base http.RoundTripper
}

// RoundTrip sends r under the bound context.
func (t ctxTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return t.base.RoundTrip(r.WithContext(t.ctx))
}

// client returns the SDK client for one call, bound to ctx and the call
// timeout. The cancel function must be called once the call returned (the
// SDK has read the whole body by then).
func (a *Authenticator) client(ctx context.Context) (auth.Client, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(ctx, a.http.Timeout)
	hc := http.Client{Transport: ctxTransport{ctx: ctx, base: a.transport}, Jar: a.http.Jar, CheckRedirect: a.http.CheckRedirect}
	return a.sdk.WithClient(hc), cancel
}

// Client returns the SDK client the adapter uses (anon key, the project's
// Auth URL, the configured HTTP client), for calls authport does not wrap.
// auth-go takes no context; bound calls with the HTTP client's timeout.
func (a *Authenticator) Client() auth.Client {
	if a.cfg.HTTPClient != nil {
		return a.sdk.WithClient(*a.cfg.HTTPClient)
	}
	return a.sdk
}

// AdminClient returns an SDK client authorised with the service-role key,
// for the admin API (AdminCreateUser, AdminUpdateUser, ...). It fails with
// ErrMisconfigured when no service-role key is configured.
func (a *Authenticator) AdminClient() (auth.Client, error) {
	k := a.cfg.ServiceRoleKey
	if k == "" {
		return nil, authport.NewError(authport.ErrMisconfigured, Name, string(opAdmin), EnvServiceRoleKey+" is not set")
	}
	c := auth.New(projectRef(a.cfg.URL), k).WithCustomAuthURL(a.authURL).WithToken(k)
	if a.cfg.HTTPClient != nil {
		c = c.WithClient(*a.cfg.HTTPClient)
	}
	return c, nil
}

// tokens turns a Supabase token response into Tokens, verifying the new
// access token first: a token the adapter would refuse is an error now
// rather than a puzzling 401 later (a wrong SUPABASE_URL, say).
func (a *Authenticator) tokens(ctx context.Context, o op, r *types.TokenResponse) (*authport.Tokens, error) {
	if r == nil || r.AccessToken == "" {
		return nil, authport.NewError(authport.ErrProviderUnavailable, Name, string(o), "Supabase Auth returned no access token")
	}
	s, err := a.v.Session(ctx, r.AccessToken)
	if err != nil {
		return nil, err
	}
	t := &authport.Tokens{
		AccessToken:  r.AccessToken,
		RefreshToken: r.RefreshToken,
		SessionID:    s.SessionID,
		UserID:       s.UserID,
		ExpiresAt:    s.ExpiresAt,
	}
	if r.ExpiresAt > 0 {
		t.ExpiresAt = time.Unix(r.ExpiresAt, 0)
	}
	return t, nil
}

// SignInWithPassword signs a user in with email and password
// (POST /token?grant_type=password through SignInWithEmailPassword). A
// wrong password and an unknown email both give ErrInvalidCredential; an
// unconfirmed email gives an *authport.ActionError (ActionVerifyEmail).
func (a *Authenticator) SignInWithPassword(ctx context.Context, email, password string) (*authport.Tokens, error) {
	if strings.TrimSpace(email) == "" || password == "" {
		return nil, authport.NewError(authport.ErrInvalidInput, Name, string(opSignIn), "email and password are required")
	}
	c, cancel := a.client(ctx)
	defer cancel()
	r, err := c.SignInWithEmailPassword(email, password)
	if err != nil {
		return nil, a.mapError(opSignIn, err)
	}
	return a.tokens(ctx, opSignIn, r)
}

// SignUp creates an account (POST /signup). When the project confirms
// email addresses the user gets no session yet, and SignUp returns an
// *authport.ActionError with ActionVerifyEmail; with auto-confirm it
// returns the new session's tokens.
func (a *Authenticator) SignUp(ctx context.Context, email, password string) (*authport.Tokens, error) {
	if strings.TrimSpace(email) == "" || password == "" {
		return nil, authport.NewError(authport.ErrInvalidInput, Name, string(opSignUp), "email and password are required")
	}
	c, cancel := a.client(ctx)
	defer cancel()
	r, err := c.Signup(types.SignupRequest{Email: email, Password: password})
	if err != nil {
		return nil, a.mapError(opSignUp, err)
	}
	if r.Session.AccessToken == "" {
		return nil, &authport.ActionError{Action: authport.ActionVerifyEmail, Provider: Name}
	}
	return a.tokens(ctx, opSignUp, &types.TokenResponse{Session: r.Session})
}

// Refresh trades a refresh token for new tokens (POST
// /token?grant_type=refresh_token). Supabase rotates refresh tokens: keep
// the new one. A used, unknown or signed-out token is an error of kind
// ErrInvalidCredential or ErrRevoked.
func (a *Authenticator) Refresh(ctx context.Context, refreshToken string) (*authport.Tokens, error) {
	if refreshToken == "" {
		return nil, authport.NewError(authport.ErrInvalidInput, Name, string(opRefresh), "no refresh token")
	}
	c, cancel := a.client(ctx)
	defer cancel()
	r, err := c.RefreshToken(refreshToken)
	if err != nil {
		return nil, a.mapError(opRefresh, err)
	}
	return a.tokens(ctx, opRefresh, r)
}

// Revoke signs the user out at Supabase (POST /logout with the user's
// access token, through the SDK's Logout). The SDK sends no scope, so
// Supabase applies scope=global: every session of that user ends and all
// their refresh tokens stop working. Access tokens already issued keep
// verifying offline until they expire, except in this process, where the
// revoked session is refused at once. t must carry the access token
// (ErrInvalidInput otherwise). A session that had already ended is not an
// error.
func (a *Authenticator) Revoke(ctx context.Context, s *authport.Session, t *authport.Tokens) error {
	if t == nil || t.AccessToken == "" {
		return authport.NewError(authport.ErrInvalidInput, Name, string(opRevoke), "Supabase signs out with the user's access token; none was given")
	}
	if s == nil {
		if vs, err := a.v.Session(ctx, t.AccessToken); err == nil {
			s = vs
		}
	}
	if s != nil && s.SessionID != "" {
		until := s.ExpiresAt
		if until.IsZero() {
			until = a.cfg.Clock().Add(a.cfg.TokenLifetime)
		}
		a.v.DenySession(s.SessionID, until)
	}
	c, cancel := a.client(ctx)
	defer cancel()
	err := c.WithToken(t.AccessToken).Logout()
	if e, ok := parseSDKError(err); ok && (e.Code == "session_not_found" || e.Code == "user_not_found") {
		return nil // already signed out
	}
	return a.mapError(opRevoke, err)
}

// VerifyStrict verifies the token offline, then asks Supabase
// (GET /user through the SDK's GetUser) whether its session still exists:
// a signed-out session ("session_not_found") or deleted user is
// ErrRevoked. The Session's Native *Claims then carries the user record
// (Claims.User) and EmailVerified is set from its email_confirmed_at.
func (a *Authenticator) VerifyStrict(ctx context.Context, cred authport.Credential) (*authport.Session, error) {
	s, err := a.Verify(ctx, cred)
	if err != nil {
		return nil, err
	}
	c, cancel := a.client(ctx)
	defer cancel()
	u, err := c.WithToken(cred.Token).GetUser()
	if err != nil {
		return nil, a.mapError(opStrict, err)
	}
	if u.ID.String() != s.UserID {
		return nil, authport.NewError(authport.ErrInvalidCredential, Name, string(opStrict), "Supabase returned another user")
	}
	if nc, ok := s.Native.(*Claims); ok {
		cp := *nc
		cp.User = &u.User
		s.Native = &cp
	}
	s.EmailVerified = u.EmailConfirmedAt != nil && !u.EmailConfirmedAt.IsZero() && strings.EqualFold(u.Email, s.Email)
	return s, nil
}

// AuthorizeURL returns Supabase's /authorize URL for the configured OAuth
// provider with the PKCE S256 challenge. Supabase does not echo a state
// parameter of its own to the application, so the state travels inside
// redirect_to (Supabase keeps redirect_to's query and adds "code"); the
// redirect URI must be in the project's redirect allow list. Building the
// URL is not an API call: the browser makes it.
func (a *Authenticator) AuthorizeURL(ctx context.Context, r authport.AuthorizeRequest) (string, error) {
	if a.cfg.OAuthProvider == "" {
		return "", authport.NewError(authport.ErrUnsupported, Name, "authorize", "no OAuth provider configured (set "+EnvOAuthProvider+")")
	}
	ru, err := url.Parse(r.RedirectURI)
	if err != nil || !ru.IsAbs() || ru.Host == "" || ru.Fragment != "" {
		return "", authport.NewError(authport.ErrInvalidInput, Name, "authorize", "redirect URI must be an absolute URL")
	}
	if r.CodeChallenge == "" || r.State == "" {
		return "", authport.NewError(authport.ErrInvalidInput, Name, "authorize", "state and a PKCE challenge are required")
	}
	rq := ru.Query()
	rq.Set("state", r.State)
	ru.RawQuery = rq.Encode()
	q := url.Values{}
	q.Set("provider", a.cfg.OAuthProvider)
	q.Set("redirect_to", ru.String())
	q.Set("code_challenge", r.CodeChallenge)
	q.Set("code_challenge_method", "s256")
	if a.cfg.OAuthScopes != "" {
		q.Set("scopes", a.cfg.OAuthScopes)
	}
	return a.authURL + "/authorize?" + q.Encode(), nil
}

// Exchange redeems the callback's code with the PKCE verifier (POST
// /token?grant_type=pkce through the SDK's Token).
func (a *Authenticator) Exchange(ctx context.Context, cb authport.Callback) (*authport.Tokens, error) {
	if e := cb.Query.Get("error"); e != "" {
		reason := "Supabase returned an error"
		if code := safetext.Code(cb.Query.Get("error_code")); code != "" {
			reason += " (" + code + ")"
		}
		return nil, authport.NewError(authport.ErrInvalidCredential, Name, string(opSignIn), reason)
	}
	code := cb.Query.Get("code")
	if code == "" || len(cb.Query["code"]) != 1 || cb.CodeVerifier == "" {
		return nil, authport.NewError(authport.ErrInvalidInput, Name, string(opSignIn), "code or verifier missing")
	}
	c, cancel := a.client(ctx)
	defer cancel()
	r, err := c.Token(types.TokenRequest{GrantType: "pkce", Code: code, CodeVerifier: cb.CodeVerifier})
	if err != nil {
		return nil, a.mapError(opSignIn, err)
	}
	return a.tokens(ctx, opSignIn, r)
}
