package supabase_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/authport/authport"
	"github.com/authport/authport/supabase"
	"github.com/authport/authport/supabase/supabasetest"
)

// A Supabase project's users sign in, and the application verifies their
// access tokens offline. The emulator stands in for the project.
func Example() {
	emu, err := supabasetest.Start(supabasetest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer emu.Close()
	emu.CreateUser(supabasetest.User{Email: "ada@example.com", Password: "correct horse", Roles: []string{"admin"}})

	ctx := context.Background()
	a, err := supabase.New(ctx, supabase.Config{URL: emu.URL, AnonKey: emu.AnonKey})
	if err != nil {
		log.Fatal(err)
	}
	tok, err := a.SignInWithPassword(ctx, "ada@example.com", "correct horse")
	if err != nil {
		log.Fatal(err)
	}
	s, err := a.Verify(ctx, authport.Credential{Token: tok.AccessToken, Source: authport.SourceHeader})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.Provider, s.Email, s.Roles)

	var c *supabase.Claims // Supabase's own claims
	if s.As(&c) {
		fmt.Println(c.Role, c.AAL, c.AMR[0].Method)
	}
	// Output:
	// supabase ada@example.com [admin]
	// authenticated aal1 password
}

// Configured from SUPABASE_URL and SUPABASE_ANON_KEY (plus
// SUPABASE_JWT_SECRET while legacy HS256 tokens are still live), the
// adapter protects routes like any other.
func Example_fromEnv() {
	emu, err := supabasetest.Start(supabasetest.Options{Mode: supabasetest.ModeMigration})
	if err != nil {
		log.Fatal(err)
	}
	defer emu.Close()
	uid, _ := emu.CreateUser(supabasetest.User{Email: "bob@example.com", Password: "pw-123456"})
	legacy, _ := emu.Mint(supabasetest.MintOptions{UserID: uid, Legacy: true}) // HS256, legacy secret
	modern, _ := emu.Mint(supabasetest.MintOptions{UserID: uid})               // ES256, JWKS

	env := emu.Env() // AUTH_PROVIDER, SUPABASE_URL, SUPABASE_ANON_KEY, SUPABASE_JWT_SECRET, ...
	a, err := authport.FromEnvFunc(context.Background(), func(k string) string { return env[k] })
	if err != nil {
		log.Fatal(err)
	}
	web, err := authport.NewWeb(a, authport.Config{BearerOnly: true})
	if err != nil {
		log.Fatal(err)
	}
	h := web.Middleware(authport.Require()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := authport.SessionFrom(r.Context())
		fmt.Fprint(w, s.Email)
	})))
	for _, tok := range []string{legacy, modern, "forged"} {
		req := httptest.NewRequest("GET", "/api/me", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		fmt.Println(rec.Code, rec.Body.String())
	}
	// Output:
	// 200 bob@example.com
	// 200 bob@example.com
	// 401 {"error":"invalid_token","error_description":"the credential is not valid"}
}
