// Package clustertest is the behaviour suite every cluster.Store engine
// passes (cluster/redis and cluster/postgres run it against real servers):
// revocations reach every instance and new ones, expire with their tokens,
// and survive a store that loses its data; a refresh runs once however many
// instances ask; rate limits count once for all instances, with
// authport.MemoryLimiter's policy.
package clustertest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authport/authport"
	"github.com/authport/authport/cluster"
)

// Namespace returns a constructor of Stores that share one namespace no
// other test sees (a key prefix, a fresh database); every call is a new
// instance with its own connections.
type Namespace func(t *testing.T) func() cluster.Store

// List is an authport.RevocationList that records what it was told.
type List struct {
	mu  sync.Mutex
	got map[string]authport.Revocation
	bus authport.RevocationBus
}

// NewList returns an empty List.
func NewList() *List { return &List{got: map[string]authport.Revocation{}} }

// Deny implements authport.RevocationList.
func (l *List) Deny(r authport.Revocation) {
	l.mu.Lock()
	l.got[r.SessionID+"|"+r.TokenID+"|"+r.UserID] = r
	l.mu.Unlock()
}

// Share implements authport.RevocationList.
func (l *List) Share(b authport.RevocationBus) {
	l.mu.Lock()
	l.bus = b
	l.mu.Unlock()
}

// Revoke records r here and publishes it, as an adapter's deny list does.
func (l *List) Revoke(r authport.Revocation) {
	l.Deny(r)
	l.mu.Lock()
	b := l.bus
	l.mu.Unlock()
	b.Publish(r)
}

// Has reports whether the list holds session sid.
func (l *List) Has(sid string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.got[sid+"||"]
	return ok
}

// Instance is one application instance: a Cluster on its own Store, with
// a shared List.
type Instance struct {
	C    *cluster.Cluster
	List *List
}

// Start starts an instance on newStore and waits until it is in sync.
func Start(t *testing.T, newStore func() cluster.Store) *Instance {
	t.Helper()
	c := cluster.New(newStore(), cluster.Options{Wait: 100 * time.Millisecond})
	t.Cleanup(func() { c.Close() })
	l := NewList()
	c.ShareRevocations(l)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.WaitSynced(ctx); err != nil {
		t.Fatalf("instance never in sync: %v", err)
	}
	return &Instance{C: c, List: l}
}

