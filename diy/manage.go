package diy

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/authport/authport"
)

// sessionID finds the session a Revoke call is about.
func (b *Backend) sessionID(ctx context.Context, s *authport.Session, t *authport.Tokens) (string, error) {
	const op = "revoke"
	if s != nil && s.SessionID != "" {
		return s.SessionID, nil
	}
	if t == nil {
		return "", invalidInput(op, "no session to revoke")
	}
	if t.SessionID != "" {
		return t.SessionID, nil
	}
	if b.cfg.SessionMode == ModeSession && t.AccessToken != "" {
		hash, ok := secretHash(t.AccessToken)
		if !ok {
			return "", invalidInput(op, "malformed session token")
		}
		rec, err := b.sessions.SessionByTokenHash(ctx, hash)
		if err != nil {
			return "", storeErr(op, err, authport.ErrInvalidInput, "unknown session")
		}
		return rec.ID, nil
	}
	if t.RefreshToken != "" {
		hash, ok := secretHash(t.RefreshToken)
		if !ok {
			return "", invalidInput(op, "malformed refresh token")
		}
		rt, err := b.refresh.RefreshTokenByHash(ctx, hash)
		if err != nil {
			return "", storeErr(op, err, authport.ErrInvalidInput, "unknown refresh token")
		}
		return rt.FamilyID, nil
	}
	if t.AccessToken != "" {
		sess, err := b.verifyJWT(ctx, t.AccessToken)
		if err != nil && !errors.Is(err, authport.ErrExpired) && !errors.Is(err, authport.ErrRevoked) {
			return "", err
		}
		if sess != nil {
			return sess.SessionID, nil
		}
	}
	return "", invalidInput(op, "no session to revoke")
}

// Revoke ends one session on the server (sign-out): the session named by
// s, or else the one t's access or refresh token belongs to. In JWT mode it
// revokes the refresh family too, and this instance refuses the session's
// access tokens at once (other instances: when they expire, or at once with
// VerifyStrict). Revoking an ended session is not an error. A store failure
// is ErrProviderUnavailable: a sign-out that cannot be confirmed fails.
func (b *Backend) Revoke(ctx context.Context, s *authport.Session, t *authport.Tokens) error {
	id, err := b.sessionID(ctx, s, t)
	if err != nil {
		return err
	}
	return b.revokeOne(ctx, id)
}

func (b *Backend) revokeOne(ctx context.Context, id string) error {
	const op = "revoke"
	now := b.now()
	// Refresh tokens first: a rotation that succeeds therefore always
	// precedes the revocation (see Refresh).
	if b.cfg.SessionMode == ModeJWT {
		if err := b.refresh.RevokeRefreshFamily(ctx, id, now); err != nil {
			return unavailable(op, err)
		}
		b.verifier.DenySession(id, now.Add(b.cfg.AccessTokenTTL))
	}
	if err := b.sessions.RevokeSession(ctx, id, now); err != nil && !errors.Is(err, ErrNotFound) {
		return unavailable(op, err)
	}
	return nil
}

// RevokeSession ends session sessionID of user userID (for a "your
// devices" page built on ListSessions). A session of another user is
// ErrInvalidInput, exactly as an unknown one.
func (b *Backend) RevokeSession(ctx context.Context, userID, sessionID string) error {
	const op = "revoke"
	rec, err := b.sessions.SessionByID(ctx, sessionID)
	if err != nil {
		return storeErr(op, err, authport.ErrInvalidInput, "no such session")
	}
	if rec.UserID != userID {
		return invalidInput(op, "no such session")
	}
	return b.revokeOne(ctx, sessionID)
}

// revokeUser ends every session and refresh family of userID except
// except (may be empty).
func (b *Backend) revokeUser(ctx context.Context, op, userID, except string) error {
	now := b.now()
	var ids []string
	if b.cfg.SessionMode == ModeJWT {
		// Remember live sessions so this instance refuses their access
		// tokens at once.
		list, err := b.sessions.ListUserSessions(ctx, userID, now)
		if err != nil {
			return unavailable(op, err)
		}
		for _, r := range list {
			if r.ID != except {
				ids = append(ids, r.ID)
			}
		}
	}
	if b.cfg.SessionMode == ModeJWT {
		if err := b.refresh.RevokeUserRefreshTokens(ctx, userID, except, now); err != nil {
			return unavailable(op, err)
		}
		for _, id := range ids {
			b.verifier.DenySession(id, now.Add(b.cfg.AccessTokenTTL))
		}
	}
	if _, err := b.sessions.RevokeUserSessions(ctx, userID, except, now); err != nil {
		return unavailable(op, err)
	}
	return nil
}

