package app

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
)

// Environment variables the app reads (besides the chosen provider's own).
const (
	// EnvAddr is the listen address (default 127.0.0.1:8080).
	EnvAddr = "ADDR"
	// EnvData is the data folder (default ./data): the SQLite database of
	// the DIY backend and the generated cookie key live there.
	EnvData = "AUTHPORT_DATA"
	// EnvProvider picks the adapter (default "diy"); see authport.FromEnv.
	EnvProvider = "AUTH_PROVIDER"
	// EnvEmulate, when "1" or "true", starts the chosen provider's
	// emulator in-process and seeds demo accounts.
	EnvEmulate = "AUTHPORT_EMULATE"
	// EnvPublicOrigin is the externally visible origin
	// (authport.Config.PublicOrigin), such as https://app.example.com.
	EnvPublicOrigin = "AUTHPORT_PUBLIC_ORIGIN"
	// EnvCookieKey overrides the generated cookie key (see
	// devkit.CookieKeyEnv; `authport keys` makes one).
	EnvCookieKey = "AUTHPORT_COOKIE_KEY"
	// EnvDBURL locates the DIY database instead of the data folder's
	// SQLite file (sqlite:FILE or postgres://…); the DIY backend also reads
	// AUTHPORT_SESSION_MODE, AUTHPORT_SIGNING_KEYS, AUTHPORT_ISSUER and
	// AUTHPORT_REDIS_URL (see package diy).
	EnvDBURL = "AUTHPORT_DB_URL"
	// EnvAuthProxy is the address of a JavaScript auth server (Better Auth,
	// Auth.js) whose /api/auth/* the app serves on its own origin, so the
	// library's cookies are the app's: AUTH_PROVIDER=betterauth with
	// AUTHPORT_AUTH_PROXY=http://127.0.0.1:3000. Its sign-in page is
	// /static/js-sign-in.html.
	EnvAuthProxy = "AUTHPORT_AUTH_PROXY"
	// EnvClusterURL runs the app as one of several instances behind a
	// load balancer (see package cluster): redis://… or postgres://….
	EnvClusterURL = "AUTHPORT_CLUSTER_URL"
)

// DefaultAddr is the default listen address.
const DefaultAddr = "127.0.0.1:8080"

// Settings is the app's configuration, read from the environment by
// LoadSettings.
type Settings struct {
	// Addr is the listen address.
	Addr string
	// DataDir is the data folder.
	DataDir string
	// Provider is the adapter name, lower case.
	Provider string
	// Emulate starts the provider's emulator in-process.
	Emulate bool
	// PublicOrigin is authport.Config.PublicOrigin.
	PublicOrigin string
	// AuthProxy is the JavaScript auth server /api/auth/* is proxied to
	// (nil: none).
	AuthProxy *url.URL
	// Getenv reads every other variable (the provider's own, the cookie
	// key, the DIY database URL).
	Getenv func(string) string
}

// LoadSettings reads the settings through getenv. A malformed value is an
// error naming the variable.
func LoadSettings(getenv func(string) string) (Settings, error) {
	s := Settings{
		Addr:         strings.TrimSpace(getenv(EnvAddr)),
		DataDir:      strings.TrimSpace(getenv(EnvData)),
		Provider:     strings.ToLower(strings.TrimSpace(getenv(EnvProvider))),
		PublicOrigin: strings.TrimSpace(getenv(EnvPublicOrigin)),
		Getenv:       getenv,
	}
	if s.Addr == "" {
		s.Addr = DefaultAddr
	}
	if v := strings.TrimSpace(getenv(EnvAuthProxy)); v != "" {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") {
			return s, fmt.Errorf("%s must be an http(s) origin, such as http://127.0.0.1:3000", EnvAuthProxy)
		}
		s.AuthProxy = u
	}
	if _, _, err := net.SplitHostPort(s.Addr); err != nil {
		return s, fmt.Errorf("%s must be host:port, such as 127.0.0.1:8080", EnvAddr)
	}
	if s.DataDir == "" {
		s.DataDir = "data"
	}
	s.DataDir = filepath.Clean(s.DataDir)
	if s.Provider == "" {
		s.Provider = "diy"
	}
	switch v := strings.ToLower(strings.TrimSpace(getenv(EnvEmulate))); v {
	case "", "0", "false", "no":
	case "1", "true", "yes":
		s.Emulate = true
	default:
		return s, fmt.Errorf("%s must be 1 or 0", EnvEmulate)
	}
	if s.PublicOrigin != "" {
		u, err := url.Parse(s.PublicOrigin)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return s, fmt.Errorf("%s must be an origin such as https://app.example.com", EnvPublicOrigin)
		}
	}
	return s, nil
}

// isLoopback reports whether host (a name or an address, without port)
// is a loopback host.
func isLoopback(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
