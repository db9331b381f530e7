// Package config holds the small parsing rules every adapter applies to its
// environment variables and URLs, so that they read settings the same way.
package config

import (
	"net"
	"slices"
	"strings"
)

// List splits a setting such as "a, b c" on commas and white space, drops
// empty words and repeats, and keeps the order.
func List(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r'
	}) {
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// IsLoopbackHost reports whether host (without port) is "localhost" or a
// loopback IP address: the only hosts for which adapters accept plain HTTP
// (emulators, local development).
func IsLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// IsUUID reports whether s is a UUID in canonical 8-4-4-4-12 hex form (as
// Supabase requires for "sub" and "session_id").
func IsUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}