func needSession(op string, s *authport.Session) error {
	if s == nil || s.UserID == "" {
		return fail(authport.ErrNoCredential, op, "no session")
	}
	if s.Provider != "" && s.Provider != provider {
		return invalidInput(op, "session of another provider")
	}
	return nil
}

// SignOutEverywhere ends every session of s's user, s included.
func (b *Backend) SignOutEverywhere(ctx context.Context, s *authport.Session) error {
	const op = "sign_out_everywhere"
	if err := needSession(op, s); err != nil {
		return err
	}
	if err := b.revokeUser(ctx, op, s.UserID, ""); err != nil {
		return err
	}
	b.log.LogAttrs(ctx, slog.LevelInfo, "signed out everywhere", slog.String("user_id", s.UserID))
	return nil
}

// SignOutOthers ends every session of s's user except s.
func (b *Backend) SignOutOthers(ctx context.Context, s *authport.Session) error {
	const op = "sign_out_others"
	if err := needSession(op, s); err != nil {
		return err
	}
	if s.SessionID == "" {
		return invalidInput(op, "session has no id")
	}
	return b.revokeUser(ctx, op, s.UserID, s.SessionID)
}

// ChangePassword changes the password of s's user after checking the
// current one, and ends every other session and refresh family of the
// user (s stays signed in). The new password must meet the policy
// (ErrInvalidInput); a wrong current password is ErrInvalidCredential and
// counts against the account's sign-in limit.
func (b *Backend) ChangePassword(ctx context.Context, s *authport.Session, current, next string) error {
	const op = "change_password"
	if err := needSession(op, s); err != nil {
		return err
	}
	if err := checkSignInPassword(current); err != nil {
		return err
	}
	if err := CheckPassword(next); err != nil {
		return err
	}
	u, err := b.users.UserByID(ctx, s.UserID)
	if err != nil {
		return storeErr(op, err, authport.ErrRevoked, "no such user")
	}
	// The signed-in session is the known device here: strangers' failures
	// on the account never stop its owner from changing the password, and
	// guesses through one session have that session's own budget.
	g, device := b.guard(), "session:"+s.SessionID
	if d, err := g.Check(ctx, "", u.Email, device); err != nil {
		return unavailable(op, err)
	} else if d > 0 {
		return rateLimited(op, d)
	}
	if _, ok, err := b.checkPassword(ctx, op, u.Email, current); err != nil {
		return err
	} else if !ok {
		return fail(authport.ErrInvalidCredential, op, "current password is wrong")
	}
	if err := g.Succeeded(ctx, u.Email, device); err != nil {
		b.log.Warn("rate limiter reset failed", "err", err)
	}
	if err := b.setPassword(ctx, op, u.ID, next, s.SessionID); err != nil {
		return err
	}
	b.log.LogAttrs(ctx, slog.LevelInfo, "password changed", slog.String("user_id", u.ID))
	return nil
}

// SetPassword sets userID's password as an administrator would (after a
// reset link, say) and ends all of the user's sessions.
func (b *Backend) SetPassword(ctx context.Context, userID, password string) error {
	const op = "set_password"
	if err := CheckPassword(password); err != nil {
		return err
	}
	return b.setPassword(ctx, op, userID, password, "")
}

func (b *Backend) setPassword(ctx context.Context, op, userID, password, keep string) error {
	h, err := b.hasher.hash(ctx, op, password)
	if err != nil {
		return err
	}
	if err := b.updateUser(ctx, op, userID, func(u *User) bool { u.PasswordHash = h; return true }); err != nil {
		return err
	}
	return b.revokeUser(ctx, op, userID, keep)
}

