package clerk_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/authport/authport"
	"github.com/authport/authport/clerk"
	"github.com/authport/authport/clerk/clerktest"
)

// An application protects its routes with authport's middleware; the
// "__session" cookie Clerk's frontend sets (or an Authorization: Bearer
// header) is verified offline. The emulator stands in for Clerk.
func Example() {
	srv := clerktest.Start(clerktest.Options{})
	defer srv.Close()
	ctx := context.Background()

	// In production: clerk.ConfigFromEnv(nil) then clerk.New(ctx, cfg), or
	// authport.FromEnv(ctx) with AUTH_PROVIDER=clerk.
	a, err := clerk.New(ctx, srv.Config())
	if err != nil {
		panic(err)
	}
	web, err := authport.NewWeb(a, authport.Config{BearerOnly: true})
	if err != nil {
		panic(err)
	}
	app := web.Middleware(authport.Require()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := authport.SessionFrom(r.Context())
		fmt.Fprintf(w, "hello %s user, session %s", s.Provider, s.Status)
	})))

	// A user signs in on Clerk's frontend, which sets __session.
	srv.CreateUser(clerktest.NewUser{Email: "ada@example.com", Password: "correct-horse-42"})
	tok, _ := srv.SignIn("ada@example.com", "correct-horse-42")

	req := httptest.NewRequest("GET", "/dashboard", nil)
	req.AddCookie(&http.Cookie{Name: clerk.SessionCookie, Value: tok.AccessToken})
	rec := httptest.NewRecorder()
	app.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Body.String())

	rec = httptest.NewRecorder()
	app.ServeHTTP(rec, httptest.NewRequest("GET", "/dashboard", nil))
	fmt.Println(rec.Code)
	// Output:
	// 200 hello clerk user, session active
	// 401
}

// A session revoked at Clerk keeps verifying offline until its 60 s token
// expires; strict verification asks the Backend API and sees it at once.
func ExampleAuthenticator_VerifyStrict() {
	srv := clerktest.Start(clerktest.Options{})
	defer srv.Close()
	ctx := context.Background()
	a, _ := clerk.New(ctx, srv.Config())

	srv.CreateUser(clerktest.NewUser{Email: "ada@example.com", Password: "correct-horse-42"})
	tok, _ := srv.SignIn("ada@example.com", "correct-horse-42")
	cred := authport.Credential{Token: tok.AccessToken, Source: authport.SourceCookie, Cookie: clerk.SessionCookie}

	srv.RevokeSession(tok.SessionID) // e.g. from the Clerk dashboard

	_, err := a.Verify(ctx, cred)
	fmt.Println("offline:", err == nil, "for up to", a.Describe().RevocationDelay)
	_, err = a.VerifyStrict(ctx, cred)
	fmt.Println("strict:", errors.Is(err, authport.ErrRevoked))
	// Output:
	// offline: true for up to 1m5s
	// strict: true
}
