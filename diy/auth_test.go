package diy_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/authport/authport"
	"github.com/authport/authport/diy"
	"github.com/authport/authport/internal/dbtest"
	"github.com/authport/authport/internal/testenv"
)

// clock is a settable clock for timeout tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func bearer(tok *authport.Tokens) authport.Credential {
	return authport.Credential{Token: tok.AccessToken, Source: authport.SourceHeader}
}

// forEach runs f for every store kind and session mode.
func forEach(t *testing.T, f func(t *testing.T, kind string, mode diy.SessionMode)) {
	for _, kind := range storeKinds {
		for _, mode := range modes {
			t.Run(kind+"/"+mode.String(), func(t *testing.T) { f(t, kind, mode) })
		}
	}
}

func mustUser(t *testing.T, b *diy.Backend, roles ...string) (*diy.User, string) {
	t.Helper()
	email := randEmail()
	u, err := b.CreateUser(t.Context(), email, goodPassword, roles...)
	if err != nil {
		t.Fatal(err)
	}
	return u, email
}

func mustUserEmail(t *testing.T, b *diy.Backend) string {
	_, email := mustUser(t, b)
	return email
}

func signIn(t *testing.T, b *diy.Backend, email, pw string) *authport.Tokens {
	t.Helper()
	tok, err := b.SignInWithPassword(t.Context(), email, pw)
	if err != nil {
		t.Fatalf("SignInWithPassword: %v", err)
	}
	return tok
}

func TestSignInVerifyRevoke(t *testing.T) {
	forEach(t, func(t *testing.T, kind string, mode diy.SessionMode) {
		b := newBackend(t, kind, mode, nil)
		u, email := mustUser(t, b, "admin")
		tok := signIn(t, b, "  "+strings.ToUpper(email)+" ", goodPassword)
		if tok.UserID != u.ID || tok.SessionID == "" || tok.ExpiresAt.IsZero() {
			t.Fatalf("tokens %+v", tok)
		}
		if mode == diy.ModeSession && (len(tok.AccessToken) != 43 || tok.RefreshToken != "") {
			t.Fatalf("session mode token: %d chars, refresh %q", len(tok.AccessToken), tok.RefreshToken)
		}
		if mode == diy.ModeJWT && (strings.Count(tok.AccessToken, ".") != 2 || tok.RefreshToken == "") {
			t.Fatal("JWT mode did not issue a JWT and a refresh token")
		}
		s, err := b.Verify(t.Context(), bearer(tok))
		if err != nil {
			t.Fatal(err)
		}
		if s.UserID != u.ID || s.Email != email || !s.HasRole("admin") || s.SessionID != tok.SessionID || s.Provider != "diy" {
			t.Fatalf("session %+v", s)
		}
		if _, err := b.VerifyStrict(t.Context(), bearer(tok)); err != nil {
			t.Fatal(err)
		}
		if err := b.Revoke(t.Context(), s, tok); err != nil {
			t.Fatal(err)
		}
		_, err = b.Verify(t.Context(), bearer(tok))
		testenv.WantKind(t, err, authport.ErrRevoked)
		_, err = b.VerifyStrict(t.Context(), bearer(tok))
		testenv.WantKind(t, err, authport.ErrRevoked)
		if err := b.Revoke(t.Context(), s, tok); err != nil {
			t.Fatalf("second Revoke: %v", err)
		}
		if mode == diy.ModeJWT {
			_, err := b.Refresh(t.Context(), tok.RefreshToken)
			testenv.WantKind(t, err, authport.ErrRevoked)
		}
	})
}

func TestRevokeByTokensOnly(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.String(), func(t *testing.T) {
			b := newBackend(t, "sqlite", mode, nil)
			_, email := mustUser(t, b)
			for _, strip := range []func(*authport.Tokens){
				func(tk *authport.Tokens) { tk.SessionID = "" },
				func(tk *authport.Tokens) { tk.SessionID, tk.RefreshToken = "", "" },
			} {
				tok := signIn(t, b, email, goodPassword)
				c := *tok
				strip(&c)
				if err := b.Revoke(t.Context(), nil, &c); err != nil {
					t.Fatal(err)
				}
				_, err := b.VerifyStrict(t.Context(), bearer(tok))
				testenv.WantKind(t, err, authport.ErrRevoked)
			}
			err := b.Revoke(t.Context(), nil, nil)
			testenv.WantKind(t, err, authport.ErrInvalidInput)
			err = b.Revoke(t.Context(), nil, &authport.Tokens{AccessToken: "nonsense"})
			if k := authport.KindOf(err); k != authport.ErrInvalidInput && k != authport.ErrInvalidCredential {
				t.Fatalf("Revoke(garbage) kind %v", k)
			}
		})
	}
}

