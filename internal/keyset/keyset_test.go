package keyset

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authport/authport"
)

var (
	once   sync.Once
	rsa2k  *rsa.PrivateKey
	rsa1k  *rsa.PrivateKey
	p256   *ecdsa.PrivateKey
	b64enc = base64.RawURLEncoding
)

func keys() {
	once.Do(func() {
		rsa2k, _ = rsa.GenerateKey(rand.Reader, 2048)
		rsa1k, _ = rsa.GenerateKey(rand.Reader, 1024)
		p256, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	})
}

func rsaJWK(kid string, k *rsa.PublicKey, extra map[string]any) map[string]any {
	m := map[string]any{"kty": "RSA", "kid": kid, "n": b64enc.EncodeToString(k.N.Bytes()), "e": b64enc.EncodeToString(big.NewInt(int64(k.E)).Bytes())}
	for a, b := range extra {
		m[a] = b
	}
	return m
}

func ecJWK(kid string, k *ecdsa.PublicKey, extra map[string]any) map[string]any {
	pt, _ := k.Bytes()
	m := map[string]any{"kty": "EC", "crv": "P-256", "kid": kid, "x": b64enc.EncodeToString(pt[1:33]), "y": b64enc.EncodeToString(pt[33:])}
	for a, b := range extra {
		m[a] = b
	}
	return m
}

func TestParseJWKSPolicy(t *testing.T) {
	keys()
	badPoint := ecJWK("bad", &p256.PublicKey, nil)
	badPoint["y"] = badPoint["x"]
	cases := []struct {
		name string
		jwk  map[string]any
		ok   bool
		alg  string
	}{
		{"rsa default alg", rsaJWK("a", &rsa2k.PublicKey, nil), true, "RS256"},
		{"rsa pinned PS256", rsaJWK("a", &rsa2k.PublicKey, map[string]any{"alg": "PS256"}), true, "PS256"},
		{"rsa 1024 refused (J40)", rsaJWK("a", &rsa1k.PublicKey, nil), false, ""},
		{"rsa e=1 refused", map[string]any{"kty": "RSA", "kid": "a", "n": b64enc.EncodeToString(rsa2k.N.Bytes()), "e": "AQ"}, false, ""},
		{"use enc refused (J41)", rsaJWK("a", &rsa2k.PublicKey, map[string]any{"use": "enc"}), false, ""},
		{"key_ops encrypt refused (J41)", rsaJWK("a", &rsa2k.PublicKey, map[string]any{"key_ops": []string{"encrypt"}}), false, ""},
		{"key_ops verify ok", rsaJWK("a", &rsa2k.PublicKey, map[string]any{"key_ops": []string{"verify"}}), true, "RS256"},
		{"rsa with ES alg refused", rsaJWK("a", &rsa2k.PublicKey, map[string]any{"alg": "ES256"}), false, ""},
		{"ec ok", ecJWK("e", &p256.PublicKey, nil), true, "ES256"},
		{"ec wrong alg refused (J39)", ecJWK("e", &p256.PublicKey, map[string]any{"alg": "ES384"}), false, ""},
		{"ec point off curve refused (J39)", badPoint, false, ""},
		{"oct refused", map[string]any{"kty": "oct", "kid": "s", "k": "c2VjcmV0"}, false, ""},
		{"private key refused", rsaJWK("a", &rsa2k.PublicKey, map[string]any{"d": "AAAA"}), false, ""},
		{"unknown kty", map[string]any{"kty": "XYZ", "kid": "x"}, false, ""},
		{"padded base64 refused", rsaJWK("a", &rsa2k.PublicKey, map[string]any{"e": "AQAB=="}), false, ""},
		{"ed25519 default EdDSA", edJWK("d", nil), true, "EdDSA"},
		{"ed25519 alg EdDSA", edJWK("d", map[string]any{"alg": "EdDSA"}), true, "EdDSA"},
		{"ed25519 alg Ed25519 (RFC 9864)", edJWK("d", map[string]any{"alg": "Ed25519"}), true, "Ed25519"},
		{"ed25519 alg ES256 refused", edJWK("d", map[string]any{"alg": "ES256"}), false, ""},
		{"ed448 refused", edJWK("d", map[string]any{"crv": "Ed448"}), false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc, _ := json.Marshal(map[string]any{"keys": []any{c.jwk, ecJWK("keep", &p256.PublicKey, nil)}})
			ks, skipped, err := ParseJWKS(doc)
			if err != nil {
				t.Fatal(err)
			}
			got := len(ks) == 2
			if got != c.ok {
				t.Fatalf("accepted=%v want %v (skipped %v)", got, c.ok, skipped)
			}
			if c.ok && ks[0].Algorithm != c.alg {
				t.Fatalf("alg %q want %q", ks[0].Algorithm, c.alg)
			}
		})
	}
}

