package clerk

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
	EnvSecretKey         = "CLERK_SECRET_KEY"
	EnvPublishableKey    = "CLERK_PUBLISHABLE_KEY"
	EnvJWTKey            = "CLERK_JWT_KEY"
	EnvAuthorizedParties = "CLERK_AUTHORIZED_PARTIES"
	EnvProxyURL          = "CLERK_PROXY_URL"
	EnvAPIURL            = "CLERK_API_URL"
	EnvSignInURL         = "CLERK_SIGN_IN_URL"
	EnvSignUpURL         = "CLERK_SIGN_UP_URL"
	EnvRolesClaim        = "CLERK_ROLES_CLAIM"
	EnvPermissionsClaim  = "CLERK_PERMISSIONS_CLAIM"
)

// ConfigFromEnv reads a Config from Clerk's conventional environment
// variables through getenv (os.Getenv when nil). Nothing is validated
// here (New does that), so the error is always nil today; it is there so
// that every adapter's ConfigFromEnv has the same signature.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	return Config{
		SecretKey:         getenv(EnvSecretKey),
		PublishableKey:    getenv(EnvPublishableKey),
		JWTKey:            getenv(EnvJWTKey),
		AuthorizedParties: config.List(getenv(EnvAuthorizedParties)),
		ProxyURL:          strings.TrimSpace(getenv(EnvProxyURL)),
		APIURL:            strings.TrimSpace(getenv(EnvAPIURL)),
		SignInURL:         strings.TrimSpace(getenv(EnvSignInURL)),
		SignUpURL:         strings.TrimSpace(getenv(EnvSignUpURL)),
		RolesClaim:        getenv(EnvRolesClaim),
		PermissionsClaim:  getenv(EnvPermissionsClaim),
	}, nil
}

func openEnv(ctx context.Context, getenv func(string) string) (authport.Authenticator, error) {
	cfg, err := ConfigFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	return New(ctx, cfg)
}

// openURL opens clerk://<frontend-api-host>?authorized_parties=…: the host
// is the instance's Frontend API (clerk.example.com or
// <slug>.clerk.accounts.dev), or give publishable_key=… instead. Secrets
// stay out of the URL: the secret key and the JWT key are read from
// CLERK_SECRET_KEY and CLERK_JWT_KEY (a secret_key parameter is accepted
// for tests). Other parameters: api_url, proxy_url, sign_in_url,
// sign_up_url, roles_claim, permissions_claim, leeway (a Go duration).
func openURL(ctx context.Context, u *url.URL) (authport.Authenticator, error) {
	q := u.Query()
	cfg, err := ConfigFromEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	if v := q.Get("secret_key"); v != "" {
		cfg.SecretKey = v
	}
	switch {
	case q.Get("publishable_key") != "":
		cfg.PublishableKey = q.Get("publishable_key")
	case u.Host != "":
		if !validHost(u.Host) {
			return nil, misconfigured("the clerk:// URL's host must be the Frontend API host")
		}
		cfg.PublishableKey = PublishableKey(u.Host, strings.HasPrefix(cfg.SecretKey, "sk_live_"))
	}
	if v := q.Get("authorized_parties"); v != "" {
		cfg.AuthorizedParties = config.List(v)
	}
	for name, dst := range map[string]*string{
		"api_url": &cfg.APIURL, "proxy_url": &cfg.ProxyURL, "sign_in_url": &cfg.SignInURL,
		"sign_up_url": &cfg.SignUpURL, "roles_claim": &cfg.RolesClaim, "permissions_claim": &cfg.PermissionsClaim,
	} {
		if v := q.Get(name); v != "" {
			*dst = v
		}
	}
	if v := q.Get("leeway"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return nil, misconfigured("the clerk:// URL's leeway must be a Go duration such as 5s")
		}
		cfg.Leeway = d
	}
	return New(ctx, cfg)
}