// TestNoEnumerationSignIn: an unknown email, a wrong password and a
// disabled account get the same error.
func TestNoEnumerationSignIn(t *testing.T) {
	b := newBackend(t, "sqlite", diy.ModeSession, nil)
	u, email := mustUser(t, b)
	dis, disEmail := mustUser(t, b)
	if err := b.DisableUser(t.Context(), dis.ID); err != nil {
		t.Fatal(err)
	}
	_ = u
	var msgs []string
	for _, c := range []struct{ email, pw string }{
		{email, goodPassword + "!"},
		{randEmail(), goodPassword},
		{disEmail, goodPassword},
	} {
		_, err := b.SignInWithPassword(t.Context(), c.email, c.pw)
		testenv.WantKind(t, err, authport.ErrInvalidCredential)
		msgs = append(msgs, err.Error())
	}
	if msgs[0] != msgs[1] || msgs[1] != msgs[2] {
		t.Fatalf("errors differ: %q", msgs)
	}
}

// TestNoEnumerationWork: an unknown email, a wrong password and a disabled
// account each cost one full password check — the unknown email against a
// dummy hash made with the same parameters — so the answer's timing
// reveals nothing. (Counted, not timed: a wall-clock comparison fails
// under load.)
func TestNoEnumerationWork(t *testing.T) {
	b := newBackend(t, "sqlite", diy.ModeSession, func(c *diy.Config) { c.Limiter = authport.NoLimits })
	_, email := mustUser(t, b)
	dis, disEmail := mustUser(t, b)
	if err := b.DisableUser(t.Context(), dis.ID); err != nil {
		t.Fatal(err)
	}
	_, _, dummyHash := diy.PasswordChecks(b)
	if diy.NeedsRehash(dummyHash, fastHash) {
		t.Fatal("the dummy hash does not use the configured parameters (it would cost a different time)")
	}
	for _, c := range []struct {
		name, email, pw     string
		wantStored, wantDum int64
	}{
		{"wrong password", email, "wrong password!", 1, 0},
		{"unknown email", randEmail(), "wrong password!", 0, 1},
		{"disabled account", disEmail, goodPassword, 1, 0},
	} {
		s0, d0, _ := diy.PasswordChecks(b)
		_, err := b.SignInWithPassword(t.Context(), c.email, c.pw)
		testenv.WantKind(t, err, authport.ErrInvalidCredential)
		s1, d1, _ := diy.PasswordChecks(b)
		if s1-s0 != c.wantStored || d1-d0 != c.wantDum {
			t.Errorf("%s: %d stored-hash and %d dummy checks, want %d and %d", c.name, s1-s0, d1-d0, c.wantStored, c.wantDum)
		}
	}
}

func TestSignUp(t *testing.T) {
	forEach(t, func(t *testing.T, kind string, mode diy.SessionMode) {
		b := newBackend(t, kind, mode, nil)
		email := randEmail()
		fresh, err := b.SignUp(t.Context(), email, goodPassword)
		if err != nil {
			t.Fatal(err)
		}
		dup, err := b.SignUp(t.Context(), strings.ToUpper(email), "another fine password")
		if err != nil {
			t.Fatal(err)
		}
		if *fresh != *dup || fresh.AccessToken != "" {
			t.Fatalf("fresh %+v and duplicate %+v sign-ups differ", fresh, dup)
		}
		// The duplicate changed nothing: the first password still works.
		signIn(t, b, email, goodPassword)
		_, err = b.SignInWithPassword(t.Context(), email, "another fine password")
		testenv.WantKind(t, err, authport.ErrInvalidCredential)
	})
}

