package authport

import (
	"net/url"
	"strings"
)

// maxReturnTo bounds a return_to value.
const maxReturnTo = 2048

// SafeReturnTo returns raw if it is a same-origin absolute path (with an
// optional query), and "/" otherwise. It is for return_to and similar
// redirect targets taken from a request, and refuses every form of open
// redirect:
//
//   - absolute and scheme-relative URLs ("https://evil", "//evil"), and
//     anything not starting with "/" ("javascript:...", "evil.com");
//   - backslashes anywhere ("/\evil", which browsers read as "//evil");
//   - control characters, spaces and non-ASCII bytes (browsers strip tabs
//     and newlines, so "/\t/evil" becomes "//evil");
//   - the same tricks percent-encoded, however many times
//     ("/%2F%2Fevil", "/%5Cevil", "/%252F%252Fevil");
//   - dot segments ("/../", "/./"), userinfo, fragments, and values over
//     2048 bytes.
func SafeReturnTo(raw string) string {
	if s, ok := safeReturnTo(raw); ok {
		return s
	}
	return "/"
}

// safeReturnTo is SafeReturnTo reporting whether raw was accepted.
func safeReturnTo(raw string) (string, bool) {
	if raw == "" || len(raw) > maxReturnTo || raw[0] != '/' {
		return "", false
	}
	if !safePathChars(raw) {
		return "", false
	}
	path, _, _ := strings.Cut(raw, "?")
	// Decode until stable: every layer must pass the same checks, so no
	// amount of percent-encoding smuggles "//", "\" or a control byte.
	for i := 0; ; i++ {
		if !safeDecodedPath(path) {
			return "", false
		}
		if !strings.Contains(path, "%") {
			break
		}
		if i == 4 {
			return "", false // still encoded after four rounds: not honest
		}
		dec, err := url.PathUnescape(path)
		if err != nil {
			if i == 0 {
				return "", false // malformed escape in the raw value
			}
			break // a literal "%" that was itself encoded
		}
		path = dec
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || u.Fragment != "" {
		return "", false
	}
	return raw, true
}

// safePathChars rejects bytes that have no place in a request URI.
func safePathChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == '\\' || c == '#' {
			return false
		}
	}
	return true
}

// safeDecodedPath checks one decoding layer of a path.
func safeDecodedPath(p string) bool {
	if p == "" || p[0] != '/' || strings.HasPrefix(p, "//") {
		return false
	}
	for i := 0; i < len(p); i++ {
		// Decoded layers may hold UTF-8 (an encoded "é" is fine), but
		// never a control byte, a space, a backslash or a fragment.
		if c := p[i]; c <= ' ' || c == 0x7f || c == '\\' || c == '#' {
			return false
		}
	}
	for seg := range strings.SplitSeq(p[1:], "/") {
		if seg == "." || seg == ".." {
			return false
		}
	}
	return true
}
