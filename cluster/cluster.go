// Package cluster makes several instances of an authport application,
// behind a load balancer, behave as one. It implements authport.Cluster on
// a shared store that the deployment already runs: Redis (import
// github.com/authport/authport/cluster/redis) or PostgreSQL (import
// github.com/authport/authport/cluster/postgres). One setting turns it on:
//
//	AUTHPORT_CLUSTER_URL=redis://redis.internal:6379/0   (or postgres://…)
//
//	c, err := cluster.FromEnv(ctx, os.Getenv) // nil, nil when unset
//	...
//	web, err := authport.NewWeb(a, authport.Config{Cluster: c, ...})
//
// What is shared:
//
//   - Revocations. A sign-out, a Revoker call, a DIY revoke-all or an
//     admin call on any instance is published to the store, and every
//     instance copies it into its adapter's in-process deny list, so the
//     per-request check stays a map lookup. Entries expire with the tokens
//     they refuse. A new instance reads every live revocation before it
//     accepts a token.
//   - Refresh. For one refresh token exactly one instance calls the
//     provider; the others wait (bounded by the request) and reuse its
//     result for 30 seconds. The result is stored as the sealed session
//     cookie value (AES-256-GCM under the CookieKeys every instance shares),
//     never a token in clear; its key is a SHA-256 of the refresh token.
//   - Rate limits (Limiter): the same policy as authport's in-process
//     limiter, counted once for all instances.
//
// # When the store is down
//
// Failure is closed wherever a revoked session could otherwise pass, and
// never a 500:
//
//   - Verification: an instance that has not heard from the store for
//     Options.StaleAfter (default 2 s) cannot know of revocations made
//     elsewhere, so it refuses every token with ErrProviderUnavailable
//     (503 with Retry-After), and accepts them again as soon as it has
//     caught up. A new instance refuses until its first read.
//   - Sign-out: the revocation holds at once on the instance that made
//     it and is kept in a local outbox until the store accepts it; Web's
//     POST /logout waits up to 2 s for that and otherwise answers 503 (the
//     cookie is deleted all the same). Instances that cannot reach the
//     store refuse every token meanwhile, so the revocation cannot be
//     bypassed through them.
//   - Refresh: 503, and the cookie is kept, so the session survives the
//     outage; no instance refreshes alone, which could replay a rotated
//     refresh token.
//   - Rate limiting: the limiter cannot decide, so the attempt is refused
//     (503).
//
// # Catching up
//
// Revocations form an ordered log in the store (a Redis stream, a
// PostgreSQL table with LISTEN/NOTIFY). Each instance reads it from where
// it stopped, so after a partition it receives everything it missed before
// it accepts tokens again. If the store lost its data (a Redis restart
// without persistence), every instance notices the store's new epoch
// marker, publishes again every live revocation it knows, and reads the
// log from the start: nothing revoked comes back.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/authport/authport"
)

// Environment variables FromEnv reads.
const (
	// EnvURL names the shared store: redis://, rediss://, postgres:// or
	// postgresql:// (the scheme picks the engine, whose package must be
	// imported).
	EnvURL = "AUTHPORT_CLUSTER_URL"
	// EnvRedisURL is used when EnvURL is unset, so that a deployment
	// whose DIY sessions already live in Redis shares the rest there too.
	EnvRedisURL = "AUTHPORT_REDIS_URL"
)

// Store is what an engine provides; package cluster builds the behaviour
// on it. Implementations must be safe for concurrent use.
type Store interface {
	// Epoch returns a marker that changes when the store loses its data,
	// creating it when missing.
	Epoch(ctx context.Context) (string, error)
	// AppendRevocation durably records r for every instance until r.Until
	// and wakes instances waiting in ReadRevocations.
	AppendRevocation(ctx context.Context, r authport.Revocation) error
	// ReadRevocations returns the revocations recorded after cursor ("":
	// every live one) and the cursor to continue from, waiting up to wait
	// for one to arrive. A nil error proves that the store answered.
	ReadRevocations(ctx context.Context, cursor string, wait time.Duration) ([]authport.Revocation, string, error)
	// ClaimFlight makes this instance the one that runs key's flight for
	// ttl, unless a flight for key exists (running or finished).
	ClaimFlight(ctx context.Context, key string, ttl time.Duration) (bool, error)
	// FinishFlight stores key's result for ttl.
	FinishFlight(ctx context.Context, key string, result []byte, ttl time.Duration) error
	// AbandonFlight forgets key's flight, so the next request retries.
	AbandonFlight(ctx context.Context, key string) error
	// Flight returns key's result: found is false when there is no
	// flight, result is nil while it runs.
	Flight(ctx context.Context, key string) (result []byte, found bool, err error)
	// Allow counts an attempt for key under policy p (see Limiter).
	Allow(ctx context.Context, key string, p Policy) (ok bool, retryAfter time.Duration, err error)
	// Close releases the store's connections.
	Close() error
}

