package authport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testClock is a settable clock shared by a Web and a fake provider.
type testClock struct{ ns atomic.Int64 }

func newClock() *testClock {
	c := &testClock{}
	c.ns.Store(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano())
	return c
}
func (c *testClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *testClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// fakeProvider is a tiny in-memory identity provider: opaque tokens map to
// sessions with an expiry. Wrapper types expose capability subsets.
type fakeProvider struct {
	clock *testClock
	ttl   time.Duration

	mu        sync.Mutex
	n         int
	access    map[string]fakeToken // access token -> token
	refresh   map[string]string    // live refresh token -> user
	users     map[string]string    // email -> password
	ids       map[string]string    // email -> user id
	revoked   map[string]bool      // session id -> revoked
	codes     map[string]string    // authorization code -> "user|challenge"
	lastAuthz AuthorizeRequest

	refreshCalls atomic.Int32
	revokeCalls  atomic.Int32
	verifyCalls  atomic.Int32
	refreshDelay time.Duration
	unavailable  atomic.Bool
	revokeDown   atomic.Bool
}

type fakeToken struct {
	user, sid string
	exp       time.Time
}

func newFakeProvider(c *testClock) *fakeProvider {
	return &fakeProvider{
		clock:   c,
		ttl:     5 * time.Minute,
		access:  map[string]fakeToken{},
		refresh: map[string]string{},
		users:   map[string]string{"ada@example.com": "correct horse battery staple"},
		ids:     map[string]string{"ada@example.com": "user_ada"},
		revoked: map[string]bool{},
		codes:   map[string]string{},
	}
}

func (p *fakeProvider) Provider() string { return "fake" }

func (p *fakeProvider) Verify(ctx context.Context, c Credential) (*Session, error) {
	p.verifyCalls.Add(1)
	if p.unavailable.Load() {
		return nil, NewError(ErrProviderUnavailable, "fake", "verify", "keys unavailable")
	}
	p.mu.Lock()
	t, ok := p.access[c.Token]
	revoked := p.revoked[t.sid]
	p.mu.Unlock()
	switch {
	case !ok:
		return nil, NewError(ErrInvalidCredential, "fake", "verify", "unknown token")
	case revoked:
		return nil, NewError(ErrRevoked, "fake", "verify", "session revoked")
	case !p.clock.Now().Before(t.exp):
		return nil, NewError(ErrExpired, "fake", "verify", "token expired")
	}
	return &Session{Provider: "fake", UserID: t.user, SessionID: t.sid, Email: "ada@example.com", Roles: []string{"member"},
		ExpiresAt: t.exp, Claims: map[string]any{"secret_claim": "x"}}, nil
}

// issue mints tokens for user in session sid.
func (p *fakeProvider) issue(user, sid string) *Tokens {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	if sid == "" {
		sid = fmt.Sprintf("sess_%d", p.n)
	}
	at := fmt.Sprintf("at-%s-%d", user, p.n)
	rt := fmt.Sprintf("rt-%s-%d", user, p.n)
	exp := p.clock.Now().Add(p.ttl)
	p.access[at] = fakeToken{user: user, sid: sid, exp: exp}
	p.refresh[rt] = user + "|" + sid
	return &Tokens{AccessToken: at, RefreshToken: rt, IDToken: "id-" + at, ExpiresAt: exp}
}

func (p *fakeProvider) signIn(_ context.Context, email, password string) (*Tokens, error) {
	p.mu.Lock()
	want, ok := p.users[email]
	id := p.ids[email]
	p.mu.Unlock()
	if !ok || want != password {
		return nil, NewError(ErrInvalidCredential, "fake", "sign-in", "invalid email or password")
	}
	return p.issue(id, ""), nil
}

func (p *fakeProvider) signUp(_ context.Context, email, password string) (*Tokens, error) {
	p.mu.Lock()
	if _, ok := p.users[email]; ok {
		p.mu.Unlock()
		return nil, NewError(ErrInvalidCredential, "fake", "sign-up", "cannot sign up")
	}
	p.users[email] = password
	p.ids[email] = "user_" + strings.Split(email, "@")[0]
	id := p.ids[email]
	p.mu.Unlock()
	return p.issue(id, ""), nil
}

func (p *fakeProvider) doRefresh(_ context.Context, rt string) (*Tokens, error) {
	p.refreshCalls.Add(1)
	if p.refreshDelay > 0 {
		time.Sleep(p.refreshDelay)
	}
	if p.unavailable.Load() {
		return nil, NewError(ErrProviderUnavailable, "fake", "refresh", "down")
	}
	p.mu.Lock()
	v, ok := p.refresh[rt]
	delete(p.refresh, rt) // rotation: single use
	p.mu.Unlock()
	if !ok {
		return nil, NewError(ErrInvalidCredential, "fake", "refresh", "refresh token reused or unknown")
	}
	user, sid, _ := strings.Cut(v, "|")
	p.mu.Lock()
	rev := p.revoked[sid]
	p.mu.Unlock()
	if rev {
		return nil, NewError(ErrRevoked, "fake", "refresh", "session revoked")
	}
	t := p.issue(user, sid)
	t.IDToken = ""
	return t, nil
}

func (p *fakeProvider) revoke(_ context.Context, s *Session, _ *Tokens) error {
	p.revokeCalls.Add(1)
	if p.revokeDown.Load() {
		return NewError(ErrProviderUnavailable, "fake", "revoke", "provider down")
	}
	p.mu.Lock()
	p.revoked[s.SessionID] = true
	p.mu.Unlock()
	return nil
}

// staticAuth only verifies.
type staticAuth struct{ *fakeProvider }

// pwAuth signs in with a password, signs up, refreshes and revokes.
type pwAuth struct{ *fakeProvider }

func (a pwAuth) SignInWithPassword(ctx context.Context, e, pw string) (*Tokens, error) {
	return a.signIn(ctx, e, pw)
}
func (a pwAuth) SignUp(ctx context.Context, e, pw string) (*Tokens, error) {
	return a.signUp(ctx, e, pw)
}
func (a pwAuth) Refresh(ctx context.Context, rt string) (*Tokens, error) { return a.doRefresh(ctx, rt) }
func (a pwAuth) Revoke(ctx context.Context, s *Session, t *Tokens) error { return a.revoke(ctx, s, t) }

// redirectAuth signs in on a hosted page, refreshes and revokes.
type redirectAuth struct{ *fakeProvider }

func (a redirectAuth) AuthorizeURL(_ context.Context, r AuthorizeRequest) (string, error) {
	a.mu.Lock()
	a.lastAuthz = r
	a.mu.Unlock()
	return "https://idp.example/authorize?" + url.Values{"state": {r.State}, "redirect_uri": {r.RedirectURI}, "code_challenge": {r.CodeChallenge}}.Encode(), nil
}

// approve plays the user signing in at the hosted page: it returns a code
// bound to the last challenge.
func (a redirectAuth) approve(user string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	code := fmt.Sprintf("code-%d", len(a.codes)+1)
	a.codes[code] = user + "|" + a.lastAuthz.CodeChallenge
	return code
}

func (a redirectAuth) Exchange(_ context.Context, c Callback) (*Tokens, error) {
	a.mu.Lock()
	v, ok := a.codes[c.Query.Get("code")]
	delete(a.codes, c.Query.Get("code"))
	a.mu.Unlock()
	if !ok {
		return nil, NewError(ErrInvalidCredential, "fake", "exchange", "bad code")
	}
	user, challenge, _ := strings.Cut(v, "|")
	if pkceChallenge(c.CodeVerifier) != challenge {
		return nil, NewError(ErrInvalidCredential, "fake", "exchange", "PKCE verifier mismatch")
	}
	return a.issue(user, ""), nil
}
func (a redirectAuth) Refresh(ctx context.Context, rt string) (*Tokens, error) {
	return a.doRefresh(ctx, rt)
}
func (a redirectAuth) Revoke(ctx context.Context, s *Session, t *Tokens) error {
	return a.revoke(ctx, s, t)
}

// cookieAuth reads a provider cookie.
type cookieAuth struct{ *fakeProvider }

func (cookieAuth) ProviderCookies() []string { return []string{"__session"} }

var testKey = bytes.Repeat([]byte{7}, 32)

// env is a Web over a fake provider with a test clock and captured events.
type env struct {
	t     *testing.T
	clock *testClock
	p     *fakeProvider
	web   *Web
	mu    sync.Mutex
	evs   []Event
	logs  *bytes.Buffer
}

func newEnv(t *testing.T, mk func(*fakeProvider) Authenticator, mod func(*Config)) *env {
	t.Helper()
	e := &env{t: t, clock: newClock(), logs: &bytes.Buffer{}}
	e.p = newFakeProvider(e.clock)
	cfg := Config{
		CookieKeys:   [][]byte{testKey},
		Clock:        e.clock.Now,
		PublicOrigin: "https://app.example",
		Logger:       slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Hooks: HookFunc(func(_ context.Context, ev Event) {
			e.mu.Lock()
			e.evs = append(e.evs, ev)
			e.mu.Unlock()
		}),
		Limiter: NoLimits,
	}
	if mod != nil {
		mod(&cfg)
	}
	w, err := NewWeb(mk(e.p), cfg)
	if err != nil {
		t.Fatalf("NewWeb: %v", err)
	}
	e.web = w
	return e
}

func (e *env) events(typ EventType) []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Event
	for _, ev := range e.evs {
		if ev.Type == typ {
			out = append(out, ev)
		}
	}
	return out
}

