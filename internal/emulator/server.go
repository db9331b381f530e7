package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Options configures a Server. Every field is optional.
type Options struct {
	// Name is the provider's display name ("Acme OIDC"), shown on the
	// hosted sign-in page and in logs.
	Name string
	// Addr is the listen address. It must be a loopback address
	// ("127.0.0.1:8080", "[::1]:0", "localhost:9000"); the default is
	// 127.0.0.1 on a free port. A non-loopback address is refused: the
	// control API has no authentication.
	Addr string
	// TLS serves HTTPS with httptest's self-signed certificate; use
	// Server.Client, which trusts it.
	TLS bool
	// Clock is the emulated time (default: a real-time NewClock()). The
	// key ring and the store share it.
	Clock *Clock
	// KeyRing is the signing key ring; nil makes one from Keys.
	KeyRing *KeyRing
	// Keys configures the key ring made when KeyRing is nil.
	Keys KeyRingOptions
	// Store configures the user and session store.
	Store StoreOptions
	// TokenTTL is the access tokens' lifetime (default 5 minutes).
	TokenTTL time.Duration
	// DefaultClaims returns the claims the provider puts in an access
	// token for a user and session (either may be nil). Mint merges them
	// over {"sub","sid","iat","exp","jti"} and merges the request's claims
	// over the result.
	DefaultClaims func(u *User, s *Session) map[string]any
	// DefaultHeader is merged over the token header {"typ":"JWT","kid":…}
	// (e.g. {"typ":"at+jwt"}); "alg" is always the signing algorithm.
	DefaultHeader map[string]any
	// SignIn answers POST /__authport/sign-in for a user whose password
	// matched, with the JSON body the provider's own sign-in would return.
	// The default creates a session and returns Server.IssueTokens.
	SignIn func(r *http.Request, u *User) (any, error)
	// RateLimited writes the provider's own answer to a request over the
	// budget SetRateLimit sets, with how long until the budget refills
	// (default: 429 with Retry-After and an OAuth-style JSON body).
	RateLimited func(w http.ResponseWriter, r *http.Request, retryAfter time.Duration)
	// Logger receives one debug line per request (default: discard).
	Logger *slog.Logger
}

// Server is an emulator's loopback HTTP server: the provider emulator
// registers its wire-format routes on Mux (Go 1.22 patterns such as
// "POST /oauth/token") and its key endpoints with HandleKeys; the Server
// adds the control API under /__authport/, request and key-fetch counters,
// and fault injection.
type Server struct {
	// URL is the base URL, "http://127.0.0.1:port" (https with TLS). It is
	// known as soon as NewUnstarted returns.
	URL string
	// Mux is where the provider emulator registers its routes. Routes
	// under /__authport/ are the Server's own.
	Mux *http.ServeMux
	// Keys signs tokens.
	Keys *KeyRing
	// Store holds users, sessions, refresh tokens and codes.
	Store *Store
	// Clock is the emulated time.
	Clock *Clock

	opts    Options
	ts      *httptest.Server
	log     *slog.Logger
	closing chan struct{}
	once    sync.Once

	mu        sync.Mutex
	faults    map[string]*Fault
	keyRoutes map[string]bool
	hits      map[string]int64
	minted    map[[32]byte]*MintedToken
	limit     *rateBudget
}

// New starts a server; it panics if it cannot listen (as httptest.NewServer
// does) or if Addr is not a loopback address.
func New(o Options) *Server {
	s := NewUnstarted(o)
	s.Start()
	return s
}

