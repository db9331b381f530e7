package diy_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authport/authport"
	"github.com/authport/authport/diy"
	"github.com/authport/authport/internal/testenv"
)

// accessOf returns the roles, permissions and organisation of s.
func accessOf(s *authport.Session) diy.Access {
	return diy.Access{Roles: s.Roles, Permissions: s.Permissions, OrgID: s.OrgID, OrgSlug: s.OrgSlug}
}

func sameAccess(a, b diy.Access) bool {
	eq := func(x, y []string) bool { return slices.Equal(x, y) || (len(x) == 0 && len(y) == 0) }
	return eq(a.Roles, b.Roles) && eq(a.Permissions, b.Permissions) && a.OrgID == b.OrgID && a.OrgSlug == b.OrgSlug
}

func mustAccessUser(t *testing.T, b *diy.Backend, a diy.Access) (*diy.User, string) {
	t.Helper()
	email := randEmail()
	u, err := b.CreateUserWithAccess(t.Context(), email, goodPassword, a)
	if err != nil {
		t.Fatal(err)
	}
	return u, email
}

// TestAccessInSession: permissions and the organisation reach the Session
// in both modes on every store (JWT: through the "permissions", "org_id"
// and "org_slug" claims, and again after a refresh), and authport's
// requirements and RequirePermission/RequireOrg guards work on them.
func TestAccessInSession(t *testing.T) {
	forEach(t, func(t *testing.T, kind string, mode diy.SessionMode) {
		b := newBackend(t, kind, mode, nil)
		ctx := t.Context()
		in := diy.Access{Roles: []string{"member", "admin", "member"}, Permissions: []string{"reports:write", "reports:read"},
			OrgID: "org_acme", OrgSlug: "acme"}
		want := diy.Access{Roles: []string{"admin", "member"}, Permissions: []string{"reports:read", "reports:write"},
			OrgID: "org_acme", OrgSlug: "acme"}
		u, email := mustAccessUser(t, b, in)
		if !sameAccess(u.Access(), want) {
			t.Fatalf("CreateUserWithAccess stored %+v, want %+v", u.Access(), want)
		}
		if got, err := b.User(ctx, u.ID); err != nil || !sameAccess(got.Access(), want) {
			t.Fatalf("User = %+v, %v", got, err)
		}
		tok := signIn(t, b, email, goodPassword)
		for _, verify := range []func(context.Context, authport.Credential) (*authport.Session, error){b.Verify, b.VerifyStrict} {
			s, err := verify(ctx, bearer(tok))
			if err != nil {
				t.Fatal(err)
			}
			if !sameAccess(accessOf(s), want) {
				t.Fatalf("session access %+v, want %+v", accessOf(s), want)
			}
			for _, req := range []authport.Requirement{authport.Permission("reports:read"), authport.Org(), authport.Org("org_acme"), authport.Role("admin")} {
				if err := req(s); err != nil {
					t.Fatalf("requirement refused: %v", err)
				}
			}
			for _, req := range []authport.Requirement{authport.Permission("billing:manage"), authport.Org("org_other")} {
				testenv.WantKind(t, req(s), authport.ErrForbidden)
			}
			if mode == diy.ModeJWT {
				if s.Claims["org_id"] != "org_acme" || s.Claims["org_slug"] != "acme" {
					t.Fatalf("claims %v", s.Claims)
				}
				if p, _ := s.Claims["permissions"].([]any); len(p) != 2 {
					t.Fatalf("permissions claim %v", s.Claims["permissions"])
				}
			}
		}
		if mode == diy.ModeJWT {
			next, err := b.Refresh(ctx, tok.RefreshToken)
			if err != nil {
				t.Fatal(err)
			}
			s, err := b.Verify(ctx, bearer(next))
			if err != nil || !sameAccess(accessOf(s), want) {
				t.Fatalf("after refresh: %+v, %v", s, err)
			}
		}
		// A user without permissions or organisation has none.
		_, plainEmail := mustUser(t, b)
		s, err := b.Verify(ctx, bearer(signIn(t, b, plainEmail, goodPassword)))
		if err != nil || s.Permissions != nil || s.OrgID != "" || s.OrgSlug != "" {
			t.Fatalf("plain user's session %+v, %v", s, err)
		}
		if mode == diy.ModeJWT {
			for _, c := range []string{"permissions", "org_id", "org_slug"} {
				if _, ok := s.Claims[c]; ok {
					t.Errorf("plain user's token has claim %q", c)
				}
			}
		}
	})
}

