package conformance_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authport/authport"
	"github.com/authport/authport/conformance"
	"github.com/authport/authport/internal/jwtcore"
	"github.com/authport/authport/internal/keyset"
)

// ref is a minimal provider: an RSA key served as a JWKS over loopback, an
// in-memory user table, and an Authenticator on the shared verification
// core. It proves the suite end to end without any provider, and the broken
// variants below prove the suite fails when it must.
type ref struct {
	key     *rsa.PrivateKey
	srv     *httptest.Server
	fetches atomic.Int64
	down    atomic.Bool
	mu      sync.Mutex
	users   map[string]conformance.User
	revoked map[string]bool
	n       atomic.Int64
	auth    authport.Authenticator
	broken  string
	// One-more-step sign-in: the step each user must take next, the
	// pending steps by token, the last code each user received, and the
	// organisations each user may choose from.
	require map[string]authport.Action
	pending map[string]*refPending
	inbox   map[string]string
	orgsOf  map[string][]string
}

type refPending struct {
	userID, code string
	action       authport.Action
	orgs         []string
}

const refIssuer = "https://ref.authport.test"

var (
	refKeyOnce sync.Once
	refKey     *rsa.PrivateKey
)

func newRef(t *testing.T, broken string) *ref {
	refKeyOnce.Do(func() {
		var err error
		if refKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	r := &ref{key: refKey, users: map[string]conformance.User{}, revoked: map[string]bool{}, broken: broken,
		require: map[string]authport.Action{}, pending: map[string]*refPending{}, inbox: map[string]string{}, orgsOf: map[string][]string{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.fetches.Add(1)
		if r.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		b64 := base64.RawURLEncoding
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []any{map[string]any{
			"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig",
			"n": b64.EncodeToString(r.key.N.Bytes()), "e": b64.EncodeToString(big.NewInt(int64(r.key.E)).Bytes()),
		}}})
	}))
	t.Cleanup(r.srv.Close)
	a, err := r.newAuth()
	if err != nil {
		t.Fatal(err)
	}
	r.auth = a
	return r
}

type refAuth struct {
	r *ref
	v *jwtcore.Verifier
}

func (a *refAuth) Provider() string { return "ref" }

func (a *refAuth) Verify(ctx context.Context, c authport.Credential) (*authport.Session, error) {
	if c.Token == "" {
		return nil, authport.NewError(authport.ErrNoCredential, "ref", "verify", "no token")
	}
	switch a.r.broken {
	case "alg-none":
		// Deliberately broken: trusts unsigned tokens.
		if p := strings.Split(c.Token, "."); len(p) == 3 && p[2] == "" {
			return &authport.Session{Provider: "ref", UserID: "u-forged", ExpiresAt: time.Now().Add(time.Hour)}, nil
		}
	case "ignore-exp":
		s, err := a.v.Session(ctx, c.Token)
		if errors.Is(err, authport.ErrExpired) {
			return &authport.Session{Provider: "ref", UserID: "u-expired", ExpiresAt: time.Now().Add(time.Hour)}, nil
		}
		return s, err
	case "wrong-kind":
		s, err := a.v.Session(ctx, c.Token)
		if err != nil {
			return nil, authport.NewError(authport.ErrExpired, "ref", "verify", "everything is expired")
		}
		return s, nil
	}
	return a.v.Session(ctx, c.Token)
}

func (a *refAuth) VerifyStrict(ctx context.Context, c authport.Credential) (*authport.Session, error) {
	s, err := a.Verify(ctx, c)
	if err != nil {
		return nil, err
	}
	a.r.mu.Lock()
	defer a.r.mu.Unlock()
	if a.r.revoked[s.SessionID] {
		return nil, authport.NewError(authport.ErrRevoked, "ref", "verify", "session revoked")
	}
	return s, nil
}

func (a *refAuth) Revoke(ctx context.Context, s *authport.Session, _ *authport.Tokens) error {
	a.r.mu.Lock()
	a.r.revoked[s.SessionID] = true
	a.r.mu.Unlock()
	a.v.DenySession(s.SessionID, s.ExpiresAt)
	return nil
}

