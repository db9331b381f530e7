package workostest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/authport/authport"
	"github.com/authport/authport/workos"
	"github.com/authport/authport/workos/workostest"
)

// TestSessionLifetime: the environment's maximum session length ends a
// session however often it is refreshed, and the inactivity timeout ends
// one left unrefreshed; both are refusals of the refresh token, which the
// adapter reports as a credential to replace (sign in again).
func TestSessionLifetime(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		opts  workostest.Options
		steps []time.Duration // clock advances, each followed by a refresh that must work
		last  time.Duration   // then this advance, and the refresh fails
	}{
		{"default maximum length", workostest.Options{},
			[]time.Duration{10 * 24 * time.Hour, 10 * 24 * time.Hour, 9*24*time.Hour + 23*time.Hour}, 2 * time.Hour},
		{"custom maximum length", workostest.Options{MaxSessionLength: 8 * time.Hour},
			[]time.Duration{4 * time.Hour, 3 * time.Hour}, 2 * time.Hour},
		{"inactivity timeout", workostest.Options{InactivityTimeout: time.Hour},
			[]time.Duration{50 * time.Minute, 50 * time.Minute, 50 * time.Minute}, 61 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.opts
			o.Clock = workostest.FixedClock(start)
			e := workostest.New(t, o)
			if _, err := e.CreateUser(workostest.NewUser{Email: "life@example.com", Password: "pw-Life-12345"}); err != nil {
				t.Fatal(err)
			}
			a, err := workos.New(ctx, e.Config())
			if err != nil {
				t.Fatal(err)
			}
			tok, err := a.SignInWithPassword(ctx, "life@example.com", "pw-Life-12345")
			if err != nil {
				t.Fatal(err)
			}
			rt := tok.RefreshToken
			for i, d := range tc.steps {
				o.Clock.Advance(d)
				next, err := a.Refresh(ctx, rt)
				if err != nil {
					t.Fatalf("refresh %d after %v: %v", i, d, err)
				}
				rt = next.RefreshToken
			}
			o.Clock.Advance(tc.last)
			_, err = a.Refresh(ctx, rt)
			if !errors.Is(err, authport.ErrInvalidCredential) {
				t.Fatalf("refresh past the limit: %v, want ErrInvalidCredential", err)
			}
		})
	}
	// Negative: no maximum length.
	clock := workostest.FixedClock(start)
	e := workostest.New(t, workostest.Options{MaxSessionLength: -1, Clock: clock})
	if _, err := e.CreateUser(workostest.NewUser{Email: "long@example.com", Password: "pw-Long-12345"}); err != nil {
		t.Fatal(err)
	}
	a, _ := workos.New(ctx, e.Config())
	tok, err := a.SignInWithPassword(ctx, "long@example.com", "pw-Long-12345")
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(400 * 24 * time.Hour)
	if _, err := a.Refresh(ctx, tok.RefreshToken); err != nil {
		t.Fatalf("refresh with no maximum length: %v", err)
	}
}
