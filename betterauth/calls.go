package betterauth

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/authport/authport"
)

// Revoke ends the session on the server, as the library's sign-out does:
// with a database, the session row is deleted; in remote mode the
// session's own token (t.AccessToken, the cookie value) signs out through
// POST /sign-out. A JWT plugin token names no session, so for one Revoke
// ends every session of its user that existed when it was issued (any of
// them could have minted it); sessions started later are kept. The token
// itself stays valid offline until it expires (Describe's delay), but
// VerifyStrict refuses it at once.
func (a *Authenticator) Revoke(ctx context.Context, s *authport.Session, t *authport.Tokens) error {
	if s == nil {
		return authport.NewError(authport.ErrInvalidInput, Name, authport.OpRevoke, "no session")
	}
	if a.store != nil {
		if s.SessionID != "" {
			return a.store.deleteSession(ctx, s.SessionID)
		}
		if s.UserID == "" || s.IssuedAt.IsZero() {
			return authport.NewError(authport.ErrInvalidInput, Name, authport.OpRevoke, "the session has neither an id nor a user and issue time")
		}
		// A JWT plugin token names no session: end every session of the
		// user that could have minted it (those existing when it was
		// issued); later sign-ins are kept.
		return a.store.deleteSessionsAt(ctx, s.UserID, s.IssuedAt)
	}
	if a.remote != nil {
		if t == nil || t.AccessToken == "" || strings.Count(t.AccessToken, ".") == 2 {
			return authport.NewError(authport.ErrInvalidInput, Name, authport.OpRevoke, "remote sign-out needs the session cookie's value")
		}
		tok, err := a.checkSigned(authport.Credential{Token: t.AccessToken, Source: authport.SourceCookie})
		if err != nil {
			return err
		}
		return a.remote.signOut(ctx, tok)
	}
	return authport.NewError(authport.ErrUnsupported, Name, authport.OpRevoke, "no database or Better Auth server is configured")
}

// remote checks session tokens by asking the Better Auth server
// (GET /get-session with the cookie forwarded), for Go services without
// access to the database. Answers are reused for RemoteCacheTTL, keyed by a
// hash of the cookie.
type remote struct {
	a     *Authenticator
	mu    sync.Mutex
	cache map[[32]byte]remoteEntry
	calls sync.Map // single flight per key: *remoteCall
}

type remoteEntry struct {
	s     *authport.Session
	err   error
	until time.Time
}

type remoteCall struct {
	done chan struct{}
	s    *authport.Session
	err  error
}

func newRemote(a *Authenticator) *remote {
	return &remote{a: a, cache: map[[32]byte]remoteEntry{}}
}

func (r *remote) session(ctx context.Context, tok signedToken, _ authport.Credential, cached bool) (*authport.Session, error) {
	key := sha256.Sum256([]byte(tok.value))
	now := r.a.cfg.Clock()
	ttl := r.a.cfg.RemoteCacheTTL
	if cached && ttl > 0 {
		r.mu.Lock()
		e, ok := r.cache[key]
		r.mu.Unlock()
		if ok && now.Before(e.until) {
			if e.err == nil && !e.s.ExpiresAt.After(now) {
				return nil, authport.NewError(authport.ErrExpired, Name, authport.OpVerify, "session expired")
			}
			return e.s, e.err
		}
	}
	c := &remoteCall{done: make(chan struct{})}
	if v, loaded := r.calls.LoadOrStore(key, c); loaded {
		c = v.(*remoteCall)
		select {
		case <-c.done:
			return c.s, c.err
		case <-ctx.Done():
			return nil, unavailable(authport.OpVerify, "get-session canceled", ctx.Err())
		}
	}
	c.s, c.err = r.fetch(ctx, tok)
	close(c.done)
	r.calls.Delete(key)
	if ttl > 0 && (c.err == nil || errors.Is(c.err, authport.ErrRevoked)) {
		r.mu.Lock()
		limit := r.a.cfg.CacheSize
		if limit == 0 {
			limit = 10000
		}
		if limit > 0 {
			for k := range r.cache { // at the bound, drop an arbitrary entry
				if len(r.cache) < limit {
					break
				}
				delete(r.cache, k)
			}
			r.cache[key] = remoteEntry{s: c.s, err: c.err, until: now.Add(ttl)}
		}
		r.mu.Unlock()
	}
	return c.s, c.err
}

func (r *remote) do(ctx context.Context, method, path string, tok signedToken) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, r.a.cfg.HTTPTimeout)
	req, err := http.NewRequestWithContext(ctx, method, r.a.base+path, nil)
	if err != nil {
		cancel()
		return nil, unavailable(authport.OpVerify, "bad request URL", nil)
	}
	req.Header.Set("Cookie", r.a.cfg.CookieName+"="+url.PathEscape(tok.value))
	req.Header.Set("Accept", "application/json")
	if method == http.MethodPost {
		req.Header.Set("Origin", r.a.origin)
	}
	resp, err := r.a.hc.Do(req)
	if err != nil {
		cancel()
		return nil, unavailable(authport.OpVerify, "the Better Auth server cannot be reached", nil)
	}
	resp.Body = cancelBody{resp.Body, cancel}
	return resp, nil
}

type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c cancelBody) Close() error { err := c.ReadCloser.Close(); c.cancel(); return err }

func (r *remote) fetch(ctx context.Context, tok signedToken) (*authport.Session, error) {
	resp, err := r.do(ctx, http.MethodGet, "/get-session?disableRefresh=true&disableCookieCache=true", tok)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		if resp.StatusCode == http.StatusUnauthorized {
			return nil, authport.NewError(authport.ErrRevoked, Name, authport.OpVerify, "no such session")
		}
		return nil, unavailable(authport.OpVerify, "get-session answered "+resp.Status, nil)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, unavailable(authport.OpVerify, "get-session answer cut short", nil)
	}
	if strings.TrimSpace(string(body)) == "null" {
		return nil, authport.NewError(authport.ErrRevoked, Name, authport.OpVerify, "no such session (signed out, revoked, expired or never issued)")
	}
	var g sessionJSON
	if err := json.Unmarshal(body, &g); err != nil || g.User.ID == "" || g.Session.ExpiresAt.IsZero() {
		return nil, unavailable(authport.OpVerify, "get-session answer is malformed", nil)
	}
	rec := g.record()
	if !rec.ExpiresAt.After(r.a.cfg.Clock()) {
		return nil, authport.NewError(authport.ErrExpired, Name, authport.OpVerify, "session expired")
	}
	if err := r.a.checkBan(rec.Banned, rec.BanExpires); err != nil {
		return nil, err
	}
	return r.a.recordSession(rec), nil
}

func (r *remote) signOut(ctx context.Context, tok signedToken) error {
	resp, err := r.do(ctx, http.MethodPost, "/sign-out", tok)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return unavailable(authport.OpRevoke, "sign-out answered "+resp.Status, nil)
	}
	r.mu.Lock()
	delete(r.cache, sha256.Sum256([]byte(tok.value)))
	r.mu.Unlock()
	return nil
}
