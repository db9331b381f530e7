// Package redisstore keeps DIY sessions and rate-limit counters in Redis,
// beside a SQL store (sqlitestore or pgstore) that keeps users and refresh
// tokens:
//
//	sql, _ := pgstore.Open(ctx, dbURL)
//	rs, _ := redisstore.Open(ctx, "redis://127.0.0.1:6379/0")
//	b, _ := diy.New(ctx, diy.Config{Store: sql, Sessions: rs, Limiter: rs.Limiter()})
//
// Every instance pointed at the same Redis shares sessions and counters. A
// Redis flush or restart without persistence loses the sessions stored
// there (their users must sign in again: Verify answers 401, never 500)
// and resets the counters; refresh-token reuse state never lives here, so
// a restart cannot re-enable a rotated refresh token. While Redis is down,
// session checks, sign-ins and rate-limited calls fail closed (503).
//
// Each operation is one round trip, made atomic by a Lua script where it
// touches several keys. Keys (prefix "authport:" by default): "s:<hash>"
// a session hash (the session record, with its snapshot of the user's
// roles, permissions and organisation), "sid:<id>" its token hash, "u:<user>" the user's session
// ids, "rl:<key>" a rate-limit counter. Keys expire with their session, so
// Redis never needs sweeping. Requires Redis 7 or later; Redis Cluster is
// not supported (the scripts touch keys of several slots).
package redisstore

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authport/authport"
	"github.com/authport/authport/diy"
)

// Store is a diy.SessionStore on Redis. It is safe for concurrent use.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
	own    bool
}

var _ diy.SessionStore = (*Store)(nil)

// slack keeps a key a little longer than its session, so a clock gap
// between the application and Redis never drops a live session early.
const slack = time.Minute

// Open connects to the Redis at url ("redis://[user:pass@]host:port/db",
// "rediss://" for TLS) and checks that it answers.
func Open(ctx context.Context, url string) (*Store, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redisstore: %w", err)
	}
	rdb := redis.NewClient(opt)
	if err := rdb.Ping(ctx).Err(); err != nil {
		rdb.Close()
		return nil, fmt.Errorf("redisstore: %w", err)
	}
	s := New(rdb, "")
	s.own = true
	return s, nil
}

// New returns a Store on rdb whose keys start with prefix (default
// "authport:"). Close does not close a client passed to New.
func New(rdb redis.UniversalClient, prefix string) *Store {
	if prefix == "" {
		prefix = "authport:"
	}
	return &Store{rdb: rdb, prefix: prefix}
}

// Client returns the underlying client.
func (s *Store) Client() redis.UniversalClient { return s.rdb }

// Close closes the client if Open created it.
func (s *Store) Close() error {
	if s.own {
		return s.rdb.Close()
	}
	return nil
}

func (s *Store) sKey(hexHash string) string { return s.prefix + "s:" + hexHash }
func (s *Store) idKey(id string) string     { return s.prefix + "sid:" + id }
func (s *Store) uKey(uid string) string     { return s.prefix + "u:" + uid }

func ms(d time.Duration) int64 { return max(d.Milliseconds(), 1) }

// createScript stores the session hash, the id index and the user's set.
// KEYS: s, sid, u. ARGV: ttl ms, user-set ttl ms, id, hex hash, fields...
var createScript = redis.NewScript(`
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[1])
redis.call('SADD', KEYS[3], ARGV[3])
local ttl = redis.call('PTTL', KEYS[3])
if ttl < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[3], ARGV[2]) end
return 1`)

