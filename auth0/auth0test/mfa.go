package auth0test

import (
	"crypto/rand"
	"encoding/base32"
	"net/http"
	"net/url"
	"time"

	"github.com/authport/authport/internal/emulator"
)

// mfaTokenTTL is how long an mfa_token can be redeemed (Auth0: 10 minutes).
const mfaTokenTTL = 10 * time.Minute

// mfaPending is a password sign-in waiting for its second factor.
type mfaPending struct {
	userID, audience, scope string
	expires                 time.Time
}

// newMFAToken records a sign-in of u waiting for its second factor and
// returns the mfa_token that names it.
func (s *Server) newMFAToken(u *User, audience, scope string) string {
	tok := emulator.RandomToken(32)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.core.Clock.Now()
	for k, p := range s.mfa {
		if !now.Before(p.expires) {
			delete(s.mfa, k)
			delete(s.mfaFailures, k)
		}
	}
	s.mfa[tok] = &mfaPending{userID: u.ID, audience: audience, scope: scope, expires: now.Add(mfaTokenTTL)}
	return tok
}

// secretLocked returns user id's TOTP secret, creating it (s.mu held).
func (s *Server) secretLocked(id string) []byte {
	k := s.totp[id]
	if k == nil {
		k = make([]byte, 20)
		rand.Read(k)
		s.totp[id] = k
	}
	return k
}

// TOTPSecret returns the base32 secret of the authenticator a user
// enrolled in MFA (NewUser.Metadata[MetadataMFA]) would have, as Auth0's
// enrolment QR code carries it.
func (s *Server) TOTPSecret(email string) (string, error) {
	u, err := s.core.Store.UserByEmail(email)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(s.secretLocked(u.ID)), nil
}

// OTP returns the code the user's authenticator shows now (emulated
// time): what the mfa-otp grant accepts as "otp".
func (s *Server) OTP(email string) (string, error) {
	u, err := s.core.Store.UserByEmail(email)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return emulator.TOTP(s.secretLocked(u.ID), s.core.Clock.Now()), nil
}

// mfaOTPGrant redeems an mfa_token with the user's one-time code
// (grant_type http://auth0.com/oauth/grant-type/mfa-otp). A code of the
// current, previous or next time step is accepted. The mfa_token is
// spent by success only, as at Auth0; five wrong codes spend it too.
func (s *Server) mfaOTPGrant(w http.ResponseWriter, p url.Values) {
	tok, otp := p.Get("mfa_token"), p.Get("otp")
	switch {
	case tok == "":
		oauthError(w, http.StatusBadRequest, "invalid_request", "Missing required parameter: mfa_token")
		return
	case otp == "":
		oauthError(w, http.StatusBadRequest, "invalid_request", "Missing required parameter: otp")
		return
	}
	s.mu.Lock()
	pend := s.mfa[tok]
	now := s.core.Clock.Now()
	var ok, expired bool
	switch {
	case pend == nil:
	case !now.Before(pend.expires):
		expired = true
		delete(s.mfa, tok)
		delete(s.mfaFailures, tok)
	default:
		ok = emulator.TOTPValid(s.secretLocked(pend.userID), otp, now)
		if ok {
			delete(s.mfa, tok)
			delete(s.mfaFailures, tok)
		} else if s.mfaFailures[tok]++; s.mfaFailures[tok] >= 5 {
			delete(s.mfa, tok)
			delete(s.mfaFailures, tok)
		}
	}
	s.mu.Unlock()
	switch {
	case pend == nil:
		oauthError(w, http.StatusForbidden, "invalid_grant", "Malformed mfa_token")
		return
	case expired:
		oauthError(w, http.StatusForbidden, "expired_token", "mfa_token is expired")
		return
	case !ok:
		oauthError(w, http.StatusForbidden, "invalid_grant", "Invalid otp_code.")
		return
	}
	u, err := s.core.Store.User(pend.userID)
	if err != nil {
		oauthError(w, http.StatusForbidden, "invalid_grant", "Malformed mfa_token")
		return
	}
	g, err := s.newGrant(u, grant{audience: pend.audience, scope: pend.scope, gty: "password"})
	if err != nil {
		oauthError(w, http.StatusInternalServerError, "server_error", "could not start a session")
		return
	}
	s.writeTokens(w, g, true)
}
