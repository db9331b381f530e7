package emulator

import (
	"testing"
	"time"
)

// TestTOTPVectors checks TOTP against RFC 6238 appendix B (SHA-1; the last
// six of the eight digits given there), and the drift window.
func TestTOTPVectors(t *testing.T) {
	key := []byte("12345678901234567890")
	for unix, want := range map[int64]string{
		59: "287082", 1111111109: "081804", 1111111111: "050471", 1234567890: "005924", 2000000000: "279037", 20000000000: "353130",
	} {
		if got := TOTP(key, time.Unix(unix, 0)); got != want {
			t.Errorf("T=%d: %s, want %s", unix, got, want)
		}
	}
	now := time.Unix(1111111111, 0)
	for d, want := range map[time.Duration]bool{0: true, -TOTPStep: true, TOTPStep: true, 2 * TOTPStep: false, -2 * TOTPStep: false} {
		if got := TOTPValid(key, TOTP(key, now.Add(d)), now); got != want {
			t.Errorf("drift %v: %v, want %v", d, got, want)
		}
	}
	if TOTPValid(key, "", now) || TOTPValid(key, "12345", now) {
		t.Error("malformed code accepted")
	}
}
