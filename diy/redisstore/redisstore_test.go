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
	"github.com/authport/authport/diy/internal/dbtest"
	"github.com/authport/authport/diy/redisstore"
	"github.com/authport/authport/diy/storetest"
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

func TestLimiter(t *testing.T) { storetest.Limiter(t, newStore(t).Limiter()) }

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

// TestRateLimiter: the authport.RateLimiter view shares counters between
// two instances (two clients on one Redis).
func TestRateLimiter(t *testing.T) {
	a := newStore(t)
	p := diy.Policy{Free: 2, Window: time.Minute, Base: time.Minute, Max: time.Minute}
	rl1, rl2 := a.Limiter().RateLimiter(p), redisstore.New(a.Client(), prefixOf(a)).Limiter().RateLimiter(p)
	key := "login:ip:" + strings.ToLower(rand.Text())
	for i, rl := range []authport.RateLimiter{rl1, rl2} {
		ok, _, err := rl.Allow(t.Context(), key)
		if err != nil || !ok {
			t.Fatalf("attempt %d: %v, %v", i+1, ok, err)
		}
	}
	ok, after, err := rl1.Allow(t.Context(), key)
	if err != nil || ok || after <= 0 {
		t.Fatalf("third attempt across instances: ok=%v after=%v err=%v", ok, after, err)
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
