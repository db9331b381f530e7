package emulator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func newTestServer(t *testing.T, o Options) *Server {
	t.Helper()
	s := NewUnstarted(o)
	s.HandleKeys("GET /jwks", s.Keys.JWKSHandler(false, time.Hour))
	s.Mux.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") })
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func get(t *testing.T, s *Server, path string) (int, string, http.Header) {
	t.Helper()
	resp, err := s.Client().Get(s.URL + path)
	if err != nil {
		return 0, err.Error(), nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func post(t *testing.T, s *Server, path string, in any, out any) int {
	t.Helper()
	b, _ := json.Marshal(in)
	resp, err := s.Client().Post(s.URL+path, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if out != nil && len(body) > 0 {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("%s: %v: %s", path, err, body)
		}
	}
	return resp.StatusCode
}

func TestLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", "[::]:0", ":0", "192.0.2.1:0", "example.com:80"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("listened on %s", addr)
				}
			}()
			NewUnstarted(Options{Addr: addr}).Close()
		}()
	}
	s := NewUnstarted(Options{Addr: "localhost:0"})
	defer s.Close()
	if !strings.HasPrefix(s.URL, "http://127.0.0.1:") {
		t.Fatalf("URL %s", s.URL)
	}
}

func TestTLS(t *testing.T) {
	s := newTestServer(t, Options{TLS: true})
	if !strings.HasPrefix(s.URL, "https://127.0.0.1:") {
		t.Fatal(s.URL)
	}
	if code, body, _ := get(t, s, "/hello"); code != 200 || body != "hello" {
		t.Fatal(code, body)
	}
}

func TestFaults(t *testing.T) {
	s := newTestServer(t, Options{})
	if code, body, h := get(t, s, "/jwks"); code != 200 || !strings.Contains(body, s.Keys.KID()) || h.Get("Cache-Control") != "public, max-age=3600" {
		t.Fatalf("%d %s %v", code, body, h)
	}
	cases := []struct {
		name  string
		f     Fault
		check func(code int, body string, h http.Header) bool
	}{
		{"down", Fault{Down: true}, func(c int, b string, h http.Header) bool { return c == 503 && h.Get("Retry-After") != "" }},
		{"status", Fault{Status: 500}, func(c int, b string, _ http.Header) bool { return c == 500 }},
		{"html", Fault{Garbage: GarbageHTML}, func(c int, b string, h http.Header) bool {
			return c == 200 && strings.HasPrefix(b, "<!doctype html>") && strings.HasPrefix(h.Get("Content-Type"), "text/html")
		}},
		{"keys", Fault{Garbage: GarbageKeys}, func(c int, b string, _ http.Header) bool { return c == 200 && b == `{"keys":"x"}` }},
		{"empty", Fault{Garbage: GarbageEmpty, Status: 200}, func(c int, b string, _ http.Header) bool { return b == `{"keys":[]}` }},
		{"truncated", Fault{Garbage: GarbageTruncated}, func(c int, b string, _ http.Header) bool { return !json.Valid([]byte(b)) }},
		{"huge", Fault{Huge: true}, func(c int, b string, _ http.Header) bool {
			return c == 200 && len(b) > HugeSize && json.Valid([]byte(b))
		}},
		{"hangup", Fault{Hangup: true}, func(c int, b string, _ http.Header) bool { return c == 0 }},
	}
	for _, tc := range cases {
		for _, route := range []string{"GET /jwks", "/jwks", "*"} {
			s.SetFault(route, tc.f)
			code, body, h := get(t, s, "/jwks")
			s.ClearFault(route)
			if !tc.check(code, body, h) {
				t.Errorf("%s on %q: %d %.80s", tc.name, route, code, body)
			}
		}
	}
	if code, _, _ := get(t, s, "/jwks"); code != 200 {
		t.Fatal("fault not cleared")
	}
	// 1 + 8 faults × 3 routes + 1, plus the client's retries of GETs
	// whose connection was hung up.
	if n := s.Fetches("GET /jwks"); n < 26 || n > 29 || s.Fetches("/jwks") != n {
		t.Fatalf("fetches %d", n)
	}
	if s.Fetches("GET /hello") != 0 || s.Hits("/hello") != 0 {
		t.Fatal("hello counted as a key fetch")
	}

	// Count limits a fault; the control API is never faulted.
	s.SetFault("*", Fault{Down: true, Count: 2})
	if code, _, _ := get(t, s, ControlPrefix+"stats"); code != 200 {
		t.Fatal("control API faulted")
	}
	for i, want := range []int{503, 503, 200} {
		if code, _, _ := get(t, s, "/hello"); code != want {
			t.Fatalf("request %d: %d", i, code)
		}
	}

	// Delay holds the request, then answers normally; a client that gives
	// up is released.
	s.SetFault("/hello", Fault{Delay: 150 * time.Millisecond})
	start := time.Now()
	if code, body, _ := get(t, s, "/hello"); code != 200 || body != "hello" || time.Since(start) < 150*time.Millisecond {
		t.Fatalf("delay: %d %s after %v", code, body, time.Since(start))
	}
	s.SetFault("/hello", Fault{Delay: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.URL+"/hello", nil)
	if _, err := s.Client().Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("slow route: %v", err)
	}
	st := s.Stats()
	if st.Fetches["GET /jwks"] != s.Fetches("/jwks") || st.Faults["/hello"].Delay != time.Hour || st.KID != s.Keys.KID() {
		t.Fatalf("stats %+v", st)
	}
}

