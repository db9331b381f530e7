// Package storetest is a conformance suite for DIY stores, in the spirit of
// testing/fstest.TestFS: a store author calls one function from a test and
// gets the verdicts the built-in stores get.
//
//	func TestStore(t *testing.T) {
//		s, err := mystore.Open(t.Context(), dsn)
//		if err != nil {
//			t.Fatal(err)
//		}
//		storetest.Run(t, s)
//	}
//
// Run checks a full diy.Store; Users, Sessions and Refresh check
// one part (redisstore provides only sessions and a limiter). Every test
// uses fresh random ids and emails, so a store may hold other data and
// several runs may share one database. Times are compared to the
// microsecond.
package storetest

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authport/authport/diy"
)

// Run runs Users, Sessions, Refresh and, if s is a diy.Sweeper, Sweep.
func Run(t *testing.T, s diy.Store) {
	t.Run("Users", func(t *testing.T) { Users(t, s) })
	t.Run("Sessions", func(t *testing.T) { Sessions(t, s) })
	t.Run("Refresh", func(t *testing.T) { Refresh(t, s) })
	if sw, ok := s.(diy.Sweeper); ok {
		t.Run("Sweep", func(t *testing.T) { Sweep(t, s, sw) })
	}
}

func id(prefix string) string { return prefix + strings.ToLower(rand.Text()) }

func hash() []byte {
	b := make([]byte, 32)
	rand.Read(b)
	h := sha256.Sum256(b)
	return h[:]
}

// now is a base time at microsecond precision.
func now() time.Time { return time.Now().Truncate(time.Microsecond) }

func sameTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if got.IsZero() != want.IsZero() || got.Sub(want).Abs() >= time.Microsecond {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: error %v, want %v", what, err, want)
	}
}