// updateUser applies f to userID's record and stores it if f reports a
// change. The store's compare-and-swap on UpdatedAt makes the
// read-modify-write safe against concurrent updates (another instance's
// included): on a conflict f runs again on the fresh record.
func (b *Backend) updateUser(ctx context.Context, op, userID string, f func(*User) bool) error {
	for attempt := 0; ; attempt++ {
		u, err := b.users.UserByID(ctx, userID)
		if err != nil {
			return storeErr(op, err, authport.ErrInvalidInput, "no such user")
		}
		prev := u.UpdatedAt
		if !f(u) {
			return nil
		}
		u.UpdatedAt = nextVersion(b.now(), prev)
		err = b.users.UpdateUser(ctx, u, prev)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, ErrConflict) && attempt < 7:
			continue
		case errors.Is(err, ErrConflict):
			return unavailable(op, err)
		}
		return storeErr(op, err, authport.ErrInvalidInput, "no such user")
	}
}

// nextVersion is the UpdatedAt of a record last updated at prev: now to
// the microsecond, but always at least a microsecond after prev, so every
// update changes the version UpdateUser compares (even if the clock stands
// still or steps back).
func nextVersion(now, prev time.Time) time.Time {
	t := now.Truncate(time.Microsecond)
	if p := prev.Truncate(time.Microsecond); !t.After(p) {
		t = p.Add(time.Microsecond)
	}
	return t
}

// DisableUser disables an account: it can no longer sign in (it gets the
// same answer as a wrong password) and all its sessions and refresh
// families end.
func (b *Backend) DisableUser(ctx context.Context, userID string) error {
	const op = "disable_user"
	if err := b.updateUser(ctx, op, userID, func(u *User) bool { u.Disabled = true; return true }); err != nil {
		return err
	}
	if err := b.revokeUser(ctx, op, userID, ""); err != nil {
		return err
	}
	b.log.LogAttrs(ctx, slog.LevelInfo, "user disabled", slog.String("user_id", userID))
	return nil
}

// EnableUser re-enables a disabled account.
func (b *Backend) EnableUser(ctx context.Context, userID string) error {
	return b.updateUser(ctx, "enable_user", userID, func(u *User) bool {
		changed := u.Disabled
		u.Disabled = false
		return changed
	})
}

// SetAccess replaces userID's roles, permissions and organisation at once
// (see Access for the limits; bad input is ErrInvalidInput and changes
// nothing). Any change is a privilege change and ends every session and
// refresh family of the user, as SetRoles does: privileges are bound to a
// session at sign-in, so a raised privilege always comes with a new
// session id (no fixation) and a lowered one takes effect at once — for
// JWT access tokens already issued, at once on this instance and through
// VerifyStrict, elsewhere when they expire (Config.AccessTokenTTL).
// Setting the access the user already has changes nothing and ends no
// session, except one whose snapshot differs from it (left by a change
// whose ending of sessions failed: retrying the call completes it).
func (b *Backend) SetAccess(ctx context.Context, userID string, a Access) error {
	return b.setAccess(ctx, "set_access", userID, func(Access) (Access, error) { return checkAccess(a) })
}

// SetRoles replaces userID's roles, keeping its permissions and
// organisation. A change ends every session of the user (see SetAccess).
// Setting the roles the user already has changes nothing.
func (b *Backend) SetRoles(ctx context.Context, userID string, roles []string) error {
	roles, err := checkRoles(roles)
	if err != nil {
		return err
	}
	return b.setAccess(ctx, "set_roles", userID, func(a Access) (Access, error) {
		a.Roles = roles
		return checkAccess(a)
	})
}

// SetPermissions replaces userID's permissions, keeping its roles and
// organisation. A change ends every session of the user (see SetAccess).
func (b *Backend) SetPermissions(ctx context.Context, userID string, perms []string) error {
	perms, err := checkPermissions(perms)
	if err != nil {
		return err
	}
	return b.setAccess(ctx, "set_permissions", userID, func(a Access) (Access, error) {
		a.Permissions = perms
		return checkAccess(a)
	})
}

// SetOrganization places userID in organisation orgID, with an optional
// slug or short name (Session.OrgSlug); orgID "" (with slug "") takes the
// user out of any organisation. A user has one organisation at a time. A
// change ends every session of the user (see SetAccess).
func (b *Backend) SetOrganization(ctx context.Context, userID, orgID, orgSlug string) error {
	if err := checkOrg(orgID, orgSlug); err != nil {
		return err
	}
	return b.setAccess(ctx, "set_organization", userID, func(a Access) (Access, error) {
		a.OrgID, a.OrgSlug = orgID, orgSlug
		return checkAccess(a)
	})
}

