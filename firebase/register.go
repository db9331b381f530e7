package firebase

import (
	"context"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/authport/authport"
	"github.com/authport/authport/internal/config"
)

func init() {
	authport.Register(Name, openURL, openEnv)
}

// The environment variables FromEnv reads.
const (
	EnvProjectID        = "FIREBASE_PROJECT_ID"
	EnvAPIKey           = "FIREBASE_API_KEY"
	EnvCredentials      = "GOOGLE_APPLICATION_CREDENTIALS"
	EnvEmulatorHost     = "FIREBASE_AUTH_EMULATOR_HOST"
	EnvSessionCookieTTL = "FIREBASE_SESSION_COOKIE_TTL"
	EnvCookieName       = "FIREBASE_COOKIE_NAME"
	EnvRolesClaims      = "FIREBASE_ROLES_CLAIMS"
	EnvPermissionsClaim = "FIREBASE_PERMISSIONS_CLAIM"
	EnvOrgClaim         = "FIREBASE_ORG_CLAIM"
)

// ConfigFromEnv reads a Config from the environment variables above through
// getenv (os.Getenv when nil). A malformed value is an ErrMisconfigured
// error naming the variable, never quoting it.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	get := func(k string) string { return strings.TrimSpace(getenv(k)) }
	cfg := Config{
		ProjectID:        get(EnvProjectID),
		APIKey:           get(EnvAPIKey),
		CredentialsFile:  get(EnvCredentials),
		EmulatorHost:     get(EnvEmulatorHost),
		CookieName:       get(EnvCookieName),
		RolesClaims:      config.List(getenv(EnvRolesClaims)),
		PermissionsClaim: get(EnvPermissionsClaim),
		OrgClaim:         get(EnvOrgClaim),
	}
	if v := get(EnvSessionCookieTTL); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return Config{}, misconfigured(EnvSessionCookieTTL + " must be a duration such as 336h")
		}
		cfg.TokenLifetime = d
	}
	if cfg.ProjectID == "" {
		return Config{}, misconfigured(EnvProjectID + " is not set")
	}
	return cfg, nil
}

func openEnv(ctx context.Context, getenv func(string) string) (authport.Authenticator, error) {
	cfg, err := ConfigFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	return New(ctx, cfg)
}

// openURL configures the adapter from
// firebase://<project-id>?api_key=…&session_cookie_ttl=336h&emulator_host=127.0.0.1:9099
// with credentials_file, cookie_name, roles_claims, permissions_claim,
// org_claim and leeway as optional parameters.
func openURL(ctx context.Context, u *url.URL) (authport.Authenticator, error) {
	if u.Host == "" || u.User != nil || u.Fragment != "" || (u.Path != "" && u.Path != "/") {
		return nil, misconfigured("the URL must be firebase://<project-id>?api_key=…")
	}
	q := u.Query()
	known := map[string]bool{"api_key": true, "credentials_file": true, "emulator_host": true, "session_cookie_ttl": true,
		"cookie_name": true, "roles_claims": true, "permissions_claim": true, "org_claim": true, "leeway": true}
	for k := range q {
		if !known[k] {
			return nil, misconfigured("unknown URL parameter " + k)
		}
	}
	cfg := Config{
		ProjectID:        u.Host,
		APIKey:           q.Get("api_key"),
		CredentialsFile:  q.Get("credentials_file"),
		EmulatorHost:     q.Get("emulator_host"),
		CookieName:       q.Get("cookie_name"),
		RolesClaims:      config.List(q.Get("roles_claims")),
		PermissionsClaim: q.Get("permissions_claim"),
		OrgClaim:         q.Get("org_claim"),
	}
	for name, dst := range map[string]*time.Duration{"session_cookie_ttl": &cfg.TokenLifetime, "leeway": &cfg.Leeway} {
		if v := q.Get(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return nil, misconfigured(name + " must be a duration such as 336h")
			}
			*dst = d
		}
	}
	return New(ctx, cfg)
}
