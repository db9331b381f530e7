// Package pgdb links PostgreSQL (through pgx's database/sql driver) into
// the Better Auth adapter: importing it lets ConfigFromEnv, FromEnv and
// OpenURL open postgres:// and postgresql:// database URLs. It is a
// separate package so that the adapter itself links no database engine.
//
//	import (
//		_ "github.com/authport/authport/betterauth"
//		_ "github.com/authport/authport/betterauth/pgdb"
//	)
package pgdb

import (
	"context"
	"database/sql"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver

	"github.com/authport/authport/betterauth"
)

// Open opens a PostgreSQL database URL with pgx; it connects lazily, on
// the first lookup, so a database that is down is a 503 then, not a
// start-up failure.
func Open(ctx context.Context, url string) (*sql.DB, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, err
	}
	db.SetMaxIdleConns(10)
	return db, nil
}

func init() {
	open := func(ctx context.Context, url string) (*sql.DB, betterauth.Dialect, error) {
		db, err := Open(ctx, url)
		return db, betterauth.DialectPostgres, err
	}
	betterauth.RegisterDatabase("postgres", open)
	betterauth.RegisterDatabase("postgresql", open)
}
