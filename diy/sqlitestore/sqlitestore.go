// Package sqlitestore is a diy.Store on SQLite through modernc.org/sqlite
// (pure Go, no cgo): the DIY backend's embedded default, where a file path
// is all the configuration.
//
// Open applies the embedded schema migrations (versioned, recorded in
// authport_schema_migrations) inside a BEGIN IMMEDIATE transaction, so two
// processes opening the same file at once migrate it once. The database runs
// in WAL mode with a busy timeout, so readers never wait for the writer and
// writers queue rather than fail. Every table name starts with "authport_",
// so the file can be shared with the application's own tables.
package sqlitestore

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/authport/authport/diy"
	"github.com/authport/authport/diy/internal/migrations"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Store is a diy.Store (and diy.Sweeper) on one SQLite database. It is safe
// for concurrent use.
type Store struct {
	db *sql.DB
	// Prepared statements for the hot paths (a session check per request).
	bySessionHash, bySessionID *sql.Stmt
}

var (
	_ diy.Store   = (*Store)(nil)
	_ diy.Sweeper = (*Store)(nil)
)

// Open opens (creating if needed) the SQLite database at path and migrates
// it to the current schema.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("sqlitestore: path %q must be a plain file name", path)
	}
	dsn := path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	s := &Store{db: db}
	// Switching a new file to WAL needs an exclusive lock that SQLite does
	// not wait for (the busy timeout does not apply), so instances opening
	// one new database at once can be told it is locked: retry, bounded.
	for attempt := 1; ; attempt++ {
		err = s.migrate(ctx)
		if err == nil {
			break
		}
		if attempt == 50 || !strings.Contains(err.Error(), "SQLITE_BUSY") && !strings.Contains(err.Error(), "database is locked") {
			db.Close()
			return nil, err
		}
		select {
		case <-ctx.Done():
			db.Close()
			return nil, err
		case <-time.After(time.Duration(attempt) * 10 * time.Millisecond):
		}
	}
	if s.bySessionHash, err = db.PrepareContext(ctx, `SELECT `+sessionCols+` FROM authport_sessions WHERE token_hash = ?`); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	if s.bySessionID, err = db.PrepareContext(ctx, `SELECT `+sessionCols+` FROM authport_sessions WHERE id = ?`); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	return s, nil
}

// DB returns the underlying *sql.DB.
func (s *Store) DB() *sql.DB { return s.db }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// SchemaVersion reports the highest migration applied.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT max(version) FROM authport_schema_migrations`).Scan(&v)
	return int(v.Int64), err
}

func loadMigrations() ([]migrations.Migration, error) {
	ms, err := migrations.Load(migrationFS, "migrations")
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	return ms, nil
}

// migrate applies the missing migrations in one immediate transaction.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil) // BEGIN IMMEDIATE (_txlock)
	if err != nil {
		return fmt.Errorf("sqlitestore: migrate: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS authport_schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`); err != nil {
		return fmt.Errorf("sqlitestore: migrate: %w", err)
	}
	var cur sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT max(version) FROM authport_schema_migrations`).Scan(&cur); err != nil {
		return fmt.Errorf("sqlitestore: migrate: %w", err)
	}
	if last := ms[len(ms)-1].Version; int(cur.Int64) > last {
		return fmt.Errorf("sqlitestore: database schema version %d is newer than this build's %d", cur.Int64, last)
	}
	for _, m := range ms {
		if m.Version <= int(cur.Int64) {
			continue
		}
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			return fmt.Errorf("sqlitestore: migration %s: %w", m.Name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO authport_schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
			m.Version, m.Name, time.Now().UnixMicro()); err != nil {
			return fmt.Errorf("sqlitestore: migration %s: %w", m.Name, err)
		}
	}
	return tx.Commit()
}

func isUnique(err error) bool {
	var e *sqlite.Error
	if errors.As(err, &e) {
		c := e.Code()
		return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

func micro(t time.Time) int64 { return t.UnixMicro() }

func nullMicro(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

func fromMicro(v int64) time.Time { return time.UnixMicro(v) }

func fromNull(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMicro(v.Int64)
}

// rolesJSON encodes a role or permission list as a JSON array.
func rolesJSON(r []string) string {
	if len(r) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(r)
	return string(b)
}

func parseRoles(s string) ([]string, error) {
	var r []string
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		return nil, fmt.Errorf("sqlitestore: malformed role or permission list: %w", err)
	}
	if len(r) == 0 {
		return nil, nil
	}
	return r, nil
}

// CreateUser implements diy.UserStore.
func (s *Store) CreateUser(ctx context.Context, u *diy.User) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO authport_users (id, email, password_hash, roles, permissions, org_id, org_slug,
		disabled, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, u.ID, u.Email, u.PasswordHash, rolesJSON(u.Roles),
		rolesJSON(u.Permissions), u.OrgID, u.OrgSlug, u.Disabled, micro(u.CreatedAt), micro(u.UpdatedAt))
	if isUnique(err) {
		return diy.ErrDuplicate
	}
	return err
}

const userCols = `id, email, password_hash, roles, permissions, org_id, org_slug, disabled, created_at, updated_at`

func scanUser(row *sql.Row) (*diy.User, error) {
	var u diy.User
	var roles, perms string
	var created, updated int64
	if err := row.Scan(&u.ID, &u.Email, &u.PasswordHash, &roles, &perms, &u.OrgID, &u.OrgSlug, &u.Disabled, &created, &updated); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, diy.ErrNotFound
		}
		return nil, err
	}
	var err error
	if u.Roles, err = parseRoles(roles); err != nil {
		return nil, err
	}
	if u.Permissions, err = parseRoles(perms); err != nil {
		return nil, err
	}
	u.CreatedAt, u.UpdatedAt = fromMicro(created), fromMicro(updated)
	return &u, nil
}

// UserByEmail implements diy.UserStore.
func (s *Store) UserByEmail(ctx context.Context, email string) (*diy.User, error) {
	return scanUser(s.db.QueryRowContext(ctx, `SELECT `+userCols+` FROM authport_users WHERE email = ?`, email))
}

// UserByID implements diy.UserStore.
func (s *Store) UserByID(ctx context.Context, id string) (*diy.User, error) {
	return scanUser(s.db.QueryRowContext(ctx, `SELECT `+userCols+` FROM authport_users WHERE id = ?`, id))
}

// UpdateUser implements diy.UserStore: one conditional UPDATE, then, if it
// matched nothing, a read that tells ErrNotFound from ErrConflict.
func (s *Store) UpdateUser(ctx context.Context, u *diy.User, prev time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE authport_users SET password_hash = ?, roles = ?, permissions = ?, org_id = ?, org_slug = ?,
		disabled = ?, updated_at = ? WHERE id = ? AND updated_at = ?`,
		u.PasswordHash, rolesJSON(u.Roles), rolesJSON(u.Permissions), u.OrgID, u.OrgSlug, u.Disabled, micro(u.UpdatedAt), u.ID, micro(prev))
	if err := affected(res, err); !errors.Is(err, diy.ErrNotFound) {
		return err
	}
	var one int
	if err := s.db.QueryRowContext(ctx, `SELECT 1 FROM authport_users WHERE id = ?`, u.ID).Scan(&one); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return diy.ErrNotFound
		}
		return err
	}
	return diy.ErrConflict
}

