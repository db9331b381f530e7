package diy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"

	"github.com/authport/authport"
)

// HashParams are argon2id parameters.
type HashParams struct {
	// Memory is in KiB (19456 = 19 MiB).
	Memory uint32
	// Time is the number of passes.
	Time uint32
	// Threads is the degree of parallelism.
	Threads uint8
	// SaltLen and KeyLen are in bytes.
	SaltLen, KeyLen uint32
}

// DefaultHashParams are OWASP's argon2id floor: m = 19 MiB, t = 2, p = 1,
// with a 16-byte salt and a 32-byte key.
var DefaultHashParams = HashParams{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Password policy.
const (
	// MinPasswordLen and MaxPasswordLen bound a password's length in
	// characters (Unicode code points). Any Unicode is allowed and there
	// are no composition rules.
	MinPasswordLen = 8
	MaxPasswordLen = 256
	// bcryptMaxBytes is bcrypt's input limit; longer passwords never
	// verify against a bcrypt hash (bcrypt would silently truncate).
	bcryptMaxBytes = 72
)

// Limits on hashes read from the store, so that a hostile or corrupt row
// cannot make a sign-in allocate without bound.
const (
	maxStoredMemory  = 1 << 20 // KiB (1 GiB)
	maxStoredTime    = 16
	maxStoredThreads = 16
)

var errMalformedHash = errors.New("diy: malformed password hash")

func (p HashParams) valid() error {
	switch {
	case p.Memory < 8*uint32(max(p.Threads, 1)) || p.Memory > maxStoredMemory:
		return fmt.Errorf("diy: argon2id memory %d KiB out of range", p.Memory)
	case p.Time < 1 || p.Time > maxStoredTime:
		return fmt.Errorf("diy: argon2id time %d out of range", p.Time)
	case p.Threads < 1 || p.Threads > maxStoredThreads:
		return fmt.Errorf("diy: argon2id threads %d out of range", p.Threads)
	case p.SaltLen < 8 || p.SaltLen > 64:
		return fmt.Errorf("diy: salt length %d out of range 8..64", p.SaltLen)
	case p.KeyLen < 16 || p.KeyLen > 64:
		return fmt.Errorf("diy: key length %d out of range 16..64", p.KeyLen)
	}
	return nil
}

// HashPassword hashes password with argon2id and returns the PHC string
// "$argon2id$v=19$m=…,t=…,p=…$salt$hash". It does not check the password
// policy (see CheckPassword).
func HashPassword(password string, p HashParams) (string, error) {
	if err := p.valid(); err != nil {
		return "", err
	}
	salt := make([]byte, p.SaltLen)
	rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

type argonHash struct {
	p    HashParams
	salt []byte
	key  []byte
}

func parseArgon2id(encoded string) (*argonHash, error) {
	parts := strings.Split(encoded, "$")
	// "", "argon2id", "v=19", "m=…,t=…,p=…", salt, key
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return nil, errMalformedHash
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return nil, errMalformedHash
	}
	var h argonHash
	seen := map[string]bool{}
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || seen[k] {
			return nil, errMalformedHash
		}
		seen[k] = true
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return nil, errMalformedHash
		}
		switch k {
		case "m":
			h.p.Memory = uint32(n)
		case "t":
			h.p.Time = uint32(n)
		case "p":
			if n > 255 {
				return nil, errMalformedHash
			}
			h.p.Threads = uint8(n)
		default:
			return nil, errMalformedHash
		}
	}
	if len(seen) != 3 {
		return nil, errMalformedHash
	}
	var err error
	if h.salt, err = base64.RawStdEncoding.Strict().DecodeString(parts[4]); err != nil {
		return nil, errMalformedHash
	}
	if h.key, err = base64.RawStdEncoding.Strict().DecodeString(parts[5]); err != nil {
		return nil, errMalformedHash
	}
	h.p.SaltLen, h.p.KeyLen = uint32(len(h.salt)), uint32(len(h.key))
	if h.p.valid() != nil {
		return nil, errMalformedHash
	}
	return &h, nil
}

func isBcrypt(encoded string) bool {
	return strings.HasPrefix(encoded, "$2a$") || strings.HasPrefix(encoded, "$2b$") || strings.HasPrefix(encoded, "$2y$")
}

// VerifyPassword reports whether password matches encoded, an argon2id PHC
// string or a bcrypt hash ($2a$, $2b$, $2y$). A password longer than 72
// bytes never matches a bcrypt hash, since bcrypt would compare only its
// first 72 bytes. The comparison of derived keys is constant-time. An error
// means encoded is not a hash this package understands.
func VerifyPassword(encoded, password string) (bool, error) {
	switch {
	case strings.HasPrefix(encoded, "$argon2id$"):
		h, err := parseArgon2id(encoded)
		if err != nil {
			return false, err
		}
		got := argon2.IDKey([]byte(password), h.salt, h.p.Time, h.p.Memory, h.p.Threads, h.p.KeyLen)
		return subtle.ConstantTimeCompare(got, h.key) == 1, nil
	case isBcrypt(encoded):
		if len(password) > bcryptMaxBytes {
			return false, nil
		}
		err := bcrypt.CompareHashAndPassword([]byte(encoded), []byte(password))
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
			return false, nil
		default:
			return false, errMalformedHash
		}
	}
	return false, errMalformedHash
}

