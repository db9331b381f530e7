package authport

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestWriteErrorAPI(t *testing.T) {
	secret := "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0.sig"
	tests := []struct {
		name       string
		err        error
		status     int
		code       string
		challenge  string // WWW-Authenticate, "" = none
		retryAfter string
	}{
		{"no credential", ErrNoCredential, 401, "unauthorized", `Bearer realm="authport"`, ""},
		{"invalid", NewError(ErrInvalidCredential, "clerk", "verify", "bad signature on "+secret), 401, "invalid_token",
			`Bearer realm="authport", error="invalid_token", error_description="the credential is not valid"`, ""},
		{"expired", fmt.Errorf("wrapped: %w", ErrExpired), 401, "invalid_token",
			`Bearer realm="authport", error="invalid_token", error_description="the credential has expired"`, ""},
		{"revoked", ErrRevoked, 401, "invalid_token",
			`Bearer realm="authport", error="invalid_token", error_description="the session has ended"`, ""},
		{"action", &ActionError{Action: ActionMFA, Provider: "workos", PendingToken: secret}, 401, "action_required", `Bearer realm="authport"`, ""},
		{"forbidden", ErrForbidden, 403, "insufficient_scope",
			`Bearer realm="authport", error="insufficient_scope", error_description="missing role, permission or organisation"`, ""},
		{"unavailable", WrapError(ErrProviderUnavailable, "auth0", "jwks", errors.New("dial tcp: secret.internal refused")), 503, "temporarily_unavailable", "", "5"},
		{"unknown error fails closed", errors.New("pq: password authentication failed for " + secret), 503, "temporarily_unavailable", "", "5"},
		{"nil error fails closed", nil, 503, "temporarily_unavailable", "", "5"},
		{"rate limited", &RateLimitError{After: 1500 * time.Millisecond}, 429, "too_many_requests", "", "2"},
		{"rate limited kind", ErrRateLimited, 429, "too_many_requests", "", "60"},
		{"invalid input", ErrInvalidInput, 400, "invalid_request", "", ""},
		{"unsupported", ErrUnsupported, 501, "unsupported", "", ""},
		{"misconfigured", ErrMisconfigured, 500, "server_error", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/api/x", nil)
			r.Header.Set("Accept", "application/json")
			rec := httptest.NewRecorder()
			WriteError(rec, r, tt.err)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d", rec.Code, tt.status)
			}
			h := rec.Header()
			if got := h.Get("WWW-Authenticate"); got != tt.challenge {
				t.Fatalf("WWW-Authenticate %q, want %q", got, tt.challenge)
			}
			if got := h.Get("Retry-After"); got != tt.retryAfter {
				t.Fatalf("Retry-After %q, want %q", got, tt.retryAfter)
			}
			if h.Get("Cache-Control") != "no-store" || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
				t.Fatalf("headers %v", h)
			}
			var body map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			k := KindOf(tt.err)
			if k == nil {
				k = ErrProviderUnavailable
			}
			if len(body) != 2 || body["error"] != tt.code || body["error_description"] != k.Description() {
				t.Fatalf("body %v", body)
			}
			for _, leak := range []string{secret, "pq:", "dial", "clerk", "auth0", "workos"} {
				if strings.Contains(rec.Body.String(), leak) {
					t.Fatalf("body leaks %q: %s", leak, rec.Body)
				}
			}
		})
	}
}

func TestWriteErrorBrowser(t *testing.T) {
	e := newEnv(t, func(p *fakeProvider) Authenticator { return pwAuth{p} }, nil)
	tests := []struct {
		name     string
		method   string
		target   string
		cookie   bool
		err      error
		status   int
		location string
		cleared  bool
	}{
		{"no credential", "GET", "/app/x?y=1", false, ErrNoCredential, 303, "/auth/login?return_to=%2Fapp%2Fx%3Fy%3D1", false},
		{"expired clears cookie", "GET", "/app", true, ErrExpired, 303, "/auth/login?return_to=%2Fapp", true},
		{"head", "HEAD", "/app", false, ErrRevoked, 303, "/auth/login?return_to=%2Fapp", false},
		{"root has no return_to", "GET", "/", false, ErrNoCredential, 303, "/auth/login", false},
		{"hostile path", "GET", "//evil.example/x", false, ErrNoCredential, 303, "/auth/login", false},
		{"auth path not returned to", "GET", "/auth/session", false, ErrNoCredential, 303, "/auth/login", false},
		{"post is not a navigation", "POST", "/app", false, ErrNoCredential, 401, "", false},
		{"forbidden page", "GET", "/app", true, ErrForbidden, 403, "", false},
		{"unavailable page", "GET", "/app", false, errors.New("boom"), 503, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "http://app.example"+tt.target, nil)
			if tt.target == "//evil.example/x" {
				r.URL.Path, r.URL.RawPath, r.RequestURI = "//evil.example/x", "", "//evil.example/x"
			}
			r.Header.Set("Accept", "text/html,application/xhtml+xml")
			if tt.cookie {
				r.Header.Set("Cookie", "__Host-authport=stale")
			}
			rec := httptest.NewRecorder()
			e.web.WriteError(rec, r, tt.err)
			if rec.Code != tt.status || rec.Header().Get("Location") != tt.location {
				t.Fatalf("got %d %q, want %d %q", rec.Code, rec.Header().Get("Location"), tt.status, tt.location)
			}
			if rec.Header().Get("Cache-Control") != "no-store" {
				t.Fatal("no Cache-Control: no-store")
			}
			c := setCookies(rec)["__Host-authport"]
			if tt.cleared != (c != nil && c.MaxAge < 0) {
				t.Fatalf("cookie cleared = %v, want %v", c != nil, tt.cleared)
			}
			if tt.status == 403 || tt.status == 503 {
				if !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") || !strings.Contains(rec.Body.String(), "<h1>") {
					t.Fatalf("no HTML page: %q", rec.Body)
				}
				if strings.Contains(rec.Body.String(), "boom") {
					t.Fatal("page leaks the error")
				}
			}
			if tt.status == 503 && rec.Header().Get("Retry-After") == "" {
				t.Fatal("503 page without Retry-After")
			}
		})
	}
}

func TestWriteErrorUsesWebConfig(t *testing.T) {
	e := newEnv(t, func(p *fakeProvider) Authenticator { return staticAuth{p} }, func(c *Config) { c.LoginPath = "/signin" })
	h := e.web.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, r, ErrNoCredential)
	}))
	r := httptest.NewRequest("GET", "/x", nil)
	r.Header.Set("Accept", "text/html")
	if loc := serve(h, r).Header().Get("Location"); loc != "/signin?return_to=%2Fx" {
		t.Fatalf("Location %q", loc)
	}
}
