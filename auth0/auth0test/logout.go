package auth0test

import (
	"crypto/sha256"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/authport/authport/internal/emulator"
)

// handleOIDCLogout implements Auth0's OpenID Connect RP-Initiated Logout
// endpoint (GET or form POST). An id_token_hint must be an ID token this
// tenant issued (expired ones included); it names the client and the
// session to end. client_id, if given, must be the application's and
// agree with the hint. A post_logout_redirect_uri needs the hint or
// client_id and must be one of the application's Allowed Logout URLs;
// the browser is then sent there (302) with state. Without one, Auth0's
// signed-out page. The Auth0 session (SSO cookie and the session the hint
// names) ends; refresh tokens are not revoked (that is /oauth/revoke).
// Errors are an error page, never a redirect.
func (s *Server) handleOIDCLogout(w http.ResponseWriter, r *http.Request) {
	lr, ok := emulator.ReadLogout(w, r, func(status int, msg string) { pageError(w, status, msg) })
	if !ok {
		return
	}
	hint, clientID := lr.IDTokenHint, lr.ClientID
	redirect, state := lr.PostLogoutRedirectURI, lr.State
	var sid string
	if hint != "" {
		s.mu.Lock()
		it, ok := s.idTokens[sha256.Sum256([]byte(hint))]
		s.mu.Unlock()
		if !ok || it.clientID != s.o.ClientID {
			pageError(w, http.StatusBadRequest, `Invalid "id_token_hint" parameter: it is not an ID token issued by this tenant.`)
			return
		}
		if clientID != "" && clientID != it.clientID {
			pageError(w, http.StatusBadRequest, `The "client_id" parameter does not match the "id_token_hint" audience.`)
			return
		}
		sid = it.sid
	}
	if clientID != "" && clientID != s.o.ClientID {
		pageError(w, http.StatusBadRequest, "Unknown client")
		return
	}
	if redirect != "" {
		if hint == "" && clientID == "" {
			pageError(w, http.StatusBadRequest, `A "post_logout_redirect_uri" needs an "id_token_hint" or a "client_id".`)
			return
		}
		if !s.allowedLogout(redirect) {
			pageError(w, http.StatusBadRequest, `The "post_logout_redirect_uri" parameter is not defined as a valid URL in "Allowed Logout URLs".`)
			return
		}
	}
	s.mu.Lock()
	if ss, ok := s.sso[sid]; ok && sid != "" {
		ss.live = false
	}
	if c, err := r.Cookie(ssoCookie); err == nil {
		if ss, ok := s.sso[c.Value]; ok {
			ss.live = false
		}
	}
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: ssoCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true})
	if redirect == "" {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("OK"))
		return
	}
	emulator.RedirectAfterLogout(w, r, redirect, state)
}

// rateLimited is Auth0's answer past a rate limit: 429 too_many_requests
// with the X-RateLimit-Limit, -Remaining and -Reset (Unix seconds)
// headers; Auth0 sends no Retry-After.
func (s *Server) rateLimited(w http.ResponseWriter, r *http.Request, wait time.Duration) {
	reset := s.core.Clock.Now().Add(wait)
	if reset.Nanosecond() != 0 {
		reset = reset.Truncate(time.Second).Add(time.Second)
	}
	w.Header().Set("X-RateLimit-Limit", "1")
	w.Header().Set("X-RateLimit-Remaining", "0")
	w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
	oauthError(w, http.StatusTooManyRequests, "too_many_requests", "Global limit has been reached")
}

// handleMFAChallenge answers POST /mfa/challenge for a pending mfa_token:
// the client must authenticate as at the token endpoint, challenge_type
// lists what the client accepts ("otp", "oob" or both). The emulated
// users enrol one TOTP authenticator, so only "otp" can be offered; the
// code is then redeemed with the mfa-otp grant.
func (s *Server) handleMFAChallenge(w http.ResponseWriter, r *http.Request) {
	p, err := readParams(r)
	if err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	if _, _, ok := s.client(r, p); !ok {
		oauthError(w, http.StatusUnauthorized, "access_denied", "Unauthorized")
		return
	}
	tok := p.Get("mfa_token")
	if tok == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "Missing required parameter: mfa_token")
		return
	}
	if types := p.Get("challenge_type"); types != "" && !hasWord(types, "otp") {
		oauthError(w, http.StatusBadRequest, "unsupported_challenge_type", "User is not enrolled with "+strings.Join(strings.Fields(types), " or ")+".")
		return
	}
	s.mu.Lock()
	pend := s.mfa[tok]
	expired := pend != nil && !s.core.Clock.Now().Before(pend.expires)
	s.mu.Unlock()
	switch {
	case pend == nil:
		oauthError(w, http.StatusForbidden, "invalid_grant", "Malformed mfa_token")
		return
	case expired:
		oauthError(w, http.StatusForbidden, "expired_token", "mfa_token is expired")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	emulator.WriteJSON(w, http.StatusOK, map[string]any{"challenge_type": "otp"})
}
