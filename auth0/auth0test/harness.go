package auth0test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authport/authport"
	"github.com/authport/authport/auth0"
	"github.com/authport/authport/conformance"
	"github.com/authport/authport/internal/emulator"
)

// Harness returns the conformance harness for this tenant: the auth0
// adapter configured for it (with an azp allow-list and sign-up enabled,
// so no scenario is left out), users created with roles, permissions and
// organisations, sign-in with the password-realm grant (through Universal
// Login when the user belongs to an organisation, since Auth0 issues
// organisation tokens only there), revocation through the Management API,
// the tenant's signing key for the attack catalogue, key-fetch counting and
// key-endpoint outages. For the StepUp scenarios it enrols a user in MFA
// (MetadataMFA, as an enrolment through Guardian would) and plays their
// authenticator app: OTP's current code.
func (s *Server) Harness(tb testing.TB) conformance.Harness {
	tb.Helper()
	cfg := s.Config()
	cfg.AuthorizedParties = []string{s.o.ClientID}
	cfg.AllowSignUp = true
	newAuth := func() (authport.Authenticator, error) { return auth0.New(context.Background(), cfg) }
	a, err := newAuth()
	if err != nil {
		tb.Fatalf("auth0test: adapter: %v", err)
	}
	r := s.rem
	na := map[string]string{}
	if s.o.Profile == ProfileRFC9068 {
		na["Attacks/J23_WrongAuthorizedParty"] = "RFC 9068 tokens carry no azp (the client is in client_id, which the adapter's allow-list checks): removing azp changes nothing"
	}
	if !s.o.Rotation {
		na["Refresh/ReuseRejected"] = "refresh-token rotation is off (Auth0's default for an application): a refresh token stays valid after use until it is revoked"
	}
	return conformance.Harness{
		NotApplicable:    na,
		Name:             auth0.Name,
		Authenticator:    a,
		NewAuthenticator: newAuth,
		CreateUser: func(ctx context.Context, u conformance.User) (string, error) {
			nu, err := s.CreateUser(NewUser{Email: u.Email, Password: u.Password, Roles: u.Roles, Permissions: u.Permissions, OrgID: u.OrgID})
			if err != nil {
				return "", err
			}
			return nu.ID, nil
		},
		SignIn: func(ctx context.Context, u conformance.User) (*authport.Tokens, error) {
			if u.OrgID != "" {
				return s.SignInWithOrganization(ctx, u.Email, u.Password, u.OrgID)
			}
			return s.SignIn(ctx, u.Email, u.Password)
		},
		RevokeSession: func(ctx context.Context, sess *authport.Session) error {
			return r.revokeUser(ctx, sess.UserID)
		},
		Forger:         s.forger(),
		KeyFetches:     s.KeyFetches,
		SetKeysDown:    s.SetKeysDown,
		SetRateLimited: s.SetRateLimited,
		RetryAfter:     RateLimitWindow,
		Features:       conformance.Features{Roles: true, Permissions: true, Org: true},
		StepUp: &conformance.StepUp{
			Actions: []authport.Action{authport.ActionMFA},
			Require: func(ctx context.Context, u conformance.User, a authport.Action) error {
				if a != authport.ActionMFA {
					return fmt.Errorf("auth0test: cannot require %s", a)
				}
				_, err := s.core.Store.UpdateMetadata(u.ID, map[string]any{MetadataMFA: true})
				return err
			},
			Input: func(ctx context.Context, u conformance.User, ae *authport.ActionError) (authport.ActionInput, error) {
				otp, err := s.OTP(u.Email)
				return authport.ActionInput{Code: otp}, err
			},
		},
	}
}

// forger hands the attack catalogue the tenant's signing key.
func (s *Server) forger() *conformance.Forger {
	cur := s.core.Keys.Current()
	return &conformance.Forger{
		Issuer:          s.issuer,
		Audience:        []string{s.o.Audience},
		AuthorizedParty: s.o.ClientID,
		Alg:             cur.Algorithm,
		KID:             cur.ID,
		PublicKey:       cur.Public,
		Header: func() map[string]any {
			h := map[string]any{"alg": "RS256", "typ": "JWT", "kid": s.KID()}
			if s.o.Profile == ProfileRFC9068 {
				h["typ"] = "at+jwt"
			}
			return h
		},
		Claims: func(sub string) map[string]any {
			u, err := s.core.Store.User(sub)
			if err != nil {
				u = &User{ID: sub}
			}
			c := s.accessClaims(u, grant{clientID: s.o.ClientID, audience: s.o.Audience, scope: "openid profile email", gty: "password"})
			now := s.core.Clock.Now()
			c["sub"], c["iat"], c["exp"] = sub, now.Unix(), now.Add(s.o.TokenTTL).Unix()
			if s.o.Profile == ProfileRFC9068 {
				c["jti"] = emulator.NewUUID()
			}
			return c
		},
		SignRaw: func(h, p []byte) (string, error) { return s.core.Keys.Current().SignRaw(h, p) },
	}
}

