package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authport/authport"
	"github.com/authport/authport/cmd/authport/devkit"
	"github.com/authport/authport/diy"
	"github.com/authport/authport/internal/testenv"
	"github.com/authport/authport/oidc/oidctest"
)

// result is one in-process run of the command.
type result struct {
	code           int
	stdout, stderr string
}

func runCLI(t *testing.T, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := runContext(t.Context(), args, func(k string) string { return env[k] }, strings.NewReader(stdin), &out, &errOut)
	return result{code, out.String(), errOut.String()}
}

// check compares a result with the expectations of a table case.
type expect struct {
	code      int
	stdout    []string // substrings
	stderr    []string
	noStdout  bool
	oneLineEr bool // stderr is exactly one line
}

func (e expect) check(t *testing.T, r result) {
	t.Helper()
	if r.code != e.code {
		t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, e.code, r.stdout, r.stderr)
	}
	for _, s := range e.stdout {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("stdout lacks %q:\n%s", s, r.stdout)
		}
	}
	for _, s := range e.stderr {
		if !strings.Contains(r.stderr, s) {
			t.Errorf("stderr lacks %q:\n%s", s, r.stderr)
		}
	}
	if e.noStdout && r.stdout != "" {
		t.Errorf("unexpected stdout: %s", r.stdout)
	}
	if e.oneLineEr && strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("stderr is not one line: %q", r.stderr)
	}
}

func TestUsageAndHelp(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want expect
	}{
		{"no arguments", nil, expect{code: 2, stderr: []string{"Usage:"}, noStdout: true}},
		{"--help", []string{"--help"}, expect{code: 0, stdout: []string{"Usage:", "emulate", "verify", "keys", "users"}}},
		{"-h", []string{"-h"}, expect{code: 0, stdout: []string{"Usage:"}}},
		{"help verify", []string{"help", "verify"}, expect{code: 0, stdout: []string{"authport verify", "-strict"}}},
		{"unknown command", []string{"frobnicate"}, expect{code: 2, stderr: []string{`unknown command "frobnicate"`}, oneLineEr: true, noStdout: true}},
		{"emulate --help", []string{"emulate", "--help"}, expect{code: 0, stdout: []string{"authport emulate", "-addr", "oidc"}}},
		{"verify -h", []string{"verify", "-h"}, expect{code: 0, stdout: []string{"-provider"}}},
		{"keys --help", []string{"keys", "--help"}, expect{code: 0, stdout: []string{"AUTHPORT_COOKIE_KEY", "AUTHPORT_SIGNING_KEYS", "-json"}}},
		{"users", []string{"users"}, expect{code: 2, stderr: []string{"users add"}}},
		{"users --help", []string{"users", "--help"}, expect{code: 0, stdout: []string{"users add", "users list"}}},
		{"users add --help", []string{"users", "add", "--help"}, expect{code: 0, stdout: []string{"-role", "-permission", "-org ID", "-password-stdin", "-db"}}},
		{"users bogus", []string{"users", "bogus"}, expect{code: 2, oneLineEr: true}},
		{"bad flag", []string{"keys", "--nope"}, expect{code: 2, stderr: []string{"-nope", "--help"}, oneLineEr: true}},
		{"keys argument", []string{"keys", "extra"}, expect{code: 2, oneLineEr: true}},
		{"emulate nothing", []string{"emulate"}, expect{code: 2, stderr: []string{"oidc"}, oneLineEr: true}},
		{"emulate unknown", []string{"emulate", "nope"}, expect{code: 2, stderr: []string{`"nope"`}, oneLineEr: true}},
		{"verify two tokens", []string{"verify", "a", "b"}, expect{code: 2, oneLineEr: true}},
		{"verify no provider", []string{"verify", "tok"}, expect{code: 2, stderr: []string{"AUTH_PROVIDER"}, oneLineEr: true}},
		{"verify empty stdin", []string{"verify", "--provider", "oidc", "-"}, expect{code: 2, stderr: []string{"no token"}, oneLineEr: true}},
		{"verify misconfigured", []string{"verify", "--provider", "oidc", "tok"}, expect{code: 2, stderr: []string{"OIDC_ISSUER"}, oneLineEr: true}},
		{"verify unknown provider", []string{"verify", "--provider", "nope", "tok"}, expect{code: 2, oneLineEr: true}},
		{"users without db", []string{"users", "list"}, expect{code: 2, stderr: []string{"AUTHPORT_DB_URL"}, oneLineEr: true}},
		{"users add no email", []string{"users", "add", "--db", "sqlite:x.db"}, expect{code: 2, oneLineEr: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.want.check(t, runCLI(t, nil, "", c.args...))
		})
	}
}

