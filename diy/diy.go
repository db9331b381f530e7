// Package diy is authport's do-it-yourself backend: it keeps its own users,
// passwords and sessions in a store the application owns (SQLite by
// default, PostgreSQL for several instances, optionally Redis for sessions
// and rate-limit counters), and implements authport.Authenticator plus the
// capabilities PasswordSignIn, SignUp, Revoker, StrictVerifier and, in JWT
// mode, Refresher.
//
// # Users and access
//
// A user has an email address, a password, and an Access: application
// roles, fine-grained permissions, and one organisation (an id and an
// optional slug), all set by the administrator (CreateUserWithAccess,
// SetAccess, SetRoles, SetPermissions, SetOrganization; on the command
// line, "authport users add" with --role, --permission and --org). Sessions carry
// them into authport.Session (Roles, Permissions, OrgID, OrgSlug) — in JWT
// mode through the access-token claims "roles", "permissions", "org_id" and
// "org_slug" — so authport.RequireRole, RequirePermission and RequireOrg
// guard routes in front of DIY as in front of a hosted provider. Bad input
// (a list over MaxRoles or MaxPermissions, an empty, over-long or invalid
// UTF-8 value, a space, comma or control character, more than
// MaxAccessSize bytes in all) is ErrInvalidInput and changes nothing.
//
// # Stores
//
// A store implements three small interfaces: UserStore, SessionStore and
// RefreshStore (together: Store). Three implementations live in their own
// packages so that an application links only what it uses:
// diy/sqlitestore (modernc.org/sqlite, pure Go; a file path is all the
// configuration), diy/pgstore (pgx) and diy/redisstore (go-redis; sessions
// and rate-limit counters only, beside a SQL store for users and refresh
// tokens). Schema migrations are embedded and applied on open. The
// diy/storetest package is a conformance suite for stores.
//
// # Session modes
//
// ModeSession (the default) keeps sessions on the server: the access token
// is an opaque 256-bit random id (base64url, 43 characters) of which only
// the SHA-256 is stored; every Verify reads the store, so a sign-out is seen
// at once by every instance. Sessions end after IdleTimeout without use
// (default 30 min) and AbsoluteTimeout after sign-in (default 12 h).
//
// ModeJWT issues short-lived Ed25519-signed access tokens (AccessTokenTTL,
// default 5 min) whose public keys are served by JWKSHandler at
// /.well-known/jwks.json, plus a refresh token that rotates on every use.
// Reuse of a rotated refresh token revokes its whole family (session);
// rotation is atomic, so of many parallel refreshes with one token exactly
// one succeeds. Verify checks the signature only (through authport's shared
// verification core); VerifyStrict also checks that the session is live.
//
// # Pages, HTTP and configuration
//
// Pages serves ready sign-in, sign-up and sign-out pages (html/template,
// embedded, overridable through Config.Templates, accessible, no
// JavaScript) in front of authport.Web, and JWKSHandler the key set. Open
// builds a Backend from URLs (AUTHPORT_DB_URL, AUTHPORT_REDIS_URL,
// AUTHPORT_SESSION_MODE, AUTHPORT_ISSUER, AUTHPORT_SIGNING_KEYS): the
// package registers itself as the "diy" adapter for authport.Open,
// authport.OpenURL ("diy://?db=sqlite:auth.db&mode=jwt") and
// authport.FromEnv, and each store package registers its URL schemes when
// imported.
//
// # Decisions
//
//   - Sign-up never reveals whether an address is registered: by default
//     SignUp creates the account when the address is free, changes nothing
//     when it is taken, and answers both alike — Tokens without an
//     AccessToken and a nil error ("the account is ready; sign in") —
//     after the same work (the password is hashed either way). The ready
//     pages then show the sign-in form with one notice for both. Set
//     Config.SignUpSignsIn to sign a new user in at once instead; a taken
//     address then answers ErrInvalidCredential unless the password is the
//     account's, which tells whoever tries that the address is registered.
//   - An unknown email, a wrong password and a disabled account get the
//     same error after the same work (a dummy argon2id hash for unknown
//     emails).
//   - A change of roles, permissions or organisation (SetAccess, SetRoles,
//     SetPermissions, SetOrganization) ends every session and refresh
//     family of the user: privileges are bound to a session at sign-in, so
//     a raised privilege always comes with a new session id (no fixation)
//     and a lowered one takes effect at once (in JWT mode: at once for
//     VerifyStrict and on this instance, on others when the access tokens
//     expire). Setting the access a user already has ends nothing, except
//     sessions left with another snapshot by an earlier change whose
//     ending of sessions failed: retrying a failed call completes it.
//     RenewSession gives the current session a new id without signing in
//     again.
//   - Administrative changes never undo each other, on one instance or
//     several: UserStore.UpdateUser is a compare-and-swap on UpdatedAt and
//     the backend retries on ErrConflict, so a permission removed while
//     another administrator changes the roles (or disables the account)
//     stays removed. A sign-in that races a change re-reads the user after
//     storing its session: if the user changed, that session is ended and
//     made again with the new access (or the sign-in fails if the account
//     was disabled or its password reset), so no session outlives the
//     privileges it was made with.
//   - A revoked session is kept (marked) until it expires, so a replayed
//     token is told ErrRevoked rather than ErrInvalidCredential; an
//     expired one gets ErrExpired.
//   - Store failures fail closed: sign-in, sign-up, refresh, Verify and
//     sign-out return ErrProviderUnavailable (503) and never trust a token
//     they could not check; service resumes by itself when the store is
//     back.
//   - Password hashing is bounded (MaxConcurrentHashes, default
//     GOMAXPROCS): excess requests wait up to HashQueueWait, then get
//     ErrProviderUnavailable with a Retry-After, so the memory held by
//     running hashes stays near MaxConcurrentHashes × HashParams.Memory
//     (19 MiB each by default). The Go collector frees those buffers
//     later; set GOMEMLIMIT to bound the process as a whole.
//   - Rate limits are counted per client address (IPv6 by /64) when the
//     context carries one — authport.Web attaches it to every call it makes
//     (authport.ClientInfoFrom, honouring its Config.ForwardedForHops), so
//     they apply through Web.Handler and Pages alike; direct callers set
//     authport.WithClientInfo — and per account (the
//     email address, hashed, whether or not it exists). Sign-in follows
//     authport.SignInGuard's lockout policy: a known device
//     (ClientInfo.Device, which Web sets from its known-device cookie)
//     counts only against its own budget, so strangers cannot lock the
//     owner out; other devices are slowed (pauses doubling up to 15
//     minutes), never locked for good, and see at most
//     authport.MaxGuessesPerHour(Limits.SignInAccount) guesses per account
//     an hour. Limiter errors (Redis down) fail closed for sign-in,
//     sign-up and refresh.
//   - In JWT mode a parallel refresh race is settled by the store: one
//     exchange wins, and the others count as reuse, which revokes the
//     family (the winner's new tokens included): RFC 9700's reuse
//     detection, with no grace period.
//   - In session mode Session.Native is a SessionInfo (reach it with
//     Session.As).
package diy

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/authport/authport"
	"github.com/authport/authport/internal/jwtcore"
)

