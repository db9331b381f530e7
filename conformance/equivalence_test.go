package conformance_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/authport/authport/conformance"
)

// TestEquivalenceReference records the stories on two instances of the
// reference provider: their transcripts must be identical, so the
// normalisation hides every id, token and time.
func TestEquivalenceReference(t *testing.T) {
	a, b := newRef(t, "").harness(), newRef(t, "").harness()
	a.Name, b.Name = "ref-a", "ref-b"
	trs := conformance.RunEquivalence(t, nil, a, b)
	if len(trs) != 2 {
		t.Fatalf("%d transcripts", len(trs))
	}
	for _, key := range []string{"SignIn/WrongPassword/status", "Session/SignedIn/json", "Guard/Role/Without/status", "Expired/Verify", "ProviderDown/Verify"} {
		if _, ok := trs[0].Get(key); !ok {
			t.Errorf("transcript has no %s:\n%s", key, trs[0])
		}
	}
	for _, e := range trs[0].Entries {
		if strings.Contains(e.Value, "eyJ") || strings.Contains(e.Value, "@example.com") {
			t.Errorf("%s not normalised: %q", e.Key, e.Value)
		}
	}
}

// TestEquivalenceCatchesDifference proves the diff fails on an adapter
// that reports the wrong error kind, unless a declared row covers it.
func TestEquivalenceCatchesDifference(t *testing.T) {
	good, bad := newRef(t, "").harness(), newRef(t, "wrong-kind").harness()
	good.Name, bad.Name = "ref", "ref-wrong-kind"
	tg, tb := conformance.Record(t, good), conformance.Record(t, bad)
	undeclared, _ := conformance.Compare(tg, tb, nil)
	if !slices.ContainsFunc(undeclared, func(s string) bool { return strings.HasPrefix(s, "ProviderDown/Verify:") }) {
		t.Fatalf("the wrong kind went unnoticed: %q", undeclared)
	}
	all := []conformance.Difference{{Harness: "ref-", Key: "", Reason: "x"}}
	for _, u := range undeclared {
		k, _, _ := strings.Cut(u, ":")
		all = append(all, conformance.Difference{Harness: "ref-wrong-kind", Key: k, Reason: "declared"})
	}
	if rest, used := conformance.Compare(tg, tb, all); len(rest) != 0 || len(used) != len(undeclared) {
		t.Fatalf("declared rows did not cover: rest %q used %v", rest, used)
	}
}

func TestCompare(t *testing.T) {
	ref := &conformance.Transcript{Name: "ref", Entries: []conformance.Entry{{"A/status", "200"}, {"B/status", "401"}, {"C", "x"}}}
	got := &conformance.Transcript{Name: "clerk", Entries: []conformance.Entry{{"A/status", "501"}, {"B/status", "401"}, {"D", "y"}}}
	tests := []struct {
		name     string
		declared []conformance.Difference
		want     int
		used     []int
	}{
		{"none declared", nil, 3, nil},
		{"exact key", []conformance.Difference{{Harness: "clerk", Key: "A/status", Reason: "r"}}, 2, []int{0}},
		{"key prefix", []conformance.Difference{{Harness: "clerk", Key: "A/", Reason: "r"}, {Harness: "clerk", Key: "C", Reason: "r"}, {Harness: "clerk", Key: "D", Reason: "r"}}, 0, []int{0, 1, 2}},
		{"other harness", []conformance.Difference{{Harness: "auth0", Key: "A/", Reason: "r"}}, 3, nil},
		{"harness prefix", []conformance.Difference{{Harness: "cl-", Key: "A/", Reason: "r"}}, 3, nil},
		{"prefix needs slash", []conformance.Difference{{Harness: "clerk", Key: "A", Reason: "r"}}, 3, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			undeclared, used := conformance.Compare(ref, got, tt.declared)
			if len(undeclared) != tt.want || !slices.Equal(used, tt.used) {
				t.Fatalf("undeclared %q used %v", undeclared, used)
			}
		})
	}
}
