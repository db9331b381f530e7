package firebase

import (
	"testing"
	"time"
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

func TestRevocations(t *testing.T) {
	var r revocations
	now := time.Unix(1_800_000_000, 0)
	if r.denied("u", now) {
		t.Fatal("empty list denies")
	}
	r.add("u", now.Unix(), now)
	for _, c := range []struct {
		iat  time.Time
		want bool
	}{{now.Add(-time.Second), true}, {now.Add(-500 * time.Millisecond), true}, {now, false}, {now.Add(time.Second), false}} {
		if got := r.denied("u", c.iat); got != c.want {
			t.Errorf("iat %v: denied %v, want %v", c.iat, got, c.want)
		}
	}
	if r.denied("other", now.Add(-time.Hour)) {
		t.Fatal("another user denied")
	}
	// Entries expire once no token they could refuse is alive.
	later := now.Add(MaxSessionCookieTTL + time.Hour)
	r.add("v", later.Unix(), later)
	if r.denied("u", now.Add(-time.Second)) {
		t.Fatal("an expired entry was kept")
	}
}