func TestKeys(t *testing.T) {
	r := runCLI(t, nil, "", "keys")
	expect{code: 0, stdout: []string{devkit.CookieKeyEnv + "=", devkit.SigningKeyEnv + "="}}.check(t, r)
	vals := map[string]string{}
	for _, line := range strings.Split(r.stdout, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			vals[k] = v
		}
	}
	keys, err := devkit.ParseCookieKeys(vals[devkit.CookieKeyEnv])
	if err != nil || len(keys) != 1 || len(keys[0]) != 32 {
		t.Fatalf("cookie key: %v", err)
	}
	if _, err := authport.NewSealer(keys); err != nil {
		t.Errorf("the cookie key does not seal: %v", err)
	}
	// The signing key is what the DIY backend reads from AUTHPORT_SIGNING_KEYS.
	path := filepath.Join(t.TempDir(), "k.db")
	b, err := diy.Open(t.Context(), diy.Settings{DB: "sqlite:" + path, Mode: "jwt", SigningKeys: vals[devkit.SigningKeyEnv]}, &diy.Config{SweepInterval: -1})
	if err != nil {
		t.Fatalf("diy.Open with the generated key: %v", err)
	}
	defer b.Close()
	var jwks struct{ Keys []struct{ Kid string } }
	if err := json.Unmarshal(b.JWKS(), &jwks); err != nil || len(jwks.Keys) != 1 {
		t.Fatalf("JWKS: %v %s", err, b.JWKS())
	}
	if !strings.Contains(r.stdout, "key id "+jwks.Keys[0].Kid) {
		t.Errorf("the printed key id is not the key's id %s", jwks.Keys[0].Kid)
	}
	if r2 := runCLI(t, nil, "", "keys"); r2.stdout == r.stdout {
		t.Error("two runs printed the same keys")
	}

	r = runCLI(t, nil, "", "keys", "--json")
	var kj keysJSON
	if err := json.Unmarshal([]byte(r.stdout), &kj); err != nil || r.code != 0 {
		t.Fatalf("--json: %v %s", err, r.stdout)
	}
	if b, _ := base64.RawURLEncoding.DecodeString(kj.CookieKey); len(b) != 32 {
		t.Error("--json cookie key is not 32 bytes")
	}
	if seed, _ := base64.RawURLEncoding.DecodeString(kj.SigningKey.Seed); len(seed) != 32 {
		t.Error("--json signing key is not a 32-byte seed")
	}
	if kj.SigningKey.PublicJWK["kid"] != kj.SigningKey.KID || kj.SigningKey.PublicJWK["crv"] != "Ed25519" {
		t.Errorf("public JWK: %v", kj.SigningKey.PublicJWK)
	}
}

// diyStore opens a DIY backend on a fresh SQLite file and returns it with
// the file's path.
type diyDB struct {
	*devkit.DIY
	path string
}

