package authport

import (
	"net/http/httptest"
	"testing"
)

func TestChunkedCookieValue(t *testing.T) {
	const n = "authjs.session-token"
	tests := []struct {
		name   string
		cookie string
		want   string
		ok     bool
	}{
		{"in order", n + ".0=ab; " + n + ".1=cd; " + n + ".2=e", "abcde", true},
		{"out of order", n + ".1=cd; " + n + ".0=ab", "abcd", true},
		{"one chunk", n + ".0=ab", "ab", true},
		{"none", "other=1", "", false},
		{"gap", n + ".0=ab; " + n + ".2=cd", "", false},
		{"no chunk zero", n + ".1=cd", "", false},
		{"repeat", n + ".0=ab; " + n + ".0=cd", "", false},
		{"leading zero ignored", n + ".0=ab; " + n + ".01=cd", "ab", true},
		{"similar names ignored", n + ".0=ab; " + n + "-x.1=cd; " + n + "x.1=zz; " + n + ".1x=yy", "ab", true},
		{"sign ignored", n + ".0=ab; " + n + ".+1=cd", "ab", true},
		{"too many", n + ".64=x", "", false},
		{"quoted", n + `.0="ab"`, "ab", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Cookie", tt.cookie)
			got, ok := chunkedCookieValue(r, n)
			if got != tt.want || ok != tt.ok {
				t.Fatalf("got %q, %v; want %q, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}
