package diy

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/authport/authport"
	"github.com/authport/authport/internal/jwtcore"
	"github.com/authport/authport/internal/keyset"
)

const accessTokenType = "at+jwt"

// keyRing holds the signing keys: the active one signs, every published one
// verifies; retired keys are dropped after their grace period. It is the
// verifier's key source.
type keyRing struct {
	mu     sync.RWMutex
	now    func() time.Time
	keys   []*ringKey // keys[0] is active
	jwks   []byte
	jwksAt time.Time
}

type ringKey struct {
	id       string
	priv     ed25519.PrivateKey
	pub      ed25519.PublicKey
	retireAt time.Time // zero: published until removed
}

// Thumbprint returns the RFC 7638 JWK thumbprint of an Ed25519 public key,
// the default key id.
func Thumbprint(pub ed25519.PublicKey) string {
	x := base64.RawURLEncoding.EncodeToString(pub)
	sum := sha256.Sum256([]byte(`{"crv":"Ed25519","kty":"OKP","x":"` + x + `"}`))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func newRingKey(k SigningKey) (*ringKey, error) {
	if len(k.PrivateKey) != ed25519.PrivateKeySize {
		return nil, misconfigured("a signing key is not an Ed25519 private key")
	}
	pub := k.PrivateKey.Public().(ed25519.PublicKey)
	id := k.ID
	if id == "" {
		id = Thumbprint(pub)
	}
	if len(id) > 128 {
		return nil, misconfigured("a signing key id is longer than 128 bytes")
	}
	return &ringKey{id: id, priv: k.PrivateKey, pub: pub}, nil
}

// live returns the keys still published at now (caller holds mu).
func (r *keyRing) live(now time.Time) []*ringKey {
	out := r.keys[:0:0]
	for _, k := range r.keys {
		if k.retireAt.IsZero() || now.Before(k.retireAt) {
			out = append(out, k)
		}
	}
	return out
}

// Lookup implements keyset.Source.
func (r *keyRing) Lookup(_ context.Context, kid, alg string) (keyset.Key, error) {
	if alg != "EdDSA" {
		return keyset.Key{}, &authport.Error{Kind: authport.ErrInvalidCredential, Op: "verify", Reason: "algorithm not allowed"}
	}
	now := r.now()
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, k := range r.keys {
		if k.id == kid && (k.retireAt.IsZero() || now.Before(k.retireAt)) {
			return keyset.Key{ID: k.id, Algorithm: "EdDSA", Public: k.pub}, nil
		}
	}
	return keyset.Key{}, &authport.Error{Kind: authport.ErrInvalidCredential, Op: "verify", Reason: "no trusted key for this token"}
}

func (r *keyRing) active() *ringKey {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.keys[0]
}

// document returns the JWKS JSON of the published keys.
func (r *keyRing) document() []byte {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.jwks != nil && now.Sub(r.jwksAt) < time.Second {
		return r.jwks
	}
	type jwk struct {
		Kty string `json:"kty"`
		Crv string `json:"crv"`
		X   string `json:"x"`
		Kid string `json:"kid"`
		Use string `json:"use"`
		Alg string `json:"alg"`
	}
	doc := struct {
		Keys []jwk `json:"keys"`
	}{Keys: []jwk{}}
	for _, k := range r.live(now) {
		doc.Keys = append(doc.Keys, jwk{Kty: "OKP", Crv: "Ed25519", X: base64.RawURLEncoding.EncodeToString(k.pub), Kid: k.id, Use: "sig", Alg: "EdDSA"})
	}
	r.jwks, _ = json.Marshal(doc)
	r.jwksAt = now
	return r.jwks
}

func (b *Backend) initJWT() error {
	r := &keyRing{now: b.now}
	seen := map[string]bool{}
	for _, k := range b.cfg.SigningKeys {
		rk, err := newRingKey(k)
		if err != nil {
			return err
		}
		if seen[rk.id] {
			return misconfigured("two signing keys share the id " + strconv.Quote(rk.id))
		}
		seen[rk.id] = true
		r.keys = append(r.keys, rk)
	}
	if len(r.keys) == 0 {
		_, priv, _ := ed25519.GenerateKey(nil)
		rk, _ := newRingKey(SigningKey{PrivateKey: priv})
		r.keys = []*ringKey{rk}
		b.log.Warn("no Config.SigningKeys: generated an ephemeral signing key; access tokens will not verify on other instances or after a restart")
	}
	b.keys = r
	v, err := jwtcore.New(jwtcore.Options{
		Provider:  provider,
		Leeway:    b.cfg.Leeway,
		Clock:     b.now,
		ToSession: b.toSession,
	}, jwtcore.Policy{
		Issuer:     b.cfg.Issuer,
		Audiences:  []string{b.cfg.Audience},
		Algorithms: []string{"EdDSA"},
		Types:      []string{accessTokenType},
		Keys:       r,
	})
	if err != nil {
		return misconfigured(err.Error())
	}
	b.verifier = v
	return nil
}

// RotateSigningKey makes k the key that signs new access tokens. The
// previous keys stay published and verifying for Config.KeyGrace, so tokens
// they signed keep working until they expire. Several instances should
// rotate through Config.SigningKeys instead (new key first, old key kept).
func (b *Backend) RotateSigningKey(k SigningKey) error {
	if b.keys == nil {
		return fail(authport.ErrUnsupported, "rotate_key", "signing keys exist only in JWT mode")
	}
	rk, err := newRingKey(k)
	if err != nil {
		return err
	}
	now := b.now()
	r := b.keys
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, old := range r.keys {
		if old.id == rk.id {
			return invalidInput("rotate_key", "a key with this id is already published")
		}
	}
	for _, old := range r.keys {
		if old.retireAt.IsZero() {
			old.retireAt = now.Add(b.cfg.KeyGrace)
		}
	}
	r.keys = append([]*ringKey{rk}, r.live(now)...)
	r.jwks = nil
	b.log.Info("signing key rotated", "kid", rk.id)
	return nil
}

// JWKS returns the JSON Web Key Set of the published verification keys
// (empty in session mode).
func (b *Backend) JWKS() []byte {
	if b.keys == nil {
		return []byte(`{"keys":[]}`)
	}
	return b.keys.document()
}

// JWKSHandler serves the key set at /.well-known/jwks.json: GET and HEAD
// only, cacheable for five minutes (an unknown kid makes authport's key
// cache refetch at once, so rotation needs no wait).
func (b *Backend) JWKSHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		body := b.JWKS()
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "public, max-age=300")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Length", strconv.Itoa(len(body)))
		if r.Method == http.MethodGet {
			_, _ = w.Write(body)
		}
	})
}

