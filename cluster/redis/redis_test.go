package redis_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/authport/authport/cluster"
	"github.com/authport/authport/cluster/clustertest"
	clusterredis "github.com/authport/authport/cluster/redis"
	"github.com/authport/authport/internal/dbtest"
)

// namespace gives each test its own key prefix on the shared Redis.
func namespace(url string) clustertest.Namespace {
	return func(t *testing.T) func() cluster.Store {
		b := make([]byte, 6)
		rand.Read(b)
		prefix := "authport-test:" + hex.EncodeToString(b) + ":"
		opt, err := goredis.ParseURL(url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			rdb := goredis.NewClient(opt)
			defer rdb.Close()
			ctx := context.Background()
			keys, _ := rdb.Keys(ctx, prefix+"*").Result()
			if len(keys) > 0 {
				rdb.Del(ctx, keys...)
			}
		})
		opt.MaxRetries = -1
		return func() cluster.Store {
			rdb := goredis.NewClient(opt)
			t.Cleanup(func() { rdb.Close() })
			return clusterredis.New(rdb, prefix)
		}
	}
}

func TestStore(t *testing.T) {
	clustertest.TestStore(t, namespace(dbtest.RedisURL(t)))
}

func TestOutage(t *testing.T) {
	srv := dbtest.StartRedis(t)
	clustertest.TestOutage(t, srv, func() cluster.Store {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		st, err := clusterredis.Open(ctx, srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		return st
	})
}
