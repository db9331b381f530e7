package supabase

import (
	"context"
	"errors"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/authport/authport"
	"github.com/authport/authport/internal/config"
)

// The environment variables the adapter reads. The first four are
// Supabase's own conventional names; the AUTHPORT_SUPABASE_* ones are
// authport's.
const (
	EnvURL              = "SUPABASE_URL"
	EnvAnonKey          = "SUPABASE_ANON_KEY"
	EnvPublishableKey   = "SUPABASE_PUBLISHABLE_KEY" // read when SUPABASE_ANON_KEY is unset
	EnvServiceRoleKey   = "SUPABASE_SERVICE_ROLE_KEY"
	EnvSecretKey        = "SUPABASE_SECRET_KEY" // read when SUPABASE_SERVICE_ROLE_KEY is unset
	EnvJWTSecret        = "SUPABASE_JWT_SECRET"
	EnvSigning          = "AUTHPORT_SUPABASE_SIGNING"
	EnvRolesClaim       = "AUTHPORT_SUPABASE_ROLES_CLAIM"
	EnvPermissionsClaim = "AUTHPORT_SUPABASE_PERMISSIONS_CLAIM"
	EnvOrgClaim         = "AUTHPORT_SUPABASE_ORG_CLAIM"
	EnvOAuthProvider    = "AUTHPORT_SUPABASE_OAUTH_PROVIDER"
	EnvOAuthScopes      = "AUTHPORT_SUPABASE_OAUTH_SCOPES"
)

func init() {
	authport.Register(Name, openURL, openEnv)
}

func openEnv(ctx context.Context, getenv func(string) string) (authport.Authenticator, error) {
	cfg, err := ConfigFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	return New(ctx, cfg)
}

// ConfigFromEnv reads a Config from the SUPABASE_* and AUTHPORT_SUPABASE_*
// variables through getenv (os.Getenv when nil). Nothing is validated
// here: New does that.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	first := func(names ...string) string {
		for _, n := range names {
			if v := strings.TrimSpace(getenv(n)); v != "" {
				return v
			}
		}
		return ""
	}
	cfg := Config{
		URL:              first(EnvURL),
		AnonKey:          first(EnvAnonKey, EnvPublishableKey),
		ServiceRoleKey:   first(EnvServiceRoleKey, EnvSecretKey),
		JWTSecret:        getenv(EnvJWTSecret),
		Signing:          Signing(strings.ToLower(first(EnvSigning))),
		RolesClaim:       first(EnvRolesClaim),
		PermissionsClaim: first(EnvPermissionsClaim),
		OrgClaim:         first(EnvOrgClaim),
		OAuthProvider:    first(EnvOAuthProvider),
		OAuthScopes:      first(EnvOAuthScopes),
	}
	return cfg, nil
}

// urlParams are the query parameters OpenURL understands.
var urlParams = []string{"anon_key", "service_role_key", "jwt_secret", "signing", "roles_claim",
	"permissions_claim", "org_claim", "oauth_provider", "oauth_scopes", "audience", "issuer", "auth_url", "jwt_expiry"}

// openURL opens "supabase://<ref>.supabase.co?anon_key=...": the host (and
// path) become SUPABASE_URL over https, or http for a loopback host.
func openURL(ctx context.Context, u *url.URL) (authport.Authenticator, error) {
	if u.Host == "" {
		return nil, misconfigured("adapter URL has no host (want supabase://<ref>.supabase.co?anon_key=...)")
	}
	q := u.Query()
	for k := range q {
		if !slices.Contains(urlParams, k) {
			return nil, misconfigured("adapter URL has an unknown parameter " + strconv.Quote(safeParam(k)))
		}
	}
	scheme := "https://"
	if config.IsLoopbackHost(u.Hostname()) {
		scheme = "http://"
	}
	cfg := Config{
		URL:              scheme + u.Host + u.EscapedPath(),
		AnonKey:          q.Get("anon_key"),
		ServiceRoleKey:   q.Get("service_role_key"),
		JWTSecret:        q.Get("jwt_secret"),
		Signing:          Signing(strings.ToLower(q.Get("signing"))),
		RolesClaim:       q.Get("roles_claim"),
		PermissionsClaim: q.Get("permissions_claim"),
		OrgClaim:         q.Get("org_claim"),
		OAuthProvider:    q.Get("oauth_provider"),
		OAuthScopes:      q.Get("oauth_scopes"),
		Audiences:        q["audience"],
		Issuer:           q.Get("issuer"),
		AuthURL:          q.Get("auth_url"),
	}
	if s := q.Get("jwt_expiry"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return nil, misconfigured("adapter URL parameter jwt_expiry is not a positive duration")
		}
		cfg.TokenLifetime = d
	}
	a, err := New(ctx, cfg)
	if err != nil {
		// Name the URL parameter rather than the variable.
		var ae *authport.Error
		if errors.As(err, &ae) {
			r := ae.Reason
			for env, p := range map[string]string{EnvAnonKey: "anon_key", EnvJWTSecret: "jwt_secret", EnvSigning: "signing", EnvURL: "the adapter URL's host"} {
				r = strings.ReplaceAll(r, env, p)
			}
			return nil, misconfigured(r)
		}
		return nil, err
	}
	return a, nil
}
