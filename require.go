package authport

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
)

// Requirement is a condition on a verified Session. It returns nil when s
// satisfies it and an error of kind ErrForbidden otherwise. s is never nil.
// Role, Permission, Org and AnyOf build the common ones; any function of
// this type may be used with Check and Require.
type Requirement func(s *Session) error

// Role requires the session to carry role r.
func Role(r string) Requirement {
	return func(s *Session) error {
		if s.HasRole(r) {
			return nil
		}
		return NewError(ErrForbidden, s.Provider, "check", "missing role "+strconv.Quote(r))
	}
}

// Permission requires the session to carry permission p.
func Permission(p string) Requirement {
	return func(s *Session) error {
		if s.HasPermission(p) {
			return nil
		}
		return NewError(ErrForbidden, s.Provider, "check", "missing permission "+strconv.Quote(p))
	}
}

// Org requires an active organisation: one of ids, or any when ids is
// empty. A pending session (Session.Pending: signed in, but a required
// step such as choosing an organisation is unfinished) never satisfies it.
func Org(ids ...string) Requirement {
	ids = slices.Clone(ids)
	return func(s *Session) error {
		switch {
		case s.Pending():
			return NewError(ErrForbidden, s.Provider, "check", "session is pending")
		case s.OrgID == "":
			return NewError(ErrForbidden, s.Provider, "check", "no active organisation")
		case len(ids) > 0 && !slices.Contains(ids, s.OrgID):
			return NewError(ErrForbidden, s.Provider, "check", "organisation not allowed")
		}
		return nil
	}
}

// AnyOf is satisfied when at least one of reqs is; with none it is never
// satisfied. (Requirements listed side by side in Check and Require must
// all hold.)
func AnyOf(reqs ...Requirement) Requirement {
	reqs = slices.Clone(reqs)
	return func(s *Session) error {
		err := error(NewError(ErrForbidden, s.Provider, "check", "no alternative satisfied"))
		for _, r := range reqs {
			if err = r(s); err == nil {
				return nil
			}
		}
		return err
	}
}

// errNoMiddleware is what Check and Require report when no Web middleware
// ran: they fail closed.
var errNoMiddleware = &Error{Kind: ErrNoCredential, Op: "check", Reason: "no authport middleware ran for this request"}

// Check reports whether the request whose context is ctx is authenticated
// and satisfies every requirement. It returns nil, or: the reason there is
// no session (ErrNoCredential, or the verification error: ErrExpired,
// ErrInvalidCredential, ...), or an error of kind ErrForbidden. Without the
// Web middleware upstream it fails with ErrNoCredential.
func Check(ctx context.Context, reqs ...Requirement) error {
	st := stateFrom(ctx)
	if st == nil {
		return errNoMiddleware
	}
	return st.check(reqs)
}

func (st *authState) check(reqs []Requirement) error {
	if st.session == nil {
		if st.err != nil {
			return st.err
		}
		return ErrNoCredential
	}
	for _, r := range reqs {
		if err := r(st.session); err != nil {
			return err
		}
	}
	return nil
}

var warnNoMiddleware sync.Once

// Require returns middleware that lets a request through only when it is
// authenticated and satisfies every requirement; otherwise it answers with
// the error response for the failure (401, or a redirect to the login page
// for browsers; 403; 503). It protects a whole subtree:
//
//	mux.Handle("/app/", authport.Require()(appMux))
//
// Require reads what Web.Middleware attached; without it, every request is
// refused (401): it fails closed.
func Require(reqs ...Requirement) func(http.Handler) http.Handler {
	reqs = slices.Clone(reqs)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			st := stateFrom(r.Context())
			if st == nil {
				warnNoMiddleware.Do(func() {
					slog.Default().Warn("authport: Require used without Web.Middleware; every request is refused")
				})
				defaultWeb().writeError(rw, r, errNoMiddleware, nil)
				return
			}
			if err := st.check(reqs); err != nil {
				w := st.web
				if w == nil {
					w = defaultWeb()
				}
				w.refused(r, st, err)
				w.writeError(rw, r, err, st)
				return
			}
			next.ServeHTTP(rw, r)
		})
	}
}

// RequireRole is Require(Role(roles[0]), Role(roles[1]), ...): every role
// is needed. Use AnyOf for alternatives.
func RequireRole(roles ...string) func(http.Handler) http.Handler {
	reqs := make([]Requirement, len(roles))
	for i, r := range roles {
		reqs[i] = Role(r)
	}
	return Require(reqs...)
}

// RequirePermission is Require(Permission(perms[0]), ...): every
// permission is needed.
func RequirePermission(perms ...string) func(http.Handler) http.Handler {
	reqs := make([]Requirement, len(perms))
	for i, p := range perms {
		reqs[i] = Permission(p)
	}
	return Require(reqs...)
}

// RequireOrg is Require(Org(ids...)): an active organisation, one of ids
// if any are given, and not a pending session.
func RequireOrg(ids ...string) func(http.Handler) http.Handler {
	return Require(Org(ids...))
}

// refused reports a request Require turned away.
func (w *Web) refused(r *http.Request, st *authState, err error) {
	e := Event{Type: EventRefused, Provider: w.provider(), Kind: KindOf(err), Path: r.URL.Path}
	if KindOf(err) != ErrNoCredential {
		e.Err = err
	}
	if st.session != nil {
		e.UserID, e.SessionID = st.session.UserID, st.session.SessionID
	}
	w.emit(r.Context(), e)
}
