package workos

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/authport/authport"
)

const (
	testKey    = "sk_test_abcdefghijklmnopqrstuvwxyz0123456789"
	testClient = "client_01HXYZTESTCLIENT"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestConfigFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    func(t *testing.T, c Config)
		wantErr string // substring naming the variable
	}{
		{
			name: "required only",
			env:  map[string]string{EnvAPIKey: testKey, EnvClientID: testClient},
			want: func(t *testing.T, c Config) {
				if c.APIKey != testKey || c.ClientID != testClient || c.BaseURL != "" || len(c.Issuers) != 0 {
					t.Fatalf("got %+v", c)
				}
			},
		},
		{
			name: "everything",
			env: map[string]string{
				EnvAPIKey: " " + testKey + " ", EnvClientID: testClient, EnvRedirectURI: "https://app.example.com/auth/callback",
				EnvBaseURL: "https://auth.example.com", EnvJWKSURL: "https://auth.example.com/sso/jwks/" + testClient,
				EnvIssuers: "https://auth.example.com, https://api.workos.com/", EnvAudience: "a,b",
				EnvAccessTokenTTL: "10m", EnvCookiePassword: strings.Repeat("p", 32),
			},
			want: func(t *testing.T, c Config) {
				if c.APIKey != testKey || len(c.Issuers) != 2 || c.Issuers[1] != "https://api.workos.com/" ||
					len(c.Audiences) != 2 || c.TokenLifetime != 10*time.Minute || c.BaseURL != "https://auth.example.com" {
					t.Fatalf("got %+v", c)
				}
			},
		},
		{
			name: "AuthKit hostname variables",
			env:  map[string]string{EnvAPIHostname: "localhost", EnvAPIPort: "4100", EnvAPIHTTPS: "false"},
			want: func(t *testing.T, c Config) {
				if c.BaseURL != "http://localhost:4100" {
					t.Fatalf("BaseURL %q", c.BaseURL)
				}
			},
		},
		{
			name: "base URL wins over hostname",
			env:  map[string]string{EnvBaseURL: "https://a.example", EnvAPIHostname: "b.example"},
			want: func(t *testing.T, c Config) {
				if c.BaseURL != "https://a.example" {
					t.Fatalf("BaseURL %q", c.BaseURL)
				}
			},
		},
		{name: "bad TTL", env: map[string]string{EnvAccessTokenTTL: "five"}, wantErr: EnvAccessTokenTTL},
		{name: "negative TTL", env: map[string]string{EnvAccessTokenTTL: "-1m"}, wantErr: EnvAccessTokenTTL},
		{name: "bad port", env: map[string]string{EnvAPIHostname: "h", EnvAPIPort: "x"}, wantErr: EnvAPIPort},
		{name: "bad https flag", env: map[string]string{EnvAPIHostname: "h", EnvAPIHTTPS: "maybe"}, wantErr: EnvAPIHTTPS},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ConfigFromEnv(envOf(tt.env))
			if tt.wantErr != "" {
				if !errors.Is(err, authport.ErrMisconfigured) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want ErrMisconfigured naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.want(t, c)
		})
	}
}

