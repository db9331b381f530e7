package firebase_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	fb "firebase.google.com/go/v4"
	"firebase.google.com/go/v4/auth"

	"github.com/authport/authport"
	"github.com/authport/authport/firebase"
	"github.com/authport/authport/firebase/firebasetest"
)

// sdkClient builds the official Admin SDK client in production mode against
// e: its admin calls go through e.ClientOptions, and its hard-coded
// certificate fetches reach e through the transport TestMain installed.
// Signature verification stays fully on.
func sdkClient(t testing.TB, e *firebasetest.Emulator) *auth.Client {
	t.Helper()
	ctx := context.Background()
	app, err := fb.NewApp(ctx, &fb.Config{ProjectID: e.ProjectID}, e.ClientOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	c, err := app.Auth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// verdict is what the test expects of one token.
type verdict int

const (
	bothAccept verdict = iota
	bothReject
	// stricter: the SDK accepts, the adapter refuses (listed in the
	// package doc).
	stricter
	// lenient: the SDK refuses an RFC 7519-legal form the conformance
	// suite requires every adapter to accept (listed in the package doc).
	lenient
)

func (v verdict) String() string {
	return [...]string{"both accept", "both reject", "adapter stricter", "adapter more lenient (documented)"}[v]
}

type diffCase struct {
	name string
	tok  string
	want verdict
	// sdkSays, if set, must appear in the SDK's error (proves what it
	// checked).
	sdkSays string
}

func b64json(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// TestDifferential checks the adapter against the Admin SDK's own
// VerifyIDToken and VerifySessionCookie on the same tokens: they agree on
// every valid token (same user, times, Firebase info and claims), the
// adapter refuses every token the SDK refuses except the two RFC 7519
// forms named in the package doc, and it is stricter exactly where the
// package doc says.
func TestDifferential(t *testing.T) {
	e := signedEmulator(t)
	sdk := sdkClient(t, e)
	cfg := e.Config()
	cfg.CacheSize = -1
	a, err := firebase.New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	u, err := e.CreateUser(firebasetest.NewUser{Email: "diff@example.com", Password: "diff-password", EmailVerified: true,
		Roles: []string{"admin"}, Permissions: []string{"posts:read"}, OrgID: "org_1", Name: "Diff"})
	if err != nil {
		t.Fatal(err)
	}
	signed, err := e.SignIn(ctx, u.Email, "diff-password")
	if err != nil {
		t.Fatal(err)
	}
	cookie, err := sdk.SessionCookie(ctx, signed.IDToken, time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	var cases []diffCase
	add := func(name string, want verdict, tok string) {
		cases = append(cases, diffCase{name: name, tok: tok, want: want})
	}
	add("sign-in ID token", bothAccept, signed.IDToken)
	add("SDK-minted session cookie", bothAccept, cookie)

	now := time.Now()
	for _, kind := range []struct {
		name   string
		cookie bool
	}{{"id", false}, {"cookie", true}} {
		f := e.Forger(kind.cookie)
		sign := func(h, c map[string]any) string {
			tok, err := f.SignRaw(b64json(h), b64json(c))
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}
		with := func(mod func(h, c map[string]any)) string {
			h, c := f.Header(), f.Claims(u.ID)
			mod(h, c)
			return sign(h, c)
		}
		p := kind.name + ": "
		add(p+"valid", bothAccept, with(func(h, c map[string]any) {}))
		add(p+"custom claims of every JSON type", bothAccept, with(func(h, c map[string]any) {
			c["tier"], c["n"], c["obj"], c["nil"] = "gold", 3.5, map[string]any{"a": []any{1.0, "b"}}, nil
		}))
		add(p+"tenant", bothAccept, with(func(h, c map[string]any) {
			c["firebase"] = map[string]any{"sign_in_provider": "google.com", "tenant": "tenant-1", "identities": map[string]any{"google.com": []any{"123"}}}
		}))
		add(p+"no typ", bothAccept, with(func(h, c map[string]any) { delete(h, "typ") }))
		add(p+"sub of 128 characters", bothAccept, with(func(h, c map[string]any) { c["sub"] = strings.Repeat("u", 128) }))
		add(p+"exp 10 s ago (inside both leeways)", bothAccept, with(func(h, c map[string]any) { c["exp"] = now.Add(-10 * time.Second).Unix() }))

		add(p+"expired 10 min ago", bothReject, with(func(h, c map[string]any) {
			c["exp"], c["iat"], c["auth_time"] = now.Add(-10*time.Minute).Unix(), now.Add(-70*time.Minute).Unix(), now.Add(-70*time.Minute).Unix()
		}))
		add(p+"issued 10 min in the future", bothReject, with(func(h, c map[string]any) {
			c["iat"], c["exp"] = now.Add(10*time.Minute).Unix(), now.Add(70*time.Minute).Unix()
		}))
		add(p+"no exp", bothReject, with(func(h, c map[string]any) { delete(c, "exp") }))
		add(p+"wrong audience", bothReject, with(func(h, c map[string]any) { c["aud"] = "other-project" }))
		add(p+"no audience", bothReject, with(func(h, c map[string]any) { delete(c, "aud") }))
		add(p+"wrong issuer", bothReject, with(func(h, c map[string]any) { c["iss"] = "https://securetoken.google.com/other-project" }))
		add(p+"issuer with a trailing slash", bothReject, with(func(h, c map[string]any) { c["iss"] = c["iss"].(string) + "/" }))
		add(p+"empty sub", bothReject, with(func(h, c map[string]any) { c["sub"] = "" }))
		add(p+"no sub", bothReject, with(func(h, c map[string]any) { delete(c, "sub") }))
		add(p+"sub of 129 characters", bothReject, with(func(h, c map[string]any) { c["sub"] = strings.Repeat("u", 129) }))
		add(p+"sub not a string", bothReject, with(func(h, c map[string]any) { c["sub"] = 42 }))
		add(p+"firebase claim not an object", bothReject, with(func(h, c map[string]any) { c["firebase"] = "password" }))
		add(p+"sign_in_provider not a string", bothReject, with(func(h, c map[string]any) {
			c["firebase"] = map[string]any{"sign_in_provider": 7}
		}))
		add(p+"auth_time not a number", bothReject, with(func(h, c map[string]any) { c["auth_time"] = "yesterday" }))
		add(p+"no kid", bothReject, with(func(h, c map[string]any) { delete(h, "kid") }))
		add(p+"unknown kid", bothReject, with(func(h, c map[string]any) { h["kid"] = strings.Repeat("0", 40) }))
		add(p+"alg RS512 header", bothReject, with(func(h, c map[string]any) { h["alg"] = "RS512" }))
		{
			h, c := f.Header(), f.Claims(u.ID)
			h["alg"] = "none"
			add(p+"alg none, unsigned", bothReject, base64.RawURLEncoding.EncodeToString(b64json(h))+"."+base64.RawURLEncoding.EncodeToString(b64json(c))+".")
		}
		{
			fk := e.Keys.Foreign()
			if kind.cookie {
				fk = e.CookieKeys.Foreign()
			}
			tok, err := fk.Sign(map[string]any{"typ": "JWT"}, f.Claims(u.ID))
			if err != nil {
				t.Fatal(err)
			}
			cases = append(cases, diffCase{p + "another key under the trusted kid", tok, bothReject, "failed to verify token signature"})
		}
		good := with(func(h, c map[string]any) {})
		add(p+"signature stripped", bothReject, good[:strings.LastIndexByte(good, '.')+1])
		add(p+"extra segment", bothReject, good+".x")

		// Where the adapter is deliberately stricter than the SDK.
		add(p+"expired 2 min ago (inside the SDK's fixed 5 min, outside 30 s)", stricter, with(func(h, c map[string]any) {
			c["exp"] = now.Add(-2 * time.Minute).Unix()
		}))
		add(p+"issued 2 min in the future", stricter, with(func(h, c map[string]any) {
			c["iat"] = now.Add(2 * time.Minute).Unix()
		}))
		add(p+"no iat", stricter, with(func(h, c map[string]any) { delete(c, "iat") }))
		add(p+"no auth_time", stricter, with(func(h, c map[string]any) { delete(c, "auth_time") }))
		add(p+"auth_time in the future", stricter, with(func(h, c map[string]any) { c["auth_time"] = now.Add(time.Hour).Unix() }))
		add(p+"nbf in the future", stricter, with(func(h, c map[string]any) { c["nbf"] = now.Add(time.Hour).Unix() }))
		add(p+"typ at+jwt", stricter, with(func(h, c map[string]any) { h["typ"] = "at+jwt" }))
		add(p+"jku header", stricter, with(func(h, c map[string]any) { h["jku"] = "https://evil.example/jwks" }))
		add(p+"email not a string", stricter, with(func(h, c map[string]any) { c["email"] = []any{"a@example.com"} }))
		{
			h, c := f.Header(), f.Claims(u.ID)
			cj := b64json(c)
			dup := []byte(`{"sub":"someone-else",` + string(cj[1:]))
			tok, err := f.SignRaw(b64json(h), dup)
			if err != nil {
				t.Fatal(err)
			}
			add(p+"duplicate sub member", stricter, tok)
		}

		// RFC 7519-legal forms the SDK's struct decoding refuses: the
		// adapter refuses them too (never more lenient than the provider).
		add(p+"aud as an array holding the project", bothReject, with(func(h, c map[string]any) { c["aud"] = []string{"other", e.ProjectID} }))
		add(p+"aud as a one-element array", bothReject, with(func(h, c map[string]any) { c["aud"] = []string{e.ProjectID} }))
		add(p+"fractional exp", bothReject, with(func(h, c map[string]any) { c["exp"] = float64(now.Add(time.Hour).Unix()) + 0.5 }))
		add(p+"fractional iat", bothReject, with(func(h, c map[string]any) { c["iat"] = float64(now.Unix()) - 0.5 }))
	}

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			iss := issuerOf(c.tok)
			var (
				want *auth.Token
				serr error
			)
			if iss == e.SessionCookieIssuer() {
				want, serr = sdk.VerifySessionCookie(ctx, c.tok)
			} else {
				want, serr = sdk.VerifyIDToken(ctx, c.tok)
			}
			got, aerr := a.Verify(ctx, authport.Credential{Token: c.tok, Source: authport.SourceHeader})
			var v verdict
			switch {
			case serr == nil && aerr == nil:
				v = bothAccept
			case serr != nil && aerr != nil:
				v = bothReject
			case serr == nil:
				v = stricter
			default:
				v = lenient
			}
			if v != c.want {
				t.Fatalf("%s, want %s (SDK: %v; adapter: %v)", v, c.want, serr, aerr)
			}
			if c.sdkSays != "" && (serr == nil || !strings.Contains(serr.Error(), c.sdkSays)) {
				t.Fatalf("SDK error %v, want one saying %q", serr, c.sdkSays)
			}
			if aerr != nil {
				if k := authport.KindOf(aerr); k != authport.ErrInvalidCredential && k != authport.ErrExpired {
					t.Fatalf("adapter error kind %v, want invalid or expired: %v", k, aerr)
				}
				return
			}
			if v == bothAccept {
				compare(t, got, want)
			}
		})
	}

	t.Run("RandomMutations", func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 2))
		const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.="
		for i := range 300 {
			src := signed.IDToken
			if i%2 == 1 {
				src = cookie
			}
			b := []byte(src)
			for range 1 + r.IntN(3) {
				b[r.IntN(len(b))] = alphabet[r.IntN(len(alphabet))]
			}
			tok := string(b)
			if tok == src {
				continue
			}
			_, serr := sdk.VerifyIDToken(ctx, tok)
			if serr != nil {
				_, serr = sdk.VerifySessionCookie(ctx, tok)
			}
			_, aerr := a.Verify(ctx, authport.Credential{Token: tok, Source: authport.SourceHeader})
			if serr != nil && aerr == nil {
				t.Fatalf("mutation %d: the SDK refused (%v) what the adapter accepted", i, serr)
			}
		}
	})
}

