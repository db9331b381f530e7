package clerktest_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authport/authport/clerk/clerktest"
	clerksdk "github.com/clerk/clerk-sdk-go/v2"
	"github.com/clerk/clerk-sdk-go/v2/jwks"
	"github.com/clerk/clerk-sdk-go/v2/jwt"
	"github.com/clerk/clerk-sdk-go/v2/organization"
	"github.com/clerk/clerk-sdk-go/v2/organizationmembership"
	"github.com/clerk/clerk-sdk-go/v2/session"
	"github.com/clerk/clerk-sdk-go/v2/user"
)

func config(srv *clerktest.Server, key string) *clerksdk.ClientConfig {
	return &clerksdk.ClientConfig{BackendConfig: clerksdk.BackendConfig{URL: clerksdk.String(srv.APIURL), Key: clerksdk.String(key)}}
}

func apiErr(t *testing.T, err error, status int, code string) {
	t.Helper()
	var ae *clerksdk.APIErrorResponse
	if !errors.As(err, &ae) {
		t.Fatalf("error %v is not a Clerk API error", err)
	}
	if ae.HTTPStatusCode != status || len(ae.Errors) != 1 || ae.Errors[0].Code != code || ae.Errors[0].Message == "" ||
		ae.Errors[0].LongMessage == "" || ae.TraceID == "" || ae.Response == nil || ae.Response.TraceID == "" {
		t.Fatalf("error %+v, want %d %s with messages and a trace id", ae, status, code)
	}
}

func payload(t *testing.T, tok string) (map[string]any, map[string]any) {
	t.Helper()
	p := strings.Split(tok, ".")
	if len(p) != 3 {
		t.Fatalf("not a JWS: %q", tok)
	}
	var h, c map[string]any
	hb, _ := base64.RawURLEncoding.DecodeString(p[0])
	cb, _ := base64.RawURLEncoding.DecodeString(p[1])
	if json.Unmarshal(hb, &h) != nil || json.Unmarshal(cb, &c) != nil {
		t.Fatalf("undecodable token")
	}
	return h, c
}

func TestSecretKeyRequired(t *testing.T) {
	srv := clerktest.New(t)
	ctx := t.Context()
	_, err := session.NewClient(config(srv, "")).Get(ctx, "sess_x")
	apiErr(t, err, 401, "authentication_invalid")
	_, err = jwks.NewClient(config(srv, "sk_test_nope")).Get(ctx, &jwks.GetParams{})
	apiErr(t, err, 401, "clerk_key_invalid")
	_, err = user.NewClient(config(srv, srv.SecretKey)).Get(ctx, "user_missing")
	apiErr(t, err, 404, "resource_not_found")

	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/.well-known/jwks.json", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("public JWKS: %d", resp.StatusCode)
	}
}

func TestJWKSShape(t *testing.T) {
	srv := clerktest.New(t)
	set, err := jwks.NewClient(config(srv, srv.SecretKey)).Get(t.Context(), &jwks.GetParams{})
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 1 {
		t.Fatalf("%d keys", len(set.Keys))
	}
	k := set.Keys[0]
	if k.KeyID != srv.KID() || !strings.HasPrefix(k.KeyID, "ins_") || k.Algorithm != "RS256" || k.Use != "sig" || k.Key == nil {
		t.Fatalf("key %+v", k)
	}
	var raw struct {
		Keys []map[string]any `json:"keys"`
	}
	json.Unmarshal(set.Response.RawJSON, &raw)
	for _, f := range []string{"kid", "alg", "use", "kty", "n", "e"} {
		if _, ok := raw.Keys[0][f]; !ok {
			t.Errorf("JWKS entry lacks %q", f)
		}
	}
	if other := clerktest.New(t); other.KID() == srv.KID() {
		t.Fatal("two emulators share a kid")
	}
}