// echo is a handler reporting what the middleware attached.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if s, ok := SessionFrom(r.Context()); ok {
		io.WriteString(w, "user="+s.UserID)
		return
	}
	io.WriteString(w, "anon:"+KindOf(Check(r.Context())).Code())
})

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func TestNewWebValidation(t *testing.T) {
	fp := newFakeProvider(newClock())
	tests := []struct {
		name  string
		auth  Authenticator
		cfg   Config
		field string // "" = valid
	}{
		{"bearer-only adapter needs no keys", staticAuth{fp}, Config{}, ""},
		{"nil authenticator", nil, Config{}, "Authenticator"},
		{"sign-in adapter needs keys", pwAuth{fp}, Config{}, "CookieKeys"},
		{"BearerOnly waives keys", pwAuth{fp}, Config{BearerOnly: true}, ""},
		{"short key", pwAuth{fp}, Config{CookieKeys: [][]byte{make([]byte, 16)}}, "CookieKeys"},
		{"second key short", pwAuth{fp}, Config{CookieKeys: [][]byte{testKey, make([]byte, 31)}}, "CookieKeys"},
		{"keys ok", pwAuth{fp}, Config{CookieKeys: [][]byte{testKey}}, ""},
		{"redirect without origin derives it", redirectAuth{fp}, Config{CookieKeys: [][]byte{testKey}}, ""},
		{"http origin needs Insecure", pwAuth{fp}, Config{CookieKeys: [][]byte{testKey}, PublicOrigin: "http://app.example"}, "PublicOrigin"},
		{"origin with path", pwAuth{fp}, Config{CookieKeys: [][]byte{testKey}, PublicOrigin: "https://app.example/x"}, "PublicOrigin"},
		{"insecure dev", pwAuth{fp}, Config{CookieKeys: [][]byte{testKey}, Insecure: true, PublicOrigin: "http://localhost:8080"}, ""},
		{"insecure with __Host-", pwAuth{fp}, Config{CookieKeys: [][]byte{testKey}, Insecure: true, CookieName: "__Host-x"}, "CookieName"},
		{"secure without __Host-", pwAuth{fp}, Config{CookieKeys: [][]byte{testKey}, CookieName: "sid"}, "CookieName"},
		{"bad cookie name", pwAuth{fp}, Config{CookieKeys: [][]byte{testKey}, CookieName: "__Host-a;b"}, "CookieName"},
		{"bad base path", pwAuth{fp}, Config{CookieKeys: [][]byte{testKey}, BasePath: "auth"}, "BasePath"},
		{"base path dot segment", pwAuth{fp}, Config{CookieKeys: [][]byte{testKey}, BasePath: "/a/../b"}, "BasePath"},
		{"open redirect login path", pwAuth{fp}, Config{CookieKeys: [][]byte{testKey}, LoginPath: "//evil.example"}, "LoginPath"},
		{"absolute after-login", pwAuth{fp}, Config{CookieKeys: [][]byte{testKey}, AfterLoginPath: "https://evil.example/"}, "AfterLoginPath"},
		{"strict unsupported", staticAuth{fp}, Config{Strict: true}, "Strict"},
		{"tiny max age", pwAuth{fp}, Config{CookieKeys: [][]byte{testKey}, SessionMaxAge: time.Second}, "SessionMaxAge"},
		{"negative hops", staticAuth{fp}, Config{ForwardedForHops: -1}, "ForwardedForHops"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewWeb(tt.auth, tt.cfg)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrMisconfigured) {
				t.Fatalf("err = %v, want ErrMisconfigured", err)
			}
			if !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("error %q does not name %s", err, tt.field)
			}
			if strings.Contains(err.Error(), string(testKey)) {
				t.Fatal("error leaks key material")
			}
		})
	}
}