const provider = "diy"

// SessionMode selects how sessions are represented.
type SessionMode int

const (
	// ModeSession: server-side sessions with opaque ids (the default).
	ModeSession SessionMode = iota
	// ModeJWT: Ed25519 JWT access tokens and rotating refresh tokens.
	ModeJWT
)

// String returns "session" or "jwt".
func (m SessionMode) String() string {
	switch m {
	case ModeSession:
		return "session"
	case ModeJWT:
		return "jwt"
	}
	return fmt.Sprintf("SessionMode(%d)", int(m))
}

// SigningKey is an Ed25519 key that signs (or has signed) access tokens.
type SigningKey struct {
	// ID is the key id ("kid"); default: the RFC 7638 thumbprint.
	ID string
	// PrivateKey is the Ed25519 private key.
	PrivateKey ed25519.PrivateKey
}

// Config configures a Backend. Only Store is required.
type Config struct {
	// Store keeps users, refresh tokens and (unless Sessions is set)
	// sessions: a *sqlitestore.Store or *pgstore.Store.
	Store Store
	// Sessions, if set, keeps sessions instead of Store (for example a
	// *redisstore.Store). Refresh tokens and their reuse state stay in
	// Store, which is durable.
	Sessions SessionStore
	// SessionMode selects server-side sessions (default) or JWT.
	SessionMode SessionMode
	// IdleTimeout ends a session unused for this long (default 30 min).
	IdleTimeout time.Duration
	// AbsoluteTimeout ends a session this long after sign-in, however
	// active (default 12 h). In JWT mode it is the refresh family's
	// absolute lifetime.
	AbsoluteTimeout time.Duration
	// AccessTokenTTL is the JWT access tokens' lifetime (default 5 min).
	AccessTokenTTL time.Duration
	// Issuer is the "iss" of access tokens and Session.Issuer (default
	// "urn:authport:diy").
	Issuer string
	// Audience is the access tokens' "aud" (default Issuer).
	Audience string
	// SigningKeys: the first signs access tokens; all are published in
	// the JWKS and verify (rotation: list the new key first and keep the
	// old one until its tokens have expired). Empty in JWT mode: a key is
	// generated at start-up, which only suits a single instance.
	SigningKeys []SigningKey
	// KeyGrace is how long a key retired by RotateSigningKey stays
	// published and verifying (default AccessTokenTTL plus Leeway).
	KeyGrace time.Duration
	// Leeway is the clock-skew allowance for access tokens (default 30 s).
	Leeway time.Duration
	// Hash are the argon2id parameters for new hashes (default
	// DefaultHashParams). Stored hashes with other parameters, and bcrypt
	// hashes, are rehashed at the next successful sign-in.
	Hash HashParams
	// MaxConcurrentHashes bounds password hashes running at once (default
	// GOMAXPROCS).
	MaxConcurrentHashes int
	// HashQueueWait is how long a request waits for a hashing slot before
	// it gets ErrProviderUnavailable (default 2 s).
	HashQueueWait time.Duration
	// Limiter keeps rate-limit counters (default: an
	// authport.MemoryLimiter; use redisstore's to share counters between
	// instances, authport.NoLimits to turn limits off).
	Limiter authport.Limiter
	// Limits are the rate-limit policies (zero fields:
	// authport.DefaultLimits).
	Limits authport.Limits
	// Templates overrides the ready pages' templates: any of
	// "layout.html" (defines "head" and "foot"), "login.html" ("login":
	// sign-in and sign-up), "logout.html" ("logout") and "error.html"
	// ("error") found in it replaces the embedded file. Pages are executed
	// with an *authport.PageData.
	Templates fs.FS
	// PagesPath is where Pages is mounted (default "/auth"); it must equal
	// authport.Config.BasePath.
	PagesPath string
	// SignUpSignsIn makes SignUp sign a new user in at once (see the
	// package doc: it reveals registered addresses to whoever tries them).
	SignUpSignsIn bool
	// SweepInterval is how often expired sessions and refresh tokens are
	// deleted, when the stores support it (default 10 min; negative: never).
	SweepInterval time.Duration
	// Logger receives security events (default slog.Default()).
	Logger *slog.Logger
	// Now returns the current time (default time.Now).
	Now func() time.Time
}

