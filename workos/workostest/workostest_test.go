package workostest_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/authport/authport"
	"github.com/authport/authport/conformance"
	"github.com/authport/authport/workos/workostest"
)

var (
	ulidRe = `[0-9A-HJKMNP-TV-Z]{26}`
	kidRe  = regexp.MustCompile(`^sso_oidc_key_pair_` + ulidRe + `$`)
	userRe = regexp.MustCompile(`^user_` + ulidRe + `$`)
	sessRe = regexp.MustCompile(`^session_` + ulidRe + `$`)
	jtiRe  = regexp.MustCompile(`^` + ulidRe + `$`)
)

type reply struct {
	status int
	header http.Header
	body   map[string]any
}

func do(t *testing.T, method, u string, hdr map[string]string, body io.Reader) reply {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	r := reply{status: res.StatusCode, header: res.Header}
	b, _ := io.ReadAll(res.Body)
	if len(b) > 0 && strings.Contains(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(b, &r.body); err != nil {
			t.Fatalf("%s %s: body %q is not a JSON object", method, u, b)
		}
	}
	if res.Header.Get("X-Request-ID") == "" && !strings.Contains(u, "/__authport/") {
		t.Errorf("%s %s: no X-Request-ID", method, u)
	}
	return r
}

func jsonBody(v any) io.Reader {
	b, _ := json.Marshal(v)
	return bytes.NewReader(b)
}

var jsonCT = map[string]string{"Content-Type": "application/json"}

func authenticate(t *testing.T, e *workostest.Emulator, fields map[string]any) reply {
	t.Helper()
	body := map[string]any{"client_id": e.ClientID, "client_secret": e.APIKey}
	for k, v := range fields {
		body[k] = v
	}
	return do(t, "POST", e.URL+"/user_management/authenticate", jsonCT, jsonBody(body))
}

func wantError(t *testing.T, r reply, status int, field, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d (%v)", r.status, status, r.body)
	}
	if !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Fatalf("error Content-Type %q: the SDK only parses application/json", r.header.Get("Content-Type"))
	}
	if r.body[field] != code {
		t.Fatalf("%s = %v, want %q (%v)", field, r.body[field], code, r.body)
	}
}

