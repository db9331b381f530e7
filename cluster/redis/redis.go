// Package redis is the Redis engine of package cluster: importing it lets
// cluster.Open and cluster.FromEnv accept redis:// and rediss:// URLs.
//
//	import _ "github.com/authport/authport/cluster/redis"
//
//	AUTHPORT_CLUSTER_URL=redis://[user:pass@]host:6379/0
//
// Keys (prefix "authport:cluster:" by default): "epoch", a random marker
// that disappears if Redis loses its data; "revocations", a stream of
// revocations (JSON, never a token) that instances follow with XREAD BLOCK
// and read in full at start-up, trimmed to the last 15 days; "rf:<sha256>"
// a refresh flight (empty while it runs, then the sealed result for 30 s);
// "rl:<key>" a rate-limit counter, expiring once forgiven. Scripts and
// TIME keep every decision atomic and on one clock. Requires Redis 7 or
// later; Redis Cluster is not supported.
//
// Linking this package links go-redis; nothing else in authport does
// unless it imports this package or diy/redisstore.
package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/authport/authport"
	"github.com/authport/authport/cluster"
)

// Retention is how long the revocation stream keeps an entry: longer than
// any token authport verifies lives (Firebase session cookies: 14 days).
const Retention = 15 * 24 * time.Hour

func init() {
	open := func(ctx context.Context, rawURL string) (cluster.Store, error) { return Open(ctx, rawURL) }
	cluster.Register("redis", open)
	cluster.Register("rediss", open)
}

// Store is a cluster.Store on Redis.
type Store struct {
	rdb    goredis.UniversalClient
	prefix string
	own    bool
}

var _ cluster.Store = (*Store)(nil)

// Open connects to the Redis at rawURL and checks that it answers.
// Commands are never retried by the client (a retried claim could be
// mistaken for another instance's).
func Open(ctx context.Context, rawURL string) (*Store, error) {
	opt, err := goredis.ParseURL(rawURL)
	if err != nil {
		return nil, errors.New("cluster/redis: malformed Redis URL")
	}
	opt.MaxRetries = -1
	opt.DialTimeout = 2 * time.Second
	rdb := goredis.NewClient(opt)
	if err := rdb.Ping(ctx).Err(); err != nil {
		rdb.Close()
		return nil, fmt.Errorf("cluster/redis: %w", err)
	}
	s := New(rdb, "")
	s.own = true
	return s, nil
}

// New returns a Store on rdb whose keys start with prefix (default
// "authport:cluster:"). Close does not close a client passed to New.
func New(rdb goredis.UniversalClient, prefix string) *Store {
	if prefix == "" {
		prefix = "authport:cluster:"
	}
	return &Store{rdb: rdb, prefix: prefix}
}

// Close closes the client when Open created it.
func (s *Store) Close() error {
	if s.own {
		return s.rdb.Close()
	}
	return nil
}

// Epoch implements cluster.Store.
func (s *Store) Epoch(ctx context.Context) (string, error) {
	k := s.prefix + "epoch"
	v, err := s.rdb.Get(ctx, k).Result()
	if err == nil {
		return v, nil
	}
	if !errors.Is(err, goredis.Nil) {
		return "", err
	}
	b := make([]byte, 16)
	rand.Read(b)
	if err := s.rdb.SetNX(ctx, k, hex.EncodeToString(b), 0).Err(); err != nil {
		return "", err
	}
	return s.rdb.Get(ctx, k).Result()
}

// AppendRevocation implements cluster.Store.
func (s *Store) AppendRevocation(ctx context.Context, r authport.Revocation) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	minID := strconv.FormatInt(time.Now().Add(-Retention).UnixMilli(), 10)
	return s.rdb.XAdd(ctx, &goredis.XAddArgs{Stream: s.prefix + "revocations", MinID: minID, Approx: true, Values: []string{"r", string(b)}}).Err()
}

