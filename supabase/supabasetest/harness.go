package supabasetest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	auth "github.com/supabase-community/auth-go"
	"github.com/supabase-community/auth-go/types"

	"github.com/authport/authport"
	"github.com/authport/authport/conformance"
	"github.com/authport/authport/supabase"
)

// Config returns the adapter configuration for this emulator: its URL and
// keys, the legacy secret when the mode has one, its clock, and "github"
// as the redirect sign-in's provider.
func (e *Emulator) Config() supabase.Config {
	return supabase.Config{
		URL:            e.URL,
		AnonKey:        e.AnonKey,
		ServiceRoleKey: e.ServiceRoleKey,
		JWTSecret:      e.JWTSecret,
		TokenLifetime:  e.o.TokenLifetime,
		OAuthProvider:  "github",
		Clock:          e.Clock().Now,
	}
}

// Authenticator returns a new adapter for this emulator (cold caches).
func (e *Emulator) Authenticator(tb testing.TB) *supabase.Authenticator {
	tb.Helper()
	a, err := supabase.New(context.Background(), e.Config())
	if err != nil {
		tb.Fatalf("supabasetest: adapter: %v", err)
	}
	return a
}

// Harness returns a conformance harness for this emulator: the adapter on
// Config(), users and sign-ins through the SDK (ProjectHarness), plus the
// emulator-only hooks: a Forger holding the key that currently signs,
// JWKS fetch counting and failure (not in ModeHS256, where no key set is
// involved).
func (e *Emulator) Harness(t testing.TB) conformance.Harness {
	t.Helper()
	cfg := e.Config()
	h, err := ProjectHarness(t, cfg)
	if err != nil {
		t.Fatalf("supabasetest: %v", err)
	}
	legacy := e.signsLegacy()
	h.Name = "supabase"
	if e.o.Mode != ModeES256 {
		h.Name += "-" + strings.ToLower(string(e.o.Mode))
	}
	if legacy && e.o.Mode == ModeMigration {
		h.Name += "-legacy"
	}
	h.NewAuthenticator = func() (authport.Authenticator, error) { return supabase.New(context.Background(), cfg) }
	if legacy {
		const why = "legacy HS256 tokens are verified with the shared JWT secret: no key set is fetched"
		h.NotApplicable = map[string]string{
			"Concurrency/ColdCacheSingleFetch":      why,
			"Concurrency/UnknownKidFloodBounded":    why,
			"Availability/ColdKeysDownFailsClosed":  why,
			"Availability/WarmKeysDownKeepsServing": why,
		}
	} else {
		h.KeyFetches = e.KeyFetches
		h.SetKeysDown = e.SetKeysDown
	}
	if d := e.o.RefreshReuseInterval; d > 0 {
		if h.NotApplicable == nil {
			h.NotApplicable = map[string]string{}
		}
		h.NotApplicable["Refresh/ReuseRejected"] = fmt.Sprintf("Supabase answers a spent refresh token again for %v (its refresh-token reuse interval) with the session's current tokens; reuse after it ends the session", d)
	}
	h.Forger = e.forger(legacy)
	h.SetRateLimited = e.SetRateLimited // GoTrue names no wait
	return h
}

// forger builds the conformance Forger from the key that signs.
func (e *Emulator) forger(legacy bool) *conformance.Forger {
	f := &conformance.Forger{
		Issuer:   e.Issuer,
		Audience: []string{defaultAud},
		Claims: func(sub string) map[string]any {
			var c map[string]any
			if u, ok := e.lookupUser(sub); ok {
				c = e.claims(u, nil, time.Now())
			} else {
				c = e.claims(nil, nil, time.Now())
				c["sub"], c["aud"], c["role"] = sub, defaultAud, defaultRole
			}
			c["session_id"] = newUUID()
			c["aal"] = "aal1"
			c["amr"] = []any{map[string]any{"method": amrPassword, "timestamp": time.Now().Unix()}}
			return c
		},
	}
	if legacy {
		k := e.legacyKey()
		f.Alg, f.KID, f.KIDOptional = "HS256", e.o.LegacyKID, e.o.LegacyKID == ""
		f.Header = func() map[string]any {
			h := map[string]any{"alg": "HS256", "typ": "JWT"}
			if e.o.LegacyKID != "" {
				h["kid"] = e.o.LegacyKID
			}
			return h
		}
		f.SignRaw = k.SignRaw
		return f
	}
	k := e.srv.Keys.Current()
	f.Alg, f.KID, f.PublicKey = k.Algorithm, k.ID, k.Public
	f.Header = func() map[string]any { return map[string]any{"alg": k.Algorithm, "kid": k.ID, "typ": "JWT"} }
	f.SignRaw = k.SignRaw
	return f
}