type accessClaims struct {
	Iss   string   `json:"iss"`
	Sub   string   `json:"sub"`
	Aud   string   `json:"aud"`
	Exp   int64    `json:"exp"`
	Nbf   int64    `json:"nbf"`
	Iat   int64    `json:"iat"`
	Jti   string   `json:"jti"`
	Sid   string   `json:"sid"`
	Email string   `json:"email,omitempty"`
	Roles []string `json:"roles,omitempty"`
	// Permissions, OrgID and OrgSlug use the claim names the other
	// adapters map (WorkOS, Firebase custom claims).
	Permissions []string `json:"permissions,omitempty"`
	OrgID       string   `json:"org_id,omitempty"`
	OrgSlug     string   `json:"org_slug,omitempty"`
	Amr         []string `json:"amr,omitempty"`
}

// signAccess signs an access token for session rec.
func (b *Backend) signAccess(rec *SessionRecord, now time.Time) (string, time.Time, error) {
	exp := now.Add(b.cfg.AccessTokenTTL)
	k := b.keys.active()
	tok, err := jwtcore.Sign("EdDSA", k.priv, map[string]any{"kid": k.id, "typ": accessTokenType}, accessClaims{
		Iss: b.cfg.Issuer, Sub: rec.UserID, Aud: b.cfg.Audience, Exp: exp.Unix(), Nbf: now.Unix(), Iat: now.Unix(),
		Jti: newID(""), Sid: rec.ID, Email: rec.Email, Roles: rec.Roles, Permissions: rec.Permissions,
		OrgID: rec.OrgID, OrgSlug: rec.OrgSlug, Amr: []string{"pwd"},
	})
	if err != nil {
		return "", time.Time{}, unavailable("sign", err)
	}
	return tok, time.Unix(exp.Unix(), 0), nil
}

// toSession maps verified access-token claims to a Session.
func (b *Backend) toSession(c *jwtcore.Claims) (*authport.Session, error) {
	sid := c.String("sid")
	if sid == "" {
		return nil, fail(authport.ErrInvalidCredential, "verify", "token has no session id")
	}
	return &authport.Session{
		Provider: provider, Issuer: c.Issuer, UserID: c.Subject, SessionID: sid, TokenID: c.JTI,
		Email: c.String("email"), Roles: c.Strings("roles"), Permissions: c.Strings("permissions"),
		OrgID: c.String("org_id"), OrgSlug: c.String("org_slug"), AuthMethods: c.Strings("amr"),
		IssuedAt: c.IssuedAt, ExpiresAt: c.ExpiresAt, Claims: c.Raw,
	}, nil
}

