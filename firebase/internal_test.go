package firebase

import (
	"testing"
)

func TestErrorCode(t *testing.T) {
	for msg, want := range map[string]string{
		"INVALID_PASSWORD": "INVALID_PASSWORD",
		"WEAK_PASSWORD : Password should be at least 6 characters": "WEAK_PASSWORD",
		"TOO_MANY_ATTEMPTS_TRY_LATER : Access disabled":            "TOO_MANY_ATTEMPTS_TRY_LATER",
		"INVALID_ID_TOKEN:detail":                                  "INVALID_ID_TOKEN",
		"API key not valid. Please pass a valid API key.":          "",
		"The request is missing a valid API key.":                  "",
		"":           "",
		"lower_case": "",
	} {
		if got := errorCode(msg); got != want {
			t.Errorf("errorCode(%q) = %q, want %q", msg, got, want)
		}
	}
}

func TestValidProjectID(t *testing.T) {
	for id, want := range map[string]bool{
		"demo-authport": true, "my-project-123": true, "abcd": true,
		"": false, "abc": false, "My-Project": false, "1project": false, "proj_ect": false, "a/b/c/d": false,
	} {
		if got := validProjectID(id); got != want {
			t.Errorf("validProjectID(%q) = %v", id, got)
		}
	}
}