func diyStore(t *testing.T) diyDB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "authport.db")
	d, err := devkit.OpenDIY(t.Context(), "sqlite:"+path, diy.Config{SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return diyDB{d, path}
}

// manyPerms returns a --permission value listing n distinct permissions.
func manyPerms(n int) string {
	l := make([]string, n)
	for i := range l {
		l[i] = "perm" + strconv.Itoa(i)
	}
	return strings.Join(l, ",")
}

func TestUsers(t *testing.T) {
	db := diyStore(t)
	env := map[string]string{devkit.DBURLEnv: "sqlite:" + db.path}
	const pw = "a perfectly fine passphrase"
	steps := []struct {
		name  string
		stdin string
		args  []string
		want  expect
	}{
		{"add with password", pw + "\n", []string{"users", "add", "--password-stdin", "--role", "admin", "ada@example.com"},
			expect{code: 0, stdout: []string{"created usr_", "ada@example.com", "roles: admin"}}},
		{"add generated", "", []string{"users", "add", "bob@example.com"}, expect{code: 0, stdout: []string{"created usr_", "password: "}}},
		{"flags after the email", "", []string{"users", "add", "carol@example.com", "--role", "a,b"}, expect{code: 0, stdout: []string{"roles: a,b"}}},
		{"add with permissions and org", "", []string{"users", "add", "erin@example.com", "--permission", "reports:write,reports:read",
			"--permission", "billing:read", "--org", "org_acme"},
			expect{code: 0, stdout: []string{"created usr_", "permissions: billing:read,reports:read,reports:write", "org: org_acme"}}},
		{"add bad permission", "", []string{"users", "add", "frank@example.com", "--permission", "reports\x01"}, expect{code: 2, oneLineEr: true}},
		{"add bad org", "", []string{"users", "add", "frank@example.com", "--org", "org acme"}, expect{code: 2, oneLineEr: true}},
		{"add too many permissions", "", []string{"users", "add", "frank@example.com", "--permission", manyPerms(diy.MaxPermissions + 1)},
			expect{code: 2, oneLineEr: true}},
		{"add after refusals", "", []string{"users", "add", "frank@example.com"}, expect{code: 0, stdout: []string{"created usr_"}}},
		{"add duplicate", "", []string{"users", "add", "ADA@example.com"}, expect{code: 1, stderr: []string{"already exists"}, oneLineEr: true}},
		{"add bad email", "", []string{"users", "add", "not-an-email"}, expect{code: 2, oneLineEr: true}},
		{"add empty stdin password", "", []string{"users", "add", "--password-stdin", "dan@example.com"}, expect{code: 2, oneLineEr: true}},
		{"add common password", "password\n", []string{"users", "add", "--password-stdin", "dan@example.com"}, expect{code: 2, oneLineEr: true}},
		{"list", "", []string{"users", "list"}, expect{code: 0, stdout: []string{"ID", "ada@example.com", "admin", "bob@example.com", "active",
			"PERMISSIONS", "ORG", "reports:read", "org_acme"}}},
		{"disable", "", []string{"users", "disable", "bob@example.com"}, expect{code: 0, stdout: []string{"disabled usr_"}}},
		{"list shows disabled", "", []string{"users", "list"}, expect{code: 0, stdout: []string{"disabled"}}},
		{"enable", "", []string{"users", "enable", "bob@example.com"}, expect{code: 0, stdout: []string{"enabled usr_"}}},
		{"disable unknown", "", []string{"users", "disable", "nobody@example.com"}, expect{code: 1, stderr: []string{"no such user"}, oneLineEr: true}},
		{"disable unknown id", "", []string{"users", "disable", "usr_nope"}, expect{code: 1, oneLineEr: true}},
		{"--db flag", "", []string{"users", "list", "--db", "sqlite:" + db.path}, expect{code: 0, stdout: []string{"ada@example.com"}}},
		{"plain path", "", []string{"users", "list", "--db", db.path}, expect{code: 2, stderr: []string{"sqlite:FILE"}, oneLineEr: true}},
		{"unopenable db", "", []string{"users", "list", "--db", "sqlite:" + filepath.Join(t.TempDir(), "no", "such", "dir", "x.db")}, expect{code: 2, oneLineEr: true}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			s.want.check(t, runCLI(t, env, s.stdin, s.args...))
		})
	}
	r := runCLI(t, env, "", "users", "list", "--json")
	var list []devkit.UserInfo
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || len(list) != 5 {
		t.Fatalf("list --json: %v %s", err, r.stdout)
	}
	if list[0].Email != "ada@example.com" || len(list[0].Roles) != 1 || list[1].Disabled || len(list[0].Permissions) != 0 || list[0].OrgID != "" {
		t.Errorf("list --json: %+v", list)
	}
	if e := list[3]; e.Email != "erin@example.com" || len(e.Permissions) != 3 || e.OrgID != "org_acme" {
		t.Errorf("list --json: %+v", e)
	}
	// The account works.
	if _, err := db.SignInWithPassword(t.Context(), "ada@example.com", pw); err != nil {
		t.Errorf("sign in as the added user: %v", err)
	}
}