// Eventually polls cond every 10 ms until it holds, failing the test after
// deadline (a bound for a test that would otherwise hang, not a timing
// assertion).
func Eventually(t *testing.T, deadline time.Duration, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(deadline)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("%s: not within %v", what, deadline)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestStore runs the suite.
func TestStore(t *testing.T, ns Namespace) {
	t.Run("RevocationReachesEveryInstance", func(t *testing.T) {
		newStore := ns(t)
		a, b, c := Start(t, newStore), Start(t, newStore), Start(t, newStore)
		a.List.Revoke(authport.Revocation{SessionID: "s1", Until: time.Now().Add(time.Hour)})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := a.C.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		for i, in := range []*Instance{b, c} {
			Eventually(t, 10*time.Second, fmt.Sprintf("instance %d learns the revocation", i+1), func() bool { return in.List.Has("s1") })
		}
		// A new instance knows recent revocations before it is in sync,
		// and never learns expired ones.
		a.List.Revoke(authport.Revocation{SessionID: "gone", Until: time.Now().Add(-time.Second)})
		a.List.Revoke(authport.Revocation{SessionID: "s2", Until: time.Now().Add(time.Hour)})
		if err := a.C.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		d := Start(t, newStore)
		if !d.List.Has("s1") || !d.List.Has("s2") {
			t.Fatal("a new instance does not know the live revocations")
		}
		if d.List.Has("gone") {
			t.Fatal("a new instance learnt an expired revocation")
		}
	})

	t.Run("RefreshRunsOnce", func(t *testing.T) {
		newStore := ns(t)
		insts := []*Instance{Start(t, newStore), Start(t, newStore), Start(t, newStore)}
		for _, c := range []struct {
			name    string
			result  string
			err     error
			want    *authport.Kind
			wantRun int32 // provider calls expected for 30 callers
		}{
			{name: "success", result: "sealed-value", wantRun: 1},
			{name: "refused for good", err: authport.NewError(authport.ErrRevoked, "p", "refresh", "reuse"), want: authport.ErrRevoked, wantRun: 1},
		} {
			t.Run(c.name, func(t *testing.T) {
				var calls atomic.Int32
				release := make(chan struct{})
				fn := func(context.Context) (string, error) {
					calls.Add(1)
					<-release
					return c.result, c.err
				}
				var wg sync.WaitGroup
				results := make([]string, 30)
				errs := make([]error, 30)
				for i := range 30 {
					wg.Go(func() {
						ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
						defer cancel()
						results[i], errs[i] = insts[i%3].C.RefreshOnce(ctx, "k-"+c.name, fn)
					})
				}
				Eventually(t, 10*time.Second, "one caller runs the refresh", func() bool { return calls.Load() == 1 })
				close(release)
				wg.Wait()
				if n := calls.Load(); n != c.wantRun {
					t.Fatalf("refresh ran %d times, want %d", n, c.wantRun)
				}
				for i := range 30 {
					if c.want == nil && (errs[i] != nil || results[i] != c.result) {
						t.Fatalf("caller %d: %q, %v", i, results[i], errs[i])
					}
					if c.want != nil && !errors.Is(errs[i], c.want) {
						t.Fatalf("caller %d: err %v, want %v", i, errs[i], c.want)
					}
				}
			})
		}
		t.Run("transient failure is retried", func(t *testing.T) {
			var calls atomic.Int32
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			_, err := insts[0].C.RefreshOnce(ctx, "k-transient", func(context.Context) (string, error) {
				calls.Add(1)
				return "", authport.NewError(authport.ErrProviderUnavailable, "p", "refresh", "down")
			})
			if !errors.Is(err, authport.ErrProviderUnavailable) {
				t.Fatalf("err %v", err)
			}
			got, err := insts[1].C.RefreshOnce(ctx, "k-transient", func(context.Context) (string, error) {
				calls.Add(1)
				return "later", nil
			})
			if err != nil || got != "later" || calls.Load() != 2 {
				t.Fatalf("retry: %q %v after %d calls", got, err, calls.Load())
			}
		})
	})

	t.Run("LimiterCountsOnce", func(t *testing.T) {
		newStore := ns(t)
		insts := []*Instance{Start(t, newStore), Start(t, newStore), Start(t, newStore)}
		const limit = 5
		window := time.Hour
		ctx := context.Background()
		allowed := 0
		for i := range 3 * limit {
			ok, after, err := insts[i%3].C.Limiter(limit, window).Allow(ctx, "login:ip:203.0.113.9")
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				allowed++
			} else if after <= 0 || after > window {
				t.Fatalf("refusal %d: retry after %v, want (0, %v]", i, after, window)
			}
		}
		if allowed != limit {
			t.Fatalf("%d attempts allowed over three instances, want %d", allowed, limit)
		}
		ok, _, err := insts[0].C.Limiter(limit, window).Allow(ctx, "login:ip:203.0.113.10")
		if err != nil || !ok {
			t.Fatalf("another key: %v %v", ok, err)
		}
	})

	t.Run("LimiterBackOff", func(t *testing.T) {
		// Past the limit, each further window in a row that goes over
		// doubles the block, as authport.MemoryLimiter does.
		newStore := ns(t)
		in := Start(t, newStore)
		ctx := context.Background()
		window := 100 * time.Millisecond
		l := in.C.Limiter(1, window)
		var blocks []time.Duration
		for len(blocks) < 3 {
			ok, after, err := l.Allow(ctx, "k")
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				continue
			}
			blocks = append(blocks, after)
			time.Sleep(after) // wait the block out, then go over again
		}
		for i, d := range blocks {
			if want := window << i; d != want {
				t.Fatalf("block %d: %v, want %v (%v)", i, d, want, blocks)
			}
		}
	})
}

// Server is a private server a test may stop and start again.
type Server interface {
	Stop()
	Start()
}

// TestOutage runs the failure behaviour against a private server:
// while it is down instances are out of sync (every token refused),
// sign-outs are kept and delivered once it is back, refreshes and rate
// limits fail closed; afterwards instances recover on their own, and
// nothing revoked comes back, even when the server lost its data.
func TestOutage(t *testing.T, srv Server, newStore func() cluster.Store) {
	a, b := Start(t, newStore), Start(t, newStore)
	a.List.Revoke(authport.Revocation{SessionID: "before", Until: time.Now().Add(time.Hour)})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.C.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	Eventually(t, 10*time.Second, "b learns the first revocation", func() bool { return b.List.Has("before") })

	srv.Stop()
	Eventually(t, 10*time.Second, "instances notice the outage", func() bool { return !a.C.Synced() && !b.C.Synced() })
	a.List.Revoke(authport.Revocation{SessionID: "during", Until: time.Now().Add(time.Hour)})
	short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
	if err := a.C.Flush(short); err == nil {
		t.Fatal("Flush succeeded with the store down")
	}
	cancelShort()
	rctx, cancelR := context.WithTimeout(ctx, 2*time.Second)
	_, err := b.C.RefreshOnce(rctx, "k", func(context.Context) (string, error) {
		t.Error("refreshed alone during the outage")
		return "", nil
	})
	cancelR()
	if !errors.Is(err, authport.ErrProviderUnavailable) {
		t.Fatalf("refresh during the outage: %v", err)
	}
	if _, _, err := b.C.Limiter(10, time.Minute).Allow(ctx, "k"); err == nil {
		t.Fatal("the limiter decided without its store")
	}

	srv.Start()
	Eventually(t, 20*time.Second, "instances recover", func() bool { return a.C.Synced() && b.C.Synced() })
	if err := a.C.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	Eventually(t, 10*time.Second, "b learns the revocation made during the outage", func() bool { return b.List.Has("during") })
	// A new instance knows both, even if the server lost its data.
	c := Start(t, newStore)
	Eventually(t, 10*time.Second, "a new instance learns every revocation", func() bool {
		return c.List.Has("before") && c.List.Has("during")
	})
}
