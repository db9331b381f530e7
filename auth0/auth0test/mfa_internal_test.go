package auth0test

import (
	"testing"
	"time"
)

// TestTOTPVectors checks totpAt against RFC 6238 appendix B (SHA-1; the
// last six of the eight digits given there).
func TestTOTPVectors(t *testing.T) {
	key := []byte("12345678901234567890")
	for unix, want := range map[int64]string{
		59: "287082", 1111111109: "081804", 1111111111: "050471", 1234567890: "005924", 2000000000: "279037", 20000000000: "353130",
	} {
		if got := totpAt(key, time.Unix(unix, 0)); got != want {
			t.Errorf("T=%d: %s, want %s", unix, got, want)
		}
	}
}
