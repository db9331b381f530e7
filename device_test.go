package authport

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

const deviceCookie = "__Host-authport-device"

// signInAs posts a JSON sign-in from addr with the given Cookie header.
func signInAs(h http.Handler, addr, email, password, cookie string) *httptest.ResponseRecorder {
	r := jsonReq("/auth/login", fmt.Sprintf(`{"email":%q,"password":%q}`, email, password))
	r.RemoteAddr = addr + ":1234"
	if cookie != "" {
		r.Header.Set("Cookie", cookie)
	}
	return serve(h, r)
}

// TestKnownDeviceNotLockedOut is the lockout attack through the HTTP layer:
// a stranger guessing Ada's password from 1 or 25 addresses for two
// simulated hours never stops her signing in from the browser she used
// before, from any address, while a browser she never used is slowed.
func TestKnownDeviceNotLockedOut(t *testing.T) {
	for _, tc := range []struct {
		addrs int
		tick  time.Duration
	}{{1, 20 * time.Second}, {25, time.Minute}} {
		addrs := tc.addrs
		t.Run(fmt.Sprintf("%dAddresses", addrs), func(t *testing.T) {
			e := newEnv(t, func(p *fakeProvider) Authenticator { return pwAuth{p} }, func(c *Config) {
				c.Limiter = nil // the default: a MemoryLimiter on Config.Clock, DefaultLimits
			})
			h := e.site()
			const pw = "correct horse battery staple"
			rec := signInAs(h, "198.51.100.9", "ada@example.com", pw, "")
			dev := setCookies(rec)[deviceCookie]
			if rec.Code != 200 || dev == nil || dev.MaxAge < int(30*24*time.Hour/time.Second) || !dev.HttpOnly || !dev.Secure {
				t.Fatalf("first sign-in: %d, device cookie %+v", rec.Code, dev)
			}
			known := deviceCookie + "=" + dev.Value
			strangerBlocked := false
			for step := time.Duration(0); step < 2*time.Hour; step += tc.tick {
				for a := range addrs {
					signInAs(h, fmt.Sprintf("203.0.113.%d", a+1), "ada@example.com", "guess", "")
				}
				if step%(10*time.Minute) == 0 {
					for i, addr := range []string{fmt.Sprintf("192.0.2.%d", step/time.Minute), "203.0.113.1"} {
						rec := signInAs(h, addr, "ada@example.com", pw, known)
						if rec.Code != 200 {
							t.Fatalf("after %v of attack Ada's known browser (from %s) got %d %s", step, addr, rec.Code, rec.Body)
						}
						if i == 0 {
							// The cookie is renewed with a fresh device id.
							nd := setCookies(rec)[deviceCookie]
							if nd == nil || nd.Value == dev.Value {
								t.Fatal("device cookie not renewed")
							}
							known = deviceCookie + "=" + nd.Value
						}
					}
					if rec := signInAs(h, "192.0.2.200", "ada@example.com", pw, ""); rec.Code == 429 {
						strangerBlocked = true
						if ra, err := strconv.Atoi(rec.Header().Get("Retry-After")); err != nil || ra < 1 || ra > 900 {
							t.Fatalf("an unknown browser was told to wait %q", rec.Header().Get("Retry-After"))
						}
					}
				}
				e.clock.Advance(tc.tick)
			}
			if !strangerBlocked {
				t.Fatal("the attack never slowed an unknown browser: the test does not exercise the limits")
			}
		})
	}
}

// TestKnownDeviceCookie: the cookie exempts its own account only, and a
// forged or foreign one counts as unknown.
func TestKnownDeviceCookie(t *testing.T) {
	e := newEnv(t, func(p *fakeProvider) Authenticator { return pwAuth{p} }, func(c *Config) {
		p := LimitPolicy{Free: 2, Window: time.Hour, Base: time.Hour, Max: time.Hour}
		c.Limiter, c.Limits = nil, Limits{SignInAccount: p, SignInDevice: p}
	})
	e.p.users["bob@example.com"] = "bob's password"
	h := e.site()
	rec := signInAs(h, "198.51.100.9", "bob@example.com", "bob's password", "")
	bobs := deviceCookie + "=" + setCookies(rec)[deviceCookie].Value
	for range 2 {
		signInAs(h, "203.0.113.1", "ada@example.com", "guess", "")
	}
	for name, cookie := range map[string]string{
		"none":            "",
		"another account": bobs,
		"forged":          deviceCookie + "=" + strings.Repeat("A", 80),
		"with a newline":  deviceCookie + "=" + strings.Replace(strings.TrimPrefix(bobs, deviceCookie+"="), "A", "\nA", 1),
	} {
		if rec := signInAs(h, "192.0.2.1", "ada@example.com", "correct horse battery staple", cookie); rec.Code != 429 {
			t.Errorf("%s: %d, want 429 (an unknown device)", name, rec.Code)
		}
	}
	// Bob's browser keeps Bob's exemption and gains Ada's after she signs in.
	e.clock.Advance(time.Hour)
	rec = signInAs(h, "192.0.2.1", "ada@example.com", "correct horse battery staple", bobs)
	both := deviceCookie + "=" + setCookies(rec)[deviceCookie].Value
	for range 2 {
		signInAs(h, "203.0.113.1", "ada@example.com", "guess", "")
		signInAs(h, "203.0.113.1", "bob@example.com", "guess", "")
	}
	for _, u := range [][2]string{{"ada@example.com", "correct horse battery staple"}, {"bob@example.com", "bob's password"}} {
		if rec := signInAs(h, "192.0.2.1", u[0], u[1], both); rec.Code != 200 {
			t.Errorf("%s from the shared browser: %d", u[0], rec.Code)
		}
	}
	// A known device's own failures still count, against its own budget.
	for i := range 3 {
		rec := signInAs(h, "192.0.2.1", "bob@example.com", "typo", both)
		if want := map[bool]int{true: 401, false: 429}[i < 2]; rec.Code != want {
			t.Fatalf("known device failure %d: %d, want %d", i+1, rec.Code, want)
		}
	}
}

// TestForwardedForWarning: requests through an undeclared proxy are
// reported once in the log and in Diagnostics.
func TestForwardedForWarning(t *testing.T) {
	e := newEnv(t, func(p *fakeProvider) Authenticator { return pwAuth{p} }, nil)
	var logs bytes.Buffer
	e.web.logger = slog.New(slog.NewTextHandler(&logs, nil))
	h := e.site()
	serve(h, httptest.NewRequest("GET", "/", nil))
	if d := e.web.Diagnostics(); len(d) != 0 || logs.Len() != 0 {
		t.Fatalf("warned without a proxy: %v %s", d, logs.String())
	}
	for range 3 {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("X-Forwarded-For", "203.0.113.5")
		serve(h, r)
	}
	if n := strings.Count(logs.String(), "ForwardedForHops is 0"); n != 1 {
		t.Fatalf("%d warnings, want 1: %s", n, logs.String())
	}
	if d := e.web.Diagnostics(); len(d) != 1 || !strings.Contains(d[0], "ForwardedForHops") {
		t.Fatalf("Diagnostics: %v", d)
	}
	e2 := newEnv(t, func(p *fakeProvider) Authenticator { return pwAuth{p} }, func(c *Config) { c.ForwardedForHops = 1 })
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("X-Forwarded-For", "203.0.113.5")
	serve(e2.site(), r)
	if d := e2.web.Diagnostics(); len(d) != 0 {
		t.Fatalf("warned with ForwardedForHops set: %v", d)
	}
}
