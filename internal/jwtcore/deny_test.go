package jwtcore

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authport/authport"
	"github.com/authport/authport/internal/keyset"
)

// testBus is an authport.RevocationBus that records what was published.
type testBus struct {
	synced atomic.Bool
	mu     sync.Mutex
	out    []authport.Revocation
}

func (b *testBus) Publish(r authport.Revocation) {
	b.mu.Lock()
	b.out = append(b.out, r)
	b.mu.Unlock()
}

func (b *testBus) Synced() bool { return b.synced.Load() }

func userVerifier(t *testing.T, now func() time.Time) *Verifier {
	testKeys()
	src, err := keyset.NewStatic(keyset.Key{ID: "rsa", Algorithm: "RS256", Public: &rsaKey.PublicKey})
	if err != nil {
		t.Fatal(err)
	}
	v, err := New(Options{Provider: "test", Clock: now, ToSession: func(c *Claims) (*authport.Session, error) {
		return &authport.Session{Issuer: c.Issuer, UserID: c.Subject, TokenID: c.JTI, SessionID: c.String("sid"), IssuedAt: c.IssuedAt, ExpiresAt: c.ExpiresAt}, nil
	}}, Policy{Issuer: iss, Audiences: []string{"api"}, Keys: src})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestDenyListShared(t *testing.T) {
	testKeys()
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	ctx := context.Background()
	sign := func(c map[string]any) string {
		tok, err := Sign("RS256", rsaKey, map[string]any{"kid": "rsa"}, c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	older := sign(map[string]any{"iss": iss, "aud": "api", "sub": "u1", "iat": now.Add(-time.Second).Unix(), "exp": now.Add(5 * time.Minute).Unix(), "jti": "a", "sid": "s1"})
	same := sign(map[string]any{"iss": iss, "aud": "api", "sub": "u1", "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "jti": "b", "sid": "s2"})
	other := sign(map[string]any{"iss": iss, "aud": "api", "sub": "u2", "iat": now.Add(-time.Hour).Unix(), "exp": now.Add(5 * time.Minute).Unix(), "jti": "c", "sid": "s3"})

	cases := []struct {
		name   string
		deny   func(v *Verifier)
		remote authport.Revocation // applied with Deny when deny is nil
		want   map[string]*authport.Kind
	}{
		{name: "user before", deny: func(v *Verifier) { v.DenyUser("u1", now, now.Add(time.Hour)) },
			want: map[string]*authport.Kind{older: authport.ErrRevoked, same: nil, other: nil}},
		{name: "session", deny: func(v *Verifier) { v.DenySession("s2", now.Add(time.Minute)) },
			want: map[string]*authport.Kind{older: nil, same: authport.ErrRevoked, other: nil}},
		{name: "token", deny: func(v *Verifier) { v.DenyToken(iss, "c", now.Add(time.Minute)) },
			want: map[string]*authport.Kind{older: nil, same: nil, other: authport.ErrRevoked}},
		{name: "remote session", remote: authport.Revocation{SessionID: "s1", Until: now.Add(time.Minute)},
			want: map[string]*authport.Kind{older: authport.ErrRevoked, same: nil, other: nil}},
		{name: "remote expired entry", remote: authport.Revocation{SessionID: "s1", Until: now.Add(-time.Second)},
			want: map[string]*authport.Kind{older: nil, same: nil, other: nil}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := userVerifier(t, clock)
			bus := &testBus{}
			bus.synced.Store(true)
			v.Share(bus)
			for tok := range c.want { // cache every token first: the deny list must win over the cache
				if _, err := v.Session(ctx, tok); err != nil {
					t.Fatal(err)
				}
			}
			if c.deny != nil {
				c.deny(v)
				if len(bus.out) != 1 {
					t.Fatalf("published %d revocations, want 1", len(bus.out))
				}
			} else {
				v.Deny(c.remote)
				if len(bus.out) != 0 {
					t.Fatal("a remote revocation was published again")
				}
			}
			for tok, want := range c.want {
				_, err := v.Session(ctx, tok)
				if want == nil && err != nil || want != nil && !errors.Is(err, want) {
					t.Errorf("err %v, want %v", err, want)
				}
				s := &authport.Session{Issuer: iss}
				if vs, err := userVerifier(t, clock).Session(ctx, tok); err == nil {
					s = vs
				}
				if err := v.Check(s); want == nil && err != nil || want != nil && !errors.Is(err, want) {
					t.Errorf("Check: err %v, want %v", err, want)
				}
			}
			// Out of sync, the list cannot vouch for any token: fail closed.
			bus.synced.Store(false)
			for tok := range c.want {
				if _, err := v.Session(ctx, tok); !errors.Is(err, authport.ErrProviderUnavailable) {
					t.Errorf("out of sync: err %v, want ErrProviderUnavailable", err)
				}
			}
		})
	}
}