func TestSignUpSignsIn(t *testing.T) {
	b := newBackend(t, "sqlite", diy.ModeJWT, func(c *diy.Config) { c.SignUpSignsIn = true })
	email := randEmail()
	tok, err := b.SignUp(t.Context(), email, goodPassword)
	if err != nil || tok.AccessToken == "" {
		t.Fatalf("SignUp: %+v, %v", tok, err)
	}
	if _, err := b.Verify(t.Context(), bearer(tok)); err != nil {
		t.Fatal(err)
	}
	tok, err = b.SignUp(t.Context(), email, goodPassword)
	if err != nil || tok.AccessToken == "" {
		t.Fatalf("SignUp again with the right password: %+v, %v", tok, err)
	}
	_, err = b.SignUp(t.Context(), email, "another fine password")
	testenv.WantKind(t, err, authport.ErrInvalidCredential)
}

// TestBadInputChangesNothing: malformed input is a clear ErrInvalidInput
// and leaves no trace.
func TestBadInputChangesNothing(t *testing.T) {
	b := newBackend(t, "sqlite", diy.ModeJWT, nil)
	u, email := mustUser(t, b)
	tok := signIn(t, b, email, goodPassword)
	sess, err := b.Verify(t.Context(), bearer(tok))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	newEmail := randEmail()
	for _, tc := range []struct {
		name string
		f    func() error
	}{
		{"SignUpNoEmail", func() error { _, err := b.SignUp(ctx, "", goodPassword); return err }},
		{"SignUpBadEmail", func() error { _, err := b.SignUp(ctx, "not-an-email", goodPassword); return err }},
		{"SignUpShort", func() error { _, err := b.SignUp(ctx, newEmail, "short"); return err }},
		{"SignUpLong", func() error { _, err := b.SignUp(ctx, newEmail, strings.Repeat("x", 257)); return err }},
		{"SignUpCommon", func() error { _, err := b.SignUp(ctx, newEmail, "iloveyou123"); return err }},
		{"SignUpBadUTF8", func() error { _, err := b.SignUp(ctx, newEmail, "abcdefgh\xfe"); return err }},
		{"SignUpBadUTF8Email", func() error { _, err := b.SignUp(ctx, "a\xff@example.com", goodPassword); return err }},
		{"SignInNoPassword", func() error { _, err := b.SignInWithPassword(ctx, email, ""); return err }},
		{"SignInLongPassword", func() error { _, err := b.SignInWithPassword(ctx, email, strings.Repeat("x", 257)); return err }},
		{"SignInBadEmail", func() error { _, err := b.SignInWithPassword(ctx, "@@", goodPassword); return err }},
		{"CreateUserBadRole", func() error { _, err := b.CreateUser(ctx, newEmail, goodPassword, "has space"); return err }},
		{"CreateUserDuplicate", func() error { _, err := b.CreateUser(ctx, email, goodPassword); return err }},
		{"SetRolesEmptyRole", func() error { return b.SetRoles(ctx, u.ID, []string{""}) }},
		{"SetRolesUnknownUser", func() error { return b.SetRoles(ctx, "usr_nobody", []string{"x"}) }},
		{"ChangePasswordCommon", func() error { return b.ChangePassword(ctx, sess, goodPassword, "password1") }},
		{"ChangePasswordShort", func() error { return b.ChangePassword(ctx, sess, goodPassword, "short") }},
		{"SetPasswordShort", func() error { return b.SetPassword(ctx, u.ID, "short") }},
		{"RefreshEmpty", func() error { _, err := b.Refresh(ctx, ""); return err }},
		{"RevokeOtherUsersSession", func() error { return b.RevokeSession(ctx, "usr_other", sess.SessionID) }},
		{"ImportBadHash", func() error { _, err := b.ImportUser(ctx, newEmail, "md5:abc"); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testenv.WantKind(t, tc.f(), authport.ErrInvalidInput)
		})
	}
	if _, err := b.UserByEmail(ctx, newEmail); !errors.Is(err, authport.ErrInvalidInput) {
		t.Fatalf("a user was created by bad input: %v", err)
	}
	got, err := b.User(ctx, u.ID)
	if err != nil || len(got.Roles) != 0 || got.Disabled {
		t.Fatalf("user changed: %+v, %v", got, err)
	}
	if _, err := b.VerifyStrict(ctx, bearer(tok)); err != nil {
		t.Fatalf("session ended by bad input: %v", err)
	}
	signIn(t, b, email, goodPassword)
}

