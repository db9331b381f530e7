package auth0test_test

import (
	"context"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/authport/authport/auth0"
	"github.com/authport/authport/auth0/auth0test"
)

const pw = "Pw-0123456789"

type answer struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func do(t *testing.T, method, u, ctype, body string, hdr map[string]string) answer {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, raw: string(b)}
	_ = json.Unmarshal(b, &a.body)
	return a
}

func form(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v.Encode()
}

func jsonBody(kv ...string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func claimsOf(t *testing.T, tok string) (header, claims map[string]any) {
	t.Helper()
	p := strings.Split(tok, ".")
	if len(p) != 3 {
		t.Fatalf("not a JWS: %q", tok)
	}
	for i, dst := range []*map[string]any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(p[i])
		if err != nil || json.Unmarshal(b, dst) != nil {
			t.Fatalf("segment %d does not decode", i)
		}
	}
	return header, claims
}

func TestDiscoveryAndJWKS(t *testing.T) {
	emu := auth0test.New(t)
	d := do(t, "GET", emu.URL+"/.well-known/openid-configuration", "", "", nil)
	if d.status != 200 || d.body["issuer"] != emu.URL+"/" || d.body["jwks_uri"] != emu.URL+"/.well-known/jwks.json" ||
		d.body["token_endpoint"] != emu.URL+"/oauth/token" || d.body["revocation_endpoint"] != emu.URL+"/oauth/revoke" {
		t.Fatalf("discovery %d %v", d.status, d.body)
	}
	k := do(t, "GET", emu.URL+"/.well-known/jwks.json", "", "", nil)
	keys, _ := k.body["keys"].([]any)
	if k.status != 200 || len(keys) != 1 {
		t.Fatalf("jwks %d %s", k.status, k.raw)
	}
	key := keys[0].(map[string]any)
	for _, f := range []string{"kty", "use", "n", "e", "kid", "x5t", "x5c", "alg"} {
		if _, ok := key[f]; !ok {
			t.Fatalf("JWK without %s: %v", f, key)
		}
	}
	if len(key) != 8 || key["kty"] != "RSA" || key["alg"] != "RS256" || key["use"] != "sig" || key["kid"] != emu.KID() {
		t.Fatalf("JWK %v, want exactly Auth0's fields", key)
	}
	der, err := base64.StdEncoding.DecodeString(key["x5c"].([]any)[0].(string))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := base64.RawURLEncoding.DecodeString(key["n"].(string))
	if pub := cert.PublicKey.(*rsa.PublicKey); pub.N.Cmp(new(big.Int).SetBytes(n)) != 0 {
		t.Fatal("x5c certificate does not hold the JWK's key")
	}
	sum := sha1.Sum(der)
	if key["x5t"] != base64.RawURLEncoding.EncodeToString(sum[:]) {
		t.Fatal("x5t is not the certificate's SHA-1 thumbprint")
	}
	if emu.KeyFetches() != 1 {
		t.Fatalf("key fetches %d", emu.KeyFetches())
	}
}

