package workos

import (
	"context"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/authport/authport"
	"github.com/authport/authport/internal/config"
)

// The environment variables ConfigFromEnv reads.
const (
	EnvAPIKey         = "WORKOS_API_KEY"
	EnvClientID       = "WORKOS_CLIENT_ID"
	EnvRedirectURI    = "WORKOS_REDIRECT_URI"
	EnvBaseURL        = "WORKOS_BASE_URL"
	EnvAPIHostname    = "WORKOS_API_HOSTNAME"
	EnvAPIPort        = "WORKOS_API_PORT"
	EnvAPIHTTPS       = "WORKOS_API_HTTPS"
	EnvJWKSURL        = "WORKOS_JWKS_URL"
	EnvIssuers        = "WORKOS_ISSUERS"
	EnvAudience       = "WORKOS_AUDIENCE"
	EnvAccessTokenTTL = "WORKOS_ACCESS_TOKEN_TTL"
	EnvCookiePassword = "WORKOS_COOKIE_PASSWORD"
	// EnvTOTPIssuer names the application in users' authenticator apps
	// when they enrol MFA through authport (ours: WorkOS has no variable).
	EnvTOTPIssuer = "AUTHPORT_WORKOS_TOTP_ISSUER"
)

// ConfigFromEnv reads the WORKOS_* variables through getenv. A malformed
// value is an error of kind authport.ErrMisconfigured naming the variable;
// missing required values are reported by New.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	get := func(k string) string { return strings.TrimSpace(getenv(k)) }
	c := Config{
		APIKey:         get(EnvAPIKey),
		ClientID:       get(EnvClientID),
		RedirectURI:    get(EnvRedirectURI),
		BaseURL:        get(EnvBaseURL),
		JWKSURL:        get(EnvJWKSURL),
		Issuers:        config.List(getenv(EnvIssuers)),
		Audiences:      config.List(getenv(EnvAudience)),
		CookiePassword: getenv(EnvCookiePassword),
		TOTPIssuer:     get(EnvTOTPIssuer),
	}
	if c.BaseURL == "" {
		if host := get(EnvAPIHostname); host != "" {
			scheme := "https"
			switch strings.ToLower(get(EnvAPIHTTPS)) {
			case "", "true", "1":
			case "false", "0":
				scheme = "http"
			default:
				return Config{}, misconfigured(EnvAPIHTTPS + " must be true or false")
			}
			hostport := host
			if p := get(EnvAPIPort); p != "" {
				if n, err := strconv.Atoi(p); err != nil || n <= 0 || n > 65535 {
					return Config{}, misconfigured(EnvAPIPort + " is not a port number")
				}
				hostport = net.JoinHostPort(host, p)
			}
			c.BaseURL = scheme + "://" + hostport
		}
	}
	if v := get(EnvAccessTokenTTL); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return Config{}, misconfigured(EnvAccessTokenTTL + " is not a positive Go duration such as 5m")
		}
		c.TokenLifetime = d
	}
	return c, nil
}

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

// openURL opens workos://<client_id>?redirect_uri=...&base_url=...
func openURL(ctx context.Context, u *url.URL) (authport.Authenticator, error) {
	if u.Path != "" && u.Path != "/" || u.User != nil || u.Fragment != "" {
		return nil, misconfigured("the workos URL takes only a client id and query parameters: workos://<client_id>?...")
	}
	q := u.Query()
	cfg := Config{ClientID: u.Host}
	for k, vs := range q {
		v := ""
		if len(vs) > 0 {
			v = vs[len(vs)-1]
		}
		switch k {
		case "client_id":
			if cfg.ClientID != "" && cfg.ClientID != v {
				return nil, misconfigured("the workos URL names two different client ids")
			}
			cfg.ClientID = v
		case "api_key":
			cfg.APIKey = v
		case "redirect_uri":
			cfg.RedirectURI = v
		case "base_url":
			cfg.BaseURL = v
		case "jwks_url":
			cfg.JWKSURL = v
		case "issuer":
			for _, v := range vs {
				cfg.Issuers = append(cfg.Issuers, config.List(v)...)
			}
		case "audience":
			for _, v := range vs {
				cfg.Audiences = append(cfg.Audiences, config.List(v)...)
			}
		case "access_token_ttl":
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return nil, misconfigured("access_token_ttl in the workos URL is not a positive Go duration")
			}
			cfg.TokenLifetime = d
		default:
			return nil, misconfigured("unknown parameter " + strconv.Quote(k) + " in the workos URL")
		}
	}
	if cfg.APIKey == "" {
		cfg.APIKey = os.Getenv(EnvAPIKey)
	}
	cfg.CookiePassword = os.Getenv(EnvCookiePassword)
	return New(ctx, cfg)
}