func TestVerifyGarbage(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.String(), func(t *testing.T) {
			b := newBackend(t, "sqlite", mode, nil)
			for _, g := range []string{"x", strings.Repeat("A", 43), strings.Repeat("A", 42) + "=", "a.b.c", strings.Repeat("é", 43),
				"eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", strings.Repeat("x", 20000)} {
				_, err := b.Verify(t.Context(), authport.Credential{Token: g, Source: authport.SourceHeader})
				testenv.WantKind(t, err, authport.ErrInvalidCredential)
			}
			_, err := b.Verify(t.Context(), authport.Credential{})
			testenv.WantKind(t, err, authport.ErrNoCredential)
		})
	}
}

func TestAccountLifecycle(t *testing.T) {
	forEach(t, func(t *testing.T, kind string, mode diy.SessionMode) {
		b := newBackend(t, kind, mode, nil)
		ctx := t.Context()
		u, email := mustUser(t, b)
		a, c := signIn(t, b, email, goodPassword), signIn(t, b, email, goodPassword)
		sa, err := b.Verify(ctx, bearer(a))
		if err != nil {
			t.Fatal(err)
		}
		list, err := b.ListSessions(ctx, u.ID)
		if err != nil || len(list) != 2 || list[0].ID != c.SessionID {
			t.Fatalf("ListSessions = %+v, %v", list, err)
		}

		// Password change: the other session and its refresh token end.
		testenv.WantKind(t, b.ChangePassword(ctx, sa, "wrong current password", "a brand new passphrase"), authport.ErrInvalidCredential)
		if err := b.ChangePassword(ctx, sa, goodPassword, "a brand new passphrase"); err != nil {
			t.Fatal(err)
		}
		if _, err := b.VerifyStrict(ctx, bearer(a)); err != nil {
			t.Fatalf("current session ended by password change: %v", err)
		}
		_, err = b.VerifyStrict(ctx, bearer(c))
		testenv.WantKind(t, err, authport.ErrRevoked)
		if mode == diy.ModeJWT {
			_, err = b.Refresh(ctx, c.RefreshToken)
			testenv.WantKind(t, err, authport.ErrRevoked)
			if a, err = b.Refresh(ctx, a.RefreshToken); err != nil {
				t.Fatalf("refresh of the current session: %v", err)
			}
		}
		_, err = b.SignInWithPassword(ctx, email, goodPassword)
		testenv.WantKind(t, err, authport.ErrInvalidCredential)
		d := signIn(t, b, email, "a brand new passphrase")

		// Sign out the others.
		if err := b.SignOutOthers(ctx, sa); err != nil {
			t.Fatal(err)
		}
		_, err = b.VerifyStrict(ctx, bearer(d))
		testenv.WantKind(t, err, authport.ErrRevoked)
		if _, err := b.VerifyStrict(ctx, bearer(a)); err != nil {
			t.Fatal(err)
		}

		// Revoke one session by id (a "your devices" page).
		e := signIn(t, b, email, "a brand new passphrase")
		if err := b.RevokeSession(ctx, u.ID, e.SessionID); err != nil {
			t.Fatal(err)
		}
		_, err = b.VerifyStrict(ctx, bearer(e))
		testenv.WantKind(t, err, authport.ErrRevoked)

		// Sign out everywhere.
		if err := b.SignOutEverywhere(ctx, sa); err != nil {
			t.Fatal(err)
		}
		_, err = b.VerifyStrict(ctx, bearer(a))
		testenv.WantKind(t, err, authport.ErrRevoked)
		if list, _ := b.ListSessions(ctx, u.ID); len(list) != 0 {
			t.Fatalf("%d sessions left after signing out everywhere", len(list))
		}

		// Disable: everything ends, sign-in answers as a wrong password.
		f := signIn(t, b, email, "a brand new passphrase")
		if err := b.DisableUser(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		_, err = b.VerifyStrict(ctx, bearer(f))
		testenv.WantKind(t, err, authport.ErrRevoked)
		if mode == diy.ModeJWT {
			_, err = b.Refresh(ctx, f.RefreshToken)
			testenv.WantKind(t, err, authport.ErrRevoked)
		}
		_, err = b.SignInWithPassword(ctx, email, "a brand new passphrase")
		testenv.WantKind(t, err, authport.ErrInvalidCredential)
		if err := b.EnableUser(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		signIn(t, b, email, "a brand new passphrase")

		// Admin password reset ends every session.
		g := signIn(t, b, email, "a brand new passphrase")
		if err := b.SetPassword(ctx, u.ID, "reset by the admin team"); err != nil {
			t.Fatal(err)
		}
		_, err = b.VerifyStrict(ctx, bearer(g))
		testenv.WantKind(t, err, authport.ErrRevoked)
		signIn(t, b, email, "reset by the admin team")
	})
}

// TestPrivilegeChange: a role change ends the sessions (a new id comes with
// new privileges); RenewSession rotates the id of a live session.
func TestPrivilegeChange(t *testing.T) {
	forEach(t, func(t *testing.T, kind string, mode diy.SessionMode) {
		b := newBackend(t, kind, mode, nil)
		ctx := t.Context()
		u, email := mustUser(t, b)
		tok := signIn(t, b, email, goodPassword)
		if err := b.SetRoles(ctx, u.ID, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := b.VerifyStrict(ctx, bearer(tok)); err != nil {
			t.Fatalf("an unchanged role set ended the session: %v", err)
		}
		if err := b.SetRoles(ctx, u.ID, []string{"admin", "admin", "billing"}); err != nil {
			t.Fatal(err)
		}
		_, err := b.VerifyStrict(ctx, bearer(tok))
		testenv.WantKind(t, err, authport.ErrRevoked)
		tok = signIn(t, b, email, goodPassword)
		s, err := b.Verify(ctx, bearer(tok))
		if err != nil || !slices.Equal(s.Roles, []string{"admin", "billing"}) {
			t.Fatalf("roles after re-sign-in: %v, %v", s.Roles, err)
		}
		renewed, err := b.RenewSession(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		if renewed.SessionID == tok.SessionID || renewed.AccessToken == tok.AccessToken {
			t.Fatal("RenewSession kept the session id")
		}
		_, err = b.VerifyStrict(ctx, bearer(tok))
		testenv.WantKind(t, err, authport.ErrRevoked)
		if s2, err := b.VerifyStrict(ctx, bearer(renewed)); err != nil || !s2.HasRole("admin") {
			t.Fatalf("renewed session: %+v, %v", s2, err)
		}
	})
}

func TestTimeouts(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.String(), func(t *testing.T) {
			clk := newClock()
			b := newBackend(t, "sqlite", mode, func(c *diy.Config) {
				c.Now = clk.Now
				c.IdleTimeout, c.AbsoluteTimeout, c.AccessTokenTTL = 30*time.Minute, 2*time.Hour, 5*time.Minute
			})
			_, email := mustUser(t, b)
			ctx := t.Context()
			// use keeps the session alive the way a client would.
			use := func(tok *authport.Tokens) (*authport.Tokens, error) {
				if mode == diy.ModeJWT {
					return b.Refresh(ctx, tok.RefreshToken)
				}
				_, err := b.Verify(ctx, bearer(tok))
				return tok, err
			}
			// Idle: unused for 31 minutes.
			tok := signIn(t, b, email, goodPassword)
			clk.Advance(31 * time.Minute)
			_, err := use(tok)
			testenv.WantKind(t, err, authport.ErrExpired)

			// Activity slides the idle timeout, but not past the absolute one.
			start := clk.Now()
			tok = signIn(t, b, email, goodPassword)
			for {
				clk.Advance(25 * time.Minute)
				next, err := use(tok)
				if err != nil {
					testenv.WantKind(t, err, authport.ErrExpired)
					if clk.Now().Sub(start) < 2*time.Hour {
						t.Fatalf("active session expired after %v", clk.Now().Sub(start))
					}
					break
				}
				tok = next
			}
			if mode == diy.ModeJWT {
				// Access tokens expire on their own.
				tok = signIn(t, b, email, goodPassword)
				clk.Advance(6 * time.Minute)
				_, err := b.Verify(ctx, bearer(tok))
				testenv.WantKind(t, err, authport.ErrExpired)
			}
		})
	}
}

func TestRefreshRotation(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			b := newBackend(t, kind, diy.ModeJWT, nil)
			ctx := t.Context()
			_, email := mustUser(t, b)
			t0 := signIn(t, b, email, goodPassword)
			t1, err := b.Refresh(ctx, t0.RefreshToken)
			if err != nil {
				t.Fatal(err)
			}
			if t1.RefreshToken == t0.RefreshToken || t1.SessionID != t0.SessionID {
				t.Fatalf("refresh did not rotate: %+v", t1)
			}
			t2, err := b.Refresh(ctx, t1.RefreshToken)
			if err != nil {
				t.Fatal(err)
			}
			// Reuse of t0: the family is revoked, t2 included.
			_, err = b.Refresh(ctx, t0.RefreshToken)
			testenv.WantKind(t, err, authport.ErrRevoked)
			_, err = b.Refresh(ctx, t2.RefreshToken)
			testenv.WantKind(t, err, authport.ErrRevoked)
			_, err = b.VerifyStrict(ctx, bearer(t2))
			testenv.WantKind(t, err, authport.ErrRevoked)
			_, err = b.Refresh(ctx, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
			testenv.WantKind(t, err, authport.ErrInvalidCredential)
		})
	}
}

