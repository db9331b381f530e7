package authport

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// cachedAuth returns one precomputed session, standing in for an adapter
// whose verified-token cache hits: what is left is the HTTP layer's cost.
type cachedAuth struct{ s *Session }

func (cachedAuth) Provider() string { return "cached" }
func (a cachedAuth) Verify(_ context.Context, c Credential) (*Session, error) {
	if c.Token != "tok" {
		return nil, ErrInvalidCredential
	}
	return a.s, nil
}

// nopWriter is a ResponseWriter that keeps nothing, so the benchmark does
// not measure httptest.ResponseRecorder.
type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *nopWriter) WriteHeader(int)             {}

func BenchmarkRequire(b *testing.B) {
	trivial := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) })
	web, err := NewWeb(cachedAuth{&Session{UserID: "u", Roles: []string{"admin"}}}, Config{Logger: discard})
	if err != nil {
		b.Fatal(err)
	}
	run := func(b *testing.B, h http.Handler, auth string) {
		r := httptest.NewRequest("GET", "/app/x", nil)
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		w := &nopWriter{h: http.Header{}}
		b.ReportAllocs()
		for b.Loop() {
			h.ServeHTTP(w, r)
		}
	}
	b.Run("noauth", func(b *testing.B) { run(b, trivial, "") })
	b.Run("cached", func(b *testing.B) { run(b, web.Middleware(Require()(trivial)), "Bearer tok") })
	b.Run("cached-role", func(b *testing.B) { run(b, web.Middleware(RequireRole("admin")(trivial)), "Bearer tok") })
	b.Run("cookie", func(b *testing.B) {
		w, err := NewWeb(cachedAuth{&Session{UserID: "u"}}, Config{CookieKeys: [][]byte{testKey}, Logger: discard})
		if err != nil {
			b.Fatal(err)
		}
		v, _ := w.sealer.Seal(&Tokens{AccessToken: "tok"})
		r := httptest.NewRequest("GET", "/app/x", nil)
		r.Header.Set("Cookie", "__Host-authport="+v)
		h := w.Middleware(Require()(trivial))
		rw := &nopWriter{h: http.Header{}}
		b.ReportAllocs()
		for b.Loop() {
			h.ServeHTTP(rw, r)
		}
	})
}