// TestRequirePermissionAndOrg guards routes with authport.RequirePermission
// and RequireOrg in front of DIY.
func TestRequirePermissionAndOrg(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.String(), func(t *testing.T) {
			b := newBackend(t, "sqlite", mode, nil)
			web, err := authport.NewWeb(b, authport.Config{CookieKeys: [][]byte{make([]byte, 32)}, Logger: quietLogger()})
			if err != nil {
				t.Fatal(err)
			}
			ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
			mux := http.NewServeMux()
			mux.Handle("/reports/", authport.RequirePermission("reports:read")(ok))
			mux.Handle("/acme/", authport.RequireOrg("org_acme")(ok))
			mux.Handle("/any-org/", authport.RequireOrg()(ok))
			h := web.Middleware(mux)

			_, full := mustAccessUser(t, b, diy.Access{Permissions: []string{"reports:read"}, OrgID: "org_acme"})
			_, other := mustAccessUser(t, b, diy.Access{OrgID: "org_other"})
			_, plain := mustUser(t, b)
			for _, tc := range []struct {
				email string
				path  string
				want  int
			}{
				{full, "/reports/x", 200}, {full, "/acme/x", 200}, {full, "/any-org/x", 200},
				{other, "/reports/x", 403}, {other, "/acme/x", 403}, {other, "/any-org/x", 200},
				{plain, "/reports/x", 403}, {plain, "/acme/x", 403}, {plain, "/any-org/x", 403},
			} {
				tok := signIn(t, b, tc.email, goodPassword)
				r := httptest.NewRequest("GET", tc.path, nil)
				r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, r)
				if rec.Code != tc.want {
					t.Errorf("%s %s: %d, want %d", tc.email, tc.path, rec.Code, tc.want)
				}
			}
		})
	}
}