// TestParallelRefresh: 50 parallel refreshes with one token produce exactly
// one new token pair.
func TestParallelRefresh(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			b := newBackend(t, kind, diy.ModeJWT, func(c *diy.Config) { c.Limiter = authport.NoLimits })
			_, email := mustUser(t, b)
			tok := signIn(t, b, email, goodPassword)
			var ok atomic.Int32
			var wg sync.WaitGroup
			start := make(chan struct{})
			for range 50 {
				wg.Go(func() {
					<-start
					_, err := b.Refresh(context.Background(), tok.RefreshToken)
					switch k := authport.KindOf(err); {
					case err == nil:
						ok.Add(1)
					case k == authport.ErrRevoked || k == authport.ErrInvalidCredential:
					default:
						t.Errorf("refresh: %v", err)
					}
				})
			}
			close(start)
			wg.Wait()
			if ok.Load() != 1 {
				t.Fatalf("50 parallel refreshes: %d succeeded, want exactly 1", ok.Load())
			}
		})
	}
}

func TestRefreshInSessionMode(t *testing.T) {
	b := newBackend(t, "sqlite", diy.ModeSession, nil)
	_, err := b.Refresh(t.Context(), "anything")
	testenv.WantKind(t, err, authport.ErrUnsupported)
	if authport.Has(b, authport.CapRefresh) {
		t.Fatal("session mode lists refresh as supported")
	}
	if !authport.Has(b, authport.CapRevoke) || !authport.Has(b, authport.CapStrictVerify) || !authport.Has(b, authport.CapSignUp) {
		t.Fatal("capabilities missing")
	}
	if b.Describe().RevocationDelay != 0 {
		t.Fatal("session mode declares a revocation delay")
	}
}

