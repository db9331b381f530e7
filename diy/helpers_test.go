package diy_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/authport/authport"
	"github.com/authport/authport/diy"
	"github.com/authport/authport/diy/diytest"
	"github.com/authport/authport/diy/pgstore"
)

// fastHash keeps tests quick; the real parameters are exercised by the
// password tests and the benchmarks.
var fastHash = diy.HashParams{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// storeKinds are the store set-ups every backend test runs on.
var storeKinds = []string{"sqlite", "postgres", "postgres+redis"}

var modes = []diy.SessionMode{diy.ModeSession, diy.ModeJWT}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func openStores(t testing.TB, kind string) (diy.Store, diy.SessionStore, authport.Limiter) {
	return diytest.OpenStores(t, kind)
}

// newBackend returns a Backend on a fresh store of kind in mode; mod may
// adjust the config.
func newBackend(t testing.TB, kind string, mode diy.SessionMode, mod func(*diy.Config)) *diy.Backend {
	t.Helper()
	store, sessions, limiter := openStores(t, kind)
	_, priv, _ := ed25519.GenerateKey(nil)
	cfg := diy.Config{
		Store: store, Sessions: sessions, Limiter: limiter, SessionMode: mode,
		Issuer: "https://diy.test", SigningKeys: []diy.SigningKey{{ID: "k1", PrivateKey: priv}},
		Hash: fastHash, Logger: quietLogger(),
	}
	if mod != nil {
		mod(&cfg)
	}
	b, err := diy.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func randEmail() string { return "u-" + strings.ToLower(rand.Text())[:12] + "@example.com" }

const goodPassword = "correct horse battery staple"

// newBackendOn returns a Backend on its own pgstore connection to url (a
// second "instance" of an application).
func newBackendOn(t testing.TB, url string, mode diy.SessionMode, mod func(*diy.Config)) *diy.Backend {
	t.Helper()
	s, err := pgstore.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	cfg := diy.Config{Store: s, SessionMode: mode, Issuer: "https://diy.test", Hash: fastHash, Logger: quietLogger()}
	if mod != nil {
		mod(&cfg)
	}
	b, err := diy.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}
