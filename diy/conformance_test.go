package diy_test

import (
	"testing"

	"github.com/authport/authport/conformance"
	"github.com/authport/authport/diy/diytest"
)

// TestConformance runs authport's conformance suite against DIY in both
// session modes on SQLite, PostgreSQL, and PostgreSQL with sessions and
// counters in Redis.
func TestConformance(t *testing.T) {
	for _, store := range diytest.Stores {
		for _, mode := range modes {
			srv := diytest.New(t, diytest.Options{Store: store, Mode: mode})
			conformance.Run(t, srv.Harness(t))
		}
	}
}
