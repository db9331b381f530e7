package authport

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/authport/authport/internal/b64url"
)

// MaxCookieSize is the largest cookie (name, "=" and value) authport sets or
// reads: the limit every browser honours (RFC 6265 §6.1, ASVS 5.0 3.3.5).
const MaxCookieSize = 4096

// MaxSealedLen is the longest value Seal produces. It leaves room within
// MaxCookieSize for a cookie name of up to 127 bytes.
const MaxSealedLen = MaxCookieSize - 128

// CookieKeySize is the size of a cookie key: AES-256.
const CookieKeySize = 32

// ErrCookieTooLarge is returned (wrapped) by Seal when the sealed tokens
// would not fit in a cookie. It is of kind ErrInvalidInput.
var ErrCookieTooLarge = &Error{Kind: ErrInvalidInput, Op: "seal", Reason: "sealed value exceeds the cookie size limit"}

// Sealed-value layout (before base64url):
//
//	version (1) | key id (1) | purpose (1) | nonce (12) | AES-256-GCM(payload) + tag (16)
//
// The first three bytes are the GCM additional data, so neither the key id
// nor the purpose can be changed without failing authentication; a flow
// cookie cannot be replayed as a session cookie.
const (
	sealVersion   = 1
	sealHeaderLen = 3
	nonceLen      = 12
	tagLen        = 16

	purposeSession byte = 's'
	purposeFlow    byte = 'f'
)

var errSealedInvalid = &Error{Kind: ErrInvalidCredential, Op: "open", Reason: "sealed cookie does not open"}

// Sealer seals Tokens into an opaque, authenticated and encrypted cookie
// value (AES-256-GCM) and opens them again. The first key seals; every key
// opens, so keys can be rotated: put the new key first, keep the old one
// until the cookies it sealed have expired, then drop it.
//
// Key material is never used directly: each key is expanded with HKDF-SHA256
// into the AES key and a one-byte key id, so a cookie names the key that
// opens it without revealing anything about it. A Sealer is safe for
// concurrent use.
type Sealer struct {
	keys []sealKey
	// MaxAge, if positive, makes Open refuse a value sealed longer than
	// MaxAge ago. Set it before first use.
	MaxAge time.Duration
	// Now returns the current time (default time.Now). Set it before first
	// use.
	Now func() time.Time
}

type sealKey struct {
	id   byte
	aead cipher.AEAD
}