// Opener opens a Store from its URL.
type Opener func(ctx context.Context, rawURL string) (Store, error)

var registry struct {
	mu      sync.RWMutex
	openers map[string]Opener
}

// Register makes an engine available to Open for the URL scheme name.
// Engine packages call it from init; it panics on a duplicate.
func Register(scheme string, open Opener) {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	if registry.openers == nil {
		registry.openers = map[string]Opener{}
	}
	if _, dup := registry.openers[scheme]; dup {
		panic("cluster: Register called twice for " + scheme)
	}
	registry.openers[scheme] = open
}

func schemes() string {
	registry.mu.RLock()
	defer registry.mu.RUnlock()
	var s []string
	for k := range registry.openers {
		s = append(s, k)
	}
	slices.Sort(s)
	if len(s) == 0 {
		return "none; import github.com/authport/authport/cluster/redis or cluster/postgres"
	}
	return strings.Join(s, ", ")
}

// Options tune a Cluster. The zero value is the documented default.
type Options struct {
	// Wait is how long one read of the revocation log blocks waiting for
	// news (default 500 ms). It bounds how quickly an instance notices
	// that the store went away.
	Wait time.Duration
	// StaleAfter is how long an instance may go without hearing from the
	// store before it refuses every token (default 2 s, at least 2×Wait).
	StaleAfter time.Duration
	// Logger receives connection-state changes (default slog.Default()).
	Logger *slog.Logger
}

// Cluster is an authport.Cluster on a Store. Create it with Open,
// FromEnv or New; Close it when done.
type Cluster struct {
	store  Store
	o      Options
	cancel context.CancelFunc
	done   sync.WaitGroup

	sync syncState

	mu     sync.Mutex
	lists  []authport.RevocationList
	known  map[authport.Revocation]struct{} // every live revocation seen, to publish again after a data loss
	outbox []authport.Revocation
	queued uint64 // revocations ever queued
	sent   uint64 // revocations ever accepted by the store
	wake   chan struct{}
	change chan struct{} // closed and replaced whenever sent grows
}

var _ authport.Cluster = (*Cluster)(nil)

// Open opens the store at rawURL with the engine registered for its
// scheme and starts following it.
func Open(ctx context.Context, rawURL string, o Options) (*Cluster, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme == "" {
		return nil, errors.New("cluster: malformed store URL (want redis://… or postgres://…)")
	}
	registry.mu.RLock()
	open := registry.openers[strings.ToLower(u.Scheme)]
	registry.mu.RUnlock()
	if open == nil {
		return nil, fmt.Errorf("cluster: no engine for scheme %q (registered: %s)", u.Scheme, schemes())
	}
	st, err := open(ctx, rawURL)
	if err != nil {
		return nil, err
	}
	return New(st, o), nil
}

// FromEnv opens the store named by AUTHPORT_CLUSTER_URL (else
// AUTHPORT_REDIS_URL), read through getenv. It returns nil and no error
// when neither is set: a single instance needs no cluster. Errors never
// repeat the URL, which may hold a password.
func FromEnv(ctx context.Context, getenv func(string) string) (*Cluster, error) {
	name, v := EnvURL, strings.TrimSpace(getenv(EnvURL))
	if v == "" {
		name, v = EnvRedisURL, strings.TrimSpace(getenv(EnvRedisURL))
	}
	if v == "" {
		return nil, nil
	}
	c, err := Open(ctx, v, Options{})
	if err != nil {
		return nil, authport.WrapError(authport.ErrMisconfigured, "", "open", fmt.Errorf("%s: %w", name, redact(err, v)))
	}
	return c, nil
}

