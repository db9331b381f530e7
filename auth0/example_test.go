package auth0_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	jwtmiddleware "github.com/auth0/go-jwt-middleware/v2"
	"github.com/auth0/go-jwt-middleware/v2/validator"

	"github.com/authport/authport"
	"github.com/authport/authport/auth0"
	"github.com/authport/authport/auth0/auth0test"
)

// Example signs a user in with the password-realm grant and verifies the
// access token. The emulated tenant stands in for Auth0; in production the
// Config is auth0.Config{Domain: "example.eu.auth0.com", Audiences:
// []string{"https://api.example.com"}, ClientID: …, ClientSecret: …,
// RolesClaim: "https://example.com/roles"} or comes from authport.FromEnv.
func Example() {
	ctx := context.Background()
	tenant := auth0test.NewServer(auth0test.Options{})
	defer tenant.Close()
	_, _ = tenant.CreateUser(auth0test.NewUser{
		Email: "ada@example.com", Password: "correct horse battery",
		Roles: []string{"admin"}, Permissions: []string{"read:reports"},
	})

	a, err := auth0.New(ctx, tenant.Config())
	if err != nil {
		fmt.Println(err)
		return
	}
	tok, err := a.SignInWithPassword(ctx, "ada@example.com", "correct horse battery")
	if err != nil {
		fmt.Println(err)
		return
	}
	s, err := a.Verify(ctx, authport.Credential{Token: tok.AccessToken, Source: authport.SourceHeader})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s.Provider, strings.HasPrefix(s.UserID, "auth0|"), s.Roles, s.Permissions)
	// Output: auth0 true [admin] [read:reports]
}

// Example_jwtmiddleware migrates an API built on go-jwt-middleware: only
// the ValidateToken function passed to jwtmiddleware.New changes.
func Example_jwtmiddleware() {
	ctx := context.Background()
	tenant := auth0test.NewServer(auth0test.Options{})
	defer tenant.Close()
	u, _ := tenant.CreateUser(auth0test.NewUser{Email: "ada@example.com", Password: "correct horse battery"})
	token, _ := tenant.Mint(auth0test.MintRequest{UserID: u.ID})

	a, _ := auth0.New(ctx, tenant.Config())
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims := r.Context().Value(jwtmiddleware.ContextKey{}).(*validator.ValidatedClaims)
		fmt.Fprint(w, claims.RegisteredClaims.Subject == u.ID, claims.CustomClaims.(*auth0.Claims).HasScope("openid"))
	})
	h := jwtmiddleware.New(a.ValidateToken).CheckJWT(api) // was: jwtmiddleware.New(jwtValidator.ValidateToken)

	for _, bearer := range []string{token, "forged.token.value"} {
		req := httptest.NewRequest(http.MethodGet, "/api/reports", nil)
		req.Header.Set("Authorization", "Bearer "+bearer)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		fmt.Println(rec.Code, rec.Body.String())
	}
	// Output:
	// 200 true true
	// 401 {"message":"JWT is invalid."}
}

func ExampleAuthenticator_LogoutURL() {
	a, _ := auth0.New(context.Background(), auth0.Config{
		Domain: "example.eu.auth0.com", Audiences: []string{"https://api.example.com"}, ClientID: "abc123",
	})
	// authport.Web's POST /logout does this for browsers, with the
	// absolute URL of Config.AfterLogoutPath.
	u, _ := a.LogoutURL(context.Background(), nil, "https://app.example.com/")
	fmt.Println(u)
	// Output: https://example.eu.auth0.com/v2/logout?client_id=abc123&returnTo=https%3A%2F%2Fapp.example.com%2F
}
