package firebase

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	fb "firebase.google.com/go/v4"
	"firebase.google.com/go/v4/auth"
	"google.golang.org/api/option"

	"github.com/authport/authport"
	"github.com/authport/authport/internal/httpclient"
	"github.com/authport/authport/internal/jwtcore"
	"github.com/authport/authport/internal/keyset"
	"github.com/authport/authport/internal/safetext"
)

// Name is the adapter's registered name and its Session.Provider.
const Name = "firebase"

// Production endpoints. The two certificate maps are the URLs the Admin SDK
// itself fetches (auth/token_verifier.go); both are JSON objects of key id
// to PEM X.509 certificate, RS256 only.
const (
	DefaultIDTokenCertURL       = "https://www.googleapis.com/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com"
	DefaultSessionCookieCertURL = "https://www.googleapis.com/identitytoolkit/v3/relyingparty/publicKeys"
	DefaultIdentityToolkitURL   = "https://identitytoolkit.googleapis.com"
	DefaultSecureTokenURL       = "https://securetoken.googleapis.com"
)

// Issuer prefixes: an ID token's "iss" is IDTokenIssuerPrefix + project
// id, a session cookie's SessionCookieIssuerPrefix + project id.
const (
	IDTokenIssuerPrefix       = "https://securetoken.google.com/"
	SessionCookieIssuerPrefix = "https://session.firebase.google.com/"
)

// Session cookie lifetimes Firebase accepts (auth.Client.SessionCookie).
const (
	MinSessionCookieTTL = 5 * time.Minute
	MaxSessionCookieTTL = 14 * 24 * time.Hour
)

// idTokenLifetime is the lifetime of every Firebase ID token.
const idTokenLifetime = time.Hour

// maxUIDLen is Firebase's limit on a user id ("sub"), as the SDK checks it.
const maxUIDLen = 128

// DefaultCookieName is the provider cookie the middleware reads a session
// cookie from: "__session" is the one cookie Firebase Hosting forwards to
// Cloud Functions and Cloud Run.
const DefaultCookieName = "__session"

