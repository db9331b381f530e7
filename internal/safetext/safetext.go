// Package safetext holds the one rule for provider text that may reach an
// error reason, a response body or a log: no token, key, secret, email or
// URL (URLs can carry an API key or a code in their query).
//
// Every adapter goes through it, so "no secret ever reaches a response or a
// log" has one implementation, tested once.
package safetext

import (
	"errors"
	"net/url"
	"strings"
)

// MaxCode is the longest provider error code or status word kept.
const MaxCode = 64

// MaxMessage is the length a provider message is cut to.
const MaxMessage = 160

// maxWord is the longest word a kept message may contain: longer words may
// be opaque credentials.
const maxWord = 40

// Code returns c when it has the shape of a provider error code or status
// word (1 to MaxCode ASCII letters, digits, '_', '-' or '.', and not the
// start of a JWT), and "" when it does not. Callers substitute their own wording for "".
func Code(c string) string {
	if len(c) == 0 || len(c) > MaxCode || strings.Contains(c, "eyJ") {
		return ""
	}
	for i := 0; i < len(c); i++ {
		b := c[i]
		if !('a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '_' || b == '-' || b == '.') {
			return ""
		}
	}
	return c
}

// Message returns a provider's human-readable message cut to MaxMessage
// bytes, or "" when any of it could be a credential (a JWT, a long opaque
// word, an email address) or it holds control characters.
func Message(m string) string {
	if len(m) > MaxMessage {
		m = m[:MaxMessage]
	}
	for i := 0; i < len(m); i++ {
		if m[i] < 0x20 || m[i] == 0x7f {
			return ""
		}
	}
	for _, w := range strings.Fields(m) {
		if strings.Contains(w, "eyJ") || strings.Contains(w, "@") || len(w) > maxWord {
			return ""
		}
	}
	return m
}

// FirstLine returns err's text up to its first newline: SDK errors append
// response bodies after one. It is for errors that carry no credential in
// their first line (configuration errors, for example).
func FirstLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// Redact drops the URL from a transport error (*url.Error), keeping its
// cause (dial error, timeout): the URL can carry an API key, a client
// secret or an authorization code in its query.
func Redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
