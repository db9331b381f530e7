package authport

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Default Retry-After values when the error does not say.
const (
	defaultRetryUnavailable = 5 * time.Second
	defaultRetryRateLimited = 60 * time.Second
)

// WriteError writes the one HTTP response authport gives for err, whatever
// the adapter:
//
//   - 401 (ErrNoCredential, ErrInvalidCredential, ErrExpired, ErrRevoked,
//     ErrActionRequired) with WWW-Authenticate: Bearer realm="authport"
//     (plus error="invalid_token" and error_description for a credential
//     that was presented and refused);
//   - 403 (ErrForbidden) with error="insufficient_scope";
//   - 503 (ErrProviderUnavailable, and any error that is not one of the
//     kinds: fail closed) and 429 (ErrRateLimited) with Retry-After;
//   - 400, 500, 501 for the remaining kinds.
//
// The body is {"error":"…","error_description":"…"} built from the kind's
// fixed Code and Description, never from err.Error(). A browser navigation
// (GET or HEAD accepting text/html) gets a 303 to the login page with a
// safe return_to instead of a 401, deleting a stale session cookie, and a
// small HTML page for the other statuses. Every response carries
// Cache-Control: no-store.
//
// WriteError uses the Config of the Web whose middleware handled r, or the
// defaults when there was none.
func WriteError(rw http.ResponseWriter, r *http.Request, err error) {
	st := stateFrom(r.Context())
	w := defaultWeb()
	if st != nil && st.web != nil {
		w = st.web
	}
	w.writeError(rw, r, err, st)
}

// WriteError is the package-level WriteError using w's Config.
func (w *Web) WriteError(rw http.ResponseWriter, r *http.Request, err error) {
	st := stateFrom(r.Context())
	if st != nil && st.web != w {
		st = nil
	}
	w.writeError(rw, r, err, st)
}

var (
	defaultWebOnce sync.Once
	defaultWebVal  *Web
)

// defaultWeb is the Web used for error responses when no middleware ran.
func defaultWeb() *Web {
	defaultWebOnce.Do(func() {
		defaultWebVal = &Web{
			cfg: Config{
				CookieName:      DefaultCookieName,
				BasePath:        DefaultBasePath,
				LoginPath:       DefaultLoginPath,
				AfterLoginPath:  "/",
				AfterLogoutPath: "/",
				SessionMaxAge:   DefaultSessionMaxAge,
				Clock:           time.Now,
			},
			pages: builtinPages,
		}
	})
	return defaultWebVal
}

func (w *Web) provider() string {
	if w.auth == nil {
		return ""
	}
	return w.auth.Provider()
}

func (w *Web) writeError(rw http.ResponseWriter, r *http.Request, err error, st *authState) {
	k := kindOrUnavailable(err)
	if k.Status() == http.StatusUnauthorized && isBrowser(r) {
		rw.Header().Set("Cache-Control", "no-store")
		if w.sealer != nil {
			if _, ok := cookieValue(r, w.cfg.CookieName); ok && (st == nil || !st.cleared) {
				w.clearCookie(rw, w.cfg.CookieName)
				if st != nil {
					st.cleared = true
				}
			}
		}
		rw.Header().Set("Location", w.loginURL(r))
		rw.WriteHeader(http.StatusSeeOther)
		return
	}
	w.failPage(rw, r, err)
}

// failPage answers with err's status: an HTML page for browser
// navigations, JSON otherwise; never a redirect.
func (w *Web) failPage(rw http.ResponseWriter, r *http.Request, err error) {
	k := kindOrUnavailable(err)
	errorHeaders(rw.Header(), k, err)
	if isBrowser(r) {
		w.writePage(rw, r, "error", k.Status(), &PageData{
			Title:    http.StatusText(k.Status()),
			Message:  k.Description(),
			LoginURL: w.cfg.LoginPath,
		})
		return
	}
	writeJSONError(rw, r, k.Status(), k)
}

// writeAPIError answers with JSON whatever the request accepts.
func writeAPIError(rw http.ResponseWriter, r *http.Request, err error) {
	k := kindOrUnavailable(err)
	errorHeaders(rw.Header(), k, err)
	writeJSONError(rw, r, k.Status(), k)
}

func kindOrUnavailable(err error) *Kind {
	if k := KindOf(err); k != nil {
		return k
	}
	return ErrProviderUnavailable
}

