package supabasetest

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/mail"
	"strings"
	"time"

	"github.com/supabase-community/auth-go/types"

	"github.com/authport/authport/internal/emulator"
)

// tokenResponse is GoTrue's AccessTokenResponse.
type tokenResponse struct {
	AccessToken  string   `json:"access_token"`
	TokenType    string   `json:"token_type"`
	ExpiresIn    int64    `json:"expires_in"`
	ExpiresAt    int64    `json:"expires_at"`
	RefreshToken string   `json:"refresh_token"`
	User         userJSON `json:"user"`
}

// issue starts a session for u (authenticated by method) and returns the
// token response, as GoTrue's IssueRefreshToken does.
func (e *Emulator) issue(u *emulator.User, method, provider string) (*tokenResponse, error) {
	now := e.now()
	amr := map[string]any{"method": method, "timestamp": now.Unix()}
	if provider != "" {
		amr["provider"] = provider
	}
	ss, err := e.srv.Store.CreateSession(emulator.NewSession{UserID: u.ID, Data: map[string]any{
		"aal": "aal1", "amr": []any{amr},
	}})
	if err != nil {
		return nil, err
	}
	u, err = e.srv.Store.UpdateMetadata(u.ID, map[string]any{mdLastSignIn: now, mdUpdatedAt: now})
	if err != nil {
		return nil, err
	}
	rt, err := e.srv.Store.IssueRefresh(ss.ID)
	if err != nil {
		return nil, err
	}
	return e.respond(u, ss, rt)
}

func (e *Emulator) respond(u *emulator.User, ss *emulator.Session, rt string) (*tokenResponse, error) {
	at, exp, err := e.accessToken(u, ss)
	if err != nil {
		return nil, err
	}
	return &tokenResponse{
		AccessToken: at, TokenType: "bearer", ExpiresIn: int64(e.o.TokenLifetime / time.Second), ExpiresAt: exp,
		RefreshToken: rt, User: e.userJSON(u),
	}, nil
}

// SignIn signs a user in with email and password, as POST
// /token?grant_type=password does, and returns the SDK's response type.
func (e *Emulator) SignIn(email, password string) (*types.TokenResponse, error) {
	u, ae := e.checkPassword(email, password)
	if ae != nil {
		return nil, ae
	}
	tr, err := e.issue(u, amrPassword, "")
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(tr)
	if err != nil {
		return nil, err
	}
	var out types.TokenResponse
	return &out, json.Unmarshal(b, &out)
}

func (e *Emulator) checkPassword(email, password string) (*emulator.User, *apiErr) {
	invalid := &apiErr{400, "invalid_credentials", "Invalid login credentials"}
	u, err := e.srv.Store.CheckPassword(email, password)
	if errors.Is(err, emulator.ErrDisabled) {
		x, uerr := e.srv.Store.UserByEmail(email)
		if uerr != nil {
			return nil, invalid
		}
		if e.banned(x) {
			return nil, &apiErr{400, "user_banned", "User is banned"}
		}
		u, err = e.srv.Store.CheckPassword(email, password)
	}
	if err != nil {
		return nil, invalid
	}
	if mdTime(u, mdConfirmedAt) == nil {
		return nil, &apiErr{400, "email_not_confirmed", "Email not confirmed"}
	}
	return u, nil
}

func (e *Emulator) handleToken(w http.ResponseWriter, r *http.Request) {
	switch gt := r.URL.Query().Get("grant_type"); gt {
	case "password":
		e.passwordGrant(w, r)
	case "refresh_token":
		e.refreshGrant(w, r)
	case "pkce":
		e.pkceGrant(w, r)
	default:
		e.fail(w, r, &apiErr{400, "invalid_credentials", "unsupported_grant_type"})
	}
}

