package diy

import (
	"context"
	"errors"
	"slices"
	"time"
)

// Errors a store returns. Any other error from a store means the store could
// not answer; the backend then fails closed with authport.ErrProviderUnavailable.
var (
	// ErrNotFound: no record has that key.
	ErrNotFound = errors.New("diy: not found")
	// ErrDuplicate: a user with that email address already exists.
	ErrDuplicate = errors.New("diy: duplicate")
	// ErrRefreshUnusable: the refresh token exists but was already used,
	// was revoked, or has expired; the record returned with it says which.
	ErrRefreshUnusable = errors.New("diy: refresh token not usable")
	// ErrConflict: UpdateUser found the user changed since it was read
	// (its UpdatedAt is no longer the one the caller saw).
	ErrConflict = errors.New("diy: user changed concurrently")
)

// User is an account.
type User struct {
	// ID is the stable user id ("usr_…").
	ID string
	// Email is the normalised email address (see NormalizeEmail); unique.
	Email string
	// PasswordHash is a PHC string (argon2id) or a bcrypt hash.
	PasswordHash string
	// Roles are application roles.
	Roles []string
	// Permissions are fine-grained permissions ("reports:read").
	Permissions []string
	// OrgID is the user's organisation ("" for none): one per user, set by
	// the administrator. OrgSlug is its slug or short name (may be empty).
	OrgID, OrgSlug string
	// Disabled accounts cannot sign in and have no live sessions.
	Disabled bool
	// CreatedAt and UpdatedAt are maintained by the backend. UpdatedAt
	// also serves as the record's version: every update moves it forward
	// by at least a microsecond (see UserStore.UpdateUser).
	CreatedAt, UpdatedAt time.Time
}

// Access returns what u may do: a copy of its roles, permissions and
// organisation.
func (u *User) Access() Access {
	return Access{Roles: slices.Clone(u.Roles), Permissions: slices.Clone(u.Permissions), OrgID: u.OrgID, OrgSlug: u.OrgSlug}
}

// SessionRecord is one server-side session. In JWT mode it is the refresh
// token family: its ID is the access tokens' "sid".
type SessionRecord struct {
	// ID is the public session id ("ses_…"). It is not a secret: it names
	// the session in lists and in the "sid" claim.
	ID string
	// TokenHash is SHA-256 of the secret session token (32 bytes); the
	// token itself is never stored. Unique.
	TokenHash []byte
	// UserID owns the session.
	UserID string
	// Email, Roles, Permissions, OrgID and OrgSlug are the user's at
	// sign-in. A change of roles, permissions or organisation ends the
	// user's sessions, so these never go stale.
	Email          string
	Roles          []string
	Permissions    []string
	OrgID, OrgSlug string
	// CreatedAt is the sign-in time; LastSeenAt the last use.
	CreatedAt, LastSeenAt time.Time
	// IdleExpiresAt is LastSeenAt plus the idle timeout.
	IdleExpiresAt time.Time
	// ExpiresAt is the absolute expiry (sign-in plus the absolute timeout).
	ExpiresAt time.Time
	// RevokedAt is set when the session was signed out or revoked. Stores
	// may forget revoked sessions (then lookups return ErrNotFound).
	RevokedAt time.Time
	// UserAgent and IP describe the client at sign-in (informational).
	UserAgent, IP string
}

// RefreshToken is one refresh token of a family (JWT mode).
type RefreshToken struct {
	// TokenHash is SHA-256 of the token (32 bytes). Unique.
	TokenHash []byte
	// FamilyID is the session id the token belongs to.
	FamilyID string
	// UserID owns the family.
	UserID string
	// IssuedAt is when the token was issued.
	IssuedAt time.Time
	// ExpiresAt is the family's absolute expiry; rotation keeps it.
	ExpiresAt time.Time
	// UsedAt is set when the token was exchanged; RevokedAt when its
	// family was revoked. Zero means not yet.
	UsedAt, RevokedAt time.Time
}

