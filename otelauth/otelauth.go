// Package otelauth turns authport's events into OpenTelemetry spans and
// metrics. Set the Hooks it returns as authport.Config.Hooks:
//
//	h, err := otelauth.New(otelauth.Config{})
//	web, err := authport.NewWeb(auth, authport.Config{Hooks: h, ...})
//
// It records verifications (cached or not, per provider and outcome),
// key-set fetches (count, latency, failures), sign-ins, sign-ups, refreshes,
// revocations, sign-outs, refusals and rate-limit refusals.
//
// Attributes never carry a token, an email address, a key or a user or
// session id: an event's error is reduced to its kind's code (the
// "authport.outcome" attribute), which also keeps metric cardinality
// bounded by providers × kinds.
//
// Cached verifications run on every request and cost a fraction of a
// microsecond, so they get no span of their own (a span would cost more
// than the verification): they are counted, and annotate the request's
// span (otelhttp's, for example) when it is recording. Every other event
// is a span named "authport.<event>": a key-set fetch's span covers the
// fetch, the others mark the moment the event happened.
//
// Only programs that import this package link OpenTelemetry.
package otelauth

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/authport/authport"
)

// ScopeName is the instrumentation scope of the tracer and the meter.
const ScopeName = "github.com/authport/authport/otelauth"

// Attribute keys, shared by spans and metrics.
const (
	// AttrProvider is the adapter's name ("clerk", "diy", ...).
	AttrProvider = attribute.Key("authport.provider")
	// AttrOutcome is "ok" or the failure kind's code ("expired", ...).
	AttrOutcome = attribute.Key("authport.outcome")
	// AttrCached reports a verification answered from the adapter's
	// verified-token cache.
	AttrCached = attribute.Key("authport.cached")
	// AttrEvent is the event type, on the rate-limit and refusal counters.
	AttrEvent = attribute.Key("authport.event")
)

// OutcomeOK is AttrOutcome for a success.
const OutcomeOK = "ok"

// Config chooses where spans and metrics go.
type Config struct {
	// TracerProvider creates the tracer (default otel.GetTracerProvider()).
	TracerProvider trace.TracerProvider
	// MeterProvider creates the meter (default otel.GetMeterProvider()).
	MeterProvider metric.MeterProvider
}

// Hooks implements authport.Hooks with OpenTelemetry. Create it with New;
// it is safe for concurrent use.
//
// Counters are kept in process (one atomic add per event, which is what
// keeps the cached verification path cheap) and reported to the meter as
// cumulative observable counters at each collection.
type Hooks struct {
	tracer       trace.Tracer
	keyFetchTime metric.Float64Histogram
	rateLimited  metric.Int64ObservableCounter
	counters     map[authport.EventType]metric.Int64ObservableCounter

	mu   sync.Mutex                          // serialises additions to sets
	sets atomic.Pointer[map[setKey]*attrSet] // copied on write: lock-free reads
}

// setKey identifies one combination of attribute values. Their number is
// bounded (providers × event types × kinds), so the sets are built once.
type setKey struct {
	typ      authport.EventType
	provider string
	outcome  string
	cached   bool
}

// attrSet holds one setKey's counts and prebuilt options, so recording an
// event allocates nothing.
type attrSet struct {
	counter  metric.Int64ObservableCounter // nil: the event type is not counted
	n        atomic.Int64
	rated    atomic.Int64 // refused by a rate limit
	observe  []metric.ObserveOption
	ratedObs []metric.ObserveOption
	record   []metric.RecordOption
	attrs    []attribute.KeyValue
}

// New creates the instruments. An error means the meter refused one (a
// misconfigured MeterProvider).
func New(cfg Config) (*Hooks, error) {
	tp, mp := cfg.TracerProvider, cfg.MeterProvider
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := mp.Meter(ScopeName)
	h := &Hooks{tracer: tp.Tracer(ScopeName), counters: map[authport.EventType]metric.Int64ObservableCounter{}}
	h.sets.Store(&map[setKey]*attrSet{})
	var err error
	counter := func(name, desc string) metric.Int64ObservableCounter {
		var c metric.Int64ObservableCounter
		if err == nil {
			c, err = m.Int64ObservableCounter(name, metric.WithDescription(desc), metric.WithUnit("{event}"))
		}
		return c
	}
	h.counters[authport.EventVerify] = counter("authport.verify", "Credentials verified, by provider, outcome and whether the verified-token cache answered.")
	h.counters[authport.EventKeyFetch] = counter("authport.keyset.fetches", "Key-set fetches from the provider, by outcome.")
	h.counters[authport.EventSignIn] = counter("authport.sign_ins", "Sign-in attempts, by outcome.")
	h.counters[authport.EventSignUp] = counter("authport.sign_ups", "Accounts created.")
	h.counters[authport.EventRefresh] = counter("authport.refreshes", "Session refreshes, by outcome.")
	h.counters[authport.EventRevoke] = counter("authport.revocations", "Sessions revoked at the provider, by outcome.")
	h.counters[authport.EventSignOut] = counter("authport.sign_outs", "Sign-outs, by outcome.")
	h.counters[authport.EventRefused] = counter("authport.refusals", "Requests a guard turned away, by outcome.")
	h.rateLimited = counter("authport.rate_limited", "Attempts refused by a rate limit (authport's or the provider's), by event.")
	if err == nil {
		h.keyFetchTime, err = m.Float64Histogram("authport.keyset.fetch.duration",
			metric.WithDescription("Time to fetch the provider's key set."), metric.WithUnit("s"))
	}
	if err != nil {
		return nil, err
	}
	insts := []metric.Observable{h.rateLimited}
	for _, c := range h.counters {
		insts = append(insts, c)
	}
	if _, err := m.RegisterCallback(h.observe, insts...); err != nil {
		return nil, err
	}
	return h, nil
}