func TestSessionsAPI(t *testing.T) {
	srv := clerktest.New(t)
	ctx := t.Context()
	cc := config(srv, srv.SecretKey)
	sessions, users := session.NewClient(cc), user.NewClient(cc)

	u, err := users.Create(ctx, &user.CreateParams{EmailAddresses: &[]string{"s@example.com"}, Password: clerksdk.String("password-123")})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(u.ID, "user_") || len(u.EmailAddresses) != 1 || u.EmailAddresses[0].EmailAddress != "s@example.com" ||
		u.PrimaryEmailAddressID == nil || *u.PrimaryEmailAddressID != u.EmailAddresses[0].ID || !u.PasswordEnabled {
		t.Fatalf("user %+v", u)
	}
	_, err = sessions.Create(ctx, &session.CreateParams{UserID: "user_missing"})
	apiErr(t, err, 404, "resource_not_found")
	s1, err := sessions.Create(ctx, &session.CreateParams{UserID: u.ID})
	if err != nil {
		t.Fatal(err)
	}
	if s1.Object != "session" || !strings.HasPrefix(s1.ID, "sess_") || s1.UserID != u.ID || s1.Status != "active" ||
		!strings.HasPrefix(s1.ClientID, "client_") || s1.ExpireAt <= s1.CreatedAt || s1.CreatedAt < time.Now().Add(-time.Minute).UnixMilli() {
		t.Fatalf("session %+v", s1)
	}
	s2, _ := sessions.Create(ctx, &session.CreateParams{UserID: u.ID})

	tok, err := sessions.CreateToken(ctx, &session.CreateTokenParams{ID: s1.ID})
	if err != nil || tok.Object != "token" {
		t.Fatalf("token: %+v %v", tok, err)
	}
	h, c := payload(t, tok.JWT)
	if h["alg"] != "RS256" || h["kid"] != srv.KID() || h["typ"] != "JWT" {
		t.Fatalf("header %v", h)
	}
	iat, exp, nbf := c["iat"].(float64), c["exp"].(float64), c["nbf"].(float64)
	if c["iss"] != srv.Issuer || c["sub"] != u.ID || c["sid"] != s1.ID || c["v"] != float64(2) || c["azp"] != clerktest.DefaultAuthorizedParty ||
		exp-iat != 60 || iat-nbf != 5 || len(c["jti"].(string)) != 20 {
		t.Fatalf("claims %v", c)
	}
	if fva, ok := c["fva"].([]any); !ok || len(fva) != 2 || fva[1] != float64(-1) {
		t.Fatalf("fva %v", c["fva"])
	}
	long, err := sessions.CreateToken(ctx, &session.CreateTokenParams{ID: s1.ID, ExpiresInSeconds: clerksdk.Int64(3600)})
	if err != nil {
		t.Fatal(err)
	}
	if _, c := payload(t, long.JWT); c["exp"].(float64)-c["iat"].(float64) != 3600 {
		t.Fatalf("expires_in_seconds ignored: %v", c)
	}
	_, err = sessions.CreateToken(ctx, &session.CreateTokenParams{ID: s1.ID, ExpiresInSeconds: clerksdk.Int64(5)})
	apiErr(t, err, 422, "form_param_value_invalid")
	_, err = sessions.CreateToken(ctx, &session.CreateTokenParams{ID: s1.ID, TemplateName: "missing"})
	apiErr(t, err, 404, "resource_not_found")

	list, err := sessions.List(ctx, &session.ListParams{UserID: clerksdk.String(u.ID)})
	if err != nil || list.TotalCount != 2 || len(list.Sessions) != 2 || list.Sessions[0].ID != s2.ID {
		t.Fatalf("list: %+v %v", list, err)
	}
	revoked, err := sessions.Revoke(ctx, &session.RevokeParams{ID: s1.ID})
	if err != nil || revoked.Status != "revoked" {
		t.Fatalf("revoke: %+v %v", revoked, err)
	}
	got, _ := sessions.Get(ctx, s1.ID)
	if got.Status != "revoked" {
		t.Fatalf("status after revoke %q", got.Status)
	}
	list, _ = sessions.List(ctx, &session.ListParams{UserID: clerksdk.String(u.ID), Status: clerksdk.String("active")})
	if list.TotalCount != 1 || list.Sessions[0].ID != s2.ID {
		t.Fatalf("active list: %+v", list)
	}
	_, err = sessions.CreateToken(ctx, &session.CreateTokenParams{ID: s1.ID})
	apiErr(t, err, 404, "resource_not_found")
	_, err = sessions.Revoke(ctx, &session.RevokeParams{ID: "sess_missing"})
	apiErr(t, err, 404, "resource_not_found")

	// Without paginated=true the Backend API answers a bare array.
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.APIURL+"/sessions?user_id="+url.QueryEscape(u.ID), nil)
	req.Header.Set("Authorization", "Bearer "+srv.SecretKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var arr []map[string]any
	if json.Unmarshal(body, &arr) != nil || len(arr) != 2 {
		t.Fatalf("bare list: %s", body)
	}
}