func TestTokenEndpoint(t *testing.T) {
	emu := auth0test.New(t, auth0test.Options{MaxAttempts: 2})
	if _, err := emu.CreateUser(auth0test.NewUser{Email: "t@example.com", Password: pw, Permissions: []string{"read:a"}}); err != nil {
		t.Fatal(err)
	}
	tokURL := emu.URL + "/oauth/token"
	cid, sec := emu.ClientID(), emu.ClientSecret()
	realm := []string{"grant_type", auth0.PasswordRealmGrant, "username", "t@example.com", "password", pw, "realm", emu.Connection(),
		"audience", emu.Audience(), "scope", "openid profile email offline_access read:a", "client_id", cid, "client_secret", sec}
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(cid)+":"+url.QueryEscape(sec)))

	for name, a := range map[string]answer{
		"form": do(t, "POST", tokURL, "application/x-www-form-urlencoded", form(realm...), nil),
		"json": do(t, "POST", tokURL, "application/json", jsonBody(realm...), nil),
		"basic": do(t, "POST", tokURL, "application/x-www-form-urlencoded",
			form(realm[:len(realm)-4]...), map[string]string{"Authorization": basic}),
	} {
		t.Run(name, func(t *testing.T) {
			if a.status != 200 {
				t.Fatalf("%d %s", a.status, a.raw)
			}
			for _, f := range []string{"access_token", "id_token", "refresh_token", "scope", "expires_in", "token_type"} {
				if _, ok := a.body[f]; !ok {
					t.Fatalf("no %s in %s", f, a.raw)
				}
			}
			if a.body["token_type"] != "Bearer" || a.body["expires_in"] != float64(86400) || a.header.Get("Cache-Control") != "no-store" {
				t.Fatalf("%v %v", a.body, a.header)
			}
			h, c := claimsOf(t, a.body["access_token"].(string))
			if h["typ"] != "JWT" || h["alg"] != "RS256" || h["kid"] != emu.KID() {
				t.Fatalf("header %v", h)
			}
			aud, _ := c["aud"].([]any)
			if c["iss"] != emu.Issuer() || len(aud) != 2 || aud[0] != emu.Audience() || aud[1] != emu.Issuer()+"userinfo" ||
				c["azp"] != cid || c["gty"] != "password" || c["scope"] != "openid profile email offline_access read:a" ||
				!strings.HasPrefix(c["sub"].(string), "auth0|") || c["jti"] != nil || c["sid"] != nil {
				t.Fatalf("claims %v", c)
			}
			if p, _ := c["permissions"].([]any); len(p) != 1 || p[0] != "read:a" {
				t.Fatalf("permissions %v", c["permissions"])
			}
			_, idc := claimsOf(t, a.body["id_token"].(string))
			if idc["aud"] != cid || idc["email"] != "t@example.com" {
				t.Fatalf("id token %v", idc)
			}
		})
	}

	errs := []struct {
		name, ctype, body string
		hdr               map[string]string
		status            int
		code, desc        string
	}{
		{"wrong password", "application/json", jsonBody(append(realm[:5:5], "nope", "realm", emu.Connection(), "client_id", cid, "client_secret", sec)...), nil,
			403, "invalid_grant", "Wrong email or password."},
		{"wrong secret", "application/x-www-form-urlencoded", form(append(realm[:len(realm)-1:len(realm)-1], "x")...), nil, 401, "access_denied", "Unauthorized"},
		{"unknown client", "application/x-www-form-urlencoded", form("grant_type", "password", "client_id", "nobody"), nil, 401, "access_denied", "Unauthorized"},
		{"no secret for password", "application/x-www-form-urlencoded", form(realm[:len(realm)-2]...), nil, 401, "access_denied", "Unauthorized"},
		{"no grant type", "application/x-www-form-urlencoded", form("client_id", cid, "client_secret", sec), nil, 400, "invalid_request", "Missing required parameter: grant_type"},
		{"unknown grant", "application/x-www-form-urlencoded", form("grant_type", "magic", "client_id", cid, "client_secret", sec), nil, 403, "unsupported_grant_type", "Unsupported grant type: magic"},
		{"duplicate parameter", "application/x-www-form-urlencoded", form(realm...) + "&password=x", nil, 400, "invalid_request", ""},
		{"bad refresh token", "application/json", jsonBody("grant_type", "refresh_token", "refresh_token", "v1.nope", "client_id", cid, "client_secret", sec), nil,
			403, "invalid_grant", "Unknown or invalid refresh token."},
		{"unknown audience", "application/x-www-form-urlencoded", form("grant_type", "client_credentials", "audience", "https://nope", "client_id", cid, "client_secret", sec), nil,
			403, "access_denied", "Service not found: https://nope"},
		{"wrong realm", "application/x-www-form-urlencoded", form(append(realm[:7:7], "other", "client_id", cid, "client_secret", sec)...), nil, 400, "invalid_request", ""},
		{"bad json", "application/json", "{", nil, 400, "invalid_request", ""},
	}
	for _, e := range errs {
		t.Run(e.name, func(t *testing.T) {
			a := do(t, "POST", tokURL, e.ctype, e.body, e.hdr)
			if a.status != e.status || a.body["error"] != e.code || (e.desc != "" && a.body["error_description"] != e.desc) {
				t.Fatalf("%d %s, want %d %s %q", a.status, a.raw, e.status, e.code, e.desc)
			}
			if len(a.body) != 2 {
				t.Fatalf("error body %s has extra fields", a.raw)
			}
		})
	}
	t.Run("too many attempts", func(t *testing.T) {
		a := do(t, "POST", tokURL, "application/json", jsonBody(append(realm[:5:5], "nope", "realm", emu.Connection(), "client_id", cid, "client_secret", sec)...), nil)
		if a.status != 403 {
			t.Fatalf("second failure %d", a.status)
		}
		a = do(t, "POST", tokURL, "application/x-www-form-urlencoded", form(realm...), nil)
		if a.status != 429 || a.body["error"] != "too_many_attempts" {
			t.Fatalf("%d %s", a.status, a.raw)
		}
	})
}

