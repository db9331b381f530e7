package auth0test_test

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"

	"github.com/authport/authport/auth0/auth0test"
	"github.com/authport/authport/internal/emulator"
)

// TestDiscoveryServesWhatItAdvertises: every endpoint discovery names
// answers (405 for a method it does not take is an answer; 404 is not).
func TestDiscoveryServesWhatItAdvertises(t *testing.T) {
	emu := auth0test.New(t)
	d := do(t, "GET", emu.URL+"/.well-known/openid-configuration", "", "", nil)
	n := 0
	for k, v := range d.body {
		u, ok := v.(string)
		if !ok || !strings.HasSuffix(k, "_endpoint") && k != "jwks_uri" {
			continue
		}
		n++
		if a := do(t, "GET", u, "", "", nil); a.status == http.StatusNotFound {
			t.Errorf("%s %s answers 404", k, u)
		}
	}
	if n < 6 {
		t.Fatalf("discovery names %d endpoints: %v", n, d.body)
	}
	for _, k := range []string{"device_authorization_endpoint", "registration_endpoint"} {
		if _, ok := d.body[k]; ok {
			t.Errorf("discovery advertises %s, which the emulator does not serve", k)
		}
	}
}

// universalLogin signs a user in through /authorize and Universal Login in
// a browser-like client, exchanges the code and returns the browser and
// the ID token (which names the SSO session in sid).
func universalLogin(t *testing.T, emu *auth0test.Server, email string) (*http.Client, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	cb := "http://127.0.0.1/cb"
	authz := emu.URL + "/authorize?" + form("response_type", "code", "client_id", emu.ClientID(), "redirect_uri", cb,
		"scope", "openid email", "state", "st")
	back, err := emulator.SubmitLogin(context.Background(), browser, authz, email, pw)
	if err != nil {
		t.Fatal(err)
	}
	code := back.Query().Get("code")
	if code == "" {
		t.Fatalf("no code in %s", back.Redacted())
	}
	a := do(t, "POST", emu.URL+"/oauth/token", "application/x-www-form-urlencoded", form("grant_type", "authorization_code",
		"code", code, "redirect_uri", cb, "client_id", emu.ClientID(), "client_secret", emu.ClientSecret()), nil)
	idt, _ := a.body["id_token"].(string)
	if a.status != 200 || idt == "" {
		t.Fatalf("code exchange: %d %s", a.status, a.raw)
	}
	if _, c := claimsOf(t, idt); c["sid"] == nil {
		t.Fatalf("ID token from Universal Login without sid: %v", c)
	}
	return browser, idt
}

