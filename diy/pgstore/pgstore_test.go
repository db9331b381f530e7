package pgstore_test

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/authport/authport/diy/pgstore"
	"github.com/authport/authport/diy/storetest"
	"github.com/authport/authport/internal/dbtest"
)

// schemaVersion is the number of the newest embedded migration.
const schemaVersion = 2

func TestConformance(t *testing.T) {
	s, err := pgstore.Open(t.Context(), dbtest.FreshPostgres(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	storetest.Run(t, s)
}

// TestMigrateConcurrently starts several "instances" on one empty
// database at once: the advisory lock lets one migrate while the others
// wait, and all of them open.
func TestMigrateConcurrently(t *testing.T) {
	url := dbtest.FreshPostgres(t)
	var wg sync.WaitGroup
	stores := make([]*pgstore.Store, 4)
	for i := range stores {
		wg.Go(func() {
			s, err := pgstore.Open(t.Context(), url)
			if err != nil {
				t.Errorf("Open %d: %v", i, err)
				return
			}
			stores[i] = s
		})
	}
	wg.Wait()
	for _, s := range stores {
		if s == nil {
			t.FailNow()
		}
		defer s.Close()
		v, err := s.SchemaVersion(t.Context())
		if err != nil || v != schemaVersion {
			t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, schemaVersion)
		}
	}
	var n int
	if err := stores[0].Pool().QueryRow(t.Context(), `SELECT count(*) FROM authport_schema_migrations`).Scan(&n); err != nil || n != schemaVersion {
		t.Fatalf("schema_migrations rows = %d, %v; want %d", n, err, schemaVersion)
	}
	s, err := pgstore.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}

func TestOpenBadURL(t *testing.T) {
	if _, err := pgstore.Open(t.Context(), "postgres://%zz"); err == nil {
		t.Fatal("Open with a malformed URL succeeded")
	}
}

// TestUpgradeFromV1 migrates a database a version-1 build created and
// used, from several instances at once: every Open succeeds, 0002 is
// applied once (under the advisory lock), the old rows read with no
// permissions and no organisation and update normally, and the version-1
// build's own statements still work on the new schema (instances of both
// builds may overlap in a rollout).
func TestUpgradeFromV1(t *testing.T) {
	ctx := t.Context()
	url := dbtest.FreshPostgres(t)
	v1, err := os.ReadFile("migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close(context.Background())
	now := time.Now().Truncate(time.Microsecond)
	for _, q := range []string{
		string(v1),
		`CREATE TABLE authport_schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
		`INSERT INTO authport_schema_migrations (version, name) VALUES (1, '0001_init.sql')`,
	} {
		if _, err := raw.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	// What a version-1 build writes.
	insertV1 := func(uid, sid string) {
		t.Helper()
		if _, err := raw.Exec(ctx, `INSERT INTO authport_users (id, email, password_hash, roles, disabled, created_at, updated_at)
			VALUES ($1, $2, 'x', '{admin}', false, $3, $3)`, uid, uid+"@example.com", now); err != nil {
			t.Fatal(err)
		}
		if _, err := raw.Exec(ctx, `INSERT INTO authport_sessions (id, token_hash, user_id, email, roles, created_at, last_seen_at,
			idle_expires_at, expires_at, revoked_at, user_agent, ip) VALUES ($1, $2, $3, $4, '{admin}', $5, $5, $6, $6, NULL, '', '')`,
			sid, []byte(sid), uid, uid+"@example.com", now, now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	insertV1("usr_old", "ses_old")

	var wg sync.WaitGroup
	stores := make([]*pgstore.Store, 4)
	for i := range stores {
		wg.Go(func() {
			s, err := pgstore.Open(ctx, url)
			if err != nil {
				t.Errorf("Open %d: %v", i, err)
				return
			}
			stores[i] = s
		})
	}
	wg.Wait()
	for _, s := range stores {
		if s == nil {
			t.FailNow()
		}
		defer s.Close()
	}
	s := stores[0]
	if v, err := s.SchemaVersion(ctx); err != nil || v != schemaVersion {
		t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, schemaVersion)
	}
	var n int
	if err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM authport_schema_migrations`).Scan(&n); err != nil || n != schemaVersion {
		t.Fatalf("schema_migrations rows = %d, %v; want %d", n, err, schemaVersion)
	}
	insertV1("usr_later", "ses_later") // a version-1 instance still running
	for _, uid := range []string{"usr_old", "usr_later"} {
		u, err := s.UserByID(ctx, uid)
		if err != nil {
			t.Fatal(err)
		}
		if len(u.Roles) != 1 || u.Permissions != nil || u.OrgID != "" || u.OrgSlug != "" {
			t.Fatalf("version-1 user reads as %+v", u)
		}
		prev := u.UpdatedAt
		u.Permissions, u.OrgID, u.UpdatedAt = []string{"reports:read"}, "org_1", prev.Add(time.Second)
		if err := s.UpdateUser(ctx, u, prev); err != nil {
			t.Fatal(err)
		}
		if got, err := s.UserByID(ctx, uid); err != nil || len(got.Permissions) != 1 || got.OrgID != "org_1" {
			t.Fatalf("after update: %+v, %v", got, err)
		}
	}
	for _, sid := range []string{"ses_old", "ses_later"} {
		r, err := s.SessionByID(ctx, sid)
		if err != nil || len(r.Roles) != 1 || r.Permissions != nil || r.OrgID != "" {
			t.Fatalf("version-1 session reads as %+v, %v", r, err)
		}
	}
	// The version-1 build's update leaves the new columns alone.
	if _, err := raw.Exec(ctx, `UPDATE authport_users SET password_hash = 'y', roles = '{}', disabled = false, updated_at = $1 WHERE id = 'usr_old'`,
		now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, err := s.UserByID(ctx, "usr_old"); err != nil || len(got.Permissions) != 1 || got.OrgID != "org_1" {
		t.Fatalf("after a version-1 update: %+v, %v", got, err)
	}
}