func (e *Emulator) passwordGrant(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Email    string `json:"email"`
		Phone    string `json:"phone"`
		Password string `json:"password"`
	}
	if ae := readBody(w, r, &in); ae != nil {
		e.fail(w, r, ae)
		return
	}
	switch {
	case in.Email != "" && in.Phone != "":
		e.fail(w, r, &apiErr{400, "validation_failed", "Only an email address or phone number should be provided on login."})
		return
	case in.Email == "" && in.Phone == "":
		e.fail(w, r, &apiErr{400, "validation_failed", "missing email or phone"})
		return
	case in.Phone != "":
		e.fail(w, r, &apiErr{422, "phone_provider_disabled", "Phone logins are disabled"})
		return
	}
	u, ae := e.checkPassword(in.Email, in.Password)
	if ae != nil {
		e.fail(w, r, ae)
		return
	}
	e.writeTokens(w, r, func() (*tokenResponse, error) { return e.issue(u, amrPassword, "") })
}

func (e *Emulator) writeTokens(w http.ResponseWriter, r *http.Request, f func() (*tokenResponse, error)) {
	tr, err := f()
	if err != nil {
		e.fail(w, r, &apiErr{500, "unexpected_failure", "Unexpected failure, please check server logs for more information"})
		return
	}
	emulator.WriteJSON(w, http.StatusOK, tr)
}

func tokenKey(t string) string {
	h := sha256.Sum256([]byte(t))
	return hex.EncodeToString(h[:])
}

func (e *Emulator) refreshGrant(w http.ResponseWriter, r *http.Request) {
	var in struct {
		RefreshToken string `json:"refresh_token"`
	}
	if ae := readBody(w, r, &in); ae != nil {
		e.fail(w, r, ae)
		return
	}
	if !refreshTokenShaped(in.RefreshToken) {
		// GoTrue validates the token's shape before looking it up, so an
		// empty or malformed token never reaches "not found".
		e.fail(w, r, &apiErr{400, "validation_failed", "Refresh token is not valid"})
		return
	}
	st := e.srv.Store
	next, ss, err := st.RotateRefresh(in.RefreshToken)
	switch {
	case err == nil:
		e.mu.Lock()
		e.refreshes[tokenKey(in.RefreshToken)] = refreshUse{sessionID: ss.ID, next: next, at: e.now()}
		e.mu.Unlock()
	case errors.Is(err, emulator.ErrReused):
		e.mu.Lock()
		use, known := e.refreshes[tokenKey(in.RefreshToken)]
		e.mu.Unlock()
		if known && e.o.RefreshReuseInterval > 0 && e.now().Sub(use.at) < e.o.RefreshReuseInterval {
			// Within the reuse interval GoTrue answers with the session's
			// current refresh token instead of failing.
			s, _, lerr := st.LiveSession(use.sessionID)
			if lerr == nil {
				ss, next = s, use.next
				break
			}
		}
		if known {
			_ = st.RevokeSession(use.sessionID) // reuse detected: the session ends
		}
		e.fail(w, r, &apiErr{400, "refresh_token_already_used", "Invalid Refresh Token: Already Used"})
		return
	case errors.Is(err, emulator.ErrDisabled):
		e.fail(w, r, &apiErr{400, "user_banned", "Invalid Refresh Token: User Banned"})
		return
	case errors.Is(err, emulator.ErrExpired):
		e.fail(w, r, &apiErr{400, "session_expired", "Invalid Refresh Token: Session Expired"})
		return
	default:
		// Unknown token, or its session was signed out (GoTrue deletes
		// the session's refresh tokens then).
		e.fail(w, r, &apiErr{400, "refresh_token_not_found", "Invalid Refresh Token: Refresh Token Not Found"})
		return
	}
	u, ok := e.lookupUser(ss.UserID)
	if !ok {
		e.fail(w, r, &apiErr{400, "refresh_token_not_found", "Invalid Refresh Token: Refresh Token Not Found"})
		return
	}
	if e.banned(u) {
		e.fail(w, r, &apiErr{400, "user_banned", "Invalid Refresh Token: User Banned"})
		return
	}
	e.writeTokens(w, r, func() (*tokenResponse, error) { return e.respond(u, ss, next) })
}

// Refresh-token layout of GoTrue's second format: version byte 0, a
// 16-byte session id, a uvarint counter, a 16-byte truncated HMAC and a
// 4-byte SHA-256 checksum, unpadded base64url.
const (
	rtChecksumLen  = 4
	rtSignatureLen = 16
	rtMinLen       = 1 + 16 + 1 + rtSignatureLen + rtChecksumLen
	rtMaxLen       = rtMinLen + 8
)

