package emulator

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func newTestStore(o StoreOptions) (*Store, *Clock) {
	if o.Clock == nil {
		o.Clock = FixedClock(time.Unix(1_700_000_000, 0))
	}
	return NewStore(o), o.Clock
}

func TestUsers(t *testing.T) {
	s, _ := newTestStore(StoreOptions{UserID: PrefixedID("user_", NewULID)})
	u, err := s.CreateUser(NewUser{Email: "Ada@Example.com", Password: "correct horse", Roles: []string{"admin"}, Metadata: map[string]any{"plan": "pro", "nested": map[string]any{"a": 1.0}}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(u.ID, "user_") || len(u.ID) != 31 {
		t.Fatalf("id %s", u.ID)
	}
	if _, err := s.CreateUser(NewUser{Email: "ada@example.COM"}); !errors.Is(err, ErrConflict) {
		t.Fatalf("duplicate email: %v", err)
	}
	if _, err := s.CreateUser(NewUser{Email: "nope"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad email: %v", err)
	}
	// Copies, not aliases.
	u.Roles[0] = "root"
	u.Metadata["nested"].(map[string]any)["a"] = 2.0
	got, _ := s.User(u.ID)
	if got.Roles[0] != "admin" || got.Metadata["nested"].(map[string]any)["a"] != 1.0 {
		t.Fatal("store shares memory with a returned user")
	}
	if got, err := s.UserByEmail("  ADA@example.com "); err != nil || got.ID != u.ID {
		t.Fatalf("by email: %v", err)
	}
	if _, err := s.CheckPassword("ada@example.com", "correct horse"); err != nil {
		t.Fatal(err)
	}
	_, wrong := s.CheckPassword("ada@example.com", "wrong")
	_, unknown := s.CheckPassword("bob@example.com", "correct horse")
	if !errors.Is(wrong, ErrBadCredentials) || wrong != unknown {
		t.Fatalf("wrong password %v, unknown user %v: must be the same error", wrong, unknown)
	}
	nopw, _ := s.CreateUser(NewUser{Email: "sso@example.com"})
	if _, err := s.CheckPassword("sso@example.com", ""); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("user without password signed in: %v", err)
	}
	if u2, _ := s.UpdateMetadata(u.ID, map[string]any{"plan": nil, "tier": 2}); u2.Metadata["plan"] != nil || u2.Metadata["tier"] != 2 {
		t.Fatalf("metadata %v", u2.Metadata)
	}
	if _, err := s.UpdateUser(u.ID, func(u *User) { u.Email = "x@y" }); !errors.Is(err, ErrInvalid) {
		t.Fatal("email changed through UpdateUser")
	}
	if err := s.SetPassword(u.ID, "new password"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CheckPassword("ada@example.com", "new password"); err != nil {
		t.Fatal(err)
	}
	ss, _ := s.CreateSession(NewSession{UserID: u.ID})
	if err := s.DisableUser(u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CheckPassword("ada@example.com", "new password"); !errors.Is(err, ErrDisabled) {
		t.Fatalf("disabled user: %v", err)
	}
	if got, _ := s.Session(ss.ID); got.Status != StatusRevoked {
		t.Fatalf("disabling left session %s", got.Status)
	}
	if _, err := s.CreateSession(NewSession{UserID: u.ID}); !errors.Is(err, ErrDisabled) {
		t.Fatal("session for a disabled user")
	}
	if len(s.Users()) != 2 || s.Users()[1].ID != nopw.ID {
		t.Fatal("Users order")
	}
}

func TestSessions(t *testing.T) {
	s, clock := newTestStore(StoreOptions{})
	u, _ := s.CreateUser(NewUser{Email: "a@example.com", OrgID: "org_1"})
	a, _ := s.CreateSession(NewSession{UserID: u.ID, TTL: time.Hour})
	b, _ := s.CreateSession(NewSession{UserID: u.ID, Status: StatusPending})
	if a.OrgID != "org_1" || a.Status != StatusActive || b.Status != StatusPending {
		t.Fatalf("%+v %+v", a, b)
	}
	if _, _, err := s.LiveSession(b.ID); err != nil {
		t.Fatal("pending session is live")
	}
	clock.Advance(time.Hour)
	if _, _, err := s.LiveSession(a.ID); !errors.Is(err, ErrInactive) {
		t.Fatalf("expired session: %v", err)
	}
	if err := s.EndSession(b.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetSessionStatus(b.ID, StatusActive); !errors.Is(err, ErrInactive) {
		t.Fatal("an ended session came back to life")
	}
	if got, _ := s.Session(b.ID); got.Status != StatusEnded {
		t.Fatal(got.Status)
	}
	s.RevokeSession(b.ID) // already ended: no change, no error
	if got, _ := s.Session(b.ID); got.Status != StatusEnded {
		t.Fatal(got.Status)
	}
	c, _ := s.CreateSession(NewSession{UserID: u.ID})
	d, _ := s.CreateSession(NewSession{UserID: u.ID})
	if n := s.RevokeUserSessions(u.ID); n != 2 {
		t.Fatalf("revoked %d", n)
	}
	for _, id := range []string{c.ID, d.ID} {
		if _, _, err := s.LiveSession(id); !errors.Is(err, ErrInactive) {
			t.Fatal("revoke all")
		}
	}
	if len(s.Sessions(u.ID)) != 4 {
		t.Fatal("Sessions")
	}
	if _, err := s.Session("nope"); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
}

func TestRefreshRotation(t *testing.T) {
	for _, revoke := range []bool{false, true} {
		s, _ := newTestStore(StoreOptions{RevokeOnReuse: revoke})
		u, _ := s.CreateUser(NewUser{Email: "a@example.com"})
		ss, _ := s.CreateSession(NewSession{UserID: u.ID})
		r1, err := s.IssueRefresh(ss.ID)
		if err != nil {
			t.Fatal(err)
		}
		r2, got, err := s.RotateRefresh(r1)
		if err != nil || got.ID != ss.ID || r2 == r1 {
			t.Fatalf("rotate: %v", err)
		}
		if _, _, err := s.RotateRefresh(r1); !errors.Is(err, ErrReused) {
			t.Fatalf("reuse: %v", err)
		}
		_, _, err = s.RotateRefresh(r2)
		if revoke != errors.Is(err, ErrInactive) {
			t.Fatalf("RevokeOnReuse=%v: successor gave %v", revoke, err)
		}
		if _, _, err := s.RotateRefresh("unknown"); !errors.Is(err, ErrNotFound) {
			t.Fatal(err)
		}
	}
}

func TestRefreshConcurrentSingleUse(t *testing.T) {
	s, _ := newTestStore(StoreOptions{})
	u, _ := s.CreateUser(NewUser{Email: "a@example.com"})
	ss, _ := s.CreateSession(NewSession{UserID: u.ID})
	r, _ := s.IssueRefresh(ss.ID)
	var ok, reused atomic.Int32
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			_, _, err := s.RotateRefresh(r)
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, ErrReused):
				reused.Add(1)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 1 || reused.Load() != 31 {
		t.Fatalf("%d successes, %d reuses", ok.Load(), reused.Load())
	}
}

func TestRefreshAfterRevokeAndTTL(t *testing.T) {
	s, clock := newTestStore(StoreOptions{RefreshTTL: time.Hour})
	u, _ := s.CreateUser(NewUser{Email: "a@example.com"})
	ss, _ := s.CreateSession(NewSession{UserID: u.ID})
	r, _ := s.IssueRefresh(ss.ID)
	if got, err := s.RefreshSession(r); err != nil || got.ID != ss.ID {
		t.Fatal(err)
	}
	clock.Advance(time.Hour)
	if _, _, err := s.RotateRefresh(r); !errors.Is(err, ErrExpired) {
		t.Fatalf("expired refresh: %v", err)
	}
	r, _ = s.IssueRefresh(ss.ID)
	s.RevokeSession(ss.ID)
	if _, _, err := s.RotateRefresh(r); !errors.Is(err, ErrInactive) {
		t.Fatalf("refresh after revoke: %v", err)
	}
	if _, err := s.IssueRefresh(ss.ID); !errors.Is(err, ErrInactive) {
		t.Fatal("refresh token issued for a revoked session")
	}
}

func TestCodesPKCE(t *testing.T) {
	s, clock := newTestStore(StoreOptions{})
	u, _ := s.CreateUser(NewUser{Email: "a@example.com"})
	ss, _ := s.CreateSession(NewSession{UserID: u.ID})
	verifier := RandomToken(32)
	challenge := PKCEChallenge(verifier)
	const redirect = "http://127.0.0.1/cb"

	// RFC 7636 appendix B.
	if PKCEChallenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") != "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" {
		t.Fatal("PKCEChallenge does not match RFC 7636 B")
	}

	issue := func() string {
		c, err := s.IssueCodeGrant(CodeGrant{SessionID: ss.ID, Challenge: challenge, RedirectURI: redirect, Nonce: "n1"})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	tests := []struct {
		name, verifier, redirect string
		want                     error
	}{
		{"wrong verifier", RandomToken(32), redirect, ErrPKCE},
		{"no verifier", "", redirect, ErrPKCE},
		{"short verifier", "abc", redirect, ErrPKCE},
		{"redirect mismatch", verifier, redirect + "/", ErrRedirectMismatch},
	}
	for _, tc := range tests {
		c := issue()
		if _, _, err := s.RedeemCode(c, tc.verifier, tc.redirect); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
		if _, _, err := s.RedeemCode(c, verifier, redirect); !errors.Is(err, ErrReused) {
			t.Errorf("%s: a failed redemption did not spend the code: %v", tc.name, err)
		}
		ss, _ = s.CreateSession(NewSession{UserID: u.ID}) // reuse revoked the last one
	}

	c := issue()
	got, g, err := s.RedeemCode(c, verifier, redirect)
	if err != nil || got.ID != ss.ID || g.Nonce != "n1" {
		t.Fatalf("redeem: %v", err)
	}
	if _, _, err := s.RedeemCode(c, verifier, redirect); !errors.Is(err, ErrReused) {
		t.Fatalf("second redemption: %v", err)
	}
	if got, _ := s.Session(ss.ID); got.Status != StatusRevoked {
		t.Fatal("code reuse did not revoke the session")
	}

	ss, _ = s.CreateSession(NewSession{UserID: u.ID})
	c = issue()
	clock.Advance(time.Minute)
	if _, _, err := s.RedeemCode(c, verifier, redirect); !errors.Is(err, ErrExpired) {
		t.Fatalf("expired code: %v", err)
	}

	// No challenge: a verifier is a downgrade attempt; none is fine.
	c, _ = s.IssueCode(ss.ID, "", redirect)
	if _, _, err := s.RedeemCode(c, verifier, redirect); !errors.Is(err, ErrPKCE) {
		t.Fatalf("verifier without challenge: %v", err)
	}
	ss, _ = s.CreateSession(NewSession{UserID: u.ID})
	c, _ = s.IssueCode(ss.ID, "", redirect)
	if _, _, err := s.RedeemCode(c, "", redirect); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.RedeemCode("nope", "", redirect); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
}

func TestDeleteUser(t *testing.T) {
	tests := []struct {
		name  string
		setup func(s *Store, uid string) (sid, refresh, code string)
	}{
		{"no sessions", func(*Store, string) (string, string, string) { return "", "", "" }},
		{"live session with refresh token and code", func(s *Store, uid string) (string, string, string) {
			ss, _ := s.CreateSession(NewSession{UserID: uid})
			rt, _ := s.IssueRefresh(ss.ID)
			c, _ := s.IssueCode(ss.ID, "", "https://app.example/cb")
			return ss.ID, rt, c
		}},
		{"ended session", func(s *Store, uid string) (string, string, string) {
			ss, _ := s.CreateSession(NewSession{UserID: uid})
			rt, _ := s.IssueRefresh(ss.ID)
			s.EndSession(ss.ID)
			return ss.ID, rt, ""
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestStore(StoreOptions{})
			u, _ := s.CreateUser(NewUser{Email: "Gone@Example.com", Password: "pw"})
			other, _ := s.CreateUser(NewUser{Email: "stays@example.com", Password: "pw"})
			os, _ := s.CreateSession(NewSession{UserID: other.ID})
			ort, _ := s.IssueRefresh(os.ID)
			sid, rt, code := tt.setup(s, u.ID)

			if err := s.DeleteUser(u.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := s.User(u.ID); !errors.Is(err, ErrNotFound) {
				t.Fatalf("User after delete: %v", err)
			}
			if _, err := s.UserByEmail("gone@example.com"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("UserByEmail after delete: %v", err)
			}
			if _, err := s.CheckPassword("gone@example.com", "pw"); !errors.Is(err, ErrBadCredentials) {
				t.Fatalf("sign-in after delete: %v", err)
			}
			if err := s.DeleteUser(u.ID); !errors.Is(err, ErrNotFound) {
				t.Fatalf("second delete: %v", err)
			}
			if sid != "" {
				ss, err := s.Session(sid)
				if err != nil || ss.Status.Live() {
					t.Fatalf("session after delete: %+v %v", ss, err)
				}
				if _, _, err := s.LiveSession(sid); err == nil {
					t.Fatal("session still live")
				}
			}
			if rt != "" {
				if _, _, err := s.RotateRefresh(rt); !errors.Is(err, ErrNotFound) {
					t.Fatalf("refresh after delete: %v", err)
				}
			}
			if code != "" {
				if _, _, err := s.RedeemCode(code, "", "https://app.example/cb"); !errors.Is(err, ErrNotFound) {
					t.Fatalf("code after delete: %v", err)
				}
			}
			// The address is free again; the new account is a new user.
			again, err := s.CreateUser(NewUser{Email: "gone@example.com", Password: "pw2"})
			if err != nil || again.ID == u.ID {
				t.Fatalf("re-create: %+v %v", again, err)
			}
			if _, err := s.CheckPassword("gone@example.com", "pw2"); err != nil {
				t.Fatal(err)
			}
			// Nobody else is touched.
			if _, _, err := s.LiveSession(os.ID); err != nil {
				t.Fatalf("other user's session: %v", err)
			}
			if _, _, err := s.RotateRefresh(ort); err != nil {
				t.Fatalf("other user's refresh token: %v", err)
			}
			if nu, _ := s.Counts(); nu != 2 {
				t.Fatalf("users %d", nu)
			}
		})
	}
	s, _ := newTestStore(StoreOptions{})
	if err := s.DeleteUser("nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown user: %v", err)
	}
}
