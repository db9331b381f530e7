package keyset

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/authport/authport"
	"github.com/authport/authport/internal/httpclient"
	"github.com/authport/authport/internal/safetext"
)

// Fetcher loads a fresh key set. maxAge is the freshness the server asked
// for (Cache-Control max-age), 0 if none.
type Fetcher interface {
	Fetch(ctx context.Context) (keys []Key, maxAge time.Duration, err error)
}

// FetcherFunc adapts a function to Fetcher (an adapter whose SDK fetches
// the keys, such as Clerk's jwks client, supplies one).
type FetcherFunc func(ctx context.Context) ([]Key, time.Duration, error)

// Fetch implements Fetcher.
func (f FetcherFunc) Fetch(ctx context.Context) ([]Key, time.Duration, error) { return f(ctx) }

// MaxBody caps a key document's size.
const MaxBody = httpclient.MaxBody

// HTTPFetcher fetches a key document over HTTP.
type HTTPFetcher struct {
	url    string
	format Format
	client *http.Client
	logger *slog.Logger
}

// NewHTTPFetcher returns a Fetcher for the document at rawURL. client may be
// nil; either way the fetcher works on a copy made by httpclient.New
// (default timeout, no redirect to another host).
func NewHTTPFetcher(rawURL string, format Format, client *http.Client) *HTTPFetcher {
	c := httpclient.New(client, 0)
	return &HTTPFetcher{url: rawURL, format: format, client: c, logger: slog.Default()}
}

