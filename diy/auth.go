package diy

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/authport/authport"
	"github.com/authport/authport/internal/b64url"
)

// tokenLen is the length of a session id or refresh token: 32 random bytes
// (256 bits) as unpadded base64url.
const tokenLen = 43

// newSecret returns a fresh 256-bit token and its SHA-256.
func newSecret() (token string, hash []byte) {
	var b [32]byte
	rand.Read(b[:])
	token = base64.RawURLEncoding.EncodeToString(b[:])
	h := sha256.Sum256(b[:])
	return token, h[:]
}

// secretHash decodes a presented token and returns its SHA-256; ok is false
// when the token cannot be one of ours.
func secretHash(token string) ([]byte, bool) {
	if len(token) != tokenLen {
		return nil, false
	}
	var b [32]byte
	n, err := b64url.Decode(b[:], []byte(token))
	if err != nil || n != 32 {
		return nil, false
	}
	h := sha256.Sum256(b[:])
	return h[:], true
}

func newID(prefix string) string { return prefix + strings.ToLower(rand.Text()) }

// errBadCredentials is the one answer to a wrong password, an unknown email
// and a disabled account alike.
func errBadCredentials(op string) error {
	return fail(authport.ErrInvalidCredential, op, "invalid email or password")
}

// storeErr maps a store error: ErrNotFound to kind k, anything else to
// ErrProviderUnavailable.
func storeErr(op string, err error, k *authport.Kind, reason string) error {
	if errors.Is(err, ErrNotFound) {
		return fail(k, op, reason)
	}
	return unavailable(op, err)
}

// checkSignInPassword checks a password presented at sign-in: present,
// valid UTF-8, not over MaxPasswordLen (no minimum: imported accounts may
// predate the policy).
func checkSignInPassword(pw string) error { return checkPasswordShape(pw, 1) }

// guard is the backend's sign-in lockout policy.
func (b *Backend) guard() authport.SignInGuard {
	return authport.SignInGuard{Limiter: b.limiter, Limits: b.limits}
}

// SignInWithPassword signs a user in. An unknown email, a wrong password
// and a disabled account give the same error (kind ErrInvalidCredential,
// reason "invalid email or password") after the same work: the password is
// always checked, against a dummy hash when there is no such user.
// Malformed input is ErrInvalidInput; too many attempts (per client address
// and per account) ErrRateLimited with a Retry-After; a store or hashing
// overload ErrProviderUnavailable. The limits follow
// authport.SignInGuard: a known device (ClientInfo.Device) is never slowed
// by other people's failures.
func (b *Backend) SignInWithPassword(ctx context.Context, email, password string) (*authport.Tokens, error) {
	const op = "sign_in"
	email, err := NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	if err := checkSignInPassword(password); err != nil {
		return nil, err
	}
	cl := ClientFrom(ctx)
	g := b.guard()
	if d, err := g.Check(ctx, ipSubject(cl.IP), email, cl.Device); err != nil {
		return nil, unavailable(op, err)
	} else if d > 0 {
		b.log.LogAttrs(ctx, slog.LevelInfo, "rate limited", slog.String("op", op), slog.Bool("known_device", cl.Device != ""), slog.Duration("retry_after", d))
		return nil, rateLimited(op, d)
	}
	u, ok, err := b.checkPassword(ctx, op, email, password)
	if err != nil {
		return nil, err
	}
	if !ok {
		b.log.LogAttrs(ctx, slog.LevelInfo, "sign-in failed", slog.String("ip", cl.IP))
		return nil, errBadCredentials(op)
	}
	if err := g.Succeeded(ctx, email, cl.Device); err != nil {
		b.log.Warn("rate limiter reset failed", "err", err)
	}
	t, err := b.startSession(ctx, u)
	if err != nil {
		return nil, err
	}
	b.log.LogAttrs(ctx, slog.LevelInfo, "signed in", slog.String("user_id", u.ID), slog.String("ip", cl.IP))
	return t, nil
}

