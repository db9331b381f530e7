package conformance

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authport/authport"
)

// site is an application written once against authport: the same routes
// every adapter is tested through.
type site struct {
	srv    *httptest.Server
	web    *authport.Web
	sealer *authport.Sealer
	logs   *syncBuffer
}

// syncBuffer collects the site's log output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// siteCookie is the session cookie name of the suite's site.
const siteCookie = "authport_conformance"

func (s *suite) newSite(t *testing.T) *site {
	t.Helper()
	return s.newSiteFor(t, s.h.Authenticator)
}

// newSiteFor is the site in front of a (the adapter, or a view of it).
func (s *suite) newSiteFor(t *testing.T, a authport.Authenticator) *site {
	t.Helper()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	web, err := authport.NewWeb(a, authport.Config{CookieKeys: [][]byte{key}, CookieName: siteCookie, Insecure: true, Logger: logger})
	if err != nil {
		t.Fatalf("NewWeb: %v", err)
	}
	sealer, err := authport.NewSealer([][]byte{key})
	if err != nil {
		t.Fatal(err)
	}
	app := http.NewServeMux()
	app.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		sess, ok := authport.SessionFrom(r.Context())
		if !ok {
			http.Error(w, "guard let an anonymous request through", http.StatusInternalServerError)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"user": sess.UserID})
	})
	mux := http.NewServeMux()
	mux.Handle("/app/", authport.Require()(app))
	mux.Handle("/admin/", authport.RequireRole("admin")(app))
	mux.HandleFunc("/public", func(w http.ResponseWriter, r *http.Request) {
		if sess, ok := authport.SessionFrom(r.Context()); ok {
			_, _ = io.WriteString(w, "hello "+sess.UserID)
			return
		}
		_, _ = io.WriteString(w, "hello guest")
	})
	mux.Handle("/auth/", web.Handler())
	srv := httptest.NewServer(web.Middleware(mux))
	t.Cleanup(srv.Close)
	return &site{srv: srv, web: web, sealer: sealer, logs: logs}
}

type resp struct {
	status int
	header http.Header
	body   string
}

func (st *site) do(t *testing.T, method, path string, hdr map[string][]string) resp {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, st.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range hdr {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	c := st.srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	return resp{res.StatusCode, res.Header, string(b)}
}

func bearerHdr(tok string) map[string][]string {
	return map[string][]string{"Authorization": {"Bearer " + tok}}
}

func checkAPIError(t *testing.T, r resp, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d (body %q)", r.status, status, r.body)
	}
	var body struct {
		Error string `json:"error"`
		Desc  string `json:"error_description"`
	}
	if err := json.Unmarshal([]byte(r.body), &body); err != nil || body.Error == "" {
		t.Fatalf("body %q is not the JSON error shape", r.body)
	}
	if code != "" && body.Error != code {
		t.Fatalf("error %q, want %q", body.Error, code)
	}
	if strings.Contains(r.body, "eyJ") {
		t.Fatal("response body contains a token")
	}
	if status == 401 && !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
		t.Fatalf("401 without a Bearer challenge: %q", r.header.Get("WWW-Authenticate"))
	}
}

