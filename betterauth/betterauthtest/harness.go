package betterauthtest

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authport/authport"
	"github.com/authport/authport/betterauth"
	"github.com/authport/authport/conformance"
	"github.com/authport/authport/internal/jwtcore"
)

// Mode is the credential a harness presents.
type Mode int

// The credential modes.
const (
	// ModeCookie presents the session cookie, as a browser on the same
	// site does.
	ModeCookie Mode = iota
	// ModeBearer presents the bearer plugin's token in Authorization.
	ModeBearer
	// ModeJWT presents a JWT plugin token in Authorization.
	ModeJWT
)

func (m Mode) String() string {
	return [...]string{"cookie", "bearer", "jwt"}[m]
}

// KeyProxy stands between the adapter and the server's JWKS: it counts
// fetches and can fail them, for the key-fetch and availability scenarios.
// Everything else is passed through unchanged.
type KeyProxy struct {
	// URL is the proxy's address; the JWKS is URL + "/api/auth/jwks".
	URL     string
	fetches atomic.Int64
	down    atomic.Bool
}

// KeyProxy starts a KeyProxy in front of s, closed when t ends.
func (s *Server) KeyProxy(t testing.TB) *KeyProxy {
	target, _ := url.Parse(s.URL)
	p := &KeyProxy{}
	rp := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/jwks") {
			p.fetches.Add(1)
			if p.down.Load() {
				http.Error(w, "down", http.StatusServiceUnavailable)
				return
			}
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// JWKSURL is the proxied key set's URL.
func (p *KeyProxy) JWKSURL() string { return p.URL + "/api/auth/jwks" }

// Fetches counts the JWKS requests so far.
func (p *KeyProxy) Fetches() int64 { return p.fetches.Load() }

// SetDown makes the JWKS answer 503 (true) or recover.
func (p *KeyProxy) SetDown(down bool) { p.down.Store(down) }

// Harness wires adapter a to s for conformance.Run, presenting credentials
// in mode m. keys (may be nil) is the KeyProxy a's JWKSURL points at, for
// ModeJWT's key scenarios and the attack catalogue; newAuth (may be nil)
// returns a fresh adapter.
//
//   - CreateUser: the admin plugin's createUser with the user's roles as
//     its role, and an organisation (createOrganization) when it has one;
//   - SignIn: POST /api/auth/sign-in/email as the library's client does,
//     then /organization/set-active; the access token is the session
//     cookie's value, the bearer plugin's set-auth-token, or GET
//     /api/auth/token's JWT;
//   - RevokeSession: the admin plugin's revokeUserSessions;
//   - ExpireSession (cookie and bearer modes): the session's expiry moved
//     into the past in the library's database.
func (s *Server) Harness(t testing.TB, a *betterauth.Authenticator, newAuth func() (authport.Authenticator, error), m Mode, keys *KeyProxy) conformance.Harness {
	var mu sync.Mutex
	orgs := map[string]string{} // email -> organisation id
	cookieName := a.Config().CookieName
	if s.Options.SecureCookies {
		cookieName = betterauth.SecurePrefix + cookieName
	}
	h := conformance.Harness{
		Name:             "betterauth-" + m.String(),
		Authenticator:    a,
		NewAuthenticator: newAuth,
		CreateUser: func(ctx context.Context, u conformance.User) (string, error) {
			id, orgID, err := s.CreateUser(ctx, NewUser{Email: u.Email, Password: u.Password, Role: strings.Join(u.Roles, ","), Org: strings.ToLower(strings.ReplaceAll(u.OrgID, "_", "-"))})
			if err != nil {
				return "", err
			}
			mu.Lock()
			orgs[u.Email] = orgID
			mu.Unlock()
			return id, nil
		},
		SignIn: func(ctx context.Context, u conformance.User) (*authport.Tokens, error) {
			mu.Lock()
			orgID := orgs[u.Email]
			mu.Unlock()
			si, err := s.SignIn(ctx, u.Email, u.Password, orgID)
			if err != nil {
				return nil, err
			}
			tok := &authport.Tokens{}
			switch m {
			case ModeCookie:
				tok.AccessToken = si.SessionCookie.Value
			case ModeBearer:
				tok.AccessToken = si.Bearer
			case ModeJWT:
				if tok.AccessToken, err = s.JWT(ctx, si); err != nil {
					return nil, err
				}
			}
			return tok, nil
		},
		Credential: func(t *authport.Tokens) authport.Credential {
			if m == ModeCookie {
				return authport.Credential{Token: t.AccessToken, Source: authport.SourceCookie, Cookie: cookieName}
			}
			return authport.Credential{Token: t.AccessToken, Source: authport.SourceHeader}
		},
		RevokeSession: func(ctx context.Context, sess *authport.Session) error {
			return s.RevokeUser(ctx, sess.UserID)
		},
		Features: conformance.Features{Roles: true, Org: true, EmailInToken: true},
	}
	if m == ModeJWT && keys != nil {
		h.KeyFetches = keys.Fetches
		h.SetKeysDown = keys.SetDown
		f, err := s.Forger(context.Background())
		if err != nil {
			t.Fatalf("betterauthtest: forger: %v", err)
		}
		h.Forger = f
	}
	if m != ModeJWT {
		// A session token names its row: expire it in the library's store.
		h.ExpireSession = func(ctx context.Context, tok *authport.Tokens) error {
			v, err := url.PathUnescape(tok.AccessToken)
			if err != nil {
				return err
			}
			i := strings.LastIndexByte(v, '.')
			if i < 0 {
				return errors.New("betterauthtest: not a signed session token")
			}
			return s.Expire(ctx, v[:i])
		}
	}
	if m == ModeJWT {
		h.NotApplicable = map[string]string{
			"SessionValidation/Organization": "the JWT plugin's default payload is the user object: no active organisation (an application adds it with jwt.definePayload)",
		}
	}
	return h
}

// Forger returns the JWT plugin's current signing key as a conformance
// Forger, so the attack catalogue runs against the adapter's JWT path with
// tokens shaped as the plugin mints them.
func (s *Server) Forger(ctx context.Context) (*conformance.Forger, error) {
	keys, err := s.SigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, errors.New("betterauthtest: the JWT plugin has no key")
	}
	k := keys[len(keys)-1]
	priv, pub, err := parsePrivateJWK(k.PrivateJWK)
	if err != nil {
		return nil, err
	}
	iss := origin(s.BaseURL)
	return &conformance.Forger{
		Issuer:    iss,
		Audience:  []string{iss},
		Alg:       k.Alg,
		KID:       k.KID,
		PublicKey: pub,
		Header:    func() map[string]any { return map[string]any{"alg": k.Alg, "kid": k.KID} },
		Claims: func(sub string) map[string]any {
			now := time.Now()
			return map[string]any{
				"iat": now.Unix(), "exp": now.Add(15 * time.Minute).Unix(), "iss": iss, "aud": iss, "sub": sub,
				"id": sub, "name": "forged", "email": "forged@example.com", "emailVerified": false, "role": "user",
			}
		},
		SignRaw: func(header, payload []byte) (string, error) {
			return jwtcore.SignRaw(k.Alg, priv, header, payload)
		},
	}, nil
}