// SignInWithPassword signs a user in, or stops at the step the harness
// required with an *ActionError.
func (a *refAuth) SignInWithPassword(ctx context.Context, email, password string) (*authport.Tokens, error) {
	r := a.r
	r.mu.Lock()
	var id string
	for k, v := range r.users {
		if v.Email == email && v.Password == password {
			id = k
		}
	}
	if id == "" {
		r.mu.Unlock()
		return nil, authport.NewError(authport.ErrInvalidCredential, "ref", "login", "wrong email or password")
	}
	act, ok := r.require[id]
	if !ok {
		r.mu.Unlock()
		return r.sign(id, "")
	}
	tok := "pt_" + big.NewInt(r.n.Add(1)).String() + "_" + rand.Text()
	p := &refPending{userID: id, action: act, orgs: r.orgsOf[id]}
	if act != authport.ActionSelectOrganization {
		p.code = fmt.Sprintf("%06d", r.n.Add(7919)%1_000_000)
		r.inbox[email] = p.code
	}
	r.pending[tok] = p
	r.mu.Unlock()
	ae := &authport.ActionError{Action: act, Provider: "ref", PendingToken: tok, Organizations: p.orgs}
	if r.broken == "step-token-in-error" {
		return nil, fmt.Errorf("%w (pending %s)", ae, tok)
	}
	return nil, ae
}

func (a *refAuth) CanContinue(e *authport.ActionError) bool {
	return e != nil && e.Provider == "ref" && e.PendingToken != "" &&
		(e.Action == authport.ActionVerifyEmail || e.Action == authport.ActionMFA || e.Action == authport.ActionSelectOrganization)
}

func (a *refAuth) ContinueSignIn(ctx context.Context, e *authport.ActionError, in authport.ActionInput) (*authport.Tokens, error) {
	r := a.r
	fail := func(k *authport.Kind, why string) (*authport.Tokens, error) {
		return nil, authport.NewError(k, "ref", "continue", why)
	}
	if e == nil || e.PendingToken == "" {
		return fail(authport.ErrInvalidInput, "no pending token")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.pending[e.PendingToken]
	if p == nil || p.action != e.Action {
		return fail(authport.ErrInvalidCredential, "unknown pending token")
	}
	org := ""
	switch p.action {
	case authport.ActionSelectOrganization:
		if in.Organization == "" {
			return fail(authport.ErrInvalidInput, "an organisation is required")
		}
		if !slices.Contains(p.orgs, in.Organization) {
			return fail(authport.ErrInvalidCredential, "not a member of that organisation")
		}
		org = in.Organization
	default:
		if in.Code == "" {
			return fail(authport.ErrInvalidInput, "a code is required")
		}
		// Deliberately broken: any code passes.
		if r.broken != "continue-ignores-code" && in.Code != p.code {
			return fail(authport.ErrInvalidCredential, "wrong code")
		}
	}
	delete(r.pending, e.PendingToken)
	delete(r.require, p.userID)
	return r.sign(p.userID, org)
}

// sign issues tokens for user id (in organisation org, if set).
func (r *ref) sign(id, org string) (*authport.Tokens, error) {
	c := r.claimsLocked(id)
	if org != "" {
		c["org_id"] = org
	}
	tok, err := jwtcore.Sign("RS256", r.key, map[string]any{"kid": "k1", "typ": "JWT"}, c)
	if err != nil {
		return nil, err
	}
	return &authport.Tokens{AccessToken: tok, UserID: id}, nil
}

func (r *ref) newAuth() (authport.Authenticator, error) {
	cache := keyset.NewCache(keyset.NewHTTPFetcher(r.srv.URL, keyset.FormatJWKS, nil), keyset.CacheOptions{Provider: "ref"})
	v, err := jwtcore.New(jwtcore.Options{Provider: "ref", ToSession: func(c *jwtcore.Claims) (*authport.Session, error) {
		return &authport.Session{Provider: "ref", Issuer: c.Issuer, UserID: c.Subject, SessionID: c.String("sid"),
			Email: c.String("email"), Roles: c.Strings("roles"), Permissions: c.Strings("permissions"), OrgID: c.String("org_id"),
			IssuedAt: c.IssuedAt, ExpiresAt: c.ExpiresAt, Claims: c.Raw}, nil
	}}, jwtcore.Policy{Issuer: refIssuer, Audiences: []string{"api"}, Keys: cache})
	if err != nil {
		return nil, err
	}
	return &refAuth{r: r, v: v}, nil
}

func (r *ref) claims(sub string) map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.claimsLocked(sub)
}

func (r *ref) claimsLocked(sub string) map[string]any {
	now := time.Now()
	u := r.users[sub]
	c := map[string]any{"iss": refIssuer, "aud": "api", "sub": sub, "iat": now.Unix(), "nbf": now.Unix(),
		"exp": now.Add(5 * time.Minute).Unix(), "jti": "j" + big.NewInt(r.n.Add(1)).String(), "sid": "s" + big.NewInt(r.n.Add(1)).String(), "email": u.Email}
	if len(u.Roles) > 0 {
		c["roles"] = u.Roles
	}
	if len(u.Permissions) > 0 {
		c["permissions"] = u.Permissions
	}
	if u.OrgID != "" {
		c["org_id"] = u.OrgID
	}
	return c
}