func (s *suite) routeProtection(t *testing.T) {
	st := s.newSite(t)
	u := s.newUser(t, nil)
	tok := s.signIn(t, u)
	cred := s.h.credential(tok)
	authHdr := func() map[string][]string {
		if cred.Source == authport.SourceCookie {
			return map[string][]string{"Cookie": {cred.Cookie + "=" + cred.Token}}
		}
		return bearerHdr(cred.Token)
	}
	s.run(t, "APINoCredential401", func(t *testing.T) {
		r := st.do(t, "GET", "/app/x", map[string][]string{"Accept": {"application/json"}})
		checkAPIError(t, r, 401, "")
	})
	s.run(t, "BrowserNoCredentialRedirects", func(t *testing.T) {
		r := st.do(t, "GET", "/app/x?y=1", map[string][]string{"Accept": {"text/html"}})
		if r.status != http.StatusSeeOther {
			t.Fatalf("status %d, want 303", r.status)
		}
		loc, err := url.Parse(r.header.Get("Location"))
		if err != nil || loc.Host != "" || !strings.HasPrefix(loc.Path, "/auth/login") {
			t.Fatalf("Location %q, want the login path", r.header.Get("Location"))
		}
		if rt := loc.Query().Get("return_to"); rt != "/app/x?y=1" {
			t.Fatalf("return_to %q, want /app/x?y=1", rt)
		}
	})
	s.run(t, "ValidCredentialPasses", func(t *testing.T) {
		r := st.do(t, "GET", "/app/x", authHdr())
		if r.status != 200 || !strings.Contains(r.body, u.ID) {
			t.Fatalf("status %d body %q, want 200 for %s", r.status, r.body, u.ID)
		}
	})
	s.run(t, "PublicPageShowsState", func(t *testing.T) {
		if r := st.do(t, "GET", "/public", nil); r.body != "hello guest" {
			t.Fatalf("anonymous public page %q", r.body)
		}
		if r := st.do(t, "GET", "/public", authHdr()); r.body != "hello "+u.ID {
			t.Fatalf("signed-in public page %q", r.body)
		}
	})
	s.run(t, "InvalidToken401", func(t *testing.T) {
		r := st.do(t, "GET", "/app/x", bearerHdr("not.a.token"))
		checkAPIError(t, r, 401, "invalid_token")
	})
	s.run(t, "TwoAuthorizationHeaders401", func(t *testing.T) {
		r := st.do(t, "GET", "/app/x", map[string][]string{"Authorization": {"Bearer " + cred.Token, "Bearer " + cred.Token}})
		checkAPIError(t, r, 401, "")
	})
	s.run(t, "OtherScheme401", func(t *testing.T) {
		r := st.do(t, "GET", "/app/x", map[string][]string{"Authorization": {"Basic dXNlcjpwYXNz"}})
		checkAPIError(t, r, 401, "")
	})
	s.run(t, "J45_TokenInURLIgnored", func(t *testing.T) {
		q := url.QueryEscape(cred.Token)
		r := st.do(t, "GET", "/app/x?access_token="+q+"&token="+q, map[string][]string{"Accept": {"application/json"}})
		checkAPIError(t, r, 401, "")
	})
	s.run(t, "RoleGuard403", func(t *testing.T) {
		r := st.do(t, "GET", "/admin/x", authHdr())
		checkAPIError(t, r, 403, "insufficient_scope")
	})
	s.run(t, "RoleGuardPassesWithRole", func(t *testing.T) {
		if !s.h.Features.Roles {
			na(t, "the harness cannot grant roles at this provider")
		}
		admin := s.newUser(t, func(u *User) { u.Roles = []string{"admin"} })
		c := s.h.credential(s.signIn(t, admin))
		h := bearerHdr(c.Token)
		if c.Source == authport.SourceCookie {
			h = map[string][]string{"Cookie": {c.Cookie + "=" + c.Token}}
		}
		if r := st.do(t, "GET", "/admin/x", h); r.status != 200 {
			t.Fatalf("admin got %d", r.status)
		}
	})
	s.run(t, "SessionEndpoint", func(t *testing.T) {
		r := st.do(t, "GET", "/auth/session", nil)
		var body struct {
			Authenticated bool `json:"authenticated"`
		}
		if err := json.Unmarshal([]byte(r.body), &body); err != nil || body.Authenticated {
			t.Fatalf("anonymous /auth/session: %d %q", r.status, r.body)
		}
		r = st.do(t, "GET", "/auth/session", authHdr())
		if err := json.Unmarshal([]byte(r.body), &body); err != nil || !body.Authenticated {
			t.Fatalf("signed-in /auth/session: %d %q", r.status, r.body)
		}
		if strings.Contains(r.body, cred.Token) {
			t.Fatal("/auth/session echoes the credential")
		}
	})
	s.run(t, "CrossOriginLogoutRefused", func(t *testing.T) {
		h := authHdr()
		h["Origin"] = []string{"https://evil.example"}
		h["Sec-Fetch-Site"] = []string{"cross-site"}
		if r := st.do(t, "POST", "/auth/logout", h); r.status != http.StatusForbidden {
			t.Fatalf("cross-origin logout: %d, want 403", r.status)
		}
	})
	s.run(t, "LogoutEndsSession", func(t *testing.T) {
		// A browser holding authport's sealed cookie signs out with a
		// same-origin form post: the cookie is cleared, the browser is
		// sent to the provider's logout page (LogoutRedirector) or to the
		// after-logout path, and the provider-side session has ended where
		// the adapter can revoke.
		u := s.newUser(t, nil)
		tok := s.signIn(t, u)
		sealed, err := st.sealer.Seal(tok)
		if err != nil {
			t.Fatal(err)
		}
		jar := map[string][]string{"Cookie": {siteCookie + "=" + sealed}}
		r := st.do(t, "GET", "/auth/session", jar)
		if !strings.Contains(r.body, `"authenticated":true`) {
			t.Fatalf("sealed cookie not signed in: %d %q", r.status, r.body)
		}
		h := map[string][]string{"Cookie": jar["Cookie"], "Accept": {"text/html"},
			"Content-Type": {"application/x-www-form-urlencoded"}, "Origin": {st.srv.URL}, "Sec-Fetch-Site": {"same-origin"}}
		r = st.do(t, "POST", "/auth/logout", h)
		if r.status != http.StatusSeeOther {
			t.Fatalf("logout: status %d, want 303 (body %q)", r.status, r.body)
		}
		cleared := false
		for _, sc := range r.header.Values("Set-Cookie") {
			if strings.HasPrefix(sc, siteCookie+"=") && (strings.Contains(sc, "Max-Age=0") || strings.Contains(sc, "Max-Age=-1")) {
				cleared = true
			}
		}
		if !cleared {
			t.Fatalf("logout did not clear the session cookie: %q", r.header.Values("Set-Cookie"))
		}
		loc, err := url.Parse(r.header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		app, _ := url.Parse(st.srv.URL)
		if authport.Has(s.h.Authenticator, authport.CapLogoutRedirect) {
			if !loc.IsAbs() || loc.Host == app.Host {
				t.Fatalf("Location %q, want the provider's logout page", loc)
			}
		} else if loc.IsAbs() && loc.Host != app.Host {
			t.Fatalf("Location %q leaves the app although the adapter has no logout page", loc)
		}
		strict, ok := s.h.Authenticator.(authport.StrictVerifier)
		if ok && authport.Has(s.h.Authenticator, authport.CapStrictVerify) && authport.Has(s.h.Authenticator, authport.CapRevoke) {
			_, err := strict.VerifyStrict(t.Context(), s.h.credential(tok))
			wantKind(t, err, authport.ErrRevoked)
		}
	})
	defer s.run(t, "NoSecretInLogs", func(t *testing.T) {
		// Every request above (sign-in state, refusals, sign-out) was
		// logged at debug level; no credential may appear in the log.
		logs := st.logs.String()
		if logs == "" {
			t.Fatal("the site logged nothing at debug level; events are expected")
		}
		for _, secret := range []string{cred.Token, tok.RefreshToken, tok.IDToken} {
			if len(secret) >= 16 && strings.Contains(logs, secret) {
				t.Fatal("a credential appears in the log")
			}
		}
		if strings.Contains(logs, "eyJ") {
			t.Fatal("something token-shaped appears in the log")
		}
	})
	s.run(t, "ExpiredToken401", func(t *testing.T) {
		f := s.h.Forger
		if f == nil {
			na(t, "needs a Forger to mint an expired token")
		}
		c := f.Claims(u.ID)
		c["exp"] = time.Now().Add(-time.Hour).Unix()
		c["iat"] = time.Now().Add(-2 * time.Hour).Unix()
		c["nbf"] = time.Now().Add(-2 * time.Hour).Unix()
		e := &env{f: f}
		r := st.do(t, "GET", "/app/x", bearerHdr(e.trusted(t, f.Header(), c)))
		checkAPIError(t, r, 401, "invalid_token")
	})
}

func (s *suite) passwordSignIn(t *testing.T) {
	ps, ok := s.h.Authenticator.(authport.PasswordSignIn)
	if !ok || !authport.Has(s.h.Authenticator, authport.CapPasswordSignIn) {
		na(t, reason(s.h.Authenticator, authport.CapPasswordSignIn, "the adapter has no password sign-in"))
	}
	u := s.newUser(t, nil)
	s.run(t, "Succeeds", func(t *testing.T) {
		tok, err := ps.SignInWithPassword(t.Context(), u.Email, u.Password)
		if err != nil {
			t.Fatal(err)
		}
		sess, err := s.verify(t, s.h.credential(tok))
		if err != nil {
			t.Fatal(err)
		}
		if sess.UserID != u.ID {
			t.Fatalf("UserID %q, want %q", sess.UserID, u.ID)
		}
	})
	s.run(t, "WrongPasswordAndUnknownEmailAlike", func(t *testing.T) {
		_, err1 := ps.SignInWithPassword(t.Context(), u.Email, u.Password+"x")
		_, err2 := ps.SignInWithPassword(t.Context(), "nobody-"+randHex(4)+"@example.com", u.Password)
		wantKind(t, err1, authport.ErrInvalidCredential)
		wantKind(t, err2, authport.ErrInvalidCredential)
	})
	s.run(t, "SignUp", func(t *testing.T) {
		su, ok := s.h.Authenticator.(authport.SignUp)
		if !ok || !authport.Has(s.h.Authenticator, authport.CapSignUp) {
			na(t, reason(s.h.Authenticator, authport.CapSignUp, "the adapter has no sign-up"))
		}
		email := "signup-" + randHex(6) + "@example.com"
		tok, err := su.SignUp(t.Context(), email, "Pw-"+randHex(10))
		if err != nil {
			t.Fatal(err)
		}
		if tok != nil && tok.AccessToken != "" {
			if _, err := s.verify(t, s.h.credential(tok)); err != nil {
				t.Fatalf("token from sign-up does not verify: %v", err)
			}
		}
	})
}

func reason(a authport.Authenticator, c authport.Capability, def string) string {
	if d, ok := a.(authport.Describer); ok {
		if r := d.Describe().Unsupported[c]; r != "" {
			return r
		}
	}
	return def
}

func (s *suite) refresh(t *testing.T) {
	rf, ok := s.h.Authenticator.(authport.Refresher)
	if !ok || !authport.Has(s.h.Authenticator, authport.CapRefresh) {
		na(t, reason(s.h.Authenticator, authport.CapRefresh, "the adapter cannot refresh"))
	}
	u := s.newUser(t, nil)
	tok := s.signIn(t, u)
	if tok.RefreshToken == "" {
		t.Fatal("sign-in issued no refresh token although the adapter refreshes")
	}
	var next *authport.Tokens
	s.run(t, "Rotates", func(t *testing.T) {
		var err error
		next, err = rf.Refresh(t.Context(), tok.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		sess, err := s.verify(t, s.h.credential(next))
		if err != nil {
			t.Fatal(err)
		}
		if sess.UserID != u.ID {
			t.Fatalf("refreshed session for %q, want %q", sess.UserID, u.ID)
		}
	})
	s.run(t, "ReuseRejected", func(t *testing.T) {
		if next == nil {
			t.Skip("N/A: Rotates failed")
		}
		_, err := rf.Refresh(t.Context(), tok.RefreshToken)
		if err == nil {
			t.Fatal("a used refresh token was accepted again")
		}
		if k := authport.KindOf(err); k != authport.ErrInvalidCredential && k != authport.ErrRevoked {
			t.Fatalf("reuse gave kind %v, want invalid credential or revoked", k)
		}
	})
	s.run(t, "GarbageRejected", func(t *testing.T) {
		_, err := rf.Refresh(t.Context(), "garbage-"+randHex(8))
		if err == nil {
			t.Fatal("a garbage refresh token was accepted")
		}
		if k := authport.KindOf(err); k != authport.ErrInvalidCredential && k != authport.ErrRevoked {
			t.Fatalf("garbage refresh token gave kind %v", k)
		}
	})
}

func (s *suite) revocation(t *testing.T) {
	a := s.h.Authenticator
	strict, hasStrict := a.(authport.StrictVerifier)
	hasStrict = hasStrict && authport.Has(a, authport.CapStrictVerify)
	s.run(t, "StrictVerifyLive", func(t *testing.T) {
		if !hasStrict {
			na(t, reason(a, authport.CapStrictVerify, "the adapter cannot ask the provider about a session"))
		}
		u := s.newUser(t, nil)
		if _, err := strict.VerifyStrict(t.Context(), s.h.credential(s.signIn(t, u))); err != nil {
			t.Fatalf("VerifyStrict of a live session: %v", err)
		}
	})
	s.run(t, "AdapterRevoke", func(t *testing.T) {
		rv, ok := a.(authport.Revoker)
		if !ok || !authport.Has(a, authport.CapRevoke) {
			na(t, reason(a, authport.CapRevoke, "the adapter cannot revoke"))
		}
		u := s.newUser(t, nil)
		tok := s.signIn(t, u)
		c := s.h.credential(tok)
		sess, err := s.verify(t, c)
		if err != nil {
			t.Fatal(err)
		}
		if err := rv.Revoke(t.Context(), sess, tok); err != nil {
			t.Fatalf("Revoke: %v", err)
		}
		s.afterRevoke(t, c, tok, strict, hasStrict)
	})
	s.run(t, "ProviderRevoke", func(t *testing.T) {
		if s.h.RevokeSession == nil {
			na(t, "the harness cannot revoke through the provider's admin API")
		}
		u := s.newUser(t, nil)
		tok := s.signIn(t, u)
		c := s.h.credential(tok)
		sess, err := s.verify(t, c)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.h.RevokeSession(t.Context(), sess); err != nil {
			t.Fatalf("harness RevokeSession: %v", err)
		}
		s.afterRevoke(t, c, tok, strict, hasStrict)
	})
}

// afterRevoke checks what a revoked session must show: strict verification
// refuses it with ErrRevoked; plain Verify either refuses it too or the
// adapter documents a revocation delay; the refresh token is dead.
func (s *suite) afterRevoke(t *testing.T, c authport.Credential, tok *authport.Tokens, strict authport.StrictVerifier, hasStrict bool) {
	t.Helper()
	a := s.h.Authenticator
	_, plainErr := s.verify(t, c)
	if plainErr != nil {
		if k := authport.KindOf(plainErr); k != authport.ErrRevoked && k != authport.ErrInvalidCredential {
			t.Fatalf("Verify after revoke: kind %v, want revoked", k)
		}
	} else {
		var delay time.Duration
		if d, ok := a.(authport.Describer); ok {
			delay = d.Describe().RevocationDelay
		}
		if delay == 0 {
			t.Fatal("Verify still accepts a revoked session although the adapter declares no revocation delay")
		}
	}
	if hasStrict {
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		_, err := strict.VerifyStrict(ctx, c)
		wantKind(t, err, authport.ErrRevoked)
	}
	if rf, ok := a.(authport.Refresher); ok && authport.Has(a, authport.CapRefresh) && tok.RefreshToken != "" {
		s.run(t, "RefreshAfterRevoke", func(t *testing.T) {
			if _, err := rf.Refresh(t.Context(), tok.RefreshToken); err == nil {
				t.Fatal("the refresh token of a revoked session still works")
			} else if errors.Is(err, authport.ErrProviderUnavailable) {
				t.Fatalf("refresh after revoke: %v", err)
			}
		})
	}
}