func TestCloseReleasesDelayedRequests(t *testing.T) {
	s := NewUnstarted(Options{})
	s.Mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {})
	s.Start()
	s.SetFault("*", Fault{Delay: time.Hour})
	done := make(chan error, 1)
	go func() {
		resp, err := s.Client().Get(s.URL + "/slow")
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	for s.Hits("/slow") == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	s.Close()
	if time.Since(start) > 5*time.Second {
		t.Fatal("Close waited for the delay")
	}
	<-done
}

func claimsOf(t *testing.T, tok string) (header, claims map[string]any) {
	t.Helper()
	p := strings.Split(tok, ".")
	return decodeSegment(t, p[0]), decodeSegment(t, p[1])
}

func TestMint(t *testing.T) {
	clock := FixedClock(time.Unix(1_700_000_000, 0))
	s := newTestServer(t, Options{
		Clock:         clock,
		TokenTTL:      10 * time.Minute,
		DefaultHeader: map[string]any{"typ": "at+jwt"},
		DefaultClaims: func(u *User, ss *Session) map[string]any {
			c := map[string]any{"iss": "https://issuer.test", "aud": "api", "nbf": clock.Now().Unix() - 5}
			if u != nil {
				c["email"] = u.Email
			}
			return c
		},
	})
	u, _ := s.Store.CreateUser(NewUser{Email: "a@example.com"})
	ss, _ := s.Store.CreateSession(NewSession{UserID: u.ID})
	now := clock.Now().Unix()

	tok, err := s.Mint(MintRequest{SessionID: ss.ID})
	if err != nil {
		t.Fatal(err)
	}
	h, c := claimsOf(t, tok)
	if h["typ"] != "at+jwt" || h["alg"] != "RS256" || h["kid"] != s.Keys.KID() {
		t.Fatalf("header %v", h)
	}
	if c["sub"] != u.ID || c["sid"] != ss.ID || c["email"] != "a@example.com" || c["iss"] != "https://issuer.test" ||
		c["iat"] != float64(now) || c["exp"] != float64(now+600) || c["nbf"] != float64(now-5) || c["jti"] == nil {
		t.Fatalf("claims %v", c)
	}
	if !verifyCompact(t, "RS256", s.Keys.PublicKey(), tok) {
		t.Fatal("signature")
	}
	m, err := s.Introspect(tok)
	if err != nil || m.SessionID != ss.ID || m.UserID != u.ID || !m.ExpiresAt.Equal(time.Unix(now+600, 0)) {
		t.Fatalf("introspect %+v %v", m, err)
	}

	_, c = claimsOf(t, must(s.Mint(MintRequest{UserID: u.ID, Expired: true})))
	if c["exp"] != float64(now-3600) || c["iat"] != float64(now-4200) || c["nbf"] != float64(now-4205) {
		t.Fatalf("expired %v", c)
	}
	_, c = claimsOf(t, must(s.Mint(MintRequest{UserID: u.ID, NotYetValid: true})))
	if c["nbf"] != float64(now+3600) || c["exp"].(float64) <= c["nbf"].(float64) {
		t.Fatalf("not yet valid %v", c)
	}
	_, c = claimsOf(t, must(s.Mint(MintRequest{UserID: u.ID, ExpiresIn: time.Minute, Claims: map[string]any{"exp": nil, "aud": []string{"x", "y"}}})))
	if _, ok := c["exp"]; ok || len(c["aud"].([]any)) != 2 {
		t.Fatalf("claims override %v", c)
	}
	h, _ = claimsOf(t, must(s.Mint(MintRequest{Header: map[string]any{"kid": nil, "jku": "http://evil"}})))
	if _, ok := h["kid"]; ok || h["jku"] != "http://evil" {
		t.Fatalf("header override %v", h)
	}

	foreign := must(s.Mint(MintRequest{UserID: u.ID, Foreign: true}))
	if h, _ := claimsOf(t, foreign); h["kid"] != s.Keys.KID() || verifyCompact(t, "RS256", s.Keys.PublicKey(), foreign) {
		t.Fatal("foreign token")
	}
	if _, err := s.Introspect(foreign); !errors.Is(err, ErrNotFound) {
		t.Fatal("foreign token introspected")
	}
	none := must(s.Mint(MintRequest{Alg: "none"}))
	if h, _ := claimsOf(t, none); h["alg"] != "none" || !strings.HasSuffix(none, ".") {
		t.Fatalf("none %s", none)
	}
	hs := must(s.Mint(MintRequest{Alg: "HS256"}))
	if !verifyCompact(t, "HS256", s.Keys.Current().PublicKeyPEM(), hs) {
		t.Fatal("HS256 confusion token not keyed with the public PEM")
	}
	es := must(s.Mint(MintRequest{Alg: "ES256"}))
	if h, _ := claimsOf(t, es); h["alg"] != "ES256" || h["kid"] != s.Keys.KID() {
		t.Fatal("ES256 with the trusted kid")
	}
	if _, err := s.Mint(MintRequest{UserID: "nope"}); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}

	// Introspection follows the session, the clock and the key ring.
	s.Store.RevokeSession(ss.ID)
	if _, err := s.Introspect(tok); !errors.Is(err, ErrInactive) {
		t.Fatalf("revoked: %v", err)
	}
	ss2, _ := s.Store.CreateSession(NewSession{UserID: u.ID})
	tok2 := must(s.Mint(MintRequest{SessionID: ss2.ID}))
	clock.Advance(10 * time.Minute)
	if _, err := s.Introspect(tok2); !errors.Is(err, ErrExpired) {
		t.Fatalf("expired: %v", err)
	}
	tok3 := must(s.Mint(MintRequest{SessionID: ss2.ID}))
	s.Keys.Rotate()
	if _, err := s.Introspect(tok3); err != nil {
		t.Fatal("rotated key still published")
	}
	s.Keys.DropRetired()
	if _, err := s.Introspect(tok3); !errors.Is(err, ErrNotFound) {
		t.Fatalf("dropped key: %v", err)
	}
	if _, err := s.Introspect(tok3 + "x"); !errors.Is(err, ErrNotFound) {
		t.Fatal("altered token")
	}
}

