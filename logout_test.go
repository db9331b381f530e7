package authport

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// logoutAuth is a password adapter with a provider logout page.
type logoutAuth struct {
	pwAuth
	rec *logoutRecord
}

type logoutRecord struct {
	logoutConfig
	mu       sync.Mutex
	calls    int
	returnTo string
	idToken  string
	session  *Session
}

// logoutConfig shapes logoutAuth's answers.
type logoutConfig struct {
	url string // what LogoutURL returns ("" builds the default)
	err error
	off string // Describe: CapLogoutRedirect unsupported with this reason
}

func (a logoutAuth) LogoutURL(ctx context.Context, s *Session, returnTo string) (string, error) {
	a.rec.mu.Lock()
	defer a.rec.mu.Unlock()
	a.rec.calls++
	a.rec.returnTo, a.rec.session = returnTo, s
	a.rec.idToken, _ = IDTokenFrom(ctx)
	if a.rec.err != nil {
		return "", a.rec.err
	}
	if a.rec.url != "" {
		return a.rec.url, nil
	}
	return "https://idp.example/logout?" + url.Values{"sid": {s.SessionID}, "return_to": {returnTo}}.Encode(), nil
}

func (a logoutAuth) Describe() Description {
	d := Description{Unsupported: map[Capability]string{}}
	if a.rec.off != "" {
		d.Unsupported[CapLogoutRedirect] = a.rec.off
	}
	return d
}

