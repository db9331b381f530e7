package authport

import (
	"context"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
)

// Opener opens an adapter from a URL whose scheme is the adapter's name,
// such as auth0://tenant.example.com?audience=https://api.example.com.
type Opener func(ctx context.Context, u *url.URL) (Authenticator, error)

// EnvOpener opens an adapter from its conventional environment variables,
// read through getenv (CLERK_SECRET_KEY, WORKOS_API_KEY, ...). A missing
// or malformed variable is an error of kind ErrMisconfigured naming the
// variable, never quoting its value.
type EnvOpener func(ctx context.Context, getenv func(string) string) (Authenticator, error)

// ProviderEnv is the environment variable FromEnv reads to pick an adapter.
const ProviderEnv = "AUTH_PROVIDER"

type driver struct {
	fromURL Opener
	fromEnv EnvOpener
}

var registry struct {
	mu      sync.RWMutex
	drivers map[string]driver
}

// Register makes an adapter available by name to Open, OpenURL and
// FromEnv. Adapters call it from an init function, as database/sql drivers
// do; import "github.com/authport/authport/all" to register them all.
// Either opener may be nil if the adapter cannot be opened that way, but
// not both. Register panics if name is not a lower-case URL scheme
// ([a-z][a-z0-9+.-]*), if both openers are nil, or if name is already
// registered.
func Register(name string, fromURL Opener, fromEnv EnvOpener) {
	if !validScheme(name) {
		panic("authport: Register: invalid adapter name " + `"` + name + `"`)
	}
	if fromURL == nil && fromEnv == nil {
		panic("authport: Register: both openers are nil for " + name)
	}
	registry.mu.Lock()
	defer registry.mu.Unlock()
	if _, dup := registry.drivers[name]; dup {
		panic("authport: Register called twice for adapter " + name)
	}
	if registry.drivers == nil {
		registry.drivers = make(map[string]driver)
	}
	registry.drivers[name] = driver{fromURL, fromEnv}
}

// Providers returns the names of the registered adapters, sorted.
func Providers() []string {
	registry.mu.RLock()
	defer registry.mu.RUnlock()
	names := make([]string, 0, len(registry.drivers))
	for n := range registry.drivers {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func lookup(name string) (driver, error) {
	registry.mu.RLock()
	d, ok := registry.drivers[name]
	registry.mu.RUnlock()
	if ok {
		return d, nil
	}
	return driver{}, unknownProvider()
}

func unknownProvider() error {
	names := Providers()
	if len(names) == 0 {
		return NewError(ErrMisconfigured, "", "open",
			"no adapter is registered: import github.com/authport/authport/all or an adapter package")
	}
	return NewError(ErrMisconfigured, "", "open", "unknown adapter (registered: "+strings.Join(names, ", ")+")")
}

// Open opens the adapter registered as name, configured from the process
// environment (os.Getenv).
func Open(ctx context.Context, name string) (Authenticator, error) {
	return openEnv(ctx, name, os.Getenv)
}

func openEnv(ctx context.Context, name string, getenv func(string) string) (Authenticator, error) {
	d, err := lookup(name)
	if err != nil {
		return nil, err
	}
	if d.fromEnv == nil {
		return nil, NewError(ErrMisconfigured, name, "open", "this adapter cannot be configured from the environment; use OpenURL")
	}
	return d.fromEnv(ctx, getenv)
}

// OpenURL opens the adapter named by rawURL's scheme, configured by the
// rest of the URL: "auth0://tenant.example.com?audience=...". Errors never
// repeat the URL, which may hold a secret.
func OpenURL(ctx context.Context, rawURL string) (Authenticator, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme == "" {
		return nil, NewError(ErrMisconfigured, "", "open", "malformed adapter URL (want <adapter>://...)")
	}
	name := strings.ToLower(u.Scheme)
	d, err := lookup(name)
	if err != nil {
		return nil, err
	}
	if d.fromURL == nil {
		return nil, NewError(ErrMisconfigured, name, "open", "this adapter cannot be configured by URL; use Open")
	}
	return d.fromURL(ctx, u)
}

// FromEnv opens the adapter named by the AUTH_PROVIDER environment variable
// (a registered name such as "clerk", or an adapter URL), configured from
// that adapter's conventional variables.
func FromEnv(ctx context.Context) (Authenticator, error) {
	return FromEnvFunc(ctx, os.Getenv)
}

// FromEnvFunc is FromEnv reading variables through getenv, for tests and
// for configuration that does not live in the process environment.
func FromEnvFunc(ctx context.Context, getenv func(string) string) (Authenticator, error) {
	v := strings.TrimSpace(getenv(ProviderEnv))
	if v == "" {
		return nil, NewError(ErrMisconfigured, "", "open", ProviderEnv+" is not set (registered: "+registeredList()+")")
	}
	if strings.Contains(v, "://") {
		return OpenURL(ctx, v)
	}
	if _, err := lookup(strings.ToLower(v)); err != nil {
		return nil, NewError(ErrMisconfigured, "", "open", ProviderEnv+" names no registered adapter (registered: "+registeredList()+")")
	}
	return openEnv(ctx, strings.ToLower(v), getenv)
}

func registeredList() string {
	if names := Providers(); len(names) > 0 {
		return strings.Join(names, ", ")
	}
	return "none; import github.com/authport/authport/all"
}

func validScheme(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}
