package diy_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/authport/authport"
	"github.com/authport/authport/diy"
)

// TestPerIPLimitThroughWebHandler checks that DIY's own per-IP limits
// apply when it is reached through authport.Web.Handler (not only through
// Pages or a context the application built): Web attaches the client it
// rate-limits by, X-Forwarded-For included when trusted.
func TestPerIPLimitThroughWebHandler(t *testing.T) {
	type attempt struct {
		remote, xff string
	}
	tests := []struct {
		name string
		hops int
		// attempts are made in order with wrong passwords (DIY's
		// SignInIP Free is 3 here); limited says which must be refused
		// by DIY's per-IP limit.
		attempts []attempt
		limited  []bool
	}{
		{
			name:     "same connection address",
			attempts: []attempt{{remote: "203.0.113.9:1"}, {remote: "203.0.113.9:2"}, {remote: "203.0.113.9:3"}, {remote: "203.0.113.9:4"}, {remote: "203.0.113.10:1"}},
			limited:  []bool{false, false, false, true, false},
		},
		{
			name: "X-Forwarded-For ignored without trusted hops",
			attempts: []attempt{{"10.0.0.1:1", "192.0.2.1"}, {"10.0.0.1:1", "192.0.2.2"}, {"10.0.0.1:1", "192.0.2.3"},
				{"10.0.0.1:1", "192.0.2.4"}},
			limited: []bool{false, false, false, true},
		},
		{
			name: "one trusted proxy: clients told apart",
			hops: 1,
			attempts: []attempt{{"10.0.0.1:1", "192.0.2.1"}, {"10.0.0.1:1", "192.0.2.1"}, {"10.0.0.1:1", "192.0.2.1"},
				{"10.0.0.1:1", "192.0.2.1"}, {"10.0.0.1:1", "192.0.2.2"}},
			limited: []bool{false, false, false, true, false},
		},
		{
			name: "IPv6 counted by /64",
			attempts: []attempt{{remote: "[2001:db8:1:2::1]:1"}, {remote: "[2001:db8:1:2::2]:1"}, {remote: "[2001:db8:1:2:ffff::3]:1"},
				{remote: "[2001:db8:1:2::4]:1"}, {remote: "[2001:db8:1:3::1]:1"}},
			limited: []bool{false, false, false, true, false},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBackend(t, "sqlite", diy.ModeSession, func(c *diy.Config) {
				c.Limits.SignInIP = authport.LimitPolicy{Free: 3, Window: time.Hour, Base: time.Minute, Max: time.Hour}
			})
			web, err := authport.NewWeb(b, authport.Config{
				CookieKeys:       [][]byte{[]byte("0123456789abcdef0123456789abcdef")},
				Insecure:         true,
				Logger:           quietLogger(),
				ForwardedForHops: tt.hops,
				// Web's own limiter out of the way: the limit seen is DIY's.
				Limiter: authport.NoLimits,
			})
			if err != nil {
				t.Fatal(err)
			}
			h := web.Handler()
			for i, a := range tt.attempts {
				body := `{"email":"` + randEmail() + `","password":"not the password"}`
				r := httptest.NewRequest("POST", "http://app.test/auth/login", strings.NewReader(body))
				r.Header.Set("Content-Type", "application/json")
				r.RemoteAddr = a.remote
				if a.xff != "" {
					r.Header.Set("X-Forwarded-For", a.xff)
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, r)
				got := rec.Code == http.StatusTooManyRequests
				if got != tt.limited[i] {
					t.Fatalf("attempt %d from %s %q: %d %s, want limited %v", i, a.remote, a.xff, rec.Code, rec.Body, tt.limited[i])
				}
				if got && (rec.Header().Get("Retry-After") == "" || !strings.Contains(rec.Body.String(), "too_many_requests")) {
					t.Fatalf("attempt %d: 429 without Retry-After or error code: %s", i, rec.Body)
				}
				if !got && rec.Code != http.StatusUnauthorized {
					t.Fatalf("attempt %d: %d %s, want 401", i, rec.Code, rec.Body)
				}
			}
		})
	}
}

// TestSessionRecordsClientThroughWeb checks that a sign-in through
// Web.Handler records the client's address and user agent.
func TestSessionRecordsClientThroughWeb(t *testing.T) {
	b := newBackend(t, "sqlite", diy.ModeSession, nil)
	ctx := context.Background()
	u, err := b.CreateUser(ctx, "ada@example.com", goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	web, err := authport.NewWeb(b, authport.Config{
		CookieKeys: [][]byte{[]byte("0123456789abcdef0123456789abcdef")}, Insecure: true, Logger: quietLogger(), ForwardedForHops: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("POST", "http://app.test/auth/login", strings.NewReader(`{"email":"ada@example.com","password":"`+goodPassword+`"}`))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("User-Agent", "client-test/2.0")
	r.Header.Set("X-Forwarded-For", "198.51.100.23")
	r.RemoteAddr = "10.0.0.1:5555"
	rec := httptest.NewRecorder()
	web.Handler().ServeHTTP(rec, r)
	if rec.Code != http.StatusOK {
		t.Fatalf("sign-in: %d %s", rec.Code, rec.Body)
	}
	ss, err := b.ListSessions(ctx, u.ID)
	if err != nil || len(ss) != 1 {
		t.Fatalf("sessions %+v %v", ss, err)
	}
	if ss[0].IP != "198.51.100.23" || ss[0].UserAgent != "client-test/2.0" {
		t.Fatalf("session client %q %q", ss[0].IP, ss[0].UserAgent)
	}
}

// TestWithClientWrapper keeps the deprecated diy.WithClient working: it is
// authport.WithClientInfo.
func TestWithClientWrapper(t *testing.T) {
	tests := []struct {
		name string
		ctx  context.Context
		want diy.Client
	}{
		{"none", context.Background(), diy.Client{}},
		{"diy.WithClient", diy.WithClient(context.Background(), diy.Client{IP: "192.0.2.1", UserAgent: "a"}), diy.Client{IP: "192.0.2.1", UserAgent: "a"}},
		{"authport.WithClientInfo", authport.WithClientInfo(context.Background(), authport.ClientInfo{IP: "192.0.2.2"}), diy.Client{IP: "192.0.2.2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := diy.ClientFrom(tt.ctx); got != tt.want {
				t.Fatalf("ClientFrom = %+v, want %+v", got, tt.want)
			}
			if got, _ := authport.ClientInfoFrom(tt.ctx); got != tt.want {
				t.Fatalf("ClientInfoFrom = %+v, want %+v", got, tt.want)
			}
		})
	}
}
