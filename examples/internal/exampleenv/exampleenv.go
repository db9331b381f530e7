// Package exampleenv opens the authenticator the environment names for the
// small examples (chi, gin, echo, the TanStack Start API), as
// examples/webapp does: AUTH_PROVIDER and that provider's variables, or
// AUTHPORT_EMULATE=1 to run the provider's emulator in-process with two
// demo accounts (DIY then uses a throw-away SQLite file).
//
//	AUTH_PROVIDER        diy (default), oidc, clerk, workos, supabase, auth0, firebase, ...
//	AUTHPORT_EMULATE=1   start the provider's emulator with demo accounts
//	AUTHPORT_DB_URL      DIY's database (default: sqlite in a temporary folder)
//	AUTHPORT_COOKIE_KEY  cookie-sealing key(s) (default: a random key, so
//	                     sessions end when the process stops)
package exampleenv

import (
	"context"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/authport/authport"
	_ "github.com/authport/authport/all" // every adapter, chosen by AUTH_PROVIDER
	"github.com/authport/authport/cmd/authport/devkit"
	"github.com/authport/authport/diy"
)

// Env is an opened authenticator and its HTTP layer.
type Env struct {
	// Provider is the adapter's name.
	Provider string
	// Web is the HTTP layer over Auth.
	Web *authport.Web
	// Auth is the adapter.
	Auth authport.Authenticator
	// Accounts are the seeded demo accounts (emulate mode only).
	Accounts []devkit.Account
	// Emulator is the running emulator (emulate mode, hosted providers).
	Emulator *devkit.Emulator

	closers []func()
}

// Close stops the emulator and releases the adapter.
func (e *Env) Close() {
	for i := len(e.closers) - 1; i >= 0; i-- {
		e.closers[i]()
	}
	e.closers = nil
}

// Open reads getenv (os.Getenv when nil) and builds the adapter and a Web
// with cfg; cfg.CookieKeys and cfg.Templates are filled in when empty.
func Open(ctx context.Context, getenv func(string) string, cfg authport.Config, logger *slog.Logger) (_ *Env, err error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if logger == nil {
		logger = slog.Default()
	}
	e := &Env{Provider: getenv(authport.ProviderEnv)}
	if e.Provider == "" {
		e.Provider = "diy"
	}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	emulate := getenv("AUTHPORT_EMULATE") == "1"
	env := map[string]string{authport.ProviderEnv: e.Provider}
	switch {
	case e.Provider == "diy":
		if getenv("AUTHPORT_DB_URL") == "" {
			dir, err := os.MkdirTemp("", "authport-example-")
			if err != nil {
				return nil, err
			}
			e.closers = append(e.closers, func() { os.RemoveAll(dir) })
			env["AUTHPORT_DB_URL"] = "sqlite:" + filepath.Join(dir, "authport.db")
		}
	case emulate:
		em, err := devkit.StartEmulator(ctx, devkit.EmulatorOptions{Provider: e.Provider, Logger: logger.With("component", "emulator")})
		if err != nil {
			return nil, err
		}
		e.closers = append(e.closers, em.Close)
		e.Emulator, e.Accounts = em, em.Accounts
		getenv = em.Getenv(getenv)
	}
	parent := getenv
	getenv = func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		return parent(k)
	}
	e.Auth, err = authport.FromEnvFunc(ctx, getenv)
	if err != nil {
		return nil, err
	}
	if c, ok := e.Auth.(io.Closer); ok {
		e.closers = append(e.closers, func() { c.Close() })
	}
	if b, ok := e.Auth.(*diy.Backend); ok && emulate {
		e.Accounts = devkit.DemoAccounts()
		if err := devkit.SeedDIY(ctx, b, e.Accounts); err != nil {
			return nil, err
		}
	}
	if len(cfg.CookieKeys) == 0 {
		if v := getenv("AUTHPORT_COOKIE_KEY"); v != "" {
			if cfg.CookieKeys, err = devkit.ParseCookieKeys(v); err != nil {
				return nil, fmt.Errorf("AUTHPORT_COOKIE_KEY: %w", err)
			}
		} else {
			cfg.CookieKeys = [][]byte{devkit.NewCookieKey()}
		}
	}
	if t, ok := e.Auth.(interface{ WebTemplates() *template.Template }); ok && cfg.Templates == nil {
		cfg.Templates = t.WebTemplates() // the adapter's ready pages' look
	}
	if cfg.Logger == nil {
		cfg.Logger = logger
	}
	if e.Web, err = authport.NewWeb(e.Auth, cfg); err != nil {
		return nil, err
	}
	return e, nil
}

// PrintAccounts writes the demo accounts, for a newcomer's first sign-in.
func (e *Env) PrintAccounts(w io.Writer) {
	for _, a := range e.Accounts {
		fmt.Fprintf(w, "  %s / %s %v\n", a.Email, a.Password, a.Roles)
	}
}