// Fetch implements Fetcher.
func (h *HTTPFetcher) Fetch(ctx context.Context) ([]Key, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.url, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := h.client.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("keyset: fetch failed: %w", safetext.Redact(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("keyset: key endpoint answered %d", resp.StatusCode)
	}
	data, err := httpclient.ReadBody(resp.Body, MaxBody)
	if errors.Is(err, httpclient.ErrBodyTooLarge) {
		return nil, 0, errors.New("keyset: key document over 1 MiB")
	}
	if err != nil {
		return nil, 0, fmt.Errorf("keyset: reading keys: %w", err)
	}
	keys, skipped, err := Parse(h.format, data)
	for _, s := range skipped {
		h.logger.Warn("authport: key skipped", "reason", s.Error())
	}
	if err != nil {
		return nil, 0, err
	}
	return keys, maxAge(resp.Header.Get("Cache-Control")), nil
}

func maxAge(cc string) time.Duration {
	for _, part := range strings.Split(cc, ",") {
		part = strings.TrimSpace(part)
		if v, ok := strings.CutPrefix(part, "max-age="); ok {
			if n, err := strconv.Atoi(v); err == nil && n > 0 {
				return time.Duration(n) * time.Second
			}
		}
	}
	return 0
}

// CacheOptions tune a Cache. Zero values take the defaults.
type CacheOptions struct {
	// TTL is how long a fetched set is fresh when the server sets no
	// max-age (default 10 min); a server max-age is clamped to
	// [MinRefreshInterval, 24 h].
	TTL time.Duration
	// MinRefreshInterval bounds refreshes triggered by unknown kids
	// (default 30 s): at most one per interval.
	MinRefreshInterval time.Duration
	// MaxStale is how long the last good set keeps serving while the
	// endpoint fails (default 24 h).
	MaxStale time.Duration
	// FetchTimeout bounds one fetch (default 5 s).
	FetchTimeout time.Duration
	// Clock returns the current time (default time.Now).
	Clock func() time.Time
	// Logger receives refresh failures (default slog.Default()).
	Logger *slog.Logger
	// Provider names the adapter in errors.
	Provider string
}

// Cache is a Source backed by a Fetcher. It is safe for concurrent use.
type Cache struct {
	f   Fetcher
	o   CacheOptions
	cur atomic.Pointer[snapshot]

	mu        sync.Mutex // guards inflight and lastTry
	inflight  *call
	lastTry   time.Time
	fetches   atomic.Int64
	failures  atomic.Int64
	refreshes atomic.Int64
}

type snapshot struct {
	keys    map[string][]Key
	fetched time.Time
	fresh   time.Time // fresh until
}

type call struct {
	done chan struct{}
	err  error
}

// NewCache returns a Cache over f.
func NewCache(f Fetcher, o CacheOptions) *Cache {
	if o.TTL <= 0 {
		o.TTL = 10 * time.Minute
	}
	if o.MinRefreshInterval <= 0 {
		o.MinRefreshInterval = 30 * time.Second
	}
	if o.MaxStale <= 0 {
		o.MaxStale = 24 * time.Hour
	}
	if o.FetchTimeout <= 0 {
		o.FetchTimeout = 5 * time.Second
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Cache{f: f, o: o}
}

// Fetches counts the fetches attempted (successful or not).
func (c *Cache) Fetches() int64 { return c.fetches.Load() }

// Failures counts the fetches that failed.
func (c *Cache) Failures() int64 { return c.failures.Load() }

// Refresh fetches the set now (joining a fetch already in flight).
func (c *Cache) Refresh(ctx context.Context) error { return c.refresh(ctx, true) }

// Lookup implements Source. A cached kid is served without waiting on any
// fetch; a stale set triggers a background refresh; an unknown kid triggers
// at most one refresh per MinRefreshInterval.
func (c *Cache) Lookup(ctx context.Context, kid, alg string) (Key, error) {
	now := c.o.Clock()
	snap := c.cur.Load()
	if snap != nil {
		if k, ok := find(snap, kid, alg); ok {
			if now.After(snap.fresh) {
				if now.Sub(snap.fetched) > c.o.MaxStale {
					// Too old to trust: refresh synchronously and fail
					// closed if that fails.
					if err := c.refresh(ctx, false); err != nil {
						return Key{}, c.unavailable(err)
					}
					return c.lookupAfterRefresh(kid, alg)
				}
				go c.refresh(context.WithoutCancel(ctx), false) //nolint:errcheck // logged inside
			}
			return k, nil
		}
	}
	err := c.refresh(ctx, false)
	snap = c.cur.Load()
	if snap == nil {
		if err == nil {
			err = errors.New("no key set")
		}
		return Key{}, c.unavailable(err)
	}
	if k, ok := find(snap, kid, alg); ok {
		return k, nil
	}
	return Key{}, unknownKey()
}

func (c *Cache) lookupAfterRefresh(kid, alg string) (Key, error) {
	if snap := c.cur.Load(); snap != nil {
		if k, ok := find(snap, kid, alg); ok {
			return k, nil
		}
	}
	return Key{}, unknownKey()
}

func (c *Cache) unavailable(err error) error {
	return &authport.Error{Kind: authport.ErrProviderUnavailable, Provider: c.o.Provider, Op: "keys", Reason: "verification keys cannot be fetched", Err: err}
}

func find(s *snapshot, kid, alg string) (Key, bool) {
	for _, k := range s.keys[kid] {
		if k.Accepts(alg) {
			return k, true
		}
	}
	return Key{}, false
}

// refresh runs one fetch, shared by concurrent callers. Unless force is set,
// it does nothing when the last attempt was within MinRefreshInterval (the
// caller then sees the current set).
func (c *Cache) refresh(ctx context.Context, force bool) error {
	c.mu.Lock()
	if cl := c.inflight; cl != nil {
		c.mu.Unlock()
		select {
		case <-cl.done:
			return cl.err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	now := c.o.Clock()
	interval := c.o.MinRefreshInterval
	if c.cur.Load() == nil {
		// Cold and failing: retry sooner so service resumes quickly once
		// the endpoint is back, still bounded to one fetch a second.
		interval = min(interval, time.Second)
	}
	if !force && !c.lastTry.IsZero() && now.Sub(c.lastTry) < interval {
		c.mu.Unlock()
		return errRateLimited
	}
	c.lastTry = now
	cl := &call{done: make(chan struct{})}
	c.inflight = cl
	c.mu.Unlock()

	go func() {
		// The fetch runs detached from any one caller's context so a
		// cancelled request does not fail the others waiting on it.
		fctx, cancel := context.WithTimeout(context.Background(), c.o.FetchTimeout)
		defer cancel()
		c.fetches.Add(1)
		start := time.Now()
		keys, age, err := c.f.Fetch(fctx)
		// Reported to the Web whose request (if any) started the fetch.
		authport.Emit(ctx, authport.Event{Type: authport.EventKeyFetch, Provider: c.o.Provider, Kind: authport.KindOf(err), Err: err, Duration: time.Since(start)})
		if err != nil {
			c.failures.Add(1)
			c.o.Logger.Warn("authport: key set refresh failed; keeping the last good set", "provider", c.o.Provider, "error", err.Error())
		} else {
			ttl := c.o.TTL
			if age > 0 {
				ttl = min(max(age, c.o.MinRefreshInterval), 24*time.Hour)
			}
			t := c.o.Clock()
			snap := &snapshot{keys: make(map[string][]Key, len(keys)), fetched: t, fresh: t.Add(ttl)}
			for _, k := range keys {
				snap.keys[k.ID] = append(snap.keys[k.ID], k)
			}
			c.cur.Store(snap) // replace, never merge
			c.refreshes.Add(1)
		}
		c.mu.Lock()
		c.inflight = nil
		c.mu.Unlock()
		cl.err = err
		close(cl.done)
	}()
	select {
	case <-cl.done:
		return cl.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

var errRateLimited = errors.New("keyset: refresh rate limited")