// NewSealer returns a Sealer for keys, each CookieKeySize (32) bytes long.
// keys[0] seals; all of them open. An error names the offending key by
// index, never its bytes.
func NewSealer(keys [][]byte) (*Sealer, error) {
	if len(keys) == 0 {
		return nil, NewError(ErrMisconfigured, "", "sealer", "at least one cookie key is required")
	}
	s := &Sealer{keys: make([]sealKey, 0, len(keys))}
	for i, k := range keys {
		if len(k) != CookieKeySize {
			return nil, NewError(ErrMisconfigured, "", "sealer",
				fmt.Sprintf("cookie key %d must be %d bytes, not %d", i, CookieKeySize, len(k)))
		}
		enc, err := hkdf.Key(sha256.New, k, nil, "authport cookie v1 aes-256-gcm", 32)
		if err != nil {
			return nil, WrapError(ErrMisconfigured, "", "sealer", err)
		}
		id, err := hkdf.Key(sha256.New, k, nil, "authport cookie v1 key id", 1)
		if err != nil {
			return nil, WrapError(ErrMisconfigured, "", "sealer", err)
		}
		block, err := aes.NewCipher(enc)
		if err != nil {
			return nil, WrapError(ErrMisconfigured, "", "sealer", err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, WrapError(ErrMisconfigured, "", "sealer", err)
		}
		s.keys = append(s.keys, sealKey{id: id[0], aead: aead})
	}
	return s, nil
}

func (s *Sealer) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Seal encrypts and authenticates t (access, refresh and ID token, expiry,
// session and user id) together with the time of sealing. It fails with
// ErrCookieTooLarge when the result would be longer than MaxSealedLen.
func (s *Sealer) Seal(t *Tokens) (string, error) {
	return s.sealTokens(t, s.now())
}

// Open authenticates, decrypts and decodes a value made by Seal with any of
// the Sealer's keys. Oversized input is refused before it is decoded. Every
// failure is the same error of kind ErrInvalidCredential.
func (s *Sealer) Open(v string) (*Tokens, error) {
	t, _, err := s.openTokens(v)
	return t, err
}

func (s *Sealer) sealTokens(t *Tokens, issuedAt time.Time) (string, error) {
	if t == nil {
		return "", NewError(ErrInvalidInput, "", "seal", "no tokens")
	}
	var exp int64
	if !t.ExpiresAt.IsZero() {
		exp = t.ExpiresAt.Unix()
	}
	p := make([]byte, 0, 32+len(t.AccessToken)+len(t.RefreshToken)+len(t.IDToken)+len(t.SessionID)+len(t.UserID))
	p = binary.AppendVarint(p, exp)
	p = appendString(p, t.AccessToken)
	p = appendString(p, t.RefreshToken)
	p = appendString(p, t.IDToken)
	p = appendString(p, t.SessionID)
	p = appendString(p, t.UserID)
	return s.seal(purposeSession, issuedAt, p)
}

func (s *Sealer) openTokens(v string) (*Tokens, time.Time, error) {
	p, issuedAt, err := s.open(purposeSession, v)
	if err != nil {
		return nil, time.Time{}, err
	}
	d := decoder{b: p}
	exp := d.varint()
	t := &Tokens{
		AccessToken:  d.string(),
		RefreshToken: d.string(),
		IDToken:      d.string(),
		SessionID:    d.string(),
		UserID:       d.string(),
	}
	if !d.done() || t.AccessToken == "" {
		return nil, time.Time{}, errSealedInvalid
	}
	if exp != 0 {
		t.ExpiresAt = time.Unix(exp, 0)
	}
	return t, issuedAt, nil
}

// seal encrypts payload, prefixed with the issue time, for purpose.
func (s *Sealer) seal(purpose byte, issuedAt time.Time, payload []byte) (string, error) {
	k := s.keys[0]
	plain := make([]byte, 0, binary.MaxVarintLen64+len(payload))
	plain = binary.AppendVarint(plain, issuedAt.Unix())
	plain = append(plain, payload...)

	n := sealHeaderLen + nonceLen + len(plain) + tagLen
	if base64.RawURLEncoding.EncodedLen(n) > MaxSealedLen {
		return "", ErrCookieTooLarge
	}
	raw := make([]byte, sealHeaderLen+nonceLen, n)
	raw[0], raw[1], raw[2] = sealVersion, k.id, purpose
	rand.Read(raw[sealHeaderLen:]) // never fails (crypto/rand contract)
	raw = k.aead.Seal(raw, raw[sealHeaderLen:sealHeaderLen+nonceLen], plain, raw[:sealHeaderLen])
	return base64.RawURLEncoding.EncodeToString(raw), nil
}

// open reverses seal, checking purpose and MaxAge.
func (s *Sealer) open(purpose byte, v string) ([]byte, time.Time, error) {
	return s.openFor(purpose, v, s.MaxAge)
}

// openFor reverses seal, checking purpose and maxAge (0: no limit).
func (s *Sealer) openFor(purpose byte, v string, maxAge time.Duration) ([]byte, time.Time, error) {
	if len(v) > MaxCookieSize || len(v) < base64.RawURLEncoding.EncodedLen(sealHeaderLen+nonceLen+tagLen) {
		return nil, time.Time{}, errSealedInvalid
	}
	raw, err := b64url.DecodeString(v)
	if err != nil || raw[0] != sealVersion || raw[2] != purpose {
		return nil, time.Time{}, errSealedInvalid
	}
	var plain []byte
	opened := false
	for _, k := range s.keys {
		if k.id != raw[1] {
			continue
		}
		nonce := raw[sealHeaderLen : sealHeaderLen+nonceLen]
		if p, err := k.aead.Open(nil, nonce, raw[sealHeaderLen+nonceLen:], raw[:sealHeaderLen]); err == nil {
			plain, opened = p, true
			break
		}
	}
	if !opened {
		return nil, time.Time{}, errSealedInvalid
	}
	d := decoder{b: plain}
	iat := d.varint()
	if d.bad {
		return nil, time.Time{}, errSealedInvalid
	}
	issuedAt := time.Unix(iat, 0)
	if maxAge > 0 {
		now := s.now()
		// Refuse values from the future too (beyond a minute of skew):
		// they would otherwise live longer than maxAge.
		if now.Sub(issuedAt) > maxAge || issuedAt.Sub(now) > time.Minute {
			return nil, time.Time{}, errSealedInvalid
		}
	}
	return d.b, issuedAt, nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// decoder reads what appendString and binary.AppendVarint wrote; any
// malformation sets bad and yields zero values.
type decoder struct {
	b   []byte
	bad bool
}

func (d *decoder) varint() int64 {
	if d.bad {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.bad = true
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string {
	if d.bad {
		return ""
	}
	l, n := binary.Uvarint(d.b)
	if n <= 0 || l > uint64(len(d.b)-n) {
		d.bad = true
		return ""
	}
	s := string(d.b[n : n+int(l)])
	d.b = d.b[n+int(l):]
	return s
}

func (d *decoder) done() bool { return !d.bad && len(d.b) == 0 }

// cookieValue returns the value of the first cookie called name in r's
// Cookie headers without allocating. ok is false when there is none.
func cookieValue(r *http.Request, name string) (v string, ok bool) {
	for _, line := range r.Header["Cookie"] {
		for len(line) > 0 {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = strings.TrimSpace(part)
			if len(part) <= len(name) || part[len(name)] != '=' || part[:len(name)] != name {
				continue
			}
			v = part[len(name)+1:]
			if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			return v, true
		}
	}
	return "", false
}

// setCookie writes a cookie with authport's attributes: HttpOnly,
// SameSite=Lax, Path=/, no Domain, and Secure unless Config.Insecure. A
// maxAge below zero deletes the cookie.
func (w *Web) setCookie(rw http.ResponseWriter, name, value string, maxAge time.Duration) error {
	if len(name)+1+len(value) > MaxCookieSize {
		return ErrCookieTooLarge
	}
	c := &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		HttpOnly: true,
		Secure:   !w.cfg.Insecure,
		SameSite: http.SameSiteLaxMode,
	}
	if maxAge < 0 {
		c.MaxAge = -1
	} else {
		c.MaxAge = max(int(maxAge/time.Second), 1)
	}
	rw.Header().Add("Set-Cookie", c.String())
	return nil
}

func (w *Web) clearCookie(rw http.ResponseWriter, name string) {
	_ = w.setCookie(rw, name, "", -1)
}

// sealSession seals t for the session cookie, keeping issuedAt (the
// original sign-in time) for the absolute lifetime. An ID token that does
// not fit is dropped rather than failing the sign-in.
func (w *Web) sealSession(t *Tokens, issuedAt time.Time) (string, error) {
	v, err := w.sealer.sealTokens(t, issuedAt)
	if errors.Is(err, ErrCookieTooLarge) && t.IDToken != "" {
		t2 := *t
		t2.IDToken = ""
		v, err = w.sealer.sealTokens(&t2, issuedAt)
	}
	return v, err
}

// setSessionCookie sets the sealed session cookie to expire at the
// session's absolute deadline.
func (w *Web) setSessionCookie(rw http.ResponseWriter, sealed string, issuedAt time.Time) error {
	left := w.cfg.SessionMaxAge - w.now().Sub(issuedAt)
	if left <= 0 {
		left = time.Second
	}
	rw.Header().Set("Cache-Control", "no-store")
	return w.setCookie(rw, w.cfg.CookieName, sealed, left)
}

// maxCookieChunks bounds how many chunks of one cookie are joined.
const maxCookieChunks = 64

// chunkedCookieValue joins the cookies name.0 … name.N-1 of r in order
// (see ChunkedCookieReader). ok is false when there is no chunk or the set
// is malformed: a gap, a repeated index, a non-canonical index ("01") or
// more than maxCookieChunks chunks.
func chunkedCookieValue(r *http.Request, name string) (v string, ok bool) {
	var parts [maxCookieChunks]string
	var seen [maxCookieChunks]bool
	n := 0
	for _, line := range r.Header["Cookie"] {
		for len(line) > 0 {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = strings.TrimSpace(part)
			k, val, found := strings.Cut(part, "=")
			if !found || len(k) <= len(name)+1 || k[:len(name)] != name || k[len(name)] != '.' {
				continue
			}
			idx := k[len(name)+1:]
			i, err := strconv.Atoi(idx)
			if err != nil || i < 0 || strconv.Itoa(i) != idx {
				continue // name.x or name.+1: not a chunk of this cookie
			}
			if i >= maxCookieChunks || seen[i] {
				return "", false
			}
			if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
				val = val[1 : len(val)-1]
			}
			seen[i], parts[i] = true, val
			n = max(n, i+1)
		}
	}
	if n == 0 {
		return "", false
	}
	var b strings.Builder
	for i := range n {
		if !seen[i] {
			return "", false
		}
		b.WriteString(parts[i])
	}
	return b.String(), true
}