func TestOAuth2Clients(t *testing.T) {
	ctx := context.Background()
	emu := auth0test.New(t)
	if _, err := emu.CreateUser(auth0test.NewUser{Email: "o@example.com", Password: pw}); err != nil {
		t.Fatal(err)
	}
	oc := oauth2.Config{ClientID: emu.ClientID(), ClientSecret: emu.ClientSecret(),
		Endpoint: oauth2.Endpoint{TokenURL: emu.URL + "/oauth/token", AuthStyle: oauth2.AuthStyleInHeader}, Scopes: []string{"openid", "email"}}
	// The plain password grant (tenant Default Directory), no audience:
	// Auth0 returns an opaque access token good for /userinfo only.
	tok, err := oc.PasswordCredentialsToken(ctx, "o@example.com", pw)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(tok.AccessToken, ".") == 2 || tok.Extra("id_token") == nil {
		t.Fatalf("token %+v", tok)
	}
	ui := do(t, "GET", emu.URL+"/userinfo", "", "", map[string]string{"Authorization": "Bearer " + tok.AccessToken})
	if ui.status != 200 || ui.body["email"] != "o@example.com" || !strings.HasPrefix(ui.body["sub"].(string), "auth0|") {
		t.Fatalf("userinfo %d %s", ui.status, ui.raw)
	}

	noDefault := auth0test.New(t, auth0test.Options{NoDefaultDirectory: true})
	_, _ = noDefault.CreateUser(auth0test.NewUser{Email: "o@example.com", Password: pw})
	oc.ClientID, oc.ClientSecret, oc.Endpoint.TokenURL = noDefault.ClientID(), noDefault.ClientSecret(), noDefault.URL+"/oauth/token"
	_, err = oc.PasswordCredentialsToken(ctx, "o@example.com", pw)
	var re *oauth2.RetrieveError
	if !asRetrieve(err, &re) || re.ErrorCode != "server_error" || re.ErrorDescription != "Authorization server not configured with default connection." {
		t.Fatalf("%v", err)
	}
}

func asRetrieve(err error, re **oauth2.RetrieveError) bool {
	r, ok := err.(*oauth2.RetrieveError)
	*re = r
	return ok
}

