package clerk_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/authport/authport"
	"github.com/authport/authport/clerk"
	"github.com/authport/authport/clerk/clerktest"
)

// FuzzVerify feeds arbitrary credentials to Verify and Exchange: they must
// never panic, never accept what the emulator did not sign, and never
// repeat the input in an error.
func FuzzVerify(f *testing.F) {
	srv := clerktest.New(f)
	cfg := srv.Config()
	a, err := clerk.New(f.Context(), cfg)
	if err != nil {
		f.Fatal(err)
	}
	u, _ := srv.CreateUser(clerktest.NewUser{Email: "fuzz@example.com", Password: "password-123"})
	sid, _ := srv.CreateSession(u.ID, clerktest.SessionOptions{})
	good, _ := srv.SessionToken(sid)
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add(strings.Replace(good, ".", "..", 1))
	f.Add("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")
	f.Add("")
	f.Fuzz(func(t *testing.T, tok string) {
		s, err := a.Verify(t.Context(), authport.Credential{Token: tok, Source: authport.SourceHeader})
		if err == nil && tok != good {
			// Only re-encodings of a genuine token may pass.
			if s.UserID != u.ID {
				t.Fatalf("accepted a token the emulator did not sign for this user: %q", tok)
			}
		}
		if err != nil && len(tok) > 20 && strings.Contains(err.Error(), tok) {
			t.Fatalf("error repeats the token")
		}
		a.Exchange(t.Context(), authport.Callback{Query: url.Values{clerk.HandshakeParam: {tok}}})
	})
}
