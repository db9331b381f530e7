package authport

import (
	"context"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// Defaults for Config.
const (
	// DefaultCookieName is Config.CookieName's default over HTTPS.
	DefaultCookieName = "__Host-authport"
	// DefaultBasePath is Config.BasePath's default.
	DefaultBasePath = "/auth"
	// DefaultLoginPath is Config.LoginPath's default.
	DefaultLoginPath = "/auth/login"
	// DefaultSessionMaxAge is Config.SessionMaxAge's default.
	DefaultSessionMaxAge = 7 * 24 * time.Hour
	// DefaultRefreshBefore is Config.RefreshBefore's default.
	DefaultRefreshBefore = 30 * time.Second
)

// Config configures the HTTP layer: the middleware, the /auth handlers,
// the session cookie and the error responses. The zero value is usable for
// an API that only accepts bearer tokens from an adapter that cannot sign
// users in; anything that issues cookies needs CookieKeys.
type Config struct {
	// CookieName names the sealed session cookie (default
	// "__Host-authport", or "authport" when Insecure). Over HTTPS it must
	// start with "__Host-". The short-lived sign-in flow cookie is named
	// CookieName + "-flow", and the pending-step cookie of a sign-in that
	// needs one more step (see ActionContinuer) CookieName + "-pending".
	CookieName string
	// CookieKeys are AES-256-GCM keys, 32 bytes each, for the sealed
	// cookies. The first seals, all open: to rotate, prepend a new key and
	// drop the old one after SessionMaxAge. Required unless BearerOnly is
	// set or the adapter cannot sign users in.
	CookieKeys [][]byte
	// SessionMaxAge is the absolute lifetime of the session cookie, counted
	// from sign-in and kept across refreshes (default 7 days). The cookie
	// carries its sealing time, so it is enforced on the server too.
	SessionMaxAge time.Duration

	// BasePath is where Handler serves the auth endpoints (default "/auth").
	BasePath string
	// LoginPath is where browsers are sent when authentication is required
	// (default BasePath + "/login"). It may be an application page.
	LoginPath string
	// AfterLoginPath is where a sign-in lands when no safe return_to was
	// given (default "/").
	AfterLoginPath string
	// AfterLogoutPath is where a browser lands after signing out (default
	// "/").
	AfterLogoutPath string
	// PublicOrigin is the application's externally visible origin, such as
	// "https://app.example.com". It builds the OAuth redirect URI
	// (PublicOrigin + BasePath + "/callback") and is trusted by the
	// cross-origin check (useful behind a proxy that rewrites Host). When
	// empty, the redirect URI is built from the request's Host (https, or
	// http with Insecure); the provider's allow-list of redirect URIs then
	// guards it. Set it in production.
	PublicOrigin string
	// Insecure allows plain HTTP for local development: cookies lose the
	// Secure attribute and the "__Host-" prefix. Never set it in production.
	Insecure bool
	// BearerOnly declares that the application accepts only bearer tokens
	// and provider cookies: the sealed cookie is neither read nor issued,
	// CookieKeys is not required, and Handler serves only /session and
	// /logout.
	BearerOnly bool
	// Strict verifies every request with the adapter's StrictVerifier (a
	// provider round trip that catches revocation at once). NewWeb fails if
	// the adapter has no strict verification.
	Strict bool
	// RefreshBefore refreshes a cookie session this long before its access
	// token expires (default 30s; negative: only once it has expired).
	RefreshBefore time.Duration

	// Limiter keeps the counters of sign-in, sign-up, refresh and
	// one-more-step attempts (default: a MemoryLimiter, for one instance;
	// use a shared one when several instances serve the application).
	Limiter Limiter
	// Limits are the policies Limiter applies (zero fields: DefaultLimits).
	// Sign-in follows SignInGuard's lockout policy: a browser that signed in
	// to an account before carries a known-device cookie for it
	// (CookieName + "-device") and is exempt from the limits strangers
	// exhaust.
	Limits Limits
	// ForwardedForHops is the number of trusted reverse proxies in front of
	// the application. 0 (the default) uses the connection's address and
	// ignores X-Forwarded-For; n takes the n-th address from the right of
	// X-Forwarded-For, the one the outermost trusted proxy saw. Behind a
	// proxy with 0, every client shares the proxy's per-address limits:
	// Web logs a warning (once) and Diagnostics reports it when requests
	// carry X-Forwarded-For while this is 0.
	ForwardedForHops int

	// Cluster, when set, makes several instances behind a load balancer
	// behave as one (package cluster builds it from AUTHPORT_CLUSTER_URL):
	// a revocation made on any instance is refused by all, and a refresh
	// token is traded at the provider by exactly one instance, the others
	// reusing its sealed result. Every instance must share CookieKeys.
	Cluster Cluster

	// Logger receives one record per Event (default slog.Default()). No
	// token, password or email address is ever logged.
	Logger *slog.Logger
	// Hooks, if set, observes every Event (metrics, tracing, audit).
	Hooks Hooks
	// Templates, if set, overrides the built-in pages: it must define
	// "login" (sign-in and sign-up forms) and "error", executed with a
	// *PageData; "continue" (the one-more-step form) is optional and falls
	// back to the built-in page.
	Templates *template.Template
	// Clock returns the current time (default time.Now).
	Clock func() time.Time
}

// Web is the HTTP layer in front of an Authenticator: the middleware that
// attaches the Session to the request context, the error responses, the
// sealed session cookie and the provider-agnostic /auth handlers. Create
// one with NewWeb; it is safe for concurrent use.
type Web struct {
	auth      Authenticator
	cfg       Config
	sealer    *Sealer // nil when BearerOnly or no keys
	flowName  string
	refresher Refresher
	strict    StrictVerifier
	cookies   []string        // provider cookies, in order
	chunked   map[string]bool // provider cookies that may be split into name.0, name.1, …
	logger    *slog.Logger
	pages     *template.Template
	handler   http.Handler
	flights   flights
	// forwardedUnused is set once a request carried X-Forwarded-For while
	// Config.ForwardedForHops is 0 (warned once, see Diagnostics).
	forwardedUnused atomic.Bool
}

// NewWeb validates cfg, fills in its defaults and returns the HTTP layer
// for a. A missing or malformed setting is an error of kind
// ErrMisconfigured naming the Config field.
func NewWeb(a Authenticator, cfg Config) (*Web, error) {
	if a == nil {
		return nil, misconfigured("the Authenticator is nil")
	}
	if cfg.CookieName == "" {
		cfg.CookieName = DefaultCookieName
		if cfg.Insecure {
			cfg.CookieName = "authport"
		}
	}
	if !validCookieName(cfg.CookieName) {
		return nil, misconfigured("Config.CookieName is not a valid cookie name")
	}
	if hasHostPrefix := strings.HasPrefix(cfg.CookieName, "__Host-"); cfg.Insecure == hasHostPrefix {
		if cfg.Insecure {
			return nil, misconfigured("Config.CookieName must not start with __Host- when Config.Insecure is set")
		}
		return nil, misconfigured("Config.CookieName must start with __Host- (or set Config.Insecure for plain-HTTP development)")
	}
	if cfg.SessionMaxAge == 0 {
		cfg.SessionMaxAge = DefaultSessionMaxAge
	} else if cfg.SessionMaxAge < time.Minute {
		return nil, misconfigured("Config.SessionMaxAge must be at least a minute")
	}
	if cfg.RefreshBefore == 0 {
		cfg.RefreshBefore = DefaultRefreshBefore
	} else if cfg.RefreshBefore < 0 {
		cfg.RefreshBefore = 0
	}

	if cfg.BasePath == "" {
		cfg.BasePath = DefaultBasePath
	}
	cfg.BasePath = strings.TrimSuffix(cfg.BasePath, "/")
	if !validBasePath(cfg.BasePath) {
		return nil, misconfigured("Config.BasePath must be an absolute path such as /auth")
	}
	if cfg.LoginPath == "" {
		cfg.LoginPath = cfg.BasePath + "/login"
	}
	if cfg.AfterLoginPath == "" {
		cfg.AfterLoginPath = "/"
	}
	if cfg.AfterLogoutPath == "" {
		cfg.AfterLogoutPath = "/"
	}
	for _, p := range []struct{ name, v string }{
		{"LoginPath", cfg.LoginPath}, {"AfterLoginPath", cfg.AfterLoginPath}, {"AfterLogoutPath", cfg.AfterLogoutPath},
	} {
		if _, ok := safeReturnTo(p.v); !ok {
			return nil, misconfigured("Config." + p.name + " must be a same-origin absolute path")
		}
	}
	if cfg.PublicOrigin != "" {
		u, err := url.Parse(cfg.PublicOrigin)
		if err != nil || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" ||
			(u.Scheme != "https" && !(u.Scheme == "http" && cfg.Insecure)) {
			return nil, misconfigured("Config.PublicOrigin must be an origin such as https://app.example.com (http only with Config.Insecure)")
		}
		cfg.PublicOrigin = u.Scheme + "://" + u.Host
	}
	if cfg.ForwardedForHops < 0 {
		return nil, misconfigured("Config.ForwardedForHops must not be negative")
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Limiter == nil {
		cfg.Limiter = &MemoryLimiter{Now: cfg.Clock}
	}
	cfg.Limits = cfg.Limits.WithDefaults()

	w := &Web{auth: a, cfg: cfg, logger: cfg.Logger, flowName: cfg.CookieName + "-flow"}
	if r, ok := a.(Refresher); ok && Has(a, CapRefresh) {
		w.refresher = r
	}
	if cfg.Cluster != nil {
		if rs, ok := a.(RevocationSharer); ok && rs.Revocations() != nil {
			cfg.Cluster.ShareRevocations(rs.Revocations())
		}
	}
	if cfg.Strict {
		s, ok := a.(StrictVerifier)
		if !ok || !Has(a, CapStrictVerify) {
			return nil, misconfigured("Config.Strict is set but the adapter cannot verify strictly")
		}
		w.strict = s
	}
	if cr, ok := a.(CookieReader); ok {
		for _, n := range cr.ProviderCookies() {
			if validCookieName(n) && n != cfg.CookieName {
				w.cookies = append(w.cookies, n)
			}
		}
		if ch, ok := a.(ChunkedCookieReader); ok {
			w.chunked = map[string]bool{}
			for _, n := range ch.ChunkedCookies() {
				w.chunked[n] = true
			}
		}
	}

	signsIn := Has(a, CapPasswordSignIn) || Has(a, CapSignUp) || Has(a, CapRedirectSignIn)
	switch {
	case cfg.BearerOnly:
	case len(cfg.CookieKeys) > 0:
		s, err := NewSealer(cfg.CookieKeys)
		if err != nil {
			return nil, misconfigured("Config.CookieKeys: " + err.(*Error).Reason)
		}
		s.MaxAge = cfg.SessionMaxAge
		s.Now = cfg.Clock
		w.sealer = s
	case signsIn:
		return nil, misconfigured("Config.CookieKeys is required when the adapter can sign users in (or set Config.BearerOnly)")
	}

	w.pages = builtinPages
	if cfg.Templates != nil {
		for _, n := range []string{"login", "error"} {
			if cfg.Templates.Lookup(n) == nil {
				return nil, misconfigured(fmt.Sprintf("Config.Templates does not define %q", n))
			}
		}
		w.pages = cfg.Templates
	}
	h, err := w.buildHandler()
	if err != nil {
		return nil, err
	}
	w.handler = h
	return w, nil
}

func misconfigured(reason string) error {
	return NewError(ErrMisconfigured, "", "web", reason)
}

// Authenticator returns the adapter w verifies credentials with.
func (w *Web) Authenticator() Authenticator { return w.auth }

func (w *Web) now() time.Time { return w.cfg.Clock() }

func validCookieName(n string) bool {
	if n == "" || len(n) > 127 {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return true
}

func validBasePath(p string) bool {
	if len(p) < 2 || p[0] != '/' {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("/-_.~", c) >= 0) {
			return false
		}
	}
	return !strings.Contains(p, "//") && !strings.Contains(p, "/./") && !strings.Contains(p, "/../") &&
		!strings.HasSuffix(p, "/.") && !strings.HasSuffix(p, "/..")
}

// authState is what the middleware learned about one request. It lives in
// the request context inside authContext (a single allocation), and is
// mutated only by the goroutine serving the request.
type authState struct {
	web      *Web
	session  *Session
	err      error
	tokens   *Tokens   // contents of the sealed cookie, when it opened
	issuedAt time.Time // when the sealed cookie's session began
	sealed   bool      // the request carried the sealed cookie
	// refreshed is set when the middleware refreshed in this request.
	refreshed bool
	// cleared is set once the sealed cookie's deletion has been written.
	cleared bool
	// cached is set by ReportCacheHit while the adapter verifies.
	cached bool
	// noRefresh skips transparent refresh (sign-out is about to end the
	// session anyway).
	noRefresh bool
	// req is the request being served, from which ClientInfoFrom derives
	// the client's address on demand (nil: no ClientInfo).
	req *http.Request
}

type stateKey struct{}

// authContext is a context.Context carrying an authState; embedding the
// state saves the separate allocation context.WithValue would make.
type authContext struct {
	context.Context
	st authState
}

// Value returns the request's authState for authport's key, the request's
// ClientInfo (unless the parent carries one set by WithClientInfo), and
// defers to the parent otherwise. The ClientInfo is derived on demand, so
// requests whose adapter never asks for it pay nothing.
func (c *authContext) Value(key any) any {
	switch key.(type) {
	case stateKey:
		return &c.st
	case clientInfoKey:
		if v := c.Context.Value(key); v != nil {
			return v
		}
		if c.st.req != nil && c.st.web != nil {
			return c.st.web.ClientInfo(c.st.req)
		}
		return nil
	}
	return c.Context.Value(key)
}

func stateFrom(ctx context.Context) *authState {
	st, _ := ctx.Value(stateKey{}).(*authState)
	return st
}

// SessionFrom returns the Session the middleware verified for this request.
// ok is false when the request is not authenticated (no credential, an
// invalid one, or no middleware ran); Check says why.
func SessionFrom(ctx context.Context) (s *Session, ok bool) {
	if st := stateFrom(ctx); st != nil && st.session != nil {
		return st.session, true
	}
	return nil, false
}

// WithSession returns a copy of ctx carrying s as the verified session, as
// the middleware would. It is meant for tests of handlers behind Require
// and for servers that authenticate by other means (a gRPC gateway).
func WithSession(ctx context.Context, s *Session) context.Context {
	c := &authContext{Context: ctx}
	c.st.session = s
	if s == nil {
		c.st.err = ErrNoCredential
	}
	return c
}
