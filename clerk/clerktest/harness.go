package clerktest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authport/authport"
	"github.com/authport/authport/clerk"
	"github.com/authport/authport/conformance"
	"github.com/authport/authport/internal/emulator"
	clerksdk "github.com/clerk/clerk-sdk-go/v2"
	"github.com/clerk/clerk-sdk-go/v2/organization"
	"github.com/clerk/clerk-sdk-go/v2/organizationmembership"
	"github.com/clerk/clerk-sdk-go/v2/session"
	"github.com/clerk/clerk-sdk-go/v2/user"
)

// HarnessSessionClaims is the session-token customization Server.Harness
// installs on an instance that has none: Clerk's documented pattern for
// application roles and permissions kept in public metadata, plus the
// email address. The adapter reads it with RolesClaim "metadata.roles" and
// PermissionsClaim "metadata.permissions".
var HarnessSessionClaims = map[string]any{
	"metadata":       "{{user.public_metadata}}",
	"email":          "{{user.primary_email_address}}",
	"email_verified": "{{user.email_verified}}",
}

// HarnessConfig wires a Clerk instance — the emulator or a real
// development instance — to the conformance suite. The harness drives the
// instance only through the Backend API, with the official SDK.
type HarnessConfig struct {
	// Name names the provider in reports (default "clerk").
	Name string
	// Authenticator is the adapter under test.
	Authenticator authport.Authenticator
	// NewAuthenticator, if set, makes an adapter with cold caches.
	NewAuthenticator func() (authport.Authenticator, error)
	// SecretKey and APIURL reach the Backend API (APIURL default
	// https://api.clerk.com/v1).
	SecretKey, APIURL string
	// HTTPClient makes the Backend API calls (optional).
	HTTPClient *http.Client
	// Features says what the instance's session token carries: roles and
	// permissions from public metadata ("metadata" customization), the
	// active organisation (sessions are created with
	// active_organization_id), the email address.
	Features conformance.Features
	// Forger signs attack tokens with the trusted key (emulator only).
	Forger *conformance.Forger
	// KeyFetches counts key-set fetches (emulator only).
	KeyFetches func() int64
	// SetKeysDown fails the key endpoint (emulator only).
	SetKeysDown func(bool)
	// Cleanup deletes the users and organisations the harness created
	// when the test ends (for a real instance).
	Cleanup bool
}

// NewHarness returns a conformance harness for the instance c describes.
//
//   - CreateUser: POST /v1/users with the email address, the password and
//     public metadata {"roles","permissions"}; with an OrgID, also
//     POST /v1/organizations and POST /v1/organizations/{id}/memberships
//     (role org:member).
//   - SignIn: GET /v1/users?email_address=…, POST /v1/users/{id}/verify_password,
//     POST /v1/sessions (with active_organization_id for a member) and
//     POST /v1/sessions/{id}/tokens: what a test instance allows a backend
//     in place of Clerk's frontend.
//   - Credential: the session token as the "__session" cookie.
//   - RevokeSession: POST /v1/sessions/{id}/revoke.
func NewHarness(tb testing.TB, c HarnessConfig) conformance.Harness {
	if c.Name == "" {
		c.Name = clerk.Name
	}
	bc := clerksdk.BackendConfig{HTTPClient: c.HTTPClient, Key: clerksdk.String(c.SecretKey)}
	if c.APIURL != "" {
		bc.URL = clerksdk.String(c.APIURL)
	}
	cc := &clerksdk.ClientConfig{BackendConfig: bc}
	users := user.NewClient(cc)
	sessions := session.NewClient(cc)
	orgs := organization.NewClient(cc)
	members := organizationmembership.NewClient(cc)
	backend := clerksdk.NewBackend(&cc.BackendConfig)

	var mu sync.Mutex
	orgOf := map[string]string{} // user id → organisation id
	var createdUsers, createdOrgs []string
	if c.Cleanup {
		tb.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			mu.Lock()
			defer mu.Unlock()
			for _, id := range createdOrgs {
				_, _ = orgs.Delete(ctx, id)
			}
			for _, id := range createdUsers {
				_, _ = users.Delete(ctx, id)
			}
		})
	}

	return conformance.Harness{
		Name:             c.Name,
		Authenticator:    c.Authenticator,
		NewAuthenticator: c.NewAuthenticator,
		Features:         c.Features,
		Forger:           c.Forger,
		KeyFetches:       c.KeyFetches,
		SetKeysDown:      c.SetKeysDown,
		Credential: func(t *authport.Tokens) authport.Credential {
			return authport.Credential{Token: t.AccessToken, Source: authport.SourceCookie, Cookie: clerk.SessionCookie}
		},
		CreateUser: func(ctx context.Context, u conformance.User) (string, error) {
			meta := map[string]any{}
			if len(u.Roles) > 0 {
				meta["roles"] = u.Roles
			}
			if len(u.Permissions) > 0 {
				meta["permissions"] = u.Permissions
			}
			b, _ := json.Marshal(meta)
			pub := json.RawMessage(b)
			cu, err := users.Create(ctx, &user.CreateParams{
				EmailAddresses: &[]string{u.Email}, Password: clerksdk.String(u.Password),
				PublicMetadata: &pub, SkipPasswordChecks: clerksdk.Bool(true),
			})
			if err != nil {
				return "", fmt.Errorf("create user: %w", err)
			}
			mu.Lock()
			createdUsers = append(createdUsers, cu.ID)
			mu.Unlock()
			if u.OrgID != "" {
				slug := strings.ToLower(strings.ReplaceAll(u.OrgID, "_", "-"))
				o, err := orgs.Create(ctx, &organization.CreateParams{Name: clerksdk.String(u.OrgID), Slug: clerksdk.String(slug)})
				if err != nil {
					return "", fmt.Errorf("create organization: %w", err)
				}
				mu.Lock()
				createdOrgs = append(createdOrgs, o.ID)
				mu.Unlock()
				if _, err := members.Create(ctx, &organizationmembership.CreateParams{
					OrganizationID: o.ID, UserID: clerksdk.String(cu.ID), Role: clerksdk.String(RoleMember),
				}); err != nil {
					return "", fmt.Errorf("create membership: %w", err)
				}
				mu.Lock()
				orgOf[cu.ID] = o.ID
				mu.Unlock()
			}
			return cu.ID, nil
		},
		SignIn: func(ctx context.Context, u conformance.User) (*authport.Tokens, error) {
			list, err := users.List(ctx, &user.ListParams{EmailAddresses: []string{u.Email}})
			if err != nil {
				return nil, fmt.Errorf("list users: %w", err)
			}
			if len(list.Users) != 1 {
				return nil, errors.New("no single user with that email address")
			}
			id := list.Users[0].ID
			if _, err := users.VerifyPassword(ctx, &user.VerifyPasswordParams{UserID: id, Password: u.Password}); err != nil {
				return nil, fmt.Errorf("verify password: %w", err)
			}
			mu.Lock()
			orgID := orgOf[id]
			mu.Unlock()
			req := clerksdk.NewAPIRequest(http.MethodPost, "/sessions")
			req.SetParams(&createSessionParams{UserID: id, ActiveOrganizationID: orgID})
			ss := &clerksdk.Session{}
			if err := backend.Call(ctx, req, ss); err != nil {
				if strings.HasPrefix(c.SecretKey, "sk_live_") {
					return nil, fmt.Errorf("create session: Clerk offers POST /v1/sessions on development instances only (use an sk_test_ key): %w", err)
				}
				return nil, fmt.Errorf("create session: %w", err)
			}
			tok, err := sessions.CreateToken(ctx, &session.CreateTokenParams{ID: ss.ID})
			if err != nil {
				return nil, fmt.Errorf("create session token: %w", err)
			}
			return &authport.Tokens{AccessToken: tok.JWT, SessionID: ss.ID, UserID: id}, nil
		},
		RevokeSession: func(ctx context.Context, s *authport.Session) error {
			_, err := sessions.Revoke(ctx, &session.RevokeParams{ID: s.SessionID})
			return err
		},
	}
}