// TestAccessChangeEndsSessions: every change of roles, permissions or
// organisation ends all of the user's sessions (and refresh families);
// the next sign-in carries the new access, and the parts not changed are
// kept. Setting what the user already has ends nothing.
func TestAccessChangeEndsSessions(t *testing.T) {
	start := diy.Access{Roles: []string{"member"}, Permissions: []string{"reports:read"}, OrgID: "org_1", OrgSlug: "one"}
	// One backend per store and mode; every case has its own user.
	backends := map[string]*diy.Backend{}
	for _, kind := range storeKinds {
		for _, mode := range modes {
			backends[kind+"/"+mode.String()] = newBackend(t, kind, mode, nil)
		}
	}
	for _, tc := range []struct {
		name   string
		change func(b *diy.Backend, ctx context.Context, uid string) error
		want   diy.Access
		same   bool // nothing changes
	}{
		{"AddPermission", func(b *diy.Backend, ctx context.Context, uid string) error {
			return b.SetPermissions(ctx, uid, []string{"reports:read", "reports:write"})
		}, diy.Access{Roles: []string{"member"}, Permissions: []string{"reports:read", "reports:write"}, OrgID: "org_1", OrgSlug: "one"}, false},
		{"RemovePermissions", func(b *diy.Backend, ctx context.Context, uid string) error {
			return b.SetPermissions(ctx, uid, nil)
		}, diy.Access{Roles: []string{"member"}, OrgID: "org_1", OrgSlug: "one"}, false},
		{"SwitchOrganization", func(b *diy.Backend, ctx context.Context, uid string) error {
			return b.SetOrganization(ctx, uid, "org_2", "")
		}, diy.Access{Roles: []string{"member"}, Permissions: []string{"reports:read"}, OrgID: "org_2"}, false},
		{"RenameOrganization", func(b *diy.Backend, ctx context.Context, uid string) error {
			return b.SetOrganization(ctx, uid, "org_1", "uno")
		}, diy.Access{Roles: []string{"member"}, Permissions: []string{"reports:read"}, OrgID: "org_1", OrgSlug: "uno"}, false},
		{"LeaveOrganization", func(b *diy.Backend, ctx context.Context, uid string) error {
			return b.SetOrganization(ctx, uid, "", "")
		}, diy.Access{Roles: []string{"member"}, Permissions: []string{"reports:read"}}, false},
		{"SetRolesKeepsTheRest", func(b *diy.Backend, ctx context.Context, uid string) error {
			return b.SetRoles(ctx, uid, []string{"admin"})
		}, diy.Access{Roles: []string{"admin"}, Permissions: []string{"reports:read"}, OrgID: "org_1", OrgSlug: "one"}, false},
		{"SetAccess", func(b *diy.Backend, ctx context.Context, uid string) error {
			return b.SetAccess(ctx, uid, diy.Access{Roles: []string{"owner"}, Permissions: []string{"billing:manage"}, OrgID: "org_3"})
		}, diy.Access{Roles: []string{"owner"}, Permissions: []string{"billing:manage"}, OrgID: "org_3"}, false},
		{"SetAccessNothing", func(b *diy.Backend, ctx context.Context, uid string) error {
			return b.SetAccess(ctx, uid, diy.Access{})
		}, diy.Access{}, false},
		// Unchanged (order and duplicates do not count).
		{"SamePermissions", func(b *diy.Backend, ctx context.Context, uid string) error {
			return b.SetPermissions(ctx, uid, []string{"reports:read", "reports:read"})
		}, start, true},
		{"SameOrganization", func(b *diy.Backend, ctx context.Context, uid string) error {
			return b.SetOrganization(ctx, uid, "org_1", "one")
		}, start, true},
		{"SameRoles", func(b *diy.Backend, ctx context.Context, uid string) error {
			return b.SetRoles(ctx, uid, []string{"member"})
		}, start, true},
		{"SameAccess", func(b *diy.Backend, ctx context.Context, uid string) error {
			return b.SetAccess(ctx, uid, diy.Access{Roles: []string{"member", "member"}, Permissions: []string{"reports:read"}, OrgID: "org_1", OrgSlug: "one"})
		}, start, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forEach(t, func(t *testing.T, kind string, mode diy.SessionMode) {
				b := backends[kind+"/"+mode.String()]
				ctx := t.Context()
				u, email := mustAccessUser(t, b, start)
				toks := []*authport.Tokens{signIn(t, b, email, goodPassword), signIn(t, b, email, goodPassword)}
				if err := tc.change(b, ctx, u.ID); err != nil {
					t.Fatal(err)
				}
				changed, want := !tc.same, tc.want
				if got, err := b.User(ctx, u.ID); err != nil || !sameAccess(got.Access(), want) {
					t.Fatalf("stored access %+v, %v; want %+v", got.Access(), err, want)
				}
				for _, tok := range toks {
					s, err := b.VerifyStrict(ctx, bearer(tok))
					if !changed {
						if err != nil || !sameAccess(accessOf(s), start) {
							t.Fatalf("an unchanged access set ended or changed a session: %+v, %v", s, err)
						}
						continue
					}
					testenv.WantKind(t, err, authport.ErrRevoked)
					if mode == diy.ModeJWT {
						_, err := b.Refresh(ctx, tok.RefreshToken)
						testenv.WantKind(t, err, authport.ErrRevoked)
					}
				}
				s, err := b.Verify(ctx, bearer(signIn(t, b, email, goodPassword)))
				if err != nil || !sameAccess(accessOf(s), want) {
					t.Fatalf("access after re-sign-in %+v, %v; want %+v", s, err, want)
				}
			})
		})
	}
}

