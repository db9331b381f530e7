package authport

import (
	"bytes"
	"encoding/base64"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func testTokens() *Tokens {
	return &Tokens{
		AccessToken:  "eyJhbGciOiJSUzI1NiJ9.access.sig",
		RefreshToken: "refresh-123",
		IDToken:      "eyJ.id.token",
		ExpiresAt:    time.Unix(1900000000, 0),
		SessionID:    "sess_1",
		UserID:       "user_1",
	}
}

func mustSealer(t testing.TB, keys ...[]byte) *Sealer {
	t.Helper()
	s, err := NewSealer(keys)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSealOpenRoundTrip(t *testing.T) {
	s := mustSealer(t, testKey)
	for _, tok := range []*Tokens{
		testTokens(),
		{AccessToken: "only-access"},
		{AccessToken: "a", ExpiresAt: time.Unix(-5, 0)},
	} {
		v, err := s.Seal(tok)
		if err != nil {
			t.Fatal(err)
		}
		if strings.ContainsAny(v, "=+/") {
			t.Fatalf("not base64url without padding: %q", v)
		}
		if strings.Contains(v, "refresh-123") || strings.Contains(v, "eyJhbGci") {
			t.Fatal("sealed value shows the tokens")
		}
		got, err := s.Open(v)
		if err != nil {
			t.Fatal(err)
		}
		if *got != *tok {
			t.Fatalf("got %+v, want %+v", got, tok)
		}
	}
	v1, _ := s.Seal(testTokens())
	v2, _ := s.Seal(testTokens())
	if v1 == v2 {
		t.Fatal("two seals of the same tokens are identical (nonce reuse?)")
	}
}

func TestSealerKeyRotation(t *testing.T) {
	oldKey, newKey := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	old := mustSealer(t, oldKey)
	rotated := mustSealer(t, newKey, oldKey)
	onlyNew := mustSealer(t, newKey)

	vOld, _ := old.Seal(testTokens())
	if _, err := rotated.Open(vOld); err != nil {
		t.Fatalf("rotated sealer cannot open old cookie: %v", err)
	}
	vNew, _ := rotated.Seal(testTokens())
	if _, err := onlyNew.Open(vNew); err != nil {
		t.Fatalf("new key did not seal: %v", err)
	}
	if _, err := old.Open(vNew); !errors.Is(err, ErrInvalidCredential) {
		t.Fatalf("old key opened a cookie sealed with the new key: %v", err)
	}
	if _, err := onlyNew.Open(vOld); !errors.Is(err, ErrInvalidCredential) {
		t.Fatalf("retired key still opens: %v", err)
	}
}

func TestSealerRejects(t *testing.T) {
	s := mustSealer(t, testKey)
	good, _ := s.Seal(testTokens())
	raw, _ := base64.RawURLEncoding.DecodeString(good)
	enc := base64.RawURLEncoding.EncodeToString
	flip := func(i int) string {
		b := bytes.Clone(raw)
		b[i] ^= 1
		return enc(b)
	}
	cases := map[string]string{
		"empty":            "",
		"short":            good[:10],
		"truncated":        good[:len(good)-1],
		"truncated tag":    enc(raw[:len(raw)-1]),
		"bit flip version": flip(0),
		"bit flip key id":  flip(1),
		"bit flip purpose": flip(2),
		"bit flip nonce":   flip(5),
		"bit flip body":    flip(len(raw) / 2),
		"bit flip tag":     flip(len(raw) - 1),
		"padding":          good + "==",
		"std base64":       base64.StdEncoding.EncodeToString(raw),
		"oversized":        strings.Repeat("A", MaxCookieSize+1),
		"not base64":       strings.Repeat("!", 80),
	}
	for name, v := range cases {
		t.Run(name, func(t *testing.T) {
			if v == good {
				t.Skip("mutation produced the same value")
			}
			tok, err := s.Open(v)
			if !errors.Is(err, ErrInvalidCredential) || tok != nil {
				t.Fatalf("Open = %v, %v; want ErrInvalidCredential", tok, err)
			}
		})
	}
	// A flow cookie is not a session cookie, even under the same key.
	fv, _ := s.seal(purposeFlow, time.Now(), appendString(nil, "x"))
	if _, err := s.Open(fv); !errors.Is(err, ErrInvalidCredential) {
		t.Fatal("flow cookie opened as a session cookie")
	}
	other := mustSealer(t, bytes.Repeat([]byte{9}, 32))
	if _, err := other.Open(good); err == nil {
		t.Fatal("foreign key opened the cookie")
	}
}

func TestSealerMaxAge(t *testing.T) {
	c := newClock()
	s := mustSealer(t, testKey)
	s.MaxAge, s.Now = time.Hour, c.Now
	v, _ := s.Seal(testTokens())
	c.Advance(59 * time.Minute)
	if _, err := s.Open(v); err != nil {
		t.Fatal(err)
	}
	c.Advance(2 * time.Minute)
	if _, err := s.Open(v); err == nil {
		t.Fatal("expired seal accepted")
	}
	c.Advance(-3 * time.Hour) // sealed "in the future"
	if _, err := s.Open(v); err == nil {
		t.Fatal("seal from the future accepted")
	}
}

func TestSealerOversize(t *testing.T) {
	s := mustSealer(t, testKey)
	big := &Tokens{AccessToken: strings.Repeat("a", 3000)}
	if _, err := s.Seal(big); !errors.Is(err, ErrCookieTooLarge) || !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("oversized seal: %v", err)
	}
	fits := &Tokens{AccessToken: strings.Repeat("a", 2000)}
	v, err := s.Seal(fits)
	if err != nil || len(v) > MaxSealedLen {
		t.Fatalf("seal of 2000 bytes: %v (len %d)", err, len(v))
	}

	// The Web drops an ID token rather than fail a sign-in.
	w, err := NewWeb(pwAuth{newFakeProvider(newClock())}, Config{CookieKeys: [][]byte{testKey}})
	if err != nil {
		t.Fatal(err)
	}
	withID := &Tokens{AccessToken: strings.Repeat("a", 1500), RefreshToken: "r", IDToken: strings.Repeat("i", 1800)}
	v, err = w.sealSession(withID, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	got, err := w.sealer.Open(v)
	if err != nil || got.IDToken != "" || got.AccessToken != withID.AccessToken {
		t.Fatalf("id token not dropped: %v", err)
	}
	rec := httptest.NewRecorder()
	if err := w.setCookie(rec, "__Host-authport", strings.Repeat("v", MaxCookieSize), time.Hour); !errors.Is(err, ErrCookieTooLarge) {
		t.Fatalf("setCookie over 4096 bytes: %v", err)
	}
	if len(rec.Header()["Set-Cookie"]) != 0 {
		t.Fatal("oversized cookie was set")
	}
}

func TestNewSealerErrors(t *testing.T) {
	for _, keys := range [][][]byte{nil, {}, {make([]byte, 31)}, {testKey, make([]byte, 64)}} {
		if _, err := NewSealer(keys); !errors.Is(err, ErrMisconfigured) {
			t.Fatalf("NewSealer(%d keys) = %v", len(keys), err)
		}
	}
}

func TestCookieValue(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Add("Cookie", "a=1; __Host-authportx=no; __Host-authport=yes")
	r.Header.Add("Cookie", `__Host-authport=second; q="quoted"`)
	if v, ok := cookieValue(r, "__Host-authport"); !ok || v != "yes" {
		t.Fatalf("got %q %v", v, ok)
	}
	if v, ok := cookieValue(r, "q"); !ok || v != "quoted" {
		t.Fatalf("quoted: %q", v)
	}
	if _, ok := cookieValue(r, "missing"); ok {
		t.Fatal("found a missing cookie")
	}
	if _, ok := cookieValue(r, "__Host"); ok {
		t.Fatal("prefix matched")
	}
}

func FuzzOpen(f *testing.F) {
	s := mustSealer(f, testKey)
	good, _ := s.Seal(testTokens())
	f.Add(good)
	for _, n := range []int{0, 1, 4, 20, 40, len(good) / 2, len(good) - 1} {
		f.Add(good[:n])
	}
	min, _ := s.Seal(&Tokens{AccessToken: "a"})
	f.Add(min)
	f.Add(strings.Repeat("A", 5000))
	f.Fuzz(func(t *testing.T, v string) {
		tok, err := s.Open(v)
		if err == nil && (tok == nil || tok.AccessToken == "") {
			t.Fatal("Open succeeded without tokens")
		}
		if err != nil && !errors.Is(err, ErrInvalidCredential) {
			t.Fatalf("unexpected error kind: %v", err)
		}
	})
}
