// Package app is the example web application behind
// `go run ./examples/webapp`, as an importable package so that its tests
// and the browser suite (browsertest) run it in-process.
//
// It is written once against authport: the same routes, guards and pages
// serve whichever provider AUTH_PROVIDER names. The only provider-specific
// code is start-up: the DIY backend on a SQLite file in the data folder
// (the default, nothing to install), and, with AUTHPORT_EMULATE=1, the
// chosen provider's local emulator with seeded demo accounts.
//
// Routes:
//
//	GET  /            public home page; shows the login state (component-level protection)
//	     /app/...     protected subtree: authport.Require (layout-route protection)
//	GET  /admin       authport.RequireRole("admin"): 403 for everybody else
//	GET  /api/me      JSON session; 401 + WWW-Authenticate for API clients, redirect for browsers
//	     /auth/...    sign-in (form or hosted page, by capability), sign-up, callback,
//	                  sign-out (POST), /auth/session, /auth/refresh
//	GET  /healthz     liveness
//
// Every dynamic page is sent with Cache-Control: no-store, so the back
// button never shows a signed-out user protected content.
package app

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/authport/authport"
	_ "github.com/authport/authport/all" // every adapter, chosen by AUTH_PROVIDER
	"github.com/authport/authport/cluster"
	_ "github.com/authport/authport/cluster/postgres" // AUTHPORT_CLUSTER_URL=postgres://…
	_ "github.com/authport/authport/cluster/redis"    // AUTHPORT_CLUSTER_URL=redis://…
	"github.com/authport/authport/cmd/authport/devkit"
	"github.com/authport/authport/diy"
	_ "github.com/authport/authport/diy/pgstore"     // AUTHPORT_DB_URL=postgres://…
	_ "github.com/authport/authport/diy/redisstore"  // AUTHPORT_REDIS_URL=redis://…
	_ "github.com/authport/authport/diy/sqlitestore" // the default: sqlite:<data>/authport.db
)

// App is the example application: an http.Handler plus what was started
// to serve it.
type App struct {
	// Handler serves the whole application.
	Handler http.Handler
	// Web is the authport HTTP layer.
	Web *authport.Web
	// Auth is the adapter in use.
	Auth authport.Authenticator
	// Provider is the adapter's name.
	Provider string
	// Accounts are the seeded demo accounts (emulate mode), with their
	// passwords.
	Accounts []devkit.Account
	// Emulator is the in-process emulator (emulate mode with a hosted
	// provider), else nil.
	Emulator *devkit.Emulator
	// Cluster shares state with the other instances (AUTHPORT_CLUSTER_URL),
	// else nil.
	Cluster *cluster.Cluster
	// DBURL is the DIY backend's database (AUTHPORT_DB_URL), "" for other
	// providers.
	DBURL string

	logger    *slog.Logger
	authProxy *url.URL
	pages     *template.Template
	closers   []func() error
}

// Close stops the emulator and closes the adapter's resources.
func (a *App) Close() error {
	var errs []error
	for i := len(a.closers) - 1; i >= 0; i-- {
		errs = append(errs, a.closers[i]())
	}
	a.closers = nil
	return errors.Join(errs...)
}

