package diy

import (
	"embed"
	"encoding/json"
	"errors"
	"html/template"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/authport/authport"
)

//go:embed templates/*.html
var templateFS embed.FS

// templateFiles are the page templates, in parse order. layout.html
// defines "head" and "foot"; login.html "login" (sign-in and sign-up);
// logout.html "logout"; error.html "error".
var templateFiles = []string{"layout.html", "login.html", "logout.html", "error.html"}

// maxFormBody caps a page's POST body.
const maxFormBody = 16 << 10

func (b *Backend) pageTemplates() (*template.Template, error) {
	if b.pages != nil {
		return b.pages, nil
	}
	t := template.New("diy")
	for _, name := range templateFiles {
		var src []byte
		var err error
		if b.cfg.Templates != nil {
			src, err = fs.ReadFile(b.cfg.Templates, name)
		}
		if b.cfg.Templates == nil || errors.Is(err, fs.ErrNotExist) {
			src, err = templateFS.ReadFile("templates/" + name)
		}
		if err != nil {
			return nil, err
		}
		if _, err := t.New(name).Parse(string(src)); err != nil {
			return nil, err
		}
	}
	for _, n := range []string{"login", "logout", "error"} {
		if t.Lookup(n) == nil {
			return nil, errors.New("diy: Config.Templates must define " + strconv.Quote(n))
		}
	}
	b.pages = t
	return t, nil
}

// WebTemplates returns the DIY pages as templates for the HTTP layer
// (authport.Config.Templates: they define "login" and "error"), so that
// the forms authport.Web renders — after a failed sign-in, say — look like
// the ready pages.
func (b *Backend) WebTemplates() *template.Template { return b.pages }

// Pages returns the ready sign-in, sign-up and sign-out pages, to mount in
// place of web.Handler() at the HTTP layer's base path
// (Config.PagesPath, default "/auth", which must equal
// authport.Config.BasePath):
//
//	web, _ := authport.NewWeb(b, authport.Config{CookieKeys: keys, Templates: b.WebTemplates()})
//	mux.Handle("/auth/", b.Pages(web))
//
// It serves GET /login, /signup and /logout (accessible HTML forms that need
// no JavaScript, overridable through Config.Templates), POST /signup
// (without Config.SignUpSignsIn: the account is created, or not if the
// address is taken, and both lead to the same sign-in page and notice) and
// POST /logout-everywhere (ends every session of the user, then signs this
// browser out). Everything else — POST /login and /logout, /session,
// /refresh — is web's handler. POST requests pass
// http.CrossOriginProtection. Requests carry the client's address and
// user agent to the backend (authport.ClientInfo, as web derives it: the
// connection's address, or with authport.Config.ForwardedForHops the one
// the outermost trusted proxy saw), so per-IP limits apply.
func (b *Backend) Pages(web *authport.Web) http.Handler {
	base := strings.TrimSuffix(b.cfg.PagesPath, "/")
	root := web.Handler()
	cop := http.NewCrossOriginProtection()
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+base+"/login", func(w http.ResponseWriter, r *http.Request) { b.formPage(w, r, base, false) })
	mux.HandleFunc("GET "+base+"/signup", func(w http.ResponseWriter, r *http.Request) { b.formPage(w, r, base, true) })
	mux.HandleFunc("GET "+base+"/logout", func(w http.ResponseWriter, r *http.Request) {
		b.render(w, "logout", &authport.PageData{Title: "Sign out", Status: http.StatusOK, Provider: provider, Action: base + "/logout"})
	})
	if !b.cfg.SignUpSignsIn {
		mux.Handle("POST "+base+"/signup", cop.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b.signUpPost(w, r, web, base)
		})))
	}
	mux.Handle("POST "+base+"/logout-everywhere", cop.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s, ok := authport.SessionFrom(r.Context()); ok && s.Provider == provider {
			if err := b.SignOutEverywhere(r.Context(), s); err != nil {
				web.WriteError(w, r, err)
				return
			}
		}
		r2 := r.Clone(r.Context())
		r2.URL.Path, r2.URL.RawPath = base+"/logout", ""
		root.ServeHTTP(w, r2)
	})))
	mux.Handle("/", root)
	return web.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The pages' own calls (sign-up, sign-out everywhere) carry the
		// client as web's handler does for its calls.
		ctx := authport.WithClientInfo(r.Context(), web.ClientInfo(r))
		mux.ServeHTTP(w, r.WithContext(ctx))
	}))
}

