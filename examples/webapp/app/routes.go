package app

import (
	"bytes"
	"embed"
	"encoding/json"
	"html/template"
	"io/fs"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"

	"github.com/authport/authport"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

var pages = template.Must(template.New("pages").Funcs(template.FuncMap{
	"join": strings.Join,
}).ParseFS(templateFS, "templates/*.html"))

// pageData is what every page template is executed with.
type pageData struct {
	Title    string
	Path     string
	Session  *authport.Session
	Provider string
	// Caps lists the adapter's capabilities.
	Caps []authport.Capability
	// CanSignUp: the adapter creates accounts from a form.
	CanSignUp bool
	// Redirect: sign-in happens on the provider's hosted page.
	Redirect bool
	// IsAdmin: the session carries the admin role.
	IsAdmin bool
	// Emulated: demo accounts were printed at start-up.
	Emulated bool
	Status   int
}

// routes builds the application's handler. The layout: public pages, a
// protected subtree, a role-guarded page, a JSON API and the auth
// endpoints, all behind the authport middleware.
func (a *App) routes() http.Handler {
	mux := http.NewServeMux()

	// Sign-in, sign-up, callback, sign-out, /auth/session, /auth/refresh.
	// An adapter with ready-made pages (DIY: sign-up, sign-out page)
	// provides them; otherwise authport's handler picks the form or the
	// hosted page from the adapter's capabilities.
	var auth http.Handler = a.Web.Handler()
	if p, ok := a.Auth.(interface {
		Pages(*authport.Web) http.Handler
	}); ok {
		auth = p.Pages(a.Web)
	}
	mux.Handle("/auth/", auth)

	mux.HandleFunc("GET /{$}", a.page("home", "Home"))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", staticHandler(http.FileServerFS(static))))

	// Layout-route protection: everything under /app/ needs a session.
	app := http.NewServeMux()
	app.HandleFunc("GET /app/{$}", a.page("app", "Your app"))
	app.HandleFunc("GET /app/account", a.page("account", "Your account"))
	app.HandleFunc("/app/", a.notFound)
	mux.Handle("/app/", authport.Require()(app))

	// Role guard: 403 for signed-in users without the role.
	mux.Handle("GET /admin", authport.RequireRole("admin")(a.page("admin", "Admin")))

	// JSON API: 401 + WWW-Authenticate for API clients, a redirect to
	// sign-in for browser navigations (authport.Require decides).
	mux.Handle("GET /api/me", authport.Require()(http.HandlerFunc(a.me)))

	// A JavaScript auth server's API on the app's own origin (Better
	// Auth, Auth.js): its cookies become the app's, which the adapter reads.
	if a.authProxy != nil {
		p := httputil.NewSingleHostReverseProxy(a.authProxy)
		p.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, err error) {
			a.logger.Error("auth server unreachable", "error", err)
			http.Error(w, "the authentication server is unavailable", http.StatusBadGateway)
		}
		mux.Handle("/api/auth/", p)
	}

	mux.HandleFunc("/", a.notFound)
	return a.Web.Middleware(a.securityHeaders(mux))
}

// securityHeaders sets the headers every response of the app's own pages
// carries; /auth/ responses set their own.
func (a *App) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/auth/") {
			h := w.Header()
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("Referrer-Policy", "same-origin")
			h.Set("X-Frame-Options", "DENY")
			h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action "+
				a.formAction(r)+"; frame-ancestors 'none'; base-uri 'none'")
		}
		next.ServeHTTP(w, r)
	})
}

// formAction is the CSP form-action source list of a page. The sign-out
// form posts to /auth/logout, which sends a browser on to the provider's
// logout page when the adapter has one (authport.LogoutRedirector), and
// Chromium applies form-action to that redirect too: a signed-in user's
// pages therefore also allow the logout page's origin. LogoutURL only
// builds a URL; it makes no request.
func (a *App) formAction(r *http.Request) string {
	src := "'self'"
	lr, ok := a.Auth.(authport.LogoutRedirector)
	s, signedIn := authport.SessionFrom(r.Context())
	if !ok || !signedIn || !authport.Has(a.Auth, authport.CapLogoutRedirect) {
		return src
	}
	u, err := lr.LogoutURL(r.Context(), s, "")
	if err != nil {
		return src
	}
	if pu, err := url.Parse(u); err == nil && (pu.Scheme == "https" || pu.Scheme == "http") && pu.Host != "" &&
		!strings.ContainsAny(pu.Host, " ;,'") {
		src += " " + pu.Scheme + "://" + pu.Host
	}
	return src
}

// staticHandler lets browsers cache the stylesheet and script briefly.
func staticHandler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		next.ServeHTTP(w, r)
	})
}

func (a *App) data(r *http.Request, title string) *pageData {
	d := &pageData{
		Title:     title,
		Path:      r.URL.Path,
		Provider:  a.Auth.Provider(),
		Caps:      authport.Capabilities(a.Auth),
		CanSignUp: authport.Has(a.Auth, authport.CapSignUp),
		Redirect:  authport.Has(a.Auth, authport.CapRedirectSignIn) && !authport.Has(a.Auth, authport.CapPasswordSignIn),
		Emulated:  len(a.Accounts) > 0,
		Status:    http.StatusOK,
	}
	if s, ok := authport.SessionFrom(r.Context()); ok {
		d.Session = s
		d.IsAdmin = authport.Check(r.Context(), authport.Role("admin")) == nil
	}
	return d
}

// page serves the named template. Pages show who is signed in, so none
// may be stored by a cache: the back button after sign-out must not show
// them.
func (a *App) page(name, title string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a.render(w, r, name, a.data(r, title))
	}
}

func (a *App) render(w http.ResponseWriter, r *http.Request, name string, d *pageData) {
	var buf bytes.Buffer
	if err := a.pages.ExecuteTemplate(&buf, name, d); err != nil {
		a.logger.Error("page template failed", "template", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(d.Status)
	if r.Method != http.MethodHead {
		w.Write(buf.Bytes())
	}
}

func (a *App) notFound(w http.ResponseWriter, r *http.Request) {
	d := a.data(r, "Not found")
	d.Status = http.StatusNotFound
	a.render(w, r, "notfound", d)
}

// meResponse is GET /api/me's body.
type meResponse struct {
	Provider    string   `json:"provider"`
	UserID      string   `json:"user_id"`
	Email       string   `json:"email,omitempty"`
	SessionID   string   `json:"session_id,omitempty"`
	OrgID       string   `json:"org_id,omitempty"`
	Roles       []string `json:"roles"`
	Permissions []string `json:"permissions"`
	ExpiresAt   string   `json:"expires_at,omitempty"`
}

// me answers GET /api/me with the caller's session (authport.Require has
// already refused anonymous callers).
func (a *App) me(w http.ResponseWriter, r *http.Request) {
	s, _ := authport.SessionFrom(r.Context())
	resp := meResponse{
		Provider: s.Provider, UserID: s.UserID, Email: s.Email, SessionID: s.SessionID, OrgID: s.OrgID,
		Roles: s.Roles, Permissions: s.Permissions,
	}
	if resp.Roles == nil {
		resp.Roles = []string{}
	}
	if resp.Permissions == nil {
		resp.Permissions = []string{}
	}
	if !s.ExpiresAt.IsZero() {
		resp.ExpiresAt = s.ExpiresAt.UTC().Format("2006-01-02T15:04:05Z")
	}
	body, _ := json.Marshal(resp)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.Write(append(body, '\n'))
}
