package clerktest

import (
	"errors"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/authport/authport/clerk"
	"github.com/authport/authport/internal/emulator"
)

// clientCookie is the cookie the hosted pages set on the emulator's own
// origin, as Clerk's Frontend API keeps its "__client" cookie: a browser
// that signed in once is sent straight back on its next visit.
const clientCookie = "__client"

// redirectTarget validates the hosted page's redirect_url.
func (s *Server) redirectTarget(r *http.Request) (*url.URL, error) {
	vals := r.URL.Query()["redirect_url"]
	if len(vals) != 1 || vals[0] == "" {
		return nil, errors.New("redirect_url is required")
	}
	u, err := url.Parse(vals[0])
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil || u.Fragment != "" {
		return nil, errors.New("redirect_url must be an absolute http(s) URL")
	}
	origin := u.Scheme + "://" + u.Host
	if len(s.opts.AllowedRedirectOrigins) > 0 {
		if !slices.Contains(s.opts.AllowedRedirectOrigins, origin) {
			return nil, errors.New("redirect_url is not an allowed origin")
		}
		return u, nil
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, errors.New("redirect_url must be on a loopback host (set Options.AllowedRedirectOrigins)")
	}
	return u, nil
}

// handshake returns target with Clerk's handshake for session sid: a token
// signed by the instance key whose "handshake" claim lists the cookies to
// set on the application's origin.
func (s *Server) handshake(target *url.URL, sid string) (string, error) {
	tok, err := s.SessionToken(sid)
	if err != nil {
		return "", err
	}
	now := s.emu.Clock.Now().Unix()
	lines := []any{
		clerk.SessionCookie + "=" + tok + "; Path=/; SameSite=Lax",
		"__client_uat=" + strconv.FormatInt(now, 10) + "; Path=/; Max-Age=315360000; SameSite=Lax",
	}
	hs, err := s.emu.Keys.Current().Sign(map[string]any{"typ": "JWT"}, map[string]any{"handshake": lines})
	if err != nil {
		return "", err
	}
	u := *target
	q := u.Query()
	q.Set(clerk.HandshakeParam, hs)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

var errorPage = template.Must(template.New("e").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Clerk emulator</title></head>
<body><main><h1>Sign-in cannot start</h1><p role="alert">{{.}}</p></main></body></html>
`))

// hostedSignIn serves /sign-in and /sign-up, the emulator's Account
// Portal.
func (s *Server) hostedSignIn(w http.ResponseWriter, r *http.Request) {
	target, err := s.redirectTarget(r)
	if err != nil {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusBadRequest)
		errorPage.Execute(w, err.Error())
		return
	}
	signUp := r.URL.Path == "/sign-up"
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		if c, err := r.Cookie(clientCookie); err == nil {
			s.mu.Lock()
			sid := s.clients[c.Value]
			s.mu.Unlock()
			if sid != "" {
				if _, _, err := s.emu.Store.LiveSession(sid); err == nil {
					if to, err := s.handshake(target, sid); err == nil {
						w.Header().Set("Cache-Control", "no-store")
						http.Redirect(w, r, to, http.StatusSeeOther)
						return
					}
				}
			}
		}
	}
	if signUp && r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err == nil {
			email, pw := strings.TrimSpace(r.PostForm.Get("email")), r.PostForm.Get("password")
			if _, err := s.emu.Store.UserByEmail(email); errors.Is(err, emulator.ErrNotFound) && len(pw) >= 8 {
				_, _ = s.CreateUser(NewUser{Email: email, Password: pw})
			}
		}
	}
	title := "Sign in to " + s.opts.Slug
	if signUp {
		title = "Create your account"
	}
	s.emu.HostedLogin(w, r, emulator.LoginOptions{
		Title: title,
		Complete: func(r *http.Request, u *emulator.User) (string, error) {
			sid, err := s.CreateSession(u.ID, SessionOptions{})
			if err != nil {
				return "", err
			}
			client := emulator.RandomToken(32)
			s.mu.Lock()
			s.clients[client] = sid
			s.mu.Unlock()
			http.SetCookie(w, &http.Cookie{Name: clientCookie, Value: client, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
			return s.handshake(target, sid)
		},
	})
}