// Config configures an Authenticator. Each field names the environment
// variable FromEnv reads it from.
type Config struct {
	// ProjectID is the Firebase project id: tokens must carry it as "aud"
	// and in their issuer. Required (FIREBASE_PROJECT_ID); it also keeps
	// the Admin SDK from probing for cloud credentials to find it.
	ProjectID string
	// APIKey is the project's Web API key. It enables PasswordSignIn,
	// SignUp and Refresh, which use the Identity Toolkit and Secure Token
	// REST APIs (the Admin SDK has no sign-in). Optional (FIREBASE_API_KEY).
	APIKey string
	// CredentialsFile is a service-account JSON file for the Admin SDK
	// (GOOGLE_APPLICATION_CREDENTIALS). Without it the SDK uses Application
	// Default Credentials. Admin calls (sign-up, session cookies,
	// revocation, strict verification) need credentials; verification
	// does not.
	CredentialsFile string
	// EmulatorHost is the Firebase Auth Emulator's host:port
	// (FIREBASE_AUTH_EMULATOR_HOST). When set, the adapter also accepts the
	// emulator's unsigned tokens and logs a warning at start-up; it must
	// then equal FIREBASE_AUTH_EMULATOR_HOST in the process environment,
	// which is the only place the Admin SDK reads it. Never set it in
	// production.
	EmulatorHost string
	// TokenLifetime, when positive, makes sign-in, sign-up and refresh
	// return a Firebase session cookie of this lifetime as
	// Tokens.AccessToken (5 minutes to 14 days) instead of the one-hour ID
	// token (FIREBASE_SESSION_COOKIE_TTL, a Go duration such as "336h").
	TokenLifetime time.Duration
	// CookieName is the provider cookie the middleware reads a session
	// cookie (or ID token) from (FIREBASE_COOKIE_NAME; default
	// "__session"; "-" reads none).
	CookieName string
	// RolesClaims name the custom claims mapped to Session.Roles: a string
	// is one role, an array of strings several (FIREBASE_ROLES_CLAIMS,
	// comma-separated; default "role,roles").
	RolesClaims []string
	// PermissionsClaim names the custom claim mapped to
	// Session.Permissions: an array of strings or a space-separated string
	// (FIREBASE_PERMISSIONS_CLAIM; default "permissions").
	PermissionsClaim string
	// OrgClaim names the custom claim mapped to Session.OrgID
	// (FIREBASE_ORG_CLAIM; default "org_id").
	OrgClaim string
	// Leeway is the clock-skew allowance for exp, iat and auth_time
	// (default 30 s, at most 5 min; the Admin SDK's own is a fixed 5 min).
	Leeway time.Duration
	// IDTokenCertURL and SessionCookieCertURL are the certificate maps
	// (defaults: Google's, as the Admin SDK uses).
	IDTokenCertURL, SessionCookieCertURL string
	// IdentityToolkitURL and SecureTokenURL are the REST API bases for
	// sign-in and refresh, without /v1 (defaults: Google's, or the
	// emulator's http://<EmulatorHost>/identitytoolkit.googleapis.com and
	// .../securetoken.googleapis.com).
	IdentityToolkitURL, SecureTokenURL string
	// HTTPClient makes the adapter's own requests: certificate maps and
	// the REST calls (default: a client with a 10 s timeout). It is not
	// given to the Admin SDK, whose client carries its credentials.
	HTTPClient *http.Client
	// HTTPTimeout bounds each call to the provider (default: HTTPClient's
	// own Timeout when set, else 10 s).
	HTTPTimeout time.Duration
	// ClientOptions are passed to the Admin SDK (firebase.NewApp), for
	// example option.WithCredentialsJSON or option.WithHTTPClient.
	ClientOptions []option.ClientOption
	// CacheSize bounds the verified-token cache (default 10000; negative
	// disables it).
	CacheSize int
	// Clock is the time source for verification (default time.Now).
	Clock func() time.Time
	// Logger receives the emulator-mode warning and key-refresh failures
	// (default slog.Default()).
	Logger *slog.Logger
}

// Authenticator is the Firebase adapter. It is safe for concurrent use.
type Authenticator struct {
	cfg       Config
	idIss     string
	cookieIss string
	emulator  bool
	v         *jwtcore.Verifier
	idKeys    *keyset.Cache
	ckKeys    *keyset.Cache
	client    *auth.Client
	http      *http.Client
}

var _ interface {
	authport.Authenticator
	authport.PasswordSignIn
	authport.SignUp
	authport.Refresher
	authport.Revoker
	authport.StrictVerifier
	authport.CookieReader
	authport.Describer
} = (*Authenticator)(nil)

func misconfigured(reason string) error {
	return authport.NewError(authport.ErrMisconfigured, Name, "configure", reason)
}

