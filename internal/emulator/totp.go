package emulator

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/binary"
	"fmt"
	"time"
)

// TOTPStep is the time step of emulated authenticator codes (RFC 6238).
const TOTPStep = 30 * time.Second

// TOTP is the six-digit RFC 6238 code (HMAC-SHA1, 30 s steps) of key at t,
// as the authenticator app of an emulated user shows it.
func TOTP(key []byte, t time.Time) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(t.Unix()/int64(TOTPStep/time.Second)))
	m := hmac.New(sha1.New, key)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	n := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	return fmt.Sprintf("%06d", n%1_000_000)
}

// TOTPValid reports whether code is key's code at now or one step either
// side (the usual allowance for clock drift), compared in constant time.
func TOTPValid(key []byte, code string, now time.Time) bool {
	ok := false
	for _, d := range []time.Duration{0, -TOTPStep, TOTPStep} {
		if hmac.Equal([]byte(TOTP(key, now.Add(d))), []byte(code)) {
			ok = true
		}
	}
	return ok
}
