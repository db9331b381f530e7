package workos_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/authport/authport"
	"github.com/authport/authport/workos"
	"github.com/authport/authport/workos/workostest"
)

// FuzzVerify checks that no input makes Verify panic, pass without a
// session, or fail with a kind other than the credential kinds.
func FuzzVerify(f *testing.F) {
	emu, err := workostest.Start(workostest.Options{})
	if err != nil {
		f.Fatal(err)
	}
	defer emu.Close()
	id, _ := emu.CreateUser(workostest.NewUser{Email: "fuzz@example.com", Password: pw})
	a, err := newAdapter(emu)
	if err != nil {
		f.Fatal(err)
	}
	tok, err := emu.SignIn(f.Context(), "fuzz@example.com", pw)
	if err != nil {
		f.Fatal(err)
	}
	good := tok.AccessToken
	for _, s := range []string{"", good, good + ".", strings.ToUpper(good), "eyJ.eyJ.", "...", "\x00", strings.Repeat("a.", 5000),
		good[:len(good)/2], "Bearer " + good, good + "\n", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := a.Verify(t.Context(), authport.Credential{Token: in, Source: authport.SourceHeader})
		if err == nil {
			if s == nil || s.UserID != id {
				t.Fatalf("accepted %q as %+v", in, s)
			}
			return
		}
		switch authport.KindOf(err) {
		case authport.ErrInvalidCredential, authport.ErrExpired, authport.ErrNoCredential, authport.ErrRevoked:
		default:
			t.Fatalf("kind %v for %q: %v", authport.KindOf(err), in, err)
		}
	})
}

// TestHostileInput feeds every method malformed values; none may panic or
// pass.
func TestHostileInput(t *testing.T) {
	f := setup(t)
	ctx := t.Context()
	weird := []string{"", "\x00", strings.Repeat("x", 70000), "\xff\xfe", "a@b", "<script>@x.y", "'; DROP TABLE users; --@x.y", "user@example.com\r\nX: y"}
	for _, w := range weird {
		if _, err := f.a.SignInWithPassword(ctx, w, w); err == nil {
			t.Errorf("sign-in with %q passed", w)
		}
		if _, err := f.a.SignUp(ctx, w, w); err == nil && w != "a@b" {
			t.Errorf("sign-up with %q passed", w)
		}
		if _, err := f.a.Refresh(ctx, w); err == nil {
			t.Errorf("refresh with %q passed", w)
		}
		if _, err := f.a.SwitchOrganization(ctx, w, w); err == nil {
			t.Errorf("switch with %q passed", w)
		}
		if _, err := f.a.CompleteEmailVerification(ctx, w, w); err == nil {
			t.Errorf("email verification with %q passed", w)
		}
		if _, err := f.a.CompleteOrganizationSelection(ctx, w, w); err == nil {
			t.Errorf("organisation selection with %q passed", w)
		}
		if _, err := f.a.Exchange(ctx, authport.Callback{Query: url.Values{"code": {w}, "state": {w}}, CodeVerifier: w}); err == nil {
			t.Errorf("exchange with %q passed", w)
		}
		_, _ = f.a.AuthorizeURL(ctx, authport.AuthorizeRequest{RedirectURI: w, State: w, CodeChallenge: w, Organization: w, ScreenHint: w})
		_, _ = f.a.LogoutURL(ctx, &authport.Session{SessionID: w}, w)
		_ = f.a.Revoke(ctx, &authport.Session{SessionID: w}, &authport.Tokens{AccessToken: w})
	}
	_ = f.a.Revoke(ctx, nil, nil)
	if _, err := f.a.Exchange(ctx, authport.Callback{}); err == nil {
		t.Error("empty callback passed")
	}
}

// FuzzAuthenticateEndpoint checks that the emulator answers any body to
// /user_management/authenticate with a 4xx JSON error or a 200, never a
// 5xx or a dropped connection.
func FuzzAuthenticateEndpoint(f *testing.F) {
	emu, err := workostest.Start(workostest.Options{})
	if err != nil {
		f.Fatal(err)
	}
	defer emu.Close()
	emu.CreateUser(workostest.NewUser{Email: "fz@example.com", Password: pw})
	pre := `{"client_id":"` + emu.ClientID + `","client_secret":"` + emu.APIKey + `",`
	for _, s := range []string{
		pre + `"grant_type":"password","email":"fz@example.com","password":"` + pw + `"}`,
		pre + `"grant_type":"refresh_token","refresh_token":[1]}`,
		pre + `"grant_type":"authorization_code","code":null,"code_verifier":{}}`,
		pre + `"grant_type":"urn:workos:oauth:grant-type:organization-selection","pending_authentication_token":"x","organization_id":"y"}`,
		pre + `"grant_type":"urn:workos:oauth:grant-type:email-verification:code","pending_authentication_token":"x","code":"1"}`,
		`{}`, `[]`, `null`, `"x"`, `{"a":`, "\xff",
	} {
		f.Add(s)
	}
	client := &http.Client{}
	f.Fuzz(func(t *testing.T, body string) {
		res, err := client.Post(emu.URL+"/user_management/authenticate", "application/json", bytes.NewBufferString(body))
		if err != nil {
			t.Fatalf("transport error (handler panic?): %v", err)
		}
		res.Body.Close()
		if res.StatusCode >= 500 {
			t.Fatalf("status %d for %q", res.StatusCode, body)
		}
		if res.StatusCode != 200 && !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
			t.Fatalf("error without a JSON body for %q", body)
		}
	})
}

func newAdapter(emu *workostest.Emulator) (*workos.Authenticator, error) {
	return workos.New(context.Background(), emu.Config())
}
