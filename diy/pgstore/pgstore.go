// Package pgstore is a diy.Store on PostgreSQL through pgx: the DIY
// backend's store when several application instances share one database.
//
// Open applies the embedded schema migrations (versioned, recorded in
// authport_schema_migrations) while holding a session-level advisory lock,
// so instances starting together migrate once and the others wait. Every
// table name starts with "authport_", so the database can be shared with
// the application's own tables. Each call runs under Store.Timeout (default
// 5 s), so a database that stops answering fails requests quickly (the
// backend answers 503) instead of hanging them; the pool reconnects by
// itself when the database is back.
package pgstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/authport/authport/diy"
	"github.com/authport/authport/diy/internal/migrations"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrationLock is the advisory lock key held while migrating
// (the first 8 bytes of SHA-256("authport/diy/pgstore migrations")).
const migrationLock int64 = 0x2b1e5c0d9a7f4e31

// Store is a diy.Store (and diy.Sweeper) on a PostgreSQL pool. It is safe
// for concurrent use.
type Store struct {
	pool *pgxpool.Pool
	own  bool
	// Timeout bounds each call (default 5 s; set before use).
	Timeout time.Duration
}

var (
	_ diy.Store   = (*Store)(nil)
	_ diy.Sweeper = (*Store)(nil)
)

// Open connects to the database at url (a postgres:// URL or a key=value
// connection string; pgxpool settings such as pool_max_conns apply) and
// migrates it.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	s, err := New(ctx, pool)
	if err != nil {
		pool.Close()
		return nil, err
	}
	s.own = true
	return s, nil
}

// New migrates the database behind pool and returns a Store on it. Close
// does not close a pool passed to New.
func New(ctx context.Context, pool *pgxpool.Pool) (*Store, error) {
	s := &Store{pool: pool}
	if err := s.migrate(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Pool returns the underlying pool.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Close closes the pool if Open created it.
func (s *Store) Close() error {
	if s.own {
		s.pool.Close()
	}
	return nil
}

func (s *Store) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	d := s.Timeout
	if d <= 0 {
		d = 5 * time.Second
	}
	return context.WithTimeout(ctx, d)
}

func loadMigrations() ([]migrations.Migration, error) {
	ms, err := migrations.Load(migrationFS, "migrations")
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	return ms, nil
}

// migrate applies missing migrations, each in its own transaction, while
// holding the advisory lock on one connection.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrationLock); err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	defer func() {
		// A fresh context: unlock even if ctx was cancelled. If it fails the
		// session ends with the connection, which releases the lock.
		uctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := conn.Exec(uctx, `SELECT pg_advisory_unlock($1)`, migrationLock); err != nil {
			conn.Conn().Close(uctx)
		}
	}()
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS authport_schema_migrations (
		version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	var cur int
	if err := conn.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM authport_schema_migrations`).Scan(&cur); err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	if last := ms[len(ms)-1].Version; cur > last {
		return fmt.Errorf("pgstore: database schema version %d is newer than this build's %d", cur, last)
	}
	for _, m := range ms {
		if m.Version <= cur {
			continue
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO authport_schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name)
			return err
		})
		if err != nil {
			return fmt.Errorf("pgstore: migration %s: %w", m.Name, err)
		}
	}
	return nil
}

// SchemaVersion reports the highest migration applied.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.pool.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM authport_schema_migrations`).Scan(&v)
	return v, err
}

func isUnique(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func fromNull(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

// roles returns a role or permission list for a NOT NULL text[] column.
func roles(r []string) []string {
	if r == nil {
		return []string{}
	}
	return r
}

func noRoles(r []string) []string {
	if len(r) == 0 {
		return nil
	}
	return r
}

func notFound(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return diy.ErrNotFound
	}
	return err
}

func affected(tag pgconn.CommandTag, err error) error {
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return diy.ErrNotFound
	}
	return nil
}