// Backend is the DIY authenticator. It is safe for concurrent use.
type Backend struct {
	cfg      Config
	users    UserStore
	sessions SessionStore
	refresh  RefreshStore
	hasher   *hasher
	limiter  authport.Limiter
	limits   authport.Limits
	log      *slog.Logger
	now      func() time.Time
	keys     *keyRing
	pages    *template.Template
	verifier *jwtcore.Verifier
	touchGap time.Duration

	closeOnce sync.Once
	stop      chan struct{}
	done      chan struct{}
	closers   []io.Closer
}

var (
	_ authport.Authenticator  = (*Backend)(nil)
	_ authport.PasswordSignIn = (*Backend)(nil)
	_ authport.SignUp         = (*Backend)(nil)
	_ authport.Refresher      = (*Backend)(nil)
	_ authport.Revoker        = (*Backend)(nil)
	_ authport.StrictVerifier = (*Backend)(nil)
	_ authport.Describer      = (*Backend)(nil)
)

func misconfigured(reason string) error {
	return &authport.Error{Kind: authport.ErrMisconfigured, Provider: provider, Op: "new", Reason: reason}
}

// New returns a Backend. It checks the configuration and computes the dummy
// password hash; the stores must already be open (and migrated).
func New(ctx context.Context, cfg Config) (*Backend, error) {
	if cfg.Store == nil {
		return nil, misconfigured("Config.Store is required (sqlitestore.Open or pgstore.Open)")
	}
	if cfg.SessionMode != ModeSession && cfg.SessionMode != ModeJWT {
		return nil, misconfigured("unknown SessionMode")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&cfg.IdleTimeout, 30*time.Minute)
	def(&cfg.AbsoluteTimeout, 12*time.Hour)
	def(&cfg.AccessTokenTTL, 5*time.Minute)
	def(&cfg.Leeway, jwtcore.DefaultLeeway)
	def(&cfg.HashQueueWait, 2*time.Second)
	def(&cfg.SweepInterval, 10*time.Minute)
	def(&cfg.KeyGrace, cfg.AccessTokenTTL+cfg.Leeway)
	switch {
	case cfg.IdleTimeout < 0 || cfg.AbsoluteTimeout < 0 || cfg.AccessTokenTTL < 0 || cfg.HashQueueWait < 0 || cfg.KeyGrace < 0:
		return nil, misconfigured("negative duration")
	case cfg.IdleTimeout > cfg.AbsoluteTimeout:
		return nil, misconfigured("IdleTimeout exceeds AbsoluteTimeout")
	case cfg.Leeway < 0 || cfg.Leeway > jwtcore.MaxLeeway:
		return nil, misconfigured("Leeway outside 0..5m")
	}
	if cfg.PagesPath == "" {
		cfg.PagesPath = "/auth"
	}
	if cfg.Issuer == "" {
		cfg.Issuer = "urn:authport:diy"
	}
	if cfg.Audience == "" {
		cfg.Audience = cfg.Issuer
	}
	if cfg.Hash == (HashParams{}) {
		cfg.Hash = DefaultHashParams
	}
	if cfg.MaxConcurrentHashes <= 0 {
		cfg.MaxConcurrentHashes = runtime.GOMAXPROCS(0)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	h, err := newHasher(cfg.Hash, cfg.MaxConcurrentHashes, cfg.HashQueueWait)
	if err != nil {
		return nil, misconfigured(err.Error())
	}
	b := &Backend{
		cfg:      cfg,
		users:    cfg.Store,
		sessions: cfg.Store,
		refresh:  cfg.Store,
		hasher:   h,
		limiter:  cfg.Limiter,
		limits:   cfg.Limits.WithDefaults(),
		log:      cfg.Logger.With("provider", provider),
		now:      cfg.Now,
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	if cfg.Sessions != nil {
		b.sessions = cfg.Sessions
	}
	if b.limiter == nil {
		b.limiter = &authport.MemoryLimiter{Now: cfg.Now}
	}
	// Record a use at most this often, so a session check is a read.
	b.touchGap = min(time.Minute, cfg.IdleTimeout/10)
	if cfg.SessionMode == ModeJWT {
		if err := b.initJWT(); err != nil {
			return nil, err
		}
	}
	if _, err := b.pageTemplates(); err != nil {
		return nil, misconfigured(err.Error())
	}
	go b.sweepLoop()
	return b, nil
}

// Close stops background work and closes stores the backend opened itself
// (OpenURL). Stores passed in Config stay open. Close is idempotent.
func (b *Backend) Close() error {
	var errs []error
	b.closeOnce.Do(func() {
		close(b.stop)
		<-b.done
		for _, c := range b.closers {
			errs = append(errs, c.Close())
		}
	})
	return errors.Join(errs...)
}

func (b *Backend) sweepLoop() {
	defer close(b.done)
	if b.cfg.SweepInterval < 0 {
		return
	}
	var sweepers []Sweeper
	for _, s := range []any{b.users, b.sessions, b.refresh} {
		if sw, ok := s.(Sweeper); ok && !containsSweeper(sweepers, sw) {
			sweepers = append(sweepers, sw)
		}
	}
	if len(sweepers) == 0 {
		return
	}
	t := time.NewTicker(b.cfg.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
			for _, sw := range sweepers {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				n, err := sw.Sweep(ctx, b.now())
				cancel()
				if err != nil {
					b.log.Warn("sweep failed", "err", err)
				} else if n > 0 {
					b.log.Debug("swept expired records", "count", n)
				}
			}
		}
	}
}

func containsSweeper(list []Sweeper, s Sweeper) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Provider returns "diy".
func (b *Backend) Provider() string { return provider }

// Mode reports the session mode.
func (b *Backend) Mode() SessionMode { return b.cfg.SessionMode }

// Revocations implements authport.RevocationSharer in JWT mode: the deny
// list Verify consults, so that Config.Cluster can share this instance's
// revocations with the others'. It is nil in session mode, where every
// instance reads the same session store.
func (b *Backend) Revocations() authport.RevocationList {
	if b.verifier == nil {
		return nil
	}
	return b.verifier
}

// Describe reports DIY's limits: in session mode there is no refresh token
// and revocation is seen at once; in JWT mode Verify sees a revocation only
// when the access token expires (VerifyStrict sees it at once).
func (b *Backend) Describe() authport.Description {
	d := authport.Description{Unsupported: map[authport.Capability]string{
		authport.CapRedirectSignIn: "DIY signs users in with a password on the server; there is no hosted page to redirect to",
		authport.CapLogoutRedirect: "DIY's sessions live in the application's own store: Revoke ends them, and there is no provider page to sign out of",
	}}
	if b.cfg.SessionMode == ModeSession {
		d.Unsupported[authport.CapRefresh] = "server-side session mode: sessions slide on use and there is no refresh token (use ModeJWT)"
	} else {
		d.RevocationDelay = b.cfg.AccessTokenTTL + b.cfg.Leeway
	}
	return d
}

// Client describes the client of a request: its address (for per-IP rate
// limits) and user agent (shown in session lists). It is
// authport.ClientInfo, which authport.Web attaches to every adapter call.
type Client = authport.ClientInfo

// WithClient returns a context that carries c: authport.WithClientInfo.
//
// Deprecated: authport.Web (its Handler and, through it, Pages) now attaches
// the client to every call it makes, with the address it rate-limits by
// (Config.ForwardedForHops). An application calling SignInWithPassword,
// SignUp or Refresh from its own handlers should use
// authport.WithClientInfo(ctx, web.ClientInfo(r)), or per-IP limits do not
// apply. WithClient remains as a thin wrapper.
func WithClient(ctx context.Context, c Client) context.Context {
	return authport.WithClientInfo(ctx, c)
}

// ClientFrom returns the client of ctx (authport.ClientInfoFrom), zero if
// none.
func ClientFrom(ctx context.Context) Client {
	c, _ := authport.ClientInfoFrom(ctx)
	return c
}

// ipSubject is the rate-limit subject for a client address: the address
// itself, or for IPv6 its /64, which one client usually controls in full
// (so rotating addresses within it does not escape the limit). An address
// that does not parse is used as given.
func ipSubject(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// Errors. Every error the backend returns is an *authport.Error of one of
// authport's kinds; the reason is safe to log.

func invalidInput(op, reason string) error {
	return &authport.Error{Kind: authport.ErrInvalidInput, Provider: provider, Op: op, Reason: reason}
}

func fail(k *authport.Kind, op, reason string) error {
	return &authport.Error{Kind: k, Provider: provider, Op: op, Reason: reason}
}

// unavailable wraps a store or limiter failure: 503, fail closed.
func unavailable(op string, err error) error {
	if ae, ok := errors.AsType[*authport.Error](err); ok && ae.Kind != nil {
		return err
	}
	return &authport.Error{Kind: authport.ErrProviderUnavailable, Provider: provider, Op: op,
		Reason: "store unavailable", Err: errors.Join(err, retryAfter(time.Second))}
}

func rateLimited(op string, d time.Duration) error {
	return &authport.Error{Kind: authport.ErrRateLimited, Provider: provider, Op: op,
		Reason: "too many attempts", Err: retryAfter(d)}
}

// limit applies one policy; on a pause it returns ErrRateLimited.
func (b *Backend) limit(ctx context.Context, op, scope, subject string, p authport.LimitPolicy) error {
	if subject == "" {
		return nil
	}
	d, err := b.limiter.Hit(ctx, authport.LimiterKey(scope, subject), p)
	if err != nil {
		return unavailable(op, err)
	}
	if d > 0 {
		b.log.LogAttrs(ctx, slog.LevelInfo, "rate limited", slog.String("op", op), slog.String("scope", scope), slog.Duration("retry_after", d))
		return rateLimited(op, d)
	}
	return nil
}

// NormalizeEmail trims an email address, lower-cases it and checks its
// shape: one "@", a non-empty local part of at most 64 bytes, a domain with
// a dot-separated label structure, at most 254 bytes in all, no spaces or
// control characters. The error is of kind authport.ErrInvalidInput.
func NormalizeEmail(email string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(email))
	bad := func(r string) (string, error) { return "", invalidInput("email", r) }
	switch {
	case e == "":
		return bad("email is required")
	case len(e) > 254:
		return bad("email is too long")
	}
	for _, r := range e {
		if r < 0x21 || r == 0x7f || r == '\uFFFD' || (r >= 0x80 && r <= 0x9f) {
			return bad("email contains a space or control character")
		}
		if r == '"' || r == '(' || r == ')' || r == ',' || r == ':' || r == ';' || r == '<' || r == '>' || r == '[' || r == ']' || r == '\\' {
			return bad("email contains a character that is not allowed")
		}
	}
	at := strings.LastIndexByte(e, '@')
	if at <= 0 || strings.Count(e, "@") != 1 {
		return bad("email must have the form name@domain")
	}
	local, domain := e[:at], e[at+1:]
	if len(local) > 64 || strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") || strings.Contains(local, "..") {
		return bad("email local part is malformed")
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return bad("email domain is malformed")
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || strings.HasPrefix(l, "-") || strings.HasSuffix(l, "-") {
			return bad("email domain is malformed")
		}
	}
	return e, nil
}