func TestVerifyOIDC(t *testing.T) {
	emu := oidctest.New(t)
	u, err := emu.CreateUser(oidctest.NewUser{Email: "ada@example.com", Password: "pw", Roles: []string{"admin"}})
	if err != nil {
		t.Fatal(err)
	}
	env := emu.Env()
	tok, err := emu.SignIn(t.Context(), "ada@example.com", "pw")
	if err != nil {
		t.Fatal(err)
	}
	expired, _ := emu.Mint(oidctest.MintRequest{UserID: u.ID, Expired: true})
	foreign, _ := emu.Mint(oidctest.MintRequest{UserID: u.ID, Foreign: true})
	revokedTok, _ := emu.SignIn(t.Context(), "ada@example.com", "pw")
	if err := emu.RevokeSession(revokedTok.SessionID); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name  string
		args  []string
		stdin string
		want  expect
	}{
		{"valid argument", []string{"verify", tok.AccessToken}, "", expect{code: 0, stdout: []string{`"user_id": "` + u.ID + `"`, `"provider": "oidc"`, `"admin"`}}},
		{"valid stdin", []string{"verify", "-"}, tok.AccessToken + "\n", expect{code: 0, stdout: []string{u.ID}}},
		{"valid stdin, no argument", []string{"verify"}, "Bearer " + tok.AccessToken, expect{code: 0, stdout: []string{u.ID}}},
		{"--provider", []string{"verify", "--provider", "OIDC", tok.AccessToken}, "", expect{code: 0}},
		{"strict valid", []string{"verify", "--strict", tok.AccessToken}, "", expect{code: 0}},
		{"expired", []string{"verify", expired}, "", expect{code: 1, stderr: []string{"expired"}, noStdout: true, oneLineEr: true}},
		{"foreign key", []string{"verify", foreign}, "", expect{code: 1, stderr: []string{"invalid"}, oneLineEr: true}},
		{"garbage", []string{"verify", "not.a.jwt"}, "", expect{code: 1, oneLineEr: true}},
		{"json failure", []string{"verify", "--json", expired}, "", expect{code: 1, stdout: []string{`"valid":false`, `"kind":"expired"`}}},
		{"strict revoked", []string{"verify", "--strict", revokedTok.AccessToken}, "", expect{code: 1, stderr: []string{"revoked"}, oneLineEr: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := runCLI(t, env, c.stdin, c.args...)
			c.want.check(t, r)
			if strings.Contains(r.stderr, tok.AccessToken) || strings.Contains(r.stderr, expired) {
				t.Error("an error message repeats the token")
			}
		})
	}
	t.Run("keys unavailable", func(t *testing.T) {
		emu.SetKeysDown(true)
		defer emu.SetKeysDown(false)
		expect{code: 3, stderr: []string{"unavailable"}, oneLineEr: true}.check(t, runCLI(t, env, "", "verify", tok.AccessToken))
	})
	t.Run("issuer down", func(t *testing.T) {
		emu2 := oidctest.New(t)
		env2 := emu2.Env()
		emu2.Close()
		expect{code: 3, oneLineEr: true}.check(t, runCLI(t, env2, "", "verify", tok.AccessToken))
	})
}