// redact removes the URL from an error's text.
func redact(err error, rawURL string) error {
	if rawURL != "" && strings.Contains(err.Error(), rawURL) {
		return errors.New(strings.ReplaceAll(err.Error(), rawURL, "<url>"))
	}
	return err
}

// New returns a Cluster on st and starts following its revocation log.
// Close stops it and closes st.
func New(st Store, o Options) *Cluster {
	if o.Wait <= 0 {
		o.Wait = 500 * time.Millisecond
	}
	if o.StaleAfter <= 0 {
		o.StaleAfter = 2 * time.Second
	}
	o.StaleAfter = max(o.StaleAfter, 2*o.Wait)
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Cluster{store: st, o: o, cancel: cancel, known: map[authport.Revocation]struct{}{},
		wake: make(chan struct{}, 1), change: make(chan struct{})}
	c.done.Add(3)
	go c.follow(ctx)
	go c.publish(ctx)
	go c.watchdog(ctx)
	return c
}

// Close stops following the store and closes it.
func (c *Cluster) Close() error {
	c.cancel()
	c.done.Wait()
	return c.store.Close()
}

// Synced reports whether this instance has caught up with the shared
// revocation log within Options.StaleAfter (authport.RevocationBus).
func (c *Cluster) Synced() bool { return c.sync.ok.Load() }

// WaitSynced waits until the instance has caught up with the revocation
// log, or ctx ends. Start-up code may call it before serving.
func (c *Cluster) WaitSynced(ctx context.Context) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for !c.Synced() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// ShareRevocations connects l to the other instances: revocations made
// through l are published, and those made elsewhere are added to l.
func (c *Cluster) ShareRevocations(l authport.RevocationList) {
	c.mu.Lock()
	c.lists = append(c.lists, l)
	known := make([]authport.Revocation, 0, len(c.known))
	for r := range c.known {
		known = append(known, r)
	}
	c.mu.Unlock()
	for _, r := range known {
		l.Deny(r)
	}
	l.Share(bus{c, l})
}

// bus is the RevocationBus one list sees: what it publishes is also given
// to the cluster's other lists.
type bus struct {
	c    *Cluster
	from authport.RevocationList
}

func (b bus) Publish(r authport.Revocation) { b.c.Publish(b.from, r) }
func (b bus) Synced() bool                  { return b.c.Synced() }

// Publish shares r, revoked through from (nil: none of the shared lists),
// with every list of this instance and, through the store, every other
// instance. It never blocks on the store: r waits in an outbox until the
// store accepts it (see Flush).
func (c *Cluster) Publish(from authport.RevocationList, r authport.Revocation) {
	r = normalize(r)
	c.mu.Lock()
	c.known[r] = struct{}{}
	c.outbox = append(c.outbox, r)
	c.queued++
	lists := slices.Clone(c.lists)
	c.mu.Unlock()
	for _, l := range lists {
		if l != from {
			l.Deny(r)
		}
	}
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Flush waits until every revocation published so far has reached the
// store, or ctx ends.
func (c *Cluster) Flush(ctx context.Context) error {
	c.mu.Lock()
	target := c.queued
	for c.sent < target {
		ch := c.change
		c.mu.Unlock()
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster: revocation not yet shared with the other instances: %w", ctx.Err())
		case <-ch:
		}
		c.mu.Lock()
	}
	c.mu.Unlock()
	return nil
}

// normalize makes equal revocations compare equal as map keys.
func normalize(r authport.Revocation) authport.Revocation {
	r.Until = r.Until.UTC().Truncate(time.Millisecond)
	if !r.IssuedBefore.IsZero() {
		r.IssuedBefore = r.IssuedBefore.UTC().Truncate(time.Millisecond)
	}
	return r
}