// CreateUser implements diy.UserStore.
func (s *Store) CreateUser(ctx context.Context, u *diy.User) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	_, err := s.pool.Exec(ctx, `INSERT INTO authport_users (id, email, password_hash, roles, permissions, org_id, org_slug, disabled,
		created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, u.ID, u.Email, u.PasswordHash, roles(u.Roles),
		roles(u.Permissions), u.OrgID, u.OrgSlug, u.Disabled, u.CreatedAt, u.UpdatedAt)
	if isUnique(err) {
		return diy.ErrDuplicate
	}
	return err
}

const userCols = `id, email, password_hash, roles, permissions, org_id, org_slug, disabled, created_at, updated_at`

func scanUser(row pgx.Row) (*diy.User, error) {
	var u diy.User
	if err := row.Scan(&u.ID, &u.Email, &u.PasswordHash, &u.Roles, &u.Permissions, &u.OrgID, &u.OrgSlug, &u.Disabled,
		&u.CreatedAt, &u.UpdatedAt); err != nil {
		return nil, notFound(err)
	}
	u.Roles, u.Permissions = noRoles(u.Roles), noRoles(u.Permissions)
	return &u, nil
}

// UserByEmail implements diy.UserStore.
func (s *Store) UserByEmail(ctx context.Context, email string) (*diy.User, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	return scanUser(s.pool.QueryRow(ctx, `SELECT `+userCols+` FROM authport_users WHERE email = $1`, email))
}

// UserByID implements diy.UserStore.
func (s *Store) UserByID(ctx context.Context, id string) (*diy.User, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	return scanUser(s.pool.QueryRow(ctx, `SELECT `+userCols+` FROM authport_users WHERE id = $1`, id))
}

// UpdateUser implements diy.UserStore in one statement: the UPDATE
// matches only while updated_at is still prev (under READ COMMITTED a
// racing update that committed first makes the condition false on
// re-check), and the outer SELECT tells ErrConflict from ErrNotFound.
func (s *Store) UpdateUser(ctx context.Context, u *diy.User, prev time.Time) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	var updated, exists bool
	err := s.pool.QueryRow(ctx, `WITH upd AS (
			UPDATE authport_users SET password_hash = $1, roles = $2, permissions = $3, org_id = $4, org_slug = $5, disabled = $6,
				updated_at = $7
			WHERE id = $8 AND updated_at = $9
			RETURNING 1
		)
		SELECT EXISTS (SELECT 1 FROM upd), EXISTS (SELECT 1 FROM authport_users WHERE id = $8)`,
		u.PasswordHash, roles(u.Roles), roles(u.Permissions), u.OrgID, u.OrgSlug, u.Disabled, u.UpdatedAt, u.ID, prev).Scan(&updated, &exists)
	switch {
	case err != nil:
		return err
	case updated:
		return nil
	case !exists:
		return diy.ErrNotFound
	}
	return diy.ErrConflict
}

// CreateSession implements diy.SessionStore.
func (s *Store) CreateSession(ctx context.Context, r *diy.SessionRecord) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	_, err := s.pool.Exec(ctx, `INSERT INTO authport_sessions (id, token_hash, user_id, email, roles, permissions, org_id, org_slug,
		created_at, last_seen_at, idle_expires_at, expires_at, revoked_at, user_agent, ip)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		r.ID, r.TokenHash, r.UserID, r.Email, roles(r.Roles), roles(r.Permissions), r.OrgID, r.OrgSlug, r.CreatedAt, r.LastSeenAt,
		r.IdleExpiresAt, r.ExpiresAt, nullTime(r.RevokedAt), r.UserAgent, r.IP)
	return err
}

const sessionCols = `id, token_hash, user_id, email, roles, permissions, org_id, org_slug, created_at, last_seen_at, idle_expires_at,
	expires_at, revoked_at, user_agent, ip`

func scanSession(row pgx.Row) (*diy.SessionRecord, error) {
	var r diy.SessionRecord
	var revoked *time.Time
	if err := row.Scan(&r.ID, &r.TokenHash, &r.UserID, &r.Email, &r.Roles, &r.Permissions, &r.OrgID, &r.OrgSlug, &r.CreatedAt,
		&r.LastSeenAt, &r.IdleExpiresAt, &r.ExpiresAt, &revoked, &r.UserAgent, &r.IP); err != nil {
		return nil, notFound(err)
	}
	r.Roles, r.Permissions = noRoles(r.Roles), noRoles(r.Permissions)
	r.RevokedAt = fromNull(revoked)
	return &r, nil
}

// SessionByTokenHash implements diy.SessionStore.
func (s *Store) SessionByTokenHash(ctx context.Context, hash []byte) (*diy.SessionRecord, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	return scanSession(s.pool.QueryRow(ctx, `SELECT `+sessionCols+` FROM authport_sessions WHERE token_hash = $1`, hash))
}

// SessionByID implements diy.SessionStore.
func (s *Store) SessionByID(ctx context.Context, id string) (*diy.SessionRecord, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	return scanSession(s.pool.QueryRow(ctx, `SELECT `+sessionCols+` FROM authport_sessions WHERE id = $1`, id))
}

// TouchSession implements diy.SessionStore.
func (s *Store) TouchSession(ctx context.Context, id string, lastSeen, idleExpires time.Time) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	return affected(s.pool.Exec(ctx, `UPDATE authport_sessions SET last_seen_at = $1, idle_expires_at = $2 WHERE id = $3 AND revoked_at IS NULL`,
		lastSeen, idleExpires, id))
}

// RevokeSession implements diy.SessionStore.
func (s *Store) RevokeSession(ctx context.Context, id string, now time.Time) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	return affected(s.pool.Exec(ctx, `UPDATE authport_sessions SET revoked_at = coalesce(revoked_at, $1) WHERE id = $2`, now, id))
}

