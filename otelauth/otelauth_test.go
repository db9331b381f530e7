package otelauth_test

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/authport/authport"
	"github.com/authport/authport/oidc"
	"github.com/authport/authport/oidc/oidctest"
	"github.com/authport/authport/otelauth"
)

type telemetry struct {
	spans  *tracetest.InMemoryExporter
	reader *sdkmetric.ManualReader
	hooks  *otelauth.Hooks
}

func newTelemetry(t *testing.T) *telemetry {
	t.Helper()
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	h, err := otelauth.New(otelauth.Config{TracerProvider: tp, MeterProvider: mp})
	if err != nil {
		t.Fatal(err)
	}
	return &telemetry{spans: spans, reader: reader, hooks: h}
}

// counts returns, for the named metric, the value of each data point keyed
// by its attributes ("authport.outcome=ok,authport.provider=oidc").
func (tm *telemetry) counts(t *testing.T, name string) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := tm.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					out[attrKey(p.Attributes)] += p.Value
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					out[attrKey(p.Attributes)] += int64(p.Count)
				}
			default:
				t.Fatalf("%s: unexpected data %T", name, m.Data)
			}
		}
	}
	return out
}

func attrKey(s attribute.Set) string {
	var parts []string
	for _, kv := range s.ToSlice() {
		parts = append(parts, string(kv.Key)+"="+kv.Value.String())
	}
	return strings.Join(parts, ",")
}

