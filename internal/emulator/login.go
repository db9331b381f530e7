package emulator

import (
	"context"
	"errors"
	"fmt"
	"html"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// LoginOptions configures HostedLogin.
type LoginOptions struct {
	// Title is the page heading (default "Sign in to <Options.Name>").
	Title string
	// Email pre-fills the email field (an OIDC login_hint, say).
	Email string
	// Complete is called once the email and password are right, with the
	// signed-in user. It returns where to send the browser (the client's
	// redirect URI with a code and state) or an error, shown on the page.
	Complete func(r *http.Request, u *User) (redirectURL string, err error)
}

var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1a1a1a}
main{max-width:24rem;margin:4rem auto;padding:2rem;background:#fff;border-radius:8px;box-shadow:0 1px 3px #0003}
h1{font-size:1.5rem;margin-top:0}
label{display:block;font-weight:600;margin-top:1rem}
input{width:100%;box-sizing:border-box;padding:.5rem;font:inherit;border:1px solid #767676;border-radius:4px}
input:focus,button:focus{outline:3px solid #1a5fb4;outline-offset:2px}
button{margin-top:1.5rem;width:100%;padding:.6rem;font:inherit;font-weight:600;color:#fff;background:#1a5fb4;border:0;border-radius:4px;cursor:pointer}
.error{color:#a51d2d;background:#fbe9eb;padding:.5rem;border-radius:4px}
.note{color:#555;font-size:.875rem}
</style>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
{{if .Error}}<p class="error" role="alert" id="form-error">{{.Error}}</p>{{end}}
<form method="post" action="{{.Action}}">
<label for="email">Email address</label>
<input id="email" name="email" type="email" autocomplete="username" required value="{{.Email}}"{{if .Error}} aria-invalid="true" aria-describedby="form-error"{{end}}>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required{{if .Error}} aria-invalid="true" aria-describedby="form-error"{{end}}>
<button type="submit">Sign in</button>
</form>
<p class="note">{{.Name}} — local emulator for tests and development.</p>
</main>
</body>
</html>
`))

type loginData struct {
	Title, Name, Action, Email, Error string
}

// HostedLogin serves a provider's hosted sign-in page: GET renders an
// accessible email and password form that posts back to the same URL
// (query string included, so state, PKCE challenge and redirect URI travel
// with it); POST checks the password against the Store and, when it
// matches, calls o.Complete and redirects (303) to the URL it returns. A
// wrong password and an unknown email get the same 401 page.
func (s *Server) HostedLogin(w http.ResponseWriter, r *http.Request, o LoginOptions) {
	d := loginData{Title: o.Title, Name: s.opts.Name, Action: r.URL.RequestURI(), Email: o.Email}
	if d.Title == "" {
		d.Title = "Sign in to " + s.opts.Name
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	status := http.StatusOK
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			d.Error, status = "The form could not be read.", http.StatusBadRequest
			break
		}
		d.Email = r.PostForm.Get("email")
		u, err := s.Store.CheckPassword(d.Email, r.PostForm.Get("password"))
		switch {
		case errors.Is(err, ErrDisabled):
			d.Error, status = "This account is disabled.", http.StatusForbidden
		case err != nil:
			d.Error, status = "Invalid email or password.", http.StatusUnauthorized
		case o.Complete == nil:
			d.Error, status = "Signed in, but this page has nowhere to go.", http.StatusInternalServerError
		default:
			to, err := o.Complete(r, u)
			if err != nil {
				d.Error, status = "Sign-in could not be completed: "+err.Error(), http.StatusBadRequest
				break
			}
			http.Redirect(w, r, to, http.StatusSeeOther)
			return
		}
	default:
		h.Set("Allow", "GET, HEAD, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	loginPage.Execute(w, d)
}

var formAction = regexp.MustCompile(`<form[^>]*\baction="([^"]*)"`)
var alertText = regexp.MustCompile(`role="alert"[^>]*>([^<]*)<`)

// SubmitLogin signs in through a hosted sign-in page the way a browser
// would: it loads pageURL, posts the form with email and password, and
// returns where the page redirects to, without following it (the caller's
// callback URL, carrying code and state). client may be nil.
func SubmitLogin(ctx context.Context, client *http.Client, pageURL, email, password string) (*url.URL, error) {
	if client == nil {
		client = http.DefaultClient
	}
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, pageURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	if loc, ok := redirected(resp); ok {
		return loc, nil // already signed in, or an error sent straight back
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("emulator: sign-in page answered %d: %s", resp.StatusCode, pageError(body))
	}
	m := formAction.FindSubmatch(body)
	if m == nil {
		return nil, errors.New("emulator: no sign-in form on the page")
	}
	action, err := resp.Request.URL.Parse(html.UnescapeString(string(m[1])))
	if err != nil {
		return nil, err
	}
	form := url.Values{"email": {email}, "password": {password}}
	req, err = http.NewRequestWithContext(ctx, http.MethodPost, action.String(), strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = c.Do(req)
	if err != nil {
		return nil, err
	}
	if loc, ok := redirected(resp); ok {
		return loc, nil
	}
	body, _ = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	return nil, fmt.Errorf("emulator: sign-in answered %d: %s", resp.StatusCode, pageError(body))
}

func redirected(resp *http.Response) (*url.URL, bool) {
	if resp.StatusCode < 300 || resp.StatusCode > 399 {
		return nil, false
	}
	defer resp.Body.Close()
	loc, err := resp.Location()
	return loc, err == nil
}

func pageError(body []byte) string {
	if m := alertText.FindSubmatch(body); m != nil {
		return html.UnescapeString(string(m[1]))
	}
	s := strings.TrimSpace(string(body))
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}