// TestAccessBadInput: bad roles, permissions or organisations are
// ErrInvalidInput and change nothing: no user is created, the user's access
// stays, and its session lives on.
func TestAccessBadInput(t *testing.T) {
	b := newBackend(t, "sqlite", diy.ModeJWT, nil)
	ctx := t.Context()
	start := diy.Access{Roles: []string{"member"}, Permissions: []string{"reports:read"}, OrgID: "org_1", OrgSlug: "one"}
	u, email := mustAccessUser(t, b, start)
	tok := signIn(t, b, email, goodPassword)
	many := func(n, size int) []string {
		var l []string
		for i := range n {
			s := strconv.Itoa(i) + ":"
			l = append(l, s+strings.Repeat("p", size-len(s)))
		}
		return l
	}
	newEmail := randEmail()
	for _, tc := range []struct {
		name string
		f    func() error
	}{
		{"PermissionsTooMany", func() error { return b.SetPermissions(ctx, u.ID, many(diy.MaxPermissions+1, 4)) }},
		{"PermissionEmpty", func() error { return b.SetPermissions(ctx, u.ID, []string{"reports:read", ""}) }},
		{"PermissionTooLong", func() error { return b.SetPermissions(ctx, u.ID, []string{strings.Repeat("p", 129)}) }},
		{"PermissionBadUTF8", func() error { return b.SetPermissions(ctx, u.ID, []string{"reports:\xff"}) }},
		{"PermissionReplacementChar", func() error { return b.SetPermissions(ctx, u.ID, []string{"reports:\uFFFD"}) }},
		{"PermissionSpace", func() error { return b.SetPermissions(ctx, u.ID, []string{"reports read"}) }},
		{"PermissionComma", func() error { return b.SetPermissions(ctx, u.ID, []string{"reports:read,admin"}) }},
		{"PermissionNUL", func() error { return b.SetPermissions(ctx, u.ID, []string{"reports\x00"}) }},
		{"PermissionNewline", func() error { return b.SetPermissions(ctx, u.ID, []string{"reports\n"}) }},
		{"PermissionC1Control", func() error { return b.SetPermissions(ctx, u.ID, []string{"reports\u0085"}) }},
		{"PermissionLineSeparator", func() error { return b.SetPermissions(ctx, u.ID, []string{"reports\u2028"}) }},
		{"PermissionsOverBudget", func() error { return b.SetPermissions(ctx, u.ID, many(diy.MaxPermissions, 20)) }},
		{"OrgEmptyWithSlug", func() error { return b.SetOrganization(ctx, u.ID, "", "acme") }},
		{"OrgSpaceOnly", func() error { return b.SetOrganization(ctx, u.ID, " ", "") }},
		{"OrgTooLong", func() error { return b.SetOrganization(ctx, u.ID, strings.Repeat("o", 65), "") }},
		{"OrgBadUTF8", func() error { return b.SetOrganization(ctx, u.ID, "org_\xc3", "") }},
		{"OrgSlugBadUTF8", func() error { return b.SetOrganization(ctx, u.ID, "org_2", "\xff") }},
		{"OrgSlugTooLong", func() error { return b.SetOrganization(ctx, u.ID, "org_2", strings.Repeat("s", 65)) }},
		{"OrgSlugSpace", func() error { return b.SetOrganization(ctx, u.ID, "org_2", "acme inc") }},
		{"RolesTooMany", func() error { return b.SetRoles(ctx, u.ID, many(diy.MaxRoles+1, 4)) }},
		{"RoleEmpty", func() error { return b.SetRoles(ctx, u.ID, []string{""}) }},
		{"RoleBadUTF8", func() error { return b.SetRoles(ctx, u.ID, []string{"\xff"}) }},
		// Fits alone (TestAccessLimits), not beside the permissions and
		// organisation the user holds.
		{"RolesPushOverBudget", func() error { return b.SetRoles(ctx, u.ID, many(15, 64)) }},
		{"SetAccessBadPermission", func() error {
			return b.SetAccess(ctx, u.ID, diy.Access{Roles: []string{"admin"}, Permissions: []string{""}, OrgID: "org_2"})
		}},
		{"SetAccessBadOrg", func() error {
			return b.SetAccess(ctx, u.ID, diy.Access{Roles: []string{"admin"}, OrgID: "org\t2"})
		}},
		{"SetAccessOverBudget", func() error {
			return b.SetAccess(ctx, u.ID, diy.Access{Roles: many(30, 20), Permissions: many(30, 20)})
		}},
		{"SetPermissionsUnknownUser", func() error { return b.SetPermissions(ctx, "usr_nobody", []string{"x"}) }},
		{"SetOrganizationUnknownUser", func() error { return b.SetOrganization(ctx, "usr_nobody", "org_1", "") }},
		{"SetAccessUnknownUser", func() error { return b.SetAccess(ctx, "usr_nobody", diy.Access{}) }},
		{"CreateBadPermission", func() error {
			_, err := b.CreateUserWithAccess(ctx, newEmail, goodPassword, diy.Access{Permissions: []string{"a b"}})
			return err
		}},
		{"CreateBadOrg", func() error {
			_, err := b.CreateUserWithAccess(ctx, newEmail, goodPassword, diy.Access{OrgSlug: "acme"})
			return err
		}},
		{"CreateOverBudget", func() error {
			_, err := b.CreateUserWithAccess(ctx, newEmail, goodPassword, diy.Access{Permissions: many(diy.MaxPermissions, 20)})
			return err
		}},
		{"CreateDuplicateWithAccess", func() error {
			_, err := b.CreateUserWithAccess(ctx, email, goodPassword, diy.Access{Permissions: []string{"admin:all"}})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testenv.WantKind(t, tc.f(), authport.ErrInvalidInput)
			got, err := b.User(ctx, u.ID)
			if err != nil || !sameAccess(got.Access(), start) {
				t.Fatalf("access changed to %+v, %v", got.Access(), err)
			}
			s, err := b.VerifyStrict(ctx, bearer(tok))
			if err != nil || !sameAccess(accessOf(s), start) {
				t.Fatalf("session ended or changed by bad input: %+v, %v", s, err)
			}
		})
	}
	if _, err := b.UserByEmail(ctx, newEmail); !errors.Is(err, authport.ErrInvalidInput) {
		t.Fatalf("a user was created by bad input: %v", err)
	}
}