func TestOIDCLogout(t *testing.T) {
	emu := auth0test.New(t, auth0test.Options{AllowedLogoutURLs: []string{"https://app.example.com/bye"}})
	if _, err := emu.CreateUser(auth0test.NewUser{Email: "lo@example.com", Password: pw}); err != nil {
		t.Fatal(err)
	}
	browser, idt := universalLogin(t, emu, "lo@example.com")
	ssoLive := func() bool {
		resp, err := browser.Get(emu.URL + "/authorize?" + form("response_type", "code", "client_id", emu.ClientID(),
			"redirect_uri", "http://127.0.0.1/cb", "scope", "openid", "state", "s", "prompt", "none"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, _ := resp.Location()
		return loc != nil && loc.Query().Get("code") != ""
	}
	if !ssoLive() {
		t.Fatal("no SSO session after Universal Login")
	}
	logout := emu.URL + "/oidc/logout?"
	for name, tc := range map[string]struct {
		query  string
		status int
	}{
		"foreign id_token_hint":          {form("id_token_hint", idt[:len(idt)-4]+"AAAA"), 400},
		"client_id not the hint's":       {form("id_token_hint", idt, "client_id", "someone-else"), 400},
		"unknown client_id":              {form("client_id", "someone-else"), 400},
		"redirect without client":        {form("post_logout_redirect_uri", "https://app.example.com/bye"), 400},
		"redirect not allowed":           {form("id_token_hint", idt, "post_logout_redirect_uri", "https://evil.example/"), 400},
		"redirect not allowed, cid only": {form("client_id", emu.ClientID(), "post_logout_redirect_uri", "https://evil.example/"), 400},
	} {
		a := do(t, "GET", logout+tc.query, "", "", nil)
		if a.status != tc.status || a.header.Get("Location") != "" {
			t.Errorf("%s: %d %q", name, a.status, a.header.Get("Location"))
		}
	}
	if a := do(t, "DELETE", logout, "", "", nil); a.status != http.StatusMethodNotAllowed {
		t.Errorf("DELETE: %d", a.status)
	}
	if !ssoLive() {
		t.Fatal("a refused logout ended the session")
	}
	// The hint names the session: it ends even without the SSO cookie
	// (a back-channel style call), and the browser goes back with state.
	a := do(t, "GET", logout+form("id_token_hint", idt, "post_logout_redirect_uri", "https://app.example.com/bye", "state", "xyz"), "", "", nil)
	if a.status != http.StatusFound || a.header.Get("Location") != "https://app.example.com/bye?state=xyz" {
		t.Fatalf("logout: %d %q %s", a.status, a.header.Get("Location"), a.raw)
	}
	if ssoLive() {
		t.Fatal("the session the id_token_hint names survived /oidc/logout")
	}
	// client_id alone (form POST) with an allowed redirect, no state.
	a = do(t, "POST", emu.URL+"/oidc/logout", "application/x-www-form-urlencoded",
		form("client_id", emu.ClientID(), "post_logout_redirect_uri", "https://app.example.com/bye"), nil)
	if a.status != http.StatusFound || a.header.Get("Location") != "https://app.example.com/bye" {
		t.Fatalf("POST logout: %d %q", a.status, a.header.Get("Location"))
	}
	// No redirect: Auth0's signed-out answer.
	if a = do(t, "GET", logout, "", "", nil); a.status != http.StatusOK {
		t.Fatalf("bare logout: %d", a.status)
	}
}

func TestMFAChallenge(t *testing.T) {
	emu := auth0test.New(t)
	if _, err := emu.CreateUser(auth0test.NewUser{Email: "mc@example.com", Password: pw, Metadata: map[string]any{auth0test.MetadataMFA: true}}); err != nil {
		t.Fatal(err)
	}
	cid, sec := emu.ClientID(), emu.ClientSecret()
	a := do(t, "POST", emu.URL+"/oauth/token", "application/x-www-form-urlencoded", form("grant_type", "password", "username", "mc@example.com",
		"password", pw, "client_id", cid, "client_secret", sec, "scope", "openid"), nil)
	tok, _ := a.body["mfa_token"].(string)
	if tok == "" {
		t.Fatalf("no mfa_token: %d %s", a.status, a.raw)
	}
	challenge := func(body string, ctype string) answer {
		return do(t, "POST", emu.URL+"/mfa/challenge", ctype, body, nil)
	}
	const formType = "application/x-www-form-urlencoded"
	for name, tc := range map[string]struct {
		a          answer
		status     int
		code, desc string
	}{
		"unknown client":    {challenge(form("client_id", "nobody", "mfa_token", tok), formType), 401, "access_denied", "Unauthorized"},
		"no mfa_token":      {challenge(form("client_id", cid, "client_secret", sec), formType), 400, "invalid_request", "Missing required parameter: mfa_token"},
		"unknown mfa_token": {challenge(form("client_id", cid, "client_secret", sec, "mfa_token", "nope"), formType), 403, "invalid_grant", "Malformed mfa_token"},
		"oob only":          {challenge(form("client_id", cid, "client_secret", sec, "mfa_token", tok, "challenge_type", "oob"), formType), 400, "unsupported_challenge_type", "User is not enrolled with oob."},
	} {
		if tc.a.status != tc.status || tc.a.body["error"] != tc.code || tc.a.body["error_description"] != tc.desc {
			t.Errorf("%s: %d %s", name, tc.a.status, tc.a.raw)
		}
	}
	for _, body := range []struct{ body, ctype string }{
		{form("client_id", cid, "client_secret", sec, "mfa_token", tok, "challenge_type", "otp oob"), formType},
		{jsonBody("client_id", cid, "client_secret", sec, "mfa_token", tok), "application/json"},
	} {
		if a := challenge(body.body, body.ctype); a.status != 200 || a.body["challenge_type"] != "otp" || len(a.body) != 1 {
			t.Fatalf("challenge: %d %s", a.status, a.raw)
		}
	}
	// The challenge does not spend the mfa_token: the code still redeems it.
	code, _ := emu.OTP("mc@example.com")
	r := do(t, "POST", emu.URL+"/oauth/token", formType, form("grant_type", "http://auth0.com/oauth/grant-type/mfa-otp",
		"mfa_token", tok, "otp", code, "client_id", cid, "client_secret", sec), nil)
	if r.status != 200 || r.body["access_token"] == nil {
		t.Fatalf("otp after challenge: %d %s", r.status, r.raw)
	}
}