func TestLogoutRedirect(t *testing.T) {
	const provider = "https://idp.example/logout?"
	tests := []struct {
		name      string
		rec       logoutConfig
		plain     bool // the adapter is no LogoutRedirector
		mod       func(*Config)
		session   string // "cookie", "bearer", "expired" or "" (signed out already)
		browser   bool   // a form post from a browser, else a JSON API client
		host      string
		wantCode  int
		wantLoc   string // exact, or a prefix when it ends in "?"
		wantRet   string // the returnTo LogoutURL was given
		wantIDTok bool
		wantKind  *Kind // on the EventSignOut
	}{
		{name: "no logout page", plain: true, session: "cookie", browser: true, wantCode: 303, wantLoc: "/"},
		{name: "provider page", session: "cookie", browser: true, wantCode: 303, wantLoc: provider,
			wantRet: "https://app.example/", wantIDTok: true},
		{name: "custom AfterLogoutPath", session: "cookie", browser: true,
			mod: func(c *Config) { c.AfterLogoutPath = "/bye" }, wantCode: 303, wantLoc: provider, wantRet: "https://app.example/bye", wantIDTok: true},
		{name: "return URL from Host", session: "cookie", browser: true, host: "localhost:8080",
			mod:      func(c *Config) { c.PublicOrigin, c.Insecure, c.CookieName = "", true, "" },
			wantCode: 303, wantLoc: provider, wantRet: "http://localhost:8080/", wantIDTok: true},
		{name: "expired cookie still names the session", session: "expired", browser: true, wantCode: 303, wantLoc: provider,
			wantRet: "https://app.example/", wantIDTok: true},
		{name: "bearer browser: no ID token", session: "bearer", browser: true, wantCode: 303, wantLoc: provider,
			wantRet: "https://app.example/"},
		{name: "API client", session: "cookie", wantCode: 204},
		{name: "nobody signed in", browser: true, wantCode: 303, wantLoc: "/"},
		{name: "unsupported by configuration", rec: logoutConfig{off: "no client id"}, session: "cookie", browser: true,
			wantCode: 303, wantLoc: "/"},
		{name: "LogoutURL fails", rec: logoutConfig{err: NewError(ErrMisconfigured, "fake", "logout", "no")}, session: "cookie",
			browser: true, wantCode: 303, wantLoc: "/", wantRet: "https://app.example/", wantIDTok: true, wantKind: ErrMisconfigured},
		{name: "LogoutURL not http", rec: logoutConfig{url: "javascript:alert(1)"}, session: "cookie", browser: true,
			wantCode: 303, wantLoc: "/", wantRet: "https://app.example/", wantIDTok: true, wantKind: ErrMisconfigured},
		{name: "LogoutURL relative", rec: logoutConfig{url: "//evil.example/x"}, session: "cookie", browser: true,
			wantCode: 303, wantLoc: "/", wantRet: "https://app.example/", wantIDTok: true, wantKind: ErrMisconfigured},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &logoutRecord{logoutConfig: tt.rec}
			e := newEnv(t, func(p *fakeProvider) Authenticator {
				if tt.plain {
					return pwAuth{p}
				}
				return logoutAuth{pwAuth{p}, rec}
			}, tt.mod)
			if !tt.plain && Has(e.web.auth, CapLogoutRedirect) == (tt.rec.off != "") {
				t.Fatalf("Has(CapLogoutRedirect) = %v with off=%q", !(tt.rec.off != ""), tt.rec.off)
			}
			r := httptest.NewRequest("POST", "/auth/logout", nil)
			if tt.host != "" {
				r.Host = tt.host
			}
			var tok *Tokens
			switch tt.session {
			case "cookie", "expired":
				var cookie string
				cookie, tok = e.sealedCookie(t)
				r.Header.Set("Cookie", cookie)
				if tt.session == "expired" {
					e.clock.Advance(e.p.ttl * 2)
				}
			case "bearer":
				tok = e.p.issue("user_ada", "")
				r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
			}
			if tt.browser {
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				r.Header.Set("Accept", "text/html")
			} else {
				r.Header.Set("Accept", "application/json")
			}
			res := serve(e.site(), r)
			loc := res.Header().Get("Location")
			if res.Code != tt.wantCode {
				t.Fatalf("status %d, want %d (Location %q)", res.Code, tt.wantCode, loc)
			}
			switch {
			case tt.wantLoc == "" && loc != "":
				t.Fatalf("Location %q for an API client", loc)
			case strings.HasSuffix(tt.wantLoc, "?") && !strings.HasPrefix(loc, tt.wantLoc),
				!strings.HasSuffix(tt.wantLoc, "?") && loc != tt.wantLoc:
				t.Fatalf("Location %q, want %q", loc, tt.wantLoc)
			}
			if tt.session != "" && e.p.revokeCalls.Load() != 1 {
				t.Fatalf("revoked %d times, want once before the redirect", e.p.revokeCalls.Load())
			}
			if tt.session == "cookie" || tt.session == "expired" {
				if c := setCookies(res)[e.web.cfg.CookieName]; c == nil || c.MaxAge >= 0 {
					t.Fatal("session cookie not cleared")
				}
			}
			rec.mu.Lock()
			defer rec.mu.Unlock()
			if rec.returnTo != tt.wantRet {
				t.Fatalf("LogoutURL returnTo %q, want %q (calls %d)", rec.returnTo, tt.wantRet, rec.calls)
			}
			if tt.wantRet != "" {
				if u, _ := url.Parse(loc); tt.wantKind == nil && u.Query().Get("return_to") != tt.wantRet {
					t.Fatalf("provider URL %q does not carry returnTo", loc)
				}
				if rec.session == nil || rec.session.SessionID == "" || rec.session.UserID != "user_ada" {
					t.Fatalf("LogoutURL session %+v", rec.session)
				}
			}
			if got := rec.idToken != ""; got != tt.wantIDTok || (got && rec.idToken != tok.IDToken) {
				t.Fatalf("id token hint %q, want one: %v", rec.idToken, tt.wantIDTok)
			}
			outs := e.events(EventSignOut)
			if len(outs) != 1 || outs[0].Kind != tt.wantKind {
				t.Fatalf("sign-out events %+v, want one with kind %v", outs, tt.wantKind)
			}
		})
	}
}

func TestIDTokenContext(t *testing.T) {
	ctx := context.Background()
	if _, ok := IDTokenFrom(ctx); ok {
		t.Fatal("ID token in an empty context")
	}
	if _, ok := IDTokenFrom(WithIDToken(ctx, "")); ok {
		t.Fatal("empty ID token reported")
	}
	if v, ok := IDTokenFrom(WithIDToken(ctx, "eyJ.x.y")); !ok || v != "eyJ.x.y" {
		t.Fatalf("IDTokenFrom = %q, %v", v, ok)
	}
}

