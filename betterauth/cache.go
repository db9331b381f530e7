package betterauth

import (
	"bytes"
	"context"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/authport/authport"
	"github.com/authport/authport/internal/jwe"
)

// The cookie cache (session.cookieCache) lets the library answer a session
// check from a signed or sealed session_data cookie instead of its
// database, for up to maxAge. The adapter trusts it under exactly the
// library's conditions (api/routes/session.ts getSession): the signature or
// encryption checks out with the secret, the cached session's token equals
// the session cookie's, the cached version equals the configured one, and
// both the cache's expiry and the cached session's expiry lie ahead.
// Otherwise the session is looked up as without a cache.

const (
	maxChunks      = 100 // the library's session store chunk limit
	maxCacheCookie = maxChunks * 4096
	jweSalt        = "better-auth-session"
	jweInfo        = "BetterAuth.js Generated Encryption Key"
	jweClockSkew   = 15 * time.Second
)

var b64url = base64.RawURLEncoding

type jweKey struct {
	kid string
	key []byte
}

// deriveJWEKeys derives the jwe strategy's key from each secret:
// HKDF-SHA256(secret, salt "better-auth-session", info, 64 bytes), named by
// its RFC 7638 SHA-256 thumbprint as the library's kid.
func deriveJWEKeys(secrets [][]byte) []jweKey {
	var out []jweKey
	for _, s := range secrets {
		k, err := hkdf.Key(sha256.New, s, []byte(jweSalt), jweInfo, 64)
		if err != nil {
			continue
		}
		th := sha256.Sum256([]byte(`{"k":"` + b64url.EncodeToString(k) + `","kty":"oct"}`))
		out = append(out, jweKey{kid: b64url.EncodeToString(th[:]), key: k})
	}
	return out
}

// RequestCookies returns a copy of ctx carrying the request's cookies, so
// Verify can read the session_data cookie cache outside authport.Web (which
// makes the request available itself). Without them Verify looks every
// session up.
func RequestCookies(ctx context.Context, r *http.Request) context.Context {
	return authport.WithRequest(ctx, r)
}

// fromCookieCache returns the session the session_data cookie proves for
// tok, when the cache is configured, present and trusted.
func (a *Authenticator) fromCookieCache(ctx context.Context, tok signedToken) (*authport.Session, bool) {
	if a.cfg.CookieCache == CookieCacheOff {
		return nil, false
	}
	r, ok := authport.RequestFrom(ctx)
	if !ok {
		return nil, false
	}
	v := a.sessionData(r)
	if v == "" {
		return nil, false
	}
	var raw []byte
	var until time.Time
	switch a.cfg.CookieCache {
	case CookieCacheCompact:
		raw, until, ok = a.decodeCompact(v)
	case CookieCacheJWT:
		raw, until, ok = a.decodeJWT(v)
	case CookieCacheJWE:
		raw, until, ok = a.decodeJWE(v)
	}
	if !ok {
		return nil, false
	}
	var p sessionJSON
	if json.Unmarshal(raw, &p) != nil {
		return nil, false
	}
	now := a.cfg.Clock()
	version := "1"
	if p.Version != nil && *p.Version != "" {
		version = *p.Version
	}
	if p.Session.Token == "" || subtle.ConstantTimeCompare([]byte(p.Session.Token), []byte(tok.token)) != 1 ||
		version != a.cfg.CookieCacheVersion || !until.After(now) || !p.Session.ExpiresAt.After(now) ||
		p.User.ID == "" || p.User.ID != p.Session.UserID {
		return nil, false
	}
	rec := p.record()
	if a.checkBan(rec.Banned, rec.BanExpires) != nil {
		return nil, false // let the lookup decide
	}
	return a.recordSession(rec), true
}

// sessionData joins the session_data cookie: the whole cookie, or its
// chunks name.0 … name.N (the __Secure- form first, as for the token).
func (a *Authenticator) sessionData(r *http.Request) string {
	for _, name := range a.dataCookie {
		if c, err := r.Cookie(name); err == nil && c.Value != "" {
			return c.Value
		}
		var b strings.Builder
		for i := 0; i < maxChunks; i++ {
			c, err := r.Cookie(name + "." + strconv.Itoa(i))
			if err != nil {
				break
			}
			if b.Len()+len(c.Value) > maxCacheCookie {
				return ""
			}
			b.WriteString(c.Value)
		}
		if b.Len() > 0 {
			return b.String()
		}
	}
	return ""
}