// ReadRevocations implements cluster.Store: cursor is a stream id.
func (s *Store) ReadRevocations(ctx context.Context, cursor string, wait time.Duration) ([]authport.Revocation, string, error) {
	k := s.prefix + "revocations"
	if cursor == "" {
		msgs, err := s.rdb.XRange(ctx, k, "-", "+").Result()
		if err != nil {
			return nil, "", err
		}
		next := "0-0"
		if len(msgs) > 0 {
			next = msgs[len(msgs)-1].ID
		}
		return decode(msgs), next, nil
	}
	res, err := s.rdb.XRead(ctx, &goredis.XReadArgs{Streams: []string{k, cursor}, Count: 1000, Block: wait}).Result()
	if errors.Is(err, goredis.Nil) {
		return nil, cursor, nil
	}
	if err != nil {
		return nil, "", err
	}
	var msgs []goredis.XMessage
	for _, st := range res {
		msgs = append(msgs, st.Messages...)
	}
	if len(msgs) > 0 {
		cursor = msgs[len(msgs)-1].ID
	}
	return decode(msgs), cursor, nil
}

func decode(msgs []goredis.XMessage) []authport.Revocation {
	out := make([]authport.Revocation, 0, len(msgs))
	for _, m := range msgs {
		v, _ := m.Values["r"].(string)
		var r authport.Revocation
		if json.Unmarshal([]byte(v), &r) == nil && (r.TokenID != "" || r.SessionID != "" || r.UserID != "") {
			out = append(out, r)
		}
	}
	return out
}

// ClaimFlight implements cluster.Store.
func (s *Store) ClaimFlight(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	return s.rdb.SetNX(ctx, s.prefix+key, "", ttl).Result()
}

// FinishFlight implements cluster.Store.
func (s *Store) FinishFlight(ctx context.Context, key string, result []byte, ttl time.Duration) error {
	return s.rdb.Set(ctx, s.prefix+key, result, ttl).Err()
}

var abandon = goredis.NewScript(`if redis.call('GET', KEYS[1]) == '' then return redis.call('DEL', KEYS[1]) end return 0`)

// AbandonFlight implements cluster.Store: only a running flight is
// dropped, never a result.
func (s *Store) AbandonFlight(ctx context.Context, key string) error {
	return abandon.Run(ctx, s.rdb, []string{s.prefix + key}).Err()
}

// Flight implements cluster.Store.
func (s *Store) Flight(ctx context.Context, key string) ([]byte, bool, error) {
	v, err := s.rdb.Get(ctx, s.prefix+key).Bytes()
	if errors.Is(err, goredis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if len(v) == 0 {
		return nil, true, nil
	}
	return v, true, nil
}

// allow is authport.MemoryLimiter's algorithm as one atomic script on
// Redis's clock (milliseconds).
var allow = goredis.NewScript(`
local limit, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local maxblock = 32 * window
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local h = redis.call('HMGET', KEYS[1], 'start', 'count', 'strikes', 'blocked', 'last')
local start, count = tonumber(h[1]) or now, tonumber(h[2]) or 0
local strikes, blocked, last = tonumber(h[3]) or 0, tonumber(h[4]) or 0, tonumber(h[5]) or now
if now < blocked then return {0, blocked - now} end
if strikes > 0 and now - last > maxblock then strikes = 0 end
if now - start >= window then start, count = now, 0 end
last, count = now, count + 1
local ok, d = 1, 0
if count > limit then
  strikes = strikes + 1
  d = window
  for i = 2, math.min(strikes, 6) do d = d * 2 end
  if d > maxblock then d = maxblock end
  blocked, start, count, ok = now + d, now + d, 0, 0
end
redis.call('HSET', KEYS[1], 'start', start, 'count', count, 'strikes', strikes, 'blocked', blocked, 'last', last)
redis.call('PEXPIRE', KEYS[1], d + maxblock + window)
return {ok, d}`)

// Allow implements cluster.Store.
func (s *Store) Allow(ctx context.Context, key string, p cluster.Policy) (bool, time.Duration, error) {
	res, err := allow.Run(ctx, s.rdb, []string{s.prefix + key}, p.Limit, p.Window.Milliseconds()).Int64Slice()
	if err != nil {
		return false, 0, err
	}
	if len(res) != 2 {
		return false, 0, errors.New("cluster/redis: unexpected limiter reply")
	}
	return res[0] == 1, time.Duration(res[1]) * time.Millisecond, nil
}
