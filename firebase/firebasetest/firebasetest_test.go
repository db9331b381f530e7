package firebasetest_test

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	fb "firebase.google.com/go/v4"
	"firebase.google.com/go/v4/auth"

	"github.com/authport/authport/firebase"
	"github.com/authport/authport/firebase/firebasetest"
)

func TestMain(m *testing.M) {
	os.Unsetenv(firebase.EnvEmulatorHost)
	firebasetest.InterceptDefaultTransport()
	os.Exit(m.Run())
}

func sdk(t *testing.T, e *firebasetest.Emulator) *auth.Client {
	t.Helper()
	app, err := fb.NewApp(t.Context(), &fb.Config{ProjectID: e.ProjectID}, e.ClientOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	c, err := app.Auth(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestAdminSDK drives the emulator with the unmodified Admin SDK in
// production mode, as an application would.
func TestAdminSDK(t *testing.T) {
	e := firebasetest.New(t)
	c := sdk(t, e)
	ctx := t.Context()
	rec, err := c.CreateUser(ctx, (&auth.UserToCreate{}).Email("Ada@Example.com").Password("password1").EmailVerified(true).DisplayName("Ada"))
	if err != nil {
		t.Fatal(err)
	}
	if rec.UID == "" || rec.Email != "ada@example.com" || !rec.EmailVerified || rec.DisplayName != "Ada" || rec.TokensValidAfterMillis == 0 {
		t.Fatalf("record %+v", rec.UserInfo)
	}
	if _, err := c.CreateUser(ctx, (&auth.UserToCreate{}).Email("ada@example.com").Password("password1")); !auth.IsEmailAlreadyExists(err) {
		t.Fatalf("duplicate email: %v", err)
	}
	byEmail, err := c.GetUserByEmail(ctx, "ada@example.com")
	if err != nil || byEmail.UID != rec.UID {
		t.Fatalf("GetUserByEmail: %v %+v", err, byEmail)
	}
	if err := c.SetCustomUserClaims(ctx, rec.UID, map[string]any{"role": "admin", "org_id": "org_1"}); err != nil {
		t.Fatal(err)
	}
	if u, _ := c.GetUser(ctx, rec.UID); u.CustomClaims["role"] != "admin" {
		t.Fatalf("custom claims %v", u.CustomClaims)
	}
	tok, err := e.SignIn(ctx, "ada@example.com", "password1")
	if err != nil {
		t.Fatal(err)
	}
	idt, err := c.VerifyIDToken(ctx, tok.IDToken)
	if err != nil {
		t.Fatal(err)
	}
	if idt.UID != rec.UID || idt.Claims["role"] != "admin" || idt.Firebase.SignInProvider != "password" || idt.AuthTime == 0 {
		t.Fatalf("token %+v", idt)
	}
	cookie, err := c.SessionCookie(ctx, tok.IDToken, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ct, err := c.VerifySessionCookie(ctx, cookie)
	if err != nil || ct.UID != rec.UID || ct.Issuer != e.SessionCookieIssuer() || ct.Expires-ct.IssuedAt != 3600 {
		t.Fatalf("cookie %v %+v", err, ct)
	}
	if _, err := c.VerifyIDToken(ctx, cookie); err == nil {
		t.Fatal("a session cookie passed VerifyIDToken")
	}
	if _, err := c.SessionCookie(ctx, "not-a-token", time.Hour); err == nil {
		t.Fatal("SessionCookie accepted garbage")
	}
	if _, err := c.VerifyIDTokenAndCheckRevoked(ctx, tok.IDToken); err != nil {
		t.Fatal(err)
	}
	// validSince has one-second granularity and the SDK compares it with
	// iat: revoke only once the second of the later token (the cookie may
	// have been minted a second after the ID token) is over.
	if err := firebasetest.WaitNextSecond(ctx, time.Unix(max(idt.IssuedAt, ct.IssuedAt), 0)); err != nil {
		t.Fatal(err)
	}
	if err := c.RevokeRefreshTokens(ctx, rec.UID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.VerifyIDTokenAndCheckRevoked(ctx, tok.IDToken); !auth.IsIDTokenRevoked(err) {
		t.Fatalf("after revoke: %v", err)
	}
	if _, err := c.VerifySessionCookieAndCheckRevoked(ctx, cookie); !auth.IsSessionCookieRevoked(err) {
		t.Fatalf("cookie after revoke: %v", err)
	}
	if _, err := c.SessionCookie(ctx, tok.IDToken, time.Hour); err == nil {
		t.Fatal("a session cookie was minted from a revoked ID token")
	}
	if _, err := c.UpdateUser(ctx, rec.UID, (&auth.UserToUpdate{}).Disabled(true)); err != nil {
		t.Fatal(err)
	}
	fresh, _ := e.MintIDToken(rec.UID, nil)
	if _, err := c.VerifyIDTokenAndCheckRevoked(ctx, fresh); !auth.IsUserDisabled(err) {
		t.Fatalf("disabled: %v", err)
	}
	if err := c.DeleteUser(ctx, rec.UID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetUser(ctx, rec.UID); !auth.IsUserNotFound(err) {
		t.Fatalf("deleted user: %v", err)
	}
	if r, err := c.DeleteUsers(ctx, []string{"a", "b"}); err != nil || r.SuccessCount != 2 {
		t.Fatalf("DeleteUsers: %v %+v", err, r)
	}
}

// TestEmulatorModeSDK: the emulator also answers the Admin SDK in emulator
// mode (FIREBASE_AUTH_EMULATOR_HOST pointing at its plain-HTTP address).
func TestEmulatorModeSDK(t *testing.T) {
	e := firebasetest.New(t)
	u, _ := url.Parse(e.URL)
	t.Setenv(firebase.EnvEmulatorHost, u.Host)
	app, err := fb.NewApp(t.Context(), &fb.Config{ProjectID: e.ProjectID})
	if err != nil {
		t.Fatal(err)
	}
	c, err := app.Auth(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	rec, err := c.CreateUser(t.Context(), (&auth.UserToCreate{}).Email("emu@example.com").Password("password1"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.GetUser(t.Context(), rec.UID); err != nil || got.Email != "emu@example.com" {
		t.Fatalf("GetUser: %v", err)
	}
}

var kid40 = regexp.MustCompile(`^[0-9a-f]{40}$`)

func get(t *testing.T, c *http.Client, u string) (*http.Response, []byte) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func post(t *testing.T, c *http.Client, u, ctype, body string, hdr ...string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, u, strings.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func errMessage(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	s, _ := e["message"].(string)
	return s
}

// TestWireFormat checks what the production endpoints send, at Google's
// URLs.
func TestWireFormat(t *testing.T) {
	e := firebasetest.New(t)
	c := e.GoogleClient()
	for _, u := range []string{firebase.DefaultIDTokenCertURL, firebase.DefaultSessionCookieCertURL} {
		resp, body := get(t, c, u)
		if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Cache-Control"), "max-age=") {
			t.Fatalf("%s: %d %q", u, resp.StatusCode, resp.Header.Get("Cache-Control"))
		}
		var m map[string]string
		if err := json.Unmarshal(body, &m); err != nil || len(m) == 0 {
			t.Fatalf("%s: not a certificate map: %s", u, body)
		}
		for kid, p := range m {
			blk, _ := pem.Decode([]byte(p))
			if !kid40.MatchString(kid) || blk == nil || blk.Type != "CERTIFICATE" {
				t.Fatalf("kid %q block %v", kid, blk)
			}
			if _, err := x509.ParseCertificate(blk.Bytes); err != nil {
				t.Fatal(err)
			}
		}
	}
	_, _ = e.CreateUser(firebasetest.NewUser{Email: "w@example.com", Password: "password1"})
	signIn := firebase.DefaultIdentityToolkitURL + "/v1/accounts:signInWithPassword?key="
	st, m := post(t, c, signIn, "application/json", `{"email":"w@example.com","password":"password1","returnSecureToken":true}`)
	st2, m2 := post(t, c, signIn+e.APIKey, "application/json", `{"email":"w@example.com","password":"password1","returnSecureToken":true}`)
	if st != 403 || st2 != 200 {
		t.Fatalf("sign-in without key %d, with key %d", st, st2)
	}
	if m2["kind"] != "identitytoolkit#VerifyPasswordResponse" || m2["expiresIn"] != "3600" || m2["registered"] != true {
		t.Fatalf("sign-in response %v", m2)
	}
	_ = m
	idt := m2["idToken"].(string)
	parts := strings.Split(idt, ".")
	var h, cl map[string]any
	hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
	cb, _ := base64.RawURLEncoding.DecodeString(parts[1])
	_ = json.Unmarshal(hb, &h)
	_ = json.Unmarshal(cb, &cl)
	if h["alg"] != "RS256" || h["typ"] != "JWT" || !kid40.MatchString(h["kid"].(string)) || len(h) != 3 {
		t.Fatalf("header %v", h)
	}
	for _, k := range []string{"iss", "aud", "auth_time", "user_id", "sub", "iat", "exp", "email", "email_verified", "firebase"} {
		if _, ok := cl[k]; !ok {
			t.Errorf("claim %s missing: %v", k, cl)
		}
	}
	if _, ok := cl["jti"]; ok {
		t.Error("Firebase ID tokens carry no jti")
	}
	if cl["exp"].(float64)-cl["iat"].(float64) != 3600 || cl["iss"] != e.IDTokenIssuer() || cl["aud"] != e.ProjectID {
		t.Errorf("claims %v", cl)
	}
	st, m = post(t, c, signIn+e.APIKey, "application/json", `{"email":"w@example.com","password":"nope","returnSecureToken":true}`)
	if st != 400 || errMessage(m) != "INVALID_LOGIN_CREDENTIALS" {
		t.Fatalf("wrong password: %d %v", st, m)
	}
	refresh := firebase.DefaultSecureTokenURL + "/v1/token?key=" + e.APIKey
	st, m = post(t, c, refresh, "application/x-www-form-urlencoded", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {m2["refreshToken"].(string)}}.Encode())
	if st != 200 || m["token_type"] != "Bearer" || m["expires_in"] != "3600" || m["refresh_token"] != m2["refreshToken"] || m["id_token"] != m["access_token"] || m["user_id"] != m2["localId"] {
		t.Fatalf("refresh: %d %v", st, m)
	}
	st, m = post(t, c, refresh, "application/x-www-form-urlencoded", "grant_type=refresh_token&refresh_token=x")
	if st != 400 || errMessage(m) != "INVALID_REFRESH_TOKEN" {
		t.Fatalf("bad refresh: %d %v", st, m)
	}
	admin := firebase.DefaultIdentityToolkitURL + "/v1/projects/" + e.ProjectID + "/accounts:lookup"
	if st, m = post(t, c, admin, "application/json", `{"localId":["x"]}`); st != 401 {
		t.Fatalf("admin call without credentials: %d %v", st, m)
	}
	if st, _ = post(t, c, admin, "application/json", `{"localId":["x"]}`, "Authorization", "Bearer t"); st != 200 {
		t.Fatalf("admin call: %d", st)
	}
	// The emulator-style paths answer too.
	if st, _ = post(t, http.DefaultClient, e.URL+"/identitytoolkit.googleapis.com/v1/accounts:signInWithPassword?key="+e.APIKey, "application/json", `{"email":"w@example.com","password":"password1"}`); st != 200 {
		t.Fatalf("emulator-style path: %d", st)
	}
}

func TestLegacyErrorCodesAndSignUp(t *testing.T) {
	e := firebasetest.New(t, firebasetest.Options{LegacyErrorCodes: true})
	c := e.GoogleClient()
	base := firebase.DefaultIdentityToolkitURL + "/v1/accounts:"
	st, m := post(t, c, base+"signUp?key="+e.APIKey, "application/json", `{"email":"s@example.com","password":"password1","returnSecureToken":true}`)
	if st != 200 || m["kind"] != "identitytoolkit#SignupNewUserResponse" || m["idToken"] == nil {
		t.Fatalf("signUp: %d %v", st, m)
	}
	for body, want := range map[string]string{
		`{"email":"s@example.com","password":"password1"}`: "EMAIL_EXISTS",
		`{"email":"t@example.com","password":"12"}`:        "WEAK_PASSWORD : Password should be at least 6 characters",
		`{"email":"nope","password":"password1"}`:          "INVALID_EMAIL",
	} {
		if _, m := post(t, c, base+"signUp?key="+e.APIKey, "application/json", body); errMessage(m) != want {
			t.Errorf("signUp %s: %v, want %s", body, m, want)
		}
	}
	for body, want := range map[string]string{
		`{"email":"s@example.com","password":"wrong-one"}`: "INVALID_PASSWORD",
		`{"email":"x@example.com","password":"wrong-one"}`: "EMAIL_NOT_FOUND",
	} {
		if _, m := post(t, c, base+"signInWithPassword?key="+e.APIKey, "application/json", body); errMessage(m) != want {
			t.Errorf("sign-in %s: %v, want %s", body, m, want)
		}
	}
}
