package devkit

import (
	"errors"
	_ "github.com/authport/authport/all"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/authport/authport"
	"github.com/authport/authport/diy"
)

func TestParseCookieKeys(t *testing.T) {
	k1, k2 := EncodeKey(NewCookieKey()), EncodeKey(NewCookieKey())
	cases := []struct {
		in   string
		n    int
		fail bool
	}{
		{in: k1, n: 1},
		{in: k1 + "," + k2, n: 2},
		{in: " " + k1 + " , ", n: 1},
		{in: k1 + "==", n: 1},
		{in: "", fail: true},
		{in: "short", fail: true},
		{in: k1 + ",short", fail: true},
		{in: "!!!!", fail: true},
	}
	for _, c := range cases {
		keys, err := ParseCookieKeys(c.in)
		if (err != nil) != c.fail || len(keys) != c.n {
			t.Errorf("ParseCookieKeys(%q) = %d keys, %v", c.in, len(keys), err)
		}
		if err != nil && strings.Contains(err.Error(), k1) {
			t.Error("the error quotes the key")
		}
	}
}

func TestLoadOrCreateCookieKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "cookie.key")
	k1, created, err := LoadOrCreateCookieKey(path)
	if err != nil || !created || len(k1) != CookieKeySize {
		t.Fatalf("first: %v %v %d", err, created, len(k1))
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode().Perm())
	}
	k2, created, err := LoadOrCreateCookieKey(path)
	if err != nil || created || string(k1) != string(k2) {
		t.Fatalf("second: %v %v", err, created)
	}
	os.WriteFile(path, []byte("garbage"), 0o600)
	if _, _, err := LoadOrCreateCookieKey(path); err == nil {
		t.Error("a corrupt key file was accepted")
	}
}

func TestSigningKeyWorksInDIY(t *testing.T) {
	k := NewSigningKey()
	b, err := diy.Open(t.Context(), diy.Settings{DB: "sqlite:" + filepath.Join(t.TempDir(), "a.db"), Mode: "jwt", SigningKeys: EncodeSigningKey(k)}, &diy.Config{SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if !strings.Contains(string(b.JWKS()), k.ID) {
		t.Errorf("the JWKS does not publish kid %s: %s", k.ID, b.JWKS())
	}
}

func TestOpenDIYStore(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		url  string
		kind *authport.Kind
	}{
		{url: "sqlite:" + filepath.Join(dir, "a.db")},
		{url: "sqlite://" + filepath.Join(dir, "b.db")},
		{url: "", kind: authport.ErrMisconfigured},
		{url: filepath.Join(dir, "plain.db"), kind: authport.ErrMisconfigured},
		{url: "mysql://u:secret@h/db", kind: authport.ErrMisconfigured},
		{url: "sqlite:", kind: authport.ErrMisconfigured},
		{url: "postgres://u:secret@127.0.0.1:1/db?connect_timeout=1", kind: authport.ErrProviderUnavailable},
	}
	for _, c := range cases {
		st, closer, err := OpenDIYStore(t.Context(), c.url)
		if c.kind == nil {
			if err != nil {
				t.Errorf("%s: %v", c.url, err)
				continue
			}
			if st == nil {
				t.Errorf("%s: no store", c.url)
			}
			closer.Close()
			continue
		}
		if !errors.Is(err, c.kind) {
			t.Errorf("%s: err %v, want %v", c.url, err, c.kind)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: the error repeats the URL's password", c.url)
		}
	}
}

func TestSeedDIYResetsAccounts(t *testing.T) {
	d, err := OpenDIY(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "s.db"), diy.Config{SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	accs := DemoAccounts()
	for range 2 { // seeding twice resets the passwords
		accs = DemoAccounts()
		if err := SeedDIY(t.Context(), d.Backend, accs); err != nil {
			t.Fatal(err)
		}
	}
	admin, _ := FindAccount(accs, "admin")
	tok, err := d.SignInWithPassword(t.Context(), admin.Email, admin.Password)
	if err != nil {
		t.Fatal(err)
	}
	s, err := d.Verify(t.Context(), authport.Credential{Token: tok.AccessToken})
	if err != nil || !s.HasRole("admin") {
		t.Fatalf("admin session %+v, %v", s, err)
	}
	users, err := ListDIYUsers(t.Context(), d.Store)
	if err != nil || len(users) != 2 {
		t.Fatalf("ListDIYUsers: %v %+v", err, users)
	}
}

func TestFindAccount(t *testing.T) {
	accs := DemoAccounts()
	if a, ok := FindAccount(accs, ""); !ok || a.Email != DemoEmail {
		t.Errorf("demo: %+v", a)
	}
	if a, ok := FindAccount(accs, "admin"); !ok || a.Email != AdminEmail {
		t.Errorf("admin: %+v", a)
	}
	if _, ok := FindAccount(accs, "owner"); ok {
		t.Error("found a role nobody has")
	}
	if accs[0].Password == DemoAccounts()[0].Password {
		t.Error("passwords repeat")
	}
}

func TestStartEmulator(t *testing.T) {
	if _, err := StartEmulator(t.Context(), EmulatorOptions{Provider: "nope"}); !errors.Is(err, ErrUnknownProvider) {
		t.Errorf("unknown provider: %v", err)
	}
	for _, p := range EmulatedProviders() {
		if p == "firebase" && os.Getenv(firebaseHostEnv) == "" {
			continue // needs the Firebase Auth Emulator; covered where it runs
		}
		t.Run(p, func(t *testing.T) {
			e, err := StartEmulator(t.Context(), EmulatorOptions{Provider: strings.ToUpper(p)})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			defer e.Close() // twice is fine
			if e.Env["AUTH_PROVIDER"] != p || e.EnvKeys()[0] != "AUTH_PROVIDER" || !strings.HasPrefix(e.URL, "http://127.0.0.1:") {
				t.Errorf("env %v url %s", e.Env, e.URL)
			}
			if len(e.Accounts) != 2 || e.SignIn == "" {
				t.Errorf("accounts %v", e.Accounts)
			}
			get := e.Getenv(func(k string) string { return "parent-" + k })
			if get("AUTH_PROVIDER") != p || get("OTHER") != "parent-OTHER" {
				t.Error("Getenv does not layer Env over the parent")
			}
			a, err := authport.FromEnvFunc(t.Context(), e.Getenv(nil))
			if err != nil {
				t.Fatalf("the printed variables do not configure the adapter: %v", err)
			}
			if c, ok := a.(interface{ Close() error }); ok {
				c.Close()
			}
		})
	}
}