func TestUserinfoAndRevoke(t *testing.T) {
	ctx := context.Background()
	emu := auth0test.New(t)
	_, _ = emu.CreateUser(auth0test.NewUser{Email: "u@example.com", Password: pw})
	tok, err := emu.SignIn(ctx, "u@example.com", pw)
	if err != nil {
		t.Fatal(err)
	}
	bearer := map[string]string{"Authorization": "Bearer " + tok.AccessToken}
	if a := do(t, "GET", emu.URL+"/userinfo", "", "", bearer); a.status != 200 || a.body["email"] != "u@example.com" {
		t.Fatalf("userinfo %d %s", a.status, a.raw)
	}
	if a := do(t, "GET", emu.URL+"/userinfo", "", "", nil); a.status != 401 || a.header.Get("WWW-Authenticate") == "" {
		t.Fatalf("anonymous userinfo %d", a.status)
	}
	m2m, _ := emu.ManagementToken(ctx)
	if a := do(t, "GET", emu.URL+"/userinfo", "", "", map[string]string{"Authorization": "Bearer " + m2m}); a.status != 401 {
		t.Fatalf("userinfo with an M2M token %d", a.status)
	}
	rv := emu.URL + "/oauth/revoke"
	if a := do(t, "POST", rv, "application/json", jsonBody("client_id", emu.ClientID(), "client_secret", emu.ClientSecret()), nil); a.status != 400 || a.body["error"] != "invalid_request" {
		t.Fatalf("revoke without token %d %s", a.status, a.raw)
	}
	if a := do(t, "POST", rv, "application/json", jsonBody("client_id", emu.ClientID(), "client_secret", "x", "token", tok.RefreshToken), nil); a.status != 401 {
		t.Fatalf("revoke with a bad secret %d", a.status)
	}
	if a := do(t, "POST", rv, "application/json", jsonBody("client_id", emu.ClientID(), "client_secret", emu.ClientSecret(), "token", tok.RefreshToken), nil); a.status != 200 || a.raw != "" {
		t.Fatalf("revoke %d %q", a.status, a.raw)
	}
	if a := do(t, "POST", rv, "application/x-www-form-urlencoded", form("client_id", emu.ClientID(), "client_secret", emu.ClientSecret(), "token", "unknown"), nil); a.status != 200 {
		t.Fatalf("revoke of an unknown token %d", a.status)
	}
	r := do(t, "POST", emu.URL+"/oauth/token", "application/x-www-form-urlencoded",
		form("grant_type", "refresh_token", "refresh_token", tok.RefreshToken, "client_id", emu.ClientID(), "client_secret", emu.ClientSecret()), nil)
	if r.status != 403 || r.body["error"] != "invalid_grant" {
		t.Fatalf("refresh after revoke %d %s", r.status, r.raw)
	}
	// Like Auth0, revocation does not reach the access token.
	if a := do(t, "GET", emu.URL+"/userinfo", "", "", bearer); a.status != 200 {
		t.Fatalf("userinfo after revoke %d", a.status)
	}
}

func TestAuthorizeErrors(t *testing.T) {
	emu := auth0test.New(t, auth0test.Options{AllowedCallbackURLs: []string{"https://app.example.com/cb"}})
	q := func(kv ...string) string { return emu.URL + "/authorize?" + form(kv...) }
	base := []string{"client_id", emu.ClientID(), "redirect_uri", "https://app.example.com/cb", "state", "s1", "response_type", "code"}
	if a := do(t, "GET", q("client_id", "nobody", "redirect_uri", "https://app.example.com/cb"), "", "", nil); a.status != 400 {
		t.Fatalf("unknown client %d", a.status)
	}
	if a := do(t, "GET", q("client_id", emu.ClientID(), "redirect_uri", "https://evil.example/cb"), "", "", nil); a.status != 400 {
		t.Fatalf("callback mismatch %d", a.status)
	}
	for _, c := range []struct {
		extra []string
		code  string
	}{
		{[]string{"response_type", "token"}, "unsupported_response_type"},
		{[]string{"audience", "https://nope"}, "access_denied"},
		{[]string{"organization", "org_nope"}, "invalid_request"},
		{[]string{"code_challenge", "abc", "code_challenge_method", "plain"}, "invalid_request"},
		{[]string{"prompt", "none"}, "login_required"},
	} {
		a := do(t, "GET", q(append(append([]string{}, base...), c.extra...)...), "", "", nil)
		loc, _ := url.Parse(a.header.Get("Location"))
		if a.status != 302 || loc == nil || loc.Query().Get("error") != c.code || loc.Query().Get("state") != "s1" {
			t.Fatalf("%v: %d %q", c.extra, a.status, a.header.Get("Location"))
		}
	}
	if a := do(t, "GET", q(base...), "", "", nil); a.status != 200 || !strings.Contains(a.raw, `type="password"`) {
		t.Fatalf("login page %d", a.status)
	}
}

