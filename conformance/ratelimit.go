package conformance

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/authport/authport"
)

// providerRateLimited: when the provider refuses a call for our rate, the
// adapter says ErrRateLimited (never a credential error, which would sign
// the user out, nor a bare outage), and the HTTP layer answers 429 with
// the provider's Retry-After, whatever call it was.
func (s *suite) providerRateLimited(t *testing.T) {
	if s.h.SetRateLimited == nil {
		na(t, "the harness cannot make the provider refuse calls for their rate")
	}
	a := s.h.Authenticator
	u := s.newUser(t, nil)
	tok := s.signIn(t, u)
	var calls []struct {
		name string
		do   func(ctx context.Context) error
	}
	add := func(name string, do func(ctx context.Context) error) {
		calls = append(calls, struct {
			name string
			do   func(ctx context.Context) error
		}{name, do})
	}
	if ps, ok := a.(authport.PasswordSignIn); ok && authport.Has(a, authport.CapPasswordSignIn) {
		add("sign-in", func(ctx context.Context) error { _, err := ps.SignInWithPassword(ctx, u.Email, u.Password); return err })
	}
	if rf, ok := a.(authport.Refresher); ok && authport.Has(a, authport.CapRefresh) && tok.RefreshToken != "" {
		add("refresh", func(ctx context.Context) error { _, err := rf.Refresh(ctx, tok.RefreshToken); return err })
	}
	if sv, ok := a.(authport.StrictVerifier); ok && authport.Has(a, authport.CapStrictVerify) {
		c := s.h.credential(tok)
		add("strict verification", func(ctx context.Context) error { _, err := sv.VerifyStrict(ctx, c); return err })
	}
	if len(calls) == 0 {
		na(t, "the adapter makes no provider call a client's request can trigger")
	}
	s.h.SetRateLimited(true)
	defer s.h.SetRateLimited(false)
	for _, c := range calls {
		err := c.do(t.Context())
		if err == nil {
			t.Errorf("%s: the provider's rate-limit refusal was taken as success", c.name)
			continue
		}
		if !errors.Is(err, authport.ErrRateLimited) {
			t.Errorf("%s: kind %v (%v), want ErrRateLimited", c.name, authport.KindOf(err), err)
			continue
		}
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/api/thing", nil)
		authport.WriteError(rec, req, err)
		if rec.Code != http.StatusTooManyRequests {
			t.Errorf("%s: HTTP %d, want 429", c.name, rec.Code)
		}
		ra, perr := strconv.Atoi(rec.Header().Get("Retry-After"))
		if perr != nil || ra < 1 {
			t.Errorf("%s: Retry-After %q", c.name, rec.Header().Get("Retry-After"))
		}
		if want := s.h.RetryAfter; want > 0 {
			// The provider's figure, give or take the second it is rounded
			// to and the time the call took.
			if d := time.Duration(ra) * time.Second; d < want-2*time.Second || d > want+time.Second {
				t.Errorf("%s: Retry-After %ds, want the provider's %v", c.name, ra, want)
			}
		}
		if body := rec.Body.String(); strings.Contains(body, tok.AccessToken) || u.Email != "" && strings.Contains(body, u.Email) {
			t.Errorf("%s: the answer carries the token or the email", c.name)
		}
	}
	s.h.SetRateLimited(false)
	// The budget lifted, the same calls work again (the session survived).
	if _, err := s.verify(t, s.h.credential(tok)); err != nil {
		t.Fatalf("after the rate limit lifted: %v", err)
	}
}