// checkPassword looks email up and verifies password, spending the same
// time whether or not the user exists. ok is false for an unknown email, a
// wrong password and a disabled account. A successful check with outdated
// hash parameters rehashes.
func (b *Backend) checkPassword(ctx context.Context, op, email, password string) (*User, bool, error) {
	u, err := b.users.UserByEmail(ctx, email)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, false, unavailable(op, err)
	}
	encoded := ""
	if u != nil {
		encoded = u.PasswordHash
	}
	ok, rehash, err := b.hasher.verify(ctx, op, encoded, password)
	if err != nil {
		if ae, isAE := errors.AsType[*authport.Error](err); isAE && ae.Kind != nil {
			return nil, false, err
		}
		// A stored hash we cannot read: log it, refuse like a wrong password.
		b.log.Error("unreadable password hash", "user_id", u.ID, "err", err)
		return nil, false, nil
	}
	if !ok || u == nil || u.Disabled {
		return nil, false, nil
	}
	if rehash {
		if h, err := b.hasher.hash(ctx, op, password); err == nil {
			nu := *u
			nu.PasswordHash, nu.UpdatedAt = h, nextVersion(b.now(), u.UpdatedAt)
			// A conflict (the user changed meanwhile) skips the rehash;
			// startSession then sees the change.
			if err := b.users.UpdateUser(ctx, &nu, u.UpdatedAt); err != nil {
				b.log.Warn("password rehash not stored", "user_id", u.ID, "err", err)
			} else {
				u = &nu
				b.log.Info("password rehashed", "user_id", u.ID)
			}
		}
	}
	return u, true, nil
}

// SignUp creates an account.
//
// By default it never reveals whether an address is already registered:
// with a fresh address it creates the account, with a registered one it
// changes nothing, and both return the same thing — Tokens with no
// AccessToken and a nil error, meaning "the account is ready; sign in" —
// after the same work (the password is hashed either way). With
// Config.SignUpSignsIn a new account is signed in at once (Tokens as from
// SignInWithPassword); a registered address then signs in if the password
// is the account's and is ErrInvalidCredential otherwise.
//
// Bad input (a malformed email, a password outside 8–256 characters or on
// the common-password list) is ErrInvalidInput and too many attempts
// ErrRateLimited, whether or not the address is taken.
func (b *Backend) SignUp(ctx context.Context, email, password string) (*authport.Tokens, error) {
	const op = "sign_up"
	email, err := NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	if err := CheckPassword(password); err != nil {
		return nil, err
	}
	cl := ClientFrom(ctx)
	if err := b.limit(ctx, op, "signup-ip", ipSubject(cl.IP), b.limits.SignUpIP); err != nil {
		return nil, err
	}
	if err := b.limit(ctx, op, "signup-acct", email, b.limits.SignUpAccount); err != nil {
		return nil, err
	}
	u, err := b.newUser(ctx, op, email, password, Access{})
	switch {
	case errors.Is(err, ErrDuplicate):
		b.log.LogAttrs(ctx, slog.LevelInfo, "sign-up for a registered address", slog.String("ip", cl.IP))
		if !b.cfg.SignUpSignsIn {
			return &authport.Tokens{}, nil
		}
		u, ok, err := b.checkPassword(ctx, op, email, password)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fail(authport.ErrInvalidCredential, op, "could not create an account with this email and password")
		}
		return b.startSession(ctx, u)
	case err != nil:
		return nil, err
	}
	b.log.LogAttrs(ctx, slog.LevelInfo, "signed up", slog.String("user_id", u.ID), slog.String("ip", cl.IP))
	if b.cfg.SignUpSignsIn {
		return b.startSession(ctx, u)
	}
	return &authport.Tokens{}, nil
}