// CreateSession implements diy.SessionStore.
func (s *Store) CreateSession(ctx context.Context, r *diy.SessionRecord) error {
	h := hex.EncodeToString(r.TokenHash)
	ttl := ms(r.IdleExpiresAt.Sub(r.LastSeenAt) + slack)
	userTTL := ms(r.ExpiresAt.Sub(r.LastSeenAt) + slack)
	roles, _ := json.Marshal(r.Roles)
	perms, _ := json.Marshal(r.Permissions)
	args := []any{ttl, userTTL, r.ID, h,
		"id", r.ID, "uid", r.UserID, "email", r.Email, "roles", string(roles), "perms", string(perms), "org", r.OrgID, "oslug", r.OrgSlug,
		"c", r.CreatedAt.UnixMicro(), "ls", r.LastSeenAt.UnixMicro(), "ie", r.IdleExpiresAt.UnixMicro(),
		"e", r.ExpiresAt.UnixMicro(), "ua", r.UserAgent, "ip", r.IP}
	if !r.RevokedAt.IsZero() {
		args = append(args, "r", r.RevokedAt.UnixMicro())
	}
	return createScript.Run(ctx, s.rdb, []string{s.sKey(h), s.idKey(r.ID), s.uKey(r.UserID)}, args...).Err()
}

func parseSession(m map[string]string, hexHash string) (*diy.SessionRecord, error) {
	if len(m) == 0 || m["id"] == "" {
		return nil, diy.ErrNotFound
	}
	hash, err := hex.DecodeString(hexHash)
	if err != nil {
		return nil, fmt.Errorf("redisstore: malformed session key")
	}
	r := &diy.SessionRecord{ID: m["id"], TokenHash: hash, UserID: m["uid"], Email: m["email"], OrgID: m["org"], OrgSlug: m["oslug"],
		UserAgent: m["ua"], IP: m["ip"]}
	if err := json.Unmarshal([]byte(m["roles"]), &r.Roles); err != nil {
		return nil, fmt.Errorf("redisstore: malformed session roles")
	}
	// Sessions stored before permissions existed have no "perms" field:
	// no permissions.
	if p, ok := m["perms"]; ok {
		if err := json.Unmarshal([]byte(p), &r.Permissions); err != nil {
			return nil, fmt.Errorf("redisstore: malformed session permissions")
		}
	}
	if len(r.Roles) == 0 {
		r.Roles = nil
	}
	if len(r.Permissions) == 0 {
		r.Permissions = nil
	}
	for _, f := range []struct {
		name string
		dst  *time.Time
		opt  bool
	}{{"c", &r.CreatedAt, false}, {"ls", &r.LastSeenAt, false}, {"ie", &r.IdleExpiresAt, false}, {"e", &r.ExpiresAt, false}, {"r", &r.RevokedAt, true}} {
		v, ok := m[f.name]
		if !ok && f.opt {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("redisstore: malformed session field %s", f.name)
		}
		*f.dst = time.UnixMicro(n)
	}
	return r, nil
}

// SessionByTokenHash implements diy.SessionStore.
func (s *Store) SessionByTokenHash(ctx context.Context, hash []byte) (*diy.SessionRecord, error) {
	h := hex.EncodeToString(hash)
	m, err := s.rdb.HGetAll(ctx, s.sKey(h)).Result()
	if err != nil {
		return nil, err
	}
	return parseSession(m, h)
}

// byIDScript returns {hex hash, flat hash fields} for a session id.
// KEYS: sid. ARGV: prefix.
var byIDScript = redis.NewScript(`
local h = redis.call('GET', KEYS[1])
if not h then return false end
return {h, redis.call('HGETALL', ARGV[1] .. 's:' .. h)}`)

func flatMap(v any) map[string]string {
	arr, _ := v.([]any)
	m := make(map[string]string, len(arr)/2)
	for i := 0; i+1 < len(arr); i += 2 {
		k, _ := arr[i].(string)
		val, _ := arr[i+1].(string)
		m[k] = val
	}
	return m
}

