package workos

import (
	"context"
	"errors"
	"net/mail"
	"slices"
	"strings"

	"github.com/workos/workos-go/v4/pkg/mfa"
	"github.com/workos/workos-go/v4/pkg/usermanagement"
	"github.com/workos/workos-go/v4/pkg/workos_errors"

	"github.com/authport/authport"
	"github.com/authport/authport/internal/retryafter"
	"github.com/authport/authport/internal/safetext"
)

func invalidInput(op, reason string) error {
	return authport.NewError(authport.ErrInvalidInput, Name, op, reason)
}

// tokens verifies a freshly issued access token (so the caller gets the
// session id, user id and expiry, and a token that would not verify is
// refused at once) and packs it with the refresh token.
func (a *Authenticator) tokens(ctx context.Context, op, access, refresh string) (*authport.Tokens, error) {
	if access == "" {
		return nil, authport.NewError(authport.ErrProviderUnavailable, Name, op, "WorkOS returned no access token")
	}
	s, err := a.v.Session(ctx, access)
	if err != nil {
		return nil, err
	}
	return &authport.Tokens{
		AccessToken: access, RefreshToken: refresh, ExpiresAt: s.ExpiresAt,
		SessionID: s.SessionID, UserID: s.UserID,
	}, nil
}

func checkEmailPassword(op, email, password string) error {
	if email == "" || password == "" {
		return invalidInput(op, "email and password are required")
	}
	if len(email) > 320 || len(password) > 1024 {
		return invalidInput(op, "email or password too long")
	}
	if _, err := mail.ParseAddress(email); err != nil || strings.ContainsAny(email, "<> ") {
		return invalidInput(op, "malformed email address")
	}
	return nil
}

// SignInWithPassword signs a user in with AuthenticateWithPassword. A
// wrong password and an unknown email are the same ErrInvalidCredential;
// a step WorkOS requires first (email verification, MFA, organisation
// selection, SSO) is an *authport.ActionError.
func (a *Authenticator) SignInWithPassword(ctx context.Context, email, password string) (*authport.Tokens, error) {
	ctx = retryafter.Track(ctx) // WorkOS's Retry-After, for mapError
	email = strings.TrimSpace(email)
	if err := checkEmailPassword(authport.OpSignIn, email, password); err != nil {
		return nil, err
	}
	res, err := a.client.AuthenticateWithPassword(ctx, usermanagement.AuthenticateWithPasswordOpts{
		ClientID: a.cfg.ClientID, Email: email, Password: password,
	})
	if err != nil {
		return nil, a.stepError(ctx, authport.OpSignIn, err)
	}
	return a.tokens(ctx, authport.OpSignIn, res.AccessToken, res.RefreshToken)
}

// SignUp creates a user with CreateUser (through the API key) and signs
// them in with AuthenticateWithPassword. An email address already in use
// is ErrInvalidCredential (the message does not say which); an environment
// that requires email verification answers with an *authport.ActionError
// (ActionVerifyEmail) whose PendingToken CompleteEmailVerification takes.
func (a *Authenticator) SignUp(ctx context.Context, email, password string) (*authport.Tokens, error) {
	ctx = retryafter.Track(ctx) // WorkOS's Retry-After, for mapError
	email = strings.TrimSpace(email)
	if err := checkEmailPassword(authport.OpSignUp, email, password); err != nil {
		return nil, err
	}
	if _, err := a.client.CreateUser(ctx, usermanagement.CreateUserOpts{Email: email, Password: password}); err != nil {
		return nil, mapError(ctx, authport.OpSignUp, err)
	}
	res, err := a.client.AuthenticateWithPassword(ctx, usermanagement.AuthenticateWithPasswordOpts{
		ClientID: a.cfg.ClientID, Email: email, Password: password,
	})
	if err != nil {
		return nil, a.stepError(ctx, authport.OpSignIn, err)
	}
	return a.tokens(ctx, authport.OpSignUp, res.AccessToken, res.RefreshToken)
}