func must(tok string, err error) string {
	if err != nil {
		panic(err)
	}
	return tok
}

func TestControlAPI(t *testing.T) {
	s := newTestServer(t, Options{})
	var idx struct{ Routes map[string]string }
	if code, body, _ := get(t, s, ControlPrefix); code != 200 || json.Unmarshal([]byte(body), &idx) != nil || len(idx.Routes) != 11 {
		t.Fatalf("index %d %s", code, body)
	}
	var u User
	if code := post(t, s, ControlPrefix+"users", map[string]any{"email": "a@example.com", "password": "pw", "roles": []string{"admin"}}, &u); code != 201 || u.ID == "" || u.Roles[0] != "admin" {
		t.Fatalf("create user %d %+v", code, u)
	}
	var e map[string]string
	if code := post(t, s, ControlPrefix+"users", map[string]any{"email": "a@example.com"}, &e); code != 409 || e["error"] == "" {
		t.Fatalf("duplicate %d", code)
	}
	if code := post(t, s, ControlPrefix+"users", map[string]any{"emial": "typo@example.com"}, nil); code != 400 {
		t.Fatalf("unknown field %d", code)
	}
	var ts TokenSet
	if code := post(t, s, ControlPrefix+"sign-in", map[string]string{"email": "a@example.com", "password": "pw"}, &ts); code != 200 || ts.AccessToken == "" || ts.RefreshToken == "" || ts.SessionID == "" || ts.UserID != u.ID {
		t.Fatalf("sign-in %d %+v", code, ts)
	}
	if code := post(t, s, ControlPrefix+"sign-in", map[string]string{"email": "a@example.com", "password": "no"}, nil); code != 401 {
		t.Fatalf("bad sign-in %d", code)
	}
	if _, err := s.Introspect(ts.AccessToken); err != nil {
		t.Fatal(err)
	}
	var minted map[string]string
	if code := post(t, s, ControlPrefix+"mint", map[string]any{"email": "a@example.com", "new_session": true, "claims": map[string]any{"exp": nil, "x": 1}, "expired": true}, &minted); code != 200 {
		t.Fatalf("mint %d", code)
	}
	if _, c := claimsOf(t, minted["token"]); c["exp"] != nil || c["x"] != 1.0 || c["sid"] != minted["session_id"] {
		t.Fatalf("minted %v", c)
	}
	old := s.Keys.KID()
	var rot struct {
		KID, Previous string
		Published     []string
	}
	if code := post(t, s, ControlPrefix+"rotate", nil, &rot); code != 200 || rot.Previous != old || rot.KID != s.Keys.KID() || len(rot.Published) != 2 {
		t.Fatalf("rotate %d %+v", code, rot)
	}
	if post(t, s, ControlPrefix+"rotate", map[string]bool{"drop_old": true}, &rot); len(rot.Published) != 1 {
		t.Fatalf("rotate drop %+v", rot)
	}
	if code := post(t, s, ControlPrefix+"fault", map[string]any{"route": "GET /jwks", "garbage": "html", "count": 1}, nil); code != 204 {
		t.Fatal(code)
	}
	if code, body, _ := get(t, s, "/jwks"); code != 200 || !strings.HasPrefix(body, "<!doctype") {
		t.Fatal("fault via control API")
	}
	post(t, s, ControlPrefix+"fault", map[string]any{"route": "/hello", "down": true}, nil)
	post(t, s, ControlPrefix+"fault", map[string]any{"route": "", "clear": true}, nil)
	if code, _, _ := get(t, s, "/hello"); code != 200 {
		t.Fatal("clear all")
	}
	var st Stats
	if code, body, _ := get(t, s, ControlPrefix+"stats"); code != 200 || json.Unmarshal([]byte(body), &st) != nil || st.Fetches["GET /jwks"] != 1 || st.Users != 1 || st.Sessions != 2 {
		t.Fatalf("stats %s", body)
	}
	var rev map[string]int
	if post(t, s, ControlPrefix+"revoke", map[string]string{"user_id": u.ID}, &rev); rev["revoked"] != 2 {
		t.Fatalf("revoke %v", rev)
	}
	if code := post(t, s, ControlPrefix+"revoke", map[string]string{"session_id": "nope"}, nil); code != 404 {
		t.Fatal(code)
	}
	if code := post(t, s, ControlPrefix+"disable", map[string]string{"user_id": u.ID}, nil); code != 204 {
		t.Fatal(code)
	}
	if code := post(t, s, ControlPrefix+"sign-in", map[string]string{"email": "a@example.com", "password": "pw"}, nil); code != 401 {
		t.Fatalf("disabled sign-in %d", code)
	}
	before := s.Clock.Now()
	var now map[string]string
	post(t, s, ControlPrefix+"clock", map[string]int{"advance_seconds": 3600}, &now)
	if d := s.Clock.Now().Sub(before); d < time.Hour || d > time.Hour+time.Minute {
		t.Fatalf("clock moved %v", d)
	}
}