func affected(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return diy.ErrNotFound
	}
	return nil
}

// CreateSession implements diy.SessionStore.
func (s *Store) CreateSession(ctx context.Context, r *diy.SessionRecord) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO authport_sessions (id, token_hash, user_id, email, roles, permissions, org_id, org_slug,
		created_at, last_seen_at, idle_expires_at, expires_at, revoked_at, user_agent, ip) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.TokenHash, r.UserID, r.Email, rolesJSON(r.Roles), rolesJSON(r.Permissions), r.OrgID, r.OrgSlug, micro(r.CreatedAt),
		micro(r.LastSeenAt), micro(r.IdleExpiresAt), micro(r.ExpiresAt), nullMicro(r.RevokedAt), r.UserAgent, r.IP)
	return err
}

const sessionCols = `id, token_hash, user_id, email, roles, permissions, org_id, org_slug, created_at, last_seen_at, idle_expires_at,
	expires_at, revoked_at, user_agent, ip`

type scanner interface{ Scan(...any) error }

func scanSession(row scanner) (*diy.SessionRecord, error) {
	var r diy.SessionRecord
	var roles, perms string
	var created, seen, idle, exp int64
	var revoked sql.NullInt64
	if err := row.Scan(&r.ID, &r.TokenHash, &r.UserID, &r.Email, &roles, &perms, &r.OrgID, &r.OrgSlug, &created, &seen, &idle, &exp,
		&revoked, &r.UserAgent, &r.IP); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, diy.ErrNotFound
		}
		return nil, err
	}
	var err error
	if r.Roles, err = parseRoles(roles); err != nil {
		return nil, err
	}
	if r.Permissions, err = parseRoles(perms); err != nil {
		return nil, err
	}
	r.CreatedAt, r.LastSeenAt, r.IdleExpiresAt, r.ExpiresAt = fromMicro(created), fromMicro(seen), fromMicro(idle), fromMicro(exp)
	r.RevokedAt = fromNull(revoked)
	return &r, nil
}

// SessionByTokenHash implements diy.SessionStore.
func (s *Store) SessionByTokenHash(ctx context.Context, hash []byte) (*diy.SessionRecord, error) {
	return scanSession(s.bySessionHash.QueryRowContext(ctx, hash))
}

// SessionByID implements diy.SessionStore.
func (s *Store) SessionByID(ctx context.Context, id string) (*diy.SessionRecord, error) {
	return scanSession(s.bySessionID.QueryRowContext(ctx, id))
}

// TouchSession implements diy.SessionStore.
func (s *Store) TouchSession(ctx context.Context, id string, lastSeen, idleExpires time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE authport_sessions SET last_seen_at = ?, idle_expires_at = ? WHERE id = ? AND revoked_at IS NULL`,
		micro(lastSeen), micro(idleExpires), id)
	return affected(res, err)
}

// RevokeSession implements diy.SessionStore.
func (s *Store) RevokeSession(ctx context.Context, id string, now time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE authport_sessions SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?`, micro(now), id)
	return affected(res, err)
}