// AuthorizeURL returns the AuthKit URL to send the browser to
// (GetAuthorizationURL): provider "authkit", or the organisation's SSO
// when r.Organization is set. State and a PKCE S256 challenge are
// required; r.RedirectURI defaults to Config.RedirectURI.
func (a *Authenticator) AuthorizeURL(_ context.Context, r authport.AuthorizeRequest) (string, error) {
	redirect := r.RedirectURI
	if redirect == "" {
		redirect = a.cfg.RedirectURI
	}
	switch {
	case redirect == "":
		return "", authport.NewError(authport.ErrMisconfigured, Name, authport.OpSignIn, "no redirect URI: set "+EnvRedirectURI+" or AuthorizeRequest.RedirectURI")
	case r.State == "":
		return "", invalidInput(authport.OpSignIn, "state is required")
	case r.CodeChallenge == "":
		return "", invalidInput(authport.OpSignIn, "a PKCE code challenge is required")
	}
	if _, reason := checkURL(redirect, true); reason != "" {
		return "", invalidInput(authport.OpSignIn, "redirect URI "+reason)
	}
	opts := usermanagement.GetAuthorizationURLOpts{
		ClientID: a.cfg.ClientID, RedirectURI: redirect, State: r.State,
		CodeChallenge: r.CodeChallenge, CodeChallengeMethod: "S256",
	}
	if r.Organization != "" {
		// An organisation selects its SSO connection; AuthKit's screen
		// hint does not apply then (the SDK refuses the combination).
		opts.OrganizationID = r.Organization
	} else {
		opts.Provider = "authkit"
		switch r.ScreenHint {
		case "":
		case string(usermanagement.SignUp):
			opts.ScreenHint = usermanagement.SignUp
		case string(usermanagement.SignIn):
			opts.ScreenHint = usermanagement.SignIn
		default:
			return "", invalidInput(authport.OpSignIn, "screen hint must be sign-in or sign-up")
		}
	}
	u, err := a.client.GetAuthorizationURL(opts)
	if err != nil {
		return "", invalidInput(authport.OpSignIn, "authorization URL cannot be built")
	}
	return u.String(), nil
}

// Exchange turns the callback's code into tokens with AuthenticateWithCode
// and the PKCE verifier. The callback's error parameter, if any, is
// ErrInvalidCredential.
func (a *Authenticator) Exchange(ctx context.Context, c authport.Callback) (*authport.Tokens, error) {
	ctx = retryafter.Track(ctx) // WorkOS's Retry-After, for mapError
	if e := c.Query.Get("error"); e != "" {
		reason := "WorkOS returned an error"
		if code := safetext.Code(e); code != "" {
			reason += " " + code
		}
		return nil, authport.NewError(authport.ErrInvalidCredential, Name, authport.OpSignIn, reason)
	}
	codes := c.Query["code"]
	if len(codes) != 1 || codes[0] == "" || len(codes[0]) > 512 {
		return nil, invalidInput(authport.OpSignIn, "exactly one code is required")
	}
	if c.CodeVerifier == "" {
		return nil, invalidInput(authport.OpSignIn, "the PKCE code verifier is required")
	}
	res, err := a.client.AuthenticateWithCode(ctx, usermanagement.AuthenticateWithCodeOpts{
		ClientID: a.cfg.ClientID, Code: codes[0], CodeVerifier: c.CodeVerifier,
	})
	if err != nil {
		return nil, a.stepError(ctx, authport.OpSignIn, err)
	}
	return a.tokens(ctx, authport.OpSignIn, res.AccessToken, res.RefreshToken)
}

// Refresh trades a refresh token for new tokens with
// AuthenticateWithRefreshToken. WorkOS rotates refresh tokens: the one
// passed in is spent, keep the returned one.
func (a *Authenticator) Refresh(ctx context.Context, refreshToken string) (*authport.Tokens, error) {
	return a.refresh(ctx, refreshToken, "")
}

// SwitchOrganization refreshes into organisation orgID (the user must be
// an active member): the new access token carries that org_id, role and
// permissions. The refresh token is spent, as by Refresh.
func (a *Authenticator) SwitchOrganization(ctx context.Context, refreshToken, orgID string) (*authport.Tokens, error) {
	if orgID == "" {
		return nil, invalidInput(authport.OpRefresh, "organization id is required")
	}
	return a.refresh(ctx, refreshToken, orgID)
}

