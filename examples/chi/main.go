// Command chi serves authport behind the chi router: the /auth handlers,
// a subtree any signed-in user may see, a subtree for the "admin" role, and
// a handler that checks the role itself.
//
//	go run .                                         # DIY on a throw-away SQLite file
//	AUTHPORT_EMULATE=1 AUTH_PROVIDER=oidc go run .   # a provider's emulator, demo accounts printed
//
// chi takes net/http middleware as it is: no glue.
package main

import (
	"context"
	"encoding/json"
	"log"
	"net/http"
	"os"

	"github.com/go-chi/chi/v5"

	"github.com/authport/authport"
	"github.com/authport/authport/examples/internal/exampleenv"
)

func routes(web *authport.Web) http.Handler {
	r := chi.NewRouter()
	r.Use(web.Middleware) // attaches the session; never blocks
	r.Handle("/auth/*", web.Handler())

	// Layout-route protection: everything under /app needs a session.
	r.Route("/app", func(r chi.Router) {
		r.Use(authport.Require())
		r.Get("/me", func(w http.ResponseWriter, r *http.Request) {
			s, _ := authport.SessionFrom(r.Context())
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"user_id": s.UserID, "roles": s.Roles})
		})
	})
	// Role-guarded subtree.
	r.Route("/admin", func(r chi.Router) {
		r.Use(authport.RequireRole("admin"))
		r.Get("/", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("admin area\n")) })
	})
	// Handler-level check, for a route whose guard depends on the request.
	r.Get("/reports", func(w http.ResponseWriter, r *http.Request) {
		if err := authport.Check(r.Context(), authport.Role("admin")); err != nil {
			authport.WriteError(w, r, err) // 401 or 403, as every guard answers
			return
		}
		_, _ = w.Write([]byte("reports\n"))
	})
	return r
}

func main() {
	env, err := exampleenv.Open(context.Background(), nil, authport.Config{
		Insecure: true, // plain HTTP on loopback for the demo; serve TLS and drop this in production
	}, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer env.Close()
	addr := os.Getenv("ADDR")
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	log.Printf("%s on http://%s (try /app/me, /admin/, /reports, /auth/login)", env.Provider, addr)
	env.PrintAccounts(os.Stderr)
	log.Fatal(http.ListenAndServe(addr, routes(env.Web)))
}