// RevokeUserSessions implements diy.SessionStore.
func (s *Store) RevokeUserSessions(ctx context.Context, userID, except string, now time.Time) (int, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE authport_sessions SET revoked_at = ? WHERE user_id = ? AND id <> ? AND revoked_at IS NULL`,
		micro(now), userID, except)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// ListUserSessions implements diy.SessionStore.
func (s *Store) ListUserSessions(ctx context.Context, userID string, now time.Time) ([]*diy.SessionRecord, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+sessionCols+` FROM authport_sessions
		WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ? AND idle_expires_at > ?
		ORDER BY created_at DESC, id`, userID, micro(now), micro(now))
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
	_, err := s.db.ExecContext(ctx, `INSERT INTO authport_refresh_tokens (token_hash, family_id, user_id, issued_at, expires_at, used_at, revoked_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, t.TokenHash, t.FamilyID, t.UserID, micro(t.IssuedAt), micro(t.ExpiresAt), nullMicro(t.UsedAt), nullMicro(t.RevokedAt))
	return err
}

const refreshCols = `token_hash, family_id, user_id, issued_at, expires_at, used_at, revoked_at`

func scanRefresh(row scanner) (*diy.RefreshToken, error) {
	var t diy.RefreshToken
	var issued, exp int64
	var used, revoked sql.NullInt64
	if err := row.Scan(&t.TokenHash, &t.FamilyID, &t.UserID, &issued, &exp, &used, &revoked); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, diy.ErrNotFound
		}
		return nil, err
	}
	t.IssuedAt, t.ExpiresAt, t.UsedAt, t.RevokedAt = fromMicro(issued), fromMicro(exp), fromNull(used), fromNull(revoked)
	return &t, nil
}

// RefreshTokenByHash implements diy.RefreshStore.
func (s *Store) RefreshTokenByHash(ctx context.Context, hash []byte) (*diy.RefreshToken, error) {
	return scanRefresh(s.db.QueryRowContext(ctx, `SELECT `+refreshCols+` FROM authport_refresh_tokens WHERE token_hash = ?`, hash))
}

// RotateRefreshToken implements diy.RefreshStore: one immediate
// transaction marks old used (only if unused, unrevoked and unexpired) and
// inserts its successor.
func (s *Store) RotateRefreshToken(ctx context.Context, old, next []byte, now time.Time) (*diy.RefreshToken, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	t, err := scanRefresh(tx.QueryRowContext(ctx, `UPDATE authport_refresh_tokens SET used_at = ?
		WHERE token_hash = ? AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?
		RETURNING `+refreshCols, micro(now), old, micro(now)))
	if errors.Is(err, diy.ErrNotFound) {
		t, err := scanRefresh(tx.QueryRowContext(ctx, `SELECT `+refreshCols+` FROM authport_refresh_tokens WHERE token_hash = ?`, old))
		if err != nil {
			return nil, err
		}
		return t, diy.ErrRefreshUnusable
	}
	if err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO authport_refresh_tokens (token_hash, family_id, user_id, issued_at, expires_at)
		VALUES (?, ?, ?, ?, ?)`, next, t.FamilyID, t.UserID, micro(now), micro(t.ExpiresAt)); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	return t, nil
}

// RevokeRefreshFamily implements diy.RefreshStore.
func (s *Store) RevokeRefreshFamily(ctx context.Context, familyID string, now time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE authport_refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL`, micro(now), familyID)
	return err
}

// RevokeUserRefreshTokens implements diy.RefreshStore.
func (s *Store) RevokeUserRefreshTokens(ctx context.Context, userID, except string, now time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE authport_refresh_tokens SET revoked_at = ? WHERE user_id = ? AND family_id <> ? AND revoked_at IS NULL`,
		micro(now), userID, except)
	return err
}

// Sweep implements diy.Sweeper: it deletes sessions past their idle or
// absolute deadline and refresh tokens past their family's expiry.
func (s *Store) Sweep(ctx context.Context, before time.Time) (int, error) {
	b := micro(before)
	var total int64
	for _, q := range []string{
		`DELETE FROM authport_sessions WHERE idle_expires_at < ? OR expires_at < ?`,
		`DELETE FROM authport_refresh_tokens WHERE expires_at < ? AND expires_at < ?`,
	} {
		res, err := s.db.ExecContext(ctx, q, b, b)
		if err != nil {
			return int(total), err
		}
		n, _ := res.RowsAffected()
		total += n
	}
	return int(total), nil
}

func init() {
	diy.RegisterStore("sqlite", func(ctx context.Context, u string) (diy.Store, error) {
		// sqlite:FILE, sqlite://FILE or sqlite:///ABSOLUTE/FILE
		p := strings.TrimPrefix(strings.TrimPrefix(u, "sqlite:"), "//")
		return Open(ctx, p)
	})
}
