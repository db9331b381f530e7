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

// denyList holds revoked (iss, jti) pairs, session ids and users' older
// tokens until the tokens they name would have expired anyway. When shared
// (Share), revocations made here are published on the bus and revocations
// made elsewhere arrive through Deny; a list whose bus is out of sync
// refuses every token with ErrProviderUnavailable, since a revocation it
// missed could otherwise pass.
type denyList struct {
	n    atomic.Int64
	bus  atomic.Pointer[authport.RevocationBus]
	mu   sync.RWMutex
	jtis map[[2]string]time.Time
	sids map[string]time.Time
	subs map[string]userDeny
}

// userDeny refuses a user's tokens issued before before.
type userDeny struct {
	before time.Time
	until  time.Time
}

func newDenyList() *denyList {
	return &denyList{jtis: map[[2]string]time.Time{}, sids: map[string]time.Time{}, subs: map[string]userDeny{}}
}

// check returns nil when the token may pass, ErrRevoked when it is denied,
// and ErrProviderUnavailable when the shared list is out of sync.
func (d *denyList) check(iss, jti, sid, sub string, iat, now time.Time) *authport.Kind {
	if b := d.bus.Load(); b != nil && !(*b).Synced() {
		return authport.ErrProviderUnavailable
	}
	if d.n.Load() == 0 {
		return nil
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	if jti != "" {
		if until, ok := d.jtis[[2]string{iss, jti}]; ok && now.Before(until) {
			return authport.ErrRevoked
		}
	}
	if sid != "" {
		if until, ok := d.sids[sid]; ok && now.Before(until) {
			return authport.ErrRevoked
		}
	}
	if sub != "" {
		if u, ok := d.subs[sub]; ok && now.Before(u.until) && iat.Before(u.before) {
			return authport.ErrRevoked
		}
	}
	return nil
}

func (d *denyList) add(r authport.Revocation, now time.Time) {
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
	for k, u := range d.subs {
		if now.After(u.until) {
			delete(d.subs, k)
		}
	}
	if r.TokenID != "" && r.Until.After(d.jtis[[2]string{r.Issuer, r.TokenID}]) {
		d.jtis[[2]string{r.Issuer, r.TokenID}] = r.Until
	}
	if r.SessionID != "" && r.Until.After(d.sids[r.SessionID]) {
		d.sids[r.SessionID] = r.Until
	}
	if r.UserID != "" && !r.IssuedBefore.IsZero() {
		u := d.subs[r.UserID]
		if r.IssuedBefore.After(u.before) {
			u.before = r.IssuedBefore
		}
		if r.Until.After(u.until) {
			u.until = r.Until
		}
		d.subs[r.UserID] = u
	}
	d.n.Store(int64(len(d.jtis) + len(d.sids) + len(d.subs)))
}

// revoke records r here and publishes it when the list is shared.
func (v *Verifier) revoke(r authport.Revocation) {
	v.deny.add(r, v.o.Clock())
	if b := v.deny.bus.Load(); b != nil {
		(*b).Publish(r)
	}
}

// DenyToken makes Session refuse the token (iss, jti) with ErrRevoked until
// until (normally the token's expiry).
func (v *Verifier) DenyToken(iss, jti string, until time.Time) {
	v.revoke(authport.Revocation{Issuer: iss, TokenID: jti, Until: until.Add(v.o.Leeway)})
}

// DenySession makes Session refuse every token of session sid with
// ErrRevoked until until (normally now plus the longest token lifetime).
func (v *Verifier) DenySession(sid string, until time.Time) {
	v.revoke(authport.Revocation{SessionID: sid, Until: until.Add(v.o.Leeway)})
}

// DenyUser makes Session and Check refuse every token of user sub issued
// before before (Firebase's "valid since"), until until.
func (v *Verifier) DenyUser(sub string, before, until time.Time) {
	v.revoke(authport.Revocation{UserID: sub, IssuedBefore: before, Until: until.Add(v.o.Leeway)})
}

// Deny implements authport.RevocationList: it records a revocation made
// by another instance, without publishing it again.
func (v *Verifier) Deny(r authport.Revocation) {
	v.deny.add(r, v.o.Clock())
}

// Share implements authport.RevocationList: from now on revocations made
// here are published on b, and while b is out of sync every token is
// refused with ErrProviderUnavailable.
func (v *Verifier) Share(b authport.RevocationBus) {
	if b == nil {
		v.deny.bus.Store(nil)
		return
	}
	v.deny.bus.Store(&b)
}

// Check applies the deny list to a session verified outside Session (an
// emulator's unsigned token): nil, or an error of kind ErrRevoked or
// ErrProviderUnavailable.
func (v *Verifier) Check(s *authport.Session) error {
	return v.checkDeny(s.Issuer, s.TokenID, s.SessionID, s.UserID, s.IssuedAt, v.o.Clock())
}

func (v *Verifier) checkDeny(iss, jti, sid, sub string, iat, now time.Time) error {
	switch v.deny.check(iss, jti, sid, sub, iat, now) {
	case authport.ErrRevoked:
		return v.fail(authport.ErrRevoked, "session revoked")
	case authport.ErrProviderUnavailable:
		return v.fail(authport.ErrProviderUnavailable, "the shared revocation list is out of sync")
	}
	return nil
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
			if err := v.checkDeny(e.iss, e.jti, e.sid, e.sess.UserID, e.sess.IssuedAt, now); err != nil {
				return nil, err
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
	if err := v.checkDeny(c.Issuer, c.JTI, sess.SessionID, sess.UserID, sess.IssuedAt, now); err != nil {
		return nil, err
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
