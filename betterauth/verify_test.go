package betterauth_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/authport/authport"
	"github.com/authport/authport/betterauth"
	"github.com/authport/authport/betterauth/betterauthtest"
)

// user creates a user on s and signs them in.
func user(t *testing.T, s *betterauthtest.Server, u betterauthtest.NewUser) (*betterauthtest.SignIn, string) {
	t.Helper()
	if u.Email == "" {
		u.Email = "u-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-")) + "-" + rnd() + "@example.com"
	}
	if u.Password == "" {
		u.Password = "Pw-" + rnd() + rnd()
	}
	id, orgID, err := s.CreateUser(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	si, err := s.SignIn(t.Context(), u.Email, u.Password, orgID)
	if err != nil {
		t.Fatal(err)
	}
	return si, id
}

func rnd() string {
	return strings.ToLower(strings.NewReplacer("-", "x", "_", "y").Replace(base64.RawURLEncoding.EncodeToString([]byte(randomBytes(6)))))
}

func cookie(si *betterauthtest.SignIn) authport.Credential {
	return authport.Credential{Token: si.SessionCookie.Value, Source: authport.SourceCookie, Cookie: si.SessionCookie.Name}
}

func sign(secret, tok string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(tok))
	return url.PathEscape(tok + "." + base64.StdEncoding.EncodeToString(m.Sum(nil)))
}

func wantKind(t *testing.T, err error, k *authport.Kind) {
	t.Helper()
	if !errors.Is(err, k) {
		t.Fatalf("error %v (kind %v), want %v", err, authport.KindOf(err), k)
	}
}

// TestSessionCookie checks cookies the real library minted: the mapping
// of a fresh session, role and organisation changes seen at once, and the
// refusals (tampered, foreign secret, signed-out, expired, banned).
func TestSessionCookie(t *testing.T) {
	s := betterauthtest.Connect(t)
	a, err := betterauth.New(t.Context(), dbConfig(t, s, nil))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()

	t.Run("Mapping", func(t *testing.T) {
		si, id := user(t, s, betterauthtest.NewUser{Role: "admin,editor", Org: "acme-" + rnd()})
		sess, err := a.Verify(ctx, cookie(si))
		if err != nil {
			t.Fatal(err)
		}
		if sess.UserID != id || sess.SessionID == "" || sess.Email == "" || sess.OrgID == "" || sess.Provider != "betterauth" {
			t.Fatalf("session %+v", sess)
		}
		for _, r := range []string{"admin", "editor", "org:owner"} {
			if !sess.HasRole(r) {
				t.Errorf("roles %v lack %s", sess.Roles, r)
			}
		}
		var rec *betterauth.Record
		if !sess.As(&rec) || rec.UserID != id {
			t.Fatal("As(*Record) failed")
		}
		// The bearer plugin's token names the same session.
		b, err := a.Verify(ctx, authport.Credential{Token: si.Bearer, Source: authport.SourceHeader})
		if err != nil || b.SessionID != sess.SessionID {
			t.Fatalf("bearer: %v %v", b, err)
		}
		// A role change is seen at the next request.
		if err := s.SetRole(ctx, id, "user"); err != nil {
			t.Fatal(err)
		}
		sess, err = a.Verify(ctx, cookie(si))
		if err != nil || sess.HasRole("admin") || !sess.HasRole("user") {
			t.Fatalf("after set-role: %v %v", sess, err)
		}
	})

	t.Run("Refused", func(t *testing.T) {
		si, id := user(t, s, betterauthtest.NewUser{})
		good := si.SessionCookie.Value
		raw, _ := url.PathUnescape(good)
		tok := raw[:strings.LastIndexByte(raw, '.')]
		cases := []struct {
			name string
			v    string
			kind *authport.Kind
		}{
			{"ForeignSecret", sign("another-secret-of-at-least-32-characters", tok), authport.ErrInvalidCredential},
			{"Unsigned", tok, authport.ErrInvalidCredential},
			{"TruncatedSignature", good[:len(good)-4], authport.ErrInvalidCredential},
			{"OtherToken", sign(s.Secret, strings.Repeat("A", len(tok))), authport.ErrRevoked},
			{"Empty", "", authport.ErrNoCredential},
			{"BadEscape", "%zz" + good, authport.ErrInvalidCredential},
			{"ControlChars", "a\x00b." + strings.Repeat("A", 43) + "=", authport.ErrInvalidCredential},
			{"Huge", strings.Repeat("x", 1<<20), authport.ErrInvalidCredential},
			{"DotsOnly", "..", authport.ErrInvalidCredential},
			{"JWTShaped", "eyJhbGciOiJub25lIn0.e30.", authport.ErrInvalidCredential},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				for _, src := range []authport.Source{authport.SourceCookie, authport.SourceHeader} {
					_, err := a.Verify(ctx, authport.Credential{Token: c.v, Source: src})
					wantKind(t, err, c.kind)
					if strings.Contains(err.Error(), tok) {
						t.Fatal("error text carries the token")
					}
				}
			})
		}
		// Flipping any one signature character is refused.
		for i := len(tok) + 1; i < len(raw)-1; i += 7 {
			b := []byte(raw)
			b[i] ^= 0x01
			_, err := a.Verify(ctx, authport.Credential{Token: url.PathEscape(string(b)), Source: authport.SourceCookie})
			if err == nil {
				t.Fatalf("flipped signature byte %d verified", i)
			}
		}
		// Sign-out through the library ends the session at once.
		if _, err := a.Verify(ctx, cookie(si)); err != nil {
			t.Fatal(err)
		}
		if err := s.SignOut(ctx, si); err != nil {
			t.Fatal(err)
		}
		_, err := a.Verify(ctx, cookie(si))
		wantKind(t, err, authport.ErrRevoked)
		_ = id
	})

	t.Run("Expired", func(t *testing.T) {
		si, _ := user(t, s, betterauthtest.NewUser{})
		if err := s.Expire(ctx, si.Token); err != nil {
			t.Fatal(err)
		}
		_, err := a.Verify(ctx, cookie(si))
		wantKind(t, err, authport.ErrExpired)
	})

	t.Run("Banned", func(t *testing.T) {
		si, id := user(t, s, betterauthtest.NewUser{})
		other, _ := user(t, s, betterauthtest.NewUser{})
		if err := s.Ban(ctx, id); err != nil {
			t.Fatal(err)
		}
		_, err := a.Verify(ctx, cookie(si))
		wantKind(t, err, authport.ErrRevoked)
		if _, err := a.Verify(ctx, cookie(other)); err != nil {
			t.Fatalf("another user's session: %v", err)
		}
	})

	t.Run("DatabaseDown", func(t *testing.T) {
		si, _ := user(t, s, betterauthtest.NewUser{})
		cfg := dbConfig(t, s, nil)
		cfg.DB.Close()
		b, err := betterauth.New(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		_, err = b.Verify(ctx, cookie(si))
		wantKind(t, err, authport.ErrProviderUnavailable)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err = a.Verify(cctx, cookie(si))
		wantKind(t, err, authport.ErrProviderUnavailable)
	})
}
