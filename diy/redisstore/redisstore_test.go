package redisstore_test

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authport/authport"
	"github.com/authport/authport/diy"
	"github.com/authport/authport/diy/redisstore"
	"github.com/authport/authport/diy/storetest"
	"github.com/authport/authport/internal/dbtest"
	"github.com/authport/authport/limitertest"
)

var prefixes = map[*redisstore.Store]string{}

func prefixOf(s *redisstore.Store) string { return prefixes[s] }

// newStore returns a Store on the shared test Redis under a fresh prefix.
func newStore(t *testing.T) *redisstore.Store {
	opt, err := redis.ParseURL(dbtest.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { rdb.Close() })
	p := "test:" + strings.ToLower(rand.Text())[:10] + ":"
	s := redisstore.New(rdb, p)
	prefixes[s] = p
	return s
}

func TestSessions(t *testing.T) { storetest.Sessions(t, newStore(t)) }

// TestLimiter runs the shared limiter behaviour suite (policy arithmetic,
// atomicity, the lockout attack over simulated hours) on a real Redis.
func TestLimiter(t *testing.T) {
	limitertest.Run(t, func(t *testing.T, now func() time.Time) authport.Limiter {
		return newStore(t).Limiter().WithClock(now)
	})
}

// TestLimiterRedisClock: without WithClock the limiter uses Redis's time.
func TestLimiterRedisClock(t *testing.T) {
	l := newStore(t).Limiter()
	p := authport.LimitPolicy{Free: 1, Window: time.Minute, Base: 300 * time.Millisecond, Max: time.Second}
	if d, err := l.Hit(t.Context(), "k", p); err != nil || d != 0 {
		t.Fatalf("first: %v %v", d, err)
	}
	if d, err := l.Peek(t.Context(), "k"); err != nil || d <= 0 || d > 300*time.Millisecond {
		t.Fatalf("Peek: %v %v", d, err)
	}
}

func TestOpen(t *testing.T) {
	s, err := redisstore.Open(t.Context(), dbtest.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := redisstore.Open(t.Context(), "http://x"); err == nil {
		t.Fatal("Open with a non-redis URL succeeded")
	}
}

// TestLimiterShared: two instances (two clients on one Redis) share
// counters.
func TestLimiterShared(t *testing.T) {
	a := newStore(t)
	p := authport.LimitPolicy{Free: 2, Window: time.Minute, Base: time.Minute, Max: time.Minute}
	l1, l2 := a.Limiter(), redisstore.New(a.Client(), prefixOf(a)).Limiter()
	key := authport.LimiterKey("web-signin-ip", strings.ToLower(rand.Text()))
	for i, l := range []authport.Limiter{l1, l2} {
		if d, err := l.Hit(t.Context(), key, p); err != nil || d != 0 {
			t.Fatalf("attempt %d: %v, %v", i+1, d, err)
		}
	}
	if d, err := l1.Hit(t.Context(), key, p); err != nil || d <= 0 {
		t.Fatalf("third attempt across instances: pause %v, err %v", d, err)
	}
}

// TestSessionWithoutAccessFields reads a session stored before sessions
// carried permissions and an organisation (no "perms", "org" or "oslug"
// field): it has none, and still verifies.
func TestSessionWithoutAccessFields(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	now := time.Now().Truncate(time.Microsecond)
	hash := make([]byte, 32)
	rand.Read(hash)
	r := &diy.SessionRecord{ID: "ses_" + strings.ToLower(rand.Text()), TokenHash: hash, UserID: "usr_old", Email: "old@example.com",
		Roles: []string{"admin"}, Permissions: []string{"reports:read"}, OrgID: "org_1", OrgSlug: "one",
		CreatedAt: now, LastSeenAt: now, IdleExpiresAt: now.Add(time.Hour), ExpiresAt: now.Add(time.Hour)}
	if err := s.CreateSession(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := s.Client().HDel(ctx, prefixOf(s)+"s:"+hex.EncodeToString(hash), "perms", "org", "oslug").Err(); err != nil {
		t.Fatal(err)
	}
	got, err := s.SessionByTokenHash(ctx, hash)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != r.ID || len(got.Roles) != 1 || got.Permissions != nil || got.OrgID != "" || got.OrgSlug != "" {
		t.Fatalf("old-format session reads as %+v", got)
	}
}