func TestKeyRotationAndJWKS(t *testing.T) {
	clk := newClock()
	b := newBackend(t, "sqlite", diy.ModeJWT, func(c *diy.Config) { c.Now = clk.Now })
	ctx := t.Context()
	_, email := mustUser(t, b)
	old := signIn(t, b, email, goodPassword)
	_, priv, _ := ed25519.GenerateKey(nil)
	if err := b.RotateSigningKey(diy.SigningKey{ID: "k2", PrivateKey: priv}); err != nil {
		t.Fatal(err)
	}
	if err := b.RotateSigningKey(diy.SigningKey{ID: "k2", PrivateKey: priv}); err == nil {
		t.Fatal("a duplicate kid was accepted")
	}
	fresh := signIn(t, b, email, goodPassword)
	for _, tok := range []*authport.Tokens{old, fresh} {
		if _, err := b.Verify(ctx, bearer(tok)); err != nil {
			t.Fatalf("verify during the grace period: %v", err)
		}
	}
	kids := func() []string {
		rec := httptest.NewRecorder()
		b.JWKSHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/.well-known/jwks.json", nil))
		if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("JWKS: %d %q", rec.Code, rec.Header().Get("Content-Type"))
		}
		var doc struct {
			Keys []struct{ Kid, Kty, Crv, Alg, X string }
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, k := range doc.Keys {
			if k.Kty != "OKP" || k.Crv != "Ed25519" || k.Alg != "EdDSA" || len(k.X) != 43 {
				t.Fatalf("key %+v", k)
			}
			out = append(out, k.Kid)
		}
		return out
	}
	if got := kids(); !slices.Equal(got, []string{"k2", "k1"}) {
		t.Fatalf("JWKS kids during grace = %v", got)
	}
	clk.Advance(10 * time.Minute) // past AccessTokenTTL + leeway
	if got := kids(); !slices.Equal(got, []string{"k2"}) {
		t.Fatalf("JWKS kids after grace = %v", got)
	}
	next, err := b.Refresh(ctx, fresh.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Verify(ctx, bearer(next)); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	b.JWKSHandler().ServeHTTP(rec, httptest.NewRequest("POST", "/.well-known/jwks.json", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("POST to JWKS: %d", rec.Code)
	}
}

func TestRateLimits(t *testing.T) {
	for _, kind := range []string{"sqlite", "postgres+redis"} {
		t.Run(kind, func(t *testing.T) {
			b := newBackend(t, kind, diy.ModeSession, func(c *diy.Config) {
				c.Limits = authport.Limits{
					SignInAccount: authport.LimitPolicy{Free: 3, Window: time.Minute, Base: 300 * time.Millisecond, Max: time.Second},
					SignInIP:      authport.LimitPolicy{Free: 20, Window: time.Minute, Base: time.Minute, Max: time.Minute},
				}
			})
			ctx := t.Context()
			_, email := mustUser(t, b)
			for range 3 {
				_, err := b.SignInWithPassword(ctx, email, "not the password")
				testenv.WantKind(t, err, authport.ErrInvalidCredential)
			}
			// Paused: even the right password waits (no answer to guess from).
			_, err := b.SignInWithPassword(ctx, email, goodPassword)
			testenv.WantKind(t, err, authport.ErrRateLimited)
			if d, ok := diy.RetryAfter(err); !ok || d < time.Second {
				t.Fatalf("RetryAfter = %v, %v", d, ok)
			}
			// The same for an address that does not exist.
			ghost := randEmail()
			for range 3 {
				_, _ = b.SignInWithPassword(ctx, ghost, "not the password")
			}
			_, err = b.SignInWithPassword(ctx, ghost, "not the password")
			testenv.WantKind(t, err, authport.ErrRateLimited)
			// A known device is exempt from what strangers exhausted.
			known := authport.WithClientInfo(ctx, authport.ClientInfo{IP: "198.51.100.1", Device: "dev-1"})
			if _, err := b.SignInWithPassword(known, email, goodPassword); err != nil {
				t.Fatalf("known device while the account is paused: %v", err)
			}
			// No permanent lock-out: after the pause the owner gets in from
			// anywhere, and that success resets the count.
			time.Sleep(400 * time.Millisecond)
			signIn(t, b, email, goodPassword)
			_, err = b.SignInWithPassword(ctx, email, "not the password")
			testenv.WantKind(t, err, authport.ErrInvalidCredential)

			// Per client address.
			ipCtx := authport.WithClientInfo(ctx, authport.ClientInfo{IP: "203.0.113.9"})
			var limited bool
			for range 25 {
				_, err := b.SignInWithPassword(ipCtx, randEmail(), "not the password")
				if errors.Is(err, authport.ErrRateLimited) {
					limited = true
					break
				}
			}
			if !limited {
				t.Fatal("25 sign-ins from one address were not limited")
			}
			other := diy.WithClient(ctx, diy.Client{IP: "203.0.113.10"})
			if _, err := b.SignInWithPassword(other, mustUserEmail(t, b), goodPassword); err != nil {
				t.Fatalf("another address was limited too: %v", err)
			}
		})
	}
}

type brokenLimiter struct{}

func (brokenLimiter) Hit(context.Context, string, authport.LimitPolicy) (time.Duration, error) {
	return 0, errors.New("limiter down")
}
func (brokenLimiter) Peek(context.Context, string) (time.Duration, error) {
	return 0, errors.New("limiter down")
}
func (brokenLimiter) Reset(context.Context, string) error { return errors.New("limiter down") }

func TestLimiterDownFailsClosed(t *testing.T) {
	b := newBackend(t, "sqlite", diy.ModeJWT, func(c *diy.Config) { c.Limiter = brokenLimiter{} })
	_, err := b.SignInWithPassword(t.Context(), randEmail(), goodPassword)
	testenv.WantKind(t, err, authport.ErrProviderUnavailable)
	_, err = b.SignUp(t.Context(), randEmail(), goodPassword)
	testenv.WantKind(t, err, authport.ErrProviderUnavailable)
}

// TestHashingBounded: with one hashing slot and a short wait, a burst of
// sign-ins gets 503 with Retry-After for the excess instead of queueing
// without bound.
func TestHashingBounded(t *testing.T) {
	b := newBackend(t, "sqlite", diy.ModeSession, func(c *diy.Config) {
		c.Hash = diy.DefaultHashParams
		c.MaxConcurrentHashes = 1
		c.HashQueueWait = 20 * time.Millisecond
		c.Limiter = authport.NoLimits
	})
	var ok, busy atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			_, err := b.SignInWithPassword(context.Background(), randEmail(), goodPassword)
			switch {
			case errors.Is(err, authport.ErrInvalidCredential):
				ok.Add(1)
			case errors.Is(err, authport.ErrProviderUnavailable):
				if _, has := diy.RetryAfter(err); !has {
					t.Error("overload error without Retry-After")
				}
				busy.Add(1)
			default:
				t.Errorf("sign-in: %v", err)
			}
		})
	}
	wg.Wait()
	if ok.Load() == 0 || busy.Load() == 0 {
		t.Fatalf("burst of 8: %d checked, %d refused as busy; want both", ok.Load(), busy.Load())
	}
}