func (b *Backend) render(w http.ResponseWriter, name string, d *authport.PageData) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	if d.Status == 0 {
		d.Status = http.StatusOK
	}
	w.WriteHeader(d.Status)
	if err := b.pages.ExecuteTemplate(w, name, d); err != nil {
		b.log.Error("rendering page", "page", name, "err", err)
	}
}

// safeReturn keeps raw only if it is a safe same-origin path.
func safeReturn(raw string) string {
	if raw != "" && authport.SafeReturnTo(raw) == raw {
		return raw
	}
	return ""
}

func withReturn(path, rt string, extra ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	if rt != "" {
		q.Set("return_to", rt)
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

const signedUpNotice = "If this address was not registered yet, your account is ready. Sign in to continue."

func (b *Backend) formData(base string, signUp bool, rt string) *authport.PageData {
	d := &authport.PageData{Title: "Sign in", Status: http.StatusOK, Provider: provider, SignUp: signUp, ReturnTo: rt,
		Action: base + "/login", LoginURL: withReturn(base+"/login", rt), SignUpURL: withReturn(base+"/signup", rt)}
	if signUp {
		d.Title, d.Action, d.SignUpURL = "Create account", base+"/signup", ""
	}
	return d
}

func (b *Backend) formPage(w http.ResponseWriter, r *http.Request, base string, signUp bool) {
	q := r.URL.Query()
	d := b.formData(base, signUp, safeReturn(q.Get("return_to")))
	if !signUp && q.Get("notice") == "signed_up" {
		d.Message = signedUpNotice
	}
	b.render(w, "login", d)
}

// pageMessage is the text a form shows for err.
func pageMessage(err error) string {
	switch k := authport.KindOf(err); k {
	case authport.ErrInvalidInput:
		if ae, ok := errors.AsType[*authport.Error](err); ok && ae.Reason != "" {
			r := []rune(ae.Reason)
			r[0] = unicode.ToUpper(r[0])
			return string(r) + "."
		}
		return "Enter a valid email address and a password."
	case authport.ErrRateLimited:
		return "Too many attempts. Please wait a moment and try again."
	case authport.ErrInvalidCredential:
		return "An account could not be created with that email address and password."
	default:
		return "Sign-up is unavailable right now. Please try again later."
	}
}

type credentials struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	ReturnTo string `json:"return_to"`
}

func readCredentials(w http.ResponseWriter, r *http.Request) (credentials, bool, error) {
	var c credentials
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	switch mt {
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			return c, true, invalidInput("sign_up", "malformed form")
		}
		for _, k := range []string{"email", "password", "return_to"} {
			if len(r.PostForm[k]) > 1 {
				return c, true, invalidInput("sign_up", "repeated form field")
			}
		}
		c = credentials{r.PostForm.Get("email"), r.PostForm.Get("password"), r.PostForm.Get("return_to")}
		return c, true, checkUTF8(c)
	case "application/json":
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return c, false, invalidInput("sign_up", "body too large")
		}
		dec := json.NewDecoder(strings.NewReader(string(body)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil || dec.More() {
			return c, false, invalidInput("sign_up", "malformed JSON body")
		}
		return c, false, checkUTF8(c)
	}
	return c, false, invalidInput("sign_up", "body must be a form or JSON")
}

func checkUTF8(c credentials) error {
	if !utf8.ValidString(c.Email) || !utf8.ValidString(c.Password) || !utf8.ValidString(c.ReturnTo) {
		return invalidInput("sign_up", "input is not valid UTF-8")
	}
	return nil
}

// signUpPost creates an account and sends the browser to the sign-in page
// with one notice, whether or not the address was free.
func (b *Backend) signUpPost(w http.ResponseWriter, r *http.Request, web *authport.Web, base string) {
	c, form, err := readCredentials(w, r)
	rt := safeReturn(c.ReturnTo)
	if err == nil {
		_, err = b.SignUp(r.Context(), c.Email, c.Password)
	}
	if err != nil {
		if !form {
			web.WriteError(w, r, err)
			return
		}
		k := authport.KindOf(err)
		if d, ok := RetryAfter(err); ok && (k == authport.ErrRateLimited || k == authport.ErrProviderUnavailable) {
			w.Header().Set("Retry-After", strconv.Itoa(int(d.Seconds())))
		}
		d := b.formData(base, true, rt)
		d.Status, d.Message, d.Email = k.Status(), pageMessage(err), c.Email
		b.render(w, "login", d)
		return
	}
	next := withReturn(base+"/login", rt, "notice", "signed_up")
	if !form {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusAccepted)
		_ = json.NewEncoder(w).Encode(map[string]string{"status": "sign_in_required", "sign_in": next})
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, next, http.StatusSeeOther)
}
