package supabasetest_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	auth "github.com/supabase-community/auth-go"
	"github.com/supabase-community/auth-go/types"

	"github.com/authport/authport/conformance"
	"github.com/authport/authport/internal/emulator"
	"github.com/authport/authport/supabase/supabasetest"
)

type answer struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func call(t *testing.T, method, u string, hdr map[string]string, body string) answer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, u, rd)
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
	b, _ := io.ReadAll(res.Body)
	a := answer{status: res.StatusCode, header: res.Header, raw: string(b)}
	_ = json.Unmarshal(b, &a.body)
	return a
}

func sdk(emu *supabasetest.Emulator, key string) auth.Client {
	return auth.New("emulated", key).WithCustomAuthURL(emu.AuthURL)
}

func TestGateway(t *testing.T) {
	emu := supabasetest.New(t)
	a := call(t, "GET", emu.AuthURL+"/health", nil, "")
	if a.status != 401 || a.body["message"] != "No API key found in request" {
		t.Fatalf("no apikey: %d %s", a.status, a.raw)
	}
	a = call(t, "GET", emu.AuthURL+"/health", map[string]string{"apikey": "nope"}, "")
	if a.status != 401 || a.body["message"] != "Invalid API key" {
		t.Fatalf("bad apikey: %d %s", a.status, a.raw)
	}
	a = call(t, "GET", emu.AuthURL+"/health?apikey="+url.QueryEscape(emu.AnonKey), nil, "")
	if a.status != 200 || a.body["name"] != "GoTrue" {
		t.Fatalf("apikey as query parameter: %d %s", a.status, a.raw)
	}
	// The JWKS and /authorize are open.
	a = call(t, "GET", emu.AuthURL+"/.well-known/jwks.json", nil, "")
	if a.status != 200 || a.header.Get("Cache-Control") != "public, max-age=600" {
		t.Fatalf("jwks: %d %v", a.status, a.header)
	}
	keys := a.body["keys"].([]any)
	k := keys[0].(map[string]any)
	if len(keys) != 1 || k["kty"] != "EC" || k["crv"] != "P-256" || k["alg"] != "ES256" || len(k["kid"].(string)) != 36 || k["d"] != nil {
		t.Fatalf("jwks %s", a.raw)
	}
	if h, err := sdk(emu, emu.AnonKey).HealthCheck(); err != nil || h.Name != "GoTrue" {
		t.Fatalf("SDK health: %v %+v", err, h)
	}
	s, err := sdk(emu, emu.AnonKey).GetSettings()
	if err != nil || !s.External.Email || !s.External.GitHub || !s.MailerAutoconfirm {
		t.Fatalf("SDK settings: %v %+v", err, s)
	}
	if a := call(t, "GET", emu.AuthURL+"/nope", map[string]string{"apikey": emu.AnonKey}, ""); a.status != 404 {
		t.Fatalf("unknown route: %d", a.status)
	}
}

func TestErrorForms(t *testing.T) {
	emu := supabasetest.New(t)
	body := `{"email":"nobody@example.com","password":"x"}`
	legacy := call(t, "POST", emu.AuthURL+"/token?grant_type=password", map[string]string{"apikey": emu.AnonKey, "Content-Type": "application/json"}, body)
	if legacy.status != 400 || legacy.body["code"] != float64(400) || legacy.body["error_code"] != "invalid_credentials" || legacy.body["msg"] != "Invalid login credentials" {
		t.Fatalf("legacy form: %s", legacy.raw)
	}
	if legacy.header.Get("x-sb-error-code") != "invalid_credentials" {
		t.Fatalf("x-sb-error-code %q", legacy.header.Get("x-sb-error-code"))
	}
	v2 := call(t, "POST", emu.AuthURL+"/token?grant_type=password", map[string]string{"apikey": emu.AnonKey, "X-Supabase-Api-Version": "2024-01-01"}, body)
	if v2.status != 400 || v2.body["code"] != "invalid_credentials" || v2.body["message"] != "Invalid login credentials" || v2.header.Get("X-Supabase-Api-Version") != "2024-01-01" {
		t.Fatalf("2024-01-01 form: %s %v", v2.raw, v2.header)
	}
	empty := call(t, "POST", emu.AuthURL+"/token?grant_type=refresh_token", map[string]string{"apikey": emu.AnonKey}, `{}`)
	if empty.status != 400 || empty.body["code"] != float64(400) || empty.body["error_code"] != "validation_failed" || empty.body["msg"] != "Refresh token is not valid" || empty.body["error"] != nil {
		t.Fatalf("empty refresh token: %s", empty.raw)
	}
	grant := call(t, "POST", emu.AuthURL+"/token?grant_type=magic", map[string]string{"apikey": emu.AnonKey}, `{}`)
	if grant.body["msg"] != "unsupported_grant_type" {
		t.Fatalf("unknown grant: %s", grant.raw)
	}
	weak := call(t, "POST", emu.AuthURL+"/signup", map[string]string{"apikey": emu.AnonKey}, `{"email":"a@example.com","password":"1"}`)
	if weak.status != 422 || weak.body["error_code"] != "weak_password" || weak.body["weak_password"] == nil {
		t.Fatalf("weak password: %s", weak.raw)
	}
	noBearer := call(t, "GET", emu.AuthURL+"/user", map[string]string{"apikey": emu.AnonKey}, "")
	if noBearer.status != 401 || noBearer.body["error_code"] != "no_authorization" {
		t.Fatalf("no bearer: %s", noBearer.raw)
	}
	badJWT := call(t, "GET", emu.AuthURL+"/user", map[string]string{"apikey": emu.AnonKey, "Authorization": "Bearer x.y.z"}, "")
	if badJWT.status != 403 || badJWT.body["error_code"] != "bad_jwt" {
		t.Fatalf("bad jwt: %s", badJWT.raw)
	}
}

