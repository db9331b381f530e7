package oidctest_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/authport/authport/internal/emulator"
	"github.com/authport/authport/oidc/oidctest"
)

type client struct {
	t   *testing.T
	emu *oidctest.Emulator
}

func (c client) do(method, path string, form url.Values, auth bool, hdr ...string) (int, map[string]any, http.Header) {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, c.emu.URL+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if auth {
		req.SetBasicAuth(c.emu.ClientID, c.emu.ClientSecret)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	hc := *c.emu.Client()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	b, _ := io.ReadAll(resp.Body)
	json.Unmarshal(b, &m)
	return resp.StatusCode, m, resp.Header
}

func TestDiscoveryDocument(t *testing.T) {
	emu := oidctest.New(t, oidctest.Options{IssuerPath: "/realms/test", Algorithm: "ES256"})
	c := client{t, emu}
	code, d, h := c.do("GET", "/realms/test/.well-known/openid-configuration", nil, false)
	if code != 200 || d["issuer"] != emu.Issuer || d["jwks_uri"] != emu.URL+"/jwks" || h.Get("Cache-Control") != "public, max-age=3600" {
		t.Fatalf("%d %v %v", code, d, h)
	}
	if algs := d["id_token_signing_alg_values_supported"].([]any); algs[0] != "ES256" {
		t.Fatal(algs)
	}
	for _, k := range []string{"authorization_endpoint", "token_endpoint", "userinfo_endpoint", "revocation_endpoint", "introspection_endpoint", "end_session_endpoint"} {
		if d[k] == nil {
			t.Errorf("no %s", k)
		}
	}
	if code, _, _ := c.do("GET", "/.well-known/openid-configuration", nil, false); code != 404 {
		t.Fatal("discovery served outside the issuer path")
	}
	lean := oidctest.New(t, oidctest.Options{NoPasswordGrant: true, NoRevocation: true, NoIntrospection: true, NoUserinfo: true, NoEndSession: true})
	_, d, _ = client{t, lean}.do("GET", "/.well-known/openid-configuration", nil, false)
	for _, k := range []string{"userinfo_endpoint", "revocation_endpoint", "introspection_endpoint", "end_session_endpoint"} {
		if d[k] != nil {
			t.Errorf("%s advertised", k)
		}
	}
	if strings.Contains(strings.Join(strs(d["grant_types_supported"]), " "), "password") {
		t.Error("password grant advertised")
	}
}

func strs(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func TestTokenEndpointErrors(t *testing.T) {
	emu := oidctest.New(t)
	c := client{t, emu}
	emu.CreateUser(oidctest.NewUser{Email: "a@example.com", Password: "pw"})
	pw := url.Values{"grant_type": {"password"}, "username": {"a@example.com"}, "password": {"pw"}}

	code, body, h := c.do("POST", "/token", pw, false)
	if code != 401 || body["error"] != "invalid_client" || h.Get("WWW-Authenticate") == "" {
		t.Fatalf("no client auth: %d %v", code, body)
	}
	form := url.Values{"client_id": {emu.ClientID}, "client_secret": {emu.ClientSecret}, "scope": {"profile"}}
	for k, v := range pw {
		form[k] = v
	}
	if code, body, h = c.do("POST", "/token", form, false); code != 200 || body["id_token"] != nil || h.Get("Cache-Control") != "no-store" {
		t.Fatalf("client_secret_post: %d %v", code, body) // no openid scope: no ID token
	}
	pw.Set("password", "wrong")
	if code, body, _ = c.do("POST", "/token", pw, true); code != 400 || body["error"] != "invalid_grant" {
		t.Fatalf("wrong password: %d %v", code, body)
	}
	if code, body, _ = c.do("POST", "/token", url.Values{"grant_type": {"client_credentials"}}, true); code != 400 || body["error"] != "unsupported_grant_type" {
		t.Fatalf("%d %v", code, body)
	}
	if code, body, _ = c.do("POST", "/token", url.Values{"grant_type": {"password", "password"}}, true); code != 400 || body["error"] != "invalid_request" {
		t.Fatalf("repeated parameter: %d %v", code, body)
	}
	if code, body, _ = c.do("POST", "/token", url.Values{"grant_type": {"authorization_code"}, "code": {"x"}}, true); code != 400 || body["error"] != "invalid_request" {
		t.Fatalf("no redirect_uri: %d %v", code, body)
	}
}

func TestAuthorizeEndpoint(t *testing.T) {
	emu := oidctest.New(t, oidctest.Options{RedirectURIs: []string{"http://app.test/cb"}})
	c := client{t, emu}
	base := url.Values{"response_type": {"code"}, "client_id": {emu.ClientID}, "redirect_uri": {"http://app.test/cb"},
		"state": {"xyz"}, "code_challenge": {emulator.PKCEChallenge(emulator.RandomToken(32))}, "code_challenge_method": {"S256"}}
	with := func(k, v string) string {
		q := url.Values{}
		for kk, vv := range base {
			q[kk] = vv
		}
		if v == "" {
			q.Del(k)
		} else {
			q.Set(k, v)
		}
		return "/authorize?" + q.Encode()
	}
	if code, _, _ := c.do("GET", with("client_id", "other"), nil, false); code != 400 {
		t.Fatal("unknown client not refused on the page")
	}
	if code, _, _ := c.do("GET", with("redirect_uri", "http://evil.test/cb"), nil, false); code != 400 {
		t.Fatal("unregistered redirect_uri not refused on the page")
	}
	for param, wantErr := range map[string]string{"code_challenge": "invalid_request", "response_type": "unsupported_response_type"} {
		code, _, h := c.do("GET", with(param, ""), nil, false)
		loc, _ := url.Parse(h.Get("Location"))
		if code != 302 || loc.Host != "app.test" || loc.Query().Get("error") != wantErr || loc.Query().Get("state") != "xyz" {
			t.Errorf("without %s: %d %s", param, code, loc)
		}
	}
	code, _, h := c.do("GET", with("code_challenge_method", "plain"), nil, false)
	if loc, _ := url.Parse(h.Get("Location")); code != 302 || loc.Query().Get("error") != "invalid_request" {
		t.Error("plain PKCE accepted")
	}
	code, _, h = c.do("GET", with("prompt", "none"), nil, false)
	if loc, _ := url.Parse(h.Get("Location")); code != 302 || loc.Query().Get("error") != "login_required" {
		t.Error("prompt=none")
	}
}

func TestRevokeIntrospectUserinfo(t *testing.T) {
	emu := oidctest.New(t)
	c := client{t, emu}
	u, _ := emu.CreateUser(oidctest.NewUser{Email: "a@example.com", Password: "pw", Name: "Ada"})
	tok, err := emu.SignIn(context.Background(), "a@example.com", "pw")
	if err != nil {
		t.Fatal(err)
	}
	code, ui, _ := c.do("GET", "/userinfo", nil, false, "Authorization", "Bearer "+tok.AccessToken)
	if code != 200 || ui["sub"] != u.ID || ui["name"] != "Ada" {
		t.Fatalf("userinfo %d %v", code, ui)
	}
	if code, _, h := c.do("GET", "/userinfo", nil, false, "Authorization", "Bearer "+tok.IDToken); code != 401 || !strings.Contains(h.Get("WWW-Authenticate"), "invalid_token") {
		t.Fatal("userinfo accepted an ID token")
	}
	_, in, _ := c.do("POST", "/introspect", url.Values{"token": {tok.AccessToken}}, true)
	if in["active"] != true || in["sub"] != u.ID || in["sid"] != tok.SessionID || in["username"] != "a@example.com" {
		t.Fatalf("introspect %v", in)
	}
	_, in, _ = c.do("POST", "/introspect", url.Values{"token": {tok.RefreshToken}}, true)
	if in["active"] != true || in["token_type"] != "refresh_token" {
		t.Fatalf("introspect refresh %v", in)
	}
	if code, _, _ := c.do("POST", "/introspect", url.Values{"token": {tok.AccessToken}}, false); code != 401 {
		t.Fatal("introspection without client auth")
	}
	if code, _, _ := c.do("POST", "/revoke", url.Values{"token": {"unknown"}}, true); code != 200 {
		t.Fatal("RFC 7009: unknown tokens are not an error")
	}
	if code, _, _ := c.do("POST", "/revoke", url.Values{"token": {tok.RefreshToken}, "token_type_hint": {"refresh_token"}}, true); code != 200 {
		t.Fatal(code)
	}
	for _, tk := range []string{tok.AccessToken, tok.RefreshToken} {
		if _, in, _ = c.do("POST", "/introspect", url.Values{"token": {tk}}, true); in["active"] != false {
			t.Fatalf("active after revoke: %v", in)
		}
	}
	if code, _, _ := c.do("GET", "/userinfo", nil, false, "Authorization", "Bearer "+tok.AccessToken); code != 401 {
		t.Fatal("userinfo after revoke")
	}
	if s, _ := emu.Store.Session(tok.SessionID); s.Status != emulator.StatusRevoked {
		t.Fatal(s.Status)
	}
	// Revoking an access token ends its session too.
	tok2, _ := emu.SignIn(context.Background(), "a@example.com", "pw")
	c.do("POST", "/revoke", url.Values{"token": {tok2.AccessToken}}, true)
	if s, _ := emu.Store.Session(tok2.SessionID); s.Status != emulator.StatusRevoked {
		t.Fatal("access token revocation")
	}
}

func TestControlSignInAndEnv(t *testing.T) {
	emu := oidctest.New(t)
	emu.CreateUser(oidctest.NewUser{Email: "a@example.com", Password: "pw"})
	resp, err := emu.Client().Post(emu.URL+"/__authport/sign-in", "application/json", strings.NewReader(`{"email":"a@example.com","password":"pw"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ts map[string]any
	json.NewDecoder(resp.Body).Decode(&ts)
	if resp.StatusCode != 200 || ts["access_token"] == nil || ts["id_token"] == nil || ts["refresh_token"] == nil || ts["token_type"] != "Bearer" {
		t.Fatalf("%d %v", resp.StatusCode, ts)
	}
	env := emu.Env()
	if env["OIDC_ISSUER"] != emu.Issuer || env["AUTH_PROVIDER"] != "oidc" {
		t.Fatal(env)
	}
	u, _ := url.Parse(emu.OpenURL())
	if u.Scheme != "oidc" || u.Query().Get("insecure") != "1" || u.Query().Get("audience") != emu.Audience {
		t.Fatal(u)
	}
}

func TestTLS(t *testing.T) {
	emu := oidctest.New(t, oidctest.Options{TLS: true})
	if !strings.HasPrefix(emu.Issuer, "https://") {
		t.Fatal(emu.Issuer)
	}
	emu.CreateUser(oidctest.NewUser{Email: "a@example.com", Password: "pw"})
	if _, err := emu.SignIn(context.Background(), "a@example.com", "pw"); err != nil {
		t.Fatal(err)
	}
	if u, _ := url.Parse(emu.OpenURL()); u.Query().Has("insecure") {
		t.Fatal("insecure with TLS")
	}
}

func TestEndSession(t *testing.T) {
	const back = "http://127.0.0.1:8080/signed-out"
	tests := []struct {
		name       string
		opts       oidctest.Options
		method     string
		params     func(tok, foreignID string) url.Values
		wantCode   int
		wantLoc    string // exact Location for a redirect
		wantEnded  bool   // the ID token's session ended
		wantDenied bool   // a 400 page
	}{
		{name: "hint and redirect", method: "GET", params: func(tok, _ string) url.Values {
			return url.Values{"id_token_hint": {tok}, "post_logout_redirect_uri": {back}, "state": {"st-1"}}
		}, wantCode: 302, wantLoc: back + "?state=st-1", wantEnded: true},
		{name: "form post", method: "POST", params: func(tok, _ string) url.Values {
			return url.Values{"id_token_hint": {tok}, "post_logout_redirect_uri": {back}}
		}, wantCode: 302, wantLoc: back, wantEnded: true},
		{name: "client_id and redirect", method: "GET", params: func(string, string) url.Values {
			return url.Values{"client_id": {"authport-client"}, "post_logout_redirect_uri": {back}}
		}, wantCode: 302, wantLoc: back},
		{name: "hint without redirect: signed-out page", method: "GET", params: func(tok, _ string) url.Values {
			return url.Values{"id_token_hint": {tok}}
		}, wantCode: 200, wantEnded: true},
		{name: "redirect naming no client", method: "GET", params: func(string, string) url.Values {
			return url.Values{"post_logout_redirect_uri": {back}}
		}, wantCode: 400, wantDenied: true},
		{name: "unregistered redirect (not loopback)", method: "GET", params: func(tok, _ string) url.Values {
			return url.Values{"id_token_hint": {tok}, "post_logout_redirect_uri": {"https://evil.example/"}}
		}, wantCode: 400, wantDenied: true},
		{name: "registered list", opts: oidctest.Options{PostLogoutRedirectURIs: []string{"https://app.example/bye"}}, method: "GET",
			params: func(tok, _ string) url.Values {
				return url.Values{"id_token_hint": {tok}, "post_logout_redirect_uri": {"https://app.example/bye"}}
			}, wantCode: 302, wantLoc: "https://app.example/bye", wantEnded: true},
		{name: "not in the registered list", opts: oidctest.Options{PostLogoutRedirectURIs: []string{"https://app.example/bye"}}, method: "GET",
			params: func(tok, _ string) url.Values {
				return url.Values{"id_token_hint": {tok}, "post_logout_redirect_uri": {back}}
			}, wantCode: 400, wantDenied: true},
		{name: "access token as hint", method: "GET", params: func(_, _ string) url.Values {
			return url.Values{"id_token_hint": {"ACCESS"}, "post_logout_redirect_uri": {back}}
		}, wantCode: 400, wantDenied: true},
		{name: "another issuer's ID token", method: "GET", params: func(_, foreign string) url.Values {
			return url.Values{"id_token_hint": {foreign}, "post_logout_redirect_uri": {back}}
		}, wantCode: 400, wantDenied: true},
		{name: "wrong client_id", method: "GET", params: func(tok, _ string) url.Values {
			return url.Values{"id_token_hint": {tok}, "client_id": {"other"}, "post_logout_redirect_uri": {back}}
		}, wantCode: 400, wantDenied: true},
		{name: "repeated parameter", method: "GET", params: func(tok, _ string) url.Values {
			return url.Values{"id_token_hint": {tok}, "post_logout_redirect_uri": {back, "http://127.0.0.1:1/"}}
		}, wantCode: 400, wantDenied: true},
	}
	other := oidctest.New(t)
	other.CreateUser(oidctest.NewUser{Email: "b@example.com", Password: "pw"})
	foreign, err := other.SignIn(context.Background(), "b@example.com", "pw")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			emu := oidctest.New(t, tt.opts)
			emu.CreateUser(oidctest.NewUser{Email: "a@example.com", Password: "pw"})
			tok, err := emu.SignIn(context.Background(), "a@example.com", "pw")
			if err != nil {
				t.Fatal(err)
			}
			p := tt.params(tok.IDToken, foreign.IDToken)
			if p.Get("id_token_hint") == "ACCESS" {
				p.Set("id_token_hint", tok.AccessToken)
			}
			hc := *emu.Client()
			hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			var resp *http.Response
			if tt.method == "POST" {
				resp, err = hc.PostForm(emu.URL+"/logout", p)
			} else {
				resp, err = hc.Get(emu.URL + "/logout?" + p.Encode())
			}
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.wantCode || resp.Header.Get("Location") != tt.wantLoc {
				t.Fatalf("end session: %d %q, want %d %q", resp.StatusCode, resp.Header.Get("Location"), tt.wantCode, tt.wantLoc)
			}
			s, _ := emu.Store.Session(tok.SessionID)
			if ended := !s.Status.Live(); ended != tt.wantEnded {
				t.Fatalf("session %s, want ended %v", s.Status, tt.wantEnded)
			}
			if tt.wantEnded && s.Status != emulator.StatusEnded {
				t.Fatalf("status %s, want ended", s.Status)
			}
		})
	}
}