func (a *Authenticator) refresh(ctx context.Context, refreshToken, orgID string) (*authport.Tokens, error) {
	ctx = retryafter.Track(ctx) // WorkOS's Retry-After, for mapError
	if refreshToken == "" {
		return nil, invalidInput(authport.OpRefresh, "refresh token is required")
	}
	if len(refreshToken) > 4096 {
		return nil, authport.NewError(authport.ErrInvalidCredential, Name, authport.OpRefresh, "refresh token too long")
	}
	res, err := a.client.AuthenticateWithRefreshToken(ctx, usermanagement.AuthenticateWithRefreshTokenOpts{
		ClientID: a.cfg.ClientID, RefreshToken: refreshToken, OrganizationID: orgID,
	})
	if err != nil {
		return nil, mapError(ctx, authport.OpRefresh, err)
	}
	return a.tokens(ctx, authport.OpRefresh, res.AccessToken, res.RefreshToken)
}

// CompleteOrganizationSelection finishes a sign-in that failed with
// ActionSelectOrganization (AuthenticateWithOrganizationSelection), with
// the ActionError's PendingToken and one of its Organizations.
func (a *Authenticator) CompleteOrganizationSelection(ctx context.Context, pendingToken, orgID string) (*authport.Tokens, error) {
	ctx = retryafter.Track(ctx) // WorkOS's Retry-After, for mapError
	if pendingToken == "" || orgID == "" {
		return nil, invalidInput(authport.OpSignIn, "pending token and organization id are required")
	}
	res, err := a.client.AuthenticateWithOrganizationSelection(ctx, usermanagement.AuthenticateWithOrganizationSelectionOpts{
		ClientID: a.cfg.ClientID, PendingAuthenticationToken: pendingToken, OrganizationID: orgID,
	})
	if err != nil {
		return nil, a.stepError(ctx, authport.OpSignIn, err)
	}
	return a.tokens(ctx, authport.OpSignIn, res.AccessToken, res.RefreshToken)
}

// CompleteEmailVerification finishes a sign-in that failed with
// ActionVerifyEmail (AuthenticateWithEmailVerificationCode), with the
// ActionError's PendingToken and the one-time code emailed to the user.
func (a *Authenticator) CompleteEmailVerification(ctx context.Context, pendingToken, code string) (*authport.Tokens, error) {
	ctx = retryafter.Track(ctx) // WorkOS's Retry-After, for mapError
	if pendingToken == "" || code == "" {
		return nil, invalidInput(authport.OpSignIn, "pending token and code are required")
	}
	res, err := a.client.AuthenticateWithEmailVerificationCode(ctx, usermanagement.AuthenticateWithEmailVerificationCodeOpts{
		ClientID: a.cfg.ClientID, PendingAuthenticationToken: pendingToken, Code: code,
	})
	if err != nil {
		return nil, a.stepError(ctx, authport.OpSignIn, err)
	}
	return a.tokens(ctx, authport.OpSignIn, res.AccessToken, res.RefreshToken)
}

// CanContinue implements authport.ActionContinuer: ContinueSignIn can
// finish email verification and organisation selection, which WorkOS
// completes with the pending authentication token and the user's input
// alone, and MFA once a TOTP challenge has been made for it (the sign-in
// that asked for it does so: see stepError). SSO and
// organization_authentication_methods_required continue on AuthKit's
// hosted page.
func (a *Authenticator) CanContinue(e *authport.ActionError) bool {
	if e == nil || e.PendingToken == "" || e.Provider != Name {
		return false
	}
	switch e.Action {
	case authport.ActionVerifyEmail, authport.ActionSelectOrganization:
		return true
	case authport.ActionMFA:
		return e.ChallengeID != ""
	}
	return false
}