func TestProfileRFC9068(t *testing.T) {
	ctx := context.Background()
	emu := auth0test.New(t, auth0test.Options{Profile: auth0test.ProfileRFC9068})
	_, _ = emu.CreateUser(auth0test.NewUser{Email: "r@example.com", Password: pw})
	tok, err := emu.SignIn(ctx, "r@example.com", pw)
	if err != nil {
		t.Fatal(err)
	}
	h, c := claimsOf(t, tok.AccessToken)
	if h["typ"] != "at+jwt" || c["client_id"] != emu.ClientID() || c["azp"] != nil || c["gty"] != nil || c["jti"] == nil {
		t.Fatalf("rfc9068 token %v %v", h, c)
	}
}

func TestManagementAPI(t *testing.T) {
	ctx := context.Background()
	emu := auth0test.New(t)
	users := emu.URL + "/api/v2/users"
	body := `{"email":"m@example.com","password":"` + pw + `","connection":"` + emu.Connection() + `","app_metadata":{"roles":["admin"]}}`
	if a := do(t, "POST", users, "application/json", body, nil); a.status != 401 {
		t.Fatalf("no token %d", a.status)
	}
	_, _ = emu.CreateUser(auth0test.NewUser{Email: "api@example.com", Password: pw})
	apiTok, _ := emu.SignIn(ctx, "api@example.com", pw)
	if a := do(t, "POST", users, "application/json", body, map[string]string{"Authorization": "Bearer " + apiTok.AccessToken}); a.status != 401 {
		t.Fatalf("API token on the Management API %d", a.status)
	}
	m, err := emu.ManagementToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	auth := map[string]string{"Authorization": "Bearer " + m}
	a := do(t, "POST", users, "application/json", body, auth)
	if a.status != 201 || !strings.HasPrefix(a.body["user_id"].(string), "auth0|") || a.body["email"] != "m@example.com" {
		t.Fatalf("create %d %s", a.status, a.raw)
	}
	id := a.body["user_id"].(string)
	if u, err := emu.User(id); err != nil || len(u.Roles) != 1 {
		t.Fatalf("created user %+v %v", u, err)
	}
	if a := do(t, "POST", users, "application/json", body, auth); a.status != 409 || a.body["statusCode"] != float64(409) {
		t.Fatalf("conflict %d %s", a.status, a.raw)
	}
	if a := do(t, "GET", users+"/"+url.PathEscape(id), "", "", auth); a.status != 200 || a.body["user_id"] != id {
		t.Fatalf("get %d %s", a.status, a.raw)
	}
	if a := do(t, "GET", users+"/auth0%7Cnobody", "", "", auth); a.status != 404 || a.body["errorCode"] != "inexistent_user" {
		t.Fatalf("get unknown %d %s", a.status, a.raw)
	}
	if a := do(t, "DELETE", users+"/"+url.PathEscape(id)+"/refresh-tokens", "", "", auth); a.status != 202 {
		t.Fatalf("revoke refresh tokens %d", a.status)
	}
	if a := do(t, "DELETE", users+"/"+url.PathEscape(id), "", "", auth); a.status != 204 {
		t.Fatalf("delete %d", a.status)
	}
	if _, err := emu.SignIn(ctx, "m@example.com", pw); err == nil {
		t.Fatal("a deleted user signed in")
	}
}

func TestSignupEndpoint(t *testing.T) {
	emu := auth0test.New(t)
	su := emu.URL + "/dbconnections/signup"
	body := func(email, password string) string {
		return jsonBody("client_id", emu.ClientID(), "email", email, "password", password, "connection", emu.Connection())
	}
	a := do(t, "POST", su, "application/json", body("s@example.com", pw), nil)
	if a.status != 200 || a.body["email"] != "s@example.com" || a.body["email_verified"] != false || a.body["_id"] == "" {
		t.Fatalf("signup %d %s", a.status, a.raw)
	}
	for _, c := range []struct{ body, code string }{
		{body("s@example.com", pw), "invalid_signup"},
		{body("weak@example.com", "short"), "invalid_password"},
		{jsonBody("client_id", emu.ClientID(), "email", "x@example.com", "password", pw, "connection", "other"), "invalid_connection"},
	} {
		a := do(t, "POST", su, "application/json", c.body, nil)
		if a.status != 400 || a.body["code"] != c.code || a.body["statusCode"] != float64(400) {
			t.Fatalf("%s: %d %s", c.code, a.status, a.raw)
		}
	}
}

