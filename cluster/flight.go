package cluster

import (
	"context"
	"strings"
	"time"

	"github.com/authport/authport"
)

// Refresh flight timing: a result is reused for RefreshGrace, as the
// in-process single flight does; a running flight is claimed for
// flightTTL, past the HTTP layer's 30 s bound on one refresh, so that a
// crashed instance's claim ends by itself.
const (
	RefreshGrace = 30 * time.Second
	flightTTL    = 35 * time.Second
	pollEvery    = 20 * time.Millisecond
)

// RefreshOnce implements authport.Cluster: refresh runs on exactly one
// instance for key; the others wait for its stored result (bounded by ctx)
// and reuse it. A failure of kind ErrProviderUnavailable is forgotten at
// once so that the next request retries; any other failure is remembered,
// as its kind only, for RefreshGrace. A store that cannot be reached is
// ErrProviderUnavailable: no instance refreshes alone.
func (c *Cluster) RefreshOnce(ctx context.Context, key string, refresh func(context.Context) (string, error)) (string, error) {
	key = "rf:" + key
	for {
		won, err := c.store.ClaimFlight(ctx, key, flightTTL)
		if err != nil {
			return "", unavailable(err)
		}
		if won {
			return c.lead(ctx, key, refresh)
		}
		res, found, err := c.await(ctx, key)
		if err != nil {
			return "", unavailable(err)
		}
		if found {
			return decodeResult(res)
		}
		// The flight was abandoned (its provider call failed transiently)
		// or its claim expired: try to run it here.
	}
}

func (c *Cluster) lead(ctx context.Context, key string, refresh func(context.Context) (string, error)) (string, error) {
	sealed, err := refresh(ctx)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if authport.KindOf(err) == authport.ErrProviderUnavailable {
		if aerr := c.store.AbandonFlight(sctx, key); aerr != nil {
			c.o.Logger.Warn("cluster: cannot release a refresh flight; it ends by itself", "err", aerr)
		}
		return sealed, err
	}
	if ferr := c.store.FinishFlight(sctx, key, encodeResult(sealed, err), RefreshGrace); ferr != nil {
		// The others keep waiting for a result that will not come and
		// answer 503 when their requests end; none of them replays the
		// refresh token while the claim holds.
		c.o.Logger.Warn("cluster: cannot store a refresh result", "err", ferr)
	}
	return sealed, err
}

// await polls key's flight until it has a result or disappears.
func (c *Cluster) await(ctx context.Context, key string) ([]byte, bool, error) {
	t := time.NewTicker(pollEvery)
	defer t.Stop()
	for {
		res, found, err := c.store.Flight(ctx, key)
		if err != nil || !found || res != nil {
			return res, found, err
		}
		select {
		case <-ctx.Done():
			return nil, false, ctx.Err()
		case <-t.C:
		}
	}
}

// Results are "ok:" and the sealed cookie value, or "err:" and the name of
// the failure's kind: never a token in clear, never an error's text.
func encodeResult(sealed string, err error) []byte {
	if err != nil {
		k := authport.KindOf(err)
		if k == nil {
			k = authport.ErrProviderUnavailable
		}
		return []byte("err:" + k.Error())
	}
	return []byte("ok:" + sealed)
}

func decodeResult(b []byte) (string, error) {
	s := string(b)
	if v, ok := strings.CutPrefix(s, "ok:"); ok {
		return v, nil
	}
	name, _ := strings.CutPrefix(s, "err:")
	for _, k := range authport.Kinds {
		if k.Error() == name {
			return "", authport.NewError(k, "", "refresh", "the refresh failed on another instance")
		}
	}
	return "", authport.NewError(authport.ErrProviderUnavailable, "", "refresh", "unreadable refresh result from another instance")
}

func unavailable(err error) error {
	return authport.WrapError(authport.ErrProviderUnavailable, "", "refresh", err)
}
