package diy_test

import (
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/authport/authport"
	"github.com/authport/authport/diy"
)

func TestHashPasswordPHC(t *testing.T) {
	h, err := diy.HashPassword("pässwörd with spaces ☃", diy.DefaultHashParams)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") || strings.Count(h, "$") != 5 {
		t.Fatalf("hash %q is not an argon2id PHC string with m=19456,t=2,p=1", h)
	}
	h2, _ := diy.HashPassword("pässwörd with spaces ☃", diy.DefaultHashParams)
	if h == h2 {
		t.Fatal("two hashes of one password are equal: salt not random")
	}
	for _, tc := range []struct {
		pw   string
		want bool
	}{
		{"pässwörd with spaces ☃", true},
		{"pässwörd with spaces ☃ ", false},
		{"Pässwörd with spaces ☃", false},
		{"passwörd with spaces ☃", false}, // no normalisation
		{"", false},
	} {
		ok, err := diy.VerifyPassword(h, tc.pw)
		if err != nil || ok != tc.want {
			t.Errorf("VerifyPassword(%q) = %v, %v; want %v", tc.pw, ok, err, tc.want)
		}
	}
	if diy.NeedsRehash(h, diy.DefaultHashParams) {
		t.Error("NeedsRehash with the same parameters")
	}
	if !diy.NeedsRehash(h, diy.HashParams{Memory: 47104, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}) {
		t.Error("NeedsRehash with other parameters is false")
	}
}

func TestVerifyPasswordBcrypt(t *testing.T) {
	p72 := strings.Repeat("a", 72)
	h, err := bcrypt.GenerateFromPassword([]byte(p72), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, pw string
		want     bool
	}{
		{"Exact", p72, true},
		{"Wrong", strings.Repeat("b", 72), false},
		// bcrypt compares only 72 bytes: a longer password must never
		// match, or P[:72]+"EXTRA" would.
		{"Truncation", p72 + "EXTRA", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, err := diy.VerifyPassword(string(h), tc.pw)
			if err != nil || ok != tc.want {
				t.Fatalf("VerifyPassword = %v, %v; want %v", ok, err, tc.want)
			}
		})
	}
	if !diy.NeedsRehash(string(h), diy.DefaultHashParams) {
		t.Error("a bcrypt hash does not need a rehash")
	}
	y := "$2y$" + string(h)[4:]
	if ok, err := diy.VerifyPassword(y, p72); !ok || err != nil {
		t.Errorf("$2y$ hash: %v, %v", ok, err)
	}
}

func TestVerifyPasswordMalformed(t *testing.T) {
	for _, h := range []string{
		"", "plain", "$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=16$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=19456,t=2$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=19456,t=2,p=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=99999999,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", // memory bomb refused
		"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=19456,t=2,p=1$!!$aGFzaGhhc2hoYXNoaGFzaA",
		"$2a$10$short",
	} {
		if ok, err := diy.VerifyPassword(h, "whatever"); ok || err == nil {
			t.Errorf("VerifyPassword(%q) = %v, %v; want an error", h, ok, err)
		}
	}
}

func TestCheckPassword(t *testing.T) {
	for _, tc := range []struct {
		name, pw string
		ok       bool
	}{
		{"Eight", "xkcd-936", true},
		{"Seven", "xkcd-93", false},
		{"EightRunesMultiByte", "ünïcödé", false}, // 7 runes
		{"EightRunes", "ünïcödés", true},
		{"Emoji", "🔑🔑🔑🔑🔑🔑🔑🔑", true},
		{"Spaces", "        ", true},
		{"Max", strings.Repeat("z", 256), true},
		{"TooLong", strings.Repeat("z", 257), false},
		{"Common", "password123", false},
		{"CommonUpper", "PASSWORD123", false},
		{"CommonWalk", "1qaz2wsx3edc", false},
		{"CommonLeet", "p@ssw0rd", false},
		{"InvalidUTF8", "abcdefgh\xff", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := diy.CheckPassword(tc.pw)
			if (err == nil) != tc.ok {
				t.Fatalf("CheckPassword = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && authport.KindOf(err) != authport.ErrInvalidInput {
				t.Fatalf("kind %v, want invalid input", authport.KindOf(err))
			}
		})
	}
}

func TestNormalizeEmail(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"alice@example.com", "alice@example.com"},
		{"  Alice@Example.COM ", "alice@example.com"},
		{"a.b+tag@sub.example.co.uk", "a.b+tag@sub.example.co.uk"},
		{"JÜRGEN@bücher.example", "jürgen@bücher.example"},
		{"", ""},
		{"alice", ""},
		{"alice@", ""},
		{"@example.com", ""},
		{"a@b@example.com", ""},
		{"alice@localhost", ""},
		{"al ice@example.com", ""},
		{"alice@exa_mple..com", ""},
		{"<alice@example.com>", ""},
		{"alice@example.com\n", "alice@example.com"},
		{"ali\x00ce@example.com", ""},
		{".alice@example.com", ""},
		{"alice@-example.com", ""},
		{strings.Repeat("a", 65) + "@example.com", ""},
		{"a@" + strings.Repeat("b", 250) + ".com", ""},
	} {
		got, err := diy.NormalizeEmail(tc.in)
		if got != tc.want || (err == nil) != (tc.want != "") {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
		if err != nil && authport.KindOf(err) != authport.ErrInvalidInput {
			t.Errorf("NormalizeEmail(%q): kind %v", tc.in, authport.KindOf(err))
		}
	}
}