// New returns an Authenticator for cfg. It builds the Admin SDK client
// (firebase.NewApp, App.Auth) but fetches no keys: the certificate maps are
// fetched on first use and cached as their Cache-Control allows.
func New(ctx context.Context, cfg Config) (*Authenticator, error) {
	cfg.ProjectID = strings.TrimSpace(cfg.ProjectID)
	if cfg.ProjectID == "" {
		return nil, misconfigured("ProjectID is required (FIREBASE_PROJECT_ID)")
	}
	if !validProjectID(cfg.ProjectID) {
		return nil, misconfigured("ProjectID is not a Firebase project id (FIREBASE_PROJECT_ID)")
	}
	cfg.EmulatorHost = strings.TrimSpace(cfg.EmulatorHost)
	// The Admin SDK reads the emulator host from the process environment
	// only, once, when its client is built. A mismatch would send admin
	// calls to one place and verify tokens by another's rules.
	if env := os.Getenv(EnvEmulatorHost); env != cfg.EmulatorHost {
		if cfg.EmulatorHost == "" {
			return nil, misconfigured(EnvEmulatorHost + " is set in the process environment, so the Admin SDK would talk to the emulator; set Config.EmulatorHost to the same value, or unset it")
		}
		return nil, misconfigured("Config.EmulatorHost must equal " + EnvEmulatorHost + " in the process environment: the Admin SDK reads only that")
	}
	if cfg.EmulatorHost != "" {
		if _, _, err := net.SplitHostPort(cfg.EmulatorHost); err != nil || strings.ContainsAny(cfg.EmulatorHost, "/?#@") {
			return nil, misconfigured(EnvEmulatorHost + " must be host:port")
		}
	}
	if cfg.TokenLifetime != 0 && (cfg.TokenLifetime < MinSessionCookieTTL || cfg.TokenLifetime > MaxSessionCookieTTL) {
		return nil, misconfigured("TokenLifetime must be between 5m and 336h (FIREBASE_SESSION_COOKIE_TTL)")
	}
	if cfg.Leeway < 0 || cfg.Leeway > jwtcore.MaxLeeway {
		return nil, misconfigured("Leeway must be between 0 and 5m")
	}
	if cfg.CookieName == "" {
		cfg.CookieName = DefaultCookieName
	}
	if len(cfg.RolesClaims) == 0 {
		cfg.RolesClaims = []string{"role", "roles"}
	}
	if cfg.PermissionsClaim == "" {
		cfg.PermissionsClaim = "permissions"
	}
	if cfg.OrgClaim == "" {
		cfg.OrgClaim = "org_id"
	}
	if cfg.IDTokenCertURL == "" {
		cfg.IDTokenCertURL = DefaultIDTokenCertURL
	}
	if cfg.SessionCookieCertURL == "" {
		cfg.SessionCookieCertURL = DefaultSessionCookieCertURL
	}
	if cfg.IdentityToolkitURL == "" {
		cfg.IdentityToolkitURL = DefaultIdentityToolkitURL
		if cfg.EmulatorHost != "" {
			cfg.IdentityToolkitURL = "http://" + cfg.EmulatorHost + "/identitytoolkit.googleapis.com"
		}
	}
	if cfg.SecureTokenURL == "" {
		cfg.SecureTokenURL = DefaultSecureTokenURL
		if cfg.EmulatorHost != "" {
			cfg.SecureTokenURL = "http://" + cfg.EmulatorHost + "/securetoken.googleapis.com"
		}
	}
	cfg.IdentityToolkitURL = strings.TrimSuffix(cfg.IdentityToolkitURL, "/")
	cfg.SecureTokenURL = strings.TrimSuffix(cfg.SecureTokenURL, "/")
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}

	a := &Authenticator{
		cfg:       cfg,
		idIss:     IDTokenIssuerPrefix + cfg.ProjectID,
		cookieIss: SessionCookieIssuerPrefix + cfg.ProjectID,
		emulator:  cfg.EmulatorHost != "",
	}
	// REST calls are POSTs to fixed endpoints: never follow a redirect.
	a.http = httpclient.NoRedirect(cfg.HTTPClient, cfg.HTTPTimeout)

	co := keyset.CacheOptions{Clock: cfg.Clock, Logger: cfg.Logger, Provider: Name}
	a.idKeys = keyset.NewCache(keyset.NewHTTPFetcher(cfg.IDTokenCertURL, keyset.FormatX509Map, cfg.HTTPClient), co)
	a.ckKeys = keyset.NewCache(keyset.NewHTTPFetcher(cfg.SessionCookieCertURL, keyset.FormatX509Map, cfg.HTTPClient), co)
	var err error
	a.v, err = jwtcore.New(jwtcore.Options{
		Provider: Name, Leeway: cfg.Leeway, Clock: cfg.Clock, CacheSize: cfg.CacheSize, ToSession: a.toSession,
	}, jwtcore.Policy{
		Issuer: a.idIss, Audiences: []string{cfg.ProjectID}, Algorithms: []string{"RS256"}, Types: []string{"JWT"}, Keys: a.idKeys,
		// The Admin SDK decodes aud as one string and exp/iat as whole
		// seconds; never accept what Google's own verifier refuses.
		SingleAudience: true, IntegerTimes: true,
	}, jwtcore.Policy{
		Issuer: a.cookieIss, Audiences: []string{cfg.ProjectID}, Algorithms: []string{"RS256"}, Types: []string{"JWT"}, Keys: a.ckKeys,
		SingleAudience: true, IntegerTimes: true,
	})
	if err != nil {
		return nil, misconfigured(err.Error())
	}

	opts := append([]option.ClientOption(nil), cfg.ClientOptions...)
	if cfg.CredentialsFile != "" {
		if _, err := os.Stat(cfg.CredentialsFile); err != nil {
			return nil, misconfigured("CredentialsFile cannot be read (" + EnvCredentials + ")")
		}
		opts = append(opts, option.WithCredentialsFile(cfg.CredentialsFile))
	}
	app, err := fb.NewApp(ctx, &fb.Config{ProjectID: cfg.ProjectID}, opts...)
	if err != nil {
		return nil, misconfigured("the Admin SDK refused its configuration: " + safetext.FirstLine(err))
	}
	if a.client, err = app.Auth(ctx); err != nil {
		if len(opts) > 0 || a.emulator {
			return nil, misconfigured("the Admin SDK could not build its auth client: " + safetext.FirstLine(err))
		}
		// No credentials were given and Application Default Credentials
		// found none: verification works, the Admin API does not.
		a.client = nil
		cfg.Logger.Info("authport/firebase: no Google credentials found; sign-up, session cookies, revocation and strict verification are disabled (set "+EnvCredentials+")",
			"project", cfg.ProjectID)
	}
	if a.emulator {
		cfg.Logger.Warn("authport/firebase: EMULATOR MODE: unsigned (alg \"none\") tokens are ACCEPTED because FIREBASE_AUTH_EMULATOR_HOST is set. Never set it in production.",
			"emulator_host", cfg.EmulatorHost, "project", cfg.ProjectID)
	}
	return a, nil
}

