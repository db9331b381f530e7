package pgstore_test

import (
	"sync"
	"testing"

	"github.com/authport/authport/diy/internal/dbtest"
	"github.com/authport/authport/diy/pgstore"
	"github.com/authport/authport/diy/storetest"
)

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
		if err != nil || v != 1 {
			t.Fatalf("SchemaVersion = %d, %v; want 1", v, err)
		}
	}
	var n int
	if err := stores[0].Pool().QueryRow(t.Context(), `SELECT count(*) FROM authport_schema_migrations`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("schema_migrations rows = %d, %v; want 1", n, err)
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
