package betterauthtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// SignIn is what the library hands a browser (and a bearer or JWT client)
// after an email and password sign-in.
type SignIn struct {
	// Cookies are every cookie the library set: the session token, and
	// the session_data cache (maybe in chunks) when enabled.
	Cookies []*http.Cookie
	// SessionCookie is the session token cookie (its Value URL-encoded,
	// as the browser sends it).
	SessionCookie *http.Cookie
	// Bearer is the bearer plugin's set-auth-token value ("token.sig").
	Bearer string
	// Token is the raw session token (the session table's token column).
	Token string
	// UserID is the signed-in user's id.
	UserID string
}

// CookieHeader is the Cookie header a browser would send.
func (si *SignIn) CookieHeader() string {
	var parts []string
	for _, c := range si.Cookies {
		parts = append(parts, c.Name+"="+c.Value)
	}
	return strings.Join(parts, "; ")
}

// Request returns a GET request for target carrying the cookies.
func (si *SignIn) Request(ctx context.Context, target string) *http.Request {
	r, _ := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	r.Header.Set("Cookie", si.CookieHeader())
	return r
}

// api calls the library's handler as its client does: JSON, with the
// base URL as Origin (the library's CSRF check).
func (s *Server) api(ctx context.Context, method, path string, body any, cookies string) (*http.Response, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.URL+"/api/auth"+path, rd)
	if err != nil {
		return nil, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Origin", origin(s.BaseURL))
	if cookies != "" {
		req.Header.Set("Cookie", cookies)
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return resp, data, fmt.Errorf("betterauthtest: %s /api/auth%s: %s: %s", method, path, resp.Status, data)
	}
	return resp, data, nil
}

func origin(base string) string {
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	return u.Scheme + "://" + u.Host
}

// SignIn signs a user in through POST /api/auth/sign-in/email, as the
// library's client does, and, given an organisation id, makes it the
// session's active organisation (POST /organization/set-active), keeping
// the cookies the library re-sets.
func (s *Server) SignIn(ctx context.Context, email, password, orgID string) (*SignIn, error) {
	resp, data, err := s.api(ctx, http.MethodPost, "/sign-in/email", map[string]string{"email": email, "password": password}, "")
	if err != nil {
		return nil, err
	}
	var body struct {
		Token string `json:"token"`
		User  struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	if err := json.Unmarshal(data, &body); err != nil || body.Token == "" {
		return nil, fmt.Errorf("betterauthtest: sign-in answer without a token: %s", data)
	}
	si := &SignIn{Bearer: resp.Header.Get("Set-Auth-Token"), Token: body.Token, UserID: body.User.ID}
	si.merge(resp.Cookies())
	if orgID != "" {
		resp, _, err := s.api(ctx, http.MethodPost, "/organization/set-active", map[string]string{"organizationId": orgID}, si.CookieHeader())
		if err != nil {
			return nil, err
		}
		si.merge(resp.Cookies())
	}
	if si.SessionCookie == nil {
		return nil, fmt.Errorf("betterauthtest: sign-in set no session cookie")
	}
	return si, nil
}

// merge applies Set-Cookie answers: new values replace old ones, deleted
// cookies go.
func (si *SignIn) merge(set []*http.Cookie) {
	for _, c := range set {
		kept := si.Cookies[:0]
		for _, old := range si.Cookies {
			if old.Name != c.Name {
				kept = append(kept, old)
			}
		}
		si.Cookies = kept
		if c.MaxAge >= 0 && c.Value != "" {
			si.Cookies = append(si.Cookies, &http.Cookie{Name: c.Name, Value: c.Value})
		}
	}
	si.SessionCookie = nil
	for _, c := range si.Cookies {
		if strings.HasSuffix(c.Name, ".session_token") || strings.HasSuffix(c.Name, "session_token") {
			si.SessionCookie = c
		}
	}
}

// JWT fetches a JWT plugin token for the signed-in session
// (GET /api/auth/token).
func (s *Server) JWT(ctx context.Context, si *SignIn) (string, error) {
	_, data, err := s.api(ctx, http.MethodGet, "/token", nil, si.CookieHeader())
	if err != nil {
		return "", err
	}
	var body struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(data, &body); err != nil || body.Token == "" {
		return "", fmt.Errorf("betterauthtest: /token answer without a token")
	}
	return body.Token, nil
}

// SignOut signs the session out through POST /api/auth/sign-out.
func (s *Server) SignOut(ctx context.Context, si *SignIn) error {
	_, _, err := s.api(ctx, http.MethodPost, "/sign-out", map[string]string{}, si.CookieHeader())
	return err
}