func decodeSegment(t *testing.T, seg string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestWireFormat(t *testing.T) {
	e := workostest.New(t)
	id, err := e.CreateUser(workostest.NewUser{Email: "wire@example.com", Password: "pw-123456789"})
	if err != nil {
		t.Fatal(err)
	}
	if !userRe.MatchString(id) || !strings.HasPrefix(e.ClientID, "client_") || !strings.HasPrefix(e.APIKey, "sk_test_") {
		t.Fatalf("id shapes: %s %s", id, e.ClientID)
	}

	// Keys: public, WorkOS-shaped.
	r := do(t, "GET", e.URL+"/sso/jwks/"+e.ClientID, nil, nil)
	keys, _ := r.body["keys"].([]any)
	if r.status != 200 || len(keys) != 1 {
		t.Fatalf("JWKS %d %v", r.status, r.body)
	}
	k := keys[0].(map[string]any)
	if !kidRe.MatchString(k["kid"].(string)) || k["alg"] != "RS256" || k["kty"] != "RSA" || k["use"] != "sig" ||
		k["x5c"] == nil || k["x5t#S256"] == nil || k["x5t"] != nil || k["e"] != "AQAB" {
		t.Fatalf("JWK %v", k)
	}
	wantError(t, do(t, "GET", e.URL+"/sso/jwks/client_other", nil, nil), 404, "code", "not_found")

	// Password grant, JSON, with no Authorization header (as the SDK sends it).
	r = authenticate(t, e, map[string]any{"grant_type": "password", "email": "wire@example.com", "password": "pw-123456789"})
	if r.status != 200 {
		t.Fatalf("authenticate %d %v", r.status, r.body)
	}
	user := r.body["user"].(map[string]any)
	if user["object"] != "user" || user["id"] != id || user["email_verified"] != true || user["created_at"] == nil || r.body["organization_id"] != nil ||
		r.body["authentication_method"] != "Password" {
		t.Fatalf("authenticate body %v", r.body)
	}
	if r.header.Get("Cache-Control") != "no-store" {
		t.Fatal("token response is cacheable")
	}
	at := r.body["access_token"].(string)
	parts := strings.Split(at, ".")
	h, c := decodeSegment(t, parts[0]), decodeSegment(t, parts[1])
	if h["alg"] != "RS256" || h["typ"] != "JWT" || h["kid"] != k["kid"] {
		t.Fatalf("header %v", h)
	}
	if c["iss"] != "https://api.workos.com/user_management/"+e.ClientID || c["sub"] != id || !sessRe.MatchString(c["sid"].(string)) ||
		!jtiRe.MatchString(c["jti"].(string)) || c["client_id"] != e.ClientID || c["aud"] != nil || c["org_id"] != nil {
		t.Fatalf("claims %v", c)
	}
	if c["exp"].(float64)-c["iat"].(float64) != 300 {
		t.Fatalf("lifetime %v s, want 300", c["exp"].(float64)-c["iat"].(float64))
	}
	rt := r.body["refresh_token"].(string)

	// Refresh: rotation and the full response object.
	r = authenticate(t, e, map[string]any{"grant_type": "refresh_token", "refresh_token": rt})
	if r.status != 200 || r.body["refresh_token"] == rt || r.body["user"] == nil {
		t.Fatalf("refresh %d %v", r.status, r.body)
	}
	wantError(t, authenticate(t, e, map[string]any{"grant_type": "refresh_token", "refresh_token": rt}), 400, "error", "invalid_grant")

	// Form-encoded bodies are accepted too.
	form := url.Values{"client_id": {e.ClientID}, "client_secret": {e.APIKey}, "grant_type": {"password"}, "email": {"wire@example.com"}, "password": {"pw-123456789"}}
	if r := do(t, "POST", e.URL+"/user_management/authenticate", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, strings.NewReader(form.Encode())); r.status != 200 {
		t.Fatalf("form authenticate %d %v", r.status, r.body)
	}

	// Error shapes.
	wantError(t, authenticate(t, e, map[string]any{"grant_type": "password", "email": "wire@example.com", "password": "nope"}), 400, "code", "invalid_credentials")
	wantError(t, authenticate(t, e, map[string]any{"grant_type": "password", "email": "wire@example.com"}), 400, "error", "invalid_request")
	wantError(t, authenticate(t, e, map[string]any{"grant_type": "authorization_code", "code": "nope"}), 400, "error", "invalid_grant")
	wantError(t, authenticate(t, e, map[string]any{"grant_type": "urn:workos:oauth:grant-type:mfa-totp"}), 400, "error", "invalid_request")
	wantError(t, authenticate(t, e, map[string]any{}), 400, "error", "invalid_request")
	wantError(t, authenticate(t, e, map[string]any{"grant_type": "password", "client_secret": "sk_test_wrong"}), 401, "error", "invalid_client")
	wantError(t, authenticate(t, e, map[string]any{"grant_type": "password", "client_id": "client_x"}), 400, "error", "invalid_client")
	wantError(t, authenticate(t, e, map[string]any{"grant_type": "password", "email": 5, "password": "x"}), 400, "error", "invalid_request")
	wantError(t, do(t, "POST", e.URL+"/user_management/authenticate", jsonCT, strings.NewReader("{")), 400, "code", "invalid_request_body")

	// Management routes need the API key as a bearer token.
	wantError(t, do(t, "GET", e.URL+"/user_management/users/"+id, nil, nil), 401, "code", "unauthorized")
	bearer := map[string]string{"Authorization": "Bearer " + e.APIKey, "Content-Type": "application/json"}
	if r := do(t, "GET", e.URL+"/user_management/users/"+id, bearer, nil); r.status != 200 || r.body["email"] != "wire@example.com" {
		t.Fatalf("get user %d %v", r.status, r.body)
	}
	wantError(t, do(t, "GET", e.URL+"/user_management/users/user_nope", bearer, nil), 404, "code", "not_found")
	wantError(t, do(t, "POST", e.URL+"/user_management/users", bearer, jsonBody(map[string]any{"email": "wire@example.com"})), 409, "code", "user_already_exists")
	wantError(t, do(t, "POST", e.URL+"/user_management/users", bearer, jsonBody(map[string]any{"email": "nope"})), 422, "code", "invalid_request_parameters")
	wantError(t, do(t, "POST", e.URL+"/user_management/sessions/revoke", bearer, jsonBody(map[string]any{})), 400, "code", "invalid_request")
	wantError(t, do(t, "GET", e.URL+"/nowhere", nil, nil), 404, "code", "not_found")
	wantError(t, do(t, "GET", e.URL+"/user_management/sessions/logout", nil, nil), 422, "code", "invalid_request")
	wantError(t, do(t, "GET", e.URL+"/user_management/sessions/logout?session_id=s&return_to=https://evil.example", nil, nil), 400, "code", "invalid_return_to")
}

func TestStepUpBodies(t *testing.T) {
	e := workostest.New(t, workostest.Options{RequireEmailVerification: true})
	e.CreateUser(workostest.NewUser{Email: "v@example.com", Password: "pw", Unverified: true})
	r := authenticate(t, e, map[string]any{"grant_type": "password", "email": "v@example.com", "password": "pw"})
	wantError(t, r, 403, "code", "email_verification_required")
	if r.body["pending_authentication_token"] == nil || r.body["email"] != "v@example.com" || !strings.HasPrefix(r.body["email_verification_id"].(string), "email_verification_") {
		t.Fatalf("body %v", r.body)
	}
	// The SDK's GetEmailVerification reads the code.
	bearer := map[string]string{"Authorization": "Bearer " + e.APIKey}
	v := do(t, "GET", e.URL+"/user_management/email_verification/"+r.body["email_verification_id"].(string), bearer, nil)
	if v.status != 200 || len(v.body["code"].(string)) != 6 {
		t.Fatalf("verification %v", v.body)
	}

	e.CreateUser(workostest.NewUser{Email: "m@example.com", Password: "pw", MFAEnrolled: true})
	r = authenticate(t, e, map[string]any{"grant_type": "password", "email": "m@example.com", "password": "pw"})
	wantError(t, r, 403, "code", "mfa_challenge")
	if r.body["user"] == nil || r.body["authentication_factors"] == nil {
		t.Fatalf("body %v", r.body)
	}

	e.CreateUser(workostest.NewUser{Email: "s@example.com", Password: "pw", SSOConnection: "conn_01"})
	r = authenticate(t, e, map[string]any{"grant_type": "password", "email": "s@example.com", "password": "pw"})
	wantError(t, r, 403, "error", "sso_required")
	if ids, _ := r.body["connection_ids"].([]any); len(ids) != 1 || ids[0] != "conn_01" {
		t.Fatalf("body %v", r.body)
	}

	id, _ := e.CreateUser(workostest.NewUser{Email: "o@example.com", Password: "pw"})
	for _, name := range []string{"A", "B"} {
		org, _ := e.CreateOrganization(name)
		e.AddMembership(id, org, "")
	}
	r = authenticate(t, e, map[string]any{"grant_type": "password", "email": "o@example.com", "password": "pw"})
	wantError(t, r, 403, "code", "organization_selection_required")
	if orgs, _ := r.body["organizations"].([]any); len(orgs) != 2 || r.body["user"] == nil {
		t.Fatalf("body %v", r.body)
	}
}

func TestAuthorizeValidation(t *testing.T) {
	e := workostest.New(t, workostest.Options{RedirectURIs: []string{"https://app.example.com/cb"}})
	base := e.URL + "/user_management/authorize?"
	q := func(kv ...string) string {
		v := url.Values{"client_id": {e.ClientID}, "redirect_uri": {"https://app.example.com/cb"}, "response_type": {"code"}, "provider": {"authkit"}, "state": {"s"}}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "" {
				v.Del(kv[i])
			} else {
				v.Set(kv[i], kv[i+1])
			}
		}
		return base + v.Encode()
	}
	if r := do(t, "GET", q(), nil, nil); r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		t.Fatalf("sign-in page %d", r.status)
	}
	wantError(t, do(t, "GET", q("client_id", "client_x"), nil, nil), 400, "code", "invalid_client_id")
	wantError(t, do(t, "GET", q("redirect_uri", "http://localhost/cb"), nil, nil), 400, "code", "invalid_redirect_uri")
	for name, args := range map[string][]string{
		"response type":  {"response_type", "token"},
		"no selector":    {"provider", ""},
		"other provider": {"provider", "GoogleOAuth"},
		"plain PKCE":     {"code_challenge", "abc", "code_challenge_method", "plain"},
		"unknown org":    {"provider", "", "organization_id", "org_nope"},
	} {
		r := do(t, "GET", q(args...), nil, nil)
		loc, _ := url.Parse(r.header.Get("Location"))
		if r.status != http.StatusFound || loc == nil || loc.Query().Get("error") == "" || loc.Query().Get("state") != "s" {
			t.Errorf("%s: %d %q", name, r.status, r.header.Get("Location"))
		}
	}
}

