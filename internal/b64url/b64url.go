// Package b64url decodes canonical unpadded base64url (RFC 4648 §5), the
// encoding of tokens, sealed cookies and JWK members. Go's decoder skips
// CR and LF even in Strict mode, so a value with line breaks inserted
// would decode to the same bytes (and a length checked on the encoded text
// would not bound the decoded one); this package refuses any byte outside
// the alphabet before decoding.
package b64url

import (
	"encoding/base64"
	"errors"
)

// ErrMalformed is returned for input that is not canonical base64url.
var ErrMalformed = errors.New("malformed base64url")

var enc = base64.RawURLEncoding.Strict()

// Valid reports whether every byte of s is in the base64url alphabet
// (A–Z, a–z, 0–9, '-', '_'); padding and white space are refused.
func Valid[T string | []byte](s T) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// DecodeString decodes s, which must be canonical unpadded base64url.
func DecodeString(s string) ([]byte, error) {
	if !Valid(s) {
		return nil, ErrMalformed
	}
	b, err := enc.DecodeString(s)
	if err != nil {
		return nil, ErrMalformed
	}
	return b, nil
}

// Decode decodes src into dst (which must hold DecodedLen(len(src))
// bytes) and returns the number of bytes written.
func Decode(dst, src []byte) (int, error) {
	if !Valid(src) {
		return 0, ErrMalformed
	}
	n, err := enc.Decode(dst, src)
	if err != nil {
		return 0, ErrMalformed
	}
	return n, nil
}