func TestCapabilitiesIncludeLogoutRedirect(t *testing.T) {
	p := newFakeProvider(newClock())
	tests := []struct {
		name string
		a    Authenticator
		want bool
	}{
		{"plain", pwAuth{p}, false},
		{"logout page", logoutAuth{pwAuth{p}, &logoutRecord{}}, true},
		{"described off", logoutAuth{pwAuth{p}, &logoutRecord{logoutConfig: logoutConfig{off: "not configured"}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Has(tt.a, CapLogoutRedirect); got != tt.want {
				t.Fatalf("Has = %v, want %v", got, tt.want)
			}
			listed := false
			for _, c := range Capabilities(tt.a) {
				listed = listed || c == CapLogoutRedirect
			}
			if listed != tt.want {
				t.Fatalf("Capabilities lists it: %v, want %v", listed, tt.want)
			}
		})
	}
}

// clientSpy records the ClientInfo of every adapter call.
type clientSpy struct {
	pwAuth
	mu   sync.Mutex
	seen map[string]ClientInfo // op -> client ("" IP and UA: none)
	none map[string]bool       // op -> called without ClientInfo
}

func (s *clientSpy) note(ctx context.Context, op string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := ClientInfoFrom(ctx)
	if !ok {
		s.none[op] = true
		return
	}
	s.seen[op] = c
}

func (s *clientSpy) Verify(ctx context.Context, c Credential) (*Session, error) {
	s.note(ctx, "verify")
	return s.pwAuth.Verify(ctx, c)
}
func (s *clientSpy) SignInWithPassword(ctx context.Context, e, pw string) (*Tokens, error) {
	s.note(ctx, "sign-in")
	return s.pwAuth.SignInWithPassword(ctx, e, pw)
}
func (s *clientSpy) SignUp(ctx context.Context, e, pw string) (*Tokens, error) {
	s.note(ctx, "sign-up")
	return s.pwAuth.SignUp(ctx, e, pw)
}
func (s *clientSpy) Refresh(ctx context.Context, rt string) (*Tokens, error) {
	s.note(ctx, "refresh")
	return s.pwAuth.Refresh(ctx, rt)
}
func (s *clientSpy) Revoke(ctx context.Context, ss *Session, t *Tokens) error {
	s.note(ctx, "revoke")
	return s.pwAuth.Revoke(ctx, ss, t)
}

func TestClientInfoReachesAdapters(t *testing.T) {
	const ua = "spy-agent/1.0"
	tests := []struct {
		name   string
		hops   int
		remote string
		xff    string
		wantIP string
	}{
		{"connection address", 0, "198.51.100.7:4321", "", "198.51.100.7"},
		{"X-Forwarded-For ignored without hops", 0, "198.51.100.7:4321", "203.0.113.9", "198.51.100.7"},
		{"one trusted proxy", 1, "10.0.0.1:80", "192.0.2.66, 203.0.113.9", "203.0.113.9"},
		{"two trusted proxies", 2, "10.0.0.1:80", "192.0.2.66, 203.0.113.9", "192.0.2.66"},
		{"IPv6 kept whole", 0, "[2001:db8::1]:443", "", "2001:db8::1"},
		{"IPv4-mapped IPv6", 0, "[::ffff:192.0.2.1]:443", "", "192.0.2.1"},
	}
	ops := []struct {
		op  string
		req func(e *env, tok *Tokens, cookie string) *http.Request
	}{
		{"sign-in", func(*env, *Tokens, string) *http.Request {
			return jsonReq("/auth/login", `{"email":"ada@example.com","password":"correct horse battery staple"}`)
		}},
		{"sign-up", func(*env, *Tokens, string) *http.Request {
			return jsonReq("/auth/signup", `{"email":"bob@example.com","password":"another long password"}`)
		}},
		{"verify", func(_ *env, tok *Tokens, _ string) *http.Request {
			r := httptest.NewRequest("GET", "/auth/session", nil)
			r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
			return r
		}},
		{"refresh", func(_ *env, _ *Tokens, cookie string) *http.Request {
			r := httptest.NewRequest("POST", "/auth/refresh", nil)
			r.Header.Set("Cookie", cookie)
			return r
		}},
		{"revoke", func(_ *env, _ *Tokens, cookie string) *http.Request {
			r := httptest.NewRequest("POST", "/auth/logout", nil)
			r.Header.Set("Cookie", cookie)
			return r
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var spy *clientSpy
			e := newEnv(t, func(p *fakeProvider) Authenticator {
				spy = &clientSpy{pwAuth: pwAuth{p}, seen: map[string]ClientInfo{}, none: map[string]bool{}}
				return spy
			}, func(c *Config) { c.ForwardedForHops = tt.hops })
			for _, o := range ops {
				cookie, tok := e.sealedCookie(t)
				r := o.req(e, tok, cookie)
				r.RemoteAddr = tt.remote
				r.Header.Set("User-Agent", ua)
				if tt.xff != "" {
					r.Header.Set("X-Forwarded-For", tt.xff)
				}
				// Through the handler alone: it derives ClientInfo itself.
				if res := serve(e.web.Handler(), r); res.Code >= 400 {
					t.Fatalf("%s: %d %s", o.op, res.Code, res.Body)
				}
				spy.mu.Lock()
				got, none := spy.seen[o.op], spy.none[o.op]
				spy.mu.Unlock()
				if none || got != (ClientInfo{IP: tt.wantIP, UserAgent: ua}) {
					t.Fatalf("%s saw %+v (none: %v), want IP %q", o.op, got, none, tt.wantIP)
				}
			}
		})
	}
}

func TestClientInfoPrecedenceAndMiddlewareUpstream(t *testing.T) {
	var spy *clientSpy
	e := newEnv(t, func(p *fakeProvider) Authenticator {
		spy = &clientSpy{pwAuth: pwAuth{p}, seen: map[string]ClientInfo{}, none: map[string]bool{}}
		return spy
	}, nil)
	signIn := func(h http.Handler, ctx context.Context) ClientInfo {
		t.Helper()
		r := jsonReq("/auth/login", `{"email":"ada@example.com","password":"correct horse battery staple"}`).WithContext(ctx)
		r.RemoteAddr = "198.51.100.7:1"
		if res := serve(h, r); res.Code != 200 {
			t.Fatalf("sign-in: %d %s", res.Code, res.Body)
		}
		spy.mu.Lock()
		defer spy.mu.Unlock()
		if spy.none["sign-in"] {
			t.Fatal("sign-in without ClientInfo")
		}
		return spy.seen["sign-in"]
	}
	// Middleware upstream of the handler (the usual mount): the handler
	// still attaches the request.
	if got := signIn(e.site(), context.Background()); got.IP != "198.51.100.7" {
		t.Fatalf("behind Middleware: %+v", got)
	}
	// An explicit WithClientInfo upstream wins.
	want := ClientInfo{IP: "192.0.2.200", UserAgent: "grpc-gateway"}
	if got := signIn(e.web.Handler(), WithClientInfo(context.Background(), want)); got != want {
		t.Fatalf("explicit ClientInfo: %+v, want %+v", got, want)
	}
}

func TestWebClientInfo(t *testing.T) {
	e := newEnv(t, func(p *fakeProvider) Authenticator { return pwAuth{p} }, func(c *Config) { c.ForwardedForHops = 1 })
	tests := []struct {
		name, remote, xff, want, wantRate string
	}{
		{"from X-Forwarded-For", "10.0.0.1:1", "203.0.113.5", "203.0.113.5", "203.0.113.5"},
		{"fewer hops than trusted: the connection", "10.0.0.1:1", "", "10.0.0.1", "10.0.0.1"},
		{"IPv6 whole, rate key by /64", "10.0.0.1:1", "2001:db8:1:2:3:4:5:6", "2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"garbage", "10.0.0.1:1", "not-an-ip", "", "unknown"},
		{"zone dropped", "10.0.0.1:1", "fe80::1%eth0", "fe80::1", "fe80::/64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			r.Header.Set("User-Agent", "ua")
			if tt.xff != "" {
				r.Header.Set("X-Forwarded-For", tt.xff)
			}
			if got := e.web.ClientInfo(r); got != (ClientInfo{IP: tt.want, UserAgent: "ua"}) {
				t.Fatalf("ClientInfo = %+v, want IP %q", got, tt.want)
			}
			if got := e.web.clientIP(r); got != tt.wantRate {
				t.Fatalf("rate-limit key %q, want %q", got, tt.wantRate)
			}
		})
	}
	if _, ok := ClientInfoFrom(context.Background()); ok {
		t.Fatal("ClientInfo in an empty context")
	}
	if _, ok := ClientInfoFrom(WithSession(context.Background(), &Session{UserID: "u"})); ok {
		t.Fatal("ClientInfo from WithSession without a request")
	}
	if c, ok := ClientInfoFrom(WithClientInfo(context.Background(), ClientInfo{IP: "192.0.2.1"})); !ok || c.IP != "192.0.2.1" {
		t.Fatalf("WithClientInfo round trip: %+v %v", c, ok)
	}
}