// parsePrivateJWK reads the plugin's private JWKs: OKP Ed25519, EC P-256 or
// P-521, RSA.
func parsePrivateJWK(raw []byte) (priv, pub any, err error) {
	var j struct{ Kty, Crv, X, Y, D, N, E, P, Q string }
	if err := json.Unmarshal(raw, &j); err != nil {
		return nil, nil, err
	}
	dec := func(s string) []byte { b, _ := base64.RawURLEncoding.DecodeString(s); return b }
	num := func(s string) *big.Int { return new(big.Int).SetBytes(dec(s)) }
	switch j.Kty {
	case "OKP":
		seed := dec(j.D)
		if j.Crv != "Ed25519" || len(seed) != ed25519.SeedSize {
			return nil, nil, fmt.Errorf("betterauthtest: unsupported OKP key")
		}
		k := ed25519.NewKeyFromSeed(seed)
		return k, k.Public(), nil
	case "EC":
		var c elliptic.Curve
		switch j.Crv {
		case "P-256":
			c = elliptic.P256()
		case "P-521":
			c = elliptic.P521()
		default:
			return nil, nil, fmt.Errorf("betterauthtest: unsupported curve")
		}
		k, err := ecdsa.ParseRawPrivateKey(c, dec(j.D))
		if err != nil {
			return nil, nil, err
		}
		return k, &k.PublicKey, nil
	case "RSA":
		k := &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: num(j.N), E: int(num(j.E).Int64())}, D: num(j.D), Primes: []*big.Int{num(j.P), num(j.Q)}}
		k.Precompute()
		return k, &k.PublicKey, nil
	}
	return nil, nil, fmt.Errorf("betterauthtest: unsupported key type")
}
