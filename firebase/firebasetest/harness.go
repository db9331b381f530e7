package firebasetest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"firebase.google.com/go/v4/auth"

	"github.com/authport/authport"
	"github.com/authport/authport/conformance"
	"github.com/authport/authport/firebase"
)

// Known provider gaps, for Harness.NotApplicable.
const (
	// GapRefreshRotation: Firebase does not rotate refresh tokens.
	GapRefreshRotation = "Firebase refresh tokens are long-lived and not rotated: the Secure Token API keeps accepting the same refresh token until the user's sessions are revoked, a case Revocation/*/RefreshAfterRevoke covers"
	// GapEmulatorRefreshAfterRevoke: the real emulator's refresh grant
	// ignores validSince.
	GapEmulatorRefreshAfterRevoke = "the Firebase Auth Emulator's refresh grant ignores validSince (firebase-tools 15.34.2, lib/emulator/auth/operations.js grantToken) and keeps refreshing after RevokeRefreshTokens; production Firebase answers TOKEN_EXPIRED, which the signed-path run (firebasetest.Emulator) checks"
)

// GapEmulatorUnsigned: the real emulator's tokens carry no signature.
const GapEmulatorUnsigned = "the Firebase Auth Emulator's tokens are unsigned (alg none, empty signature), so a tampered payload is as valid as the original; that is why unsigned tokens are refused outside emulator mode. Tampering is tested on the signed run (firebasetest.Emulator)"

// Harness builds the conformance harness for adapter a against the
// Firebase project a is configured for: the real Firebase Auth Emulator
// (emulator mode), a live project, or an Emulator (see
// Emulator.Harness, which adds the attack catalogue). It drives Firebase
// only through its public APIs, never through the adapter under test:
//
//   - CreateUser: the Admin SDK's CreateUser, then SetCustomUserClaims with
//     "roles", "permissions" and "org_id" when the user has them;
//   - SignIn: accounts:signInWithPassword over REST, as Firebase's client
//     SDKs do; with a.Config().TokenLifetime the ID token is turned into
//     a session cookie with the Admin SDK, as a server's session-login
//     endpoint does;
//   - RevokeSession: RevokeRefreshTokens, after waiting for the second
//     after the session's issue time (Firebase's validSince has one-second
//     granularity and spares a token issued in the same second).
//
// Every user created is deleted when t ends. newAuth may be nil.
func Harness(t testing.TB, a *firebase.Authenticator, newAuth func() (authport.Authenticator, error)) conformance.Harness {
	cfg := a.Config()
	client := a.AuthClient()
	var mu sync.Mutex
	var created []string
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		if len(created) == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for len(created) > 0 {
			n := min(len(created), 1000)
			if _, err := client.DeleteUsers(ctx, created[:n]); err != nil {
				t.Logf("firebasetest: deleting test users: %v", err)
				return
			}
			created = created[n:]
		}
	})
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	name := "firebase"
	if a.EmulatorMode() {
		name += "-emulator"
	}
	if cfg.TokenLifetime > 0 {
		name += "-cookie"
	}
	h := conformance.Harness{
		Name:             name,
		Authenticator:    a,
		NewAuthenticator: newAuth,
		CreateUser: func(ctx context.Context, u conformance.User) (string, error) {
			rec, err := client.CreateUser(ctx, (&auth.UserToCreate{}).Email(u.Email).Password(u.Password).EmailVerified(true))
			if err != nil {
				return "", fmt.Errorf("firebasetest: CreateUser: %w", err)
			}
			mu.Lock()
			created = append(created, rec.UID)
			mu.Unlock()
			claims := map[string]any{}
			if len(u.Roles) > 0 {
				claims["roles"] = u.Roles
			}
			if len(u.Permissions) > 0 {
				claims["permissions"] = u.Permissions
			}
			if u.OrgID != "" {
				claims["org_id"] = u.OrgID
			}
			if len(claims) > 0 {
				if err := client.SetCustomUserClaims(ctx, rec.UID, claims); err != nil {
					return "", fmt.Errorf("firebasetest: SetCustomUserClaims: %w", err)
				}
			}
			return rec.UID, nil
		},
		SignIn: func(ctx context.Context, u conformance.User) (*authport.Tokens, error) {
			tok, err := SignInREST(ctx, hc, cfg.IdentityToolkitURL, cfg.APIKey, u.Email, u.Password)
			if err != nil || cfg.TokenLifetime <= 0 {
				return tok, err
			}
			cookie, err := client.SessionCookie(ctx, tok.IDToken, cfg.TokenLifetime)
			if err != nil {
				return nil, fmt.Errorf("firebasetest: SessionCookie: %w", err)
			}
			tok.AccessToken, tok.ExpiresAt = cookie, time.Now().Add(cfg.TokenLifetime)
			return tok, nil
		},
		RevokeSession: func(ctx context.Context, s *authport.Session) error {
			if err := WaitNextSecond(ctx, s.IssuedAt); err != nil {
				return err
			}
			return client.RevokeRefreshTokens(ctx, s.UserID)
		},
		Features:      conformance.Features{Roles: true, Permissions: true, Org: true, EmailInToken: true},
		NotApplicable: map[string]string{"Refresh/ReuseRejected": GapRefreshRotation},
	}
	if a.EmulatorMode() {
		h.NotApplicable["RefreshAfterRevoke"] = GapEmulatorRefreshAfterRevoke
		h.NotApplicable["SessionValidation/Tampered"] = GapEmulatorUnsigned
		h.NotApplicable["SessionValidation/OpaqueTampered"] = GapEmulatorUnsigned
	}
	return h
}

