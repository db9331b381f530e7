package supabasetest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"strings"
	"testing"
)

// secondFormat builds a refresh token in GoTrue's second layout.
func secondFormat(version byte, counter uint64, sigLen int, breakSum bool) string {
	b := []byte{version}
	b = append(b, make([]byte, 16)...)
	b = binary.AppendUvarint(b, counter)
	b = append(b, make([]byte, sigLen)...)
	sum := sha256.Sum256(b)
	if breakSum {
		sum[0] ^= 1
	}
	b = append(b, sum[:rtChecksumLen]...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestRefreshTokenShaped(t *testing.T) {
	for _, tc := range []struct {
		name string
		tok  string
		want bool
	}{
		{"empty", "", false},
		{"short", "abc", false},
		{"eleven", "abcdefghijk", false},
		{"legacy", "abcdefgh1234", true},
		{"legacy upper case", "ABCDEFGH1234", false},
		{"legacy punctuation", "abcdefgh-234", false},
		{"second format", secondFormat(0, 7, rtSignatureLen, false), true},
		{"second format, large counter", secondFormat(0, 1<<40, rtSignatureLen, false), true},
		{"unknown version", secondFormat(1, 7, rtSignatureLen, false), false},
		{"bad checksum", secondFormat(0, 7, rtSignatureLen, true), false},
		{"short signature", secondFormat(0, 7, rtSignatureLen-1, false), false},
		{"not base64url", strings.Repeat("!", 50), false},
		{"too long", strings.Repeat("A", 500), false},
	} {
		if got := refreshTokenShaped(tc.tok); got != tc.want {
			t.Errorf("%s: refreshTokenShaped(%q) = %v, want %v", tc.name, tc.tok, got, tc.want)
		}
	}
}
