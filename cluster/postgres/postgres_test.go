package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/authport/authport/cluster"
	"github.com/authport/authport/cluster/clustertest"
	clusterpg "github.com/authport/authport/cluster/postgres"
	"github.com/authport/authport/internal/dbtest"
)

func open(t *testing.T, url string) cluster.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := clusterpg.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestStore runs the suite with a fresh database per test on the shared
// PostgreSQL.
func TestStore(t *testing.T) {
	clustertest.TestStore(t, func(t *testing.T) func() cluster.Store {
		url := dbtest.FreshPostgres(t)
		return func() cluster.Store { return open(t, url) }
	})
}

func TestOutage(t *testing.T) {
	srv := dbtest.StartPostgres(t)
	clustertest.TestOutage(t, srv, func() cluster.Store { return open(t, srv.URL) })
}