// NewUnstarted returns a server that listens but does not serve yet, so a
// provider emulator can derive its issuer from URL before registering its
// routes; call Start.
func NewUnstarted(o Options) *Server {
	l, err := listen(o.Addr)
	if err != nil {
		panic(err)
	}
	if o.Clock == nil {
		o.Clock = NewClock()
	}
	if o.TokenTTL <= 0 {
		o.TokenTTL = 5 * time.Minute
	}
	if o.Keys.Clock == nil {
		o.Keys.Clock = o.Clock
	}
	if o.Store.Clock == nil {
		o.Store.Clock = o.Clock
	}
	if o.Name == "" {
		o.Name = "authport emulator"
	}
	s := &Server{
		Mux:       http.NewServeMux(),
		Keys:      o.KeyRing,
		Store:     NewStore(o.Store),
		Clock:     o.Clock,
		opts:      o,
		log:       o.Logger,
		closing:   make(chan struct{}),
		faults:    map[string]*Fault{},
		keyRoutes: map[string]bool{},
		hits:      map[string]int64{},
		minted:    map[[32]byte]*MintedToken{},
	}
	if s.Keys == nil {
		s.Keys = NewKeyRing(o.Keys)
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	scheme := "http://"
	if o.TLS {
		scheme = "https://"
	}
	s.URL = scheme + l.Addr().String()
	s.ts = &httptest.Server{Listener: l, Config: &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}}
	s.registerControl()
	return s
}

func listen(addr string) (net.Listener, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("emulator: listen address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); !(host == "localhost" || ip != nil && ip.IsLoopback()) {
		return nil, fmt.Errorf("emulator: refusing to listen on %q: only loopback addresses are allowed", addr)
	}
	if host == "localhost" {
		addr = net.JoinHostPort("127.0.0.1", addr[strings.LastIndexByte(addr, ':')+1:])
	}
	return net.Listen("tcp", addr)
}

// Start starts serving (HTTPS when Options.TLS).
func (s *Server) Start() {
	if s.opts.TLS {
		s.ts.StartTLS()
	} else {
		s.ts.Start()
	}
}

// Client returns an HTTP client for the server (one that trusts its
// certificate when Options.TLS).
func (s *Server) Client() *http.Client { return s.ts.Client() }

// Close stops the server. Requests held by a Delay fault are released.
func (s *Server) Close() {
	s.once.Do(func() { close(s.closing) })
	s.ts.Close()
}

// Options returns the options the server was made with, defaults filled in.
func (s *Server) Options() Options { return s.opts }

// HandleKeys registers a key-set endpoint (JWKS, certificate map) on Mux.
// Requests to it are counted by Fetches.
func (s *Server) HandleKeys(pattern string, h http.Handler) {
	s.Mux.Handle(pattern, h)
	s.mu.Lock()
	s.keyRoutes[pattern] = true
	s.mu.Unlock()
}

// ServeHTTP counts the request against its route, applies any fault set
// for the route, and dispatches to Mux.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, pattern := s.Mux.Handler(r)
	route := pattern
	if route == "" {
		route = "(unmatched)"
	}
	s.mu.Lock()
	s.hits[route]++
	var f *Fault
	if !strings.HasPrefix(r.URL.Path, ControlPrefix) {
		f = s.takeFaultLocked(route, r.URL.Path)
	}
	var wait time.Duration
	limited := false
	if !strings.HasPrefix(r.URL.Path, ControlPrefix) {
		wait, limited = s.takeBudgetLocked(pattern)
	}
	s.mu.Unlock()
	s.log.Debug("emulator request", "name", s.opts.Name, "method", r.Method, "path", r.URL.Path, "route", route, "fault", f != nil, "rate_limited", limited)
	if f != nil && s.applyFault(w, r, f) {
		return
	}
	if limited {
		s.rateLimited(w, r, wait)
		return
	}
	s.Mux.ServeHTTP(w, r)
}

// Hits returns how many requests reached route (a pattern as registered,
// or a path).
func (s *Server) Hits(route string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[s.resolveLocked(route, false)]
}

// Fetches returns how many requests reached the key endpoint route (a
// pattern as given to HandleKeys, or its path), faulted ones included.
func (s *Server) Fetches(route string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.resolveLocked(route, true)
	if !s.keyRoutes[p] {
		return 0
	}
	return s.hits[p]
}

// resolveLocked maps a path to the registered pattern serving it.
func (s *Server) resolveLocked(route string, keysOnly bool) string {
	if _, ok := s.hits[route]; ok || s.keyRoutes[route] {
		return route
	}
	for p := range s.keyRoutes {
		if patternPath(p) == route {
			return p
		}
	}
	if !keysOnly {
		for p := range s.hits {
			if patternPath(p) == route {
				return p
			}
		}
	}
	return route
}

