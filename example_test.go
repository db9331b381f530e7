package authport_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/authport/authport"
)

// staticAuth is a stand-in adapter: one token, one user.
type staticAuth struct{}

func (staticAuth) Provider() string { return "static" }

func (staticAuth) Verify(_ context.Context, c authport.Credential) (*authport.Session, error) {
	if c.Token != "good-token" {
		return nil, authport.NewError(authport.ErrInvalidCredential, "static", "verify", "unknown token")
	}
	return &authport.Session{Provider: "static", UserID: "user_1", Roles: []string{"editor"}}, nil
}

func init() {
	// Adapters register themselves like this in their init functions.
	authport.Register("static",
		func(ctx context.Context, u *url.URL) (authport.Authenticator, error) { return staticAuth{}, nil },
		func(ctx context.Context, getenv func(string) string) (authport.Authenticator, error) {
			if getenv("STATIC_KEY") == "" {
				return nil, authport.NewError(authport.ErrMisconfigured, "static", "open", "STATIC_KEY is not set")
			}
			return staticAuth{}, nil
		})
}

func ExampleNewWeb() {
	web, err := authport.NewWeb(staticAuth{}, authport.Config{})
	if err != nil {
		panic(err)
	}
	app := http.NewServeMux()
	app.HandleFunc("/app/", func(w http.ResponseWriter, r *http.Request) {
		s, _ := authport.SessionFrom(r.Context())
		fmt.Fprintf(w, "hello %s", s.UserID)
	})
	mux := http.NewServeMux()
	mux.Handle("/app/", authport.Require()(app))              // the whole subtree
	mux.Handle("/admin/", authport.RequireRole("admin")(app)) // a role on top
	mux.Handle("/auth/", web.Handler())                       // login, logout, session ...
	handler := web.Middleware(mux)                            // reads the credential once

	for _, tc := range []struct{ path, auth, accept string }{
		{"/app/home", "Bearer good-token", ""},
		{"/app/home", "", "application/json"},
		{"/app/home", "", "text/html"},
		{"/app/home", "Basic dXNlcjpwYXNz", ""},
		{"/admin/", "Bearer good-token", ""},
	} {
		r := httptest.NewRequest("GET", tc.path, nil)
		if tc.auth != "" {
			r.Header.Set("Authorization", tc.auth)
		}
		if tc.accept != "" {
			r.Header.Set("Accept", tc.accept)
		}
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, r)
		fmt.Println(strings.TrimSpace(fmt.Sprint(rec.Code, " ", rec.Header().Get("Location"), rec.Header().Get("WWW-Authenticate"), " ", rec.Body.String())))
	}
	// Output:
	// 200  hello user_1
	// 401 Bearer realm="authport" {"error":"unauthorized","error_description":"authentication required"}
	// 303 /auth/login?return_to=%2Fapp%2Fhome
	// 401 Bearer realm="authport", error="invalid_token", error_description="the credential is not valid" {"error":"invalid_token","error_description":"the credential is not valid"}
	// 403 Bearer realm="authport", error="insufficient_scope", error_description="missing role, permission or organisation" {"error":"insufficient_scope","error_description":"missing role, permission or organisation"}
}

func ExampleCheck() {
	handler := func(w http.ResponseWriter, r *http.Request) {
		err := authport.Check(r.Context(), authport.AnyOf(authport.Role("admin"), authport.Role("editor")))
		switch {
		case err == nil:
			fmt.Println("may edit")
		case errors.Is(err, authport.ErrForbidden):
			fmt.Println("forbidden")
		default:
			fmt.Println("not signed in:", authport.KindOf(err).Code())
		}
	}
	r := httptest.NewRequest("GET", "/", nil)
	handler(nil, r.WithContext(authport.WithSession(r.Context(), &authport.Session{UserID: "u", Roles: []string{"editor"}})))
	handler(nil, r.WithContext(authport.WithSession(r.Context(), &authport.Session{UserID: "u"})))
	handler(nil, r)
	// Output:
	// may edit
	// forbidden
	// not signed in: unauthorized
}

func ExampleSafeReturnTo() {
	for _, raw := range []string{"/app/x?y=1", "https://evil.example/", "//evil.example", "/\\evil.example", "/%2F%2Fevil.example", "javascript:alert(1)"} {
		fmt.Printf("%-24q -> %s\n", raw, authport.SafeReturnTo(raw))
	}
	// Output:
	// "/app/x?y=1"             -> /app/x?y=1
	// "https://evil.example/"  -> /
	// "//evil.example"         -> /
	// "/\\evil.example"        -> /
	// "/%2F%2Fevil.example"    -> /
	// "javascript:alert(1)"    -> /
}

func ExampleOpenURL() {
	// The adapter registered itself as "static" in init (see above);
	// binaries usually import _ "github.com/authport/authport/all".
	a, err := authport.OpenURL(context.Background(), "static://tenant.example.com?audience=api")
	fmt.Println(a.Provider(), err)

	_, err = authport.FromEnvFunc(context.Background(), func(k string) string {
		return map[string]string{"AUTH_PROVIDER": "static"}[k]
	})
	fmt.Println(err)
	// Output:
	// static <nil>
	// authport: misconfigured (static open): STATIC_KEY is not set
}

func ExampleSealer() {
	key := make([]byte, authport.CookieKeySize) // use 32 random bytes
	s, err := authport.NewSealer([][]byte{key})
	if err != nil {
		panic(err)
	}
	v, _ := s.Seal(&authport.Tokens{AccessToken: "access", RefreshToken: "refresh"})
	t, err := s.Open(v)
	fmt.Println(t.AccessToken, t.RefreshToken, err)
	_, err = s.Open(v[:len(v)-4])
	fmt.Println(errors.Is(err, authport.ErrInvalidCredential))
	// Output:
	// access refresh <nil>
	// true
}