func TestNewWebDefaults(t *testing.T) {
	w, err := NewWeb(pwAuth{newFakeProvider(newClock())}, Config{CookieKeys: [][]byte{testKey}})
	if err != nil {
		t.Fatal(err)
	}
	c := w.cfg
	if c.CookieName != "__Host-authport" || c.LoginPath != "/auth/login" || c.BasePath != "/auth" ||
		c.AfterLoginPath != "/" || c.SessionMaxAge != DefaultSessionMaxAge || c.RefreshBefore != DefaultRefreshBefore {
		t.Fatalf("defaults: %+v", c)
	}
	w, err = NewWeb(pwAuth{newFakeProvider(newClock())}, Config{CookieKeys: [][]byte{testKey}, Insecure: true})
	if err != nil || w.cfg.CookieName != "authport" || w.flowName != "authport-flow" {
		t.Fatalf("insecure defaults: %v %q", err, w.cfg.CookieName)
	}
}

func TestCredentialExtraction(t *testing.T) {
	e := newEnv(t, func(p *fakeProvider) Authenticator { return cookieAuth{p} }, nil)
	good := e.p.issue("user_ada", "")
	other := e.p.issue("user_bob", "")
	sealed, err := e.web.sealer.Seal(other)
	if err != nil {
		t.Fatal(err)
	}
	third := e.p.issue("user_cat", "")
	h := e.web.Middleware(echo)

	tests := []struct {
		name   string
		header http.Header
		url    string
		want   string
	}{
		{"none", nil, "/", "anon:unauthorized"},
		{"bearer", http.Header{"Authorization": {"Bearer " + good.AccessToken}}, "/", "user=user_ada"},
		{"lower-case scheme", http.Header{"Authorization": {"bearer " + good.AccessToken}}, "/", "user=user_ada"},
		{"upper-case scheme", http.Header{"Authorization": {"BEARER " + good.AccessToken}}, "/", "user=user_ada"},
		{"several spaces", http.Header{"Authorization": {"Bearer   " + good.AccessToken}}, "/", "user=user_ada"},
		{"two headers", http.Header{"Authorization": {"Bearer " + good.AccessToken, "Bearer " + good.AccessToken}}, "/", "anon:invalid_token"},
		{"basic scheme", http.Header{"Authorization": {"Basic dXNlcjpwYXNz"}}, "/", "anon:invalid_token"},
		{"basic does not fall back to cookie", http.Header{"Authorization": {"Basic dXNlcjpwYXNz"}, "Cookie": {"__Host-authport=" + sealed}}, "/", "anon:invalid_token"},
		{"bearerx scheme", http.Header{"Authorization": {"Bearerx " + good.AccessToken}}, "/", "anon:invalid_token"},
		{"empty token", http.Header{"Authorization": {"Bearer "}}, "/", "anon:invalid_token"},
		{"scheme only", http.Header{"Authorization": {"Bearer"}}, "/", "anon:invalid_token"},
		{"empty header", http.Header{"Authorization": {""}}, "/", "anon:invalid_token"},
		{"not token68", http.Header{"Authorization": {"Bearer a b"}}, "/", "anon:invalid_token"},
		{"comma list", http.Header{"Authorization": {"Bearer a, Bearer b"}}, "/", "anon:invalid_token"},
		{"padding in middle", http.Header{"Authorization": {"Bearer a=b"}}, "/", "anon:invalid_token"},
		{"oversized", http.Header{"Authorization": {"Bearer " + strings.Repeat("a", MaxTokenSize+1)}}, "/", "anon:invalid_token"},
		{"unknown token", http.Header{"Authorization": {"Bearer nope"}}, "/", "anon:invalid_token"},
		{"bearer wins over cookie", http.Header{"Authorization": {"Bearer " + good.AccessToken}, "Cookie": {"__Host-authport=" + sealed}}, "/", "user=user_ada"},
		{"sealed cookie", http.Header{"Cookie": {"a=b; __Host-authport=" + sealed + "; c=d"}}, "/", "user=user_bob"},
		{"sealed cookie before provider cookie", http.Header{"Cookie": {"__session=" + third.AccessToken + "; __Host-authport=" + sealed}}, "/", "user=user_bob"},
		{"provider cookie", http.Header{"Cookie": {"__session=" + third.AccessToken}}, "/", "user=user_cat"},
		{"tampered sealed cookie", http.Header{"Cookie": {"__Host-authport=" + sealed[:len(sealed)-2] + "AA"}}, "/", "anon:invalid_token"},
		{"raw token in sealed cookie", http.Header{"Cookie": {"__Host-authport=" + good.AccessToken}}, "/", "anon:invalid_token"},
		{"token in URL ignored", nil, "/?access_token=" + good.AccessToken + "&token=" + good.AccessToken, "anon:unauthorized"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := tt.url
			r := httptest.NewRequest("GET", u, nil)
			for k, vs := range tt.header {
				r.Header[k] = vs
			}
			if got := serve(h, r).Body.String(); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestMiddlewareSourceAndCookieName(t *testing.T) {
	var got Credential
	a := credSpy{fn: func(c Credential) { got = c }}
	w, err := NewWeb(a, Config{CookieKeys: [][]byte{testKey}})
	if err != nil {
		t.Fatal(err)
	}
	v, _ := w.sealer.Seal(&Tokens{AccessToken: "abc"})
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Cookie", "__Host-authport="+v)
	serve(w.Middleware(echo), r)
	if got != (Credential{Token: "abc", Source: SourceCookie, Cookie: "__Host-authport"}) {
		t.Fatalf("credential %+v", got)
	}
	r = httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer xyz")
	serve(w.Middleware(echo), r)
	if got != (Credential{Token: "xyz", Source: SourceHeader}) {
		t.Fatalf("credential %+v", got)
	}
}

type credSpy struct{ fn func(Credential) }

func (credSpy) Provider() string { return "spy" }
func (s credSpy) Verify(_ context.Context, c Credential) (*Session, error) {
	s.fn(c)
	return &Session{UserID: "u"}, nil
}

func TestMiddlewareNeverBlocksAndRunsOnce(t *testing.T) {
	e := newEnv(t, func(p *fakeProvider) Authenticator { return staticAuth{p} }, nil)
	tok := e.p.issue("user_ada", "")
	h := e.web.Middleware(e.web.Middleware(echo))
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	rec := serve(h, r)
	if rec.Code != 200 || rec.Body.String() != "user=user_ada" {
		t.Fatalf("%d %q", rec.Code, rec.Body)
	}
	if n := e.p.verifyCalls.Load(); n != 1 {
		t.Fatalf("nested middleware verified %d times", n)
	}
	e.p.unavailable.Store(true)
	rec = serve(h, r)
	if rec.Code != 200 || rec.Body.String() != "anon:temporarily_unavailable" {
		t.Fatalf("middleware blocked or lost the error: %d %q", rec.Code, rec.Body)
	}
}

// sealedCookie signs ada in and returns the Cookie header for her session.
func (e *env) sealedCookie(t *testing.T) (string, *Tokens) {
	t.Helper()
	tok := e.p.issue("user_ada", "")
	e.p.mu.Lock()
	tok.UserID, tok.SessionID = "user_ada", e.p.access[tok.AccessToken].sid // as startSession records them
	e.p.mu.Unlock()
	v, err := e.web.sealer.Seal(tok)
	if err != nil {
		t.Fatal(err)
	}
	return e.web.cfg.CookieName + "=" + v, tok
}

func setCookies(rec *httptest.ResponseRecorder) map[string]*http.Cookie {
	out := map[string]*http.Cookie{}
	for _, c := range rec.Result().Cookies() {
		out[c.Name] = c
	}
	return out
}

func TestTransparentRefresh(t *testing.T) {
	e := newEnv(t, func(p *fakeProvider) Authenticator { return pwAuth{p} }, nil)
	cookie, _ := e.sealedCookie(t)
	h := e.web.Middleware(echo)

	// Fresh: no refresh.
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Cookie", cookie)
	rec := serve(h, r)
	if rec.Body.String() != "user=user_ada" || len(rec.Result().Cookies()) != 0 || e.p.refreshCalls.Load() != 0 {
		t.Fatalf("fresh cookie: %q, cookies %v, refreshes %d", rec.Body, rec.Result().Cookies(), e.p.refreshCalls.Load())
	}

	// Within RefreshBefore of expiry: refreshed before it expires.
	e.clock.Advance(e.p.ttl - 10*time.Second)
	rec = serve(h, r)
	c := setCookies(rec)["__Host-authport"]
	if rec.Body.String() != "user=user_ada" || c == nil || e.p.refreshCalls.Load() != 1 {
		t.Fatalf("near expiry: %q cookie %v refreshes %d", rec.Body, c, e.p.refreshCalls.Load())
	}
	if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" {
		t.Fatalf("cookie attributes: %+v", c)
	}
	if rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatal("refresh response is cacheable")
	}
	nt, err := e.web.sealer.Open(c.Value)
	if err != nil || nt.IDToken == "" {
		t.Fatalf("new cookie: %v, id token kept: %q", err, nt.IDToken)
	}

	// Expired, new cookie: refreshed again with the rotated token.
	e.clock.Advance(e.p.ttl + time.Minute)
	r2 := httptest.NewRequest("GET", "/", nil)
	r2.Header.Set("Cookie", "__Host-authport="+c.Value)
	rec = serve(h, r2)
	if rec.Body.String() != "user=user_ada" || setCookies(rec)["__Host-authport"] == nil || e.p.refreshCalls.Load() != 2 {
		t.Fatalf("expired: %q refreshes %d", rec.Body, e.p.refreshCalls.Load())
	}
	if n := len(e.events(EventRefresh)); n != 2 {
		t.Fatalf("%d refresh events", n)
	}
}

func TestRefreshSingleFlight(t *testing.T) {
	e := newEnv(t, func(p *fakeProvider) Authenticator { return pwAuth{p} }, nil)
	e.p.refreshDelay = 50 * time.Millisecond
	cookie, _ := e.sealedCookie(t)
	e.clock.Advance(time.Hour) // access token expired
	h := e.web.Middleware(echo)

	const n = 20
	var wg sync.WaitGroup
	bodies := make([]string, n)
	values := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Cookie", cookie)
			rec := serve(h, r)
			bodies[i] = rec.Body.String()
			if c := setCookies(rec)["__Host-authport"]; c != nil {
				values[i] = c.Value
			}
		}()
	}
	wg.Wait()
	if got := e.p.refreshCalls.Load(); got != 1 {
		t.Fatalf("%d Refresh calls for %d concurrent requests, want 1", got, n)
	}
	for i := range n {
		if bodies[i] != "user=user_ada" || values[i] == "" || values[i] != values[0] {
			t.Fatalf("request %d: %q cookie %.10q (first %.10q)", i, bodies[i], values[i], values[0])
		}
	}
	// A straggler with the old cookie inside the grace window reuses the
	// result rather than replaying the rotated refresh token.
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Cookie", cookie)
	if rec := serve(h, r); rec.Body.String() != "user=user_ada" || e.p.refreshCalls.Load() != 1 {
		t.Fatalf("straggler: %q, refreshes %d", rec.Body, e.p.refreshCalls.Load())
	}
	// After the grace window the old refresh token is dead.
	e.clock.Advance(refreshGrace + time.Second)
	r.Header.Set("Accept", "text/html")
	rec := serve(h, r)
	if rec.Body.String() != "anon:invalid_token" {
		t.Fatalf("replayed old cookie: %q", rec.Body)
	}
	if c := setCookies(rec)["__Host-authport"]; c == nil || c.MaxAge >= 0 {
		t.Fatalf("dead cookie not cleared on a browser request: %v", c)
	}
}