// stepError maps a sign-in's error like mapError and, when WorkOS asks
// for MFA, prepares the step so the user can take it here: for
// mfa_challenge it challenges the user's TOTP factor; for mfa_enrollment
// it enrols a TOTP factor (whose secret, key URI and QR code the page
// shows once) and takes its first challenge. If that fails, the
// *authport.ActionError is returned without a challenge and the user is
// sent to AuthKit's hosted page instead.
func (a *Authenticator) stepError(ctx context.Context, op string, err error) error {
	mapped := mapError(ctx, op, err)
	var ae *authport.ActionError
	if !errors.As(mapped, &ae) || ae.Action != authport.ActionMFA {
		return mapped
	}
	var (
		me *workos_errors.MFAEnrollmentError
		mc *workos_errors.MFAChallengeError
	)
	switch {
	case errors.As(err, &mc):
		for _, f := range mc.AuthenticationFactors {
			if f.Type != "totp" || f.ID == "" {
				continue
			}
			c, cerr := a.mfa.ChallengeFactor(ctx, mfa.ChallengeFactorOpts{FactorID: f.ID})
			if cerr != nil {
				a.cfg.Logger.WarnContext(ctx, "authport: WorkOS MFA challenge failed; the user continues on AuthKit", "provider", Name, "error", mapError(ctx, op, cerr))
				return ae
			}
			ae.ChallengeID = c.ID
			return ae
		}
	case errors.As(err, &me) && me.User.ID != "":
		r, eerr := a.client.EnrollAuthFactor(ctx, usermanagement.EnrollAuthFactorOpts{
			User: me.User.ID, Type: mfa.TOTP, TOTPIssuer: a.cfg.TOTPIssuer, TOTPUser: me.User.Email,
		})
		if eerr != nil {
			a.cfg.Logger.WarnContext(ctx, "authport: WorkOS MFA enrolment failed; the user continues on AuthKit", "provider", Name, "error", mapError(ctx, op, eerr))
			return ae
		}
		ae.ChallengeID = r.Challenge.ID
		ae.Enrollment = &authport.Enrollment{Secret: r.Factor.TOTP.Secret, URI: r.Factor.TOTP.URI, QRCode: r.Factor.TOTP.QRCode}
	}
	return ae
}

// CompleteMFA finishes a sign-in that failed with ActionMFA, with the
// ActionError's PendingToken and ChallengeID and the code of the user's
// authenticator app (AuthenticateWithTOTP).
func (a *Authenticator) CompleteMFA(ctx context.Context, pendingToken, challengeID, code string) (*authport.Tokens, error) {
	ctx = retryafter.Track(ctx) // WorkOS's Retry-After, for mapError
	if pendingToken == "" || challengeID == "" || code == "" {
		return nil, invalidInput(authport.OpSignIn, "pending token, challenge and code are required")
	}
	res, err := a.client.AuthenticateWithTOTP(ctx, usermanagement.AuthenticateWithTOTPOpts{
		ClientID: a.cfg.ClientID, PendingAuthenticationToken: pendingToken, AuthenticationChallengeID: challengeID, Code: code,
	})
	if err != nil {
		return nil, a.stepError(ctx, authport.OpSignIn, err)
	}
	return a.tokens(ctx, authport.OpSignIn, res.AccessToken, res.RefreshToken)
}