func (b *Backend) verifyJWT(ctx context.Context, token string) (*authport.Session, error) {
	if token == "" {
		return nil, fail(authport.ErrNoCredential, "verify", "empty token")
	}
	return b.verifier.Session(ctx, token)
}

// Refresh trades a refresh token for a new access token and a new refresh
// token (JWT mode; in session mode it is ErrUnsupported). Each refresh token
// works once: the exchange is atomic, so of many parallel refreshes with
// one token exactly one succeeds. Presenting an already used token again is
// treated as theft: the whole family (session) is revoked, including the
// token the first exchange issued. A family ends at the session's idle or
// absolute timeout.
func (b *Backend) Refresh(ctx context.Context, refreshToken string) (*authport.Tokens, error) {
	const op = "refresh"
	if b.cfg.SessionMode != ModeJWT {
		return nil, fail(authport.ErrUnsupported, op, "server-side session mode has no refresh tokens")
	}
	if refreshToken == "" {
		return nil, invalidInput(op, "refresh token is required")
	}
	hash, ok := secretHash(refreshToken)
	if !ok {
		return nil, fail(authport.ErrInvalidCredential, op, "malformed refresh token")
	}
	cl := ClientFrom(ctx)
	if err := b.limit(ctx, op, "refresh-ip", ipSubject(cl.IP), b.limits.RefreshIP); err != nil {
		return nil, err
	}
	cur, err := b.refresh.RefreshTokenByHash(ctx, hash)
	if err != nil {
		return nil, storeErr(op, err, authport.ErrInvalidCredential, "unknown refresh token")
	}
	if err := b.limit(ctx, op, "refresh-acct", cur.UserID, b.limits.RefreshAccount); err != nil {
		return nil, err
	}
	next, nextHash := newSecret()
	now := b.now()
	old, err := b.refresh.RotateRefreshToken(ctx, hash, nextHash, now)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, fail(authport.ErrInvalidCredential, op, "unknown refresh token")
	case errors.Is(err, ErrRefreshUnusable):
		switch {
		case !old.RevokedAt.IsZero():
			return nil, fail(authport.ErrRevoked, op, "session ended")
		case !old.UsedAt.IsZero():
			// Reuse of a rotated token: someone else holds the family.
			if rerr := b.revokeOne(ctx, old.FamilyID); rerr != nil {
				return nil, rerr
			}
			b.log.LogAttrs(ctx, slog.LevelWarn, "refresh token reused; session revoked",
				slog.String("user_id", old.UserID), slog.String("session_id", old.FamilyID), slog.String("ip", cl.IP))
			return nil, fail(authport.ErrRevoked, op, "refresh token reused; session revoked")
		default:
			return nil, fail(authport.ErrExpired, op, "session reached its absolute timeout")
		}
	case err != nil:
		return nil, unavailable(op, err)
	}
	rec, err := b.sessions.SessionByID(ctx, old.FamilyID)
	if err == nil && rec.RevokedAt.IsZero() {
		err = b.live(rec, now)
	} else if err == nil {
		// Revoked after this rotation won (revocation ends the refresh
		// tokens first, so it cannot have come before): the exchange
		// stands, and the family is dead from now on — as when parallel
		// refreshes race and the losers' reuse revokes the family.
		err = b.live(&SessionRecord{ExpiresAt: rec.ExpiresAt, IdleExpiresAt: rec.IdleExpiresAt}, now)
		if err == nil {
			access, exp, err := b.signAccess(rec, now)
			if err != nil {
				return nil, err
			}
			return &authport.Tokens{AccessToken: access, RefreshToken: next, ExpiresAt: exp, SessionID: rec.ID, UserID: rec.UserID}, nil
		}
	} else if errors.Is(err, ErrNotFound) {
		err = fail(authport.ErrRevoked, op, "session ended")
	} else {
		return nil, unavailable(op, err)
	}
	if err != nil {
		// The session is gone or over: make sure its family is too.
		if rerr := b.refresh.RevokeRefreshFamily(ctx, old.FamilyID, now); rerr != nil {
			return nil, unavailable(op, rerr)
		}
		return nil, err
	}
	idle := minTime(now.Add(b.cfg.IdleTimeout), rec.ExpiresAt)
	if err := b.sessions.TouchSession(ctx, rec.ID, now, idle); err != nil && !errors.Is(err, ErrNotFound) {
		return nil, unavailable(op, err)
	}
	rec.LastSeenAt, rec.IdleExpiresAt = now, idle
	access, exp, err := b.signAccess(rec, now)
	if err != nil {
		return nil, err
	}
	return &authport.Tokens{AccessToken: access, RefreshToken: next, ExpiresAt: exp, SessionID: rec.ID, UserID: rec.UserID}, nil
}
