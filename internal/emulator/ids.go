package emulator

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"sync"
	"time"
)

// NewUUID returns a random (version 4) UUID in its canonical form,
// "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx".
func NewUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 9562 variant
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

var ulidMu sync.Mutex
var ulidLast [16]byte

// NewULID returns a ULID (26 characters of Crockford base32: a 48-bit
// millisecond timestamp followed by 80 random bits) for the real time.
// ULIDs made in the same millisecond by this process sort in the order they
// were made.
func NewULID() string { return ULIDAt(time.Now()) }

// ULIDAt returns a ULID whose timestamp is t, so that ids minted under an
// emulator Clock carry the emulated time.
func ULIDAt(t time.Time) string {
	var b [16]byte
	ms := uint64(t.UnixMilli())
	binary.BigEndian.PutUint16(b[0:2], uint16(ms>>32))
	binary.BigEndian.PutUint32(b[2:6], uint32(ms))
	rand.Read(b[6:])
	ulidMu.Lock()
	if [6]byte(b[:6]) == [6]byte(ulidLast[:6]) {
		// Same millisecond: increment the previous random part so the
		// order is monotonic, as the ULID spec suggests.
		b = ulidLast
		for i := 15; i >= 6; i-- {
			b[i]++
			if b[i] != 0 {
				break
			}
		}
	}
	ulidLast = b
	ulidMu.Unlock()
	return encodeULID(b)
}

func encodeULID(b [16]byte) string {
	// 128 bits as 26 base32 digits: the first digit carries 3 bits.
	var out [26]byte
	hi := binary.BigEndian.Uint64(b[0:8])
	lo := binary.BigEndian.Uint64(b[8:16])
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

// RandomToken returns n random bytes as unpadded base64url: an opaque,
// unguessable value for refresh tokens, codes and session ids.
func RandomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// RandomHex returns n random bytes as lower-case hex (Firebase's 40-hex key
// ids are RandomHex(20)).
func RandomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// RandomBase62 returns n random characters from [0-9A-Za-z], without bias.
func RandomBase62(n int) string {
	out := make([]byte, 0, n)
	var buf [64]byte
	for len(out) < n {
		rand.Read(buf[:])
		for _, c := range buf {
			if c < 248 { // 248 = 4*62: reject to stay unbiased
				out = append(out, base62[c%62])
				if len(out) == n {
					break
				}
			}
		}
	}
	return string(out)
}

// PrefixedID returns an id generator that puts prefix in front of gen's
// ids: PrefixedID("user_", NewULID) makes WorkOS-style "user_01H…" ids,
// PrefixedID("sso_oidc_key_pair_", NewULID) WorkOS key ids.
func PrefixedID(prefix string, gen func() string) func() string {
	return func() string { return prefix + gen() }
}
