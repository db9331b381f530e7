package auth0_test

import (
	"context"
	"errors"
	"testing"

	"github.com/authport/authport"
	"github.com/authport/authport/auth0/auth0test"
	"github.com/authport/authport/conformance"
)

// TestConformance runs authport's conformance suite against the emulated
// tenant. The only scenario reported N/A is strict verification, which
// Auth0 cannot offer.
func TestConformance(t *testing.T) {
	conformance.Run(t, auth0test.New(t).Harness(t))
}

// TestConformanceRFC9068 runs the suite against an API using the RFC 9068
// token profile (typ at+jwt, client_id instead of azp, jti), with
// organisation names in tokens. The azp attack (J23) does not apply to
// tokens that carry no azp.
func TestConformanceRFC9068(t *testing.T) {
	h := auth0test.New(t, auth0test.Options{Profile: auth0test.ProfileRFC9068, OrgNames: true, Rotation: true}).Harness(t)
	h.Name = "auth0-rfc9068"
	conformance.Run(t, h)
}

// TestRemoteHarness proves, offline, the harness the live test uses: it
// drives the emulator only through the Management and Authentication APIs.
func TestRemoteHarness(t *testing.T) {
	emu := auth0test.New(t)
	h := auth0test.RemoteHarness(t, auth0test.RemoteOptions{Config: emu.Config()})
	ctx := context.Background()
	u := conformance.User{Email: auth0test.RandomEmail(), Password: "Pw-0123456789"}
	id, err := h.CreateUser(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := h.SignIn(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := h.Authenticator.Verify(ctx, authport.Credential{Token: tok.AccessToken, Source: authport.SourceHeader})
	if err != nil || sess.UserID != id {
		t.Fatalf("Verify: %+v, %v (want user %s)", sess, err, id)
	}
	if err := h.RevokeSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Authenticator.(authport.Refresher).Refresh(ctx, tok.RefreshToken); !errors.Is(err, authport.ErrInvalidCredential) {
		t.Fatalf("refresh after the Management API revoked the user's tokens: %v", err)
	}
	// Auth0 access tokens outlive revocation: the adapter says so.
	if _, err := h.Authenticator.Verify(ctx, authport.Credential{Token: tok.AccessToken, Source: authport.SourceHeader}); err != nil {
		t.Fatalf("the access token should verify until it expires: %v", err)
	}
}
