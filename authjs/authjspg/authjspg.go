// Package authjspg is the authjs adapter's session store for PostgreSQL:
// it reads the database sessions an Auth.js application writes through
// @auth/pg-adapter (or any adapter with the same tables under other names,
// see Schema), with pgx. It is a package of its own so that the authjs
// adapter links no database driver unless this package is imported.
//
// Importing it registers the store for postgres:// and postgresql:// URLs,
// so that AUTH_PROVIDER=authjs with AUTHJS_SESSION_STRATEGY=database and
// AUTHJS_DATABASE_URL works through authport.FromEnv:
//
//	import _ "github.com/authport/authport/authjs/authjspg"
//
// Each verification is one indexed query (sessions."sessionToken" is unique
// in the adapter's schema, and the join is on the users primary key). The
// store only reads, except for DeleteSession; it never extends a session's
// expiry, which Auth.js does when the user uses the JavaScript app.
package authjspg

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/authport/authport"
	"github.com/authport/authport/authjs"
)

func init() {
	open := func(ctx context.Context, url string, cfg authjs.Config) (authjs.SessionStore, func(), error) {
		schema := Schema{}
		if cfg.RolesClaim != "" && cfg.RolesClaim != "-" {
			schema.UserRole = cfg.RolesClaim
		}
		s, err := Open(ctx, url, schema)
		if err != nil {
			return nil, nil, err
		}
		return s, s.Close, nil
	}
	authjs.RegisterStore("postgres", open)
	authjs.RegisterStore("postgresql", open)
}

// Schema names the tables and columns. The zero value is @auth/pg-adapter's
// schema: sessions(id, "userId", expires, "sessionToken") and users(id,
// name, email, "emailVerified", image). Names are quoted as given.
type Schema struct {
	Sessions, Users                                           string
	SessionID, SessionUserID, SessionExpires, SessionToken    string
	UserID, UserName, UserEmail, UserEmailVerified, UserImage string
	// UserRole is the users column holding the application's role
	// (default "role"); it is read only if the table has it. "-" reads
	// none.
	UserRole string
}

func (s *Schema) defaults() {
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&s.Sessions, "sessions")
	def(&s.Users, "users")
	def(&s.SessionID, "id")
	def(&s.SessionUserID, "userId")
	def(&s.SessionExpires, "expires")
	def(&s.SessionToken, "sessionToken")
	def(&s.UserID, "id")
	def(&s.UserName, "name")
	def(&s.UserEmail, "email")
	def(&s.UserEmailVerified, "emailVerified")
	def(&s.UserImage, "image")
	def(&s.UserRole, "role")
}

// Store reads Auth.js sessions from PostgreSQL.
type Store struct {
	pool    *pgxpool.Pool
	owned   bool
	lookup  string
	del     string
	hasRole bool
}

// Open connects to the database at url and checks the schema.
func Open(ctx context.Context, url string, s Schema) (*Store, error) {
	pc, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, authport.NewError(authport.ErrMisconfigured, authjs.Name, "config", "the database URL is malformed")
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, authport.NewError(authport.ErrMisconfigured, authjs.Name, "config", "the database URL is not usable")
	}
	st, err := New(ctx, pool, s)
	if err != nil {
		pool.Close()
		return nil, err
	}
	st.owned = true
	return st, nil
}

// New uses an existing pool (the application's own) and checks the schema:
// the tables and columns must exist. The pool is not closed by Close.
func New(ctx context.Context, pool *pgxpool.Pool, s Schema) (*Store, error) {
	s.defaults()
	cols, err := columns(ctx, pool, s.Users)
	if err != nil {
		return nil, err
	}
	st := &Store{pool: pool}
	st.hasRole = s.UserRole != "-" && cols[s.UserRole]
	for _, c := range []string{s.UserID, s.UserName, s.UserEmail, s.UserEmailVerified, s.UserImage} {
		if !cols[c] {
			return nil, authport.NewError(authport.ErrMisconfigured, authjs.Name, "config", fmt.Sprintf("the users table has no column %q", c))
		}
	}
	scols, err := columns(ctx, pool, s.Sessions)
	if err != nil {
		return nil, err
	}
	for _, c := range []string{s.SessionID, s.SessionUserID, s.SessionExpires, s.SessionToken} {
		if !scols[c] {
			return nil, authport.NewError(authport.ErrMisconfigured, authjs.Name, "config", fmt.Sprintf("the sessions table has no column %q", c))
		}
	}
	id := func(n string) string { return pgx.Identifier{n}.Sanitize() }
	role := "NULL::text"
	if st.hasRole {
		role = "u." + id(s.UserRole) + "::text"
	}
	st.lookup = "SELECT s." + id(s.SessionID) + "::text, u." + id(s.UserID) + "::text, s." + id(s.SessionExpires) +
		", COALESCE(u." + id(s.UserEmail) + ", ''), COALESCE(u." + id(s.UserName) + ", ''), COALESCE(u." + id(s.UserImage) + ", ''), u." +
		id(s.UserEmailVerified) + " IS NOT NULL, " + role +
		" FROM " + id(s.Sessions) + " s JOIN " + id(s.Users) + " u ON u." + id(s.UserID) + " = s." + id(s.SessionUserID) +
		" WHERE s." + id(s.SessionToken) + " = $1"
	st.del = "DELETE FROM " + id(s.Sessions) + " WHERE " + id(s.SessionID) + "::text = $1"
	return st, nil
}

// columns lists the columns of table in the search path.
func columns(ctx context.Context, pool *pgxpool.Pool, table string) (map[string]bool, error) {
	rows, err := pool.Query(ctx, `SELECT column_name FROM information_schema.columns
		WHERE table_name = $1 AND table_schema = ANY (current_schemas(false))`, table)
	if err != nil {
		return nil, authport.WrapError(authport.ErrProviderUnavailable, authjs.Name, "config", errors.New("the session database could not be reached"))
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, authport.WrapError(authport.ErrProviderUnavailable, authjs.Name, "config", errors.New("reading the schema failed"))
		}
		out[c] = true
	}
	if rows.Err() != nil {
		return nil, authport.WrapError(authport.ErrProviderUnavailable, authjs.Name, "config", errors.New("reading the schema failed"))
	}
	if len(out) == 0 {
		return nil, authport.NewError(authport.ErrMisconfigured, authjs.Name, "config", "table "+strconv.Quote(table)+" does not exist")
	}
	return out, nil
}

// SessionAndUser implements authjs.SessionStore.
func (st *Store) SessionAndUser(ctx context.Context, token string) (*authjs.DBSession, error) {
	var s authjs.DBSession
	var role *string
	var exp time.Time
	err := st.pool.QueryRow(ctx, st.lookup, token).Scan(&s.ID, &s.UserID, &exp, &s.Email, &s.Name, &s.Image, &s.EmailVerified, &role)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	s.Expires = exp
	if role != nil && *role != "" {
		s.Roles = []string{*role}
	}
	return &s, nil
}

// DeleteSession implements authjs.SessionStore.
func (st *Store) DeleteSession(ctx context.Context, id string) error {
	_, err := st.pool.Exec(ctx, st.del, id)
	return err
}

// Close closes the pool if Open created it.
func (st *Store) Close() {
	if st.owned {
		st.pool.Close()
	}
}