// decodeCompact checks the compact strategy: base64url(JSON{session,
// expiresAt, signature}) with signature = base64url(HMAC-SHA256(secret,
// JSON.stringify({...session, expiresAt}))). The signed text is rebuilt
// from the cookie's own bytes, never re-marshalled.
func (a *Authenticator) decodeCompact(v string) ([]byte, time.Time, bool) {
	data, err := b64url.DecodeString(strings.TrimRight(v, "="))
	if err != nil {
		return nil, time.Time{}, false
	}
	var outer struct {
		Session   json.RawMessage `json:"session"`
		ExpiresAt json.RawMessage `json:"expiresAt"`
		Signature string          `json:"signature"`
	}
	if json.Unmarshal(data, &outer) != nil || len(outer.Session) < 3 || outer.Session[0] != '{' || len(outer.ExpiresAt) == 0 {
		return nil, time.Time{}, false
	}
	ms, err := strconv.ParseInt(string(outer.ExpiresAt), 10, 64)
	if err != nil {
		return nil, time.Time{}, false
	}
	sig, err := b64url.DecodeString(outer.Signature)
	if err != nil {
		return nil, time.Time{}, false
	}
	sess := bytes.TrimRight(outer.Session, " \t\r\n")
	signed := make([]byte, 0, len(sess)+32)
	signed = append(signed, sess[:len(sess)-1]...)
	signed = append(signed, `,"expiresAt":`...)
	signed = append(signed, outer.ExpiresAt...)
	signed = append(signed, '}')
	m := hmac.New(sha256.New, []byte(a.cfg.Secret))
	m.Write(signed)
	if !hmac.Equal(m.Sum(nil), sig) {
		return nil, time.Time{}, false
	}
	return outer.Session, time.UnixMilli(ms), true
}

// decodeJWT checks the jwt strategy: an HS256 JWT under the current secret
// whose payload is the cached session, expiring at exp.
func (a *Authenticator) decodeJWT(v string) ([]byte, time.Time, bool) {
	parts := strings.Split(v, ".")
	if len(parts) != 3 {
		return nil, time.Time{}, false
	}
	hb, err := b64url.Strict().DecodeString(parts[0])
	if err != nil {
		return nil, time.Time{}, false
	}
	var h map[string]any
	if json.Unmarshal(hb, &h) != nil || h["alg"] != "HS256" {
		return nil, time.Time{}, false
	}
	for k := range h {
		if k != "alg" && k != "typ" {
			return nil, time.Time{}, false // crit, b64, kid ...: not what the library writes
		}
	}
	sig, err := b64url.Strict().DecodeString(parts[2])
	if err != nil {
		return nil, time.Time{}, false
	}
	m := hmac.New(sha256.New, []byte(a.cfg.Secret))
	m.Write([]byte(parts[0] + "." + parts[1]))
	if !hmac.Equal(m.Sum(nil), sig) {
		return nil, time.Time{}, false
	}
	payload, err := b64url.Strict().DecodeString(parts[1])
	if err != nil {
		return nil, time.Time{}, false
	}
	exp, ok := expOf(payload)
	if !ok {
		return nil, time.Time{}, false
	}
	return payload, exp, true
}

// decodeJWE checks the jwe strategy: dir/A256CBC-HS512 under the key
// derived from one of the secrets, chosen by kid; without a kid, the
// current secret's key and then the others, as the library tries them.
func (a *Authenticator) decodeJWE(v string) ([]byte, time.Time, bool) {
	p, err := jwe.Parse(v, maxCacheCookie)
	if err != nil {
		return nil, time.Time{}, false
	}
	var plain []byte
	for _, k := range a.jweKeys {
		if p.Header.Kid != "" && p.Header.Kid != k.kid {
			continue
		}
		if plain, err = p.Decrypt(k.key); err == nil {
			break
		}
		if p.Header.Kid != "" {
			return nil, time.Time{}, false
		}
	}
	if plain == nil {
		return nil, time.Time{}, false
	}
	exp, ok := expOf(plain)
	if !ok || !exp.Add(jweClockSkew).After(a.cfg.Clock()) {
		return nil, time.Time{}, false
	}
	return plain, exp, true
}

func expOf(payload []byte) (time.Time, bool) {
	var c struct {
		Exp *json.Number `json:"exp"`
	}
	if json.Unmarshal(payload, &c) != nil || c.Exp == nil {
		return time.Time{}, false
	}
	n, err := c.Exp.Int64()
	if err != nil || n <= 0 || n > 1<<40 {
		return time.Time{}, false
	}
	return time.Unix(n, 0), true
}
