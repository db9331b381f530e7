package workostest

import (
	"bytes"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/authport/authport/internal/emulator"
)

// grantTOTP redeems a pending authentication with an MFA challenge's code.
const grantTOTP = "urn:workos:oauth:grant-type:mfa-totp"

// challengeTTL is how long an authentication challenge can be answered.
const challengeTTL = 10 * time.Minute

// factor is a user's TOTP authentication factor.
type factor struct {
	id, userID, issuer, user string
	secret                   []byte
	created, updated         time.Time
}

// challenge is an authentication challenge of a factor.
type challenge struct {
	id, factorID              string
	created, updated, expires time.Time
	used                      bool
}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// newFactorLocked gives user a TOTP factor (e.mu held); secret nil makes a
// random 160-bit one.
func (e *Emulator) newFactorLocked(userID, issuer, user string, secret []byte) *factor {
	if secret == nil {
		secret = make([]byte, 20)
		rand.Read(secret)
	}
	now := e.Clock.Now()
	f := &factor{id: "auth_factor_" + e.ulid(), userID: userID, issuer: issuer, user: user, secret: secret, created: now, updated: now}
	e.factors[f.id] = f
	return f
}

func (e *Emulator) newChallengeLocked(f *factor) *challenge {
	now := e.Clock.Now()
	c := &challenge{id: "auth_challenge_" + e.ulid(), factorID: f.id, created: now, updated: now, expires: now.Add(challengeTTL)}
	e.challenges[c.id] = c
	return c
}

// otpauthURI is the key URI an authenticator app enrols from.
func otpauthURI(f *factor) string {
	label := url.PathEscape(f.issuer) + ":" + url.PathEscape(f.user)
	q := url.Values{"secret": {b32.EncodeToString(f.secret)}, "issuer": {f.issuer}, "algorithm": {"SHA1"}, "digits": {"6"}, "period": {"30"}}
	return "otpauth://totp/" + label + "?" + q.Encode()
}

// qrPlaceholder is a small PNG standing in for the QR code WorkOS renders
// from the key URI (the emulator has no QR encoder): a real image, of the
// same data: URI form, that a page can show; the secret and the URI are
// real and enrol an authenticator by hand.
func qrPlaceholder() string {
	img := image.NewGray(image.Rect(0, 0, 29, 29))
	for y := range 29 {
		for x := range 29 {
			c := color.Gray{Y: 255}
			if (x/4+y/4)%2 == 0 {
				c.Y = 0
			}
			img.SetGray(x, y, c)
		}
	}
	var buf bytes.Buffer
	_ = png.Encode(&buf, img)
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())
}

func (e *Emulator) factorJSON(f *factor, withSecret bool) map[string]any {
	m := map[string]any{
		"object": "authentication_factor", "id": f.id, "type": "totp", "user_id": f.userID,
		"created_at": ts(f.created), "updated_at": ts(f.updated),
	}
	totp := map[string]any{"issuer": f.issuer, "user": f.user}
	if withSecret {
		totp["secret"] = b32.EncodeToString(f.secret)
		totp["uri"] = otpauthURI(f)
		totp["qr_code"] = qrPlaceholder()
	}
	m["totp"] = totp
	return m
}

func challengeJSON(c *challenge) map[string]any {
	return map[string]any{
		"object": "authentication_challenge", "id": c.id, "authentication_factor_id": c.factorID,
		"created_at": ts(c.created), "updated_at": ts(c.updated), "expires_at": ts(c.expires),
	}
}

// handleEnrollFactor answers POST /user_management/users/{id}/auth_factors:
// a TOTP factor for the user (the secret, its key URI and a QR code are in
// this answer only) and a first challenge of it.
func (e *Emulator) handleEnrollFactor(w http.ResponseWriter, r *http.Request) {
	b, ok := readBody(w, r)
	if !ok {
		apiError(w, http.StatusBadRequest, "invalid_request_body", "Problems parsing JSON", nil)
		return
	}
	u, err := e.srv.Store.User(r.PathValue("id"))
	if err != nil {
		apiError(w, http.StatusNotFound, "entity_not_found", "Could not find a user with the provided id.", nil)
		return
	}
	if b["type"] != "totp" {
		apiError(w, http.StatusUnprocessableEntity, "invalid_request_parameters", "Validation failed", map[string]any{
			"errors": []map[string]string{{"field": "type", "code": "invalid", "message": "type must be totp"}},
		})
		return
	}
	var secret []byte
	if s := b["totp_secret"]; s != "" {
		if secret, err = b32.DecodeString(strings.ToUpper(s)); err != nil || len(secret) < 10 {
			apiError(w, http.StatusUnprocessableEntity, "invalid_request_parameters", "totp_secret is not a valid base32 secret", nil)
			return
		}
	}
	issuer, user := b["totp_issuer"], b["totp_user"]
	if issuer == "" {
		issuer = "WorkOS"
	}
	if user == "" {
		user = u.Email
	}
	e.mu.Lock()
	f := e.newFactorLocked(u.ID, issuer, user, secret)
	c := e.newChallengeLocked(f)
	// A user with a factor is challenged at every sign-in from now on.
	if x := e.extraLocked(u.ID); !x.mfa {
		x.mfa, x.factorID = true, f.id
	}
	e.mu.Unlock()
	emulator.WriteJSON(w, http.StatusCreated, map[string]any{"authentication_factor": e.factorJSON(f, true), "authentication_challenge": challengeJSON(c)})
}