func noErr(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// Users checks a diy.UserStore: every field round-trips (roles,
// permissions and organisation included), emails are unique under
// concurrency, and UpdateUser is a compare-and-swap on UpdatedAt (of ten
// concurrent updates from one read, exactly one is stored).
func Users(t *testing.T, s diy.UserStore) {
	ctx := t.Context()
	newUser := func(roles ...string) *diy.User {
		n := now()
		return &diy.User{ID: id("usr_"), Email: id("u") + "@example.com", PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
			Roles: roles, CreatedAt: n, UpdatedAt: n}
	}
	checkUser := func(t *testing.T, got, want *diy.User) {
		t.Helper()
		if got.ID != want.ID || got.Email != want.Email || got.PasswordHash != want.PasswordHash || got.Disabled != want.Disabled {
			t.Errorf("user = %+v, want %+v", got, want)
		}
		sameList(t, "roles", got.Roles, want.Roles)
		sameList(t, "permissions", got.Permissions, want.Permissions)
		if got.OrgID != want.OrgID || got.OrgSlug != want.OrgSlug {
			t.Errorf("organisation = %q/%q, want %q/%q", got.OrgID, got.OrgSlug, want.OrgID, want.OrgSlug)
		}
		sameTime(t, "CreatedAt", got.CreatedAt, want.CreatedAt)
		sameTime(t, "UpdatedAt", got.UpdatedAt, want.UpdatedAt)
	}

	t.Run("CreateAndGet", func(t *testing.T) {
		for _, tc := range []struct {
			name  string
			roles []string
			email string
			mod   func(*diy.User)
		}{
			{"NoRoles", nil, "", nil},
			{"Roles", []string{"admin", "org:editor"}, "", nil},
			{"UnicodeEmail", nil, "jürgen." + strings.ToLower(rand.Text()) + "@bücher.example", nil},
			{"PermissionsAndOrg", []string{"admin"}, "", func(u *diy.User) {
				u.Permissions = []string{"billing:manage", "reports:read"}
				u.OrgID, u.OrgSlug = id("org_"), "acme"
			}},
			{"PermissionsOnly", nil, "", func(u *diy.User) { u.Permissions = []string{"reports:read"} }},
			{"UnicodeOrg", nil, "", func(u *diy.User) { u.OrgID, u.OrgSlug = id("org_"), "bücher-☃" }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				u := newUser(tc.roles...)
				if tc.email != "" {
					u.Email = tc.email
				}
				if tc.mod != nil {
					tc.mod(u)
				}
				noErr(t, "CreateUser", s.CreateUser(ctx, u))
				got, err := s.UserByEmail(ctx, u.Email)
				noErr(t, "UserByEmail", err)
				checkUser(t, got, u)
				got, err = s.UserByID(ctx, u.ID)
				noErr(t, "UserByID", err)
				checkUser(t, got, u)
			})
		}
	})
	t.Run("NotFound", func(t *testing.T) {
		_, err := s.UserByEmail(ctx, id("nobody")+"@example.com")
		wantErr(t, "UserByEmail", err, diy.ErrNotFound)
		_, err = s.UserByID(ctx, id("usr_"))
		wantErr(t, "UserByID", err, diy.ErrNotFound)
		u := newUser()
		wantErr(t, "UpdateUser", s.UpdateUser(ctx, u, u.UpdatedAt), diy.ErrNotFound)
	})
	t.Run("DuplicateEmail", func(t *testing.T) {
		u := newUser()
		noErr(t, "CreateUser", s.CreateUser(ctx, u))
		dup := newUser()
		dup.Email = u.Email
		wantErr(t, "CreateUser(same email)", s.CreateUser(ctx, dup), diy.ErrDuplicate)
		got, err := s.UserByEmail(ctx, u.Email)
		noErr(t, "UserByEmail", err)
		if got.ID != u.ID {
			t.Fatalf("duplicate replaced the user: id %q, want %q", got.ID, u.ID)
		}
	})
	t.Run("ConcurrentDuplicate", func(t *testing.T) {
		email := id("race") + "@example.com"
		var ok, dup atomic.Int32
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				u := newUser()
				u.Email = email
				switch err := s.CreateUser(ctx, u); {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, diy.ErrDuplicate):
					dup.Add(1)
				default:
					t.Errorf("CreateUser: %v", err)
				}
			})
		}
		wg.Wait()
		if ok.Load() != 1 || dup.Load() != 9 {
			t.Fatalf("10 concurrent sign-ups of one email: %d created, %d duplicates; want 1 and 9", ok.Load(), dup.Load())
		}
	})
	t.Run("Update", func(t *testing.T) {
		u := newUser("a")
		noErr(t, "CreateUser", s.CreateUser(ctx, u))
		prev := u.UpdatedAt
		u.PasswordHash = "$2a$10$abcdefghijklmnopqrstuu6M2cFSCNcu2XkUXh2wTLl3a4cXTlYyO"
		u.Roles = []string{"b", "c"}
		u.Permissions = []string{"reports:read", "reports:write"}
		u.OrgID, u.OrgSlug = id("org_"), "acme"
		u.Disabled = true
		u.UpdatedAt = u.UpdatedAt.Add(time.Hour)
		noErr(t, "UpdateUser", s.UpdateUser(ctx, u, prev))
		got, err := s.UserByID(ctx, u.ID)
		noErr(t, "UserByID", err)
		checkUser(t, got, u)
		prev = got.UpdatedAt
		u.Roles, u.Permissions, u.OrgID, u.OrgSlug = nil, nil, "", ""
		u.Disabled = false
		u.UpdatedAt = u.UpdatedAt.Add(time.Microsecond)
		noErr(t, "UpdateUser", s.UpdateUser(ctx, u, prev))
		got, err = s.UserByEmail(ctx, u.Email)
		noErr(t, "UserByEmail", err)
		checkUser(t, got, u)
	})
	t.Run("UpdateConflict", func(t *testing.T) {
		u := newUser("a")
		u.Permissions = []string{"reports:read"}
		noErr(t, "CreateUser", s.CreateUser(ctx, u))
		stale := u.UpdatedAt
		next := *u
		next.Permissions, next.UpdatedAt = nil, u.UpdatedAt.Add(time.Second)
		noErr(t, "UpdateUser", s.UpdateUser(ctx, &next, stale))
		// A writer that read the record before that update must not undo it.
		late := *u
		late.Roles, late.UpdatedAt = []string{"admin"}, u.UpdatedAt.Add(2*time.Second)
		wantErr(t, "UpdateUser(stale)", s.UpdateUser(ctx, &late, stale), diy.ErrConflict)
		got, err := s.UserByID(ctx, u.ID)
		noErr(t, "UserByID", err)
		checkUser(t, got, &next)
	})
	t.Run("ConcurrentUpdate", func(t *testing.T) {
		u := newUser()
		noErr(t, "CreateUser", s.CreateUser(ctx, u))
		var ok, conflict atomic.Int32
		winner := make(chan string, 10)
		var wg sync.WaitGroup
		for i := range 10 {
			wg.Go(func() {
				mine := *u
				mine.Roles = []string{"r" + string(rune('a'+i))}
				mine.UpdatedAt = u.UpdatedAt.Add(time.Duration(i+1) * time.Second)
				switch err := s.UpdateUser(ctx, &mine, u.UpdatedAt); {
				case err == nil:
					ok.Add(1)
					winner <- mine.Roles[0]
				case errors.Is(err, diy.ErrConflict):
					conflict.Add(1)
				default:
					t.Errorf("UpdateUser: %v", err)
				}
			})
		}
		wg.Wait()
		close(winner)
		if ok.Load() != 1 || conflict.Load() != 9 {
			t.Fatalf("10 concurrent updates from one read: %d stored, %d conflicts; want 1 and 9", ok.Load(), conflict.Load())
		}
		got, err := s.UserByID(ctx, u.ID)
		noErr(t, "UserByID", err)
		if w := <-winner; len(got.Roles) != 1 || got.Roles[0] != w {
			t.Fatalf("stored roles %q, want the winner's %q", got.Roles, w)
		}
	})
}

