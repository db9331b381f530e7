package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestReport(t *testing.T) {
	in := strings.Join([]string{
		`{"Action":"pass","Test":"TestConformance/clerk/LoginState/NoCredential"}`,
		`{"Action":"output","Test":"TestConformance/clerk/Refresh","Output":"    http.go:1: N/A: Clerk sessions refresh in the frontend\n"}`,
		`{"Action":"skip","Test":"TestConformance/clerk/Refresh"}`,
		`{"Action":"fail","Test":"TestConformance/diy/LoginState/NoCredential"}`,
		`{"Action":"skip","Test":"TestConformance/diy/Attacks/J01_AlgNone"}`,
		`not json`,
	}, "\n")
	var out bytes.Buffer
	if err := run(strings.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{"| LoginState/NoCredential | ✅ | ❌ |", "N/A[1]", "Clerk sessions refresh in the frontend", "| skip |"} {
		if !strings.Contains(s, want) {
			t.Errorf("missing %q in\n%s", want, s)
		}
	}
}
