package conformance

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authport/authport"
)

// Run runs the whole suite against h as subtests of t named h.Name.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.Authenticator == nil || h.CreateUser == nil || h.SignIn == nil {
		t.Fatal("conformance: Harness needs Authenticator, CreateUser and SignIn")
	}
	name := h.Name
	if name == "" {
		name = h.Authenticator.Provider()
	}
	s := &suite{h: &h}
	t.Run(name, func(t *testing.T) {
		t.Run("LoginState", s.loginState)
		t.Run("SessionValidation", s.sessionValidation)
		t.Run("RouteProtection", s.routeProtection)
		t.Run("Attacks", s.attacks)
		t.Run("PasswordSignIn", s.passwordSignIn)
		t.Run("Refresh", s.refresh)
		t.Run("Revocation", s.revocation)
		t.Run("Concurrency", s.concurrency)
		t.Run("Availability", s.availability)
		// Last: a harness may change a provider setting to demand a step.
		t.Run("StepUp", s.stepUp)
	})
}

type suite struct {
	h *Harness
}

// na skips t as not applicable with reason, or if the harness lists the
// scenario as a known provider gap.
func na(t *testing.T, reason string) {
	t.Helper()
	t.Skip("N/A: " + reason)
}

func (s *suite) gap(t *testing.T) {
	t.Helper()
	name := t.Name()
	for k, why := range s.h.NotApplicable {
		if strings.HasSuffix(name, "/"+k) {
			na(t, why)
		}
	}
}

// run is t.Run with the harness's declared gaps applied.
func (s *suite) run(t *testing.T, name string, f func(t *testing.T)) {
	t.Helper()
	t.Run(name, func(t *testing.T) {
		s.gap(t)
		f(t)
	})
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newUser creates a user with a unique email at the provider.
func (s *suite) newUser(t *testing.T, mod func(*User)) User {
	t.Helper()
	u := User{Email: "conf-" + randHex(6) + "@example.com", Password: "Pw-" + randHex(10)}
	if mod != nil {
		mod(&u)
	}
	id, err := s.h.CreateUser(t.Context(), u)
	if err != nil {
		t.Fatalf("harness CreateUser: %v", err)
	}
	u.ID = id
	return u
}

func (s *suite) signIn(t *testing.T, u User) *authport.Tokens {
	t.Helper()
	tok, err := s.h.SignIn(t.Context(), u)
	if err != nil {
		t.Fatalf("harness SignIn: %v", err)
	}
	if tok == nil || tok.AccessToken == "" {
		t.Fatal("harness SignIn returned no access token")
	}
	return tok
}

func wantKind(t *testing.T, err error, k *authport.Kind) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v", k)
	}
	if !errors.Is(err, k) {
		t.Fatalf("got error %v (kind %v), want kind %v", err, authport.KindOf(err), k)
	}
	checkNoSecret(t, err)
}

// checkNoSecret fails if an error's text looks like it carries a token.
func checkNoSecret(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	msg := err.Error()
	for _, part := range strings.Fields(msg) {
		if strings.Count(part, ".") >= 2 && len(part) > 40 && strings.HasPrefix(strings.Trim(part, `"'`), "eyJ") {
			t.Fatalf("error text carries what looks like a token: %q", msg)
		}
	}
}

func (s *suite) verify(t *testing.T, c authport.Credential) (*authport.Session, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	sess, err := s.h.Authenticator.Verify(ctx, c)
	if err == nil && sess == nil {
		t.Fatal("Verify returned neither a session nor an error")
	}
	return sess, err
}

func (s *suite) loginState(t *testing.T) {
	a := s.h.Authenticator
	s.run(t, "SignedInVerifies", func(t *testing.T) {
		u := s.newUser(t, nil)
		tok := s.signIn(t, u)
		sess, err := s.verify(t, s.h.credential(tok))
		if err != nil {
			t.Fatalf("Verify of a fresh sign-in: %v", err)
		}
		if sess.UserID != u.ID {
			t.Errorf("UserID = %q, want %q", sess.UserID, u.ID)
		}
		if sess.Provider != a.Provider() {
			t.Errorf("Provider = %q, want %q", sess.Provider, a.Provider())
		}
		if !sess.ExpiresAt.After(time.Now()) {
			t.Errorf("ExpiresAt = %v, want in the future", sess.ExpiresAt)
		}
		if s.h.Features.EmailInToken && !strings.EqualFold(sess.Email, u.Email) {
			t.Errorf("Email = %q, want %q", sess.Email, u.Email)
		}
	})
	s.run(t, "NoCredential", func(t *testing.T) {
		_, err := s.verify(t, authport.Credential{Source: authport.SourceHeader})
		wantKind(t, err, authport.ErrNoCredential)
	})
	s.run(t, "Garbage", func(t *testing.T) {
		for _, g := range []string{"garbage", "a.b.c", "eyJhbGciOiJub25lIn0.e30.", strings.Repeat("x", 100)} {
			_, err := s.verify(t, s.h.bearer(g))
			wantKind(t, err, authport.ErrInvalidCredential)
		}
	})
	s.run(t, "TwoUsersDistinct", func(t *testing.T) {
		u1, u2 := s.newUser(t, nil), s.newUser(t, nil)
		s1, err1 := s.verify(t, s.h.credential(s.signIn(t, u1)))
		s2, err2 := s.verify(t, s.h.credential(s.signIn(t, u2)))
		if err1 != nil || err2 != nil {
			t.Fatalf("Verify: %v, %v", err1, err2)
		}
		if s1.UserID == s2.UserID {
			t.Fatal("two users verified to the same UserID")
		}
	})
}