func TestNewValidates(t *testing.T) {
	ok := Config{APIKey: testKey, ClientID: testClient}
	tests := []struct {
		name    string
		mod     func(*Config)
		wantErr string // "" = valid
	}{
		{"valid", func(*Config) {}, ""},
		{"no key", func(c *Config) { c.APIKey = "" }, EnvAPIKey},
		{"key not sk_", func(c *Config) { c.APIKey = "pk_live_123" }, EnvAPIKey},
		{"key with space", func(c *Config) { c.APIKey = "sk_test_a b" }, EnvAPIKey},
		{"no client", func(c *Config) { c.ClientID = "" }, EnvClientID},
		{"client swapped with key", func(c *Config) { c.ClientID = testKey }, EnvClientID},
		{"client with slash", func(c *Config) { c.ClientID = "client_a/../b" }, EnvClientID},
		{"base http remote", func(c *Config) { c.BaseURL = "http://api.example.com" }, EnvBaseURL},
		{"base http loopback", func(c *Config) { c.BaseURL = "http://127.0.0.1:4100/" }, ""},
		{"base relative", func(c *Config) { c.BaseURL = "/api" }, EnvBaseURL},
		{"base with query", func(c *Config) { c.BaseURL = "https://a.example?x=1" }, EnvBaseURL},
		{"base ftp", func(c *Config) { c.BaseURL = "ftp://a.example" }, EnvBaseURL},
		{"redirect relative", func(c *Config) { c.RedirectURI = "/callback" }, EnvRedirectURI},
		{"redirect http dev", func(c *Config) { c.RedirectURI = "http://localhost:3000/auth/callback" }, ""},
		{"empty issuer", func(c *Config) { c.Issuers = []string{""} }, EnvIssuers},
		{"padded issuer", func(c *Config) { c.Issuers = []string{" https://x"} }, EnvIssuers},
		{"duplicate issuers", func(c *Config) { c.Issuers = []string{"https://a.example", "https://b.example", "https://a.example"} }, ""},
		{"empty audience", func(c *Config) { c.Audiences = []string{""} }, EnvAudience},
		{"ttl too long", func(c *Config) { c.TokenLifetime = 48 * time.Hour }, EnvAccessTokenTTL},
		{"short cookie password", func(c *Config) { c.CookiePassword = "short" }, EnvCookiePassword},
		{"jwks http remote", func(c *Config) { c.JWKSURL = "http://keys.example.com/jwks" }, EnvJWKSURL},
		{"leeway too large", func(c *Config) { c.Leeway = time.Hour }, "leeway"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.mod(&c)
			a, err := New(context.Background(), c)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if a.Provider() != "workos" {
					t.Fatal(a.Provider())
				}
				return
			}
			if !errors.Is(err, authport.ErrMisconfigured) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want ErrMisconfigured naming %s", err, tt.wantErr)
			}
			for _, secret := range []string{c.APIKey, c.CookiePassword} {
				if len(secret) > 8 && strings.Contains(err.Error(), secret) {
					t.Fatal("error quotes a secret")
				}
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	a, err := New(context.Background(), Config{APIKey: testKey, ClientID: testClient})
	if err != nil {
		t.Fatal(err)
	}
	c := a.Config()
	if c.BaseURL != DefaultBaseURL || c.TokenLifetime != DefaultTokenLifetime {
		t.Fatalf("defaults %+v", c)
	}
	if c.JWKSURL != "https://api.workos.com/sso/jwks/"+testClient {
		t.Fatalf("JWKS URL %q (must be the SDK's GetJWKSURL)", c.JWKSURL)
	}
	want := []string{"https://api.workos.com/user_management/" + testClient, "https://api.workos.com/", "https://api.workos.com"}
	if strings.Join(c.Issuers, " ") != strings.Join(want, " ") {
		t.Fatalf("issuers %v", c.Issuers)
	}
	if a.Client().Endpoint != DefaultBaseURL || a.Client().APIKey != testKey {
		t.Fatal("SDK client not configured")
	}
	d := a.Describe()
	if d.RevocationDelay != 5*time.Minute || d.Unsupported[authport.CapStrictVerify] == "" {
		t.Fatalf("Describe %+v", d)
	}
	caps := authport.Capabilities(a)
	for _, want := range []authport.Capability{authport.CapPasswordSignIn, authport.CapSignUp, authport.CapRedirectSignIn, authport.CapRefresh, authport.CapRevoke} {
		found := false
		for _, c := range caps {
			found = found || c == want
		}
		if !found {
			t.Errorf("capability %s missing from %v", want, caps)
		}
	}
	if authport.Has(a, authport.CapStrictVerify) {
		t.Error("strict verify must be unsupported")
	}
	if a.CookieKeys() != nil {
		t.Error("CookieKeys without a password")
	}
}

func TestCookieKeys(t *testing.T) {
	pw := "a-very-long-cookie-password-of-32+chars"
	a, err := New(context.Background(), Config{APIKey: testKey, ClientID: testClient, CookiePassword: pw})
	if err != nil {
		t.Fatal(err)
	}
	k := a.CookieKeys()
	if len(k) != 1 || len(k[0]) != 32 {
		t.Fatalf("keys %v", k)
	}
	b, _ := New(context.Background(), Config{APIKey: testKey, ClientID: testClient, CookiePassword: pw})
	if string(b.CookieKeys()[0]) != string(k[0]) {
		t.Fatal("derivation is not deterministic")
	}
	if strings.Contains(string(k[0]), pw[:8]) {
		t.Fatal("key is the password")
	}
	if _, err := authport.NewSealer(k); err != nil {
		t.Fatalf("derived key rejected by the sealer: %v", err)
	}
}

func TestOpenURL(t *testing.T) {
	t.Setenv(EnvAPIKey, testKey)
	tests := []struct {
		url     string
		check   func(t *testing.T, c Config)
		wantErr string
	}{
		{url: "workos://" + testClient, check: func(t *testing.T, c Config) {
			if c.ClientID != testClient || c.APIKey != testKey {
				t.Fatalf("%+v", c)
			}
		}},
		{url: "workos:///?client_id=" + testClient + "&issuer=https://a.example&issuer=https://b.example,https://c.example&audience=x&access_token_ttl=2m&base_url=http://127.0.0.1:9",
			check: func(t *testing.T, c Config) {
				if len(c.Issuers) != 3 || len(c.Audiences) != 1 || c.TokenLifetime != 2*time.Minute || c.BaseURL != "http://127.0.0.1:9" {
					t.Fatalf("%+v", c)
				}
			}},
		{url: "workos://" + testClient + "?redirect_uri=" + url.QueryEscape("https://app.example.com/cb") + "&api_key=sk_test_other",
			check: func(t *testing.T, c Config) {
				if c.RedirectURI != "https://app.example.com/cb" || c.APIKey != "sk_test_other" {
					t.Fatalf("%+v", c)
				}
			}},
		{url: "workos://" + testClient + "?bogus=1", wantErr: "bogus"},
		{url: "workos://" + testClient + "/path", wantErr: "client id"},
		{url: "workos://" + testClient + "?client_id=client_other", wantErr: "two different"},
		{url: "workos://" + testClient + "?access_token_ttl=soon", wantErr: "access_token_ttl"},
		{url: "workos://", wantErr: EnvClientID},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			a, err := authport.OpenURL(context.Background(), tt.url)
			if tt.wantErr != "" {
				if !errors.Is(err, authport.ErrMisconfigured) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want ErrMisconfigured with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, a.(*Authenticator).Config())
		})
	}
}

func TestFromEnvMissingVariable(t *testing.T) {
	_, err := authport.FromEnvFunc(context.Background(), envOf(map[string]string{authport.ProviderEnv: "workos", EnvClientID: testClient}))
	if !errors.Is(err, authport.ErrMisconfigured) || !strings.Contains(err.Error(), EnvAPIKey) {
		t.Fatalf("got %v, want ErrMisconfigured naming %s", err, EnvAPIKey)
	}
}