// newUser hashes password and stores a new user with access a (already
// checked); ErrDuplicate (unwrapped) when the address is taken.
func (b *Backend) newUser(ctx context.Context, op, email, password string, a Access) (*User, error) {
	h, err := b.hasher.hash(ctx, op, password)
	if err != nil {
		return nil, err
	}
	now := b.now().Truncate(time.Microsecond)
	u := &User{ID: newID("usr_"), Email: email, PasswordHash: h, Roles: a.Roles, Permissions: a.Permissions,
		OrgID: a.OrgID, OrgSlug: a.OrgSlug, CreatedAt: now, UpdatedAt: now}
	if err := b.users.CreateUser(ctx, u); err != nil {
		if errors.Is(err, ErrDuplicate) {
			return nil, ErrDuplicate
		}
		return nil, unavailable(op, err)
	}
	return u, nil
}

// CreateUser creates an account as an administrator would (for seeding,
// imports and tests): the password policy applies, rate limits do not, and
// a registered address is an error of kind ErrInvalidInput wrapping
// ErrDuplicate. roles are granted at once. CreateUserWithAccess also
// grants permissions and an organisation.
func (b *Backend) CreateUser(ctx context.Context, email, password string, roles ...string) (*User, error) {
	return b.createUser(ctx, "create_user", email, password, Access{Roles: roles})
}

// CreateUserWithAccess is CreateUser granting roles, permissions and an
// organisation at once. Access outside the limits (see Access) is
// ErrInvalidInput and creates nothing.
func (b *Backend) CreateUserWithAccess(ctx context.Context, email, password string, a Access) (*User, error) {
	return b.createUser(ctx, "create_user", email, password, a)
}

func (b *Backend) createUser(ctx context.Context, op, email, password string, a Access) (*User, error) {
	email, err := NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	if err := CheckPassword(password); err != nil {
		return nil, err
	}
	if a, err = checkAccess(a); err != nil {
		return nil, err
	}
	u, err := b.newUser(ctx, op, email, password, a)
	if errors.Is(err, ErrDuplicate) {
		return nil, &authport.Error{Kind: authport.ErrInvalidInput, Provider: provider, Op: op, Reason: "email already registered", Err: ErrDuplicate}
	}
	return u, err
}

// ImportUser stores an account whose password hash comes from elsewhere: an
// argon2id PHC string or a bcrypt hash ($2a$, $2b$, $2y$). It is rehashed
// with the current parameters at the user's next sign-in.
func (b *Backend) ImportUser(ctx context.Context, email, passwordHash string, roles ...string) (*User, error) {
	const op = "import_user"
	email, err := NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	if _, err := parseArgon2id(passwordHash); err != nil {
		if _, cerr := bcryptCost(passwordHash); cerr != nil {
			return nil, invalidInput(op, "password hash is neither argon2id nor bcrypt")
		}
	}
	a, err := checkAccess(Access{Roles: roles})
	if err != nil {
		return nil, err
	}
	now := b.now().Truncate(time.Microsecond)
	u := &User{ID: newID("usr_"), Email: email, PasswordHash: passwordHash, Roles: a.Roles, CreatedAt: now, UpdatedAt: now}
	if err := b.users.CreateUser(ctx, u); err != nil {
		if errors.Is(err, ErrDuplicate) {
			return nil, &authport.Error{Kind: authport.ErrInvalidInput, Provider: provider, Op: op, Reason: "email already registered", Err: ErrDuplicate}
		}
		return nil, unavailable(op, err)
	}
	return u, nil
}