func (s *suite) sessionValidation(t *testing.T) {
	s.run(t, "RepeatIsStable", func(t *testing.T) {
		u := s.newUser(t, nil)
		c := s.h.credential(s.signIn(t, u))
		first, err := s.verify(t, c)
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			again, err := s.verify(t, c)
			if err != nil || again.UserID != first.UserID || again.SessionID != first.SessionID {
				t.Fatalf("repeat verify differs: %+v, %v", again, err)
			}
		}
	})
	s.run(t, "Tampered", func(t *testing.T) {
		u := s.newUser(t, nil)
		tok := s.signIn(t, u).AccessToken
		if strings.Count(tok, ".") != 2 {
			na(t, "credential is opaque, not a JWS")
		}
		parts := strings.Split(tok, ".")
		// Flip one character of the payload and of the signature.
		for _, i := range []int{1, 2} {
			p := append([]string(nil), parts...)
			if len(p[i]) == 0 {
				continue // an unsigned token: nothing to flip here
			}
			b := []byte(p[i])
			mid := len(b) / 2
			if b[mid] == 'A' {
				b[mid] = 'B'
			} else {
				b[mid] = 'A'
			}
			p[i] = string(b)
			_, err := s.verify(t, s.h.bearer(strings.Join(p, ".")))
			wantKind(t, err, authport.ErrInvalidCredential)
		}
	})
	s.run(t, "OpaqueTampered", func(t *testing.T) {
		u := s.newUser(t, nil)
		tok := s.signIn(t, u).AccessToken
		b := []byte(tok)
		if b[len(b)/2] == 'A' {
			b[len(b)/2] = 'B'
		} else {
			b[len(b)/2] = 'A'
		}
		_, err := s.verify(t, s.h.bearer(string(b)))
		if err == nil {
			t.Fatal("a modified credential verified")
		}
		if k := authport.KindOf(err); k != authport.ErrInvalidCredential && k != authport.ErrRevoked {
			t.Fatalf("kind %v, want invalid credential", k)
		}
	})
	s.run(t, "Roles", func(t *testing.T) {
		if !s.h.Features.Roles {
			na(t, "the harness cannot grant roles at this provider")
		}
		u := s.newUser(t, func(u *User) { u.Roles = []string{"admin"} })
		sess, err := s.verify(t, s.h.credential(s.signIn(t, u)))
		if err != nil {
			t.Fatal(err)
		}
		if !sess.HasRole("admin") {
			t.Fatalf("Roles = %v, want admin", sess.Roles)
		}
		plain := s.newUser(t, nil)
		sess, err = s.verify(t, s.h.credential(s.signIn(t, plain)))
		if err != nil {
			t.Fatal(err)
		}
		if sess.HasRole("admin") {
			t.Fatalf("a user without roles has %v", sess.Roles)
		}
	})
	s.run(t, "Permissions", func(t *testing.T) {
		if !s.h.Features.Permissions {
			na(t, "the harness cannot grant permissions at this provider")
		}
		u := s.newUser(t, func(u *User) { u.Permissions = []string{"reports:read"} })
		sess, err := s.verify(t, s.h.credential(s.signIn(t, u)))
		if err != nil {
			t.Fatal(err)
		}
		if !sess.HasPermission("reports:read") {
			t.Fatalf("Permissions = %v, want reports:read", sess.Permissions)
		}
	})
	s.run(t, "Organization", func(t *testing.T) {
		if !s.h.Features.Org {
			na(t, "the harness cannot place users in organisations at this provider")
		}
		u := s.newUser(t, func(u *User) { u.OrgID = "org_" + randHex(6) })
		sess, err := s.verify(t, s.h.credential(s.signIn(t, u)))
		if err != nil {
			t.Fatal(err)
		}
		if sess.OrgID == "" {
			t.Fatalf("OrgID empty, want the user's organisation")
		}
	})
	s.run(t, "As", func(t *testing.T) {
		u := s.newUser(t, nil)
		sess, err := s.verify(t, s.h.credential(s.signIn(t, u)))
		if err != nil {
			t.Fatal(err)
		}
		var wrong *struct{ X int }
		if sess.As(&wrong) {
			t.Fatal("As succeeded for an unrelated type")
		}
		if sess.As(nil) {
			t.Fatal("As(nil) succeeded")
		}
	})
}