func issuerOf(tok string) string {
	parts := strings.Split(tok, ".")
	if len(parts) < 2 {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		Iss string `json:"iss"`
	}
	_ = json.Unmarshal(b, &c)
	return c.Iss
}

// compare checks that the adapter's session says what the SDK's token says.
func compare(t *testing.T, s *authport.Session, want *auth.Token) {
	t.Helper()
	var got *auth.Token
	if !s.As(&got) {
		t.Fatal("Session.As(*auth.Token) failed")
	}
	if s.UserID != want.UID || got.UID != want.UID || got.Subject != want.Subject {
		t.Errorf("user %q / %q, SDK %q", s.UserID, got.UID, want.UID)
	}
	if got.Issuer != want.Issuer || got.Audience != want.Audience {
		t.Errorf("iss/aud %q %q, SDK %q %q", got.Issuer, got.Audience, want.Issuer, want.Audience)
	}
	if got.Expires != want.Expires || got.IssuedAt != want.IssuedAt || got.AuthTime != want.AuthTime {
		t.Errorf("times exp %d iat %d auth %d, SDK %d %d %d", got.Expires, got.IssuedAt, got.AuthTime, want.Expires, want.IssuedAt, want.AuthTime)
	}
	if s.ExpiresAt.Unix() != want.Expires || s.IssuedAt.Unix() != want.IssuedAt {
		t.Errorf("session times %v %v, SDK %d %d", s.ExpiresAt, s.IssuedAt, want.Expires, want.IssuedAt)
	}
	if !reflect.DeepEqual(got.Firebase, want.Firebase) {
		t.Errorf("firebase %+v, SDK %+v", got.Firebase, want.Firebase)
	}
	if !reflect.DeepEqual(got.Claims, want.Claims) {
		t.Errorf("claims %v, SDK %v", got.Claims, want.Claims)
	}
	if s.Email != want.Claims["email"] {
		t.Errorf("email %q, SDK %v", s.Email, want.Claims["email"])
	}
	if want.Firebase.SignInProvider != "" && (len(s.AuthMethods) == 0 || s.AuthMethods[0] != want.Firebase.SignInProvider) {
		t.Errorf("auth methods %v, SDK sign_in_provider %q", s.AuthMethods, want.Firebase.SignInProvider)
	}
}
