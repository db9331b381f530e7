package authjstest

import (
	"context"
	"sync"

	"github.com/authport/authport"
	"github.com/authport/authport/authjs"
	"github.com/authport/authport/conformance"
)

// CookieName returns the session cookie name of an instance.
func CookieName(instance string) string {
	if instance == InstanceSecure {
		return authjs.SecurePrefix + authjs.DefaultCookieName
	}
	return authjs.DefaultCookieName
}

// Harness builds the conformance harness for adapter a against instance of
// the server. It drives Auth.js only as its own clients do, never through
// the adapter under test:
//
//   - CreateUser: @auth/pg-adapter's createUser, plus the application's
//     password and role column (the role of the user's first Roles entry);
//   - SignIn: the browser flow (CSRF token, then the Credentials callback
//     for the JWT instances, or the email provider's captured link for
//     "db"); the session cookie is the credential, chunks joined;
//   - RevokeSession ("db" only): the library's sign-out with the user's
//     session cookies, which deletes their rows.
//
// newAuth may be nil.
func (s *Server) Harness(a authport.Authenticator, newAuth func() (authport.Authenticator, error), instance string) conformance.Harness {
	var mu sync.Mutex
	cookies := map[string][][]Cookie{} // by user id
	cookie := CookieName(instance)
	name := "authjs-jwt"
	if instance == InstanceDB {
		name = "authjs-database"
	}
	h := conformance.Harness{
		Name:             name,
		Authenticator:    a,
		NewAuthenticator: newAuth,
		CreateUser: func(ctx context.Context, u conformance.User) (string, error) {
			nu := User{Email: u.Email, Password: u.Password}
			if len(u.Roles) > 0 {
				nu.Role = u.Roles[0]
			}
			return s.CreateUser(ctx, nu)
		},
		SignIn: func(ctx context.Context, u conformance.User) (*authport.Tokens, error) {
			cs, err := s.SignIn(ctx, instance, u.Email, u.Password, SignInOptions{})
			if err != nil {
				return nil, err
			}
			mu.Lock()
			cookies[u.ID] = append(cookies[u.ID], cs)
			mu.Unlock()
			_, v := Join(cs)
			return &authport.Tokens{AccessToken: v, UserID: u.ID}, nil
		},
		Credential: func(t *authport.Tokens) authport.Credential {
			return authport.Credential{Token: t.AccessToken, Source: authport.SourceCookie, Cookie: cookie}
		},
		Features: conformance.Features{Roles: true, EmailInToken: true},
	}
	if instance == InstanceDB {
		h.RevokeSession = func(ctx context.Context, sess *authport.Session) error {
			mu.Lock()
			all := cookies[sess.UserID]
			delete(cookies, sess.UserID)
			mu.Unlock()
			for _, cs := range all {
				if err := s.SignOut(ctx, instance, cs); err != nil {
					return err
				}
			}
			return nil
		}
	}
	return h
}