func TestParseJWKSDocument(t *testing.T) {
	keys()
	for _, doc := range []string{`<html>`, `{"keys":"x"}`, `{"keys":[]}`, `{}`, `[]`, `null`} {
		if _, _, err := ParseJWKS([]byte(doc)); err == nil {
			t.Errorf("%s: accepted", doc)
		}
	}
	dup, _ := json.Marshal(map[string]any{"keys": []any{rsaJWK("d", &rsa2k.PublicKey, nil), ecJWK("d", &p256.PublicKey, nil), ecJWK("ok", &p256.PublicKey, nil)}})
	ks, _, err := ParseJWKS(dup)
	if err != nil || len(ks) != 1 || ks[0].ID != "ok" {
		t.Fatalf("duplicate kids: %v %v", ks, err)
	}
}

// jwksServer serves a switchable key set and counts requests.
type jwksServer struct {
	*httptest.Server
	n     atomic.Int64
	mode  atomic.Value // "ok", "down", "garbage", "huge", "slow", "redirect"
	doc   atomic.Value
	block chan struct{}
}

func newJWKSServer(t *testing.T, jwks ...map[string]any) *jwksServer {
	s := &jwksServer{block: make(chan struct{})}
	s.mode.Store("ok")
	s.set(jwks...)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.n.Add(1)
		switch s.mode.Load().(string) {
		case "down":
			http.Error(w, "down", 503)
		case "garbage":
			_, _ = w.Write([]byte("<html>oops</html>"))
		case "huge":
			_, _ = w.Write([]byte(`{"keys":[` + strings.Repeat(" ", 2<<20) + `]}`))
		case "slow":
			<-s.block
			_, _ = w.Write(s.doc.Load().([]byte))
		case "redirect":
			http.Redirect(w, r, "http://example.invalid/jwks", http.StatusFound)
		default:
			w.Header().Set("Cache-Control", "max-age=600")
			_, _ = w.Write(s.doc.Load().([]byte))
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) set(jwks ...map[string]any) {
	ks := make([]any, len(jwks))
	for i := range jwks {
		ks[i] = jwks[i]
	}
	b, _ := json.Marshal(map[string]any{"keys": ks})
	s.doc.Store(b)
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestCacheSingleFlightAndRefreshOnMiss(t *testing.T) {
	keys()
	srv := newJWKSServer(t, rsaJWK("k1", &rsa2k.PublicKey, nil))
	clk := &fakeClock{t: time.Now()}
	c := NewCache(NewHTTPFetcher(srv.URL, FormatJWKS, nil), CacheOptions{Clock: clk.Now, MinRefreshInterval: time.Minute})
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if _, err := c.Lookup(ctx, "k1", "RS256"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := srv.n.Load(); n != 1 {
		t.Fatalf("50 cold lookups made %d fetches, want 1", n)
	}
	// Unknown kids right after a fetch: no refetch at all.
	for range 20 {
		if _, err := c.Lookup(ctx, "nope", "RS256"); !errors.Is(err, authport.ErrInvalidCredential) {
			t.Fatalf("unknown kid: %v", err)
		}
	}
	if n := srv.n.Load(); n != 1 {
		t.Fatalf("unknown kids within the interval made %d fetches in total, want 1", n)
	}
	// After the interval: at most one refresh for a flood.
	clk.Add(2 * time.Minute)
	for range 20 {
		if _, err := c.Lookup(ctx, "nope", "RS256"); !errors.Is(err, authport.ErrInvalidCredential) {
			t.Fatalf("unknown kid: %v", err)
		}
	}
	if n := srv.n.Load(); n != 2 {
		t.Fatalf("unknown-kid flood made %d fetches in total, want 2", n)
	}
	// Rotation: a new kid is picked up after the interval; removed keys stop verifying.
	srv.set(ecJWK("k2", &p256.PublicKey, nil))
	clk.Add(2 * time.Minute)
	if _, err := c.Lookup(ctx, "k2", "ES256"); err != nil {
		t.Fatalf("rotated key: %v", err)
	}
	if _, err := c.Lookup(ctx, "k1", "RS256"); err == nil {
		t.Fatal("a key removed from the set still verifies (merge instead of replace)")
	}
	// Wrong alg for a known kid is not found.
	if _, err := c.Lookup(ctx, "k2", "RS256"); err == nil {
		t.Fatal("key served for another algorithm")
	}
}

func TestCacheStaleIfError(t *testing.T) {
	keys()
	for _, mode := range []string{"down", "garbage", "huge", "redirect"} {
		t.Run(mode, func(t *testing.T) {
			srv := newJWKSServer(t, rsaJWK("k1", &rsa2k.PublicKey, nil))
			clk := &fakeClock{t: time.Now()}
			c := NewCache(NewHTTPFetcher(srv.URL, FormatJWKS, nil), CacheOptions{Clock: clk.Now, TTL: time.Minute, MinRefreshInterval: time.Second, MaxStale: time.Hour})
			ctx := context.Background()
			if _, err := c.Lookup(ctx, "k1", "RS256"); err != nil {
				t.Fatal(err)
			}
			srv.mode.Store(mode)
			clk.Add(11 * time.Minute) // past TTL (max-age 600)
			if err := c.Refresh(ctx); err == nil {
				t.Fatal("refresh against a failing endpoint succeeded")
			}
			if _, err := c.Lookup(ctx, "k1", "RS256"); err != nil {
				t.Fatalf("stale key not served while the endpoint fails: %v", err)
			}
			clk.Add(2 * time.Hour) // past MaxStale: fail closed
			if _, err := c.Lookup(ctx, "k1", "RS256"); !errors.Is(err, authport.ErrProviderUnavailable) {
				t.Fatalf("past MaxStale: %v, want unavailable", err)
			}
			srv.mode.Store("ok")
			clk.Add(2 * time.Second)
			if _, err := c.Lookup(ctx, "k1", "RS256"); err != nil {
				t.Fatalf("no recovery: %v", err)
			}
		})
	}
}

func TestCacheColdDownFailsClosedAndRecovers(t *testing.T) {
	keys()
	srv := newJWKSServer(t, rsaJWK("k1", &rsa2k.PublicKey, nil))
	srv.mode.Store("down")
	clk := &fakeClock{t: time.Now()}
	c := NewCache(NewHTTPFetcher(srv.URL, FormatJWKS, nil), CacheOptions{Clock: clk.Now})
	if _, err := c.Lookup(context.Background(), "k1", "RS256"); !errors.Is(err, authport.ErrProviderUnavailable) {
		t.Fatalf("cold and down: %v", err)
	}
	srv.mode.Store("ok")
	clk.Add(1100 * time.Millisecond)
	if _, err := c.Lookup(context.Background(), "k1", "RS256"); err != nil {
		t.Fatalf("no recovery: %v", err)
	}
}

func TestCacheCachedKidDoesNotWaitOnSlowFetch(t *testing.T) {
	keys()
	srv := newJWKSServer(t, rsaJWK("k1", &rsa2k.PublicKey, nil))
	clk := &fakeClock{t: time.Now()}
	c := NewCache(NewHTTPFetcher(srv.URL, FormatJWKS, nil), CacheOptions{Clock: clk.Now})
	ctx := context.Background()
	if _, err := c.Lookup(ctx, "k1", "RS256"); err != nil {
		t.Fatal(err)
	}
	srv.mode.Store("slow")
	defer close(srv.block)
	clk.Add(time.Hour) // stale: triggers a background refresh that hangs
	done := make(chan error, 1)
	go func() { _, err := c.Lookup(ctx, "k1", "RS256"); done <- err }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("a cached kid waited on a slow key fetch")
	}
}

func TestStaticAndByAlg(t *testing.T) {
	keys()
	secret := []byte(strings.Repeat("s", 32))
	hk, err := HMACKey("", secret, "HS256")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := HMACKey("", []byte("short"), "HS256"); err == nil {
		t.Fatal("short HMAC secret accepted (J26)")
	}
	hs, _ := NewStatic(hk)
	as, _ := NewStatic(Key{ID: "r", Algorithm: "RS256", Public: &rsa2k.PublicKey})
	b := ByAlg{HMAC: hs, Asymmetric: as}
	ctx := context.Background()
	if _, err := b.Lookup(ctx, "", "HS256"); err != nil {
		t.Fatalf("sole HMAC key without kid: %v", err)
	}
	if _, err := b.Lookup(ctx, "r", "HS256"); err == nil {
		t.Fatal("an HS256 token reached the RSA key")
	}
	if _, err := b.Lookup(ctx, "r", "RS256"); err != nil {
		t.Fatal(err)
	}
	if _, err := NewStatic(Key{ID: "x", Algorithm: "RS256", Public: &rsa1k.PublicKey}); err == nil {
		t.Fatal("1024-bit static key accepted")
	}
}

func TestErrNoUsableKey(t *testing.T) {
	keys()
	weak, _ := json.Marshal(map[string]any{"keys": []any{rsaJWK("weak", &rsa1k.PublicKey, nil)}})
	good, _ := json.Marshal(map[string]any{"keys": []any{ecJWK("ok", &p256.PublicKey, nil)}})
	tests := []struct {
		name      string
		format    Format
		doc       string
		wantNoKey bool // errors.Is(err, ErrNoUsableKey)
		wantErr   bool
	}{
		{"empty key set", FormatJWKS, `{"keys":[]}`, true, true},
		{"every key skipped", FormatJWKS, string(weak), true, true},
		{"only a symmetric key", FormatJWKS, `{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`, true, true},
		{"usable key", FormatJWKS, string(good), false, false},
		{"not JSON", FormatJWKS, `<html>`, false, true},
		{"no keys array", FormatJWKS, `{}`, false, true},
		{"keys not an array", FormatJWKS, `{"keys":"x"}`, false, true},
		{"empty certificate map", FormatX509Map, `{}`, true, true},
		{"unparsable certificate", FormatX509Map, `{"k":"not a PEM"}`, true, true},
		{"certificate map not an object", FormatX509Map, `[]`, false, true},
		{"unknown format", Format(9), `{}`, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Parse(tt.format, []byte(tt.doc))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error: %v", err, tt.wantErr)
			}
			if got := errors.Is(err, ErrNoUsableKey); got != tt.wantNoKey {
				t.Fatalf("errors.Is(%v, ErrNoUsableKey) = %v, want %v", err, got, tt.wantNoKey)
			}
			if tt.wantNoKey && !strings.Contains(err.Error(), "holds no usable key") {
				t.Fatalf("message %q", err)
			}
		})
	}
	// Through the HTTP fetcher, as the supabase adapter sees it.
	srv := newJWKSServer(t)
	_, _, err := NewHTTPFetcher(srv.URL, FormatJWKS, nil).Fetch(context.Background())
	if !errors.Is(err, ErrNoUsableKey) {
		t.Fatalf("fetcher over an empty set: %v", err)
	}
	srv.mode.Store("garbage")
	if _, _, err := NewHTTPFetcher(srv.URL, FormatJWKS, nil).Fetch(context.Background()); err == nil || errors.Is(err, ErrNoUsableKey) {
		t.Fatalf("fetcher over garbage: %v", err)
	}
}