func decodePart(t *testing.T, tok string, i int) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[i])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSDKFlows(t *testing.T) {
	for _, mode := range []supabasetest.Mode{supabasetest.ModeES256, supabasetest.ModeRS256, supabasetest.ModeHS256, supabasetest.ModeMigration} {
		t.Run(string(mode), func(t *testing.T) {
			emu := supabasetest.New(t, supabasetest.Options{Mode: mode, RefreshReuseInterval: -1}) // strict reuse detection
			anon := sdk(emu, emu.AnonKey)
			admin := sdk(emu, emu.ServiceRoleKey).WithToken(emu.ServiceRoleKey)

			// Admin API, as the dashboard or a back office would use it.
			pw := "pw-123456"
			created, err := admin.AdminCreateUser(types.AdminCreateUserRequest{
				Email: "sdk@example.com", Password: &pw, EmailConfirm: true,
				AppMetadata: map[string]any{"roles": []string{"admin"}}, UserMetadata: map[string]any{"name": "Ada"},
			})
			if err != nil {
				t.Fatal(err)
			}
			if created.EmailConfirmedAt == nil || created.CreatedAt.IsZero() || created.AppMetadata["provider"] != "email" || created.UserMetadata["name"] != "Ada" {
				t.Fatalf("created %+v", created)
			}
			if _, err := anon.WithToken(emu.AnonKey).AdminCreateUser(types.AdminCreateUserRequest{Email: "x@example.com"}); err == nil {
				t.Fatal("the anon key created a user")
			}
			got, err := admin.AdminGetUser(types.AdminGetUserRequest{UserID: created.ID})
			if err != nil || got.Email != "sdk@example.com" {
				t.Fatalf("get: %v", err)
			}
			list, err := admin.AdminListUsers(types.AdminListUsersRequest{})
			if err != nil || len(list.Users) != 1 {
				t.Fatalf("list: %v %d", err, len(list.Users))
			}

			// Sign-in: the token has Supabase's claims.
			tok, err := anon.SignInWithEmailPassword("sdk@example.com", pw)
			if err != nil {
				t.Fatal(err)
			}
			if tok.TokenType != "bearer" || tok.ExpiresIn != 3600 || tok.User.ID != created.ID || tok.User.LastSignInAt == nil {
				t.Fatalf("token response %+v", tok)
			}
			h, c := decodePart(t, tok.AccessToken, 0), decodePart(t, tok.AccessToken, 1)
			wantAlg := map[supabasetest.Mode]string{supabasetest.ModeES256: "ES256", supabasetest.ModeRS256: "RS256", supabasetest.ModeHS256: "HS256", supabasetest.ModeMigration: "ES256"}[mode]
			if h["alg"] != wantAlg || h["typ"] != "JWT" || (mode == supabasetest.ModeHS256) != (h["kid"] == nil) {
				t.Fatalf("header %v", h)
			}
			if c["iss"] != emu.Issuer || c["aud"] != "authenticated" || c["sub"] != created.ID.String() || c["role"] != "authenticated" ||
				c["aal"] != "aal1" || c["is_anonymous"] != false || c["email"] != "sdk@example.com" || len(c["session_id"].(string)) != 36 {
				t.Fatalf("claims %v", c)
			}
			if amr := c["amr"].([]any)[0].(map[string]any); amr["method"] != "password" || amr["timestamp"] == nil {
				t.Fatalf("amr %v", c["amr"])
			}
			if exp, iat := c["exp"].(float64), c["iat"].(float64); exp-iat != 3600 || float64(tok.ExpiresAt) != exp {
				t.Fatalf("exp %v iat %v expires_at %v", exp, iat, tok.ExpiresAt)
			}

			// GET /user, PUT /user, refresh, logout.
			me, err := anon.WithToken(tok.AccessToken).GetUser()
			if err != nil || me.ID != created.ID || len(me.Identities) != 1 || me.Identities[0].Provider != "email" {
				t.Fatalf("user: %v %+v", err, me)
			}
			upd, err := anon.WithToken(tok.AccessToken).UpdateUser(types.UpdateUserRequest{Data: map[string]any{"theme": "dark"}})
			if err != nil || upd.UserMetadata["theme"] != "dark" || upd.UserMetadata["name"] != "Ada" {
				t.Fatalf("update: %v %+v", err, upd)
			}
			next, err := anon.RefreshToken(tok.RefreshToken)
			if err != nil || next.RefreshToken == tok.RefreshToken {
				t.Fatalf("refresh: %v", err)
			}
			if _, err := anon.RefreshToken(tok.RefreshToken); err == nil {
				t.Fatal("refresh token reused")
			}
			// Reuse ended that session; sign in again.
			if _, err := anon.WithToken(next.AccessToken).GetUser(); err == nil {
				t.Fatal("session survived refresh-token reuse")
			}
			next, err = anon.SignInWithEmailPassword("sdk@example.com", pw)
			if err != nil {
				t.Fatal(err)
			}
			if err := anon.WithToken(next.AccessToken).Logout(); err != nil {
				t.Fatal(err)
			}
			if _, err := anon.WithToken(next.AccessToken).GetUser(); err == nil || !strings.Contains(err.Error(), "session_not_found") {
				t.Fatalf("user after logout: %v", err)
			}

			// Sign-up with auto-confirm returns a session.
			su, err := anon.Signup(types.SignupRequest{Email: "new@example.com", Password: pw, Data: map[string]any{"plan": "pro"}})
			if err != nil || su.AccessToken == "" || su.User.Email != "new@example.com" || su.User.UserMetadata["plan"] != "pro" {
				t.Fatalf("signup: %v %+v", err, su)
			}

			// Admin update and delete.
			if _, err := admin.AdminUpdateUser(types.AdminUpdateUserRequest{UserID: created.ID, AppMetadata: map[string]any{"roles": []string{"viewer"}}}); err != nil {
				t.Fatal(err)
			}
			tok, _ = anon.SignInWithEmailPassword("sdk@example.com", pw)
			if roles := decodePart(t, tok.AccessToken, 1)["app_metadata"].(map[string]any)["roles"]; roles.([]any)[0] != "viewer" {
				t.Fatalf("roles after update %v", roles)
			}
			if err := admin.AdminDeleteUser(types.AdminDeleteUserRequest{UserID: created.ID}); err != nil {
				t.Fatal(err)
			}
			if _, err := admin.AdminGetUser(types.AdminGetUserRequest{UserID: created.ID}); err == nil || !strings.Contains(err.Error(), "user_not_found") {
				t.Fatalf("deleted user: %v", err)
			}
			if _, err := anon.WithToken(tok.AccessToken).GetUser(); err == nil {
				t.Fatal("deleted user's token accepted")
			}
		})
	}
}

