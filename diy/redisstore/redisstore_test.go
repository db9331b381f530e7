package redisstore_test

import (
	"crypto/rand"
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