func TestEnvAndConfig(t *testing.T) {
	e := workostest.New(t, workostest.Options{Issuer: "https://auth.example.com", Audience: "aud-1"})
	env := e.Env()
	if env["AUTH_PROVIDER"] != "workos" || env["WORKOS_BASE_URL"] != e.URL || env["WORKOS_ISSUERS"] != "https://auth.example.com" ||
		env["WORKOS_AUDIENCE"] != "aud-1" || env["WORKOS_API_HTTPS"] != "false" || env["WORKOS_API_HOSTNAME"] != "127.0.0.1" {
		t.Fatalf("env %v", env)
	}
	c := e.Config()
	if len(c.Issuers) != 1 || c.Issuers[0] != "https://auth.example.com" || len(c.Audiences) != 1 || c.BaseURL != e.URL {
		t.Fatalf("config %+v", c)
	}
	e.Setenv(t)

	e.CreateUser(workostest.NewUser{Email: "url@example.com", Password: "pw"})
	tok, err := e.SignIn(t.Context(), "url@example.com", "pw")
	if err != nil {
		t.Fatal(err)
	}
	a, err := authport.OpenURL(t.Context(), e.OpenURL())
	if err != nil {
		t.Fatal(err)
	}
	if s, err := a.Verify(t.Context(), authport.Credential{Token: tok.AccessToken}); err != nil || s.SessionID != tok.SessionID {
		t.Fatalf("verify via OpenURL: %v %+v", err, s)
	}
	b, err := authport.FromEnv(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Verify(t.Context(), authport.Credential{Token: tok.AccessToken}); err != nil {
		t.Fatalf("verify via FromEnv: %v", err)
	}
}

func TestControlAPISignIn(t *testing.T) {
	e := workostest.New(t)
	r := do(t, "POST", e.URL+"/__authport/users", jsonCT, jsonBody(map[string]any{"email": "ctl@example.com", "password": "pw"}))
	if r.status != 201 || !userRe.MatchString(r.body["id"].(string)) {
		t.Fatalf("control create %d %v", r.status, r.body)
	}
	r = do(t, "POST", e.URL+"/__authport/sign-in", jsonCT, jsonBody(map[string]any{"email": "ctl@example.com", "password": "pw"}))
	if r.status != 200 || r.body["access_token"] == nil || r.body["user"] == nil {
		t.Fatalf("control sign-in %d %v", r.status, r.body)
	}
}

// TestLiveHarnessShape drives LiveHarness's public-API oracle against the
// emulator standing in for WorkOS.
func TestLiveHarnessShape(t *testing.T) {
	e := workostest.New(t)
	h, err := workostest.LiveHarness(t, e.Config())
	if err != nil {
		t.Fatal(err)
	}
	if h.Forger != nil || h.KeyFetches != nil || h.SetKeysDown != nil || h.Features.Permissions {
		t.Fatal("a live harness cannot forge, count key fetches, take keys down or grant permissions")
	}
	u := conformance.User{Email: "live@example.com", Password: "pw-live-123", Roles: []string{"admin"}}
	id, err := h.CreateUser(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := h.SignIn(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	s, err := h.Authenticator.Verify(t.Context(), authport.Credential{Token: tok.AccessToken})
	if err != nil || s.UserID != id || !s.HasRole("admin") || s.OrgID == "" {
		t.Fatalf("session %+v %v", s, err)
	}
	if err := h.RevokeSession(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	if _, err := h.CreateUser(t.Context(), conformance.User{Email: "p@example.com", Password: "pw", Permissions: []string{"x"}}); err == nil {
		t.Fatal("live harness granted permissions")
	}
}