// publish delivers the outbox to the store, retrying with back-off.
func (c *Cluster) publish(ctx context.Context) {
	defer c.done.Done()
	backoff := newBackoff()
	for {
		c.mu.Lock()
		var r authport.Revocation
		pending := len(c.outbox) > 0
		if pending {
			r = c.outbox[0]
		}
		c.mu.Unlock()
		if !pending {
			select {
			case <-ctx.Done():
				return
			case <-c.wake:
				continue
			}
		}
		if time.Now().After(r.Until) {
			c.markSent() // nothing left to refuse
			continue
		}
		actx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := c.store.AppendRevocation(actx, r)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			c.o.Logger.Warn("cluster: cannot publish a revocation yet; retrying", "err", err)
			if !backoff.sleep(ctx) {
				return
			}
			continue
		}
		backoff.reset()
		c.markSent()
	}
}

func (c *Cluster) markSent() {
	c.mu.Lock()
	c.outbox = c.outbox[1:]
	c.sent++
	close(c.change)
	c.change = make(chan struct{})
	c.mu.Unlock()
}

// follow reads the revocation log into every shared list.
func (c *Cluster) follow(ctx context.Context) {
	defer c.done.Done()
	var epoch, cursor string
	backoff := newBackoff()
	fail := func(err error) bool {
		if ctx.Err() != nil {
			return false
		}
		if c.sync.fail() {
			c.o.Logger.Warn("cluster: lost the shared store; refusing tokens until caught up", "err", err)
		}
		return backoff.sleep(ctx)
	}
	for ctx.Err() == nil {
		ectx, cancel := context.WithTimeout(ctx, c.o.Wait+2*time.Second)
		ep, err := c.store.Epoch(ectx)
		cancel()
		if err != nil {
			if !fail(err) {
				return
			}
			continue
		}
		if ep != epoch {
			if epoch != "" {
				c.o.Logger.Warn("cluster: the shared store lost its data; publishing every live revocation again")
				c.republish()
			}
			epoch, cursor = ep, ""
		}
		rctx, cancel := context.WithTimeout(ctx, c.o.Wait+2*time.Second)
		revs, next, err := c.store.ReadRevocations(rctx, cursor, c.o.Wait)
		cancel()
		if err != nil {
			if !fail(err) {
				return
			}
			continue
		}
		cursor = next
		c.apply(revs)
		backoff.reset()
		if !c.sync.ok.Load() {
			c.o.Logger.Info("cluster: in sync with the shared store")
		}
		c.sync.success()
	}
}

func (c *Cluster) apply(revs []authport.Revocation) {
	if len(revs) == 0 {
		return
	}
	now := time.Now()
	c.mu.Lock()
	for r := range c.known {
		if now.After(r.Until) {
			delete(c.known, r)
		}
	}
	var fresh []authport.Revocation
	for _, r := range revs {
		r = normalize(r)
		if now.After(r.Until) {
			continue
		}
		if _, seen := c.known[r]; !seen {
			c.known[r] = struct{}{}
			fresh = append(fresh, r)
		}
	}
	lists := slices.Clone(c.lists)
	c.mu.Unlock()
	for _, l := range lists {
		for _, r := range fresh {
			l.Deny(r)
		}
	}
}

// republish queues every live revocation this instance knows.
func (c *Cluster) republish() {
	now := time.Now()
	c.mu.Lock()
	for r := range c.known {
		if now.Before(r.Until) {
			c.outbox = append(c.outbox, r)
			c.queued++
		}
	}
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// watchdog marks the instance out of sync once the store has been silent
// for StaleAfter (a read that hangs never reports an error in time).
func (c *Cluster) watchdog(ctx context.Context) {
	defer c.done.Done()
	t := time.NewTicker(c.o.Wait / 5)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if c.sync.stale(c.o.StaleAfter) {
				c.o.Logger.Warn("cluster: no answer from the shared store; refusing tokens until caught up")
			}
		}
	}
}

type backoff struct{ d time.Duration }

func newBackoff() *backoff { return &backoff{d: 50 * time.Millisecond} }

func (b *backoff) reset() { b.d = 50 * time.Millisecond }

// sleep waits the current delay (doubling it, up to 2 s) and reports
// whether ctx is still live.
func (b *backoff) sleep(ctx context.Context) bool {
	t := time.NewTimer(b.d)
	defer t.Stop()
	b.d = min(2*b.d, 2*time.Second)
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