func edJWK(kid string, extra map[string]any) map[string]any {
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	m := map[string]any{"kty": "OKP", "crv": "Ed25519", "kid": kid, "x": b64enc.EncodeToString(pub)}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

// TestEd25519KeyAcceptsBothNames: a JWK published as alg "Ed25519"
// (RFC 9864) or "EdDSA" verifies tokens naming either, and nothing else.
func TestEd25519KeyAcceptsBothNames(t *testing.T) {
	for _, keyAlg := range []string{"Ed25519", "EdDSA"} {
		doc, _ := json.Marshal(map[string]any{"keys": []any{edJWK("d", map[string]any{"alg": keyAlg})}})
		ks, _, err := ParseJWKS(doc)
		if err != nil || len(ks) != 1 {
			t.Fatalf("%s: %v", keyAlg, err)
		}
		s, err := NewStatic(ks...)
		if err != nil {
			t.Fatal(err)
		}
		for alg, want := range map[string]bool{"Ed25519": true, "EdDSA": true, "ES256": false, "RS256": false, "Ed448": false} {
			if _, err := s.Lookup(context.Background(), "d", alg); (err == nil) != want {
				t.Errorf("key %s, token alg %s: %v, want found=%v", keyAlg, alg, err, want)
			}
		}
	}
	rsaKey := Key{ID: "r", Algorithm: "RS256", Public: &rsa2k.PublicKey}
	if rsaKey.Accepts("Ed25519") || rsaKey.Accepts("PS256") {
		t.Fatal("an RSA key answers to another algorithm")
	}
}