// WaitNextSecond waits until the wall clock is past the second of t (at
// most two seconds), so that a revocation stamped now covers a token
// issued at t.
func WaitNextSecond(ctx context.Context, t time.Time) error {
	if t.IsZero() {
		return nil
	}
	wait := time.Until(time.Unix(t.Unix()+1, 0))
	if wait <= 0 {
		return nil
	}
	if wait > 2*time.Second {
		wait = 2 * time.Second
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Harness is the package-level Harness plus what only this emulator can
// offer: the attack catalogue (a Forger holding the ID-token key, or the
// session-cookie key when a is in cookie mode), key-fetch counting and a
// failing key endpoint.
func (e *Emulator) Harness(t testing.TB, a *firebase.Authenticator, newAuth func() (authport.Authenticator, error)) conformance.Harness {
	h := Harness(t, a, newAuth)
	h.Forger = e.Forger(a.Config().TokenLifetime > 0)
	h.KeyFetches = e.KeyFetches
	h.SetKeysDown = e.SetKeysDown
	h.SetRateLimited = e.SetRateLimited // Google names no wait
	return h
}

// AuthEmulator is a running Firebase Auth Emulator (npm firebase-tools).
type AuthEmulator struct {
	// Host is its host:port (FIREBASE_AUTH_EMULATOR_HOST).
	Host string
	// ProjectID is the project it serves (a demo- project needs no
	// credentials).
	ProjectID string
	// APIKey is any non-empty string: the emulator requires ?key= but
	// accepts every value.
	APIKey string
}

// ConnectEmulator returns the emulator at host serving projectID and checks
// that it is ready.
func ConnectEmulator(ctx context.Context, host, projectID string) (*AuthEmulator, error) {
	e := &AuthEmulator{Host: host, ProjectID: projectID, APIKey: "authport-emulator-key"}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+host+"/", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("firebasetest: the Firebase Auth Emulator at %s is not reachable: %w", host, err)
	}
	defer resp.Body.Close()
	var r struct {
		AuthEmulator struct {
			Ready bool `json:"ready"`
		} `json:"authEmulator"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&r); err != nil || !r.AuthEmulator.Ready {
		return nil, fmt.Errorf("firebasetest: %s is not a ready Firebase Auth Emulator", host)
	}
	return e, nil
}

// Config returns an adapter configuration for the emulator. The process
// must have FIREBASE_AUTH_EMULATOR_HOST set to Host (the Admin SDK reads
// only the environment).
func (e *AuthEmulator) Config() firebase.Config {
	return firebase.Config{ProjectID: e.ProjectID, APIKey: e.APIKey, EmulatorHost: e.Host}
}

// Env returns the environment the adapter's FromEnv reads for the emulator.
func (e *AuthEmulator) Env() map[string]string {
	return map[string]string{"AUTH_PROVIDER": firebase.Name, firebase.EnvProjectID: e.ProjectID,
		firebase.EnvAPIKey: e.APIKey, firebase.EnvEmulatorHost: e.Host}
}

// Reset deletes every user of the project
// (DELETE /emulator/v1/projects/{p}/accounts).
func (e *AuthEmulator) Reset(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, "http://"+e.Host+"/emulator/v1/projects/"+e.ProjectID+"/accounts", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("firebasetest: reset answered %d: %s", resp.StatusCode, strings.TrimSpace(string(b)))
	}
	return nil
}

// SignIn signs a user in with accounts:signInWithPassword.
func (e *AuthEmulator) SignIn(ctx context.Context, email, password string) (*authport.Tokens, error) {
	return SignInREST(ctx, nil, "http://"+e.Host+"/identitytoolkit.googleapis.com", e.APIKey, email, password)
}