// errorHeaders sets the headers of an error response of kind k.
func errorHeaders(h http.Header, k *Kind, err error) {
	h.Set("Cache-Control", "no-store")
	switch k.Status() {
	case http.StatusUnauthorized:
		if k.Code() == "invalid_token" {
			h.Set("WWW-Authenticate", `Bearer realm="authport", error="invalid_token", error_description="`+k.Description()+`"`)
		} else {
			h.Set("WWW-Authenticate", `Bearer realm="authport"`)
		}
	case http.StatusForbidden:
		h.Set("WWW-Authenticate", `Bearer realm="authport", error="insufficient_scope", error_description="`+k.Description()+`"`)
	case http.StatusServiceUnavailable:
		h.Set("Retry-After", retryAfter(err, defaultRetryUnavailable))
	case http.StatusTooManyRequests:
		h.Set("Retry-After", retryAfter(err, defaultRetryRateLimited))
	}
}

// loginURL is LoginPath with the request as return_to, unless the request
// is for the auth endpoints themselves (returning there would loop).
func (w *Web) loginURL(r *http.Request) string {
	uri := r.URL.RequestURI()
	if p := r.URL.Path; p == w.cfg.BasePath || strings.HasPrefix(p, w.cfg.BasePath+"/") || p == w.cfg.LoginPath {
		return w.cfg.LoginPath
	}
	rt, ok := safeReturnTo(uri)
	if !ok || rt == "/" {
		return w.cfg.LoginPath
	}
	sep := "?"
	if strings.Contains(w.cfg.LoginPath, "?") {
		sep = "&"
	}
	return w.cfg.LoginPath + sep + "return_to=" + url.QueryEscape(rt)
}

// jsonError is the body of every error response.
type jsonError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

var jsonBodies sync.Map // *Kind -> []byte

func writeJSONError(rw http.ResponseWriter, r *http.Request, status int, k *Kind) {
	body, ok := jsonBodies.Load(k)
	if !ok {
		b, _ := json.Marshal(jsonError{Error: k.Code(), Description: k.Description()})
		body, _ = jsonBodies.LoadOrStore(k, append(b, '\n'))
	}
	writeJSONBytes(rw, r, status, body.([]byte))
}

func writeJSONBytes(rw http.ResponseWriter, r *http.Request, status int, body []byte) {
	h := rw.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	rw.WriteHeader(status)
	if r.Method != http.MethodHead {
		rw.Write(body)
	}
}

func writeJSON(rw http.ResponseWriter, r *http.Request, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeJSONError(rw, r, http.StatusInternalServerError, ErrMisconfigured)
		return
	}
	writeJSONBytes(rw, r, status, append(b, '\n'))
}

// retryAfter is the Retry-After value for err: its RetryAfter method if it
// has one (see RateLimitError), else def; in whole seconds, at least 1.
func retryAfter(err error, def time.Duration) string {
	d := def
	var ra interface{ RetryAfter() time.Duration }
	if errors.As(err, &ra) && ra.RetryAfter() > 0 {
		d = ra.RetryAfter()
	}
	secs := int64((d + time.Second - 1) / time.Second)
	return strconv.FormatInt(max(secs, 1), 10)
}

// isBrowser reports whether r is a top-level browser navigation, which
// should get redirects and HTML rather than JSON.
func isBrowser(r *http.Request) bool {
	return (r.Method == http.MethodGet || r.Method == http.MethodHead) && acceptsHTML(r)
}

func acceptsHTML(r *http.Request) bool {
	for _, a := range r.Header["Accept"] {
		if strings.Contains(a, "text/html") {
			return true
		}
	}
	return false
}

// isForm reports whether r's body is an HTML form submission.
func isForm(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/x-www-form-urlencoded"
}

// writePage renders the named built-in (or Config.Templates) page. A
// Config.Templates that does not define name (the optional "continue")
// leaves the built-in page in place.
func (w *Web) writePage(rw http.ResponseWriter, r *http.Request, name string, status int, d *PageData) {
	if d.Status == 0 {
		d.Status = status
	}
	pages := w.pages
	if pages == nil || pages.Lookup(name) == nil {
		pages = builtinPages
	}
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, d); err != nil {
		if w.logger != nil {
			w.logger.LogAttrs(r.Context(), slog.LevelError, "authport: page template failed", slog.String("template", name), slog.String("error", err.Error()))
		}
		buf.Reset()
		_ = builtinPages.ExecuteTemplate(&buf, name, d)
	}
	h := rw.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("Referrer-Policy", "same-origin")
	rw.WriteHeader(status)
	if r.Method != http.MethodHead {
		rw.Write(buf.Bytes())
	}
}