func TestLogoutScopes(t *testing.T) {
	emu := supabasetest.New(t)
	uid, _ := emu.CreateUser(supabasetest.User{Email: "s@example.com", Password: "pw-123456"})
	_ = uid
	sign := func() *types.TokenResponse {
		tok, err := emu.SignIn("s@example.com", "pw-123456")
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	sid := func(tok *types.TokenResponse) string { return decodePart(t, tok.AccessToken, 1)["session_id"].(string) }
	a, b, c := sign(), sign(), sign()
	logout := func(tok *types.TokenResponse, scope string) {
		r := call(t, "POST", emu.AuthURL+"/logout?scope="+scope, map[string]string{"apikey": emu.AnonKey, "Authorization": "Bearer " + tok.AccessToken}, "")
		if r.status != 204 {
			t.Fatalf("logout %s: %d %s", scope, r.status, r.raw)
		}
	}
	logout(a, "local")
	if emu.SessionLive(sid(a)) || !emu.SessionLive(sid(b)) || !emu.SessionLive(sid(c)) {
		t.Fatal("scope=local")
	}
	logout(b, "others")
	if !emu.SessionLive(sid(b)) || emu.SessionLive(sid(c)) {
		t.Fatal("scope=others")
	}
	bad := call(t, "POST", emu.AuthURL+"/logout?scope=everything", map[string]string{"apikey": emu.AnonKey, "Authorization": "Bearer " + b.AccessToken}, "")
	if bad.status != 400 || bad.body["error_code"] != "validation_failed" {
		t.Fatalf("bad scope: %s", bad.raw)
	}
}

func TestAuthorizeFlows(t *testing.T) {
	emu := supabasetest.New(t, supabasetest.Options{RedirectAllowList: []string{"https://app.example.com/"}})
	emu.CreateUser(supabasetest.User{Email: "o@example.com", Password: "pw-123456"})
	anon := sdk(emu, emu.AnonKey)
	// The SDK's own Authorize: it expects a 302 and returns its Location
	// (the external provider's page) and the verifier it generated.
	res, err := anon.Authorize(types.AuthorizeRequest{Provider: types.ProviderGitHub, RedirectTo: "https://app.example.com/cb", FlowType: types.FlowPKCE})
	if err != nil {
		t.Fatal(err)
	}
	cb, err := emulator.SubmitLogin(t.Context(), nil, res.AuthorizationURL, "o@example.com", "pw-123456")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := anon.Token(types.TokenRequest{GrantType: "pkce", Code: cb.Query().Get("code"), CodeVerifier: res.Verifier})
	if err != nil || tok.AccessToken == "" {
		t.Fatalf("pkce: %v", err)
	}
	if p := tok.User.AppMetadata["providers"].([]any); len(p) != 2 || p[1] != "github" {
		t.Fatalf("providers %v", p)
	}
	// Implicit flow: tokens in the fragment.
	res, err = anon.Authorize(types.AuthorizeRequest{Provider: types.ProviderGoogle, RedirectTo: "https://app.example.com/cb", FlowType: types.FlowImplicit})
	if err != nil {
		t.Fatal(err)
	}
	cb, err = emulator.SubmitLogin(t.Context(), nil, res.AuthorizationURL, "o@example.com", "pw-123456")
	if err != nil {
		t.Fatal(err)
	}
	frag, _ := url.ParseQuery(cb.Fragment)
	if frag.Get("access_token") == "" || frag.Get("refresh_token") == "" || frag.Get("token_type") != "bearer" {
		t.Fatalf("implicit: %s", cb)
	}
	// A redirect_to outside the allow list falls back to the site URL.
	res, _ = anon.Authorize(types.AuthorizeRequest{Provider: types.ProviderGitHub, RedirectTo: "https://evil.example/cb", FlowType: types.FlowPKCE})
	cb, _ = emulator.SubmitLogin(t.Context(), nil, res.AuthorizationURL, "o@example.com", "pw-123456")
	if cb.Host != "localhost:3000" {
		t.Fatalf("disallowed redirect went to %s", cb)
	}
	// Errors.
	if r := call(t, "GET", emu.AuthURL+"/authorize?provider=myspace", nil, ""); r.status != 400 || r.body["error_code"] != "validation_failed" {
		t.Fatalf("unknown provider: %s", r.raw)
	}
	if r := call(t, "GET", emu.AuthURL+"/authorize?provider=github&code_challenge=short&code_challenge_method=s256", nil, ""); r.status != 400 {
		t.Fatalf("short challenge: %s", r.raw)
	}
	if r := call(t, "GET", emu.AuthURL+"/__emulator/idp/github?state=nope", nil, ""); r.status != 400 || r.body["error_code"] != "bad_oauth_state" {
		t.Fatalf("unknown flow: %s", r.raw)
	}
	// A flow expires after 5 minutes.
	res, _ = anon.Authorize(types.AuthorizeRequest{Provider: types.ProviderGitHub, RedirectTo: "https://app.example.com/cb", FlowType: types.FlowPKCE})
	cb, _ = emulator.SubmitLogin(t.Context(), nil, res.AuthorizationURL, "o@example.com", "pw-123456")
	emu.Clock().Advance(6 * time.Minute)
	if _, err := anon.Token(types.TokenRequest{GrantType: "pkce", Code: cb.Query().Get("code"), CodeVerifier: res.Verifier}); err == nil || !strings.Contains(err.Error(), "flow_state_expired") {
		t.Fatalf("expired flow: %v", err)
	}
}

func TestHS256ModeKeys(t *testing.T) {
	emu := supabasetest.New(t, supabasetest.Options{Mode: supabasetest.ModeHS256, JWTSecret: "super-secret-jwt-token-with-at-least-32-characters-long"})
	a := call(t, "GET", emu.AuthURL+"/.well-known/jwks.json", nil, "")
	if a.raw != `{"keys":[]}` {
		t.Fatalf("legacy JWKS %s", a.raw)
	}
	// Legacy API keys are JWTs signed with the secret.
	if c := decodePart(t, emu.AnonKey, 1); c["role"] != "anon" || c["iss"] != "supabase" {
		t.Fatalf("anon key claims %v", c)
	}
	if emu.Env()["SUPABASE_JWT_SECRET"] != emu.JWTSecret || emu.Env()["SUPABASE_URL"] != emu.URL {
		t.Fatalf("env %v", emu.Env())
	}
	if _, err := supabasetest.Start(supabasetest.Options{Mode: supabasetest.ModeHS256, JWTSecret: "short"}); err == nil {
		t.Fatal("short secret accepted")
	}
	if _, err := supabasetest.Start(supabasetest.Options{Mode: "HS512"}); err == nil {
		t.Fatal("unknown mode accepted")
	}
}

func TestControlAPI(t *testing.T) {
	emu := supabasetest.New(t)
	r := call(t, "POST", emu.URL+"/__authport/users", map[string]string{"Content-Type": "application/json"}, `{"email":"ctl@example.com","password":"pw-123456","metadata":{"email_confirmed_at":"2026-01-01T00:00:00Z"}}`)
	if r.status != 201 {
		t.Fatalf("control create: %d %s", r.status, r.raw)
	}
	r = call(t, "POST", emu.URL+"/__authport/sign-in", nil, `{"email":"ctl@example.com","password":"pw-123456"}`)
	if r.status != 200 || r.body["access_token"] == nil || r.body["user"] == nil {
		t.Fatalf("control sign-in: %d %s", r.status, r.raw)
	}
}

// TestProjectHarness runs the suite through ProjectHarness alone — the
// harness a live run uses (public API only, no Forger, no key counters) —
// against the emulator.
func TestProjectHarness(t *testing.T) {
	emu := supabasetest.New(t)
	h, err := supabasetest.ProjectHarness(t, emu.Config())
	if err != nil {
		t.Fatal(err)
	}
	h.Name = "supabase-public-api"
	// As against a hosted project: the default reuse interval applies.
	h.NotApplicable = map[string]string{"Refresh/ReuseRejected": "Supabase's 10 s refresh-token reuse interval"}
	conformance.Run(t, h)
}

func TestAdminDeleteFreesAddress(t *testing.T) {
	emu := supabasetest.New(t)
	const email, pw = "gone@example.com", "pw-12345678"
	uid, err := emu.CreateUser(supabasetest.User{Email: email, Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	anon := sdk(emu, emu.AnonKey)
	admin := sdk(emu, emu.ServiceRoleKey).WithToken(emu.ServiceRoleKey)
	tok, err := anon.SignInWithEmailPassword(email, pw)
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.AdminDeleteUser(types.AdminDeleteUserRequest{UserID: uuid.MustParse(uid)}); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name string
		run  func() error
		ok   bool
	}{
		{"old access token", func() error { _, err := anon.WithToken(tok.AccessToken).GetUser(); return err }, false},
		{"old refresh token", func() error { _, err := anon.RefreshToken(tok.RefreshToken); return err }, false},
		{"old password", func() error { _, err := anon.SignInWithEmailPassword(email, pw); return err }, false},
		{"second delete", func() error {
			return admin.AdminDeleteUser(types.AdminDeleteUserRequest{UserID: uuid.MustParse(uid)})
		}, false},
		{"sign-up with the freed address", func() error {
			_, err := anon.Signup(types.SignupRequest{Email: email, Password: "another-pw-123"})
			return err
		}, true},
		{"sign-in as the new account", func() error { _, err := anon.SignInWithEmailPassword(email, "another-pw-123"); return err }, true},
	}
	for _, s := range steps {
		if err := s.run(); (err == nil) != s.ok {
			t.Fatalf("%s: err = %v, want success %v", s.name, err, s.ok)
		}
	}
	u, err := admin.AdminListUsers(types.AdminListUsersRequest{})
	if err != nil || len(u.Users) != 1 || u.Users[0].ID.String() == uid {
		t.Fatalf("admin list after re-sign-up: %+v %v", u, err)
	}
}