func TestUsersAPI(t *testing.T) {
	srv := clerktest.New(t)
	ctx := t.Context()
	users := user.NewClient(config(srv, srv.SecretKey))
	pub := json.RawMessage(`{"roles":["admin"]}`)
	u, err := users.Create(ctx, &user.CreateParams{
		EmailAddresses: &[]string{"u@example.com"}, Password: clerksdk.String("password-123"),
		FirstName: clerksdk.String("Ada"), PublicMetadata: &pub, ExternalID: clerksdk.String("ext-1"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if *u.FirstName != "Ada" || string(u.PublicMetadata) != `{"roles":["admin"]}` || *u.ExternalID != "ext-1" {
		t.Fatalf("user %+v", u)
	}
	_, err = users.Create(ctx, &user.CreateParams{EmailAddresses: &[]string{"U@example.com"}, Password: clerksdk.String("password-123")})
	apiErr(t, err, 422, "form_identifier_exists")
	_, err = users.Create(ctx, &user.CreateParams{EmailAddresses: &[]string{"short@example.com"}, Password: clerksdk.String("short")})
	apiErr(t, err, 422, "form_password_length_too_short")
	users.Create(ctx, &user.CreateParams{EmailAddresses: &[]string{"other@example.com"}, SkipPasswordRequirement: clerksdk.Bool(true)})

	list, err := users.List(ctx, &user.ListParams{EmailAddresses: []string{"u@example.com"}})
	if err != nil || list.TotalCount != 1 || len(list.Users) != 1 || list.Users[0].ID != u.ID {
		t.Fatalf("list: %+v %v", list, err)
	}
	all, _ := users.List(ctx, &user.ListParams{})
	if all.TotalCount != 2 || all.Users[0].Object != "user" {
		t.Fatalf("all: %+v", all)
	}
	got, err := users.Get(ctx, u.ID)
	if err != nil || got.ID != u.ID {
		t.Fatalf("get: %v", err)
	}
	ok, err := users.VerifyPassword(ctx, &user.VerifyPasswordParams{UserID: u.ID, Password: "password-123"})
	if err != nil || !ok.Verified {
		t.Fatalf("verify_password: %+v %v", ok, err)
	}
	_, err = users.VerifyPassword(ctx, &user.VerifyPasswordParams{UserID: u.ID, Password: "nope"})
	apiErr(t, err, 422, "form_password_incorrect")
	_, err = users.VerifyPassword(ctx, &user.VerifyPasswordParams{UserID: "user_missing", Password: "nope"})
	apiErr(t, err, 404, "resource_not_found")
}

func TestOrganizationsAndTokenClaims(t *testing.T) {
	srv := clerktest.New(t)
	ctx := t.Context()
	cc := config(srv, srv.SecretKey)
	srv.DefineRole("org:editor", "org:posts:read", "org:posts:write", "org:billing:manage", "org:sys_memberships:read")
	u, _ := srv.CreateUser(clerktest.NewUser{Email: "o@example.com", Password: "password-123"})
	owner, _ := srv.CreateUser(clerktest.NewUser{Email: "owner@example.com", Password: "password-123"})

	o, err := organization.NewClient(cc).Create(ctx, &organization.CreateParams{Name: clerksdk.String("Acme Inc"), CreatedBy: clerksdk.String(owner.ID)})
	if err != nil || o.Slug != "acme-inc" || !strings.HasPrefix(o.ID, "org_") || o.CreatedBy != owner.ID {
		t.Fatalf("org %+v %v", o, err)
	}
	members := organizationmembership.NewClient(cc)
	_, err = members.Create(ctx, &organizationmembership.CreateParams{OrganizationID: o.ID, UserID: clerksdk.String(u.ID), Role: clerksdk.String("org:nope")})
	apiErr(t, err, 422, "form_param_value_invalid")
	m, err := members.Create(ctx, &organizationmembership.CreateParams{OrganizationID: o.ID, UserID: clerksdk.String(u.ID), Role: clerksdk.String("org:editor")})
	if err != nil || m.Role != "org:editor" || m.Organization.ID != o.ID || m.PublicUserData.UserID != u.ID || len(m.Permissions) != 4 {
		t.Fatalf("membership %+v %v", m, err)
	}
	mine, err := user.NewClient(cc).ListOrganizationMemberships(ctx, owner.ID, &user.ListOrganizationMembershipsParams{})
	if err != nil || mine.TotalCount != 1 || mine.OrganizationMemberships[0].Role != clerktest.RoleAdmin {
		t.Fatalf("owner's memberships %+v %v", mine, err)
	}

	sid, err := srv.CreateSession(u.ID, clerktest.SessionOptions{ActiveOrganization: o.ID})
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := srv.SessionToken(sid)
	_, c := payload(t, tok)
	oc, _ := c["o"].(map[string]any)
	if oc["id"] != o.ID || oc["slg"] != "acme-inc" || oc["rol"] != "editor" || oc["per"] != "read,write,manage" || oc["fpm"] != "3,4" ||
		c["fea"] != "o:posts,o:billing" {
		t.Fatalf("org claims %v fea %v", oc, c["fea"])
	}
	// The SDK's own verifier reads them back.
	var jwk clerksdk.JSONWebKey
	if err := json.Unmarshal(srv.JWK(), &jwk); err != nil {
		t.Fatal(err)
	}
	claims, err := jwt.Verify(ctx, &jwt.VerifyParams{Token: tok, JWK: &jwk})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"org:posts:read", "org:posts:write", "org:billing:manage"}
	if claims.ActiveOrganizationID != o.ID || claims.ActiveOrganizationRole != "org:editor" || !slices.Equal(claims.ActiveOrganizationPermissions, want) {
		t.Fatalf("SDK claims %+v", claims)
	}

	if _, err := srv.CreateSession(u.ID, clerktest.SessionOptions{ActiveOrganization: "org_other"}); err == nil {
		t.Fatal("a session in a foreign organisation")
	}
}

func TestSessionClaimsTemplate(t *testing.T) {
	srv := clerktest.New(t, clerktest.Options{
		SessionClaims: map[string]any{
			"metadata": "{{user.public_metadata}}", "role": "{{user.public_metadata.role}}",
			"greeting": "hi {{user.first_name}} <{{user.primary_email_address}}>", "sub": "overridden?",
			"nested": map[string]any{"verified": "{{user.email_verified}}", "org": "{{org.slug}}"},
		},
		JWTTemplates: map[string]clerktest.JWTTemplate{"hasura": {Claims: map[string]any{"aud": "hasura", "uid": "{{user.id}}"}, Lifetime: time.Hour}},
	})
	u, _ := srv.CreateUser(clerktest.NewUser{Email: "t@example.com", Password: "password-123", FirstName: "Ada",
		PublicMetadata: map[string]any{"role": "admin", "plan": "pro"}})
	sid, _ := srv.CreateSession(u.ID, clerktest.SessionOptions{})
	tok, _ := srv.SessionToken(sid)
	_, c := payload(t, tok)
	md, _ := c["metadata"].(map[string]any)
	nested, _ := c["nested"].(map[string]any)
	if md["plan"] != "pro" || c["role"] != "admin" || c["greeting"] != "hi Ada <t@example.com>" || c["sub"] != u.ID ||
		nested["verified"] != true || nested["org"] != nil {
		t.Fatalf("customized claims %v", c)
	}
	tt, err := session.NewClient(config(srv, srv.SecretKey)).CreateToken(context.Background(), &session.CreateTokenParams{ID: sid, TemplateName: "hasura"})
	if err != nil {
		t.Fatal(err)
	}
	_, tc := payload(t, tt.JWT)
	if tc["aud"] != "hasura" || tc["uid"] != u.ID || tc["sub"] != u.ID || tc["exp"].(float64)-tc["iat"].(float64) != 3600 || tc["sid"] != nil {
		t.Fatalf("template claims %v", tc)
	}
}

func TestPendingAndActor(t *testing.T) {
	srv := clerktest.New(t)
	u, _ := srv.CreateUser(clerktest.NewUser{Email: "p@example.com", Password: "password-123"})
	sid, _ := srv.CreateSession(u.ID, clerktest.SessionOptions{Pending: true, Actor: map[string]any{"sub": "user_admin"}})
	tok, _ := srv.SessionToken(sid)
	_, c := payload(t, tok)
	act, _ := c["act"].(map[string]any)
	if c["sts"] != "pending" || act["sub"] != "user_admin" {
		t.Fatalf("claims %v", c)
	}
	got, _ := session.NewClient(config(srv, srv.SecretKey)).Get(t.Context(), sid)
	if got.Status != "pending" || len(got.Actor) == 0 {
		t.Fatalf("session %+v", got)
	}
	o, _ := srv.CreateOrganization("Pick Me", "", u.ID)
	if err := srv.SetActiveOrganization(sid, o.ID); err != nil {
		t.Fatal(err)
	}
	if st, _ := srv.SessionStatus(sid); st != "active" {
		t.Fatalf("choosing an organisation left the session %s", st)
	}
}

func TestEnvAndControlAPI(t *testing.T) {
	srv := clerktest.New(t)
	env := srv.Env()
	if env["CLERK_SECRET_KEY"] != srv.SecretKey || env["CLERK_API_URL"] != srv.APIURL || env["AUTH_PROVIDER"] != "clerk" ||
		!strings.HasPrefix(env["CLERK_PUBLISHABLE_KEY"], "pk_test_") {
		t.Fatalf("env %v", env)
	}
	body := strings.NewReader(`{"email":"ctl@example.com","password":"password-123"}`)
	resp, err := http.Post(srv.URL+"/__authport/users", "application/json", body)
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("control create: %v %v", resp, err)
	}
	resp.Body.Close()
	resp, err = http.Post(srv.URL+"/__authport/sign-in", "application/json", strings.NewReader(`{"email":"ctl@example.com","password":"password-123"}`))
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Object, JWT, SessionID, UserID string
	}
	json.NewDecoder(resp.Body).Decode(&struct {
		Object    *string `json:"object"`
		JWT       *string `json:"jwt"`
		SessionID *string `json:"session_id"`
		UserID    *string `json:"user_id"`
	}{&out.Object, &out.JWT, &out.SessionID, &out.UserID})
	resp.Body.Close()
	if out.Object != "token" || !strings.HasPrefix(out.SessionID, "sess_") || !strings.HasPrefix(out.UserID, "user_") || out.JWT == "" {
		t.Fatalf("control sign-in %+v", out)
	}
}

func TestKeysDownAndFetchCount(t *testing.T) {
	srv := clerktest.New(t)
	c := jwks.NewClient(config(srv, srv.SecretKey))
	if _, err := c.Get(t.Context(), &jwks.GetParams{}); err != nil {
		t.Fatal(err)
	}
	srv.SetKeysDown(true)
	if _, err := c.Get(t.Context(), &jwks.GetParams{}); err == nil {
		t.Fatal("keys served while down")
	}
	srv.SetKeysDown(false)
	if n := srv.KeyFetches(); n != 2 {
		t.Fatalf("KeyFetches %d, want 2", n)
	}
}
