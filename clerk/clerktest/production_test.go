package clerktest_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	clerksdk "github.com/clerk/clerk-sdk-go/v2"
	"github.com/clerk/clerk-sdk-go/v2/session"
	"github.com/clerk/clerk-sdk-go/v2/user"

	"github.com/authport/authport"
	"github.com/authport/authport/clerk"
	"github.com/authport/authport/clerk/clerktest"
	"github.com/authport/authport/conformance"
)

// TestProductionInstance: a production instance has live keys and its
// own Frontend API domain, and refuses POST /v1/sessions (a development-
// instance endpoint); tokens of its sessions still verify.
func TestProductionInstance(t *testing.T) {
	ctx := context.Background()
	srv := clerktest.New(t, clerktest.Options{Production: true})
	if !strings.HasPrefix(srv.SecretKey, "sk_live_") || !strings.HasPrefix(srv.PublishableKey, "pk_live_") {
		t.Fatalf("keys %q %q", srv.SecretKey[:8], srv.PublishableKey[:8])
	}
	if !strings.HasPrefix(srv.Issuer, "https://clerk.") || strings.Contains(srv.Issuer, "clerk.accounts.dev") {
		t.Fatalf("issuer %q is not a production Frontend API", srv.Issuer)
	}
	cc := config(srv, srv.SecretKey)
	u, err := user.NewClient(cc).Create(ctx, &user.CreateParams{EmailAddresses: &[]string{"prod@example.com"}, Password: clerksdk.String("pw-Prod-123456")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = session.NewClient(cc).Create(ctx, &session.CreateParams{UserID: u.ID})
	apiErr(t, err, http.StatusBadRequest, "bad_request")

	// The live harness says why, instead of a bare 400.
	h := clerktest.NewHarness(t, clerktest.HarnessConfig{SecretKey: srv.SecretKey, APIURL: srv.APIURL})
	_, err = h.SignIn(ctx, conformance.User{ID: u.ID, Email: "prod@example.com", Password: "pw-Prod-123456"})
	if err == nil || !strings.Contains(err.Error(), "development instances only") {
		t.Fatalf("harness sign-in on a production instance: %v", err)
	}

	// Sessions made as the frontend would still verify.
	sid, err := srv.CreateSession(u.ID, clerktest.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := srv.SessionToken(sid)
	if err != nil {
		t.Fatal(err)
	}
	a, err := clerk.New(ctx, srv.Config())
	if err != nil {
		t.Fatal(err)
	}
	sess, err := a.Verify(ctx, authport.Credential{Token: tok, Source: authport.SourceCookie})
	if err != nil || sess.UserID != u.ID {
		t.Fatalf("verify on a production instance: %v %+v", err, sess)
	}
}
