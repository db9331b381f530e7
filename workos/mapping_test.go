package workos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/workos/workos-go/v4/pkg/workos_errors"

	"github.com/authport/authport"
	"github.com/authport/authport/internal/jwtcore"
)

func newTestAuth(t *testing.T) *Authenticator {
	t.Helper()
	a, err := New(context.Background(), Config{APIKey: testKey, ClientID: testClient})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func claimsOf(t *testing.T, raw string) *jwtcore.Claims {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1709193557, 0)
	return &jwtcore.Claims{Raw: m, Issuer: "https://api.workos.com/", Subject: "user_01", JTI: "01J", IssuedAt: now, ExpiresAt: now.Add(5 * time.Minute)}
}

func TestToSession(t *testing.T) {
	a := newTestAuth(t)
	tests := []struct {
		name    string
		claims  string
		want    func(t *testing.T, s *authport.Session)
		wantErr string
	}{
		{
			name:   "documented example",
			claims: `{"sid":"session_01","org_id":"org_01","role":"member","roles":["member"],"permissions":["posts:read","posts:write"],"entitlements":["audit-logs"],"feature_flags":["beta"],"act":{"sub":"admin@foocorp.com"}}`,
			want: func(t *testing.T, s *authport.Session) {
				if s.UserID != "user_01" || s.SessionID != "session_01" || s.OrgID != "org_01" || s.TokenID != "01J" || s.Provider != "workos" {
					t.Fatalf("%+v", s)
				}
				if !slices.Equal(s.Roles, []string{"member"}) || !slices.Equal(s.Permissions, []string{"posts:read", "posts:write"}) {
					t.Fatalf("roles %v perms %v", s.Roles, s.Permissions)
				}
				if !slices.Equal(s.AuthMethods, []string{AuthMethodImpersonation}) {
					t.Fatalf("auth methods %v", s.AuthMethods)
				}
				var n *AccessTokenClaims
				if !s.As(&n) || n.Actor == nil || n.Actor.Subject != "admin@foocorp.com" || !slices.Equal(n.Entitlements, []string{"audit-logs"}) || !slices.Equal(n.FeatureFlags, []string{"beta"}) {
					t.Fatalf("native %+v", n)
				}
			},
		},
		{
			name:   "role only",
			claims: `{"sid":"session_01","org_id":"org_01","role":"admin"}`,
			want: func(t *testing.T, s *authport.Session) {
				if !slices.Equal(s.Roles, []string{"admin"}) {
					t.Fatalf("roles %v", s.Roles)
				}
			},
		},
		{
			name:   "role not in roles is added first",
			claims: `{"sid":"session_01","role":"owner","roles":["billing"]}`,
			want: func(t *testing.T, s *authport.Session) {
				if !slices.Equal(s.Roles, []string{"owner", "billing"}) {
					t.Fatalf("roles %v", s.Roles)
				}
			},
		},
		{
			name:   "no organisation",
			claims: `{"sid":"session_01"}`,
			want: func(t *testing.T, s *authport.Session) {
				if s.OrgID != "" || s.Roles != nil || s.Permissions != nil || s.AuthMethods != nil {
					t.Fatalf("%+v", s)
				}
			},
		},
		{
			name:   "nulls are absent",
			claims: `{"sid":"session_01","org_id":null,"roles":null,"act":null}`,
			want:   func(t *testing.T, s *authport.Session) {},
		},
		{
			name:   "matching client_id",
			claims: `{"sid":"session_01","client_id":"` + testClient + `"}`,
			want:   func(t *testing.T, s *authport.Session) {},
		},
		{name: "no sid", claims: `{}`, wantErr: "session id"},
		{name: "empty sid", claims: `{"sid":""}`, wantErr: "session id"},
		{name: "sid number", claims: `{"sid":5}`, wantErr: "sid"},
		{name: "org_id object", claims: `{"sid":"s","org_id":{}}`, wantErr: "org_id"},
		{name: "role array", claims: `{"sid":"s","role":["a"]}`, wantErr: "role"},
		{name: "roles string", claims: `{"sid":"s","roles":"admin"}`, wantErr: "roles"},
		{name: "permissions with number", claims: `{"sid":"s","permissions":["a",1]}`, wantErr: "permissions"},
		{name: "permissions with empty", claims: `{"sid":"s","permissions":["a",""]}`, wantErr: "permissions"},
		{name: "entitlements object", claims: `{"sid":"s","entitlements":{"a":1}}`, wantErr: "entitlements"},
		{name: "feature_flags bool", claims: `{"sid":"s","feature_flags":true}`, wantErr: "feature_flags"},
		{name: "act string", claims: `{"sid":"s","act":"admin"}`, wantErr: "act"},
		{name: "act without sub", claims: `{"sid":"s","act":{}}`, wantErr: "act"},
		{name: "other client", claims: `{"sid":"s","client_id":"client_other"}`, wantErr: "another WorkOS client"},
		{name: "client_id number", claims: `{"sid":"s","client_id":7}`, wantErr: "client_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := a.toSession(claimsOf(t, tt.claims))
			if tt.wantErr != "" {
				if !errors.Is(err, authport.ErrInvalidCredential) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want invalid credential mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Claims == nil || s.ExpiresAt.IsZero() || s.IssuedAt.IsZero() || s.Issuer == "" {
				t.Fatalf("times, issuer or claims missing: %+v", s)
			}
			tt.want(t, s)
		})
	}
}

