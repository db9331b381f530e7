package emulator

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
)

// MintRequest describes a token for Server.Mint. The zero value mints a
// valid access token with the provider's default claims and no user.
type MintRequest struct {
	// UserID names the token's user; SessionID its session (the user is
	// then the session's). Either may be empty.
	UserID, SessionID string
	// Claims are merged over the default claims, last; a nil value removes
	// a claim, whoever set it: {"exp": nil} for a token that never
	// expires, {"sid": nil, "jti": nil} for one without the session id and
	// token id Mint otherwise always adds (the session, if any, is still
	// remembered for Introspect). Over the control API, JSON null does the
	// same.
	Claims map[string]any
	// Header is merged over the default header {"typ","kid","alg"}; a nil
	// value removes a field (e.g. {"kid": nil}). An "alg" here is written
	// as given while the token is still signed with the key's algorithm.
	Header map[string]any
	// Defaults replaces Options.DefaultClaims for this token (an ID token
	// next to an access token, say).
	Defaults func(u *User, s *Session) map[string]any
	// ExpiresIn overrides the lifetime (Options.TokenTTL).
	ExpiresIn time.Duration
	// Expired shifts the token's times so it expired an hour ago (well
	// beyond any verifier's leeway) while keeping its lifetime.
	Expired bool
	// NotYetValid sets "nbf" an hour in the future.
	NotYetValid bool
	// Foreign signs with KeyRing.Foreign: the trusted kid, another key.
	Foreign bool
	// Alg signs with another algorithm than the key's: "none" makes an
	// unsigned token, HS256/384/512 uses Secret or else the trusted public
	// key's PEM as the HMAC secret (algorithm confusion), and any other
	// algorithm uses a throwaway key under the trusted kid.
	Alg string
	// Secret is the HMAC secret for an HS* Alg.
	Secret []byte
}

// MintedToken is what the server remembers of a token it minted with its
// trusted key, for introspection and strict verification.
type MintedToken struct {
	// Claims are the token's claims.
	Claims map[string]any
	// Header is the token's header.
	Header map[string]any
	// UserID and SessionID are "sub" and the session the token was minted
	// for ("" if none).
	UserID, SessionID string
	// storeUser is the id of the stored user the token was minted for
	// (not a "sub" claim of a test's choosing): once that user is deleted,
	// the token no longer introspects.
	storeUser string
	// KID is the signing key's id.
	KID string
	// IssuedAt, NotBefore and ExpiresAt are the token's time claims (zero
	// when absent or not numbers).
	IssuedAt, NotBefore, ExpiresAt time.Time
}