// RevokeUserSessions implements diy.SessionStore.
func (s *Store) RevokeUserSessions(ctx context.Context, userID, except string, now time.Time) (int, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	tag, err := s.pool.Exec(ctx, `UPDATE authport_sessions SET revoked_at = $1 WHERE user_id = $2 AND id <> $3 AND revoked_at IS NULL`,
		now, userID, except)
	if err != nil {
		return 0, err
	}
	return int(tag.RowsAffected()), nil
}

// ListUserSessions implements diy.SessionStore.
func (s *Store) ListUserSessions(ctx context.Context, userID string, now time.Time) ([]*diy.SessionRecord, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT `+sessionCols+` FROM authport_sessions
		WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 AND idle_expires_at > $2
		ORDER BY created_at DESC, id`, userID, now)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*diy.SessionRecord
	for rows.Next() {
		r, err := scanSession(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// CreateRefreshToken implements diy.RefreshStore.
func (s *Store) CreateRefreshToken(ctx context.Context, t *diy.RefreshToken) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	_, err := s.pool.Exec(ctx, `INSERT INTO authport_refresh_tokens (token_hash, family_id, user_id, issued_at, expires_at, used_at, revoked_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, t.TokenHash, t.FamilyID, t.UserID, t.IssuedAt, t.ExpiresAt, nullTime(t.UsedAt), nullTime(t.RevokedAt))
	return err
}

const refreshCols = `token_hash, family_id, user_id, issued_at, expires_at, used_at, revoked_at`

func scanRefresh(row pgx.Row) (*diy.RefreshToken, error) {
	var t diy.RefreshToken
	var used, revoked *time.Time
	if err := row.Scan(&t.TokenHash, &t.FamilyID, &t.UserID, &t.IssuedAt, &t.ExpiresAt, &used, &revoked); err != nil {
		return nil, notFound(err)
	}
	t.UsedAt, t.RevokedAt = fromNull(used), fromNull(revoked)
	return &t, nil
}

// RefreshTokenByHash implements diy.RefreshStore.
func (s *Store) RefreshTokenByHash(ctx context.Context, hash []byte) (*diy.RefreshToken, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	return scanRefresh(s.pool.QueryRow(ctx, `SELECT `+refreshCols+` FROM authport_refresh_tokens WHERE token_hash = $1`, hash))
}

// RotateRefreshToken implements diy.RefreshStore in one statement: the
// UPDATE … WHERE used_at IS NULL … RETURNING claims the token (of
// concurrent callers, only the first to commit matches) and the INSERT of
// the successor reads what it returned.
func (s *Store) RotateRefreshToken(ctx context.Context, old, next []byte, now time.Time) (*diy.RefreshToken, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	t, err := scanRefresh(s.pool.QueryRow(ctx, `WITH used AS (
			UPDATE authport_refresh_tokens SET used_at = $3
			WHERE token_hash = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $3
			RETURNING `+refreshCols+`
		), successor AS (
			INSERT INTO authport_refresh_tokens (token_hash, family_id, user_id, issued_at, expires_at)
			SELECT $2, family_id, user_id, $3, expires_at FROM used
		)
		SELECT `+refreshCols+` FROM used`, old, next, now))
	if errors.Is(err, diy.ErrNotFound) {
		t, err := scanRefresh(s.pool.QueryRow(ctx, `SELECT `+refreshCols+` FROM authport_refresh_tokens WHERE token_hash = $1`, old))
		if err != nil {
			return nil, err
		}
		return t, diy.ErrRefreshUnusable
	}
	return t, err
}

// RevokeRefreshFamily implements diy.RefreshStore.
func (s *Store) RevokeRefreshFamily(ctx context.Context, familyID string, now time.Time) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	_, err := s.pool.Exec(ctx, `UPDATE authport_refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL`, now, familyID)
	return err
}

// RevokeUserRefreshTokens implements diy.RefreshStore.
func (s *Store) RevokeUserRefreshTokens(ctx context.Context, userID, except string, now time.Time) error {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	_, err := s.pool.Exec(ctx, `UPDATE authport_refresh_tokens SET revoked_at = $1 WHERE user_id = $2 AND family_id <> $3 AND revoked_at IS NULL`,
		now, userID, except)
	return err
}

// Sweep implements diy.Sweeper: it deletes sessions past their idle or
// absolute deadline and refresh tokens past their family's expiry.
func (s *Store) Sweep(ctx context.Context, before time.Time) (int, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	var total int64
	for _, q := range []string{
		`DELETE FROM authport_sessions WHERE idle_expires_at < $1 OR expires_at < $1`,
		`DELETE FROM authport_refresh_tokens WHERE expires_at < $1`,
	} {
		tag, err := s.pool.Exec(ctx, q, before)
		if err != nil {
			return int(total), err
		}
		total += tag.RowsAffected()
	}
	return int(total), nil
}

func init() {
	open := func(ctx context.Context, u string) (diy.Store, error) { return Open(ctx, u) }
	diy.RegisterStore("postgres", open)
	diy.RegisterStore("postgresql", open)
}