func TestSignInHook(t *testing.T) {
	s := newTestServer(t, Options{SignIn: func(r *http.Request, u *User) (any, error) {
		return map[string]string{"jwt": "for " + u.Email}, nil
	}})
	s.Store.CreateUser(NewUser{Email: "a@example.com", Password: "pw"})
	var out map[string]string
	if post(t, s, ControlPrefix+"sign-in", map[string]string{"email": "a@example.com", "password": "pw"}, &out); out["jwt"] != "for a@example.com" {
		t.Fatal(out)
	}
}

func TestHostedLogin(t *testing.T) {
	s := NewUnstarted(Options{Name: "Test IdP"})
	s.Mux.HandleFunc("/authorize", func(w http.ResponseWriter, r *http.Request) {
		s.HostedLogin(w, r, LoginOptions{Email: r.URL.Query().Get("login_hint"), Complete: func(r *http.Request, u *User) (string, error) {
			if r.URL.Query().Get("fail") != "" {
				return "", errors.New("no organisation")
			}
			return r.URL.Query().Get("redirect_uri") + "?code=c-" + u.ID + "&state=" + url.QueryEscape(r.URL.Query().Get("state")), nil
		}})
	})
	s.Start()
	defer s.Close()
	u, _ := s.Store.CreateUser(NewUser{Email: "a@example.com", Password: "pw"})
	page := s.URL + "/authorize?redirect_uri=" + url.QueryEscape("http://app.test/cb") + "&state=s%26t&login_hint=a%40example.com"

	code, body, h := get(t, s, strings.TrimPrefix(page, s.URL))
	for _, want := range []string{`<html lang="en">`, `<label for="email">`, `autocomplete="current-password"`, `value="a@example.com"`, "Sign in to Test IdP", `method="post"`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if code != 200 || h.Get("Cache-Control") != "no-store" || h.Get("X-Frame-Options") != "DENY" {
		t.Fatalf("%d %v", code, h)
	}

	loc, err := SubmitLogin(context.Background(), s.Client(), page, "a@example.com", "pw")
	if err != nil {
		t.Fatal(err)
	}
	if loc.Host != "app.test" || loc.Query().Get("code") != "c-"+u.ID || loc.Query().Get("state") != "s&t" {
		t.Fatalf("redirect %s", loc)
	}
	_, wrong := SubmitLogin(context.Background(), s.Client(), page, "a@example.com", "nope")
	_, unknown := SubmitLogin(context.Background(), s.Client(), page, "b@example.com", "pw")
	if wrong == nil || unknown == nil || wrong.Error() != unknown.Error() || !strings.Contains(wrong.Error(), "401: Invalid email or password.") {
		t.Fatalf("wrong password %v, unknown user %v", wrong, unknown)
	}
	if _, err := SubmitLogin(context.Background(), s.Client(), page+"&fail=1", "a@example.com", "pw"); err == nil || !strings.Contains(err.Error(), "no organisation") {
		t.Fatalf("Complete error: %v", err)
	}
	req, _ := http.NewRequest("DELETE", page, nil)
	if resp, _ := s.Client().Do(req); resp.StatusCode != 405 {
		t.Fatal(resp.StatusCode)
	}
}

func TestMintOmitsDefaults(t *testing.T) {
	s := newTestServer(t, Options{DefaultClaims: func(u *User, ss *Session) map[string]any {
		c := map[string]any{"iss": "https://issuer.test"}
		if ss != nil {
			c["sid"] = ss.ID // a provider hook setting sid again
		}
		return c
	}})
	u, _ := s.Store.CreateUser(NewUser{Email: "a@example.com"})
	ss, _ := s.Store.CreateSession(NewSession{UserID: u.ID})
	tests := []struct {
		name        string
		claims      map[string]any
		wantSID     bool
		wantJTI     bool
		wantSubject bool
	}{
		{"defaults", nil, true, true, true},
		{"no sid", map[string]any{"sid": nil}, false, true, true},
		{"no jti", map[string]any{"jti": nil}, true, false, true},
		{"neither", map[string]any{"sid": nil, "jti": nil}, false, false, true},
		{"no sub either", map[string]any{"sid": nil, "jti": nil, "sub": nil}, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check := func(t *testing.T, tok string) {
				t.Helper()
				_, c := claimsOf(t, tok)
				if _, ok := c["sid"]; ok != tt.wantSID {
					t.Fatalf("sid present %v, want %v: %v", ok, tt.wantSID, c)
				}
				if _, ok := c["jti"]; ok != tt.wantJTI {
					t.Fatalf("jti present %v, want %v: %v", ok, tt.wantJTI, c)
				}
				if _, ok := c["sub"]; ok != tt.wantSubject {
					t.Fatalf("sub present %v, want %v: %v", ok, tt.wantSubject, c)
				}
				if c["iss"] != "https://issuer.test" || c["exp"] == nil {
					t.Fatalf("other claims lost: %v", c)
				}
				// The session is still remembered: revocation is seen.
				if m, err := s.Introspect(tok); err != nil || m.SessionID != ss.ID {
					t.Fatalf("introspect %+v %v", m, err)
				}
			}
			t.Run("Go", func(t *testing.T) {
				check(t, must(s.Mint(MintRequest{SessionID: ss.ID, Claims: tt.claims})))
			})
			t.Run("control API", func(t *testing.T) {
				var out map[string]string
				if code := post(t, s, ControlPrefix+"mint", map[string]any{"session_id": ss.ID, "claims": tt.claims}, &out); code != 200 {
					t.Fatalf("mint %d", code)
				}
				check(t, out["token"])
			})
		})
	}
}

