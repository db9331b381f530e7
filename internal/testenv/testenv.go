// Package testenv gives tests the addresses of the local services that
// scripts/services.sh starts (PostgreSQL, Redis, the Firebase Auth emulator,
// Chromium).
//
// scripts/services.sh up writes the addresses to .env.services in the
// repository root; `make test` exports them before running `go test`. A test
// that needs a service calls the matching helper: when the variable is unset
// the test is skipped on a developer machine, and fails when CI=true, so a
// CI run never passes by skipping.
package testenv

import (
	"os"
	"testing"
)

// Names of the environment variables written by scripts/services.sh.
const (
	// PostgresURLVar holds a postgres:// URL of a database the tests may use
	// freely, e.g. postgres://authport@127.0.0.1:55432/authport?sslmode=disable.
	PostgresURLVar = "AUTHPORT_TEST_POSTGRES_URL"
	// RedisURLVar holds a redis:// URL, e.g. redis://127.0.0.1:56379/0.
	RedisURLVar = "AUTHPORT_TEST_REDIS_URL"
	// FirebaseHostVar holds the host:port of the Firebase Auth emulator; the
	// Firebase Admin SDK reads the same variable to switch to emulator mode.
	FirebaseHostVar = "FIREBASE_AUTH_EMULATOR_HOST"
	// FirebaseProjectVar holds the project id the emulator runs with
	// (a demo- project, which needs no credentials).
	FirebaseProjectVar = "AUTHPORT_TEST_FIREBASE_PROJECT"
	// ChromiumVar holds the path of the Chromium binary for browser tests.
	ChromiumVar = "AUTHPORT_TEST_CHROMIUM"
)

// Require returns the value of the environment variable key. When it is
// empty, the test fails if the CI environment variable is "true" and is
// skipped otherwise; either way the message names the variable and says to
// run scripts/services.sh up.
func Require(t testing.TB, key string) string {
	t.Helper()
	v := os.Getenv(key)
	if v != "" {
		return v
	}
	const msg = "%s is not set: run `scripts/services.sh up` and export .env.services (or use `make test`)"
	if os.Getenv("CI") == "true" {
		t.Fatalf(msg, key)
	} else {
		t.Skipf(msg, key)
	}
	return ""
}

// Postgres returns the URL of the test PostgreSQL database
// (AUTHPORT_TEST_POSTGRES_URL), or skips/fails the test as Require does.
func Postgres(t testing.TB) string {
	t.Helper()
	return Require(t, PostgresURLVar)
}

// Redis returns the URL of the test Redis server (AUTHPORT_TEST_REDIS_URL),
// or skips/fails the test as Require does.
func Redis(t testing.TB) string {
	t.Helper()
	return Require(t, RedisURLVar)
}

// FirebaseHost returns the host:port of the Firebase Auth emulator
// (FIREBASE_AUTH_EMULATOR_HOST), or skips/fails the test as Require does.
func FirebaseHost(t testing.TB) string {
	t.Helper()
	return Require(t, FirebaseHostVar)
}

// FirebaseProject returns the project id the Firebase Auth emulator serves
// (AUTHPORT_TEST_FIREBASE_PROJECT), or skips/fails the test as Require does.
func FirebaseProject(t testing.TB) string {
	t.Helper()
	return Require(t, FirebaseProjectVar)
}

// Chromium returns the path of the Chromium binary (AUTHPORT_TEST_CHROMIUM),
// or skips/fails the test as Require does.
func Chromium(t testing.TB) string {
	t.Helper()
	return Require(t, ChromiumVar)
}