// UserStore keeps accounts. Emails arrive normalised.
type UserStore interface {
	// CreateUser stores u; ErrDuplicate if the email is taken.
	CreateUser(ctx context.Context, u *User) error
	// UserByEmail returns the user or ErrNotFound.
	UserByEmail(ctx context.Context, email string) (*User, error)
	// UserByID returns the user or ErrNotFound.
	UserByID(ctx context.Context, id string) (*User, error)
	// UpdateUser stores u's PasswordHash, Roles, Permissions, OrgID,
	// OrgSlug, Disabled and UpdatedAt, but only if the stored UpdatedAt
	// still equals prev (the UpdatedAt the caller read): a compare-and-swap,
	// so of two read-modify-write updates racing on one user, one wins and
	// the other gets ErrConflict and changes nothing (a concurrent
	// revocation is never undone). ErrNotFound if there is no such user.
	// UpdatedAt must round-trip to the microsecond.
	UpdateUser(ctx context.Context, u *User, prev time.Time) error
}

// SessionStore keeps server-side sessions (and, in JWT mode, refresh
// families). All times come from the backend's clock.
type SessionStore interface {
	// CreateSession stores s.
	CreateSession(ctx context.Context, s *SessionRecord) error
	// SessionByTokenHash returns the session whose TokenHash is hash, or
	// ErrNotFound. Revoked and expired sessions may be returned; the
	// backend checks.
	SessionByTokenHash(ctx context.Context, hash []byte) (*SessionRecord, error)
	// SessionByID returns the session or ErrNotFound.
	SessionByID(ctx context.Context, id string) (*SessionRecord, error)
	// TouchSession records a use: LastSeenAt and IdleExpiresAt. It does
	// not revive a revoked session; ErrNotFound if there is none.
	TouchSession(ctx context.Context, id string, lastSeen, idleExpires time.Time) error
	// RevokeSession ends one session; ErrNotFound if there is none.
	RevokeSession(ctx context.Context, id string, now time.Time) error
	// RevokeUserSessions ends every live session of userID except the one
	// named except (may be empty) and reports how many it ended.
	RevokeUserSessions(ctx context.Context, userID, except string, now time.Time) (int, error)
	// ListUserSessions returns userID's sessions that are neither revoked
	// nor expired at now, newest first.
	ListUserSessions(ctx context.Context, userID string, now time.Time) ([]*SessionRecord, error)
}

// RefreshStore keeps refresh tokens (JWT mode). It must be durable: reuse
// detection depends on remembering used tokens until they expire.
type RefreshStore interface {
	// CreateRefreshToken stores t.
	CreateRefreshToken(ctx context.Context, t *RefreshToken) error
	// RotateRefreshToken atomically marks the token with hash old used
	// and stores its successor with hash next (same family, user and
	// expiry, IssuedAt now), returning the old record. Of any number of
	// concurrent calls with the same old hash, exactly one succeeds. If
	// old is unknown it returns ErrNotFound; if it was already used, was
	// revoked or has expired at now, it returns the record and
	// ErrRefreshUnusable and stores nothing.
	RotateRefreshToken(ctx context.Context, old, next []byte, now time.Time) (*RefreshToken, error)
	// RefreshTokenByHash returns the record or ErrNotFound.
	RefreshTokenByHash(ctx context.Context, hash []byte) (*RefreshToken, error)
	// RevokeRefreshFamily marks every token of the family revoked.
	RevokeRefreshFamily(ctx context.Context, familyID string, now time.Time) error
	// RevokeUserRefreshTokens revokes every family of userID except the
	// one named except (may be empty).
	RevokeUserRefreshTokens(ctx context.Context, userID, except string, now time.Time) error
}

// Store is what a SQL store (sqlitestore, pgstore) provides: everything.
type Store interface {
	UserStore
	SessionStore
	RefreshStore
}

// Sweeper is implemented by stores that can delete records that expired
// before a time (sessions, refresh tokens). The backend calls it
// periodically when Config.SweepInterval is positive.
type Sweeper interface {
	Sweep(ctx context.Context, before time.Time) (int, error)
}
