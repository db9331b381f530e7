package workostest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/workos/workos-go/v4/pkg/organizations"
	"github.com/workos/workos-go/v4/pkg/usermanagement"

	"github.com/authport/authport"
	"github.com/authport/authport/conformance"
	"github.com/authport/authport/internal/emulator"
	"github.com/authport/authport/workos"
)

// Harness returns a conformance harness for the workos adapter against
// this emulator. Users, organisations and memberships are created, users
// signed in and sessions revoked through the official SDK and WorkOS's
// public API, as LiveHarness does against the real service; the emulator's
// own Go API is used only for what a WorkOS dashboard configures
// (the permissions of a role, the environment's email verification
// requirement) and for what only an emulator can offer: the signing key
// (Forger), key-fetch counts, key-endpoint outages, and for the StepUp
// scenarios an unverified email address and the inbox that receives its
// verification code.
//
// StepUp covers email verification (Require turns on the environment's
// email verification requirement, which leaves the harness's users, all
// verified, untouched, and marks the user's address unverified; Input
// reads the emailed code with EmailVerificationCodeFor) and organisation
// selection (Require makes the user a member of two new organisations
// through the API; Input picks the second) and MFA (Require enrols the user
// in a TOTP factor; Input reads the code their authenticator app shows).
func (e *Emulator) Harness(t testing.TB) conformance.Harness {
	t.Helper()
	newAuth := func() (authport.Authenticator, error) { return workos.New(context.Background(), e.Config()) }
	a, err := newAuth()
	if err != nil {
		t.Fatalf("workostest: adapter: %v", err)
	}
	h := sdkHarness(t, sdkTarget{
		name: "workos", clientID: e.ClientID, um: e.Client(), orgs: e.Organizations(),
		defineRole: e.DefineRole,
	})
	h.Authenticator = a
	h.NewAuthenticator = newAuth
	h.KeyFetches = e.KeyFetches
	h.SetKeysDown = e.SetKeysDown
	h.SetRateLimited, h.RetryAfter = e.SetRateLimited, RateLimitWindow
	h.Features = conformance.Features{Roles: true, Permissions: true, Org: true}
	var aud []string
	if e.Audience != "" {
		aud = []string{e.Audience}
		h.Name = "workos-aud"
	}
	h.Forger = &conformance.Forger{
		Issuer: e.Issuer, Audience: aud, Alg: "RS256", KID: e.KID(),
		PublicKey: e.srv.Keys.PublicKey(),
		Header: func() map[string]any {
			return map[string]any{"alg": "RS256", "kid": e.KID(), "typ": "JWT"}
		},
		Claims: func(sub string) map[string]any {
			now := e.Clock.Now()
			c := map[string]any{
				"iss": e.Issuer, "sub": sub, "sid": "session_" + e.ulid(), "jti": e.ulid(),
				"client_id": e.ClientID, "iat": now.Unix(), "exp": now.Add(e.TokenTTL).Unix(),
			}
			if e.Audience != "" {
				c["aud"] = e.Audience
			}
			return c
		},
		SignRaw: func(h, p []byte) (string, error) { return e.srv.Keys.Current().SignRaw(h, p) },
	}
	orgStep := h.StepUp
	h.StepUp = &conformance.StepUp{
		Actions: append([]authport.Action{authport.ActionVerifyEmail, authport.ActionMFA}, orgStep.Actions...),
		Require: func(ctx context.Context, u conformance.User, a authport.Action) error {
			switch a {
			case authport.ActionVerifyEmail:
				return e.requireEmailVerification(u.ID)
			case authport.ActionMFA:
				return e.EnrollMFA(u.ID)
			}
			return orgStep.Require(ctx, u, a)
		},
		Input: func(ctx context.Context, u conformance.User, ae *authport.ActionError) (authport.ActionInput, error) {
			if ae.Action == authport.ActionMFA {
				code := e.TOTPCode(u.Email)
				if code == "" {
					return authport.ActionInput{}, fmt.Errorf("workostest: %s has no authenticator", u.Email)
				}
				return authport.ActionInput{Code: code}, nil
			}
			if ae.Action != authport.ActionVerifyEmail {
				return orgStep.Input(ctx, u, ae)
			}
			code := e.EmailVerificationCodeFor(u.Email)
			if code == "" {
				return authport.ActionInput{}, fmt.Errorf("workostest: no verification code was emailed to %s", u.Email)
			}
			return authport.ActionInput{Code: code}, nil
		},
	}
	return h
}

// requireEmailVerification turns on the environment's email verification
// requirement (a dashboard setting) and marks userID's address
// unverified, so their next password sign-in answers
// email_verification_required with a code sent to their inbox.
func (e *Emulator) requireEmailVerification(userID string) error {
	if _, err := e.srv.Store.UpdateUser(userID, func(u *emulator.User) { u.EmailVerified = false }); err != nil {
		return fmt.Errorf("workostest: %w", err)
	}
	e.mu.Lock()
	e.opts.RequireEmailVerification = true
	e.mu.Unlock()
	return nil
}