// startSession creates a session for u and returns its tokens. The
// session carries u's access as read; if the user changed meanwhile (an
// administrator changed its access, password or status while it was
// signing in), the new session is ended and, when only the access changed,
// made again with the new access. Together with the administrator's order
// (update the user, then end its sessions) this leaves no session with
// stale privileges, whichever way the two interleave.
func (b *Backend) startSession(ctx context.Context, u *User) (*authport.Tokens, error) {
	const op = "sign_in"
	for attempt := 0; ; attempt++ {
		t, err := b.createSession(ctx, u)
		if err != nil {
			return nil, err
		}
		cur, err := b.users.UserByID(ctx, u.ID)
		if err == nil && sameVersion(cur.UpdatedAt, u.UpdatedAt) {
			return t, nil
		}
		if rerr := b.revokeOne(ctx, t.SessionID); rerr != nil {
			return nil, rerr
		}
		switch {
		case err != nil:
			return nil, storeErr(op, err, authport.ErrInvalidCredential, "invalid email or password")
		case cur.Disabled || cur.PasswordHash != u.PasswordHash:
			return nil, errBadCredentials(op)
		case attempt == 2:
			return nil, unavailable(op, ErrConflict)
		}
		b.log.LogAttrs(ctx, slog.LevelInfo, "user changed during sign-in; session made again", slog.String("user_id", u.ID))
		u = cur
	}
}

// sameVersion compares two UpdatedAt values to the microsecond.
func sameVersion(a, b time.Time) bool {
	return a.Truncate(time.Microsecond).Equal(b.Truncate(time.Microsecond))
}