// RemoteOptions describes a tenant reached only over HTTP: a real Auth0
// tenant for the opt-in live test, or an emulator.
type RemoteOptions struct {
	// Config configures the adapter under test; its Domain, ClientID,
	// ClientSecret, Realm and Insecure also reach the Authentication and
	// Management APIs. The application needs the Password grant, and
	// client_credentials access to the Management API with the scopes
	// create:users, delete:users, delete:refresh_tokens and
	// delete:sessions.
	Config auth0.Config
}

// RemoteHarness returns a conformance harness that drives a tenant only
// through Auth0's public APIs — the Management API to create, revoke and
// delete users, the password-realm grant to sign in — so the same suite
// runs against a real tenant. Users it creates are deleted when the test
// ends. Roles, permissions and organisations need tenant set-up (RBAC, an
// Action), so those scenarios are reported N/A; the attack catalogue needs
// the signing key, which only an emulator has; the StepUp (MFA) scenarios
// need an enrolled authenticator the harness could play, so they are N/A
// too.
func RemoteHarness(tb testing.TB, o RemoteOptions) conformance.Harness {
	tb.Helper()
	cfg := o.Config
	newAuth := func() (authport.Authenticator, error) { return auth0.New(context.Background(), cfg) }
	a, err := newAuth()
	if err != nil {
		tb.Fatalf("auth0test: adapter: %v", err)
	}
	scheme := "https://"
	if cfg.Insecure {
		scheme = "http://"
	}
	realm := cfg.Realm
	if realm == "" {
		realm = auth0.DefaultRealm
	}
	domain := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(cfg.Domain, "https://"), "http://"), "/")
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 20 * time.Second}
	}
	r := &remote{base: scheme + domain, clientID: cfg.ClientID, secret: cfg.ClientSecret, client: client}
	var mu sync.Mutex
	var created []string
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		mu.Lock()
		defer mu.Unlock()
		for _, id := range created {
			if err := r.mgmt(ctx, http.MethodDelete, "/api/v2/users/"+url.PathEscape(id), nil, nil); err != nil {
				tb.Logf("auth0test: deleting test user: %v", err)
			}
		}
	})
	aud := ""
	if len(cfg.Audiences) > 0 {
		aud = cfg.Audiences[0]
	}
	return conformance.Harness{
		Name:             auth0.Name + "-remote",
		Authenticator:    a,
		NewAuthenticator: newAuth,
		CreateUser: func(ctx context.Context, u conformance.User) (string, error) {
			var out struct {
				UserID string `json:"user_id"`
			}
			err := r.mgmt(ctx, http.MethodPost, "/api/v2/users", map[string]any{
				"email": u.Email, "password": u.Password, "connection": realm, "email_verified": true,
			}, &out)
			if err != nil {
				return "", err
			}
			mu.Lock()
			created = append(created, out.UserID)
			mu.Unlock()
			return out.UserID, nil
		},
		SignIn: func(ctx context.Context, u conformance.User) (*authport.Tokens, error) {
			form := url.Values{
				"grant_type": {auth0.PasswordRealmGrant}, "username": {u.Email}, "password": {u.Password},
				"realm": {realm}, "audience": {aud}, "scope": {strings.Join(auth0.DefaultScopes, " ")},
				"client_id": {r.clientID}, "client_secret": {r.secret},
			}
			return postToken(ctx, r.client, r.base+"/oauth/token", form)
		},
		RevokeSession: func(ctx context.Context, sess *authport.Session) error {
			return r.revokeUser(ctx, sess.UserID)
		},
	}
}

// remote calls a tenant's Management API with a client_credentials token.
type remote struct {
	base, clientID, secret string
	client                 *http.Client

	mu    sync.Mutex
	token string
	exp   time.Time
}

func (r *remote) mgmtToken(ctx context.Context) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.token != "" && time.Now().Before(r.exp) {
		return r.token, nil
	}
	t, err := postToken(ctx, r.client, r.base+"/oauth/token", url.Values{
		"grant_type": {"client_credentials"}, "audience": {r.base + "/api/v2/"},
		"client_id": {r.clientID}, "client_secret": {r.secret},
	})
	if err != nil {
		return "", err
	}
	r.token, r.exp = t.AccessToken, time.Now().Add(5*time.Minute)
	return r.token, nil
}

func (r *remote) mgmt(ctx context.Context, method, path string, in, out any) error {
	tok, err := r.mgmtToken(ctx)
	if err != nil {
		return err
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var e struct {
			Message   string `json:"message"`
			ErrorCode string `json:"errorCode"`
		}
		_ = json.Unmarshal(data, &e)
		return fmt.Errorf("auth0test: %s %s answered %d %s: %s", method, strings.SplitN(path, "?", 2)[0], resp.StatusCode, e.ErrorCode, e.Message)
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// revokeUser revokes every refresh token of a user and ends their
// sessions, as an administrator would.
func (r *remote) revokeUser(ctx context.Context, userID string) error {
	p := "/api/v2/users/" + url.PathEscape(userID)
	if err := r.mgmt(ctx, http.MethodDelete, p+"/refresh-tokens", nil, nil); err != nil {
		return err
	}
	return r.mgmt(ctx, http.MethodDelete, p+"/sessions", nil, nil)
}

// RandomEmail returns a unique address for a test user.
func RandomEmail() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "authport-" + hex.EncodeToString(b) + "@example.com"
}
