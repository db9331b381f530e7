package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/authport/authport"
	"github.com/authport/authport/internal/config"
	"github.com/authport/authport/internal/httpclient"
	"github.com/authport/authport/internal/jwtcore"
	"github.com/authport/authport/internal/keyset"
	"github.com/authport/authport/internal/safetext"
)

// Name is the adapter's registered name and default Provider.
const Name = "oidc"

// Config configures an Authenticator.
type Config struct {
	// Issuer is the issuer URL, compared exactly (trailing slash
	// included) with the discovery document and every token's "iss".
	// Required (OIDC_ISSUER).
	Issuer string
	// Audiences: an access token's "aud" must contain one of them.
	// Required (OIDC_AUDIENCE).
	Audiences []string
	// ClientID and ClientSecret identify this application at the issuer;
	// they enable redirect and password sign-in, refresh, revocation and
	// introspection. ClientSecret may be empty for a public client.
	ClientID, ClientSecret string
	// AuthorizedParties, when set, requires "azp" to be one of them.
	AuthorizedParties []string
	// RolesClaim, PermissionsClaim and OrgClaim name the claims mapped to
	// Session.Roles, Permissions and OrgID (defaults "roles",
	// "permissions", "org_id"); dotted paths reach into objects.
	RolesClaim, PermissionsClaim, OrgClaim string
	// Algorithms is the signature allow-list (default: the asymmetric
	// algorithms the discovery document lists, else RS256).
	Algorithms []string
	// TokenTypes lists the accepted "typ" header values (default "JWT"
	// and "at+jwt"; an absent typ is accepted).
	TokenTypes []string
	// Scopes are requested at sign-in (default openid, email, profile,
	// and offline_access when the issuer supports it).
	Scopes []string
	// Leeway is the clock-skew allowance (default 30 s, at most 5 min).
	Leeway time.Duration
	// RevocationDelay is how long an access token of a session revoked
	// elsewhere keeps passing Verify: the issuer's access-token lifetime
	// (default 1 h). It is reported by Describe.
	RevocationDelay time.Duration
	// HTTPClient makes every request to the issuer (default: a client
	// with a 10 s timeout). Redirects to another host are refused.
	HTTPClient *http.Client
	// HTTPTimeout bounds each call to the provider (default: HTTPClient's
	// own Timeout when set, else 10 s).
	HTTPTimeout time.Duration
	// CacheSize bounds the verified-token cache (0: the default size;
	// negative: no cache).
	CacheSize int
	// Clock is the time source (default time.Now).
	Clock func() time.Time
	// Provider names the adapter in sessions and errors (default "oidc"),
	// for adapters built on this one.
	Provider string
	// Logger receives key-refresh failures (default slog.Default()).
	Logger *slog.Logger
}

// Metadata is the part of the issuer's discovery document the adapter
// uses (OpenID Connect Discovery 1.0 §3, RFC 8414).
type Metadata struct {
	// Issuer must equal Config.Issuer exactly.
	Issuer string `json:"issuer"`
	// AuthorizationEndpoint, TokenEndpoint, UserinfoEndpoint,
	// RevocationEndpoint (RFC 7009), IntrospectionEndpoint (RFC 7662) and
	// EndSessionEndpoint are the issuer's endpoints; empty when absent.
	AuthorizationEndpoint string `json:"authorization_endpoint,omitempty"`
	TokenEndpoint         string `json:"token_endpoint,omitempty"`
	UserinfoEndpoint      string `json:"userinfo_endpoint,omitempty"`
	RevocationEndpoint    string `json:"revocation_endpoint,omitempty"`
	IntrospectionEndpoint string `json:"introspection_endpoint,omitempty"`
	EndSessionEndpoint    string `json:"end_session_endpoint,omitempty"`
	// JWKSURI is where the signing keys are published.
	JWKSURI string `json:"jwks_uri"`
	// The *Supported lists say what the issuer offers.
	ScopesSupported                   []string `json:"scopes_supported,omitempty"`
	ResponseTypesSupported            []string `json:"response_types_supported,omitempty"`
	GrantTypesSupported               []string `json:"grant_types_supported,omitempty"`
	CodeChallengeMethodsSupported     []string `json:"code_challenge_methods_supported,omitempty"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported,omitempty"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported,omitempty"`
	// AuthorizationResponseIssParameterSupported announces the RFC 9207
	// "iss" authorization response parameter, which Exchange then requires.
	AuthorizationResponseIssParameterSupported bool `json:"authorization_response_iss_parameter_supported,omitempty"`
}

