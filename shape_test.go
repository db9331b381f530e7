package authport_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// shapeFiles are the files every adapter has, for the same things: doc.go
// (short, with the variables and a link to docs/providers/<name>.md),
// <name>.go (Config, New, Verify, Describe, Name), claims.go (claims to
// Session), calls.go (provider API calls), errors.go (provider errors to
// kinds) and register.go (registry entry and ConfigFromEnv).
var shapeFiles = []string{"doc.go", "claims.go", "calls.go", "errors.go", "register.go"}

// synonyms are Config field names that say, in another word, what every
// adapter calls by one name.
var synonyms = map[string]string{
	"AccessTokenTTL":     "TokenLifetime",
	"JWTExpiry":          "TokenLifetime",
	"SessionCookieTTL":   "TokenLifetime",
	"Audience":           "Audiences",
	"RolesClaims":        "RolesClaim",
	"Now":                "Clock",
	"Timeout":            "HTTPTimeout",
	"DefaultHTTPTimeout": "HTTPTimeout",
}

// notYetShaped lists the adapters still being brought to the shape; each
// entry is debt, to be removed when the adapter is converted. A new
// adapter never goes here.
var notYetShaped = map[string]string{
	"firebase": "Config.RolesClaims is a list of claims, not yet one RolesClaim",
	"diy":      "a backend rather than a provider client: its files and Config (AccessTokenTTL, Audience, Now) predate the shape",
}

// TestAdapterShape holds every adapter (a top-level package that calls
// authport.Register, so adapters added later are held to it too) to the
// same file set and the same Config words.
func TestAdapterShape(t *testing.T) {
	dirs, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, d := range dirs {
		if !d.IsDir() || !registers(t, d.Name()) {
			continue
		}
		name := d.Name()
		found++
		t.Run(name, func(t *testing.T) {
			if why, ok := notYetShaped[name]; ok {
				t.Skipf("not yet in the adapter shape: %s", why)
			}
			for _, f := range append([]string{name + ".go"}, shapeFiles...) {
				if _, err := os.Stat(filepath.Join(name, f)); err != nil {
					t.Errorf("%s/%s is missing", name, f)
				}
			}
			fields := configFields(t, name)
			if fields == nil {
				t.Fatalf("%s has no Config struct", name)
			}
			for _, f := range fields {
				if want, ok := synonyms[f]; ok {
					t.Errorf("%s.Config.%s: call it %s, as every adapter does", name, f, want)
				}
			}
			if !slices.Contains(fields, "Clock") {
				t.Errorf("%s.Config has no Clock", name)
			}
			if slices.Contains(fields, "HTTPClient") && !slices.Contains(fields, "HTTPTimeout") {
				t.Errorf("%s.Config has an HTTPClient but no HTTPTimeout", name)
			}
		})
	}
	if found < 7 {
		t.Fatalf("found %d adapters; the enumeration is broken", found)
	}
}

// registers reports whether dir's non-test Go files call authport.Register.
func registers(t *testing.T, dir string) bool {
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "authport.Register(") {
			return true
		}
	}
	return false
}

// configFields returns the field names of the package's Config struct.
func configFields(t *testing.T, dir string) []string {
	fs := token.NewFileSet()
	pkgs, err := parser.ParseDir(fs, dir, func(fi os.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range pkgs {
		for _, f := range p.Files {
			ast.Inspect(f, func(n ast.Node) bool {
				ts, ok := n.(*ast.TypeSpec)
				if !ok || ts.Name.Name != "Config" {
					return true
				}
				if st, ok := ts.Type.(*ast.StructType); ok {
					out = []string{}
					for _, fl := range st.Fields.List {
						for _, n := range fl.Names {
							out = append(out, n.Name)
						}
					}
				}
				return false
			})
		}
	}
	return out
}