// ContinueSignIn implements authport.ActionContinuer: it finishes a
// sign-in that failed with ActionVerifyEmail (CompleteEmailVerification
// with in.Code) or ActionSelectOrganization (CompleteOrganizationSelection
// with in.Organization, which must be one of e.Organizations when WorkOS
// listed them). A wrong or expired code, a spent pending token or an
// organisation the user is not a member of is ErrInvalidCredential; a
// further step (organisation selection after email verification) is
// another *authport.ActionError; other actions are ErrUnsupported.
func (a *Authenticator) ContinueSignIn(ctx context.Context, e *authport.ActionError, in authport.ActionInput) (*authport.Tokens, error) {
	if e == nil || e.PendingToken == "" || e.Provider != Name {
		return nil, invalidInput(authport.OpSignIn, "a WorkOS pending authentication token is required")
	}
	if len(e.PendingToken) > 1024 {
		return nil, authport.NewError(authport.ErrInvalidCredential, Name, authport.OpSignIn, "pending token too long")
	}
	switch e.Action {
	case authport.ActionVerifyEmail:
		code := strings.TrimSpace(in.Code)
		if len(code) > 64 {
			return nil, authport.NewError(authport.ErrInvalidCredential, Name, authport.OpSignIn, "code too long")
		}
		return a.CompleteEmailVerification(ctx, e.PendingToken, code)
	case authport.ActionSelectOrganization:
		org := strings.TrimSpace(in.Organization)
		if len(e.Organizations) > 0 && org != "" && !slices.Contains(e.Organizations, org) {
			return nil, invalidInput(authport.OpSignIn, "organization was not offered")
		}
		return a.CompleteOrganizationSelection(ctx, e.PendingToken, org)
	case authport.ActionMFA:
		code := strings.TrimSpace(in.Code)
		switch {
		case e.ChallengeID == "":
			return nil, authport.NewError(authport.ErrUnsupported, Name, authport.OpSignIn, "no MFA challenge was made for this sign-in: continue on AuthKit")
		case len(code) > 64 || len(e.ChallengeID) > 256:
			return nil, authport.NewError(authport.ErrInvalidCredential, Name, authport.OpSignIn, "code too long")
		}
		return a.CompleteMFA(ctx, e.PendingToken, e.ChallengeID, code)
	}
	return nil, authport.NewError(authport.ErrUnsupported, Name, authport.OpSignIn, "cannot continue "+string(e.Action)+" here: continue on AuthKit's hosted page")
}

// Revoke ends the session at WorkOS (RevokeSession) and denies it in this
// adapter at once, for TokenLifetime. The session id comes from s, else
// from t; a session WorkOS no longer knows counts as ended. Other
// processes keep accepting the session's access tokens until they expire
// (Describe's RevocationDelay); its refresh tokens fail everywhere.
func (a *Authenticator) Revoke(ctx context.Context, s *authport.Session, t *authport.Tokens) error {
	ctx = retryafter.Track(ctx) // WorkOS's Retry-After, for mapError
	sid := ""
	if s != nil {
		sid = s.SessionID
	}
	if sid == "" && t != nil {
		sid = t.SessionID
	}
	if sid == "" && t != nil && t.AccessToken != "" {
		if vs, err := a.v.Session(ctx, t.AccessToken); err == nil {
			sid = vs.SessionID
		}
	}
	if sid == "" {
		return invalidInput(authport.OpRevoke, "no WorkOS session id to revoke")
	}
	// Deny first: whatever WorkOS answers, this process stops trusting
	// the session.
	a.v.DenySession(sid, a.now().Add(a.cfg.TokenLifetime))
	err := a.client.RevokeSession(ctx, usermanagement.RevokeSessionOpts{SessionID: sid})
	if he, ok := httpError(err); ok && he.Code == 404 {
		return nil
	}
	return mapError(ctx, authport.OpRevoke, err)
}

// LogoutURL implements authport.LogoutRedirector: WorkOS's browser logout
// URL for s's session (GetLogoutURL, /user_management/sessions/logout
// ?session_id=&return_to=). Sending the browser there ends AuthKit's own
// session cookie too, then WorkOS redirects to returnTo, which must be a
// sign-out redirect allowed in the dashboard (empty: the dashboard's
// default). authport.Web's POST /logout sends browsers there after Revoke.
// The session id comes from s.SessionID (the token's "sid"); without one
// the error is ErrInvalidInput. No request is made.
func (a *Authenticator) LogoutURL(_ context.Context, s *authport.Session, returnTo string) (string, error) {
	if s == nil || s.SessionID == "" {
		return "", invalidInput(authport.OpRevoke, "session id is required")
	}
	if returnTo != "" {
		if _, reason := checkURL(returnTo, true); reason != "" {
			return "", invalidInput(authport.OpRevoke, "return URL "+reason)
		}
	}
	u, err := a.client.GetLogoutURL(usermanagement.GetLogoutURLOpts{SessionID: s.SessionID, ReturnTo: returnTo})
	if err != nil {
		return "", invalidInput(authport.OpRevoke, "logout URL cannot be built")
	}
	return u.String(), nil
}

// KeyFetches counts the fetches of WorkOS's key set this adapter made
// (successful or not).
func (a *Authenticator) KeyFetches() int64 { return a.keys.Fetches() }