// observe reports the in-process counts to the meter.
func (h *Hooks) observe(_ context.Context, o metric.Observer) error {
	for _, s := range *h.sets.Load() {
		if n := s.n.Load(); n > 0 && s.counter != nil {
			o.ObserveInt64(s.counter, n, s.observe...)
		}
		if n := s.rated.Load(); n > 0 {
			o.ObserveInt64(h.rateLimited, n, s.ratedObs...)
		}
	}
	return nil
}

// OnEvent implements authport.Hooks.
func (h *Hooks) OnEvent(ctx context.Context, e authport.Event) {
	outcome := OutcomeOK
	if e.Kind != nil {
		outcome = e.Kind.Code()
	}
	typ := e.Type
	if typ == authport.EventSignInFailed {
		typ = authport.EventSignIn // one counter and span name, told apart by outcome
	}
	set := h.set(setKey{typ: typ, provider: e.Provider, outcome: outcome, cached: e.Cached})
	set.n.Add(1)
	if e.Kind == authport.ErrRateLimited {
		set.rated.Add(1)
	}
	switch e.Type {
	case authport.EventVerify:
		if e.Cached {
			// Too cheap for a span of its own: annotate the request's.
			if sp := trace.SpanFromContext(ctx); sp.IsRecording() {
				sp.SetAttributes(set.attrs...)
			}
			return
		}
	case authport.EventKeyFetch:
		h.keyFetchTime.Record(ctx, e.Duration.Seconds(), set.record...)
	case authport.EventRefused:
		if sp := trace.SpanFromContext(ctx); sp.IsRecording() {
			sp.AddEvent("authport.refused", trace.WithAttributes(set.attrs...))
		}
		return
	}
	h.span(ctx, typ, e, set)
}

// span records e as a finished span, backdated by e.Duration.
func (h *Hooks) span(ctx context.Context, typ authport.EventType, e authport.Event, set *attrSet) {
	end := time.Now()
	opts := []trace.SpanStartOption{trace.WithAttributes(set.attrs...), trace.WithSpanKind(trace.SpanKindInternal)}
	if e.Duration > 0 {
		opts = append(opts, trace.WithTimestamp(end.Add(-e.Duration)))
	}
	_, sp := h.tracer.Start(ctx, "authport."+string(typ), opts...)
	if e.Kind != nil {
		// The kind's code only: an error's text may name the operation,
		// and a span is no place to find out whether it names more.
		sp.SetStatus(codes.Error, e.Kind.Code())
	}
	sp.End(trace.WithTimestamp(end))
}

// set returns the counts and options for k, building them once.
func (h *Hooks) set(k setKey) *attrSet {
	if s := (*h.sets.Load())[k]; s != nil {
		return s
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	old := *h.sets.Load()
	if s := old[k]; s != nil {
		return s
	}
	attrs := []attribute.KeyValue{AttrProvider.String(k.provider), AttrOutcome.String(k.outcome)}
	if k.typ == authport.EventVerify {
		attrs = append(attrs, AttrCached.Bool(k.cached))
	}
	as := attribute.NewSet(attrs...)
	rated := attribute.NewSet(AttrProvider.String(k.provider), AttrEvent.String(string(k.typ)))
	s := &attrSet{
		counter:  h.counters[k.typ],
		observe:  []metric.ObserveOption{metric.WithAttributeSet(as)},
		ratedObs: []metric.ObserveOption{metric.WithAttributeSet(rated)},
		record:   []metric.RecordOption{metric.WithAttributeSet(as)},
		attrs:    attrs,
	}
	next := make(map[setKey]*attrSet, len(old)+1)
	for kk, v := range old {
		next[kk] = v
	}
	next[k] = s
	h.sets.Store(&next)
	return s
}
