package supabase_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/supabase-community/auth-go/types"

	"github.com/authport/authport"
	"github.com/authport/authport/internal/emulator"
	"github.com/authport/authport/internal/testenv"
	"github.com/authport/authport/supabase"
	"github.com/authport/authport/supabase/supabasetest"
)

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var api *supabase.APIError
	if !errors.As(err, &api) || api.Code != code {
		t.Fatalf("got %v, want Supabase code %q", err, code)
	}
}

func TestPasswordSignIn(t *testing.T) {
	emu := supabasetest.New(t)
	a := newAdapter(t, emu, nil)
	ctx := t.Context()
	mustUser(t, emu, supabasetest.User{Email: "pw@example.com", Password: "pw-123456"})
	mustUser(t, emu, supabasetest.User{Email: "unconfirmed@example.com", Password: "pw-123456", Unconfirmed: true})

	tok, err := a.SignInWithPassword(ctx, "pw@example.com", "pw-123456")
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken == "" || tok.AccessToken == "" || tok.SessionID == "" {
		t.Fatalf("tokens %+v", tok)
	}
	_, err = a.SignInWithPassword(ctx, "pw@example.com", "wrong-password")
	testenv.WantKind(t, err, authport.ErrInvalidCredential)
	wantCode(t, err, "invalid_credentials")
	_, err2 := a.SignInWithPassword(ctx, "nobody@example.com", "pw-123456")
	testenv.WantKind(t, err2, authport.ErrInvalidCredential)
	if err.Error() != err2.Error() {
		t.Fatalf("wrong password and unknown email differ: %q vs %q", err, err2)
	}
	_, err = a.SignInWithPassword(ctx, "", "x")
	testenv.WantKind(t, err, authport.ErrInvalidInput)

	_, err = a.SignInWithPassword(ctx, "unconfirmed@example.com", "pw-123456")
	var ae *authport.ActionError
	if !errors.As(err, &ae) || ae.Action != authport.ActionVerifyEmail || !errors.Is(err, authport.ErrActionRequired) {
		t.Fatalf("unconfirmed email: %v", err)
	}
	wantCode(t, err, "email_not_confirmed")
}

func TestSignUp(t *testing.T) {
	emu := supabasetest.New(t)
	a := newAdapter(t, emu, nil)
	ctx := t.Context()
	tok, err := a.SignUp(ctx, "new@example.com", "pw-123456")
	if err != nil {
		t.Fatal(err)
	}
	s, err := a.Verify(ctx, bearer(tok.AccessToken))
	if err != nil || s.Email != "new@example.com" {
		t.Fatalf("%v %+v", err, s)
	}
	_, err = a.SignUp(ctx, "new@example.com", "pw-123456")
	testenv.WantKind(t, err, authport.ErrInvalidInput)
	wantCode(t, err, "user_already_exists")
	_, err = a.SignUp(ctx, "short@example.com", "12345")
	testenv.WantKind(t, err, authport.ErrInvalidInput)
	wantCode(t, err, "weak_password")
	_, err = a.SignUp(ctx, "not-an-email", "pw-123456")
	testenv.WantKind(t, err, authport.ErrInvalidInput)

	// A project that confirms email addresses.
	confirm := supabasetest.New(t, supabasetest.Options{ConfirmEmail: true})
	b := newAdapter(t, confirm, nil)
	_, err = b.SignUp(ctx, "later@example.com", "pw-123456")
	var ae *authport.ActionError
	if !errors.As(err, &ae) || ae.Action != authport.ActionVerifyEmail {
		t.Fatalf("sign-up needing confirmation: %v", err)
	}
	// Signing up again reveals nothing about the existing account.
	_, err2 := b.SignUp(ctx, "later@example.com", "pw-123456")
	if !errors.As(err2, &ae) {
		t.Fatalf("repeated sign-up: %v", err2)
	}
	_, err = b.SignInWithPassword(ctx, "later@example.com", "pw-123456")
	if !errors.As(err, &ae) || ae.Action != authport.ActionVerifyEmail {
		t.Fatalf("sign-in before confirmation: %v", err)
	}

	closed := supabasetest.New(t, supabasetest.Options{DisableSignup: true})
	_, err = newAdapter(t, closed, nil).SignUp(ctx, "x@example.com", "pw-123456")
	wantCode(t, err, "signup_disabled")
}