// New builds the application for settings s. origin is the URL the app
// is reached at (http://127.0.0.1:8080); it decides whether cookies may go
// over plain HTTP. Logs go to logger.
func New(ctx context.Context, s Settings, origin string, logger *slog.Logger) (_ *App, err error) {
	a := &App{logger: logger, Provider: s.Provider}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	if err := mkdirData(s.DataDir); err != nil {
		return nil, err
	}
	keys, err := cookieKeys(s, logger)
	if err != nil {
		return nil, err
	}
	insecure, err := decideInsecure(s, origin, logger)
	if err != nil {
		return nil, err
	}

	getenv := s.Getenv
	switch {
	case s.Provider == "diy":
		// DIY keeps its users in the data folder unless AUTHPORT_DB_URL
		// names another database.
		def := "sqlite:" + filepath.Join(s.DataDir, "authport.db")
		getenv = overlay(getenv, map[string]string{EnvDBURL: def}, false)
		a.DBURL = getenv(EnvDBURL)
	case s.Emulate:
		em, err := devkit.StartEmulator(ctx, devkit.EmulatorOptions{Provider: s.Provider, Logger: logger.With("component", "emulator")})
		if err != nil {
			return nil, err
		}
		a.closers = append(a.closers, func() error { em.Close(); return nil })
		a.Emulator, a.Accounts = em, em.Accounts
		getenv = em.Getenv(getenv)
	}
	// The one provider-agnostic way in: the registry reads AUTH_PROVIDER
	// and the provider's own variables.
	auth, err := authport.FromEnvFunc(ctx, overlay(getenv, map[string]string{authport.ProviderEnv: s.Provider}, true))
	if err != nil {
		return nil, err
	}
	a.Auth = auth
	if c, ok := auth.(io.Closer); ok {
		a.closers = append(a.closers, c.Close)
	}
	if b, ok := auth.(*diy.Backend); ok && s.Emulate {
		a.Accounts = devkit.DemoAccounts()
		if err := devkit.SeedDIY(ctx, b, a.Accounts); err != nil {
			return nil, err
		}
	}

	cfg := authport.Config{
		CookieKeys:   keys,
		Insecure:     insecure,
		PublicOrigin: s.PublicOrigin,
		Logger:       logger,
	}
	// Several instances behind a load balancer: AUTHPORT_CLUSTER_URL (or
	// AUTHPORT_REDIS_URL) shares revocations, refreshes and rate limits.
	cl, err := cluster.FromEnv(ctx, getenv)
	if err != nil {
		return nil, err
	}
	if cl != nil {
		a.Cluster = cl
		a.closers = append(a.closers, cl.Close)
		cfg.Cluster = cl
	}
	if t, ok := a.Auth.(interface{ WebTemplates() *template.Template }); ok {
		cfg.Templates = t.WebTemplates() // the adapter's ready pages' look
	}
	web, err := authport.NewWeb(a.Auth, cfg)
	if err != nil {
		return nil, err
	}
	if cl != nil {
		// Serve once every recent revocation is known (until then every
		// token would be refused with 503).
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := cl.WaitSynced(wctx)
		cancel()
		if err != nil {
			logger.Warn("not yet in sync with the cluster store; tokens are refused until it is", "err", err)
		}
		logger.Info("running as one of several instances: revocations, refreshes and rate limits are shared")
	}
	a.Web = web
	a.authProxy = s.AuthProxy
	a.pages = pages
	a.Handler = a.routes()
	return a, nil
}

func mkdirData(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("cannot create the data folder %s (set %s): %w", dir, EnvData, err)
	}
	return nil
}

// cookieKeys returns AUTHPORT_COOKIE_KEY's keys, or the key kept in the
// data folder, generating it on first start.
func cookieKeys(s Settings, logger *slog.Logger) ([][]byte, error) {
	if v := s.Getenv(EnvCookieKey); strings.TrimSpace(v) != "" {
		return devkit.ParseCookieKeys(v)
	}
	path := filepath.Join(s.DataDir, "cookie.key")
	k, created, err := devkit.LoadOrCreateCookieKey(path)
	if err != nil {
		return nil, fmt.Errorf("cookie key: %w", err)
	}
	if created {
		logger.Info("generated a cookie-sealing key", "file", path)
	}
	return [][]byte{k}, nil
}

// decideInsecure allows cookies over plain HTTP only for a loopback origin.
func decideInsecure(s Settings, origin string, logger *slog.Logger) (bool, error) {
	if s.PublicOrigin != "" {
		u, _ := url.Parse(s.PublicOrigin)
		if u.Scheme == "https" {
			return false, nil
		}
		if !isLoopback(u.Hostname()) {
			return false, fmt.Errorf("%s may use http only for a loopback host; put TLS in front", EnvPublicOrigin)
		}
		logger.Warn("development mode: plain HTTP on loopback, so session cookies lose Secure and the __Host- prefix (authport.Config.Insecure)", "origin", s.PublicOrigin)
		return true, nil
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false, err
	}
	if u.Scheme == "http" && isLoopback(u.Hostname()) {
		logger.Warn("development mode: plain HTTP on loopback, so session cookies lose Secure and the __Host- prefix (authport.Config.Insecure)", "origin", origin)
		return true, nil
	}
	if u.Scheme == "http" {
		logger.Warn("serving plain HTTP on a non-loopback address: session cookies are Secure, so browsers keep them only over HTTPS; put TLS in front and set " + EnvPublicOrigin)
	}
	return false, nil
}

// overlay returns a getenv that answers vars' values (always when force
// is set, else only for variables getenv leaves empty) and getenv's
// otherwise.
func overlay(getenv func(string) string, vars map[string]string, force bool) func(string) string {
	return func(k string) string {
		v, ok := vars[k]
		if !ok {
			return getenv(k)
		}
		if !force {
			if cur := getenv(k); strings.TrimSpace(cur) != "" {
				return cur
			}
		}
		return v
	}
}

