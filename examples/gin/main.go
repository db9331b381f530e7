// Command gin serves authport behind gin: the /auth handlers, a group any
// signed-in user may enter, a group for the "admin" role, and a handler
// that checks the role itself.
//
//	go run .                                         # DIY on a throw-away SQLite file
//	AUTHPORT_EMULATE=1 AUTH_PROVIDER=oidc go run .   # a provider's emulator, demo accounts printed
//
// gin has no adapter for net/http middleware; wrap (below) is the glue.
package main

import (
	"context"
	"log"
	"net/http"
	"os"

	"github.com/gin-gonic/gin"

	"github.com/authport/authport"
	"github.com/authport/authport/examples/internal/exampleenv"
)

// wrap runs net/http middleware (Web.Middleware, Require, RequireRole) as
// a gin handler: the rest of the chain runs inside it with the request it
// passes on (which carries the session); if the middleware answered
// instead (401, 403, a redirect), the chain stops there.
func wrap(mw func(http.Handler) http.Handler) gin.HandlerFunc {
	return func(c *gin.Context) {
		mw(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			c.Request = r
			c.Next()
		})).ServeHTTP(c.Writer, c.Request)
		c.Abort() // the chain ran inside, or must not run at all
	}
}

func routes(web *authport.Web) http.Handler {
	r := gin.New()
	r.Use(gin.Recovery(), wrap(web.Middleware)) // attaches the session; never blocks
	r.Any("/auth/*path", gin.WrapH(web.Handler()))

	// Group protection: everything under /app needs a session.
	app := r.Group("/app", wrap(authport.Require()))
	app.GET("/me", func(c *gin.Context) {
		s, _ := authport.SessionFrom(c.Request.Context())
		c.JSON(http.StatusOK, gin.H{"user_id": s.UserID, "roles": s.Roles})
	})
	// Role-guarded group.
	admin := r.Group("/admin", wrap(authport.RequireRole("admin")))
	admin.GET("/", func(c *gin.Context) { c.String(http.StatusOK, "admin area\n") })
	// Handler-level check, for a route whose guard depends on the request.
	r.GET("/reports", func(c *gin.Context) {
		if err := authport.Check(c.Request.Context(), authport.Role("admin")); err != nil {
			authport.WriteError(c.Writer, c.Request, err) // 401 or 403, as every guard answers
			c.Abort()
			return
		}
		c.String(http.StatusOK, "reports\n")
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
