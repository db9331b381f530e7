package testenv

import (
	"errors"
	"testing"

	"github.com/authport/authport"
)

// WantKind fails the test unless err is of kind k (errors.Is), naming the
// error and its kind otherwise. Tests of every adapter share it.
func WantKind(t testing.TB, err error, k *authport.Kind) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want kind %v", k)
	}
	if !errors.Is(err, k) {
		t.Fatalf("error %v (kind %v), want kind %v", err, authport.KindOf(err), k)
	}
}