// createSessionParams is POST /v1/sessions' body including
// active_organization_id, which the Backend API accepts but the SDK's
// session.CreateParams does not carry; the request still goes through the
// SDK's Backend.
type createSessionParams struct {
	clerksdk.APIParams
	UserID               string `json:"user_id"`
	ActiveOrganizationID string `json:"active_organization_id,omitempty"`
}

// Harness returns a conformance harness for this emulator, with the
// attack catalogue's forger, key-fetch counting and key-endpoint faults.
// It installs HarnessSessionClaims when the instance has no session-token
// customization, and builds adapters from Config with RolesClaim
// "metadata.roles" and PermissionsClaim "metadata.permissions".
func (s *Server) Harness(tb testing.TB) conformance.Harness {
	tb.Helper()
	if s.SessionClaims() == nil {
		s.SetSessionClaims(HarnessSessionClaims)
	}
	newAuth := func() (authport.Authenticator, error) {
		cfg := s.Config()
		cfg.RolesClaim, cfg.PermissionsClaim = "metadata.roles", "metadata.permissions"
		return clerk.New(context.Background(), cfg)
	}
	a, err := newAuth()
	if err != nil {
		tb.Fatalf("clerktest: adapter: %v", err)
	}
	azp := ""
	if !s.opts.NoAuthorizedParty {
		azp = s.opts.AuthorizedParty
	}
	h := NewHarness(tb, HarnessConfig{
		Authenticator:    a,
		NewAuthenticator: newAuth,
		SecretKey:        s.SecretKey,
		APIURL:           s.APIURL,
		Features:         conformance.Features{Roles: true, Permissions: true, Org: true, EmailInToken: true},
		KeyFetches:       s.KeyFetches,
		SetKeysDown:      s.SetKeysDown,
		Forger: &conformance.Forger{
			Issuer: s.Issuer, AuthorizedParty: azp, Alg: "RS256", KID: s.KID(), PublicKey: s.PublicKey(),
			Header: func() map[string]any { return map[string]any{"alg": "RS256", "kid": s.KID(), "typ": "JWT"} },
			Claims: func(sub string) map[string]any {
				now := time.Now()
				c := map[string]any{
					"exp": now.Add(s.opts.TokenTTL).Unix(), "fva": []any{0, -1}, "iat": now.Unix(), "iss": s.Issuer,
					"jti": emulator.RandomHex(10), "nbf": now.Unix() - 5, "sid": clerkID("sess_")(), "sub": sub, "v": 2,
				}
				if azp != "" {
					c["azp"] = azp
				}
				return c
			},
			SignRaw: s.SignRaw,
		},
	})
	h.SetRateLimited, h.RetryAfter = s.SetRateLimited, RateLimitWindow
	return h
}
