package sqlitestore_test

import (
	"database/sql"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/authport/authport/diy/sqlitestore"
	"github.com/authport/authport/diy/storetest"
)

// schemaVersion is the number of the newest embedded migration.
const schemaVersion = 2

func TestConformance(t *testing.T) {
	s, err := sqlitestore.Open(t.Context(), filepath.Join(t.TempDir(), "auth.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	storetest.Run(t, s)
}

// TestMigrateConcurrently opens one file from several "instances" at once:
// the schema is created once and every Open succeeds.
func TestMigrateConcurrently(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.db")
	var wg sync.WaitGroup
	stores := make([]*sqlitestore.Store, 4)
	for i := range stores {
		wg.Go(func() {
			s, err := sqlitestore.Open(t.Context(), path)
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
			continue
		}
		defer s.Close()
		v, err := s.SchemaVersion(t.Context())
		if err != nil || v != schemaVersion {
			t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, schemaVersion)
		}
	}
	var n int
	if err := stores[0].DB().QueryRowContext(t.Context(), `SELECT count(*) FROM authport_schema_migrations`).Scan(&n); err != nil || n != schemaVersion {
		t.Fatalf("schema_migrations rows = %d, %v; want %d", n, err, schemaVersion)
	}
	// Reopening an up-to-date database changes nothing.
	s, err := sqlitestore.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}

func TestOpenBadPath(t *testing.T) {
	for _, p := range []string{"", "a.db?mode=ro", "x#y"} {
		if _, err := sqlitestore.Open(t.Context(), p); err == nil {
			t.Errorf("Open(%q) succeeded", p)
		}
	}
}

// TestUpgradeFromV1 migrates a database a version-1 build created and
// used, from several instances at once: every Open succeeds, 0002 is
// applied once, the old rows read with no permissions and no organisation
// and update normally, and the version-1 build's own statements still work
// on the new schema (instances of both builds may overlap in a rollout).
func TestUpgradeFromV1(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "auth.db")
	v1, err := os.ReadFile("migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	now := time.Now().Truncate(time.Microsecond)
	for _, q := range []string{
		string(v1),
		`CREATE TABLE authport_schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`,
		`INSERT INTO authport_schema_migrations VALUES (1, '0001_init.sql', 0)`,
	} {
		if _, err := raw.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	// What a version-1 build writes.
	insertV1 := func(uid, sid string) {
		t.Helper()
		if _, err := raw.ExecContext(ctx, `INSERT INTO authport_users (id, email, password_hash, roles, disabled, created_at, updated_at)
			VALUES (?, ?, 'x', '["admin"]', 0, ?, ?)`, uid, uid+"@example.com", now.UnixMicro(), now.UnixMicro()); err != nil {
			t.Fatal(err)
		}
		if _, err := raw.ExecContext(ctx, `INSERT INTO authport_sessions (id, token_hash, user_id, email, roles, created_at, last_seen_at,
			idle_expires_at, expires_at, revoked_at, user_agent, ip) VALUES (?, ?, ?, ?, '["admin"]', ?, ?, ?, ?, NULL, '', '')`,
			sid, []byte(sid), uid, uid+"@example.com", now.UnixMicro(), now.UnixMicro(), now.Add(time.Hour).UnixMicro(), now.Add(time.Hour).UnixMicro()); err != nil {
			t.Fatal(err)
		}
	}
	insertV1("usr_old", "ses_old")

	var wg sync.WaitGroup
	stores := make([]*sqlitestore.Store, 4)
	for i := range stores {
		wg.Go(func() {
			s, err := sqlitestore.Open(ctx, path)
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
	if err := s.DB().QueryRowContext(ctx, `SELECT count(*) FROM authport_schema_migrations`).Scan(&n); err != nil || n != schemaVersion {
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
	if _, err := raw.ExecContext(ctx, `UPDATE authport_users SET password_hash = 'y', roles = '[]', disabled = 0, updated_at = ? WHERE id = 'usr_old'`,
		now.Add(time.Hour).UnixMicro()); err != nil {
		t.Fatal(err)
	}
	if got, err := s.UserByID(ctx, "usr_old"); err != nil || len(got.Permissions) != 1 || got.OrgID != "org_1" {
		t.Fatalf("after a version-1 update: %+v, %v", got, err)
	}
}