// ProjectHarness returns a conformance harness that drives a Supabase
// project — this emulator or a real one — only through its public API and
// the official SDK: users are created with the admin API (cfg must carry
// the service-role key) with roles and permissions in app_metadata, signed
// in with the password grant, and signed out with POST /logout using the
// session's own access token (Supabase has no admin call that ends one
// session). Users created are deleted when the test ends.
//
// Hosted Supabase accepts a used refresh token again within its reuse
// interval (10 s by default); run the suite against such a project with
// h.NotApplicable["Refresh/ReuseRejected"] set.
func ProjectHarness(t testing.TB, cfg supabase.Config) (conformance.Harness, error) {
	a, err := supabase.New(context.Background(), cfg)
	if err != nil {
		return conformance.Harness{}, err
	}
	admin, err := a.AdminClient()
	if err != nil {
		return conformance.Harness{}, fmt.Errorf("ProjectHarness needs the service-role key: %w", err)
	}
	client := a.Client()
	rolesAt, rolesOK := strings.CutPrefix(orDefault(cfg.RolesClaim, supabase.DefaultRolesClaim), "app_metadata.")
	permsAt, permsOK := strings.CutPrefix(orDefault(cfg.PermissionsClaim, supabase.DefaultPermissionsClaim), "app_metadata.")
	orgAt, orgOK := strings.CutPrefix(cfg.OrgClaim, "app_metadata.")

	var mu sync.Mutex
	tokens := map[string]string{} // session id → access token, for RevokeSession
	var created []string
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, id := range created {
			if uid, err := parseUUID(id); err == nil {
				_ = admin.AdminDeleteUser(types.AdminDeleteUserRequest{UserID: uid})
			}
		}
	})
	h := conformance.Harness{
		Name:          "supabase",
		Authenticator: a,
		Features: conformance.Features{
			Roles: rolesOK, Permissions: permsOK, Org: orgOK && orgAt != "", EmailInToken: true,
		},
		CreateUser: func(ctx context.Context, u conformance.User) (string, error) {
			app := map[string]any{}
			if len(u.Roles) > 0 && rolesOK {
				setPath(app, rolesAt, toAny(u.Roles))
			}
			if len(u.Permissions) > 0 && permsOK {
				setPath(app, permsAt, toAny(u.Permissions))
			}
			if u.OrgID != "" && orgOK && orgAt != "" {
				setPath(app, orgAt, u.OrgID)
			}
			pw := u.Password
			res, err := withContext(ctx, admin).AdminCreateUser(types.AdminCreateUserRequest{
				Email: u.Email, Password: &pw, EmailConfirm: true, AppMetadata: app,
			})
			if err != nil {
				return "", err
			}
			id := res.ID.String()
			mu.Lock()
			created = append(created, id)
			mu.Unlock()
			return id, nil
		},
		SignIn: func(ctx context.Context, u conformance.User) (*authport.Tokens, error) {
			res, err := withContext(ctx, client).SignInWithEmailPassword(u.Email, u.Password)
			if err != nil {
				return nil, err
			}
			sid := sessionIDOf(res.AccessToken)
			mu.Lock()
			tokens[sid] = res.AccessToken
			mu.Unlock()
			return &authport.Tokens{
				AccessToken: res.AccessToken, RefreshToken: res.RefreshToken,
				ExpiresAt: time.Unix(res.ExpiresAt, 0), SessionID: sid, UserID: res.User.ID.String(),
			}, nil
		},
		RevokeSession: func(ctx context.Context, s *authport.Session) error {
			mu.Lock()
			tok := tokens[s.SessionID]
			mu.Unlock()
			if tok == "" {
				return errors.New("supabasetest: no access token recorded for this session")
			}
			return withContext(ctx, client).WithToken(tok).Logout()
		},
	}
	return h, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// setPath sets a dotted path inside m.
func setPath(m map[string]any, path string, v any) {
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	m[parts[len(parts)-1]] = v
}

// sessionIDOf reads session_id from a token's payload without verifying
// it (the harness only files the token under it).
func sessionIDOf(tok string) string {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		SessionID string `json:"session_id"`
	}
	_ = json.Unmarshal(b, &c)
	return c.SessionID
}

// withContext binds an SDK client's requests to ctx (auth-go takes none).
func withContext(ctx context.Context, c auth.Client) auth.Client {
	return c.WithClient(http.Client{Timeout: 20 * time.Second, Transport: ctxRoundTripper{ctx}})
}

type ctxRoundTripper struct{ ctx context.Context }

// RoundTrip sends r under the bound context.
func (t ctxRoundTripper) RoundTrip(r *http.Request) (*http.Response, error) {
	return http.DefaultTransport.RoundTrip(r.WithContext(t.ctx))
}

func newUUID() string { return uuid.NewString() }

func parseUUID(s string) (uuid.UUID, error) { return uuid.Parse(s) }
