package otelauth_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/authport/authport"
	"github.com/authport/authport/oidc"
	"github.com/authport/authport/oidc/oidctest"
	"github.com/authport/authport/otelauth"
)

// BenchmarkInstrumentedCached compares, in one run, a request through
// Web.Middleware + Require with a cached token, bare and with otelauth's
// Hooks on the OpenTelemetry SDK (a ManualReader and an always-sampling
// tracer provider). docs/benchmarks.md reports the ratio.
func BenchmarkInstrumentedCached(b *testing.B) {
	emu := oidctest.New(b)
	const email, password = "ada@example.com", "correct horse battery"
	if _, err := emu.CreateUser(oidctest.NewUser{Email: email, Password: password}); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	a, err := oidc.New(ctx, oidc.Config{Issuer: emu.Issuer, Audiences: []string{emu.Audience}, ClientID: emu.ClientID, ClientSecret: emu.ClientSecret})
	if err != nil {
		b.Fatal(err)
	}
	tok, err := emu.SignIn(ctx, email, password)
	if err != nil {
		b.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(tracetest.NewInMemoryExporter()))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	hooks, err := otelauth.New(otelauth.Config{TracerProvider: tp, MeterProvider: mp})
	if err != nil {
		b.Fatal(err)
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{"ok":true}`)) })
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	build := func(h authport.Hooks) http.Handler {
		cfg := authport.Config{CookieKeys: [][]byte{make([]byte, 32)}, Logger: quiet}
		if h != nil {
			cfg.Hooks = h
		}
		web, err := authport.NewWeb(a, cfg)
		if err != nil {
			b.Fatal(err)
		}
		return web.Middleware(authport.Require()(handler))
	}
	req := httptest.NewRequest("GET", "/app/x", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	warm := func(h http.Handler) { h.ServeHTTP(httptest.NewRecorder(), req) } // fill the verified-token cache
	run := func(b *testing.B, h http.Handler) {
		warm(h)
		b.ReportAllocs()
		for b.Loop() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != 200 {
				b.Fatalf("status %d", w.Code)
			}
		}
	}
	bare, instrumented := build(nil), build(hooks)
	b.Run("Bare", func(b *testing.B) { run(b, bare) })
	b.Run("Instrumented", func(b *testing.B) { run(b, instrumented) })
	// Interleaved alternates batches of the two, so that load from other
	// processes hits both alike, and reports the ratio of their medians.
	b.Run("Interleaved", func(b *testing.B) {
		warm(bare)
		warm(instrumented)
		const batch = 200
		var tb, ti []time.Duration
		b.ResetTimer()
		for b.Loop() {
			for i, h := range []http.Handler{bare, instrumented} {
				start := time.Now()
				for range batch {
					h.ServeHTTP(httptest.NewRecorder(), req)
				}
				if i == 0 {
					tb = append(tb, time.Since(start))
				} else {
					ti = append(ti, time.Since(start))
				}
			}
		}
		b.ReportMetric(float64(median(ti))/float64(median(tb)), "instrumented/bare")
		b.ReportMetric(float64(median(tb))/batch, "bare-ns/req")
	})
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