// Server is the application listening on an address.
type Server struct {
	// URL is where the app is served, such as http://127.0.0.1:8080.
	URL string
	// App is the application.
	App *App

	srv  *http.Server
	done chan error
	// conns maps each connection with a request in flight; Close waits
	// only for those.
	conns  sync.Map
	active atomic.Int64
}

// Start reads the settings through getenv, listens on ADDR, builds the
// application and serves it in the background. It writes its log (and, in
// emulate mode, how to sign in) to out. The caller must Close the server.
func Start(ctx context.Context, getenv func(string) string, out io.Writer) (*Server, error) {
	s, err := LoadSettings(getenv)
	if err != nil {
		return nil, err
	}
	logger := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s (set %s): %w", s.Addr, EnvAddr, err)
	}
	origin := "http://" + displayAddr(ln.Addr().(*net.TCPAddr))
	a, err := New(ctx, s, origin, logger)
	if err != nil {
		ln.Close()
		return nil, err
	}
	srv := &http.Server{
		Handler:           a.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	sv := &Server{URL: origin, App: a, srv: srv, done: make(chan error, 1)}
	srv.ConnState = sv.track
	go func() { sv.done <- srv.Serve(ln) }()
	logger.Info("authport example app listening", "url", origin, "provider", a.Provider,
		"capabilities", capNames(a.Auth))
	printSignIn(out, sv)
	return sv, nil
}

// displayAddr is the address to print: a wildcard host becomes 127.0.0.1.
func displayAddr(a *net.TCPAddr) string {
	if a.IP == nil || a.IP.IsUnspecified() {
		return net.JoinHostPort("127.0.0.1", fmt.Sprint(a.Port))
	}
	return a.String()
}

// track counts connections with a request in flight.
func (s *Server) track(c net.Conn, st http.ConnState) {
	_, was := s.conns.Load(c)
	switch now := st == http.StateActive; {
	case now && !was:
		s.conns.Store(c, true)
		s.active.Add(1)
	case !now && was:
		s.conns.Delete(c)
		s.active.Add(-1)
	}
}

// Close shuts the server down, waiting up to 5 s for requests in flight
// (but not for connections a browser opened ahead and never used), and
// closes the application.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	shut := make(chan error, 1)
	go func() { shut <- s.srv.Shutdown(ctx) }()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var err error
wait:
	for {
		select {
		case err = <-shut:
			break wait
		case <-tick.C:
			if s.active.Load() == 0 {
				s.srv.Close() // only idle or never-used connections are left
			}
		}
	}
	if serr := <-s.done; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return errors.Join(err, s.App.Close())
}

// Run serves the application until ctx is cancelled (Ctrl-C), then shuts
// down. It is main's whole logic, as a function tests can call.
func Run(ctx context.Context, getenv func(string) string, out io.Writer) error {
	s, err := Start(ctx, getenv, out)
	if err != nil {
		return err
	}
	select {
	case <-ctx.Done():
	case err := <-s.done:
		s.done <- err // let Close see it
	}
	return s.Close()
}

// printSignIn tells a person how to sign in.
func printSignIn(out io.Writer, s *Server) {
	a := s.App
	var b strings.Builder
	fmt.Fprintf(&b, "\n  authport example app (%s) on %s\n", a.Provider, s.URL)
	if a.Emulator != nil {
		fmt.Fprintf(&b, "  %s emulator on %s: %s\n", a.Provider, a.Emulator.URL, a.Emulator.SignIn)
	}
	if len(a.Accounts) > 0 {
		b.WriteString("  demo accounts:\n")
		for _, acc := range a.Accounts {
			role := ""
			if len(acc.Roles) > 0 {
				role = "  (roles: " + strings.Join(acc.Roles, ", ") + ")"
			}
			fmt.Fprintf(&b, "    %-20s password %s%s\n", acc.Email, acc.Password, role)
		}
	} else if a.Provider == "diy" {
		b.WriteString("  create an account at " + s.URL + "/auth/signup, or restart with AUTHPORT_EMULATE=1 for demo accounts\n")
		db := "$" + EnvDBURL // never print a database URL that may hold a password
		if strings.HasPrefix(a.DBURL, "sqlite:") {
			db = a.DBURL
		}
		fmt.Fprintf(&b, "  manage users: go run ./cmd/authport users list --db %s\n", db)
	}
	b.WriteString("\n")
	io.WriteString(out, b.String())
}

func capNames(a authport.Authenticator) string {
	var names []string
	for _, c := range authport.Capabilities(a) {
		names = append(names, string(c))
	}
	return strings.Join(names, ",")
}