func TestRefresh(t *testing.T) {
	emu := supabasetest.New(t, supabasetest.Options{RefreshReuseInterval: -1}) // strictly single use
	a := newAdapter(t, emu, nil)
	ctx := t.Context()
	mustUser(t, emu, supabasetest.User{Email: "r@example.com", Password: "pw-123456"})
	t0, err := a.SignInWithPassword(ctx, "r@example.com", "pw-123456")
	if err != nil {
		t.Fatal(err)
	}
	if len(t0.RefreshToken) != 12 {
		t.Fatalf("refresh token %q is not GoTrue-shaped", t0.RefreshToken)
	}
	t1, err := a.Refresh(ctx, t0.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if t1.RefreshToken == t0.RefreshToken || t1.SessionID != t0.SessionID {
		t.Fatalf("refresh did not rotate within the session: %+v", t1)
	}
	// Reuse: refused, and the session ends (reuse detection), so the token
	// that replaced it dies too.
	_, err = a.Refresh(ctx, t0.RefreshToken)
	testenv.WantKind(t, err, authport.ErrInvalidCredential)
	wantCode(t, err, "refresh_token_already_used")
	if emu.SessionLive(t0.SessionID) {
		t.Fatal("the session survived refresh-token reuse")
	}
	_, err = a.Refresh(ctx, t1.RefreshToken)
	testenv.WantKind(t, err, authport.ErrInvalidCredential)
	// Malformed tokens are refused by GoTrue's shape check, and are bad
	// credentials (sign in again); a well-shaped unknown one is not found.
	for _, bad := range []string{"nope", "ABCDEFGHIJKL", "abcdefghijk!", strings.Repeat("A", 60)} {
		_, err = a.Refresh(ctx, bad)
		testenv.WantKind(t, err, authport.ErrInvalidCredential)
		wantCode(t, err, "validation_failed")
	}
	_, err = a.Refresh(ctx, "abcdefgh1234")
	testenv.WantKind(t, err, authport.ErrInvalidCredential)
	wantCode(t, err, "refresh_token_not_found")
	_, err = a.Refresh(ctx, "")
	testenv.WantKind(t, err, authport.ErrInvalidInput)

	// Supabase's default reuse interval (10 s).
	lax := supabasetest.New(t)
	if lax.RefreshReuseInterval() != 10*time.Second {
		t.Fatalf("default reuse interval %v", lax.RefreshReuseInterval())
	}
	b := newAdapter(t, lax, nil)
	mustUser(t, lax, supabasetest.User{Email: "r@example.com", Password: "pw-123456"})
	t0, _ = b.SignInWithPassword(ctx, "r@example.com", "pw-123456")
	t1, _ = b.Refresh(ctx, t0.RefreshToken)
	again, err := b.Refresh(ctx, t0.RefreshToken)
	if err != nil || again.RefreshToken != t1.RefreshToken {
		t.Fatalf("reuse within the interval: %v", err)
	}
	lax.Clock().Advance(11 * time.Second)
	_, err = b.Refresh(ctx, t0.RefreshToken)
	wantCode(t, err, "refresh_token_already_used")
}

func TestRevokeAndStrict(t *testing.T) {
	emu := supabasetest.New(t)
	a := newAdapter(t, emu, nil)
	ctx := t.Context()
	uid := mustUser(t, emu, supabasetest.User{Email: "rv@example.com", Password: "pw-123456"})
	phone, err := a.SignInWithPassword(ctx, "rv@example.com", "pw-123456")
	if err != nil {
		t.Fatal(err)
	}
	laptop, err := a.SignInWithPassword(ctx, "rv@example.com", "pw-123456")
	if err != nil {
		t.Fatal(err)
	}
	s, err := a.VerifyStrict(ctx, bearer(laptop.AccessToken))
	if err != nil {
		t.Fatal(err)
	}
	var c *supabase.Claims
	if !s.As(&c) || c.User == nil || c.User.ID.String() != uid || c.User.EmailConfirmedAt == nil || !s.EmailVerified {
		t.Fatalf("strict session %+v claims %+v", s, c)
	}
	// The cached offline session is not changed by VerifyStrict.
	if plain, _ := a.Verify(ctx, bearer(laptop.AccessToken)); plain.EmailVerified || plain.Native.(*supabase.Claims).User != nil {
		t.Fatal("VerifyStrict changed the cached session")
	}

	ps, err := a.Verify(ctx, bearer(phone.AccessToken))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Revoke(ctx, ps, phone); err != nil {
		t.Fatal(err)
	}
	// Supabase's Logout is global: both sessions ended at the provider.
	if emu.SessionLive(phone.SessionID) || emu.SessionLive(laptop.SessionID) {
		t.Fatal("the emulator still has a live session after a global sign-out")
	}
	// This process refuses the revoked session at once...
	_, err = a.Verify(ctx, bearer(phone.AccessToken))
	testenv.WantKind(t, err, authport.ErrRevoked)
	// ...the other device's token still verifies offline until it
	// expires (the documented revocation delay), but not strictly.
	if _, err := a.Verify(ctx, bearer(laptop.AccessToken)); err != nil {
		t.Fatalf("offline verify of the other session: %v", err)
	}
	_, err = a.VerifyStrict(ctx, bearer(laptop.AccessToken))
	testenv.WantKind(t, err, authport.ErrRevoked)
	wantCode(t, err, "session_not_found")
	_, err = a.Refresh(ctx, laptop.RefreshToken)
	if err == nil {
		t.Fatal("refresh after sign-out")
	}
	// Idempotent; needs the token.
	if err := a.Revoke(ctx, nil, laptop); err != nil {
		t.Fatalf("second sign-out: %v", err)
	}
	testenv.WantKind(t, a.Revoke(ctx, ps, nil), authport.ErrInvalidInput)

	// A deleted or banned user is revoked for strict verification.
	admin, err := a.AdminClient()
	if err != nil {
		t.Fatal(err)
	}
	fresh, _ := a.SignInWithPassword(ctx, "rv@example.com", "pw-123456")
	ban := types.BanDurationTime(time.Hour)
	if _, err := admin.AdminUpdateUser(types.AdminUpdateUserRequest{UserID: mustParse(t, uid), BanDuration: &ban}); err != nil {
		t.Fatal(err)
	}
	_, err = a.VerifyStrict(ctx, bearer(fresh.AccessToken))
	testenv.WantKind(t, err, authport.ErrRevoked)
	_, err = a.SignInWithPassword(ctx, "rv@example.com", "pw-123456")
	wantCode(t, err, "user_banned")
	none := types.BanDurationNone()
	if _, err := admin.AdminUpdateUser(types.AdminUpdateUserRequest{UserID: mustParse(t, uid), BanDuration: &none}); err != nil {
		t.Fatal(err)
	}
	fresh, err = a.SignInWithPassword(ctx, "rv@example.com", "pw-123456")
	if err != nil {
		t.Fatalf("sign-in after the ban was lifted: %v", err)
	}
	if err := admin.AdminDeleteUser(types.AdminDeleteUserRequest{UserID: mustParse(t, uid)}); err != nil {
		t.Fatal(err)
	}
	_, err = a.VerifyStrict(ctx, bearer(fresh.AccessToken))
	testenv.WantKind(t, err, authport.ErrRevoked)

	// Without a service-role key there is no admin client.
	noAdmin := newAdapter(t, emu, func(c *supabase.Config) { c.ServiceRoleKey = "" })
	if _, err := noAdmin.AdminClient(); !errors.Is(err, authport.ErrMisconfigured) {
		t.Fatalf("AdminClient without key: %v", err)
	}
}

func TestProviderFailures(t *testing.T) {
	emu := supabasetest.New(t)
	ctx := t.Context()
	mustUser(t, emu, supabasetest.User{Email: "f@example.com", Password: "pw-123456"})

	// A wrong API key is our configuration, not the user's credentials.
	bad := newAdapter(t, emu, func(c *supabase.Config) { c.AnonKey = "sb_publishable_wrong" })
	_, err := bad.SignInWithPassword(ctx, "f@example.com", "pw-123456")
	testenv.WantKind(t, err, authport.ErrMisconfigured)

	a := newAdapter(t, emu, nil)
	emu.Server().SetFault("POST /auth/v1/token", emulator.Fault{Down: true, Count: 1})
	_, err = a.SignInWithPassword(ctx, "f@example.com", "pw-123456")
	testenv.WantKind(t, err, authport.ErrProviderUnavailable)

	emu.Server().SetFault("POST /auth/v1/token", emulator.Fault{Garbage: emulator.GarbageHTML, Count: 1})
	_, err = a.SignInWithPassword(ctx, "f@example.com", "pw-123456")
	testenv.WantKind(t, err, authport.ErrProviderUnavailable)

	// The caller's context reaches the wire although auth-go takes none.
	emu.Server().SetFault("POST /auth/v1/token", emulator.Fault{Delay: 5 * time.Second, Count: 1})
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = a.SignInWithPassword(short, "f@example.com", "pw-123456")
	testenv.WantKind(t, err, authport.ErrProviderUnavailable)
	if time.Since(start) > 2*time.Second {
		t.Fatalf("the call outlived its context: %v", time.Since(start))
	}

	// The HTTP client's timeout bounds each call.
	slow := newAdapter(t, emu, func(c *supabase.Config) { c.HTTPClient = &http.Client{Timeout: 100 * time.Millisecond} })
	emu.Server().SetFault("POST /auth/v1/token", emulator.Fault{Delay: 5 * time.Second, Count: 1})
	_, err = slow.SignInWithPassword(ctx, "f@example.com", "pw-123456")
	testenv.WantKind(t, err, authport.ErrProviderUnavailable)
}

func pkce() (verifier, challenge string) {
	b := make([]byte, 32)
	rand.Read(b)
	verifier = base64.RawURLEncoding.EncodeToString(b)
	h := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(h[:])
}

// noFollow is a client that returns redirects instead of following them.
func noFollow() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func TestRedirectSignIn(t *testing.T) {
	emu := supabasetest.New(t)
	a := newAdapter(t, emu, nil)
	ctx := t.Context()
	uid := mustUser(t, emu, supabasetest.User{Email: "oauth@example.com", Password: "pw-123456"})
	verifier, challenge := pkce()
	target, err := a.AuthorizeURL(ctx, authport.AuthorizeRequest{RedirectURI: "https://app.example.com/auth/callback?x=1", State: "st-123", CodeChallenge: challenge})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(target)
	if u.Path != "/auth/v1/authorize" || u.Query().Get("provider") != "github" || u.Query().Get("code_challenge") != challenge || u.Query().Get("code_challenge_method") != "s256" {
		t.Fatalf("authorize URL %s", target)
	}
	res, err := noFollow().Get(target)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound {
		t.Fatalf("/authorize answered %d", res.StatusCode)
	}
	cb, err := emulator.SubmitLogin(ctx, nil, res.Header.Get("Location"), "oauth@example.com", "pw-123456")
	if err != nil {
		t.Fatal(err)
	}
	if cb.Host != "app.example.com" || cb.Query().Get("state") != "st-123" || cb.Query().Get("x") != "1" || cb.Query().Get("code") == "" {
		t.Fatalf("callback %s", cb)
	}
	// A wrong verifier is refused and leaves the code usable, as GoTrue.
	wrong, _ := pkce()
	_, err = a.Exchange(ctx, authport.Callback{Query: cb.Query(), CodeVerifier: wrong})
	testenv.WantKind(t, err, authport.ErrInvalidCredential)
	wantCode(t, err, "bad_code_verifier")
	tok, err := a.Exchange(ctx, authport.Callback{Query: cb.Query(), CodeVerifier: verifier})
	if err != nil {
		t.Fatal(err)
	}
	s, err := a.Verify(ctx, bearer(tok.AccessToken))
	if err != nil || s.UserID != uid || s.AuthMethods[0] != "oauth" {
		t.Fatalf("%v %+v", err, s)
	}
	_, err = a.Exchange(ctx, authport.Callback{Query: cb.Query(), CodeVerifier: verifier})
	wantCode(t, err, "flow_state_not_found")
	_, err = a.Exchange(ctx, authport.Callback{Query: url.Values{"error": {"access_denied"}, "error_code": {"signup_disabled"}}, CodeVerifier: verifier})
	testenv.WantKind(t, err, authport.ErrInvalidCredential)
	_, err = a.Exchange(ctx, authport.Callback{Query: url.Values{}, CodeVerifier: verifier})
	testenv.WantKind(t, err, authport.ErrInvalidInput)
	_, err = a.AuthorizeURL(ctx, authport.AuthorizeRequest{RedirectURI: "/relative", State: "s", CodeChallenge: challenge})
	testenv.WantKind(t, err, authport.ErrInvalidInput)
	_, err = newAdapter(t, emu, func(c *supabase.Config) { c.OAuthProvider = "" }).AuthorizeURL(ctx, authport.AuthorizeRequest{RedirectURI: "https://a.example/cb", State: "s", CodeChallenge: challenge})
	testenv.WantKind(t, err, authport.ErrUnsupported)
}

// TestWebRedirectFlow runs the redirect sign-in through authport's own
// handlers: /auth/login → Supabase /authorize → provider page →
// /auth/callback (state carried inside redirect_to) → signed-in cookie.
func TestWebRedirectFlow(t *testing.T) {
	emu := supabasetest.New(t)
	a := newAdapter(t, emu, nil)
	mustUser(t, emu, supabasetest.User{Email: "web@example.com", Password: "pw-123456"})
	key := make([]byte, 32)
	rand.Read(key)
	mux := http.NewServeMux()
	app := httptest.NewUnstartedServer(nil)
	web, err := authport.NewWeb(a, authport.Config{CookieKeys: [][]byte{key}, Insecure: true, PublicOrigin: "http://" + app.Listener.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/auth/", web.Handler())
	mux.Handle("/app/", authport.Require()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := authport.SessionFrom(r.Context())
		w.Write([]byte("hello " + s.Email))
	})))
	app.Config.Handler = web.Middleware(mux)
	app.Start()
	t.Cleanup(app.Close)

	jar, _ := cookiejar.New(nil)
	c := noFollow()
	c.Jar = jar
	get := func(u string) *http.Response {
		t.Helper()
		res, err := c.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	res := get(app.URL + "/auth/login?via=redirect&return_to=/app/home")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), emu.AuthURL+"/authorize?") {
		t.Fatalf("login: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	res = get(res.Header.Get("Location"))
	if res.StatusCode != http.StatusFound {
		t.Fatalf("authorize: %d", res.StatusCode)
	}
	cb, err := emulator.SubmitLogin(t.Context(), nil, res.Header.Get("Location"), "web@example.com", "pw-123456")
	if err != nil {
		t.Fatal(err)
	}
	res = get(cb.String())
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/app/home" {
		t.Fatalf("callback: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	res, err = c.Get(app.URL + "/app/home")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body := make([]byte, 100)
	n, _ := res.Body.Read(body)
	if res.StatusCode != 200 || string(body[:n]) != "hello web@example.com" {
		t.Fatalf("app: %d %q", res.StatusCode, body[:n])
	}
}