// refreshTokenShaped reports whether GoTrue's request validation lets t
// through to the lookup: 12 characters of [a-z0-9] (the legacy format),
// or a longer token that parses in the second format. Anything else is
// answered 400 validation_failed "Refresh token is not valid".
func refreshTokenShaped(t string) bool {
	switch {
	case len(t) < 12:
		return false
	case len(t) == 12:
		for i := 0; i < len(t); i++ {
			c := t[i]
			if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
				return false
			}
		}
		return true
	case len(t) > base64.RawURLEncoding.EncodedLen(rtMaxLen):
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(t) // as GoTrue decodes
	if err != nil || len(b) < rtMinLen || b[0] != 0 {
		return false
	}
	sum := sha256.Sum256(b[:len(b)-rtChecksumLen])
	if subtle.ConstantTimeCompare(sum[:rtChecksumLen], b[len(b)-rtChecksumLen:]) != 1 {
		return false
	}
	rest := b[1+16 : len(b)-rtChecksumLen]
	_, n := binary.Uvarint(rest)
	return n > 0 && len(rest)-n == rtSignatureLen
}

func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && strings.Contains(s[strings.LastIndexByte(s, '@'):], ".")
}

func (e *Emulator) handleSignup(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Email    string         `json:"email"`
		Phone    string         `json:"phone"`
		Password string         `json:"password"`
		Data     map[string]any `json:"data"`
	}
	if ae := readBody(w, r, &in); ae != nil {
		e.fail(w, r, ae)
		return
	}
	switch {
	case e.o.DisableSignup:
		e.fail(w, r, &apiErr{422, "signup_disabled", "Signups not allowed for this instance"})
		return
	case in.Password == "":
		e.fail(w, r, &apiErr{400, "validation_failed", "Signup requires a valid password"})
		return
	case in.Email != "" && in.Phone != "":
		e.fail(w, r, &apiErr{400, "validation_failed", "Only an email address or phone number should be provided on signup."})
		return
	case in.Email == "":
		e.fail(w, r, &apiErr{400, "phone_provider_disabled", "Phone signups are disabled"})
		return
	case !validEmail(in.Email):
		e.fail(w, r, &apiErr{400, "validation_failed", "Unable to validate email address: invalid format"})
		return
	case len(in.Password) < minPasswordLen:
		e.failWeak(w, r)
		return
	}
	confirm := !e.o.ConfirmEmail
	if existing, err := e.srv.Store.UserByEmail(in.Email); err == nil {
		if confirm {
			e.fail(w, r, &apiErr{422, "user_already_exists", "User already registered"})
			return
		}
		// With confirmations on, GoTrue answers as for a new user (with a
		// made-up id) so that sign-up does not reveal which emails exist.
		fake := e.userJSON(existing)
		fake.ID, fake.Identities, fake.AppMetadata, fake.UserMetadata = emulator.NewUUID(), []identityJSON{}, map[string]any{}, map[string]any{}
		now := e.now().UTC()
		fake.CreatedAt, fake.UpdatedAt, fake.ConfirmationSentAt = now, now, &now
		fake.EmailConfirmedAt, fake.ConfirmedAt, fake.LastSignInAt = nil, nil, nil
		emulator.WriteJSON(w, http.StatusOK, fake)
		return
	}
	u, err := e.newUser(in.Email, in.Password, nil, in.Data, "", confirm, "", "")
	if err != nil {
		if errors.Is(err, emulator.ErrConflict) {
			e.fail(w, r, &apiErr{422, "user_already_exists", "User already registered"})
			return
		}
		e.fail(w, r, &apiErr{500, "unexpected_failure", "Database error saving new user"})
		return
	}
	if !confirm {
		emulator.WriteJSON(w, http.StatusOK, e.userJSON(u))
		return
	}
	e.writeTokens(w, r, func() (*tokenResponse, error) { return e.issue(u, amrPassword, "") })
}