// NeedsRehash reports whether encoded should be replaced by a fresh argon2id
// hash with parameters p: it is bcrypt, or argon2id with other parameters.
func NeedsRehash(encoded string, p HashParams) bool {
	h, err := parseArgon2id(encoded)
	if err != nil {
		return true
	}
	return h.p != p
}

//go:generate go run ./internal/gencommon -o common_passwords.txt

//go:embed common_passwords.txt
var commonPasswordsTxt []byte

var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	m := make(map[string]struct{}, 8192)
	sc := bufio.NewScanner(bytes.NewReader(commonPasswordsTxt))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			m[l] = struct{}{}
		}
	}
	return m
})

// IsCommonPassword reports whether password (compared case-insensitively)
// is on the embedded list of the most common passwords of at least
// MinPasswordLen characters.
func IsCommonPassword(password string) bool {
	_, ok := commonPasswords()[strings.ToLower(password)]
	return ok
}

// CheckPassword applies the password policy for a new password: valid
// UTF-8, MinPasswordLen to MaxPasswordLen characters, not a common
// password. Any Unicode and whitespace is allowed; there are no composition
// rules. The error is of kind authport.ErrInvalidInput and its Reason says
// what is wrong.
func CheckPassword(password string) error {
	if err := checkPasswordShape(password, MinPasswordLen); err != nil {
		return err
	}
	if IsCommonPassword(password) {
		return invalidInput("sign_up", "password is too common")
	}
	return nil
}

// checkPasswordShape checks encoding and length.
func checkPasswordShape(password string, minLen int) error {
	if !utf8.ValidString(password) {
		return invalidInput("password", "password is not valid UTF-8")
	}
	n := utf8.RuneCountInString(password)
	if n < minLen {
		if minLen <= 1 {
			return invalidInput("password", "password is required")
		}
		return invalidInput("password", fmt.Sprintf("password must have at least %d characters", minLen))
	}
	if n > MaxPasswordLen {
		return invalidInput("password", fmt.Sprintf("password must have at most %d characters", MaxPasswordLen))
	}
	return nil
}

// hasher bounds concurrent hashing: at most cap(sem) hashes run at once, so
// peak memory is about cap(sem) × Memory; excess callers wait up to wait and
// then get ErrProviderUnavailable (503 with Retry-After).
type hasher struct {
	params HashParams
	sem    chan struct{}
	wait   time.Duration
	dummy  string
	// checks and dummyChecks count password checks against a stored hash
	// and against the dummy: tests prove with them that an unknown email
	// costs a hash like a wrong password does (no clock involved).
	checks, dummyChecks atomic.Int64
}

func newHasher(p HashParams, concurrent int, wait time.Duration) (*hasher, error) {
	if err := p.valid(); err != nil {
		return nil, err
	}
	h := &hasher{params: p, sem: make(chan struct{}, concurrent), wait: wait}
	// A dummy hash of a random password with the current parameters:
	// verified for unknown emails so that they cost the same time.
	dummy, err := HashPassword(rand.Text(), p)
	if err != nil {
		return nil, err
	}
	h.dummy = dummy
	return h, nil
}

func (h *hasher) acquire(ctx context.Context, op string) error {
	select {
	case h.sem <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(h.wait)
	defer t.Stop()
	select {
	case h.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return &authport.Error{Kind: authport.ErrProviderUnavailable, Provider: provider, Op: op, Reason: "request cancelled while waiting to hash", Err: ctx.Err()}
	case <-t.C:
		return &authport.Error{Kind: authport.ErrProviderUnavailable, Provider: provider, Op: op,
			Reason: "too many password checks in progress", Err: retryAfter(time.Second)}
	}
}

func (h *hasher) release() { <-h.sem }

// hash returns a new argon2id hash of password.
func (h *hasher) hash(ctx context.Context, op, password string) (string, error) {
	if err := h.acquire(ctx, op); err != nil {
		return "", err
	}
	defer h.release()
	return HashPassword(password, h.params)
}

// verify checks password against encoded ("" means: no such user; the
// dummy hash is checked so the time is the same) and reports whether it
// matched and whether encoded should be rehashed.
func (h *hasher) verify(ctx context.Context, op, encoded, password string) (ok, rehash bool, err error) {
	if err := h.acquire(ctx, op); err != nil {
		return false, false, err
	}
	defer h.release()
	if encoded == "" {
		h.dummyChecks.Add(1)
		_, _ = VerifyPassword(h.dummy, password)
		return false, false, nil
	}
	if isBcrypt(encoded) && len(password) > bcryptMaxBytes {
		// Refused without bcrypt's truncating compare; spend the same
		// time as a check would.
		h.dummyChecks.Add(1)
		_, _ = VerifyPassword(h.dummy, password)
		return false, false, nil
	}
	h.checks.Add(1)
	ok, err = VerifyPassword(encoded, password)
	if err != nil {
		return false, false, err
	}
	return ok, ok && NeedsRehash(encoded, h.params), nil
}

func bcryptCost(encoded string) (int, error) {
	if !isBcrypt(encoded) {
		return 0, errMalformedHash
	}
	return bcrypt.Cost([]byte(encoded))
}