// sameList compares role or permission lists, nil and empty alike.
func sameList(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}

// newSession returns a live session of user uid created at n.
func newSession(uid string, n time.Time) *diy.SessionRecord {
	return &diy.SessionRecord{ID: id("ses_"), TokenHash: hash(), UserID: uid, Email: uid + "@example.com", Roles: []string{"member"},
		Permissions: []string{"reports:read"}, OrgID: "org_storetest", OrgSlug: "storetest", CreatedAt: n, LastSeenAt: n, IdleExpiresAt: n.Add(30 * time.Minute), ExpiresAt: n.Add(12 * time.Hour),
		UserAgent: "storetest/1.0", IP: "192.0.2.1"}
}

func checkSession(t *testing.T, got, want *diy.SessionRecord) {
	t.Helper()
	if got.ID != want.ID || string(got.TokenHash) != string(want.TokenHash) || got.UserID != want.UserID || got.Email != want.Email ||
		got.UserAgent != want.UserAgent || got.IP != want.IP {
		t.Errorf("session = %+v, want %+v", got, want)
	}
	sameList(t, "roles", got.Roles, want.Roles)
	sameList(t, "permissions", got.Permissions, want.Permissions)
	if got.OrgID != want.OrgID || got.OrgSlug != want.OrgSlug {
		t.Errorf("organisation = %q/%q, want %q/%q", got.OrgID, got.OrgSlug, want.OrgID, want.OrgSlug)
	}
	sameTime(t, "CreatedAt", got.CreatedAt, want.CreatedAt)
	sameTime(t, "LastSeenAt", got.LastSeenAt, want.LastSeenAt)
	sameTime(t, "IdleExpiresAt", got.IdleExpiresAt, want.IdleExpiresAt)
	sameTime(t, "ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	sameTime(t, "RevokedAt", got.RevokedAt, want.RevokedAt)
}

// gone reports whether a lookup after revocation shows the session ended:
// revoked (RevokedAt set) or forgotten (ErrNotFound).
func gone(t *testing.T, what string, r *diy.SessionRecord, err error) {
	t.Helper()
	if errors.Is(err, diy.ErrNotFound) {
		return
	}
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if r.RevokedAt.IsZero() {
		t.Fatalf("%s: session still live after revocation", what)
	}
}

// Sessions checks a diy.SessionStore, including that a session keeps its
// snapshot of the user's roles, permissions and organisation.
func Sessions(t *testing.T, s diy.SessionStore) {
	ctx := t.Context()
	t.Run("CreateAndGet", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			mod  func(*diy.SessionRecord)
		}{
			{"Plain", func(*diy.SessionRecord) {}},
			{"NoRoles", func(r *diy.SessionRecord) { r.Roles = nil }},
			{"NoAccess", func(r *diy.SessionRecord) { r.Roles, r.Permissions, r.OrgID, r.OrgSlug = nil, nil, "", "" }},
			{"ManyPermissions", func(r *diy.SessionRecord) {
				r.Permissions = nil
				for i := range 64 {
					r.Permissions = append(r.Permissions, "perm:"+strings.Repeat("x", i))
				}
			}},
			{"UnicodeOrg", func(r *diy.SessionRecord) { r.OrgID, r.OrgSlug = "org_bücher", "bücher-☃" }},
			{"NoClientInfo", func(r *diy.SessionRecord) { r.UserAgent, r.IP = "", "" }},
			{"UnicodeUserAgent", func(r *diy.SessionRecord) { r.UserAgent = "Mozilla/5.0 (Überphone; ☃)" }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := newSession(id("usr_"), now())
				tc.mod(r)
				noErr(t, "CreateSession", s.CreateSession(ctx, r))
				got, err := s.SessionByTokenHash(ctx, r.TokenHash)
				noErr(t, "SessionByTokenHash", err)
				checkSession(t, got, r)
				got, err = s.SessionByID(ctx, r.ID)
				noErr(t, "SessionByID", err)
				checkSession(t, got, r)
			})
		}
	})
	t.Run("NotFound", func(t *testing.T) {
		_, err := s.SessionByTokenHash(ctx, hash())
		wantErr(t, "SessionByTokenHash", err, diy.ErrNotFound)
		_, err = s.SessionByID(ctx, id("ses_"))
		wantErr(t, "SessionByID", err, diy.ErrNotFound)
		n := now()
		wantErr(t, "TouchSession", s.TouchSession(ctx, id("ses_"), n, n.Add(time.Minute)), diy.ErrNotFound)
		wantErr(t, "RevokeSession", s.RevokeSession(ctx, id("ses_"), n), diy.ErrNotFound)
		c, err := s.RevokeUserSessions(ctx, id("usr_"), "", n)
		noErr(t, "RevokeUserSessions", err)
		if c != 0 {
			t.Fatalf("RevokeUserSessions of an unknown user = %d", c)
		}
		list, err := s.ListUserSessions(ctx, id("usr_"), n)
		noErr(t, "ListUserSessions", err)
		if len(list) != 0 {
			t.Fatalf("ListUserSessions of an unknown user = %d sessions", len(list))
		}
	})
	t.Run("Touch", func(t *testing.T) {
		n := now()
		r := newSession(id("usr_"), n)
		noErr(t, "CreateSession", s.CreateSession(ctx, r))
		later := n.Add(5 * time.Minute)
		noErr(t, "TouchSession", s.TouchSession(ctx, r.ID, later, later.Add(30*time.Minute)))
		got, err := s.SessionByTokenHash(ctx, r.TokenHash)
		noErr(t, "SessionByTokenHash", err)
		r.LastSeenAt, r.IdleExpiresAt = later, later.Add(30*time.Minute)
		checkSession(t, got, r)
	})
	t.Run("RevokeOne", func(t *testing.T) {
		n := now()
		uid := id("usr_")
		a, b := newSession(uid, n), newSession(uid, n.Add(time.Second))
		noErr(t, "CreateSession", s.CreateSession(ctx, a))
		noErr(t, "CreateSession", s.CreateSession(ctx, b))
		noErr(t, "RevokeSession", s.RevokeSession(ctx, a.ID, n.Add(time.Minute)))
		got, err := s.SessionByTokenHash(ctx, a.TokenHash)
		gone(t, "SessionByTokenHash(revoked)", got, err)
		if err == nil {
			sameTime(t, "RevokedAt", got.RevokedAt, n.Add(time.Minute))
		}
		got, err = s.SessionByID(ctx, a.ID)
		gone(t, "SessionByID(revoked)", got, err)
		if err := s.TouchSession(ctx, a.ID, n.Add(2*time.Minute), n.Add(time.Hour)); !errors.Is(err, diy.ErrNotFound) {
			t.Fatalf("TouchSession of a revoked session: %v, want ErrNotFound (it must not revive it)", err)
		}
		got, err = s.SessionByTokenHash(ctx, a.TokenHash)
		gone(t, "SessionByTokenHash(revoked, touched)", got, err)
		got, err = s.SessionByTokenHash(ctx, b.TokenHash)
		noErr(t, "other session", err)
		checkSession(t, got, b)
		// Revoking again is harmless.
		if err := s.RevokeSession(ctx, a.ID, n.Add(3*time.Minute)); err != nil && !errors.Is(err, diy.ErrNotFound) {
			t.Fatalf("RevokeSession again: %v", err)
		}
	})
	t.Run("RevokeUser", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			except bool
		}{{"All", false}, {"AllOthers", true}} {
			t.Run(tc.name, func(t *testing.T) {
				n := now()
				uid, other := id("usr_"), id("usr_")
				var mine []*diy.SessionRecord
				for i := range 4 {
					r := newSession(uid, n.Add(time.Duration(i)*time.Second))
					noErr(t, "CreateSession", s.CreateSession(ctx, r))
					mine = append(mine, r)
				}
				theirs := newSession(other, n)
				noErr(t, "CreateSession", s.CreateSession(ctx, theirs))
				except := ""
				if tc.except {
					except = mine[2].ID
				}
				c, err := s.RevokeUserSessions(ctx, uid, except, n.Add(time.Minute))
				noErr(t, "RevokeUserSessions", err)
				want := 4
				if tc.except {
					want = 3
				}
				if c != want {
					t.Errorf("RevokeUserSessions = %d, want %d", c, want)
				}
				for _, r := range mine {
					got, err := s.SessionByTokenHash(ctx, r.TokenHash)
					if r.ID == except {
						noErr(t, "kept session", err)
						checkSession(t, got, r)
						continue
					}
					gone(t, "revoked session", got, err)
				}
				got, err := s.SessionByTokenHash(ctx, theirs.TokenHash)
				noErr(t, "other user's session", err)
				checkSession(t, got, theirs)
				c, err = s.RevokeUserSessions(ctx, uid, except, n.Add(2*time.Minute))
				noErr(t, "RevokeUserSessions again", err)
				if c != 0 {
					t.Errorf("RevokeUserSessions again = %d, want 0", c)
				}
			})
		}
	})
	t.Run("List", func(t *testing.T) {
		n := now()
		uid := id("usr_")
		var live []*diy.SessionRecord
		for i := range 3 {
			r := newSession(uid, n.Add(time.Duration(i)*time.Second))
			noErr(t, "CreateSession", s.CreateSession(ctx, r))
			live = append(live, r)
		}
		revoked := newSession(uid, n)
		noErr(t, "CreateSession", s.CreateSession(ctx, revoked))
		noErr(t, "RevokeSession", s.RevokeSession(ctx, revoked.ID, n))
		idle := newSession(uid, n.Add(-time.Hour))
		idle.IdleExpiresAt = n.Add(-time.Minute)
		noErr(t, "CreateSession", s.CreateSession(ctx, idle))
		old := newSession(uid, n.Add(-13*time.Hour))
		old.LastSeenAt, old.IdleExpiresAt, old.ExpiresAt = n.Add(-10*time.Minute), n.Add(20*time.Minute), n.Add(-time.Hour)
		noErr(t, "CreateSession", s.CreateSession(ctx, old))
		noErr(t, "CreateSession", s.CreateSession(ctx, newSession(id("usr_"), n)))

		list, err := s.ListUserSessions(ctx, uid, n.Add(10*time.Second))
		noErr(t, "ListUserSessions", err)
		if len(list) != 3 {
			var ids []string
			for _, r := range list {
				ids = append(ids, r.ID)
			}
			t.Fatalf("ListUserSessions = %q, want the 3 live sessions (not revoked, idle or expired ones)", ids)
		}
		for i, r := range list {
			checkSession(t, r, live[2-i]) // newest first
		}
	})
	t.Run("Concurrent", func(t *testing.T) {
		n := now()
		uid := id("usr_")
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() {
				r := newSession(uid, n.Add(time.Duration(i)*time.Millisecond))
				if err := s.CreateSession(ctx, r); err != nil {
					t.Errorf("CreateSession: %v", err)
					return
				}
				if _, err := s.SessionByTokenHash(ctx, r.TokenHash); err != nil {
					t.Errorf("SessionByTokenHash: %v", err)
				}
				if err := s.TouchSession(ctx, r.ID, n.Add(time.Second), n.Add(time.Hour)); err != nil {
					t.Errorf("TouchSession: %v", err)
				}
			})
		}
		wg.Wait()
		list, err := s.ListUserSessions(ctx, uid, n.Add(time.Second))
		noErr(t, "ListUserSessions", err)
		if len(list) != 20 {
			t.Fatalf("ListUserSessions = %d sessions, want 20", len(list))
		}
	})
}