// handleChallengeFactor answers POST /auth/factors/{id}/challenge.
func (e *Emulator) handleChallengeFactor(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	f := e.factors[r.PathValue("id")]
	var c *challenge
	if f != nil {
		c = e.newChallengeLocked(f)
	}
	e.mu.Unlock()
	if f == nil {
		apiError(w, http.StatusNotFound, "entity_not_found", "Could not find an authentication factor with the provided id.", nil)
		return
	}
	emulator.WriteJSON(w, http.StatusCreated, challengeJSON(c))
}

// handleGetFactor answers GET /auth/factors/{id} (no secret).
func (e *Emulator) handleGetFactor(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	f := e.factors[r.PathValue("id")]
	e.mu.Unlock()
	if f == nil {
		apiError(w, http.StatusNotFound, "entity_not_found", "Could not find an authentication factor with the provided id.", nil)
		return
	}
	emulator.WriteJSON(w, http.StatusOK, e.factorJSON(f, false))
}

// grantMFATOTP redeems a pending authentication (mfa_challenge or
// mfa_enrollment) with the code of a challenge of one of the user's
// factors. A challenge is answered once; a wrong code leaves it open.
func (e *Emulator) grantMFATOTP(w http.ResponseWriter, b map[string]string) {
	tok, cid, code := b["pending_authentication_token"], b["authentication_challenge_id"], b["code"]
	if tok == "" || cid == "" || code == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "code, authentication_challenge_id and pending_authentication_token are required.", nil)
		return
	}
	p := e.pendingFor(tok)
	if p == nil {
		apiError(w, http.StatusBadRequest, "invalid_pending_authentication_token", "Invalid pending authentication token", nil)
		return
	}
	now := e.Clock.Now()
	e.mu.Lock()
	c := e.challenges[cid]
	var f *factor
	if c != nil {
		f = e.factors[c.factorID]
	}
	status, ecode, msg := 0, "", ""
	switch {
	case c == nil || f == nil || f.userID != p.userID:
		status, ecode, msg = http.StatusNotFound, "authentication_challenge_not_found", "Could not find an authentication challenge with the provided id."
	case c.used:
		status, ecode, msg = http.StatusBadRequest, "authentication_challenge_previously_verified", "The authentication challenge has already been verified."
	case !now.Before(c.expires):
		status, ecode, msg = http.StatusBadRequest, "authentication_challenge_expired", "The authentication challenge has expired."
	case !emulator.TOTPValid(f.secret, code, now):
		status, ecode, msg = http.StatusBadRequest, "invalid_one_time_code", "Invalid one-time code."
	default:
		c.used, c.updated = true, now
		delete(e.pending, tok)
		x := e.extraLocked(p.userID)
		x.mfa = true
		if x.factorID == "" {
			x.factorID = f.id
		}
	}
	e.mu.Unlock()
	if status != 0 {
		apiError(w, status, ecode, msg, nil)
		return
	}
	u, err := e.srv.Store.User(p.userID)
	if err != nil {
		apiError(w, http.StatusBadRequest, "invalid_pending_authentication_token", "Invalid pending authentication token", nil)
		return
	}
	e.signInFresh(w, u, p.orgID, p.method)
}

// TOTPCode returns the code the authenticator app of user email (enrolled
// with its first TOTP factor) shows now, in emulated time; "" if the user
// has no factor.
func (e *Emulator) TOTPCode(email string) string {
	u, err := e.srv.Store.UserByEmail(email)
	if err != nil {
		return ""
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var first *factor
	for _, f := range e.factors {
		if f.userID == u.ID && (first == nil || f.created.Before(first.created) || f.created.Equal(first.created) && f.id < first.id) {
			first = f
		}
	}
	if first == nil {
		return ""
	}
	return emulator.TOTP(first.secret, e.Clock.Now())
}

// TOTPCodeFor returns the code a TOTP secret (base32, as enrolment shows
// it) gives now, in emulated time: what a test's authenticator app types.
func (e *Emulator) TOTPCodeFor(secret string) string {
	key, err := b32.DecodeString(strings.ToUpper(strings.TrimRight(secret, "=")))
	if err != nil {
		return ""
	}
	return emulator.TOTP(key, e.Clock.Now())
}

// EnrollMFA gives user id a TOTP factor, as enrolling an authenticator app
// does: their next password sign-in answers mfa_challenge. It is a no-op
// for a user already enrolled.
func (e *Emulator) EnrollMFA(id string) error {
	u, err := e.srv.Store.User(id)
	if err != nil {
		return fmt.Errorf("workostest: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	x := e.extraLocked(id)
	if !x.mfa {
		x.mfa = true
		x.factorID = e.newFactorLocked(id, "WorkOS", u.Email, nil).id
	}
	return nil
}