func TestVerifyDIY(t *testing.T) {
	db := diyStore(t)
	const pw = "a perfectly fine passphrase"
	if _, err := db.CreateUser(t.Context(), "ada@example.com", pw, "admin"); err != nil {
		t.Fatal(err)
	}
	tok, err := db.SignInWithPassword(t.Context(), "ada@example.com", pw)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{authport.ProviderEnv: "diy", devkit.DBURLEnv: "sqlite:" + db.path}
	expect{code: 0, stdout: []string{`"provider": "diy"`, "ada@example.com"}}.check(t, runCLI(t, env, "", "verify", tok.AccessToken))
	expect{code: 1, oneLineEr: true}.check(t, runCLI(t, env, "", "verify", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"))
	expect{code: 2, stderr: []string{"AUTHPORT_DB_URL"}, oneLineEr: true}.check(t, runCLI(t, map[string]string{authport.ProviderEnv: "diy"}, "", "verify", tok.AccessToken))
	// Signing out on the server is seen at once.
	s, err := db.Verify(t.Context(), authport.Credential{Token: tok.AccessToken})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Revoke(t.Context(), s, tok); err != nil {
		t.Fatal(err)
	}
	expect{code: 1, oneLineEr: true}.check(t, runCLI(t, env, "", "verify", tok.AccessToken))
}

// lockedBuffer is a bytes.Buffer safe for concurrent use.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestEmulate(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var out, errOut lockedBuffer
	envFile := filepath.Join(t.TempDir(), "emu.env")
	done := make(chan int, 1)
	go func() {
		done <- runContext(ctx, []string{"emulate", "--env-file", envFile, "oidc"}, func(string) string { return "" }, strings.NewReader(""), &out, &errOut)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(out.String(), "Serving until interrupted") {
		if time.Now().After(deadline) {
			t.Fatalf("no ready line; stdout %q stderr %q", out.String(), errOut.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	vars := map[string]string{}
	for _, line := range strings.Split(out.String(), "\n") {
		if k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "="); ok && strings.HasPrefix(line, "export ") {
			vars[k] = strings.Trim(v, "'")
		}
	}
	if vars["AUTH_PROVIDER"] != "oidc" || vars["OIDC_ISSUER"] == "" {
		t.Fatalf("variables: %v", vars)
	}
	for _, want := range []string{devkit.DemoEmail, devkit.AdminEmail, "roles: admin", "/__authport/", envFile} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	for _, path := range []string{"/.well-known/openid-configuration", "/__authport/"} {
		resp, err := http.Get(vars["OIDC_ISSUER"] + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET %s: %d", path, resp.StatusCode)
		}
	}
	// The printed variables configure the adapter: verify a token minted
	// through the control API.
	resp, err := http.Post(vars["OIDC_ISSUER"]+"/__authport/mint", "application/json", strings.NewReader(`{"email":"`+devkit.AdminEmail+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	var minted struct{ Token string }
	json.NewDecoder(resp.Body).Decode(&minted)
	resp.Body.Close()
	expect{code: 0, stdout: []string{devkit.AdminEmail}}.check(t, runCLI(t, vars, "", "verify", minted.Token))

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d; stderr %s", code, errOut.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("emulate did not stop")
	}
}

// TestUsersPostgres runs add, list and disable against PostgreSQL
// (AUTHPORT_TEST_POSTGRES_URL from scripts/services.sh).
func TestUsersPostgres(t *testing.T) {
	db := testenv.Postgres(t)
	env := map[string]string{devkit.DBURLEnv: db}
	email := "cli-" + strings.ToLower(devkit.NewPassword()[:10]) + "@example.com"
	expect{code: 0, stdout: []string{"created usr_", email, "roles: admin"}}.check(t, runCLI(t, env, "", "users", "add", "--role", "admin", email))
	r := runCLI(t, env, "", "users", "list", "--json")
	var list []devkit.UserInfo
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || r.code != 0 {
		t.Fatalf("list --json: %v %s %s", err, r.stdout, r.stderr)
	}
	found := false
	for _, u := range list {
		if u.Email == email {
			found = true
			if len(u.Roles) != 1 || u.Roles[0] != "admin" || u.Disabled || u.CreatedAt.IsZero() {
				t.Errorf("listed %+v", u)
			}
		}
	}
	if !found {
		t.Fatalf("%s not listed", email)
	}
	expect{code: 0, stdout: []string{"disabled usr_"}}.check(t, runCLI(t, env, "", "users", "disable", email))
	if strings.Contains(runCLI(t, env, "", "users", "list").stderr, db) {
		t.Error("an error repeats the database URL")
	}
}

// TestRun covers run's own set-up: the log level and a command run
// through it.
func TestRun(t *testing.T) {
	defer slog.SetDefault(slog.Default())
	var out, errOut bytes.Buffer
	if code := run([]string{"keys"}, func(k string) string { return map[string]string{"AUTHPORT_LOG_LEVEL": "loud"}[k] }, strings.NewReader(""), &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "AUTHPORT_LOG_LEVEL") {
		t.Errorf("bad log level: exit %d, %q", code, errOut.String())
	}
	out.Reset()
	if code := run([]string{"keys"}, func(string) string { return "" }, strings.NewReader(""), &out, &errOut); code != 0 || !strings.Contains(out.String(), devkit.CookieKeyEnv) {
		t.Errorf("keys through run: exit %d, %q", code, out.String())
	}
}
