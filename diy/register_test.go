package diy_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/authport/authport"
	"github.com/authport/authport/diy"
	"github.com/authport/authport/internal/dbtest"
)

func TestOpenFromConfig(t *testing.T) {
	seed := make([]byte, ed25519.SeedSize)
	rand.Read(seed)
	path := filepath.Join(t.TempDir(), "auth.db")
	env := map[string]string{
		"AUTHPORT_DB_URL": "sqlite:" + path, "AUTHPORT_SESSION_MODE": "jwt",
		"AUTHPORT_SIGNING_KEYS": base64.RawURLEncoding.EncodeToString(seed), "AUTHPORT_ISSUER": "https://id.example",
	}
	a, err := authport.FromEnvFunc(context.Background(), func(k string) string {
		if k == authport.ProviderEnv {
			return "diy"
		}
		return env[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	b := a.(*diy.Backend)
	defer b.Close()
	if b.Mode() != diy.ModeJWT || !strings.Contains(string(b.JWKS()), "OKP") {
		t.Fatalf("mode %v, jwks %s", b.Mode(), b.JWKS())
	}

	u, err := authport.OpenURL(t.Context(), "diy://?db="+url.QueryEscape(dbtest.FreshPostgres(t))+"&redis="+url.QueryEscape(dbtest.RedisURL(t)))
	if err != nil {
		t.Fatal(err)
	}
	u.(*diy.Backend).Close()

	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{}, "AUTHPORT_DB_URL"},
		{map[string]string{"AUTHPORT_DB_URL": "mysql://x"}, "AUTHPORT_DB_URL"},
		{map[string]string{"AUTHPORT_DB_URL": "sqlite:" + path, "AUTHPORT_REDIS_URL": "memcache://x"}, "AUTHPORT_REDIS_URL"},
		{map[string]string{"AUTHPORT_DB_URL": "sqlite:" + path, "AUTHPORT_SESSION_MODE": "cookie"}, "AUTHPORT_SESSION_MODE"},
		{map[string]string{"AUTHPORT_DB_URL": "sqlite:" + path, "AUTHPORT_SIGNING_KEYS": "short"}, "AUTHPORT_SIGNING_KEYS"},
	} {
		_, err := authport.FromEnvFunc(context.Background(), func(k string) string {
			if k == authport.ProviderEnv {
				return "diy"
			}
			return tc.env[k]
		})
		if !errors.Is(err, authport.ErrMisconfigured) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("env %v: %v, want ErrMisconfigured naming %s", tc.env, err, tc.want)
		}
	}
}