// setAccess replaces userID's access with next(current) and, if that
// changed anything, ends the user's sessions. The new access is checked
// against the current record, so a combination over MaxAccessSize is
// refused before anything is stored.
func (b *Backend) setAccess(ctx context.Context, op, userID string, next func(Access) (Access, error)) error {
	changed := false
	var bad error
	var want Access
	if err := b.updateUser(ctx, op, userID, func(u *User) bool {
		cur := u.Access().loose()
		a, err := next(cur)
		if err != nil {
			bad, changed = err, false
			return false
		}
		bad, changed, want = nil, !a.equal(cur), a
		u.Roles, u.Permissions, u.OrgID, u.OrgSlug = a.Roles, a.Permissions, a.OrgID, a.OrgSlug
		return changed
	}); err != nil {
		return err
	}
	if bad != nil {
		return bad
	}
	if !changed {
		return b.endStaleSessions(ctx, op, userID, want)
	}
	b.log.LogAttrs(ctx, slog.LevelInfo, "access changed; sessions ended", slog.String("user_id", userID), slog.String("op", op))
	return b.revokeUser(ctx, op, userID, "")
}

// endStaleSessions ends userID's live sessions whose access snapshot is not
// a: those a change of access interrupted before it could end them.
func (b *Backend) endStaleSessions(ctx context.Context, op, userID string, a Access) error {
	list, err := b.sessions.ListUserSessions(ctx, userID, b.now())
	if err != nil {
		return unavailable(op, err)
	}
	for _, r := range list {
		if (Access{Roles: r.Roles, Permissions: r.Permissions, OrgID: r.OrgID, OrgSlug: r.OrgSlug}).loose().equal(a) {
			continue
		}
		if err := b.revokeOne(ctx, r.ID); err != nil {
			return err
		}
		b.log.LogAttrs(ctx, slog.LevelInfo, "session with stale access ended", slog.String("user_id", userID), slog.String("session_id", r.ID))
	}
	return nil
}

// RenewSession gives s's session a new id (and, in JWT mode, a new
// refresh family) and ends the old one, without asking for the password
// again. Call it after anything that raises the session's privilege (a
// step-up check, say) and set the returned tokens in place of the old.
func (b *Backend) RenewSession(ctx context.Context, s *authport.Session) (*authport.Tokens, error) {
	const op = "renew_session"
	if err := needSession(op, s); err != nil {
		return nil, err
	}
	rec, err := b.sessions.SessionByID(ctx, s.SessionID)
	if err != nil {
		return nil, storeErr(op, err, authport.ErrRevoked, "session ended")
	}
	if err := b.live(rec, b.now()); err != nil {
		return nil, err
	}
	u, err := b.users.UserByID(ctx, rec.UserID)
	if err != nil {
		return nil, storeErr(op, err, authport.ErrRevoked, "no such user")
	}
	if u.Disabled {
		return nil, fail(authport.ErrRevoked, op, "account disabled")
	}
	if err := b.revokeOne(ctx, rec.ID); err != nil {
		return nil, err
	}
	return b.startSession(ctx, u)
}

// ListSessions returns userID's live sessions, newest first.
func (b *Backend) ListSessions(ctx context.Context, userID string) ([]SessionInfo, error) {
	list, err := b.sessions.ListUserSessions(ctx, userID, b.now())
	if err != nil {
		return nil, unavailable("list_sessions", err)
	}
	out := make([]SessionInfo, len(list))
	for i, r := range list {
		out[i] = infoOf(r)
	}
	return out, nil
}

// User returns the account with id userID (ErrInvalidInput if none).
func (b *Backend) User(ctx context.Context, userID string) (*User, error) {
	u, err := b.users.UserByID(ctx, userID)
	if err != nil {
		return nil, storeErr("user", err, authport.ErrInvalidInput, "no such user")
	}
	return u, nil
}

// UserByEmail returns the account registered with email (ErrInvalidInput
// if none). It is for administration; never expose it to clients.
func (b *Backend) UserByEmail(ctx context.Context, email string) (*User, error) {
	e, err := NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	u, err := b.users.UserByEmail(ctx, e)
	if err != nil {
		return nil, storeErr("user", err, authport.ErrInvalidInput, "no such user")
	}
	return u, nil
}