func newRefresh(uid, family string, n time.Time) *diy.RefreshToken {
	return &diy.RefreshToken{TokenHash: hash(), FamilyID: family, UserID: uid, IssuedAt: n, ExpiresAt: n.Add(12 * time.Hour)}
}

func checkRefresh(t *testing.T, got, want *diy.RefreshToken) {
	t.Helper()
	if string(got.TokenHash) != string(want.TokenHash) || got.FamilyID != want.FamilyID || got.UserID != want.UserID {
		t.Errorf("refresh token = %+v, want %+v", got, want)
	}
	sameTime(t, "IssuedAt", got.IssuedAt, want.IssuedAt)
	sameTime(t, "ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	sameTime(t, "UsedAt", got.UsedAt, want.UsedAt)
	sameTime(t, "RevokedAt", got.RevokedAt, want.RevokedAt)
}

// Refresh checks a diy.RefreshStore, including the atomic rotation that
// lets exactly one of 50 parallel exchanges of one token succeed.
func Refresh(t *testing.T, s diy.RefreshStore) {
	ctx := t.Context()
	t.Run("CreateAndGet", func(t *testing.T) {
		rt := newRefresh(id("usr_"), id("ses_"), now())
		noErr(t, "CreateRefreshToken", s.CreateRefreshToken(ctx, rt))
		got, err := s.RefreshTokenByHash(ctx, rt.TokenHash)
		noErr(t, "RefreshTokenByHash", err)
		checkRefresh(t, got, rt)
		_, err = s.RefreshTokenByHash(ctx, hash())
		wantErr(t, "RefreshTokenByHash(unknown)", err, diy.ErrNotFound)
	})
	t.Run("Rotate", func(t *testing.T) {
		n := now()
		rt := newRefresh(id("usr_"), id("ses_"), n)
		noErr(t, "CreateRefreshToken", s.CreateRefreshToken(ctx, rt))
		next := hash()
		at := n.Add(time.Minute)
		old, err := s.RotateRefreshToken(ctx, rt.TokenHash, next, at)
		noErr(t, "RotateRefreshToken", err)
		if old.FamilyID != rt.FamilyID || old.UserID != rt.UserID {
			t.Fatalf("rotated record = %+v, want family %q user %q", old, rt.FamilyID, rt.UserID)
		}
		got, err := s.RefreshTokenByHash(ctx, rt.TokenHash)
		noErr(t, "RefreshTokenByHash(old)", err)
		want := *rt
		want.UsedAt = at
		checkRefresh(t, got, &want)
		got, err = s.RefreshTokenByHash(ctx, next)
		noErr(t, "RefreshTokenByHash(successor)", err)
		checkRefresh(t, got, &diy.RefreshToken{TokenHash: next, FamilyID: rt.FamilyID, UserID: rt.UserID, IssuedAt: at, ExpiresAt: rt.ExpiresAt})

		// Reuse of the old token: refused, nothing stored.
		third := hash()
		got, err = s.RotateRefreshToken(ctx, rt.TokenHash, third, at.Add(time.Second))
		wantErr(t, "RotateRefreshToken(reused)", err, diy.ErrRefreshUnusable)
		if got == nil || got.UsedAt.IsZero() || got.FamilyID != rt.FamilyID {
			t.Fatalf("reuse returned %+v, want the used record", got)
		}
		_, err = s.RefreshTokenByHash(ctx, third)
		wantErr(t, "successor of a refused rotation", err, diy.ErrNotFound)

		// The successor rotates in turn.
		_, err = s.RotateRefreshToken(ctx, next, hash(), at.Add(2*time.Second))
		noErr(t, "RotateRefreshToken(successor)", err)
	})
	t.Run("RotateUnknown", func(t *testing.T) {
		_, err := s.RotateRefreshToken(ctx, hash(), hash(), now())
		wantErr(t, "RotateRefreshToken(unknown)", err, diy.ErrNotFound)
	})
	t.Run("RotateExpired", func(t *testing.T) {
		n := now()
		rt := newRefresh(id("usr_"), id("ses_"), n.Add(-13*time.Hour))
		noErr(t, "CreateRefreshToken", s.CreateRefreshToken(ctx, rt))
		got, err := s.RotateRefreshToken(ctx, rt.TokenHash, hash(), n)
		wantErr(t, "RotateRefreshToken(expired)", err, diy.ErrRefreshUnusable)
		if got == nil || !got.UsedAt.IsZero() || !got.RevokedAt.IsZero() {
			t.Fatalf("expired token returned %+v, want an unused, unrevoked record", got)
		}
	})
	t.Run("RevokeFamily", func(t *testing.T) {
		n := now()
		uid, fam := id("usr_"), id("ses_")
		a, b := newRefresh(uid, fam, n), newRefresh(uid, fam, n)
		other := newRefresh(uid, id("ses_"), n)
		for _, rt := range []*diy.RefreshToken{a, b, other} {
			noErr(t, "CreateRefreshToken", s.CreateRefreshToken(ctx, rt))
		}
		noErr(t, "RevokeRefreshFamily", s.RevokeRefreshFamily(ctx, fam, n.Add(time.Minute)))
		for _, rt := range []*diy.RefreshToken{a, b} {
			got, err := s.RotateRefreshToken(ctx, rt.TokenHash, hash(), n.Add(2*time.Minute))
			wantErr(t, "RotateRefreshToken(revoked family)", err, diy.ErrRefreshUnusable)
			sameTime(t, "RevokedAt", got.RevokedAt, n.Add(time.Minute))
		}
		_, err := s.RotateRefreshToken(ctx, other.TokenHash, hash(), n.Add(2*time.Minute))
		noErr(t, "RotateRefreshToken(other family)", err)
		noErr(t, "RevokeRefreshFamily(unknown)", s.RevokeRefreshFamily(ctx, id("ses_"), n))
	})
	t.Run("RevokeUser", func(t *testing.T) {
		n := now()
		uid := id("usr_")
		keep, f1, f2 := newRefresh(uid, id("ses_"), n), newRefresh(uid, id("ses_"), n), newRefresh(uid, id("ses_"), n)
		theirs := newRefresh(id("usr_"), id("ses_"), n)
		for _, rt := range []*diy.RefreshToken{keep, f1, f2, theirs} {
			noErr(t, "CreateRefreshToken", s.CreateRefreshToken(ctx, rt))
		}
		noErr(t, "RevokeUserRefreshTokens", s.RevokeUserRefreshTokens(ctx, uid, keep.FamilyID, n))
		for _, rt := range []*diy.RefreshToken{f1, f2} {
			_, err := s.RotateRefreshToken(ctx, rt.TokenHash, hash(), n.Add(time.Second))
			wantErr(t, "RotateRefreshToken(revoked)", err, diy.ErrRefreshUnusable)
		}
		for _, rt := range []*diy.RefreshToken{keep, theirs} {
			_, err := s.RotateRefreshToken(ctx, rt.TokenHash, hash(), n.Add(time.Second))
			noErr(t, "RotateRefreshToken(kept)", err)
		}
		noErr(t, "RevokeUserRefreshTokens(all)", s.RevokeUserRefreshTokens(ctx, uid, "", n))
	})
	t.Run("ParallelRotation", func(t *testing.T) {
		const n = 50
		base := now()
		rt := newRefresh(id("usr_"), id("ses_"), base)
		noErr(t, "CreateRefreshToken", s.CreateRefreshToken(ctx, rt))
		var ok, refused atomic.Int32
		winners := make(chan []byte, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				next := hash()
				<-start
				_, err := s.RotateRefreshToken(ctx, rt.TokenHash, next, base.Add(time.Second))
				switch {
				case err == nil:
					ok.Add(1)
					winners <- next
				case errors.Is(err, diy.ErrRefreshUnusable):
					refused.Add(1)
				default:
					t.Errorf("RotateRefreshToken: %v", err)
				}
			})
		}
		close(start)
		wg.Wait()
		close(winners)
		if ok.Load() != 1 || refused.Load() != n-1 {
			t.Fatalf("%d parallel rotations of one token: %d succeeded, %d refused; want exactly 1 and %d", n, ok.Load(), refused.Load(), n-1)
		}
		w := <-winners
		got, err := s.RefreshTokenByHash(ctx, w)
		noErr(t, "winner's successor", err)
		if got.FamilyID != rt.FamilyID {
			t.Fatalf("successor family %q, want %q", got.FamilyID, rt.FamilyID)
		}
	})
}

