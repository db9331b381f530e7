package diy_test

import (
	"context"
	"errors"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authport/authport"
	"github.com/authport/authport/diy"
)

// BenchmarkVerify is the per-request session check: a store read in
// session mode (plus a write at most once a minute per session), a cached
// signature check in JWT mode.
//
//	go test -run '^$' -bench BenchmarkVerify ./diy/
func BenchmarkVerify(b *testing.B) {
	for _, kind := range storeKinds {
		for _, mode := range modes {
			b.Run(kind+"/"+mode.String(), func(b *testing.B) {
				be := newBackend(b, kind, mode, nil)
				ctx := context.Background()
				email := randEmail()
				if _, err := be.CreateUser(ctx, email, goodPassword); err != nil {
					b.Fatal(err)
				}
				tok, err := be.SignInWithPassword(ctx, email, goodPassword)
				if err != nil {
					b.Fatal(err)
				}
				c := authport.Credential{Token: tok.AccessToken, Source: authport.SourceHeader}
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					if _, err := be.Verify(ctx, c); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkVerifyParallel is BenchmarkVerify from GOMAXPROCS goroutines,
// each with its own session.
func BenchmarkVerifyParallel(b *testing.B) {
	for _, kind := range []string{"sqlite", "postgres"} {
		b.Run(kind+"/session", func(b *testing.B) {
			be := newBackend(b, kind, diy.ModeSession, func(c *diy.Config) { c.Limiter = authport.NoLimits })
			ctx := context.Background()
			email := randEmail()
			if _, err := be.CreateUser(ctx, email, goodPassword); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				tok, err := be.SignInWithPassword(ctx, email, goodPassword)
				if err != nil {
					b.Error(err)
					return
				}
				c := authport.Credential{Token: tok.AccessToken, Source: authport.SourceHeader}
				for pb.Next() {
					if _, err := be.Verify(ctx, c); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkHashPassword is one argon2id hash with the default parameters
// (m = 19 MiB, t = 2, p = 1); B/op shows the memory each hash needs.
func BenchmarkHashPassword(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := diy.HashPassword(goodPassword, diy.DefaultHashParams); err != nil {
			b.Fatal(err)
		}
	}
}

// peakSampler records the peak of runtime/metrics values while running.
type peakSampler struct {
	stop    chan struct{}
	done    chan struct{}
	heap    uint64 // heap objects, live and not yet collected
	live    uint64 // live heap as of the last GC
	samples []metrics.Sample
}

func startPeak() *peakSampler {
	runtime.GC()
	p := &peakSampler{stop: make(chan struct{}), done: make(chan struct{}), samples: []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/live:bytes"},
	}}
	go func() {
		defer close(p.done)
		t := time.NewTicker(500 * time.Microsecond)
		defer t.Stop()
		for {
			metrics.Read(p.samples)
			p.heap = max(p.heap, p.samples[0].Value.Uint64())
			p.live = max(p.live, p.samples[1].Value.Uint64())
			select {
			case <-p.stop:
				return
			case <-t.C:
			}
		}
	}()
	return p
}

func (p *peakSampler) end() (heapMiB, liveMiB float64) {
	close(p.stop)
	<-p.done
	return float64(p.heap) / (1 << 20), float64(p.live) / (1 << 20)
}

// BenchmarkSignIn100Clients runs sign-ins with the real argon2id parameters
// from 100 concurrent clients and reports throughput and peak heap. With
// the default bound (GOMAXPROCS hashes at once) the live heap stays near
// bound × 19 MiB; "unbounded" (100 at once) shows what the bound prevents.
// "queue=2s" uses the default wait, so excess requests are refused (503).
//
//	go test -run '^$' -bench BenchmarkSignIn100Clients -benchtime 200x ./diy/
func BenchmarkSignIn100Clients(b *testing.B) {
	for _, tc := range []struct {
		name  string
		bound int
		wait  time.Duration
	}{
		{"bound=GOMAXPROCS/queue=60s", 0, time.Minute},
		{"bound=GOMAXPROCS/queue=2s", 0, 0},
		{"unbounded/queue=60s", 100, time.Minute},
	} {
		b.Run(tc.name, func(b *testing.B) {
			be := newBackend(b, "sqlite", diy.ModeSession, func(c *diy.Config) {
				c.Hash = diy.DefaultHashParams
				c.MaxConcurrentHashes = tc.bound
				c.HashQueueWait = tc.wait
				c.Limiter = authport.NoLimits
			})
			ctx := context.Background()
			email := randEmail()
			if _, err := be.CreateUser(ctx, email, goodPassword); err != nil {
				b.Fatal(err)
			}
			bound := tc.bound
			if bound == 0 {
				bound = runtime.GOMAXPROCS(0)
			}
			var next, ok, busy atomic.Int64
			n := int64(b.N)
			b.ResetTimer()
			peak := startPeak()
			start := time.Now()
			var wg sync.WaitGroup
			for range 100 {
				wg.Go(func() {
					for next.Add(1) <= n {
						_, err := be.SignInWithPassword(ctx, email, goodPassword)
						switch {
						case err == nil:
							ok.Add(1)
						case errors.Is(err, authport.ErrProviderUnavailable):
							busy.Add(1)
						default:
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			heap, live := peak.end()
			b.StopTimer()
			b.ReportMetric(float64(ok.Load())/elapsed.Seconds(), "signins/s")
			b.ReportMetric(float64(busy.Load())/float64(n)*100, "%refused")
			b.ReportMetric(heap, "peak-heap-MiB")
			b.ReportMetric(live, "peak-live-MiB")
			b.ReportMetric(float64(bound)*float64(diy.DefaultHashParams.Memory)/1024, "bound-MiB")
		})
	}
}