// Mint signs a token as the provider would issue it, or a broken one for a
// negative test. The claims are built in layers: {"iat","exp","jti"}, "sub"
// for a user and "sid" for a session, then the provider's default claims,
// then req.Claims (where a nil value removes a claim of any layer, so
// {"sid": nil, "jti": nil} omits the defaults). Tokens signed with the
// trusted current key are remembered for Introspect.
func (s *Server) Mint(req MintRequest) (string, error) {
	var (
		u   *User
		ss  *Session
		err error
	)
	switch {
	case req.SessionID != "":
		if ss, err = s.Store.Session(req.SessionID); err != nil {
			return "", fmt.Errorf("emulator: mint: session: %w", err)
		}
		if req.UserID != "" && req.UserID != ss.UserID {
			return "", fmt.Errorf("%w: session %s is not user %s's", ErrInvalid, ss.ID, req.UserID)
		}
		if u, err = s.Store.User(ss.UserID); err != nil {
			return "", fmt.Errorf("emulator: mint: user: %w", err)
		}
	case req.UserID != "":
		if u, err = s.Store.User(req.UserID); err != nil {
			return "", fmt.Errorf("emulator: mint: user: %w", err)
		}
	}
	now := s.Clock.Now()
	ttl := s.opts.TokenTTL
	if req.ExpiresIn > 0 {
		ttl = req.ExpiresIn
	}
	claims := map[string]any{"iat": now.Unix(), "exp": now.Add(ttl).Unix(), "jti": NewUUID()}
	if u != nil {
		claims["sub"] = u.ID
	}
	if ss != nil {
		claims["sid"] = ss.ID
	}
	defaults := s.opts.DefaultClaims
	if req.Defaults != nil {
		defaults = req.Defaults
	}
	if defaults != nil {
		for k, v := range defaults(u, ss) {
			claims[k] = v
		}
	}
	if iat, ok := numeric(claims["iat"]); ok && req.ExpiresIn > 0 {
		claims["exp"] = int64(iat) + int64(req.ExpiresIn/time.Second)
	}
	if req.Expired {
		if exp, ok := numeric(claims["exp"]); ok {
			shift := float64(now.Add(-time.Hour).Unix()) - exp
			for _, c := range []string{"iat", "nbf", "exp", "auth_time"} {
				if v, ok := numeric(claims[c]); ok {
					claims[c] = int64(v + shift)
				}
			}
		}
	}
	if req.NotYetValid {
		nbf := now.Add(time.Hour).Unix()
		claims["nbf"] = nbf
		if exp, ok := numeric(claims["exp"]); ok && exp <= float64(nbf) {
			claims["exp"] = nbf + int64(ttl/time.Second)
		}
	}
	for k, v := range req.Claims {
		if v == nil {
			delete(claims, k)
		} else {
			claims[k] = v
		}
	}

	key := s.Keys.Current()
	trusted := true
	if req.Foreign {
		key, trusted = s.Keys.Foreign(), false
	}
	alg, signKey := key.Algorithm, key.Private
	if req.Alg != "" && req.Alg != key.Algorithm {
		trusted = false
		alg = req.Alg
		switch {
		case alg == "none":
			signKey = nil
		case strings.HasPrefix(alg, "HS"):
			if len(req.Secret) > 0 {
				signKey = req.Secret
			} else {
				signKey = key.PublicKeyPEM()
			}
		default:
			alien, err := NewSigningKey(alg, key.ID)
			if err != nil {
				return "", err
			}
			signKey = alien.Private
		}
	}
	header := map[string]any{"typ": "JWT", "kid": key.ID}
	for k, v := range s.opts.DefaultHeader {
		header[k] = v
	}
	header["alg"] = alg
	for k, v := range req.Header {
		if v == nil {
			delete(header, k)
		} else {
			header[k] = v
		}
	}
	hj, err := json.Marshal(header)
	if err != nil {
		return "", fmt.Errorf("%w: header: %v", ErrInvalid, err)
	}
	pj, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("%w: claims: %v", ErrInvalid, err)
	}
	tok, err := SignCompact(alg, signKey, hj, pj)
	if err != nil {
		return "", err
	}
	if trusted {
		m := &MintedToken{Claims: claims, Header: header, KID: key.ID}
		if u != nil {
			m.UserID, m.storeUser = u.ID, u.ID
		}
		if sub, ok := claims["sub"].(string); ok {
			m.UserID = sub
		}
		if ss != nil {
			m.SessionID = ss.ID
		}
		m.IssuedAt, m.NotBefore, m.ExpiresAt = unixClaim(claims["iat"]), unixClaim(claims["nbf"]), unixClaim(claims["exp"])
		s.mu.Lock()
		s.minted[sha256.Sum256([]byte(tok))] = m
		s.mu.Unlock()
	}
	return tok, nil
}

// Introspect reports on a token this server minted with a trusted key,
// byte for byte (a re-encoded or re-signed variant is unknown). It fails
// with ErrNotFound for a token it did not mint or whose key is no longer
// published, ErrExpired when "exp" has passed or "nbf" has not come,
// and the store's ErrInactive or ErrDisabled when the session or user is
// no longer live. Provider emulators use it for their userinfo,
// introspection and session-check endpoints.
func (s *Server) Introspect(token string) (*MintedToken, error) {
	s.mu.Lock()
	m, ok := s.minted[sha256.Sum256([]byte(token))]
	s.mu.Unlock()
	if !ok {
		return nil, ErrNotFound
	}
	if _, ok := s.Keys.Lookup(m.KID); !ok {
		return nil, ErrNotFound
	}
	now := s.Clock.Now()
	if m.ExpiresAt.IsZero() || !now.Before(m.ExpiresAt) || (!m.NotBefore.IsZero() && now.Before(m.NotBefore)) {
		return nil, ErrExpired
	}
	if m.SessionID != "" {
		if _, _, err := s.Store.LiveSession(m.SessionID); err != nil {
			return nil, err
		}
	} else if m.UserID != "" {
		if u, err := s.Store.User(m.UserID); err == nil && u.Disabled {
			return nil, ErrDisabled
		}
	}
	if m.storeUser != "" {
		if _, err := s.Store.User(m.storeUser); err != nil {
			return nil, ErrNotFound // the user was deleted
		}
	}
	c := *m
	c.Claims = cloneMap(m.Claims)
	c.Header = cloneMap(m.Header)
	return &c, nil
}

// Minted returns what the server remembers of a token it minted with a
// trusted key, whatever its state now (for RFC 7009 revocation, which must
// find the session of an expired token too).
func (s *Server) Minted(token string) (*MintedToken, bool) {
	s.mu.Lock()
	m, ok := s.minted[sha256.Sum256([]byte(token))]
	s.mu.Unlock()
	if !ok {
		return nil, false
	}
	c := *m
	c.Claims = cloneMap(m.Claims)
	c.Header = cloneMap(m.Header)
	return &c, true
}

func numeric(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case float64:
		return n, !math.IsInf(n, 0) && !math.IsNaN(n)
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

func unixClaim(v any) time.Time {
	f, ok := numeric(v)
	if !ok || f > 1e12 || f < -1e12 {
		return time.Time{}
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9))
}