// TestRehashOnSignIn: imported bcrypt hashes and argon2id hashes with old
// parameters are replaced at the next successful sign-in.
func TestRehashOnSignIn(t *testing.T) {
	b := newBackend(t, "sqlite", diy.ModeSession, nil)
	ctx := t.Context()
	bc, _ := bcrypt.GenerateFromPassword([]byte(goodPassword), bcrypt.MinCost)
	email := randEmail()
	u, err := b.ImportUser(ctx, email, string(bc))
	if err != nil {
		t.Fatal(err)
	}
	// An imported password over 72 bytes never matches (bcrypt truncation).
	_, err = b.SignInWithPassword(ctx, email, goodPassword+strings.Repeat("!", 60))
	testenv.WantKind(t, err, authport.ErrInvalidCredential)
	signIn(t, b, email, goodPassword)
	got, _ := b.User(ctx, u.ID)
	if !strings.HasPrefix(got.PasswordHash, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Fatalf("hash after sign-in: %q", got.PasswordHash)
	}
	signIn(t, b, email, goodPassword)

	old, _ := diy.HashPassword(goodPassword, diy.HashParams{Memory: 512, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32})
	email2 := randEmail()
	u2, err := b.ImportUser(ctx, email2, old)
	if err != nil {
		t.Fatal(err)
	}
	signIn(t, b, email2, goodPassword)
	got, _ = b.User(ctx, u2.ID)
	if got.PasswordHash == old || diy.NeedsRehash(got.PasswordHash, fastHash) {
		t.Fatalf("argon2id hash with old parameters not replaced: %q", got.PasswordHash)
	}
}

