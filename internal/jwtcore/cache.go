package jwtcore

import (
	"context"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/authport/authport"
)

const shards = 16

// tokenCache remembers tokens that verified, until they expire. It is keyed
// by the exact token string: another encoding of the same token simply
// misses and is verified in full. Revocation never relies on it (see
// denyList).
type tokenCache struct {
	seed   maphash.Seed
	perCap int
	s      [shards]shard
}

type shard struct {
	mu sync.RWMutex
	m  map[string]*entry
}

type entry struct {
	sess *authport.Session
	exp  time.Time // token exp + leeway
	iss  string
	jti  string
	sid  string
}

func newTokenCache(size int) *tokenCache {
	c := &tokenCache{seed: maphash.MakeSeed(), perCap: max(size/shards, 1)}
	for i := range c.s {
		c.s[i].m = make(map[string]*entry)
	}
	return c
}

func (c *tokenCache) shard(tok string) *shard {
	return &c.s[maphash.String(c.seed, tok)%shards]
}

func (c *tokenCache) get(tok string) *entry {
	sh := c.shard(tok)
	sh.mu.RLock()
	e := sh.m[tok]
	sh.mu.RUnlock()
	return e
}

func (c *tokenCache) put(tok string, e *entry, now time.Time) {
	sh := c.shard(tok)
	sh.mu.Lock()
	if len(sh.m) >= c.perCap {
		// Drop expired entries first, then arbitrary ones, to stay bounded.
		for k, old := range sh.m {
			if now.After(old.exp) {
				delete(sh.m, k)
			}
		}
		for k := range sh.m {
			if len(sh.m) < c.perCap {
				break
			}
			delete(sh.m, k)
		}
	}
	sh.m[tok] = e
	sh.mu.Unlock()
}

func (c *tokenCache) remove(tok string) {
	sh := c.shard(tok)
	sh.mu.Lock()
	delete(sh.m, tok)
	sh.mu.Unlock()
}

// denyList holds revoked (iss, jti) pairs and session ids until the tokens
// they name would have expired anyway.
type denyList struct {
	n    atomic.Int64
	mu   sync.RWMutex
	jtis map[[2]string]time.Time
	sids map[string]time.Time
}

func newDenyList() *denyList {
	return &denyList{jtis: map[[2]string]time.Time{}, sids: map[string]time.Time{}}
}

func (d *denyList) denied(iss, jti, sid string, now time.Time) bool {
	if d.n.Load() == 0 {
		return false
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	if jti != "" {
		if until, ok := d.jtis[[2]string{iss, jti}]; ok && now.Before(until) {
			return true
		}
	}
	if sid != "" {
		if until, ok := d.sids[sid]; ok && now.Before(until) {
			return true
		}
	}
	return false
}

func (d *denyList) add(iss, jti, sid string, until, now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for k, u := range d.jtis {
		if now.After(u) {
			delete(d.jtis, k)
		}
	}
	for k, u := range d.sids {
		if now.After(u) {
			delete(d.sids, k)
		}
	}
	if jti != "" {
		d.jtis[[2]string{iss, jti}] = until
	}
	if sid != "" {
		d.sids[sid] = until
	}
	d.n.Store(int64(len(d.jtis) + len(d.sids)))
}

// DenyToken makes Session refuse the token (iss, jti) with ErrRevoked until
// until (normally the token's expiry).
func (v *Verifier) DenyToken(iss, jti string, until time.Time) {
	v.deny.add(iss, jti, "", until.Add(v.o.Leeway), v.o.Clock())
}

// DenySession makes Session refuse every token of session sid with
// ErrRevoked until until (normally now plus the longest token lifetime).
func (v *Verifier) DenySession(sid string, until time.Time) {
	v.deny.add("", "", sid, until.Add(v.o.Leeway), v.o.Clock())
}

// Session verifies token and maps it to a Session, using the verified-token
// cache: a token seen before and not yet expired costs a map lookup, not a
// signature check. The returned Session is the caller's own copy (its slices
// and Claims map are shared and must be treated as read-only).
func (v *Verifier) Session(ctx context.Context, token string) (*authport.Session, error) {
	now := v.o.Clock()
	if v.cache != nil && len(token) <= v.o.MaxTokenSize {
		if e := v.cache.get(token); e != nil {
			if !now.Before(e.exp) {
				v.cache.remove(token)
				return nil, v.fail(authport.ErrExpired, "token expired")
			}
			if v.deny.denied(e.iss, e.jti, e.sid, now) {
				return nil, v.fail(authport.ErrRevoked, "session revoked")
			}
			authport.ReportCacheHit(ctx)
			s := *e.sess
			return &s, nil
		}
	}
	c, err := v.Verify(ctx, token)
	if err != nil {
		return nil, err
	}
	if v.o.ToSession == nil {
		return nil, v.fail(authport.ErrMisconfigured, "no claims mapping")
	}
	sess, err := v.o.ToSession(c)
	if err != nil {
		return nil, err
	}
	if v.deny.denied(c.Issuer, c.JTI, sess.SessionID, now) {
		return nil, v.fail(authport.ErrRevoked, "session revoked")
	}
	if v.cache != nil {
		v.cache.put(token, &entry{sess: sess, exp: c.ExpiresAt.Add(v.o.Leeway), iss: c.Issuer, jti: c.JTI, sid: sess.SessionID}, now)
	}
	s := *sess
	return &s, nil
}

// Forget drops token from the verified-token cache.
func (v *Verifier) Forget(token string) {
	if v.cache != nil {
		v.cache.remove(token)
	}
}
