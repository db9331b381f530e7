package authport_test

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestJOSEMinimumVersions pins the JOSE libraries that provider SDKs pull
// in at or above the releases that fixed their known CVEs
// (alg confusion, signature bypass, unbounded decompression). authport verifies every token
// itself; these libraries are reached only through the SDKs, but a
// downgrade must still fail the build's tests.
func TestJOSEMinimumVersions(t *testing.T) {
	data, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	minimum := map[string]string{
		"github.com/go-jose/go-jose/v3": "v3.0.4", // CVE-2025-27144
		"github.com/go-jose/go-jose/v4": "v4.0.5", // CVE-2025-27144
		"github.com/golang-jwt/jwt/v4":  "v4.5.2", // CVE-2025-30204, CVE-2024-51744
		"github.com/golang-jwt/jwt/v5":  "v5.2.2", // CVE-2025-30204
		"github.com/lestrrat-go/jwx/v3": "v3.3.0", // GHSA-4cf7-xm37-g63h
		"gopkg.in/go-jose/go-jose.v2":   "v2.6.3", // last v2 release (used by go-jwt-middleware v2; see auth0 docs)
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "require")))
		if len(f) < 2 {
			continue
		}
		if want, ok := minimum[f[0]]; ok && semverLess(f[1], want) {
			t.Errorf("%s %s is older than %s", f[0], f[1], want)
		}
	}
}

// semverLess compares vMAJOR.MINOR.PATCH prefixes numerically.
func semverLess(a, b string) bool {
	pa, pb := semverParts(a), semverParts(b)
	for i := range 3 {
		if pa[i] != pb[i] {
			return pa[i] < pb[i]
		}
	}
	return false
}

func semverParts(v string) [3]int {
	var out [3]int
	v = strings.TrimPrefix(v, "v")
	if i := strings.IndexAny(v, "-+"); i >= 0 {
		v = v[:i]
	}
	for i, p := range strings.SplitN(v, ".", 3) {
		out[i], _ = strconv.Atoi(p)
	}
	return out
}

func TestSemverLess(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{{"v3.0.3", "v3.0.4", true}, {"v3.0.4", "v3.0.4", false}, {"v3.1.0", "v3.0.4", false}, {"v4.0.10", "v4.0.5", false}, {"v2.6.3-pre", "v2.6.3", false}} {
		if got := semverLess(c.a, c.b); got != c.want {
			t.Errorf("semverLess(%s, %s) = %v", c.a, c.b, got)
		}
	}
}