func patternPath(p string) string {
	if i := strings.IndexByte(p, ' '); i >= 0 {
		p = strings.TrimSpace(p[i+1:])
	}
	return p
}

// Stats is a snapshot of a server's counters.
type Stats struct {
	// Hits counts requests per route pattern.
	Hits map[string]int64 `json:"hits"`
	// Fetches counts requests per key endpoint (HandleKeys).
	Fetches map[string]int64 `json:"fetches"`
	// Users and Sessions count the store's contents.
	Users    int `json:"users"`
	Sessions int `json:"sessions"`
	// KID is the current signing key's id.
	KID string `json:"kid"`
	// Faults lists the faults in force by route.
	Faults map[string]Fault `json:"faults,omitempty"`
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	st := Stats{Hits: map[string]int64{}, Fetches: map[string]int64{}, Faults: map[string]Fault{}, KID: s.Keys.KID()}
	s.mu.Lock()
	for r, n := range s.hits {
		st.Hits[r] = n
	}
	for r := range s.keyRoutes {
		st.Fetches[r] = s.hits[r]
	}
	for r, f := range s.faults {
		st.Faults[r] = *f
	}
	s.mu.Unlock()
	st.Users, st.Sessions = s.Store.Counts()
	return st
}

// Garbage names a malformed response body.
type Garbage string

// The garbage bodies a fault can serve (with status 200 unless
// Fault.Status says otherwise).
const (
	// GarbageHTML is an HTML error page served as text/html.
	GarbageHTML Garbage = "html"
	// GarbageKeys is {"keys":"x"}: JSON of the wrong shape.
	GarbageKeys Garbage = "keys"
	// GarbageEmpty is {"keys":[]}: a well-formed key set with no keys.
	GarbageEmpty Garbage = "empty"
	// GarbageTruncated is JSON cut off mid-object.
	GarbageTruncated Garbage = "truncated"
)

// HugeSize is the size of a Huge fault's body: 10 MiB.
const HugeSize = 10 << 20

// Fault is an injected failure on a route. Fields combine: Delay holds
// the request first; then Hangup, Down, Huge, Garbage and Status are tried
// in that order; a fault with only Delay lets the route answer normally.
type Fault struct {
	// Down answers 503 Service Unavailable.
	Down bool `json:"down,omitempty"`
	// Hangup closes the connection without an answer.
	Hangup bool `json:"hangup,omitempty"`
	// Delay holds the request (real time) before answering; it is released
	// early when the client gives up or the server closes.
	Delay time.Duration `json:"delay_ns,omitempty"`
	// Garbage answers with a malformed body.
	Garbage Garbage `json:"garbage,omitempty"`
	// Huge answers 200 with a 10 MiB JSON body.
	Huge bool `json:"huge,omitempty"`
	// Status answers with this status and a JSON error body (or is the
	// status of a Garbage or Huge answer).
	Status int `json:"status,omitempty"`
	// Count limits the fault to the next Count requests; 0 means until
	// cleared.
	Count int `json:"count,omitempty"`
}

// SetFault injects f on route: a pattern as registered on Mux or with
// HandleKeys ("GET /jwks"), a request path ("/jwks"), or "*" for every
// route. The control API is never faulted. It replaces any fault already
// set on route.
func (s *Server) SetFault(route string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[route] = &f
}

// ClearFault removes the fault on route.
func (s *Server) ClearFault(route string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.faults, route)
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.faults)
}

func (s *Server) takeFaultLocked(pattern, path string) *Fault {
	for _, k := range []string{pattern, path, "*"} {
		f, ok := s.faults[k]
		if !ok {
			continue
		}
		c := *f
		if f.Count > 0 {
			f.Count--
			if f.Count == 0 {
				delete(s.faults, k)
			}
		}
		return &c
	}
	return nil
}