// TestAccessLimits: the largest access allowed fits, and in JWT mode its
// access token, with a 254-byte email address, still fits in authport's
// sealed session cookie.
func TestAccessLimits(t *testing.T) {
	b := newBackend(t, "sqlite", diy.ModeJWT, nil)
	ctx := t.Context()
	many := func(n, size int) []string {
		var l []string
		for i := range n {
			s := strconv.Itoa(i) + ":"
			l = append(l, s+strings.Repeat("p", size-len(s)))
		}
		return l
	}
	// Fifteen 64-byte roles fit alone (TestAccessBadInput: not beside
	// other access).
	if _, err := b.CreateUserWithAccess(ctx, randEmail(), goodPassword, diy.Access{Roles: many(15, 64)}); err != nil {
		t.Fatalf("15 roles of 64 bytes: %v", err)
	}
	email := strings.Repeat("a", 64) + "@" + strings.Repeat("d", 60) + "." + strings.Repeat("e", 60) + "." + strings.Repeat("f", 60) + ".example"
	email = email[:254-4] + ".com"
	if _, err := diy.NormalizeEmail(email); err != nil {
		t.Fatalf("test email: %v", err)
	}
	// Fill the budget as far as it goes with 12-byte permissions.
	a := diy.Access{Roles: []string{strings.Repeat("r", 64)}, OrgID: strings.Repeat("o", 64), OrgSlug: strings.Repeat("s", 64)}
	for n := diy.MaxPermissions; ; n-- {
		a.Permissions = many(n, 12)
		_, err := b.CreateUserWithAccess(ctx, email, goodPassword, a)
		if err == nil {
			break
		}
		testenv.WantKind(t, err, authport.ErrInvalidInput)
		if n < 20 {
			t.Fatalf("only %d permissions fit the budget", n)
		}
	}
	tok := signIn(t, b, email, goodPassword)
	s, err := b.Verify(ctx, bearer(tok))
	if err != nil || len(s.Permissions) != len(a.Permissions) {
		t.Fatalf("session %+v, %v", s, err)
	}
	sealer, err := authport.NewSealer([][]byte{make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := sealer.Seal(tok)
	if err != nil {
		t.Fatalf("a token with the largest access does not fit the cookie (access token %d bytes): %v", len(tok.AccessToken), err)
	}
	t.Logf("%d permissions; access token %d bytes; sealed cookie value %d of %d bytes", len(a.Permissions), len(tok.AccessToken), len(sealed), authport.MaxSealedLen)
}

// hook runs a function set by the test once, the next time a session is
// stored: the moment between a sign-in reading the user and storing its
// session.
type hook struct {
	mu sync.Mutex
	f  func()
}

func (h *hook) set(f func()) {
	h.mu.Lock()
	h.f = f
	h.mu.Unlock()
}

func (h *hook) run() {
	h.mu.Lock()
	f := h.f
	h.f = nil
	h.mu.Unlock()
	if f != nil {
		f()
	}
}

type hookStore struct {
	diy.Store
	h *hook
}

func (s *hookStore) CreateSession(ctx context.Context, r *diy.SessionRecord) error {
	s.h.run()
	return s.Store.CreateSession(ctx, r)
}

type hookSessions struct {
	diy.SessionStore
	h *hook
}

func (s *hookSessions) CreateSession(ctx context.Context, r *diy.SessionRecord) error {
	s.h.run()
	return s.SessionStore.CreateSession(ctx, r)
}

// hooked returns a backend whose session store runs h.
func hooked(t *testing.T, kind string, mode diy.SessionMode, h *hook) *diy.Backend {
	return newBackend(t, kind, mode, func(c *diy.Config) {
		if c.Sessions != nil {
			c.Sessions = &hookSessions{SessionStore: c.Sessions, h: h}
		} else {
			c.Store = &hookStore{Store: c.Store, h: h}
		}
	})
}

// TestSignInRacingAccessChange: an administrator's change that lands while
// a user signs in (after the sign-in read the user, before it stored the
// session) leaves no session with the old privileges: the sign-in ends the
// session it made and makes one with the new access, or, if the account
// was disabled or its password reset, fails.
func TestSignInRacingAccessChange(t *testing.T) {
	forEach(t, func(t *testing.T, kind string, mode diy.SessionMode) {
		h := &hook{}
		b := hooked(t, kind, mode, h)
		for _, tc := range []struct {
			name   string
			change func(b *diy.Backend, ctx context.Context, uid string) error
			signIn bool
		}{
			{"PermissionRemoved", func(b *diy.Backend, ctx context.Context, uid string) error { return b.SetPermissions(ctx, uid, nil) }, true},
			{"OrganizationChanged", func(b *diy.Backend, ctx context.Context, uid string) error {
				return b.SetOrganization(ctx, uid, "org_2", "")
			}, true},
			{"Disabled", func(b *diy.Backend, ctx context.Context, uid string) error { return b.DisableUser(ctx, uid) }, false},
			{"PasswordReset", func(b *diy.Backend, ctx context.Context, uid string) error {
				return b.SetPassword(ctx, uid, "reset by the admin team")
			}, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				ctx := t.Context()
				u, email := mustAccessUser(t, b, diy.Access{Permissions: []string{"reports:delete"}, OrgID: "org_1"})
				h.set(func() {
					if err := tc.change(b, ctx, u.ID); err != nil {
						t.Errorf("change: %v", err)
					}
				})
				tok, err := b.SignInWithPassword(ctx, email, goodPassword)
				cur, uerr := b.User(ctx, u.ID)
				if uerr != nil {
					t.Fatal(uerr)
				}
				if !tc.signIn {
					testenv.WantKind(t, err, authport.ErrInvalidCredential)
				} else {
					if err != nil {
						t.Fatal(err)
					}
					s, err := b.VerifyStrict(ctx, bearer(tok))
					if err != nil || !sameAccess(accessOf(s), cur.Access()) {
						t.Fatalf("session %+v, %v; want the new access %+v", s, err, cur.Access())
					}
				}
				list, err := b.ListSessions(ctx, u.ID)
				if err != nil {
					t.Fatal(err)
				}
				want := 0
				if tc.signIn {
					want = 1
				}
				if len(list) != want {
					t.Fatalf("%d live sessions, want %d (a session with the old privileges survived)", len(list), want)
				}
			})
		}
	})
}

// failingRevoke fails RevokeUserSessions once.
type failingRevoke struct {
	diy.Store
	fail sync.Once
}

func (f *failingRevoke) RevokeUserSessions(ctx context.Context, userID, except string, now time.Time) (n int, err error) {
	failed := false
	f.fail.Do(func() { failed = true })
	if failed {
		return 0, errors.New("connection reset")
	}
	return f.Store.RevokeUserSessions(ctx, userID, except, now)
}

// TestAccessChangeRetryEndsStaleSessions: a change whose ending of the
// sessions failed (503) is completed by calling it again, although the
// stored access no longer changes.
func TestAccessChangeRetryEndsStaleSessions(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.String(), func(t *testing.T) {
			b := newBackend(t, "sqlite", mode, func(c *diy.Config) { c.Store = &failingRevoke{Store: c.Store} })
			ctx := t.Context()
			u, email := mustAccessUser(t, b, diy.Access{Permissions: []string{"reports:delete"}})
			signIn(t, b, email, goodPassword)
			testenv.WantKind(t, b.SetPermissions(ctx, u.ID, nil), authport.ErrProviderUnavailable)
			if list, err := b.ListSessions(ctx, u.ID); err != nil || len(list) != 1 {
				t.Fatalf("setup: %d sessions, %v", len(list), err)
			}
			if err := b.SetPermissions(ctx, u.ID, nil); err != nil {
				t.Fatal(err)
			}
			if list, err := b.ListSessions(ctx, u.ID); err != nil || len(list) != 0 {
				t.Fatalf("after the retry %d sessions with the removed permission live on, %v", len(list), err)
			}
			// A session with the current access survives a no-op retry.
			tok := signIn(t, b, email, goodPassword)
			if err := b.SetPermissions(ctx, u.ID, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := b.VerifyStrict(ctx, bearer(tok)); err != nil {
				t.Fatalf("a current session was ended: %v", err)
			}
		})
	}
}