func TestDeleteUserEndsTokens(t *testing.T) {
	s := newTestServer(t, Options{})
	u, _ := s.Store.CreateUser(NewUser{Email: "a@example.com", Password: "pw"})
	ss, _ := s.Store.CreateSession(NewSession{UserID: u.ID})
	withSession := must(s.Mint(MintRequest{SessionID: ss.ID}))
	userOnly := must(s.Mint(MintRequest{UserID: u.ID}))
	chosenSub := must(s.Mint(MintRequest{Claims: map[string]any{"sub": u.ID}})) // a test's own sub
	for _, tok := range []string{withSession, userOnly, chosenSub} {
		if _, err := s.Introspect(tok); err != nil {
			t.Fatalf("before delete: %v", err)
		}
	}
	if code, _, _ := deleteReq(t, s, ControlPrefix+"users/nope"); code != 404 {
		t.Fatalf("delete unknown: %d", code)
	}
	if code, body, _ := deleteReq(t, s, ControlPrefix+"users/"+u.ID); code != 204 {
		t.Fatalf("delete: %d %s", code, body)
	}
	if _, err := s.Introspect(withSession); !errors.Is(err, ErrInactive) {
		t.Fatalf("session token after delete: %v", err)
	}
	if _, err := s.Introspect(userOnly); !errors.Is(err, ErrNotFound) {
		t.Fatalf("user token after delete: %v", err)
	}
	if _, err := s.Introspect(chosenSub); err != nil {
		t.Fatalf("a token minted for no stored user is not the deleted user's: %v", err)
	}
	var u2 User
	if code := post(t, s, ControlPrefix+"users", map[string]any{"email": "a@example.com", "password": "pw"}, &u2); code != 201 || u2.ID == u.ID {
		t.Fatalf("re-create after delete: %d %+v", code, u2)
	}
}

func deleteReq(t *testing.T, s *Server, path string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodDelete, s.URL+path, nil)
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}