// TestTwoInstances: two backends on one PostgreSQL share sessions; a
// sign-out on one is refused on the other at once.
func TestTwoInstances(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.String(), func(t *testing.T) {
			_, priv, _ := ed25519.GenerateKey(nil)
			keys := []diy.SigningKey{{ID: "shared", PrivateKey: priv}}
			url := dbtest.FreshPostgres(t)
			a := newBackendOn(t, url, mode, func(c *diy.Config) { c.SigningKeys = keys })
			b := newBackendOn(t, url, mode, func(c *diy.Config) { c.SigningKeys = keys })
			_, email := mustUser(t, a)
			tok := signIn(t, a, email, goodPassword)
			s, err := b.VerifyStrict(t.Context(), bearer(tok))
			if err != nil {
				t.Fatalf("instance B does not accept A's session: %v", err)
			}
			if err := a.Revoke(t.Context(), s, tok); err != nil {
				t.Fatal(err)
			}
			_, err = b.VerifyStrict(t.Context(), bearer(tok))
			testenv.WantKind(t, err, authport.ErrRevoked)
			if mode == diy.ModeSession {
				_, err = b.Verify(t.Context(), bearer(tok))
				testenv.WantKind(t, err, authport.ErrRevoked)
			} else {
				_, err = b.Refresh(t.Context(), tok.RefreshToken)
				testenv.WantKind(t, err, authport.ErrRevoked)
			}
		})
	}
}
