package oidc

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/authport/authport"
	"github.com/authport/authport/internal/config"
)

func init() {
	authport.Register(Name, openURL, openEnv)
}

// openEnv configures the adapter from OIDC_* variables.
func openEnv(ctx context.Context, getenv func(string) string) (authport.Authenticator, error) {
	cfg := Config{
		Issuer:            strings.TrimSpace(getenv("OIDC_ISSUER")),
		Audiences:         config.List(getenv("OIDC_AUDIENCE")),
		ClientID:          strings.TrimSpace(getenv("OIDC_CLIENT_ID")),
		ClientSecret:      strings.TrimSpace(getenv("OIDC_CLIENT_SECRET")),
		AuthorizedParties: config.List(getenv("OIDC_AUTHORIZED_PARTIES")),
		RolesClaim:        strings.TrimSpace(getenv("OIDC_ROLES_CLAIM")),
		PermissionsClaim:  strings.TrimSpace(getenv("OIDC_PERMISSIONS_CLAIM")),
		OrgClaim:          strings.TrimSpace(getenv("OIDC_ORG_CLAIM")),
		Scopes:            config.List(getenv("OIDC_SCOPES")),
	}
	if cfg.Issuer == "" {
		return nil, misconfigured(Name, "OIDC_ISSUER is not set")
	}
	if len(cfg.Audiences) == 0 {
		return nil, misconfigured(Name, "OIDC_AUDIENCE is not set")
	}
	return New(ctx, cfg)
}

// openURL configures the adapter from
// oidc://host/path?audience=…&client_id=…&client_secret=…&insecure=1.
func openURL(ctx context.Context, u *url.URL) (authport.Authenticator, error) {
	if u.Host == "" || u.User != nil || u.Fragment != "" {
		return nil, misconfigured(Name, "the URL must be oidc://issuer-host/path?audience=…")
	}
	q := u.Query()
	scheme := "https"
	switch q.Get("insecure") {
	case "", "0", "false":
	case "1", "true":
		if !config.IsLoopbackHost(u.Hostname()) {
			return nil, misconfigured(Name, "insecure=1 is allowed only for a loopback issuer")
		}
		scheme = "http"
	default:
		return nil, misconfigured(Name, "insecure must be 1 or 0")
	}
	cfg := Config{
		Issuer:            scheme + "://" + u.Host + u.EscapedPath(),
		Audiences:         config.List(q.Get("audience")),
		ClientID:          q.Get("client_id"),
		ClientSecret:      q.Get("client_secret"),
		AuthorizedParties: config.List(q.Get("authorized_parties")),
		RolesClaim:        q.Get("roles_claim"),
		PermissionsClaim:  q.Get("permissions_claim"),
		OrgClaim:          q.Get("org_claim"),
		Scopes:            config.List(q.Get("scopes")),
	}
	if l := q.Get("leeway"); l != "" {
		d, err := time.ParseDuration(l)
		if err != nil || d < 0 {
			return nil, misconfigured(Name, "leeway must be a duration such as 30s")
		}
		cfg.Leeway = d
	}
	known := map[string]bool{"audience": true, "client_id": true, "client_secret": true, "authorized_parties": true,
		"roles_claim": true, "permissions_claim": true, "org_claim": true, "scopes": true, "leeway": true, "insecure": true}
	for k := range q {
		if !known[k] {
			return nil, misconfigured(Name, "unknown URL parameter "+k)
		}
	}
	if len(cfg.Audiences) == 0 {
		return nil, misconfigured(Name, "the URL needs ?audience=…")
	}
	return New(ctx, cfg)
}