func TestMFAOTPGrant(t *testing.T) {
	clock := auth0test.NewClock()
	emu := auth0test.New(t, auth0test.Options{Clock: clock})
	if _, err := emu.CreateUser(auth0test.NewUser{Email: "m@example.com", Password: pw, Metadata: map[string]any{auth0test.MetadataMFA: true}}); err != nil {
		t.Fatal(err)
	}
	tokURL := emu.URL + "/oauth/token"
	cid, sec := emu.ClientID(), emu.ClientSecret()
	signIn := func() string {
		a := do(t, "POST", tokURL, "application/x-www-form-urlencoded", form("grant_type", auth0.PasswordRealmGrant, "username", "m@example.com",
			"password", pw, "realm", emu.Connection(), "client_id", cid, "client_secret", sec, "scope", "openid offline_access"), nil)
		tok, _ := a.body["mfa_token"].(string)
		if a.status != 403 || a.body["error"] != "mfa_required" || tok == "" {
			t.Fatalf("sign-in: %d %s", a.status, a.raw)
		}
		return tok
	}
	otp := func(tok, code string, withSecret bool) answer {
		kv := []string{"grant_type", auth0.MFAOTPGrant, "mfa_token", tok, "otp", code, "client_id", cid}
		if withSecret {
			kv = append(kv, "client_secret", sec)
		}
		return do(t, "POST", tokURL, "application/x-www-form-urlencoded", form(kv...), nil)
	}
	code, err := emu.OTP("m@example.com")
	if err != nil || len(code) != 6 {
		t.Fatalf("OTP %q %v", code, err)
	}
	if s, _ := emu.TOTPSecret("m@example.com"); len(s) != 32 {
		t.Fatalf("secret %q", s)
	}
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	tok := signIn()
	for name, c := range map[string]struct {
		a          answer
		status     int
		code, desc string
	}{
		"no client secret": {otp(tok, code, false), 401, "access_denied", "Unauthorized"},
		"no otp":           {otp(tok, "", true), 400, "invalid_request", "Missing required parameter: otp"},
		"no mfa_token":     {otp("", code, true), 400, "invalid_request", "Missing required parameter: mfa_token"},
		"unknown token":    {otp("nope", code, true), 403, "invalid_grant", "Malformed mfa_token"},
		"wrong code":       {otp(tok, wrong, true), 403, "invalid_grant", "Invalid otp_code."},
	} {
		if c.a.status != c.status || c.a.body["error"] != c.code || c.a.body["error_description"] != c.desc {
			t.Errorf("%s: %d %s", name, c.a.status, c.a.raw)
		}
	}
	// The previous time step's code is still accepted.
	clock.Advance(30 * time.Second)
	a := otp(tok, code, true)
	if a.status != 200 || a.body["access_token"] == nil || a.body["refresh_token"] == nil {
		t.Fatalf("right code: %d %s", a.status, a.raw)
	}
	if a = otp(tok, code, true); a.status != 403 || a.body["error"] != "invalid_grant" {
		t.Fatalf("spent mfa_token: %d %s", a.status, a.raw)
	}
	// Five wrong codes spend the mfa_token.
	tok = signIn()
	for range 5 {
		otp(tok, wrong, true)
	}
	code, _ = emu.OTP("m@example.com")
	if a = otp(tok, code, true); a.status != 403 || a.body["error_description"] != "Malformed mfa_token" {
		t.Fatalf("after five wrong codes: %d %s", a.status, a.raw)
	}
	// An mfa_token expires after 10 minutes.
	tok = signIn()
	clock.Advance(10*time.Minute + time.Second)
	code, _ = emu.OTP("m@example.com")
	if a = otp(tok, code, true); a.status != 403 || a.body["error"] != "expired_token" {
		t.Fatalf("expired mfa_token: %d %s", a.status, a.raw)
	}
}