// createSession stores a session (and, in JWT mode, a refresh family) for
// u with u's access, and returns its tokens.
func (b *Backend) createSession(ctx context.Context, u *User) (*authport.Tokens, error) {
	const op = "sign_in"
	now := b.now()
	cl := ClientFrom(ctx)
	token, hash := newSecret()
	rec := &SessionRecord{
		ID: newID("ses_"), TokenHash: hash, UserID: u.ID, Email: u.Email,
		Roles: slices.Clone(u.Roles), Permissions: slices.Clone(u.Permissions), OrgID: u.OrgID, OrgSlug: u.OrgSlug,
		CreatedAt: now, LastSeenAt: now, IdleExpiresAt: minTime(now.Add(b.cfg.IdleTimeout), now.Add(b.cfg.AbsoluteTimeout)),
		ExpiresAt: now.Add(b.cfg.AbsoluteTimeout), UserAgent: truncate(cl.UserAgent, 256), IP: truncate(cl.IP, 64),
	}
	if err := b.sessions.CreateSession(ctx, rec); err != nil {
		return nil, unavailable(op, err)
	}
	if b.cfg.SessionMode == ModeSession {
		return &authport.Tokens{AccessToken: token, ExpiresAt: rec.ExpiresAt, SessionID: rec.ID, UserID: u.ID}, nil
	}
	refresh, rhash := newSecret()
	rt := &RefreshToken{TokenHash: rhash, FamilyID: rec.ID, UserID: u.ID, IssuedAt: now, ExpiresAt: rec.ExpiresAt}
	if err := b.refresh.CreateRefreshToken(ctx, rt); err != nil {
		if rerr := b.sessions.RevokeSession(ctx, rec.ID, now); rerr != nil {
			b.log.Warn("could not revoke half-created session", "err", rerr)
		}
		return nil, unavailable(op, err)
	}
	access, exp, err := b.signAccess(rec, now)
	if err != nil {
		return nil, err
	}
	return &authport.Tokens{AccessToken: access, RefreshToken: refresh, ExpiresAt: exp, SessionID: rec.ID, UserID: u.ID}, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// Verify checks a credential. In session mode it looks the session up in
// the store (revocation is seen at once) and slides its idle timeout; in
// JWT mode it verifies the access token's signature and claims offline
// through authport's shared verification core.
func (b *Backend) Verify(ctx context.Context, c authport.Credential) (*authport.Session, error) {
	if b.cfg.SessionMode == ModeJWT {
		return b.verifyJWT(ctx, c.Token)
	}
	return b.verifySession(ctx, c.Token)
}

// VerifyStrict is Verify plus, in JWT mode, a store check that the
// session (refresh family) is still live, so a sign-out elsewhere is seen
// before the access token expires. In session mode Verify already asks the
// store.
func (b *Backend) VerifyStrict(ctx context.Context, c authport.Credential) (*authport.Session, error) {
	s, err := b.Verify(ctx, c)
	if err != nil || b.cfg.SessionMode == ModeSession {
		return s, err
	}
	rec, err := b.sessions.SessionByID(ctx, s.SessionID)
	if err != nil {
		return nil, storeErr("verify", err, authport.ErrRevoked, "session ended")
	}
	if err := b.live(rec, b.now()); err != nil {
		return nil, err
	}
	return s, nil
}

// live checks that rec is neither revoked nor expired at now.
func (b *Backend) live(rec *SessionRecord, now time.Time) error {
	switch {
	case !rec.RevokedAt.IsZero():
		return fail(authport.ErrRevoked, "verify", "session ended")
	case !now.Before(rec.ExpiresAt):
		return fail(authport.ErrExpired, "verify", "session reached its absolute timeout")
	case !now.Before(rec.IdleExpiresAt):
		return fail(authport.ErrExpired, "verify", "session idle for too long")
	}
	return nil
}

func (b *Backend) verifySession(ctx context.Context, token string) (*authport.Session, error) {
	const op = "verify"
	if token == "" {
		return nil, fail(authport.ErrNoCredential, op, "empty token")
	}
	hash, ok := secretHash(token)
	if !ok {
		return nil, fail(authport.ErrInvalidCredential, op, "malformed session token")
	}
	rec, err := b.sessions.SessionByTokenHash(ctx, hash)
	if err != nil {
		return nil, storeErr(op, err, authport.ErrInvalidCredential, "unknown session")
	}
	now := b.now()
	if err := b.live(rec, now); err != nil {
		return nil, err
	}
	if now.Sub(rec.LastSeenAt) >= b.touchGap {
		idle := minTime(now.Add(b.cfg.IdleTimeout), rec.ExpiresAt)
		if err := b.sessions.TouchSession(ctx, rec.ID, now, idle); err != nil {
			return nil, storeErr(op, err, authport.ErrRevoked, "session ended")
		}
		rec.LastSeenAt, rec.IdleExpiresAt = now, idle
	}
	return b.sessionOf(rec), nil
}

// sessionOf maps a session record to an authport.Session.
func (b *Backend) sessionOf(rec *SessionRecord) *authport.Session {
	info := infoOf(rec)
	return &authport.Session{
		Provider: provider, Issuer: b.cfg.Issuer, UserID: rec.UserID, SessionID: rec.ID, Email: rec.Email,
		OrgID: rec.OrgID, OrgSlug: rec.OrgSlug, Roles: slices.Clone(rec.Roles), Permissions: slices.Clone(rec.Permissions),
		AuthMethods: []string{"pwd"}, IssuedAt: rec.CreatedAt, ExpiresAt: minTime(rec.IdleExpiresAt, rec.ExpiresAt), Native: info,
	}
}

// SessionInfo describes one session (for session lists and Session.As).
type SessionInfo struct {
	// ID is the public session id (Session.SessionID).
	ID string
	// UserID owns the session.
	UserID string
	// CreatedAt is the sign-in time, LastSeenAt the last recorded use
	// (recorded at most once a minute).
	CreatedAt, LastSeenAt time.Time
	// IdleExpiresAt and ExpiresAt are the idle and absolute deadlines.
	IdleExpiresAt, ExpiresAt time.Time
	// UserAgent and IP describe the client at sign-in.
	UserAgent, IP string
}

func infoOf(r *SessionRecord) SessionInfo {
	return SessionInfo{ID: r.ID, UserID: r.UserID, CreatedAt: r.CreatedAt, LastSeenAt: r.LastSeenAt,
		IdleExpiresAt: r.IdleExpiresAt, ExpiresAt: r.ExpiresAt, UserAgent: r.UserAgent, IP: r.IP}
}