// LiveHarness returns a conformance harness for the workos adapter against
// the real WorkOS environment cfg names (APIKey, ClientID, BaseURL). It
// creates users (with verified email addresses), organisations and
// memberships with role "admin" through the SDK, and deletes them when the
// test ends. Permissions need a dashboard role that grants them, so that
// scenario is not run; nor are the forging, key-counting and outage
// scenarios, which need an emulator. Its StepUp covers organisation
// selection (a user made a member of two organisations chooses one);
// email verification would need the user's inbox, so it is not listed.
func LiveHarness(t testing.TB, cfg workos.Config) (conformance.Harness, error) {
	a, err := workos.New(context.Background(), cfg)
	if err != nil {
		return conformance.Harness{}, err
	}
	um := a.Client()
	orgs := &organizations.Client{APIKey: cfg.APIKey, Endpoint: a.Config().BaseURL, HTTPClient: cfg.HTTPClient}
	var mu sync.Mutex
	var users, createdOrgs []string
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		mu.Lock()
		defer mu.Unlock()
		for _, id := range users {
			_ = um.DeleteUser(ctx, usermanagement.DeleteUserOpts{User: id})
		}
		for _, id := range createdOrgs {
			_ = orgs.DeleteOrganization(ctx, organizations.DeleteOrganizationOpts{Organization: id})
		}
	})
	h := sdkHarness(t, sdkTarget{
		name: "workos-live", clientID: cfg.ClientID, um: um, orgs: orgs,
		created: func(kind, id string) {
			mu.Lock()
			defer mu.Unlock()
			if kind == "user" {
				users = append(users, id)
			} else {
				createdOrgs = append(createdOrgs, id)
			}
		},
	})
	h.Authenticator = a
	h.NewAuthenticator = func() (authport.Authenticator, error) { return workos.New(context.Background(), cfg) }
	h.Features = conformance.Features{Roles: true, Org: true}
	return h, nil
}

type sdkTarget struct {
	name       string
	clientID   string
	um         *usermanagement.Client
	orgs       *organizations.Client
	defineRole func(slug string, permissions ...string) // emulator only
	created    func(kind, id string)                    // live only: for cleanup
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// sdkHarness builds the parts of a harness that only use WorkOS's public
// API through workos-go.
func sdkHarness(t testing.TB, tg sdkTarget) conformance.Harness {
	note := func(kind, id string) {
		if tg.created != nil {
			tg.created(kind, id)
		}
	}
	var choices sync.Map // user id → the organisation the user picks
	return conformance.Harness{
		Name: tg.name,
		CreateUser: func(ctx context.Context, u conformance.User) (string, error) {
			nu, err := tg.um.CreateUser(ctx, usermanagement.CreateUserOpts{
				Email: u.Email, Password: u.Password, EmailVerified: true,
			})
			if err != nil {
				return "", err
			}
			note("user", nu.ID)
			if len(u.Roles) == 0 && len(u.Permissions) == 0 && u.OrgID == "" {
				return nu.ID, nil
			}
			role := ""
			if len(u.Roles) > 0 {
				role = u.Roles[0]
			}
			if len(u.Permissions) > 0 {
				if tg.defineRole == nil {
					return "", errors.New("workostest: permissions need a role defined in the WorkOS dashboard")
				}
				if role == "" {
					role = "perm-" + randHex(4)
				}
				tg.defineRole(role, u.Permissions...)
			}
			name := u.OrgID
			if name == "" {
				name = "authport-conformance-" + randHex(4)
			}
			org, err := tg.orgs.CreateOrganization(ctx, organizations.CreateOrganizationOpts{Name: name})
			if err != nil {
				return "", err
			}
			note("organization", org.ID)
			if _, err := tg.um.CreateOrganizationMembership(ctx, usermanagement.CreateOrganizationMembershipOpts{
				UserID: nu.ID, OrganizationID: org.ID, RoleSlug: role,
			}); err != nil {
				return "", err
			}
			return nu.ID, nil
		},
		SignIn: func(ctx context.Context, u conformance.User) (*authport.Tokens, error) {
			res, err := tg.um.AuthenticateWithPassword(ctx, usermanagement.AuthenticateWithPasswordOpts{
				ClientID: tg.clientID, Email: u.Email, Password: u.Password,
			})
			if err != nil {
				return nil, err
			}
			return &authport.Tokens{AccessToken: res.AccessToken, RefreshToken: res.RefreshToken, UserID: res.User.ID}, nil
		},
		RevokeSession: func(ctx context.Context, s *authport.Session) error {
			return tg.um.RevokeSession(ctx, usermanagement.RevokeSessionOpts{SessionID: s.SessionID})
		},
		StepUp: &conformance.StepUp{
			Actions: []authport.Action{authport.ActionSelectOrganization},
			// A member of two organisations must choose one at sign-in.
			Require: func(ctx context.Context, u conformance.User, a authport.Action) error {
				if a != authport.ActionSelectOrganization {
					return fmt.Errorf("workostest: cannot require %s", a)
				}
				var last string
				for range 2 {
					org, err := tg.orgs.CreateOrganization(ctx, organizations.CreateOrganizationOpts{Name: "authport-conformance-step-" + randHex(4)})
					if err != nil {
						return err
					}
					note("organization", org.ID)
					if _, err := tg.um.CreateOrganizationMembership(ctx, usermanagement.CreateOrganizationMembershipOpts{
						UserID: u.ID, OrganizationID: org.ID,
					}); err != nil {
						return err
					}
					last = org.ID
				}
				choices.Store(u.ID, last)
				return nil
			},
			// The user picks the second organisation.
			Input: func(ctx context.Context, u conformance.User, ae *authport.ActionError) (authport.ActionInput, error) {
				org, ok := choices.Load(u.ID)
				if ae.Action != authport.ActionSelectOrganization || !ok {
					return authport.ActionInput{}, fmt.Errorf("workostest: no %s step was required of %s", ae.Action, u.Email)
				}
				return authport.ActionInput{Organization: org.(string)}, nil
			},
		},
	}
}
