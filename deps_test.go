package authport_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencyIsolation enforces the layout rule: the root package links
// no adapter and no third-party module; an adapter links the root,
// internal/ and its own provider SDK, never another adapter or another
// provider's SDK; the DIY stores are separate so DIY on PostgreSQL does not
// link SQLite; the cluster engines link only their own database client.
func TestDependencyIsolation(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is not on PATH: %v", err)
	}
	const mod = "github.com/authport/authport"
	forbidden := map[string]string{
		mod + "/oidc": "oidc", mod + "/clerk": "clerk", mod + "/workos": "workos", mod + "/supabase": "supabase",
		mod + "/firebase": "firebase", mod + "/auth0": "auth0", mod + "/diy": "diy",
		mod + "/authjs":     "authjs",
		mod + "/betterauth": "betterauth",
		"github.com/clerk/": "clerk", "github.com/workos/": "workos", "github.com/supabase-community/": "supabase",
		"firebase.google.com/": "firebase", "github.com/auth0/": "auth0",
		"modernc.org/sqlite": "sqlite", "github.com/jackc/": "pg", "github.com/redis/": "redis", "github.com/chromedp/": "browser",
		mod + "/otelauth": "otel", "go.opentelemetry.io/": "otel",
	}
	cases := []struct {
		pkg     string
		allowed []string // owners from forbidden that this package may link
		stdOnly bool
	}{
		{pkg: mod, stdOnly: true},
		{pkg: mod + "/conformance", stdOnly: true},
		{pkg: mod + "/oidc", allowed: []string{"oidc"}},
		{pkg: mod + "/clerk", allowed: []string{"clerk"}},
		{pkg: mod + "/workos", allowed: []string{"workos"}},
		{pkg: mod + "/supabase", allowed: []string{"supabase"}},
		{pkg: mod + "/firebase", allowed: []string{"firebase", "otel"}}, // Google's client libraries link OpenTelemetry
		{pkg: mod + "/auth0", allowed: []string{"auth0"}},
		{pkg: mod + "/diy", allowed: []string{"diy"}},
		{pkg: mod + "/authjs", allowed: []string{"authjs"}, stdOnly: true},
		{pkg: mod + "/authjs/authjspg", allowed: []string{"authjs", "pg"}},
		{pkg: mod + "/betterauth", allowed: []string{"betterauth"}, stdOnly: true},
		{pkg: mod + "/betterauth/pgdb", allowed: []string{"betterauth", "pg"}},
		{pkg: mod + "/diy/sqlitestore", allowed: []string{"diy", "sqlite"}},
		{pkg: mod + "/diy/pgstore", allowed: []string{"diy", "pg"}},
		{pkg: mod + "/diy/redisstore", allowed: []string{"diy", "redis"}},
		{pkg: mod + "/otelauth", allowed: []string{"otel"}},
		{pkg: mod + "/cluster", stdOnly: true},
		{pkg: mod + "/cluster/clustertest", stdOnly: true},
		{pkg: mod + "/cluster/redis", allowed: []string{"redis"}},
		{pkg: mod + "/cluster/postgres", allowed: []string{"pg"}},
	}
	for _, c := range cases {
		t.Run(strings.TrimPrefix(c.pkg, mod+"/"), func(t *testing.T) {
			out, err := exec.Command(goBin, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", c.pkg).Output()
			if err != nil {
				t.Fatalf("go list: %v", err)
			}
			for _, dep := range strings.Fields(string(out)) {
				if dep == c.pkg || strings.HasPrefix(dep, c.pkg+"/internal") {
					continue
				}
				if c.stdOnly && !strings.HasPrefix(dep, mod) {
					t.Errorf("links third-party %s", dep)
				}
				for prefix, owner := range forbidden {
					if strings.HasPrefix(dep, prefix) && !contains(c.allowed, owner) {
						t.Errorf("links %s (%s)", dep, owner)
					}
				}
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
