package auth0

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/authport/authport"
)

func init() {
	authport.Register(Name, openURL, openEnv)
}

// The environment variables ConfigFromEnv reads.
const (
	EnvDomain            = "AUTH0_DOMAIN"
	EnvAudience          = "AUTH0_AUDIENCE"
	EnvClientID          = "AUTH0_CLIENT_ID"
	EnvClientSecret      = "AUTH0_CLIENT_SECRET"
	EnvCallbackURL       = "AUTH0_CALLBACK_URL"
	EnvRolesClaim        = "AUTH0_ROLES_CLAIM"
	EnvEmailClaim        = "AUTH0_EMAIL_CLAIM"
	EnvAuthorizedParties = "AUTH0_AUTHORIZED_PARTIES"
	EnvRealm             = "AUTH0_REALM"
	EnvScopes            = "AUTH0_SCOPES"
	EnvIssuer            = "AUTH0_ISSUER"
	EnvAlgorithms        = "AUTH0_ALGORITHMS"
	EnvJWKSURL           = "AUTH0_JWKS_URL"
	EnvTokenLifetime     = "AUTH0_TOKEN_LIFETIME"
	EnvLeeway            = "AUTH0_LEEWAY"
	EnvAllowSignUp       = "AUTH0_ALLOW_SIGNUP"
	EnvInsecure          = "AUTH0_INSECURE"
)

// ConfigFromEnv reads a Config from the AUTH0_* variables through getenv
// (os.Getenv in production). A malformed value is an error of kind
// ErrMisconfigured naming the variable, never quoting its value; missing
// required values are reported by New.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	get := func(k string) string { return strings.TrimSpace(getenv(k)) }
	c := Config{
		Domain:            get(EnvDomain),
		Audiences:         []string{get(EnvAudience)},
		ClientID:          get(EnvClientID),
		ClientSecret:      get(EnvClientSecret),
		CallbackURL:       get(EnvCallbackURL),
		RolesClaim:        get(EnvRolesClaim),
		EmailClaim:        get(EnvEmailClaim),
		AuthorizedParties: []string{get(EnvAuthorizedParties)},
		Realm:             get(EnvRealm),
		Scopes:            []string{get(EnvScopes)},
		Issuer:            get(EnvIssuer),
		Algorithms:        []string{get(EnvAlgorithms)},
		JWKSURL:           get(EnvJWKSURL),
	}
	var err error
	if c.TokenLifetime, err = duration(EnvTokenLifetime, get(EnvTokenLifetime)); err != nil {
		return c, err
	}
	if c.Leeway, err = duration(EnvLeeway, get(EnvLeeway)); err != nil {
		return c, err
	}
	if c.AllowSignUp, err = boolean(EnvAllowSignUp, get(EnvAllowSignUp)); err != nil {
		return c, err
	}
	if c.Insecure, err = boolean(EnvInsecure, get(EnvInsecure)); err != nil {
		return c, err
	}
	return c, nil
}

// ConfigFromURL reads a Config from auth0://<domain>?audience=…&client_id=…
// (query parameters named in Config's field docs). Errors never repeat the
// URL, which may hold the client secret.
func ConfigFromURL(u *url.URL) (Config, error) {
	if u == nil || u.Host == "" {
		return Config{}, misconfigured("the URL must name the tenant: auth0://<domain>?audience=<api>")
	}
	if u.Path != "" && u.Path != "/" {
		return Config{}, misconfigured("the auth0:// URL takes no path")
	}
	q := u.Query()
	known := map[string]bool{}
	one := func(k string) string { known[k] = true; return strings.TrimSpace(q.Get(k)) }
	all := func(k string) []string { known[k] = true; return q[k] }
	c := Config{
		Domain:            u.Host,
		Audiences:         all("audience"),
		ClientID:          one("client_id"),
		ClientSecret:      one("client_secret"),
		CallbackURL:       one("callback_url"),
		RolesClaim:        one("roles_claim"),
		EmailClaim:        one("email_claim"),
		AuthorizedParties: all("authorized_party"),
		Realm:             one("realm"),
		Scopes:            all("scope"),
		Issuer:            one("issuer"),
		Algorithms:        all("algorithms"),
		JWKSURL:           one("jwks_url"),
	}
	var err error
	if c.TokenLifetime, err = duration("token_lifetime", one("token_lifetime")); err != nil {
		return c, err
	}
	if c.Leeway, err = duration("leeway", one("leeway")); err != nil {
		return c, err
	}
	if c.AllowSignUp, err = boolean("allow_signup", one("allow_signup")); err != nil {
		return c, err
	}
	if c.Insecure, err = boolean("insecure", one("insecure")); err != nil {
		return c, err
	}
	for k := range q {
		if !known[k] {
			return c, misconfigured("unknown auth0:// URL parameter " + strconv.Quote(k))
		}
	}
	return c, nil
}

func duration(name, v string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, misconfigured(name + " must be a Go duration such as 10m")
	}
	return d, nil
}

func boolean(name, v string) (bool, error) {
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, misconfigured(name + " must be true or false")
	}
	return b, nil
}

func openEnv(ctx context.Context, getenv func(string) string) (authport.Authenticator, error) {
	c, err := ConfigFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	return New(ctx, c)
}

func openURL(ctx context.Context, u *url.URL) (authport.Authenticator, error) {
	c, err := ConfigFromURL(u)
	if err != nil {
		return nil, err
	}
	return New(ctx, c)
}