func TestDeadCookieHandling(t *testing.T) {
	e := newEnv(t, func(p *fakeProvider) Authenticator { return pwAuth{p} }, nil)
	h := e.web.Middleware(echo)
	browser := func(cookie string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Accept", "text/html")
		r.Header.Set("Cookie", cookie)
		return serve(h, r)
	}
	api := func(cookie string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Cookie", cookie)
		return serve(h, r)
	}

	t.Run("garbage", func(t *testing.T) {
		rec := browser("__Host-authport=garbage")
		if c := setCookies(rec)["__Host-authport"]; c == nil || c.MaxAge >= 0 || !c.Secure {
			t.Fatalf("garbage cookie not cleared: %v", c)
		}
		if len(api("__Host-authport=garbage").Result().Cookies()) != 0 {
			t.Fatal("API request got Set-Cookie")
		}
	})
	t.Run("revoked", func(t *testing.T) {
		cookie, _ := e.sealedCookie(t)
		s, _ := e.p.Verify(t.Context(), Credential{Token: mustOpen(t, e, cookie).AccessToken})
		e.p.revoke(t.Context(), s, nil)
		rec := browser(cookie)
		if rec.Body.String() != "anon:invalid_token" || setCookies(rec)["__Host-authport"] == nil {
			t.Fatalf("revoked: %q %v", rec.Body, rec.Result().Cookies())
		}
	})
	t.Run("unavailable keeps cookie", func(t *testing.T) {
		cookie, _ := e.sealedCookie(t)
		e.p.unavailable.Store(true)
		defer e.p.unavailable.Store(false)
		rec := browser(cookie)
		if rec.Body.String() != "anon:temporarily_unavailable" || len(rec.Result().Cookies()) != 0 {
			t.Fatalf("unavailable: %q %v", rec.Body, rec.Result().Cookies())
		}
	})
	t.Run("near expiry and refresh unavailable uses current token", func(t *testing.T) {
		w2, err := NewWeb(downRefresher{pwAuth{e.p}}, Config{CookieKeys: [][]byte{testKey}, Clock: e.clock.Now, Logger: discard})
		if err != nil {
			t.Fatal(err)
		}
		cookie, _ := e.sealedCookie(t)
		e.clock.Advance(e.p.ttl - 5*time.Second)
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Cookie", cookie)
		if rec := serve(w2.Middleware(echo), r); rec.Body.String() != "user=user_ada" {
			t.Fatalf("still-valid token refused when refresh is unavailable: %q", rec.Body)
		}
		e.clock.Advance(10 * time.Second) // now expired: the refresh failure decides
		if rec := serve(w2.Middleware(echo), r); rec.Body.String() != "anon:temporarily_unavailable" {
			t.Fatalf("expired token with provider down: %q", rec.Body)
		}
	})
	t.Run("early refresh refused keeps a valid token", func(t *testing.T) {
		tok := e.p.issue("user_ada", "")
		tok.RefreshToken = "rotated-by-another-instance"
		v, _ := e.web.sealer.Seal(tok)
		e.clock.Advance(e.p.ttl - 5*time.Second)
		defer e.clock.Advance(time.Hour)
		rec := browser("__Host-authport=" + v)
		if rec.Body.String() != "user=user_ada" || len(rec.Result().Cookies()) != 0 {
			t.Fatalf("%q %v", rec.Body, rec.Result().Cookies())
		}
	})
	t.Run("absolute lifetime", func(t *testing.T) {
		cookie, _ := e.sealedCookie(t)
		e.clock.Advance(DefaultSessionMaxAge + time.Minute)
		rec := browser(cookie)
		if rec.Body.String() != "anon:invalid_token" {
			t.Fatalf("cookie beyond SessionMaxAge accepted: %q", rec.Body)
		}
	})
}

type downRefresher struct{ pwAuth }

func (downRefresher) Refresh(context.Context, string) (*Tokens, error) {
	return nil, NewError(ErrProviderUnavailable, "fake", "refresh", "down")
}

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

func mustOpen(t *testing.T, e *env, cookie string) *Tokens {
	t.Helper()
	_, v, _ := strings.Cut(cookie, "=")
	tok, err := e.web.sealer.Open(v)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestWithSession(t *testing.T) {
	ctx := WithSession(context.Background(), &Session{UserID: "u1", Roles: []string{"admin"}})
	if s, ok := SessionFrom(ctx); !ok || s.UserID != "u1" {
		t.Fatal("WithSession lost the session")
	}
	if err := Check(ctx, Role("admin")); err != nil {
		t.Fatal(err)
	}
	if err := Check(WithSession(context.Background(), nil)); !errors.Is(err, ErrNoCredential) {
		t.Fatalf("nil session: %v", err)
	}
	type k struct{}
	parent := context.WithValue(context.Background(), k{}, "v")
	if WithSession(parent, nil).Value(k{}) != "v" {
		t.Fatal("parent values hidden")
	}
}