// Sweep checks a diy.Sweeper that also stores sessions and refresh tokens:
// expired records go, live ones stay.
func Sweep(t *testing.T, s diy.Store, sw diy.Sweeper) {
	ctx := t.Context()
	n := now()
	uid := id("usr_")
	live := newSession(uid, n)
	dead := newSession(uid, n.Add(-48*time.Hour))
	idle := newSession(uid, n.Add(-time.Hour))
	idle.IdleExpiresAt = n.Add(-time.Minute)
	for _, r := range []*diy.SessionRecord{live, dead, idle} {
		noErr(t, "CreateSession", s.CreateSession(ctx, r))
	}
	liveRT, deadRT := newRefresh(uid, live.ID, n), newRefresh(uid, dead.ID, n.Add(-48*time.Hour))
	for _, rt := range []*diy.RefreshToken{liveRT, deadRT} {
		noErr(t, "CreateRefreshToken", s.CreateRefreshToken(ctx, rt))
	}
	c, err := sw.Sweep(ctx, n)
	noErr(t, "Sweep", err)
	if c < 3 {
		t.Errorf("Sweep removed %d records, want at least 3", c)
	}
	_, err = s.SessionByID(ctx, live.ID)
	noErr(t, "live session after sweep", err)
	_, err = s.RefreshTokenByHash(ctx, liveRT.TokenHash)
	noErr(t, "live refresh token after sweep", err)
	for _, r := range []*diy.SessionRecord{dead, idle} {
		_, err := s.SessionByID(ctx, r.ID)
		wantErr(t, "expired session after sweep", err, diy.ErrNotFound)
	}
	_, err = s.RefreshTokenByHash(ctx, deadRT.TokenHash)
	wantErr(t, "expired refresh token after sweep", err, diy.ErrNotFound)
}