// applyFault reports whether it answered the request.
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, f *Fault) bool {
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return true
		case <-s.closing:
			panic(http.ErrAbortHandler)
		}
	}
	status := func(def int) int {
		if f.Status != 0 {
			return f.Status
		}
		return def
	}
	switch {
	case f.Hangup:
		panic(http.ErrAbortHandler) // net/http closes the connection, logs nothing
	case f.Down:
		w.Header().Set("Retry-After", "1")
		WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "unavailable", "error_description": "emulated outage"})
	case f.Huge:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status(http.StatusOK))
		io.WriteString(w, `{"keys":[],"padding":"`)
		chunk := []byte(strings.Repeat("A", 64<<10))
		for n := 0; n < HugeSize; n += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return true
			}
		}
		io.WriteString(w, `"}`)
	case f.Garbage != "":
		body, ctype := `{"keys":"x"}`, "application/json"
		switch f.Garbage {
		case GarbageHTML:
			body, ctype = "<!doctype html><html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>\n", "text/html; charset=utf-8"
		case GarbageEmpty:
			body = `{"keys":[]}`
		case GarbageTruncated:
			body = `{"keys":[{"kty":"RSA","kid":"`
		}
		w.Header().Set("Content-Type", ctype)
		w.WriteHeader(status(http.StatusOK))
		io.WriteString(w, body)
	case f.Status != 0:
		WriteJSON(w, f.Status, map[string]string{"error": "emulated_fault", "error_description": http.StatusText(f.Status)})
	default:
		return false
	}
	return true
}

// WriteJSON writes v as a JSON response with the given status. It sets
// "Cache-Control: no-store" (responses carrying tokens must not be cached)
// unless the handler set a Cache-Control already.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"server_error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	if w.Header().Get("Cache-Control") == "" {
		w.Header().Set("Cache-Control", "no-store")
	}
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// MaxRequestBody caps the request bodies ReadJSON accepts (1 MiB).
const MaxRequestBody = 1 << 20

// ReadJSON decodes a JSON request body of at most MaxRequestBody into v,
// refusing unknown fields and trailing data.
func ReadJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, MaxRequestBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if dec.More() {
		return fmt.Errorf("%w: trailing data", ErrInvalid)
	}
	return nil
}

// TokenSet is an OAuth 2.0 token response (RFC 6749 §5.1), plus the
// session and user ids some providers add.
type TokenSet struct {
	// AccessToken is the access token.
	AccessToken string `json:"access_token"`
	// TokenType is "Bearer".
	TokenType string `json:"token_type"`
	// ExpiresIn is the access token's lifetime in seconds.
	ExpiresIn int64 `json:"expires_in"`
	// RefreshToken is the single-use refresh token.
	RefreshToken string `json:"refresh_token,omitempty"`
	// IDToken is the OpenID Connect ID token, if any.
	IDToken string `json:"id_token,omitempty"`
	// Scope is the granted scope.
	Scope string `json:"scope,omitempty"`
	// SessionID and UserID name the session and user (not standard OAuth;
	// several providers add them).
	SessionID string `json:"session_id,omitempty"`
	UserID    string `json:"user_id,omitempty"`
}

// IssueTokens mints an access token for a live session and issues a
// refresh token for it.
func (s *Server) IssueTokens(sessionID string) (*TokenSet, error) {
	ss, u, err := s.Store.LiveSession(sessionID)
	if err != nil {
		return nil, err
	}
	at, err := s.Mint(MintRequest{SessionID: ss.ID})
	if err != nil {
		return nil, err
	}
	rt, err := s.Store.IssueRefresh(ss.ID)
	if err != nil {
		return nil, err
	}
	return &TokenSet{
		AccessToken: at, TokenType: "Bearer", ExpiresIn: int64(s.opts.TokenTTL / time.Second),
		RefreshToken: rt, Scope: ss.Scope, SessionID: ss.ID, UserID: u.ID,
	}, nil
}

// errorStatus maps a store error to an HTTP status for the control API.
func errorStatus(err error) int {
	switch {
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrConflict):
		return http.StatusConflict
	case errors.Is(err, ErrBadCredentials), errors.Is(err, ErrDisabled), errors.Is(err, ErrInactive):
		return http.StatusUnauthorized
	}
	return http.StatusBadRequest
}