func (r *ref) harness() conformance.Harness {
	return conformance.Harness{
		Name:             "ref",
		Authenticator:    r.auth,
		NewAuthenticator: r.newAuth,
		CreateUser: func(ctx context.Context, u conformance.User) (string, error) {
			id := "user_" + big.NewInt(r.n.Add(1)).String()
			r.mu.Lock()
			r.users[id] = u
			r.mu.Unlock()
			return id, nil
		},
		SignIn: func(ctx context.Context, u conformance.User) (*authport.Tokens, error) {
			r.mu.Lock()
			var id string
			for k, v := range r.users {
				if v.Email == u.Email && v.Password == u.Password {
					id = k
				}
			}
			r.mu.Unlock()
			if id == "" {
				return nil, errors.New("no such user")
			}
			tok, err := jwtcore.Sign("RS256", r.key, map[string]any{"kid": "k1", "typ": "JWT"}, r.claims(id))
			return &authport.Tokens{AccessToken: tok}, err
		},
		KeyFetches:  r.fetches.Load,
		SetKeysDown: r.down.Store,
		StepUp: &conformance.StepUp{
			Actions: []authport.Action{authport.ActionVerifyEmail, authport.ActionMFA, authport.ActionSelectOrganization},
			Require: func(ctx context.Context, u conformance.User, a authport.Action) error {
				r.mu.Lock()
				defer r.mu.Unlock()
				r.require[u.ID] = a
				if a == authport.ActionSelectOrganization {
					n := big.NewInt(r.n.Add(1)).String()
					r.orgsOf[u.ID] = []string{"org_a" + n, "org_b" + n}
				}
				return nil
			},
			Input: func(ctx context.Context, u conformance.User, e *authport.ActionError) (authport.ActionInput, error) {
				r.mu.Lock()
				defer r.mu.Unlock()
				if e.Action == authport.ActionSelectOrganization {
					orgs := r.orgsOf[u.ID]
					if len(orgs) == 0 {
						return authport.ActionInput{}, errors.New("the user has no organisations")
					}
					return authport.ActionInput{Organization: orgs[len(orgs)-1]}, nil
				}
				code := r.inbox[u.Email]
				if code == "" {
					return authport.ActionInput{}, errors.New("no code was sent")
				}
				return authport.ActionInput{Code: code}, nil
			},
		},
		Features: conformance.Features{Roles: true, Permissions: true, Org: true, EmailInToken: true},
		Forger: &conformance.Forger{
			Issuer: refIssuer, Audience: []string{"api"}, Alg: "RS256", KID: "k1", PublicKey: &r.key.PublicKey,
			Header: func() map[string]any { return map[string]any{"alg": "RS256", "kid": "k1", "typ": "JWT"} },
			Claims: r.claims,
			SignRaw: func(h, p []byte) (string, error) {
				return jwtcore.SignRaw("RS256", r.key, h, p)
			},
		},
	}
}

// TestReference runs the whole suite against the reference provider.
func TestReference(t *testing.T) {
	conformance.Run(t, newRef(t, "").harness())
}

// TestBrokenChild is run in a child process by TestSuiteCatchesBroken.
func TestBrokenChild(t *testing.T) {
	mode := os.Getenv("AUTHPORT_BROKEN")
	if mode == "" {
		t.Skip("run by TestSuiteCatchesBroken")
	}
	conformance.Run(t, newRef(t, mode).harness())
}

// TestSuiteCatchesBroken proves the suite fails on deliberately broken
// authenticators, and names the scenario that catches each.
func TestSuiteCatchesBroken(t *testing.T) {
	cases := []struct{ mode, mustFail string }{
		{"alg-none", "--- FAIL: TestBrokenChild/ref/Attacks/J01_AlgNone"},
		{"ignore-exp", "--- FAIL: TestBrokenChild/ref/Attacks/J16_Expired"},
		{"wrong-kind", "--- FAIL: TestBrokenChild/ref/LoginState/Garbage"},
		{"continue-ignores-code", "--- FAIL: TestBrokenChild/ref/StepUp/mfa_required/WrongInputRefused"},
		{"step-token-in-error", "--- FAIL: TestBrokenChild/ref/StepUp/email_verification_required/SignInStops"},
	}
	for _, c := range cases {
		t.Run(c.mode, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestBrokenChild$", "-test.v")
			cmd.Env = append(os.Environ(), "AUTHPORT_BROKEN="+c.mode)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed a broken authenticator (%s)", c.mode)
			}
			if !strings.Contains(string(out), c.mustFail) {
				t.Fatalf("expected %q in the output:\n%s", c.mustFail, out)
			}
		})
	}
}
