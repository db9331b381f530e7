// Package devkit is the development kit shared by the authport command
// (cmd/authport) and the example web app (examples/webapp): it starts a
// provider's local emulator by name with seeded demo accounts and reports
// the environment variables that point an application (authport.FromEnv)
// or the provider's official SDK at it; it opens the DIY backend on a
// database URL, seeds and lists its users; and it makes and parses the
// cookie-sealing and DIY signing keys.
//
// Every emulator listens on 127.0.0.1 only and answers the JSON control
// API under /__authport/ (create users, sign in, mint tokens, revoke,
// inject faults; see internal/emulator). Tests should use the provider's
// own emulator package (oidc/oidctest, clerk/clerktest, …) directly.
package devkit

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Account is a user seeded into an emulator (or a DIY store).
type Account struct {
	// Email is the sign-in email address.
	Email string `json:"email"`
	// Password is the sign-in password.
	Password string `json:"password"`
	// Roles are application roles ("admin").
	Roles []string `json:"roles,omitempty"`
}

// DemoEmail and AdminEmail are the seeded demo accounts' addresses.
const (
	DemoEmail  = "demo@example.com"
	AdminEmail = "admin@example.com"
)

// DemoAccounts returns the two demo accounts with fresh random passwords:
// DemoEmail with no role and AdminEmail with the role "admin".
func DemoAccounts() []Account {
	return []Account{
		{Email: DemoEmail, Password: NewPassword()},
		{Email: AdminEmail, Password: NewPassword(), Roles: []string{"admin"}},
	}
}

// FindAccount returns the first account holding role, or, with role "",
// the first holding no role at all (the plain demo user). Emulators of
// shared services may change the addresses, so find accounts this way
// rather than by DemoEmail.
func FindAccount(accounts []Account, role string) (Account, bool) {
	for _, a := range accounts {
		if (role == "" && len(a.Roles) == 0) || (role != "" && slices.Contains(a.Roles, role)) {
			return a, true
		}
	}
	return Account{}, false
}

// NewPassword returns a random 26-character password (130 bits).
func NewPassword() string { return strings.ToLower(rand.Text()) }

// EmulatorOptions configures StartEmulator.
type EmulatorOptions struct {
	// Provider names the emulator to start: one of EmulatedProviders().
	Provider string
	// Addr is the loopback address to listen on (default 127.0.0.1:0).
	Addr string
	// Accounts are created in the emulator (default: DemoAccounts()).
	Accounts []Account
	// NoAccounts creates no account at all.
	NoAccounts bool
	// RedirectURIs, if set, are the only OAuth redirect URIs the emulated
	// client accepts (default: any loopback or https URI, as the emulator
	// allows).
	RedirectURIs []string
	// Logger receives the emulator's debug lines (default: discarded).
	Logger *slog.Logger
}

// Emulator is a running provider emulator.
type Emulator struct {
	// Provider is the provider's registered adapter name.
	Provider string
	// URL is the emulator's base URL (its control API is URL + "/__authport/").
	URL string
	// Env holds the variables that configure the adapter for this
	// emulator, AUTH_PROVIDER included; some also point the provider's
	// official SDK at it.
	Env map[string]string
	// Accounts are the seeded accounts.
	Accounts []Account
	// SignIn says, in one line, how a person signs in with this provider
	// (hosted page, password form …).
	SignIn string

	closeOnce sync.Once
	close     func()
}

// Close stops the emulator. It is safe to call more than once.
func (e *Emulator) Close() {
	e.closeOnce.Do(func() {
		if e.close != nil {
			e.close()
		}
	})
}

// EnvKeys returns Env's keys in a stable order (AUTH_PROVIDER first).
func (e *Emulator) EnvKeys() []string {
	keys := make([]string, 0, len(e.Env))
	for k := range e.Env {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if (keys[i] == "AUTH_PROVIDER") != (keys[j] == "AUTH_PROVIDER") {
			return keys[i] == "AUTH_PROVIDER"
		}
		return keys[i] < keys[j]
	})
	return keys
}

// Getenv returns a lookup that answers Env's variables first and falls
// back to parent (which may be nil).
func (e *Emulator) Getenv(parent func(string) string) func(string) string {
	return func(k string) string {
		if v, ok := e.Env[k]; ok {
			return v
		}
		if parent != nil {
			return parent(k)
		}
		return ""
	}
}

// starter starts one provider's emulator and fills in e (URL, Env, SignIn,
// close) and creates o.Accounts.
type starter func(ctx context.Context, o EmulatorOptions, e *Emulator) error

var starters = map[string]starter{}

func register(name string, s starter) { starters[name] = s }

// EmulatedProviders lists the providers StartEmulator can emulate, sorted.
func EmulatedProviders() []string {
	names := make([]string, 0, len(starters))
	for n := range starters {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// ErrUnknownProvider is returned by StartEmulator for a provider without an
// emulator here.
var ErrUnknownProvider = errors.New("emulate: no emulator for this provider")

// StartEmulator starts the emulator for o.Provider and seeds its accounts. The
// caller must Close it.
func StartEmulator(ctx context.Context, o EmulatorOptions) (*Emulator, error) {
	name := strings.ToLower(strings.TrimSpace(o.Provider))
	s, ok := starters[name]
	if !ok {
		return nil, fmt.Errorf("%w %q (have: %s)", ErrUnknownProvider, o.Provider, strings.Join(EmulatedProviders(), ", "))
	}
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if !o.NoAccounts && o.Accounts == nil {
		o.Accounts = DemoAccounts()
	}
	if o.NoAccounts {
		o.Accounts = nil
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	e := &Emulator{Provider: name, Accounts: slices.Clone(o.Accounts)}
	if err := s(ctx, o, e); err != nil {
		e.Close()
		return nil, fmt.Errorf("emulate %s: %w", name, err)
	}
	return e, nil
}