// Authenticator is the OpenID Connect adapter. It is safe for concurrent
// use.
type Authenticator struct {
	cfg      Config
	meta     Metadata
	client   *http.Client // discovery and GETs: same-host redirects only
	noRedir  *http.Client // token, revocation, introspection: no redirects
	keys     *keyset.Cache
	access   *jwtcore.Verifier
	id       *jwtcore.Verifier // nil without a client id
	insecure bool
}

var _ interface {
	authport.Authenticator
	authport.PasswordSignIn
	authport.RedirectSignIn
	authport.Refresher
	authport.Revoker
	authport.StrictVerifier
	authport.LogoutRedirector
	authport.Describer
} = (*Authenticator)(nil)

// supportedAlgs are the asymmetric algorithms an issuer may sign with;
// "Ed25519" is RFC 9864's name for EdDSA over Ed25519 (oidc-provider 9
// advertises it), "EdDSA" the older polymorphic one.
var supportedAlgs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "Ed25519", "EdDSA"}

// New discovers the issuer and returns an Authenticator for it.
func New(ctx context.Context, cfg Config) (*Authenticator, error) {
	if cfg.Provider == "" {
		cfg.Provider = Name
	}
	p := cfg.Provider
	if cfg.Issuer == "" {
		return nil, misconfigured(p, "Issuer is required (OIDC_ISSUER)")
	}
	iu, err := url.Parse(cfg.Issuer)
	if err != nil || iu.Host == "" || iu.RawQuery != "" || iu.Fragment != "" || iu.User != nil {
		return nil, misconfigured(p, "Issuer must be an absolute URL without query, fragment or user info (OIDC_ISSUER)")
	}
	insecure := false
	switch iu.Scheme {
	case "https":
	case "http":
		if !config.IsLoopbackHost(iu.Hostname()) {
			return nil, misconfigured(p, "an http Issuer is allowed only on a loopback host; use https (OIDC_ISSUER)")
		}
		insecure = true
	default:
		return nil, misconfigured(p, "Issuer must be an https URL (OIDC_ISSUER)")
	}
	cfg.Audiences = nonEmpty(cfg.Audiences)
	if len(cfg.Audiences) == 0 {
		return nil, misconfigured(p, "Audiences is required (OIDC_AUDIENCE)")
	}
	cfg.AuthorizedParties = nonEmpty(cfg.AuthorizedParties)
	if cfg.RolesClaim == "" {
		cfg.RolesClaim = "roles"
	}
	if cfg.PermissionsClaim == "" {
		cfg.PermissionsClaim = "permissions"
	}
	if cfg.OrgClaim == "" {
		cfg.OrgClaim = "org_id"
	}
	if cfg.RevocationDelay <= 0 {
		cfg.RevocationDelay = time.Hour
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	for _, alg := range cfg.Algorithms {
		if !slices.Contains(supportedAlgs, alg) {
			return nil, misconfigured(p, fmt.Sprintf("algorithm %q is not allowed for an OpenID Connect issuer", alg))
		}
	}

	a := &Authenticator{cfg: cfg, insecure: insecure}
	base := httpclient.New(cfg.HTTPClient, cfg.HTTPTimeout)
	a.client = base
	a.noRedir = httpclient.NoRedirect(cfg.HTTPClient, cfg.HTTPTimeout)

	if err := a.discover(ctx); err != nil {
		return nil, err
	}
	if len(a.cfg.Algorithms) == 0 {
		for _, alg := range a.meta.IDTokenSigningAlgValuesSupported {
			if slices.Contains(supportedAlgs, alg) {
				a.cfg.Algorithms = append(a.cfg.Algorithms, alg)
			}
		}
		if len(a.cfg.Algorithms) == 0 {
			a.cfg.Algorithms = []string{"RS256"}
		}
	}
	if len(a.cfg.Scopes) == 0 {
		a.cfg.Scopes = []string{"openid", "email", "profile"}
		if slices.Contains(a.meta.ScopesSupported, "offline_access") {
			a.cfg.Scopes = append(a.cfg.Scopes, "offline_access")
		}
	}

	a.keys = keyset.NewCache(keyset.NewHTTPFetcher(a.meta.JWKSURI, keyset.FormatJWKS, base), keyset.CacheOptions{
		Clock: cfg.Clock, Logger: cfg.Logger, Provider: p,
	})
	opts := jwtcore.Options{Provider: p, Leeway: cfg.Leeway, Clock: cfg.Clock, CacheSize: cfg.CacheSize, ToSession: a.toSession}
	a.access, err = jwtcore.New(opts, jwtcore.Policy{
		Issuer: cfg.Issuer, Audiences: cfg.Audiences, AuthorizedParties: cfg.AuthorizedParties,
		Algorithms: a.cfg.Algorithms, Types: cfg.TokenTypes, Keys: a.keys,
	})
	if err != nil {
		return nil, err
	}
	if cfg.ClientID != "" {
		opts.CacheSize = -1
		a.id, err = jwtcore.New(opts, jwtcore.Policy{
			Issuer: cfg.Issuer, Audiences: []string{cfg.ClientID},
			Algorithms: a.cfg.Algorithms, Types: []string{"JWT"}, Keys: a.keys,
		})
		if err != nil {
			return nil, err
		}
	}
	return a, nil
}

func nonEmpty(in []string) []string {
	var out []string
	for _, s := range in {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func (a *Authenticator) discover(ctx context.Context) error {
	p := a.cfg.Provider
	u := strings.TrimSuffix(a.cfg.Issuer, "/") + "/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return misconfigured(p, "discovery URL: "+err.Error())
	}
	req.Header.Set("Accept", "application/json")
	resp, err := a.client.Do(req)
	if err != nil {
		return &authport.Error{Kind: authport.ErrProviderUnavailable, Provider: p, Op: "discovery", Reason: "discovery document unreachable", Err: safetext.Redact(err)}
	}
	defer resp.Body.Close()
	body, err := httpclient.ReadBody(resp.Body, 0)
	switch {
	case errors.Is(err, httpclient.ErrBodyTooLarge):
		return misconfigured(p, "discovery document over 1 MiB")
	case err != nil:
		return &authport.Error{Kind: authport.ErrProviderUnavailable, Provider: p, Op: "discovery", Reason: "reading the discovery document", Err: safetext.Redact(err)}
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return authport.NewError(authport.ErrProviderUnavailable, p, "discovery", fmt.Sprintf("discovery answered %d", resp.StatusCode))
	case resp.StatusCode != http.StatusOK:
		return misconfigured(p, fmt.Sprintf("discovery answered %d: is Issuer right? (OIDC_ISSUER)", resp.StatusCode))
	}
	var m Metadata
	if err := json.Unmarshal(body, &m); err != nil {
		return misconfigured(p, "discovery document is not valid JSON")
	}
	if m.Issuer != a.cfg.Issuer {
		return misconfigured(p, fmt.Sprintf("discovery names issuer %q, not the configured %q (OIDC_ISSUER must match exactly, trailing slash included)", m.Issuer, a.cfg.Issuer))
	}
	if m.JWKSURI == "" {
		return misconfigured(p, "discovery document has no jwks_uri")
	}
	for name, ep := range map[string]string{
		"jwks_uri": m.JWKSURI, "authorization_endpoint": m.AuthorizationEndpoint, "token_endpoint": m.TokenEndpoint,
		"userinfo_endpoint": m.UserinfoEndpoint, "revocation_endpoint": m.RevocationEndpoint,
		"introspection_endpoint": m.IntrospectionEndpoint, "end_session_endpoint": m.EndSessionEndpoint,
	} {
		if ep == "" {
			continue
		}
		eu, err := url.Parse(ep)
		if err != nil || eu.Host == "" || !(eu.Scheme == "https" || eu.Scheme == "http" && a.insecure && config.IsLoopbackHost(eu.Hostname())) {
			return misconfigured(p, "discovery "+name+" is not an https URL")
		}
	}
	a.meta = m
	return nil
}

// Provider implements authport.Authenticator.
func (a *Authenticator) Provider() string { return a.cfg.Provider }

// Metadata returns the issuer's discovery document.
func (a *Authenticator) Metadata() Metadata { return a.meta }

// KeyFetches reports how many times the key set has been fetched.
func (a *Authenticator) KeyFetches() int64 { return a.keys.Fetches() }

// Verify checks an access token offline: signature against the issuer's
// JWKS, issuer, audience, authorized party, expiry.
func (a *Authenticator) Verify(ctx context.Context, c authport.Credential) (*authport.Session, error) {
	if c.Token == "" {
		return nil, authport.NewError(authport.ErrNoCredential, a.cfg.Provider, "verify", "no token")
	}
	return a.access.Session(ctx, c.Token)
}

// Describe implements authport.Describer.
func (a *Authenticator) Describe() authport.Description {
	d := authport.Description{RevocationDelay: a.cfg.RevocationDelay, Unsupported: map[authport.Capability]string{
		authport.CapSignUp: "OpenID Connect has no sign-up API; use RedirectSignIn with ScreenHint \"sign-up\" (prompt=create)",
	}}
	noClient := "no client id is configured (OIDC_CLIENT_ID)"
	switch {
	case a.cfg.ClientID == "":
		d.Unsupported[authport.CapPasswordSignIn] = noClient
	case !a.grantSupported("password"):
		d.Unsupported[authport.CapPasswordSignIn] = "the issuer does not offer the password grant"
	}
	switch {
	case a.cfg.ClientID == "":
		d.Unsupported[authport.CapRedirectSignIn] = noClient
	case a.meta.AuthorizationEndpoint == "" || a.meta.TokenEndpoint == "":
		d.Unsupported[authport.CapRedirectSignIn] = "the issuer has no authorization or token endpoint"
	}
	switch {
	case a.cfg.ClientID == "":
		d.Unsupported[authport.CapRefresh] = noClient
	case !a.grantSupported("refresh_token"):
		d.Unsupported[authport.CapRefresh] = "the issuer does not offer the refresh_token grant"
	}
	switch {
	case a.meta.RevocationEndpoint == "":
		d.Unsupported[authport.CapRevoke] = "the issuer has no revocation_endpoint (RFC 7009)"
	case a.cfg.ClientID == "":
		d.Unsupported[authport.CapRevoke] = noClient
	}
	if !a.canIntrospect() && a.meta.UserinfoEndpoint == "" {
		d.Unsupported[authport.CapStrictVerify] = "the issuer has neither an introspection endpoint usable with the configured client nor a userinfo endpoint"
	}
	switch {
	case a.meta.EndSessionEndpoint == "":
		d.Unsupported[authport.CapLogoutRedirect] = "the issuer advertises no end_session_endpoint (OpenID Connect RP-Initiated Logout)"
	case a.cfg.ClientID == "":
		d.Unsupported[authport.CapLogoutRedirect] = noClient
	}
	return d
}

// grantSupported applies the discovery default: without
// grant_types_supported, refresh is assumed and password is not.
func (a *Authenticator) grantSupported(g string) bool {
	if a.meta.TokenEndpoint == "" {
		return false
	}
	if len(a.meta.GrantTypesSupported) == 0 {
		return g != "password"
	}
	return slices.Contains(a.meta.GrantTypesSupported, g)
}

func (a *Authenticator) canIntrospect() bool {
	return a.meta.IntrospectionEndpoint != "" && a.cfg.ClientID != ""
}

func (a *Authenticator) unsupported(c authport.Capability, op string) error {
	if why, ok := a.Describe().Unsupported[c]; ok {
		return authport.NewError(authport.ErrUnsupported, a.cfg.Provider, op, why)
	}
	return nil
}

// Revocations implements authport.RevocationSharer: the deny list Verify
// consults, so that Config.Cluster can share this instance's revocations
// with the others'.
func (a *Authenticator) Revocations() authport.RevocationList { return a.access }
