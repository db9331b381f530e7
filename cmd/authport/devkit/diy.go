package devkit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/authport/authport"
	"github.com/authport/authport/diy"
	"github.com/authport/authport/diy/pgstore"
	"github.com/authport/authport/diy/sqlitestore"
)

// DBURLEnv names the variable that locates the DIY backend's database.
const DBURLEnv = "AUTHPORT_DB_URL"

// OpenDIYStore opens (and migrates) the DIY store at dbURL, in the forms
// AUTHPORT_DB_URL takes: postgres://… or postgresql://… is PostgreSQL
// (diy/pgstore); sqlite:FILE, sqlite://FILE or sqlite:///ABSOLUTE/FILE is
// SQLite (diy/sqlitestore). The caller closes the returned Closer. Errors never repeat the URL,
// which may hold a password.
func OpenDIYStore(ctx context.Context, dbURL string) (diy.Store, io.Closer, error) {
	dbURL = strings.TrimSpace(dbURL)
	switch {
	case dbURL == "":
		return nil, nil, authport.NewError(authport.ErrMisconfigured, "diy", "open", DBURLEnv+" is not set (sqlite:FILE, such as sqlite:data/authport.db, or postgres://…)")
	case strings.HasPrefix(dbURL, "postgres://"), strings.HasPrefix(dbURL, "postgresql://"):
		st, err := pgstore.Open(ctx, dbURL)
		if err != nil {
			return nil, nil, authport.NewError(authport.ErrProviderUnavailable, "diy", "open", "cannot open the PostgreSQL database named by "+DBURLEnv)
		}
		return st, st, nil
	}
	if !strings.HasPrefix(dbURL, "sqlite:") {
		return nil, nil, authport.NewError(authport.ErrMisconfigured, "diy", "open", DBURLEnv+" must be sqlite:FILE or a postgres:// URL")
	}
	path := strings.TrimPrefix(strings.TrimPrefix(dbURL, "sqlite:"), "//")
	if path == "" || strings.Contains(path, "://") {
		return nil, nil, authport.NewError(authport.ErrMisconfigured, "diy", "open", DBURLEnv+" must be sqlite:FILE or a postgres:// URL")
	}
	st, err := sqlitestore.Open(ctx, path)
	if err != nil {
		return nil, nil, authport.WrapError(authport.ErrMisconfigured, "diy", "open", fmt.Errorf("cannot open the SQLite database named by %s: %w", DBURLEnv, err))
	}
	return st, st, nil
}

// DIY is a DIY backend together with the store it runs on.
type DIY struct {
	// Backend is the authenticator.
	*diy.Backend
	// Store is the store the backend was opened on.
	Store  diy.Store
	closer io.Closer
}

// Close stops the backend and closes its store.
func (d *DIY) Close() error {
	return errors.Join(d.Backend.Close(), d.closer.Close())
}

// OpenDIY opens the store at dbURL (see OpenDIYStore) and a DIY backend on
// it configured by cfg (cfg.Store is set here).
func OpenDIY(ctx context.Context, dbURL string, cfg diy.Config) (*DIY, error) {
	st, closer, err := OpenDIYStore(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	cfg.Store = st
	b, err := diy.New(ctx, cfg)
	if err != nil {
		closer.Close()
		return nil, err
	}
	return &DIY{Backend: b, Store: st, closer: closer}, nil
}

// SeedDIY makes every account exist in b with its password and roles and
// enabled: missing accounts are created, existing ones get the password
// and roles reset (which ends their sessions).
func SeedDIY(ctx context.Context, b *diy.Backend, accounts []Account) error {
	for _, a := range accounts {
		u, err := b.UserByEmail(ctx, a.Email)
		if err != nil {
			if authport.KindOf(err) != authport.ErrInvalidInput {
				return err
			}
			if _, err := b.CreateUser(ctx, a.Email, a.Password, a.Roles...); err != nil {
				return fmt.Errorf("seed %s: %w", a.Email, err)
			}
			continue
		}
		for _, step := range []func() error{
			func() error { return b.EnableUser(ctx, u.ID) },
			func() error { return b.SetRoles(ctx, u.ID, a.Roles) },
			func() error { return b.SetPassword(ctx, u.ID, a.Password) },
		} {
			if err := step(); err != nil {
				return fmt.Errorf("seed %s: %w", a.Email, err)
			}
		}
	}
	return nil
}

// UserInfo is one account as `authport users list` shows it (never the
// password hash).
type UserInfo struct {
	// ID is the user id ("usr_…").
	ID string `json:"id"`
	// Email is the normalised email address.
	Email string `json:"email"`
	// Roles are the account's roles.
	Roles []string `json:"roles"`
	// Permissions are the account's permissions.
	Permissions []string `json:"permissions"`
	// OrgID is the account's organisation ("" for none).
	OrgID string `json:"org_id"`
	// Disabled accounts cannot sign in.
	Disabled bool `json:"disabled"`
	// CreatedAt is when the account was created (UTC).
	CreatedAt time.Time `json:"created_at"`
}

// ListDIYUsers lists the accounts of a SQL store opened by OpenDIYStore,
// oldest first. (diy.UserStore has no listing method, so this reads the
// authport_users table directly.)
func ListDIYUsers(ctx context.Context, st diy.Store) ([]UserInfo, error) {
	const q = `SELECT id, email, roles, permissions, org_id, disabled, created_at FROM authport_users ORDER BY created_at, id`
	var out []UserInfo
	switch s := st.(type) {
	case *sqlitestore.Store:
		rows, err := s.DB().QueryContext(ctx, q)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		for rows.Next() {
			var u UserInfo
			var roles, perms string
			var created int64
			if err := rows.Scan(&u.ID, &u.Email, &roles, &perms, &u.OrgID, &u.Disabled, &created); err != nil {
				return nil, err
			}
			if err := json.Unmarshal([]byte(roles), &u.Roles); err != nil {
				return nil, fmt.Errorf("user %s: malformed roles", u.ID)
			}
			if err := json.Unmarshal([]byte(perms), &u.Permissions); err != nil {
				return nil, fmt.Errorf("user %s: malformed permissions", u.ID)
			}
			u.CreatedAt = time.UnixMicro(created).UTC()
			out = append(out, u)
		}
		return out, rows.Err()
	case *pgstore.Store:
		rows, err := s.Pool().Query(ctx, q)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		for rows.Next() {
			var u UserInfo
			if err := rows.Scan(&u.ID, &u.Email, &u.Roles, &u.Permissions, &u.OrgID, &u.Disabled, &u.CreatedAt); err != nil {
				return nil, err
			}
			u.CreatedAt = u.CreatedAt.UTC()
			out = append(out, u)
		}
		return out, rows.Err()
	}
	return nil, errors.New("listing users needs a sqlitestore or pgstore store")
}
