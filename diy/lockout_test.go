package diy_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/authport/authport"
	"github.com/authport/authport/diy"
)

// TestLockoutKnownDevice: strangers guessing a password from 1 or 25
// addresses for two simulated hours never stop the owner signing in from a
// known device (ClientInfo.Device, which Web sets from its known-device
// cookie), from a fresh address or one of the attacker's; the guesses that
// reach the password check stay under the documented bound; an unknown
// device is slowed, never told to wait longer than the policy's Max.
func TestLockoutKnownDevice(t *testing.T) {
	for _, tc := range []struct {
		addrs int
		tick  time.Duration
	}{{1, 30 * time.Second}, {25, 2 * time.Minute}} {
		t.Run(fmt.Sprintf("%dAddresses", tc.addrs), func(t *testing.T) {
			c := newClock()
			b := newBackend(t, "sqlite", diy.ModeSession, func(cfg *diy.Config) {
				cfg.Now = c.Now
				cfg.Limiter = &authport.MemoryLimiter{Now: c.Now}
			})
			ctx := t.Context()
			_, email := mustUser(t, b)
			bound := authport.MaxGuessesPerHour(authport.DefaultLimits.SignInAccount)
			guesses := make([]int, 2)
			start := c.Now()
			for step := time.Duration(0); step < 2*time.Hour; step += tc.tick {
				for a := range tc.addrs {
					actx := authport.WithClientInfo(ctx, authport.ClientInfo{IP: fmt.Sprintf("203.0.113.%d", a+1)})
					_, err := b.SignInWithPassword(actx, email, "a guess")
					switch {
					case errors.Is(err, authport.ErrInvalidCredential):
						guesses[int(c.Now().Sub(start)/time.Hour)]++
					case errors.Is(err, authport.ErrRateLimited):
						if d, _ := diy.RetryAfter(err); d > authport.DefaultLimits.SignInAccount.Max {
							t.Fatalf("an unknown device was told to wait %v", d)
						}
					default:
						t.Fatalf("attack attempt: %v", err)
					}
				}
				if step%(10*time.Minute) == 0 {
					for _, ip := range []string{"192.0.2.77", "203.0.113.1"} {
						octx := authport.WithClientInfo(ctx, authport.ClientInfo{IP: ip, Device: "owner-device"})
						if _, err := b.SignInWithPassword(octx, email, goodPassword); err != nil {
							t.Fatalf("after %v of attack the owner's known device (from %s): %v", step, ip, err)
						}
					}
				}
				c.Advance(tc.tick)
			}
			for h, n := range guesses {
				if n > bound || n == 0 {
					t.Errorf("hour %d: %d guesses checked, want 1..%d", h+1, n, bound)
				}
			}
		})
	}
}