func (s *suite) concurrency(t *testing.T) {
	s.run(t, "ParallelVerify", func(t *testing.T) {
		users := []User{s.newUser(t, nil), s.newUser(t, nil)}
		creds := []authport.Credential{s.h.credential(s.signIn(t, users[0])), s.h.credential(s.signIn(t, users[1]))}
		var wg sync.WaitGroup
		errs := make(chan error, 64)
		for i := range 64 {
			wg.Go(func() {
				sess, err := s.h.Authenticator.Verify(t.Context(), creds[i%2])
				if err != nil {
					errs <- err
					return
				}
				if sess.UserID != users[i%2].ID {
					errs <- errors.New("session of the wrong user")
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	})
	s.run(t, "ColdCacheSingleFetch", func(t *testing.T) {
		if s.h.NewAuthenticator == nil || s.h.KeyFetches == nil {
			na(t, "the harness cannot build a cold adapter or count key fetches")
		}
		u := s.newUser(t, nil)
		c := s.h.credential(s.signIn(t, u))
		a, err := s.h.NewAuthenticator()
		if err != nil {
			t.Fatal(err)
		}
		before := s.h.KeyFetches()
		var wg sync.WaitGroup
		var failed sync.Map
		for i := range 50 {
			wg.Go(func() {
				if _, err := a.Verify(t.Context(), c); err != nil {
					failed.Store(i, err)
				}
			})
		}
		wg.Wait()
		failed.Range(func(_, v any) bool { t.Errorf("verify: %v", v); return false })
		if n := s.h.KeyFetches() - before; n > 1 {
			t.Fatalf("50 concurrent cold verifications made %d key fetches, want at most 1", n)
		}
	})
	s.run(t, "UnknownKidFloodBounded", func(t *testing.T) {
		if s.h.Forger == nil || s.h.KeyFetches == nil {
			na(t, "needs a Forger and a key-fetch counter (emulator only)")
		}
		f := s.h.Forger
		u := s.newUser(t, nil)
		// Warm the cache first.
		if _, err := s.verify(t, s.h.credential(s.signIn(t, u))); err != nil {
			t.Fatal(err)
		}
		before := s.h.KeyFetches()
		var wg sync.WaitGroup
		for range 100 {
			wg.Go(func() {
				h := f.Header()
				h["kid"] = "unknown-" + randHex(8)
				tok := signWith(t, attackerKey(t, f.Alg), f.Alg, h, f.Claims(u.ID))
				if _, err := s.h.Authenticator.Verify(t.Context(), s.h.bearer(tok)); err == nil {
					t.Error("token with an unknown kid verified")
				}
			})
		}
		wg.Wait()
		if n := s.h.KeyFetches() - before; n > 2 {
			t.Fatalf("100 unknown-kid tokens caused %d key fetches, want at most 2 (refresh on miss is rate limited)", n)
		}
	})
}

func (s *suite) availability(t *testing.T) {
	s.run(t, "ProviderRateLimited", s.providerRateLimited)
	s.run(t, "ColdKeysDownFailsClosed", func(t *testing.T) {
		// For a provider checked by an HTTP call rather than a key set,
		// the outage is the provider's whole API (SetProviderDown).
		down := s.h.SetKeysDown
		if down == nil {
			down = s.h.SetProviderDown
		}
		if down == nil || s.h.NewAuthenticator == nil {
			na(t, "the harness cannot fail the key endpoint or the provider")
		}
		u := s.newUser(t, nil)
		c := s.h.credential(s.signIn(t, u))
		down(true)
		defer down(false)
		a, err := s.h.NewAuthenticator()
		if err != nil {
			// Failing at construction when keys are down is also closed.
			if !errors.Is(err, authport.ErrProviderUnavailable) {
				t.Fatalf("constructor error %v, want ErrProviderUnavailable", err)
			}
			return
		}
		_, err = a.Verify(t.Context(), c)
		wantKind(t, err, authport.ErrProviderUnavailable)
		down(false)
		// Recovers without a restart (the cold retry window is 1 s).
		deadline := time.Now().Add(5 * time.Second)
		for {
			_, err = a.Verify(t.Context(), c)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("did not recover after the key endpoint came back: %v", err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	})
	s.run(t, "WarmKeysDownKeepsServing", func(t *testing.T) {
		if s.h.SetKeysDown == nil {
			na(t, "the harness cannot fail the key endpoint")
		}
		u := s.newUser(t, nil)
		c := s.h.credential(s.signIn(t, u))
		if _, err := s.verify(t, c); err != nil {
			t.Fatal(err)
		}
		s.h.SetKeysDown(true)
		defer s.h.SetKeysDown(false)
		c2 := s.h.credential(s.signIn(t, u))
		if _, err := s.verify(t, c2); err != nil {
			t.Fatalf("a new token signed by a cached key failed while the key endpoint is down: %v", err)
		}
	})
}