// TestTelemetry drives a Web on the oidc adapter against its emulator over
// HTTP and reads back the spans and metrics otelauth produced: sign-in
// (good and bad password), a rate-limit refusal, the first verification
// (which fetches the key set), a cached verification, a refresh, a refusal
// and sign-out with revocation.
func TestTelemetry(t *testing.T) {
	emu := oidctest.New(t)
	const email, password = "ada@example.com", "correct horse battery"
	if _, err := emu.CreateUser(oidctest.NewUser{Email: email, Password: password, Roles: []string{"member"}}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, err := oidc.New(ctx, oidc.Config{Issuer: emu.Issuer, Audiences: []string{emu.Audience}, ClientID: emu.ClientID, ClientSecret: emu.ClientSecret})
	if err != nil {
		t.Fatal(err)
	}
	tm := newTelemetry(t)
	web, err := authport.NewWeb(a, authport.Config{
		CookieKeys: [][]byte{make([]byte, 32)}, Insecure: true, Hooks: tm.hooks,
		Limiter: authport.NewMemoryLimiter(),
		Limits: authport.Limits{
			SignInIP:      authport.LimitPolicy{Free: 3, Window: time.Minute, Base: time.Minute, Max: time.Minute},
			SignInAccount: authport.LimitPolicy{Free: 3, Window: time.Minute, Base: time.Minute, Max: time.Minute},
			SignInDevice:  authport.LimitPolicy{Free: 2, Window: time.Minute, Base: time.Minute, Max: time.Minute},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", web.Handler())
	mux.Handle("/admin", authport.RequireRole("admin")(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
	srv := httptest.NewServer(web.Middleware(mux))
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	bearer := ""
	do := func(method, path, body string, want int) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("Accept", "application/json")
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if want != 0 && res.StatusCode != want {
			t.Fatalf("%s %s: status %d, want %d", method, path, res.StatusCode, want)
		}
	}

	do("POST", "/auth/login", `{"email":"`+email+`","password":"wrong password here"}`, 401)
	do("POST", "/auth/login", `{"email":"`+email+`","password":"`+password+`"}`, 200)
	do("GET", "/auth/session", "", 200) // cached: the sign-in verified the token
	// A token the adapter has never seen: verified in full, then cached.
	tok, err := emu.SignIn(ctx, email, password)
	if err != nil {
		t.Fatal(err)
	}
	bearer = tok.AccessToken
	do("GET", "/auth/session", "", 200)
	bearer = ""
	do("GET", "/admin", "", 403) // refused: not an admin
	do("POST", "/auth/refresh", "", 200)
	do("POST", "/auth/logout", "", 204)
	for range 3 { // the browser is now a known device: 2 attempts a minute, the third refused
		do("POST", "/auth/login", `{"email":"`+email+`","password":"wrong password here"}`, 0)
	}

	t.Run("metrics", func(t *testing.T) {
		const p = "authport.provider=oidc"
		checks := []struct {
			metric string
			key    string
			min    int64
		}{
			{"authport.sign_ins", "authport.outcome=ok," + p, 1},
			{"authport.sign_ins", "authport.outcome=" + authport.ErrInvalidCredential.Code() + "," + p, 1},
			{"authport.sign_ins", "authport.outcome=" + authport.ErrRateLimited.Code() + "," + p, 1},
			{"authport.rate_limited", "authport.event=sign_in," + p, 1},
			{"authport.verify", "authport.cached=false,authport.outcome=ok," + p, 1},
			{"authport.verify", "authport.cached=true,authport.outcome=ok," + p, 1},
			{"authport.keyset.fetches", "authport.outcome=ok," + p, 1},
			{"authport.keyset.fetch.duration", "authport.outcome=ok," + p, 1},
			{"authport.refreshes", "authport.outcome=ok," + p, 1},
			{"authport.revocations", "authport.outcome=ok," + p, 1},
			{"authport.sign_outs", "authport.outcome=ok," + p, 1},
			{"authport.refusals", "authport.outcome=" + authport.ErrForbidden.Code() + "," + p, 1},
		}
		for _, c := range checks {
			got := tm.counts(t, c.metric)
			if got[c.key] < c.min {
				t.Errorf("%s{%s} = %d, want ≥ %d (all: %v)", c.metric, c.key, got[c.key], c.min, got)
			}
		}
	})

	t.Run("spans", func(t *testing.T) {
		byName := map[string][]tracetest.SpanStub{}
		for _, s := range tm.spans.GetSpans() {
			byName[s.Name] = append(byName[s.Name], s)
		}
		for _, name := range []string{"authport.sign_in", "authport.verify", "authport.key_fetch", "authport.refresh", "authport.revoke", "authport.sign_out"} {
			if len(byName[name]) == 0 {
				t.Errorf("no %s span (have %v)", name, keys(byName))
			}
		}
		var failed bool
		for _, s := range byName["authport.sign_in"] {
			if s.Status.Code == codes.Error {
				failed = true
				if d := s.Status.Description; d != authport.ErrInvalidCredential.Code() && d != authport.ErrRateLimited.Code() {
					t.Errorf("sign-in span status %q", s.Status.Description)
				}
			}
		}
		if !failed {
			t.Error("no failed sign-in span")
		}
		for _, s := range byName["authport.verify"] {
			if cached := attrOf(s.Attributes, otelauth.AttrCached); cached.AsBool() {
				t.Error("a cached verification got a span")
			}
		}
		for _, s := range byName["authport.key_fetch"] {
			if !s.StartTime.Before(s.EndTime) {
				t.Errorf("key fetch span not backdated: %v..%v", s.StartTime, s.EndTime)
			}
		}
		// Nothing a span carries names the user's email, a token or a key.
		for _, s := range tm.spans.GetSpans() {
			all := append([]attribute.KeyValue{}, s.Attributes...)
			for _, ev := range s.Events {
				all = append(all, ev.Attributes...)
			}
			for _, kv := range all {
				v := kv.Value.String()
				if strings.Contains(v, "@") || strings.Count(v, ".") == 2 && len(v) > 40 || strings.Contains(strings.ToLower(string(kv.Key)), "token") {
					t.Errorf("span %s carries %s=%q", s.Name, kv.Key, v)
				}
			}
			if strings.Contains(s.Status.Description, "@") {
				t.Errorf("span %s status %q", s.Name, s.Status.Description)
			}
		}
	})
}

func attrOf(kvs []attribute.KeyValue, k attribute.Key) attribute.Value {
	for _, kv := range kvs {
		if kv.Key == k {
			return kv.Value
		}
	}
	return attribute.Value{}
}

func keys(m map[string][]tracetest.SpanStub) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestCachedVerifyAnnotatesRequestSpan checks that a cached verification
// adds its attributes to the request's own span instead of starting one.
func TestCachedVerifyAnnotatesRequestSpan(t *testing.T) {
	tm := newTelemetry(t)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(tm.spans))
	ctx, sp := tp.Tracer("test").Start(context.Background(), "request")
	tm.hooks.OnEvent(ctx, authport.Event{Type: authport.EventVerify, Provider: "diy", Cached: true, UserID: "u1"})
	tm.hooks.OnEvent(ctx, authport.Event{Type: authport.EventRefused, Provider: "diy", Kind: authport.ErrForbidden, Path: "/admin"})
	sp.End()
	got := tm.spans.GetSpans()
	if len(got) != 1 || got[0].Name != "request" {
		t.Fatalf("spans %v", got)
	}
	if v := attrOf(got[0].Attributes, otelauth.AttrCached); !v.AsBool() {
		t.Errorf("request span attributes %v", got[0].Attributes)
	}
	if len(got[0].Events) != 1 || got[0].Events[0].Name != "authport.refused" {
		t.Errorf("request span events %v", got[0].Events)
	}
	for _, kv := range got[0].Attributes {
		if kv.Value.String() == "u1" {
			t.Errorf("user id on a span attribute: %s", kv.Key)
		}
	}
}