// TestConcurrentUserUpdates: administrators changing one user at once, on
// two instances, never undo each other's changes (each update is a
// compare-and-swap on the stored record, retried on conflict).
func TestConcurrentUserUpdates(t *testing.T) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			b := newBackend(t, kind, diy.ModeSession, nil)
			ctx := t.Context()
			for i := range 10 {
				u, _ := mustAccessUser(t, b, diy.Access{Roles: []string{"member"}, Permissions: []string{"reports:delete"}, OrgID: "org_1"})
				var wg sync.WaitGroup
				for _, f := range []func() error{
					func() error { return b.SetPermissions(ctx, u.ID, nil) },
					func() error { return b.SetRoles(ctx, u.ID, []string{"viewer"}) },
					func() error { return b.SetOrganization(ctx, u.ID, "org_2", "two") },
					func() error { return b.DisableUser(ctx, u.ID) },
					func() error { return b.SetPassword(ctx, u.ID, "reset by the admin team") },
				} {
					wg.Go(func() {
						if err := f(); err != nil {
							t.Errorf("round %d: %v", i, err)
						}
					})
				}
				wg.Wait()
				got, err := b.User(ctx, u.ID)
				if err != nil {
					t.Fatal(err)
				}
				want := diy.Access{Roles: []string{"viewer"}, OrgID: "org_2", OrgSlug: "two"}
				if !sameAccess(got.Access(), want) || !got.Disabled || got.PasswordHash == u.PasswordHash {
					t.Fatalf("round %d: a concurrent update was lost: %+v", i, got)
				}
			}
		})
	}
}
