package clerk

import (
	"context"
	"net/url"
	"strings"

	"github.com/authport/authport"
	"github.com/clerk/clerk-sdk-go/v2/jwt"
	"github.com/clerk/clerk-sdk-go/v2/session"
)

// VerifyStrict verifies the token as Verify does, then asks the Backend
// API for the session (GET /v1/sessions/{sid}, through the SDK's session
// client). The session must belong to the token's user and be "active",
// or "pending", which is then reported as Session.Status pending whatever
// the token says (RequireOrg refuses it). Any other status
// (revoked, ended, removed, expired, abandoned, replaced) or an unknown
// session is ErrRevoked. Every call is a round trip; nothing is cached.
func (a *Authenticator) VerifyStrict(ctx context.Context, c authport.Credential) (*authport.Session, error) {
	if err := a.unsupported(authport.CapStrictVerify, authport.OpVerify); err != nil {
		return nil, err
	}
	s, err := a.Verify(ctx, c)
	if err != nil {
		return nil, err
	}
	if s.SessionID == "" {
		return nil, authport.NewError(authport.ErrInvalidCredential, Name, authport.OpVerify, "token names no session")
	}
	cs, err := a.sessions.Get(ctx, s.SessionID)
	if err != nil {
		return nil, a.apiError(authport.OpVerify, err)
	}
	if cs.UserID != s.UserID {
		return nil, authport.NewError(authport.ErrInvalidCredential, Name, authport.OpVerify, "session belongs to another user")
	}
	switch cs.Status {
	case "active":
	case "pending":
		s.Status = authport.StatusPending
	default:
		return nil, authport.NewError(authport.ErrRevoked, Name, authport.OpVerify, "session is "+statusWord(cs.Status))
	}
	return s, nil
}

// Revoke ends the session at Clerk (POST /v1/sessions/{id}/revoke, through
// the SDK) and denies it in this process at once, until every token it
// could have issued has expired. Other processes keep accepting its
// tokens for up to Describe().RevocationDelay unless they verify
// strictly. Revoking a session Clerk no longer knows is not an error.
func (a *Authenticator) Revoke(ctx context.Context, s *authport.Session, _ *authport.Tokens) error {
	if err := a.unsupported(authport.CapRevoke, authport.OpRevoke); err != nil {
		return err
	}
	if s == nil || s.SessionID == "" {
		return authport.NewError(authport.ErrInvalidInput, Name, authport.OpRevoke, "the session has no Clerk session id")
	}
	// Deny first: even if Clerk cannot be reached, this process stops
	// accepting the session.
	a.verifier.DenySession(s.SessionID, a.cfg.Clock().Add(a.cfg.TokenLifetime))
	if _, err := a.sessions.Revoke(ctx, &session.RevokeParams{ID: s.SessionID}); err != nil {
		err = a.apiError(authport.OpRevoke, err)
		if authport.KindOf(err) == authport.ErrRevoked { // 404: already gone
			return nil
		}
		return err
	}
	return nil
}

// AuthorizeURL implements authport.RedirectSignIn: it sends the browser to
// the instance's hosted sign-in page (the Account Portal, or
// Config.SignInURL; the sign-up page for ScreenHint "sign-up") with
// redirect_url set to r.RedirectURI carrying r.State. Clerk has no PKCE
// and does not echo a state parameter, so the state travels inside the
// return URL; Organization is not used (the user picks one in Clerk's UI).
func (a *Authenticator) AuthorizeURL(_ context.Context, r authport.AuthorizeRequest) (string, error) {
	if err := a.unsupported(authport.CapRedirectSignIn, authport.OpSignIn); err != nil {
		return "", err
	}
	ret, err := url.Parse(r.RedirectURI)
	if err != nil || ret.Host == "" || (ret.Scheme != "https" && ret.Scheme != "http") || ret.Fragment != "" {
		return "", authport.NewError(authport.ErrInvalidInput, Name, authport.OpSignIn, "RedirectURI must be an absolute http(s) URL")
	}
	if r.State == "" {
		return "", authport.NewError(authport.ErrInvalidInput, Name, authport.OpSignIn, "State is required")
	}
	q := ret.Query()
	q.Set("state", r.State)
	ret.RawQuery = q.Encode()

	page := a.signIn
	if r.ScreenHint == "sign-up" && a.signUp != "" {
		page = a.signUp
	}
	u, err := url.Parse(page)
	if err != nil {
		return "", authport.NewError(authport.ErrMisconfigured, Name, authport.OpSignIn, "CLERK_SIGN_IN_URL is malformed")
	}
	pq := u.Query()
	pq.Set("redirect_url", ret.String())
	u.RawQuery = pq.Encode()
	return u.String(), nil
}