func TestMapError(t *testing.T) {
	const pending = "YQyCkYfuVw2mI3tzSrk2C1Y7S"
	user := workos_errors.User{ID: "user_01", Email: "a@example.com"}
	he := func(status int, code string) workos_errors.HTTPError {
		return workos_errors.HTTPError{Code: status, Status: fmt.Sprint(status), ErrorCode: code, Message: "secret " + pending, PendingAuthenticationToken: pending}
	}
	tests := []struct {
		name   string
		op     string
		err    error
		kind   *authport.Kind
		action authport.Action
		orgs   []string
	}{
		{"email verification", authport.OpSignIn, &workos_errors.EmailVerificationRequiredError{HTTPError: he(403, "email_verification_required"), PendingAuthenticationToken: pending}, authport.ErrActionRequired, authport.ActionVerifyEmail, nil},
		{"mfa enrollment", authport.OpSignIn, &workos_errors.MFAEnrollmentError{HTTPError: he(403, "mfa_enrollment"), User: user, PendingAuthenticationToken: pending}, authport.ErrActionRequired, authport.ActionMFA, nil},
		{"mfa challenge", authport.OpSignIn, &workos_errors.MFAChallengeError{HTTPError: he(403, "mfa_challenge"), User: user, PendingAuthenticationToken: pending}, authport.ErrActionRequired, authport.ActionMFA, nil},
		{"org selection", authport.OpSignIn, &workos_errors.OrganizationSelectionRequiredError{HTTPError: he(403, "organization_selection_required"), User: user, PendingAuthenticationToken: pending,
			Organizations: []workos_errors.PendingAuthenticationOrganizationInfo{{ID: "org_1", Name: "A"}, {ID: "org_2", Name: "B"}}}, authport.ErrActionRequired, authport.ActionSelectOrganization, []string{"org_1", "org_2"}},
		{"sso required", authport.OpSignIn, &workos_errors.SSORequiredError{HTTPError: he(403, "sso_required"), PendingAuthenticationToken: pending}, authport.ErrActionRequired, authport.ActionSSO, nil},
		{"org auth methods", authport.OpSignIn, &workos_errors.OrganizationAuthenticationMethodsRequiredError{HTTPError: he(403, "organization_authentication_methods_required"), PendingAuthenticationToken: pending}, authport.ErrActionRequired, ActionOrgAuthMethods, nil},
		{"untyped mfa (no user in body)", authport.OpSignIn, he(403, "mfa_challenge"), authport.ErrActionRequired, authport.ActionMFA, nil},
		{"invalid credentials", authport.OpSignIn, he(400, "invalid_credentials"), authport.ErrInvalidCredential, "", nil},
		{"invalid grant", authport.OpRefresh, he(400, "invalid_grant"), authport.ErrInvalidCredential, "", nil},
		{"invalid client", authport.OpSignIn, he(400, "invalid_client"), authport.ErrMisconfigured, "", nil},
		{"bad api key", authport.OpRevoke, he(401, "unauthorized"), authport.ErrMisconfigured, "", nil},
		{"invalid request", authport.OpSignIn, he(400, "invalid_request"), authport.ErrInvalidInput, "", nil},
		{"unprocessable", authport.OpSignUp, he(422, "password_strength_error"), authport.ErrInvalidInput, "", nil},
		{"user exists", authport.OpSignUp, he(409, "user_already_exists"), authport.ErrInvalidCredential, "", nil},
		{"rate limited", authport.OpSignIn, he(429, ""), authport.ErrRateLimited, "", nil},
		{"server error", authport.OpSignIn, he(500, "server_error"), authport.ErrProviderUnavailable, "", nil},
		{"unknown 400 on login", authport.OpSignIn, he(400, "weird"), authport.ErrInvalidCredential, "", nil},
		{"unknown 403 on revoke", authport.OpRevoke, he(403, ""), authport.ErrForbidden, "", nil},
		{"network", authport.OpSignIn, &url.Error{Op: "Post", URL: "https://api.workos.com/user_management/authenticate", Err: &net.OpError{Op: "dial", Err: errors.New("connection refused")}}, authport.ErrProviderUnavailable, "", nil},
		{"deadline", authport.OpSignIn, context.DeadlineExceeded, authport.ErrProviderUnavailable, "", nil},
		{"bad JSON", authport.OpSignIn, &json.SyntaxError{}, authport.ErrProviderUnavailable, "", nil},
		{"unknown", authport.OpSignIn, errors.New("odd"), authport.ErrProviderUnavailable, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := mapError(context.Background(), tt.op, tt.err)
			if k := authport.KindOf(err); k != tt.kind {
				t.Fatalf("kind %v, want %v (%v)", k, tt.kind, err)
			}
			if strings.Contains(err.Error(), pending) || strings.Contains(err.Error(), "secret") {
				t.Fatalf("error text leaks the SDK message or pending token: %q", err)
			}
			if tt.action != "" {
				var ae *authport.ActionError
				if !errors.As(err, &ae) {
					t.Fatalf("%T is not an ActionError", err)
				}
				if ae.Action != tt.action || ae.PendingToken != pending || ae.Provider != "workos" || !slices.Equal(ae.Organizations, tt.orgs) {
					t.Fatalf("action error %+v", ae)
				}
			}
		})
	}
	if mapError(context.Background(), authport.OpSignIn, nil) != nil {
		t.Fatal("nil error mapped to an error")
	}
}