// SessionByID implements diy.SessionStore.
func (s *Store) SessionByID(ctx context.Context, id string) (*diy.SessionRecord, error) {
	v, err := byIDScript.Run(ctx, s.rdb, []string{s.idKey(id)}, s.prefix).Slice()
	if errors.Is(err, redis.Nil) {
		return nil, diy.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	h, _ := v[0].(string)
	return parseSession(flatMap(v[1]), h)
}

// touchScript: KEYS: sid. ARGV: prefix, last seen µs, idle expiry µs, ttl ms.
var touchScript = redis.NewScript(`
local h = redis.call('GET', KEYS[1])
if not h then return 0 end
local k = ARGV[1] .. 's:' .. h
if redis.call('EXISTS', k) == 0 or redis.call('HEXISTS', k, 'r') == 1 then return 0 end
redis.call('HSET', k, 'ls', ARGV[2], 'ie', ARGV[3])
redis.call('PEXPIRE', k, ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1`)

// TouchSession implements diy.SessionStore.
func (s *Store) TouchSession(ctx context.Context, id string, lastSeen, idleExpires time.Time) error {
	n, err := touchScript.Run(ctx, s.rdb, []string{s.idKey(id)}, s.prefix, lastSeen.UnixMicro(), idleExpires.UnixMicro(),
		ms(idleExpires.Sub(lastSeen)+slack)).Int()
	if err != nil {
		return err
	}
	if n == 0 {
		return diy.ErrNotFound
	}
	return nil
}

// revokeScript marks sessions revoked (keeping them, until they expire, so
// a replayed token is told it was revoked) and drops them from the user's
// set. KEYS: none. ARGV: prefix, now µs, ids...
const revokeBody = `
local n = 0
for i = 3, #ARGV do
	local id = ARGV[i]
	local h = redis.call('GET', ARGV[1] .. 'sid:' .. id)
	if h then
		local k = ARGV[1] .. 's:' .. h
		local uid = redis.call('HGET', k, 'uid')
		if uid then
			if redis.call('HSETNX', k, 'r', ARGV[2]) == 1 then n = n + 1 end
			redis.call('SREM', ARGV[1] .. 'u:' .. uid, id)
		end
	end
end
return n`

var revokeScript = redis.NewScript(`
local id = ARGV[3]
local h = redis.call('GET', ARGV[1] .. 'sid:' .. id)
if not h or redis.call('EXISTS', ARGV[1] .. 's:' .. h) == 0 then return -1 end
` + revokeBody)

// RevokeSession implements diy.SessionStore.
func (s *Store) RevokeSession(ctx context.Context, id string, now time.Time) error {
	n, err := revokeScript.Run(ctx, s.rdb, nil, s.prefix, now.UnixMicro(), id).Int()
	if err != nil {
		return err
	}
	if n < 0 {
		return diy.ErrNotFound
	}
	return nil
}

// revokeUserScript: KEYS: u. ARGV: prefix, now µs, except.
var revokeUserScript = redis.NewScript(`
local ids = redis.call('SMEMBERS', KEYS[1])
local n = 0
for _, id in ipairs(ids) do
	if id ~= ARGV[3] then
		local h = redis.call('GET', ARGV[1] .. 'sid:' .. id)
		if h then
			local k = ARGV[1] .. 's:' .. h
			if redis.call('EXISTS', k) == 1 and redis.call('HSETNX', k, 'r', ARGV[2]) == 1 then n = n + 1 end
		end
		redis.call('SREM', KEYS[1], id)
	end
end
return n`)

// RevokeUserSessions implements diy.SessionStore.
func (s *Store) RevokeUserSessions(ctx context.Context, userID, except string, now time.Time) (int, error) {
	return revokeUserScript.Run(ctx, s.rdb, []string{s.uKey(userID)}, s.prefix, now.UnixMicro(), except).Int()
}

// listScript returns {hex hash, fields} pairs for the user's sessions and
// drops ids whose session has gone. KEYS: u. ARGV: prefix.
var listScript = redis.NewScript(`
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
	local h = redis.call('GET', ARGV[1] .. 'sid:' .. id)
	local f = h and redis.call('HGETALL', ARGV[1] .. 's:' .. h) or {}
	if #f == 0 then
		redis.call('SREM', KEYS[1], id)
	else
		table.insert(out, h)
		table.insert(out, f)
	end
end
return out`)

// ListUserSessions implements diy.SessionStore.
func (s *Store) ListUserSessions(ctx context.Context, userID string, now time.Time) ([]*diy.SessionRecord, error) {
	v, err := listScript.Run(ctx, s.rdb, []string{s.uKey(userID)}, s.prefix).Slice()
	if err != nil {
		return nil, err
	}
	var out []*diy.SessionRecord
	for i := 0; i+1 < len(v); i += 2 {
		h, _ := v[i].(string)
		r, err := parseSession(flatMap(v[i+1]), h)
		if err != nil {
			return nil, err
		}
		if r.UserID == userID && r.RevokedAt.IsZero() && now.Before(r.ExpiresAt) && now.Before(r.IdleExpiresAt) {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b *diy.SessionRecord) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// Limiter returns an authport.Limiter whose counters live in this Redis,
// shared by every instance (give it to diy.Config.Limiter and
// authport.Config.Limiter alike). The time is Redis's own clock, so
// instances with skewed clocks still agree.
func (s *Store) Limiter() *Limiter { return &Limiter{s: s} }

// Limiter is an authport.Limiter on Redis: the same policy arithmetic as
// authport.MemoryLimiter, run atomically in a script.
type Limiter struct {
	s *Store
	// now, when set, replaces Redis's clock (WithClock).
	now func() time.Time
}

var _ authport.Limiter = (*Limiter)(nil)

// WithClock returns a Limiter that reads the time from now instead of
// Redis's clock: for tests that simulate hours with a fake clock, or for
// instances whose clocks are known to agree.
func (l *Limiter) WithClock(now func() time.Time) *Limiter {
	return &Limiter{s: l.s, now: now}
}

// hitScript implements authport.LimitPolicy. KEYS: rl. ARGV: free, window
// ms, base ms, max ms, now ms (0: Redis's clock). Returns the pause in ms
// (0: allowed).
var hitScript = redis.NewScript(`
local now = tonumber(ARGV[5])
if now == 0 then
	local t = redis.call('TIME')
	now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local v = redis.call('HMGET', KEYS[1], 'c', 'we', 'pu')
local c, we, pu = tonumber(v[1]) or 0, tonumber(v[2]) or 0, tonumber(v[3]) or 0
if now >= we and now >= pu then c, we, pu = 0, now + tonumber(ARGV[2]), 0 end
if now < pu then return pu - now end
c = c + 1
local free, base, mx = tonumber(ARGV[1]), tonumber(ARGV[3]), tonumber(ARGV[4])
if c >= free then
	local d, i = base, free
	while i < c and d < mx do d = d * 2; i = i + 1 end
	if d > mx then d = mx end
	pu = now + d
end
redis.call('HSET', KEYS[1], 'c', c, 'we', we, 'pu', pu)
redis.call('PEXPIRE', KEYS[1], math.max(we, pu) - now + 1)
return 0`)

// peekScript: KEYS: rl. ARGV: now ms (0: Redis's clock).
var peekScript = redis.NewScript(`
local now = tonumber(ARGV[1])
if now == 0 then
	local t = redis.call('TIME')
	now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local pu = tonumber(redis.call('HGET', KEYS[1], 'pu')) or 0
if now < pu then return pu - now end
return 0`)

func (l *Limiter) key(k string) string { return l.s.prefix + "rl:" + k }

func (l *Limiter) nowMS() int64 {
	if l.now == nil {
		return 0
	}
	return l.now().UnixMilli()
}

// Hit implements authport.Limiter.
func (l *Limiter) Hit(ctx context.Context, key string, p authport.LimitPolicy) (time.Duration, error) {
	n, err := hitScript.Run(ctx, l.s.rdb, []string{l.key(key)}, p.Free, ms(p.Window), ms(p.Base), ms(p.Max), l.nowMS()).Int64()
	return time.Duration(n) * time.Millisecond, err
}

// Peek implements authport.Limiter.
func (l *Limiter) Peek(ctx context.Context, key string) (time.Duration, error) {
	n, err := peekScript.Run(ctx, l.s.rdb, []string{l.key(key)}, l.nowMS()).Int64()
	return time.Duration(n) * time.Millisecond, err
}

// Reset implements authport.Limiter.
func (l *Limiter) Reset(ctx context.Context, key string) error {
	return l.s.rdb.Del(ctx, l.key(key)).Err()
}

func init() {
	open := func(ctx context.Context, u string) (diy.SessionStore, authport.Limiter, error) {
		s, err := Open(ctx, u)
		if err != nil {
			return nil, nil, err
		}
		return s, s.Limiter(), nil
	}
	diy.RegisterSessionStore("redis", open)
	diy.RegisterSessionStore("rediss", open)
}
