package authport

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestCheckRequirements(t *testing.T) {
	member := &Session{Provider: "p", UserID: "u", Roles: []string{"member"}, Permissions: []string{"read"}, OrgID: "org_1"}
	pending := &Session{Provider: "p", UserID: "u", OrgID: "org_1", Status: StatusPending}
	noOrg := &Session{Provider: "p", UserID: "u"}
	tests := []struct {
		name string
		s    *Session
		reqs []Requirement
		want error // nil, or a kind
	}{
		{"no requirement", member, nil, nil},
		{"role held", member, []Requirement{Role("member")}, nil},
		{"role missing", member, []Requirement{Role("admin")}, ErrForbidden},
		{"all of", member, []Requirement{Role("member"), Permission("write")}, ErrForbidden},
		{"permission held", member, []Requirement{Permission("read")}, nil},
		{"any of", member, []Requirement{AnyOf(Role("admin"), Permission("read"))}, nil},
		{"any of none", member, []Requirement{AnyOf(Role("admin"), Role("owner"))}, ErrForbidden},
		{"empty any of", member, []Requirement{AnyOf()}, ErrForbidden},
		{"org any", member, []Requirement{Org()}, nil},
		{"org listed", member, []Requirement{Org("org_2", "org_1")}, nil},
		{"org not listed", member, []Requirement{Org("org_2")}, ErrForbidden},
		{"no org", noOrg, []Requirement{Org()}, ErrForbidden},
		{"pending refused by Org", pending, []Requirement{Org("org_1")}, ErrForbidden},
		{"pending passes plain check", pending, nil, nil},
		{"no session", nil, nil, ErrNoCredential},
		{"no session with reqs", nil, []Requirement{Role("member")}, ErrNoCredential},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(WithSession(context.Background(), tt.s), tt.reqs...)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Check = %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Check = %v, want %v", err, tt.want)
			}
		})
	}
	if err := Check(context.Background()); !errors.Is(err, ErrNoCredential) {
		t.Fatalf("Check without middleware = %v", err)
	}
}

func TestCheckReportsVerificationError(t *testing.T) {
	e := newEnv(t, func(p *fakeProvider) Authenticator { return staticAuth{p} }, nil)
	var got error
	h := e.web.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = Check(r.Context()) }))
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer unknown")
	serve(h, r)
	if !errors.Is(got, ErrInvalidCredential) {
		t.Fatalf("Check = %v", got)
	}
}

func TestRequire(t *testing.T) {
	e := newEnv(t, func(p *fakeProvider) Authenticator { return staticAuth{p} }, nil)
	tok := e.p.issue("user_ada", "")
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })

	app := http.NewServeMux()
	app.Handle("/app/", ok)
	mux := http.NewServeMux()
	mux.Handle("/app/", Require()(app))
	mux.Handle("/member/", RequireRole("member")(ok))
	mux.Handle("/admin/", RequireRole("admin")(ok))
	mux.Handle("/both/", RequireRole("member", "admin")(ok))
	mux.Handle("/perm/", RequirePermission("read")(ok))
	mux.Handle("/org/", RequireOrg()(ok))
	mux.Handle("/public", ok)
	h := e.web.Middleware(mux)

	tests := []struct {
		path   string
		auth   bool
		status int
	}{
		{"/public", false, 200},
		{"/app/x", false, 401},
		{"/app/x", true, 200},
		{"/member/", true, 200},
		{"/admin/", true, 403},
		{"/both/", true, 403},
		{"/perm/", true, 403},
		{"/org/", true, 403},
		{"/admin/", false, 401},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", tt.path, nil)
		if tt.auth {
			r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		}
		if rec := serve(h, r); rec.Code != tt.status {
			t.Errorf("%s auth=%v: %d, want %d", tt.path, tt.auth, rec.Code, tt.status)
		}
	}
	if n := len(e.events(EventRefused)); n != 6 {
		t.Errorf("%d refused events, want 6", n)
	}
}

func TestRequireFailsClosedWithoutMiddleware(t *testing.T) {
	reached := false
	h := Require()(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached = true }))
	r := httptest.NewRequest("GET", "/app", nil)
	r.Header.Set("Authorization", "Bearer anything")
	rec := serve(h, r)
	if reached || rec.Code != 401 {
		t.Fatalf("reached=%v status=%d", reached, rec.Code)
	}
	r.Header.Set("Accept", "text/html")
	rec = serve(h, r)
	if rec.Code != 303 || rec.Header().Get("Location") != "/auth/login?return_to=%2Fapp" {
		t.Fatalf("browser: %d %q", rec.Code, rec.Header().Get("Location"))
	}
}