// maxHandshake caps the handshake parameter before it is decoded.
const maxHandshake = 16 << 10

// Exchange implements authport.RedirectSignIn. After a hosted sign-in,
// Clerk hands the application its session through a handshake: a signed
// token in the __clerk_handshake query parameter whose "handshake" claim
// lists the Set-Cookie lines for the application's origin, among them
// "__session=<session token>". Exchange finds that __session value and
// verifies it in full (signature, issuer, azp, expiry) as Verify does; the
// session token, not the handshake wrapper, is what proves the sign-in,
// and the caller has already bound the callback to the browser by state
// (authport.Handler does). The PKCE verifier is unused: Clerk has none.
// The returned Tokens carry only the 60 s session token (no refresh
// token): when it expires, the browser goes through the hosted page again,
// which returns at once while the Clerk session is live.
func (a *Authenticator) Exchange(ctx context.Context, c authport.Callback) (*authport.Tokens, error) {
	if err := a.unsupported(authport.CapRedirectSignIn, authport.OpSignIn); err != nil {
		return nil, err
	}
	hs := c.Query[HandshakeParam]
	if len(hs) != 1 || hs[0] == "" {
		return nil, authport.NewError(authport.ErrInvalidInput, Name, authport.OpSignIn, "no Clerk handshake in the callback")
	}
	if len(hs[0]) > maxHandshake {
		return nil, authport.NewError(authport.ErrInvalidCredential, Name, authport.OpSignIn, "handshake too large")
	}
	tok, err := handshakeSession(ctx, hs[0])
	if err != nil {
		return nil, err
	}
	s, err := a.verifier.Session(ctx, tok)
	if err != nil {
		return nil, err
	}
	return &authport.Tokens{AccessToken: tok, ExpiresAt: s.ExpiresAt, SessionID: s.SessionID, UserID: s.UserID}, nil
}

// handshakeSession reads the __session cookie value out of a handshake
// token (decoded with the SDK's jwt.Decode; the value found is verified by
// the caller).
func handshakeSession(ctx context.Context, hs string) (string, error) {
	bad := func(reason string) error {
		return authport.NewError(authport.ErrInvalidCredential, Name, authport.OpSignIn, reason)
	}
	t, err := jwt.Decode(ctx, &jwt.DecodeParams{Token: hs})
	if err != nil {
		return "", bad("handshake is not a JWT")
	}
	lines, ok := t.Extra["handshake"].([]any)
	if !ok {
		return "", bad("handshake lists no cookies")
	}
	tok := ""
	for _, l := range lines {
		line, ok := l.(string)
		if !ok {
			return "", bad("malformed handshake")
		}
		v, ok := strings.CutPrefix(line, SessionCookie+"=")
		if !ok {
			continue
		}
		v, _, _ = strings.Cut(v, ";")
		if tok != "" && v != tok {
			return "", bad("handshake sets the session cookie twice")
		}
		tok = v
	}
	if tok == "" {
		return "", authport.NewError(authport.ErrNoCredential, Name, authport.OpSignIn, "handshake carries no session (signed out)")
	}
	return tok, nil
}
