package diy_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"
	"path/filepath"

	"github.com/authport/authport"
	"github.com/authport/authport/diy"
	"github.com/authport/authport/diy/sqlitestore"
)

func ExampleNew() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "diy-example-")
	defer os.RemoveAll(dir)

	// SQLite: a file path is all the configuration.
	store, err := sqlitestore.Open(ctx, filepath.Join(dir, "auth.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	b, err := diy.New(ctx, diy.Config{Store: store, Logger: quietLogger()})
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	u, err := b.CreateUser(ctx, "ada@example.com", "correct horse battery staple", "admin")
	if err != nil {
		log.Fatal(err)
	}
	tok, err := b.SignInWithPassword(ctx, " Ada@Example.COM", "correct horse battery staple")
	if err != nil {
		log.Fatal(err)
	}
	s, err := b.Verify(ctx, authport.Credential{Token: tok.AccessToken, Source: authport.SourceHeader})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.UserID == u.ID, s.Email, s.Roles)
	// Output: true ada@example.com [admin]
}

func ExampleBackend_Pages() {
	ctx := context.Background()
	store, err := sqlitestore.Open(ctx, filepath.Join(os.TempDir(), "diy-pages-example.db"))
	if err != nil {
		log.Fatal(err)
	}
	b, err := diy.New(ctx, diy.Config{Store: store, SessionMode: diy.ModeJWT})
	if err != nil {
		log.Fatal(err)
	}
	web, err := authport.NewWeb(b, authport.Config{
		CookieKeys: [][]byte{[]byte("an example key of 32 bytes......")},
		Templates:  b.WebTemplates(),
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", b.Pages(web))                        // sign-in, sign-up, sign-out pages
	mux.Handle("GET /.well-known/jwks.json", b.JWKSHandler()) // keys for other services
	mux.Handle("/app/", web.Middleware(authport.Require()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := authport.SessionFrom(r.Context())
		fmt.Fprintln(w, "hello", s.Email)
	}))))
	_ = http.ListenAndServe // http.ListenAndServe("localhost:8080", mux)
}

func ExampleBackend_CreateUserWithAccess() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "diy-example-")
	defer os.RemoveAll(dir)
	store, err := sqlitestore.Open(ctx, filepath.Join(dir, "auth.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	b, err := diy.New(ctx, diy.Config{Store: store, Logger: quietLogger()})
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	u, err := b.CreateUserWithAccess(ctx, "ada@example.com", "correct horse battery staple", diy.Access{
		Roles: []string{"member"}, Permissions: []string{"reports:read"}, OrgID: "org_acme", OrgSlug: "acme",
	})
	if err != nil {
		log.Fatal(err)
	}
	verify := func() (*authport.Session, error) {
		tok, err := b.SignInWithPassword(ctx, "ada@example.com", "correct horse battery staple")
		if err != nil {
			return nil, err
		}
		return b.Verify(ctx, authport.Credential{Token: tok.AccessToken, Source: authport.SourceHeader})
	}
	s, err := verify()
	if err != nil {
		log.Fatal(err)
	}
	// The requirements behind authport.RequirePermission and RequireOrg.
	fmt.Println(s.Permissions, s.OrgID, s.OrgSlug, authport.Permission("reports:read")(s) == nil, authport.Org("org_acme")(s) == nil)

	// A change of access ends the user's sessions; the next one has it.
	if err := b.SetPermissions(ctx, u.ID, []string{"reports:read", "reports:write"}); err != nil {
		log.Fatal(err)
	}
	if s, err = verify(); err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.Permissions)
	// Output:
	// [reports:read] org_acme acme true true
	// [reports:read reports:write]
}
