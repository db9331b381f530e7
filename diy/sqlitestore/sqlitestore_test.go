package sqlitestore_test

import (
	"path/filepath"
	"sync"
	"testing"

	"github.com/authport/authport/diy/sqlitestore"
	"github.com/authport/authport/diy/storetest"
)

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
		if err != nil || v != 1 {
			t.Fatalf("SchemaVersion = %d, %v; want 1", v, err)
		}
	}
	var n int
	if err := stores[0].DB().QueryRowContext(t.Context(), `SELECT count(*) FROM authport_schema_migrations`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("schema_migrations rows = %d, %v; want 1", n, err)
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
