package auth0

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/authport/authport/internal/httpclient"
	"github.com/authport/authport/internal/keyset"
	"github.com/authport/authport/internal/safetext"
)

// discoveryFetcher is the key-set cache's Fetcher: on first use it reads
// the tenant's OpenID discovery document for jwks_uri, then fetches the
// JWKS from there. A discovered jwks_uri is kept for the process's life;
// a failed discovery is retried on the next fetch.
type discoveryFetcher struct {
	a *Authenticator

	mu      sync.Mutex
	jwksURL string
	http    *keyset.HTTPFetcher
}

// Fetch implements keyset.Fetcher.
func (d *discoveryFetcher) Fetch(ctx context.Context) ([]keyset.Key, time.Duration, error) {
	d.mu.Lock()
	f := d.http
	u := d.jwksURL
	d.mu.Unlock()
	if f == nil {
		if u == "" {
			var err error
			if u, err = d.discover(ctx); err != nil {
				return nil, 0, err
			}
		}
		f = keyset.NewHTTPFetcher(u, keyset.FormatJWKS, d.a.client)
		d.mu.Lock()
		d.jwksURL, d.http = u, f
		d.mu.Unlock()
	}
	return f.Fetch(ctx)
}

// discoveryDoc is the part of Auth0's discovery document the adapter reads.
type discoveryDoc struct {
	Issuer  string `json:"issuer"`
	JWKSURI string `json:"jwks_uri"`
}

func (d *discoveryFetcher) discover(ctx context.Context) (string, error) {
	a := d.a
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.base+"/.well-known/openid-configuration", nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := a.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("auth0: discovery failed: %w", safetext.Redact(err))
	}
	defer resp.Body.Close()
	body, err := httpclient.ReadBody(resp.Body, 0)
	switch {
	case errors.Is(err, httpclient.ErrBodyTooLarge):
		return "", errors.New("auth0: discovery document over 1 MiB")
	case err != nil:
		return "", fmt.Errorf("auth0: reading the discovery document: %w", safetext.Redact(err))
	case resp.StatusCode != http.StatusOK:
		return "", fmt.Errorf("auth0: discovery answered %d (is AUTH0_DOMAIN right?)", resp.StatusCode)
	}
	var doc discoveryDoc
	if err := json.Unmarshal(body, &doc); err != nil {
		return "", errors.New("auth0: discovery document is not JSON")
	}
	if doc.Issuer != a.issuer {
		return "", fmt.Errorf("auth0: discovery names issuer %q, not the expected %q", doc.Issuer, a.issuer)
	}
	ju, err := url.Parse(doc.JWKSURI)
	if err != nil || ju.Scheme+"://"+ju.Host != a.base || ju.User != nil {
		return "", errors.New("auth0: discovery jwks_uri is not on the tenant's domain")
	}
	return doc.JWKSURI, nil
}