// validProjectID accepts Firebase/Google Cloud project ids (and the
// emulator's demo- ids): 4–63 characters of [a-z0-9-], starting with a
// letter.
func validProjectID(p string) bool {
	if len(p) < 4 || len(p) > 63 || p[0] < 'a' || p[0] > 'z' {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// Provider implements authport.Authenticator.
func (a *Authenticator) Provider() string { return Name }

// Config returns the effective configuration, defaults filled in.
func (a *Authenticator) Config() Config { return a.cfg }

// AuthClient returns the Admin SDK client the adapter uses, for what
// authport does not wrap (user management, custom tokens, tenants). It is
// nil when no Google credentials were found.
func (a *Authenticator) AuthClient() *auth.Client { return a.client }

// EmulatorMode reports whether unsigned emulator tokens are accepted.
func (a *Authenticator) EmulatorMode() bool { return a.emulator }

// KeyFetches counts fetches of both certificate maps.
func (a *Authenticator) KeyFetches() int64 { return a.idKeys.Fetches() + a.ckKeys.Fetches() }

// ProviderCookies implements authport.CookieReader: the cookie a Firebase
// app keeps its session cookie in (Config.CookieName).
func (a *Authenticator) ProviderCookies() []string {
	if a.cfg.CookieName == "-" {
		return nil
	}
	return []string{a.cfg.CookieName}
}

// Verify checks a Firebase ID token or session cookie offline: RS256
// signature against the certificate map of its issuer, exact issuer, the
// project id as audience, expiry with the configured leeway, and the
// Firebase claim rules (see the package doc). Either kind of token is
// accepted from either source. In emulator mode an unsigned token (empty
// signature) is checked by the same rules without a signature.
func (a *Authenticator) Verify(ctx context.Context, c authport.Credential) (*authport.Session, error) {
	if c.Token == "" {
		return nil, authport.NewError(authport.ErrNoCredential, Name, "verify", "no token")
	}
	var (
		s   *authport.Session
		err error
	)
	if a.emulator && strings.HasSuffix(c.Token, ".") {
		s, err = a.verifyEmulatorToken(ctx, c.Token)
	} else {
		s, err = a.v.Session(ctx, c.Token)
	}
	if err != nil {
		return nil, err
	}
	if err := a.v.Check(s); err != nil { // the emulator path's deny list (Session checked the signed one)
		return nil, err
	}
	return s, nil
}

// verifyEmulatorToken is the emulator-mode path: an unsigned token with
// "alg":"none" and an empty signature, held to every other rule. It is
// reached only when FIREBASE_AUTH_EMULATOR_HOST is set.
func (a *Authenticator) verifyEmulatorToken(ctx context.Context, token string) (*authport.Session, error) {
	c, err := a.v.VerifyUnsignedForEmulator(ctx, token)
	if err != nil {
		return nil, err
	}
	return a.toSession(c)
}

// Describe implements authport.Describer.
func (a *Authenticator) Describe() authport.Description {
	d := authport.Description{RevocationDelay: idTokenLifetime, Unsupported: map[authport.Capability]string{
		authport.CapRedirectSignIn: "Firebase signs users in with identity providers in its client SDK; send the resulting ID token (or a session cookie made from it)",
	}}
	if a.cfg.TokenLifetime > idTokenLifetime {
		d.RevocationDelay = a.cfg.TokenLifetime
	}
	if a.cfg.APIKey == "" {
		noKey := "no Web API key is configured (" + EnvAPIKey + ")"
		d.Unsupported[authport.CapPasswordSignIn] = noKey
		d.Unsupported[authport.CapSignUp] = noKey
		d.Unsupported[authport.CapRefresh] = noKey
	}
	if a.client == nil {
		noAdmin := "the Admin SDK has no Google credentials (" + EnvCredentials + ")"
		d.Unsupported[authport.CapSignUp] = noAdmin
		d.Unsupported[authport.CapRevoke] = noAdmin
		d.Unsupported[authport.CapStrictVerify] = noAdmin
		if a.cfg.TokenLifetime > 0 {
			noCookie := noAdmin + ", so it cannot mint the session cookies Config.TokenLifetime asks for"
			d.Unsupported[authport.CapPasswordSignIn] = noCookie
			d.Unsupported[authport.CapRefresh] = noCookie
		}
	}
	return d
}

func (a *Authenticator) unsupported(c authport.Capability, op string) error {
	if why, ok := a.Describe().Unsupported[c]; ok {
		return authport.NewError(authport.ErrUnsupported, Name, op, why)
	}
	return nil
}

var errNoUser = errors.New("no user id")

// sessionUser finds the user a Revoke call is about.
func (a *Authenticator) sessionUser(ctx context.Context, s *authport.Session, t *authport.Tokens) (*authport.Session, error) {
	if s != nil && s.UserID != "" {
		return s, nil
	}
	if t != nil && t.AccessToken != "" {
		if vs, err := a.Verify(ctx, authport.Credential{Token: t.AccessToken, Source: authport.SourceHeader}); err == nil {
			return vs, nil
		}
	}
	if t != nil && t.UserID != "" {
		return &authport.Session{UserID: t.UserID}, nil
	}
	return nil, authport.WrapError(authport.ErrInvalidInput, Name, "revoke", fmt.Errorf("%w: pass the verified session", errNoUser))
}

// Revocations implements authport.RevocationSharer: the deny list Verify
// consults, so that Config.Cluster can share this instance's revocations
// with the others'.
func (a *Authenticator) Revocations() authport.RevocationList { return a.v }
