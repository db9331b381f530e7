package authport

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"sync"
	"time"
)

// MaxTokenSize is the longest bearer token the middleware accepts; a longer
// Authorization header is refused (401) before any parsing.
const MaxTokenSize = 8 << 10

// Extraction errors are prebuilt so refusing a request allocates nothing.
var (
	errManyAuthHeaders = &Error{Kind: ErrInvalidCredential, Op: "credential", Reason: "more than one Authorization header"}
	errNotBearer       = &Error{Kind: ErrInvalidCredential, Op: "credential", Reason: "Authorization scheme is not Bearer"}
	errBadBearer       = &Error{Kind: ErrInvalidCredential, Op: "credential", Reason: "bearer token is not token68"}
	errBearerTooLong   = &Error{Kind: ErrInvalidCredential, Op: "credential", Reason: "bearer token too long"}
)

// bearer extracts the credential of an "Authorization: Bearer" header
// (RFC 6750 §2.1). present is false when there is no Authorization header;
// otherwise exactly one well-formed Bearer credential is required.
func bearer(r *http.Request) (token string, present bool, err error) {
	vals := r.Header["Authorization"]
	switch len(vals) {
	case 0:
		return "", false, nil
	case 1:
	default:
		return "", true, errManyAuthHeaders
	}
	v := vals[0]
	if len(v) > len("Bearer ")+MaxTokenSize {
		return "", true, errBearerTooLong
	}
	const scheme = "bearer"
	if len(v) < len(scheme) || !asciiEqualFold(v[:len(scheme)], scheme) {
		return "", true, errNotBearer
	}
	rest := v[len(scheme):]
	if rest == "" || rest[0] != ' ' {
		if rest == "" {
			return "", true, errBadBearer
		}
		return "", true, errNotBearer // "Bearerx ..." is another scheme
	}
	for rest != "" && rest[0] == ' ' {
		rest = rest[1:]
	}
	if !isToken68(rest) {
		return "", true, errBadBearer
	}
	return rest, true, nil
}

func asciiEqualFold(s, lower string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// token68Chars marks the bytes RFC 9110's token68 allows before its
// trailing "=" padding (a table: this runs over every bearer token).
var token68Chars = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/'
	}
	return t
}()

// isToken68 reports whether s matches RFC 9110's
// token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isToken68(s string) bool {
	i := 0
	for i < len(s) && token68Chars[s[i]] {
		i++
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}

// Middleware verifies the request's credential and attaches the result to
// the request context, where SessionFrom, Check and Require find it. It
// never blocks a request: routes that need a session use Require.
//
// The credential is, in order: an "Authorization: Bearer" header (if any
// Authorization header is present, it alone decides: several headers or
// another scheme are invalid, never a reason to fall back to a cookie); the
// sealed session cookie; the cookies the adapter names as a CookieReader.
// Tokens in the URL are never read.
//
// A cookie session whose access token has expired (or will within
// Config.RefreshBefore) is refreshed once, transparently, when it holds a
// refresh token and the adapter is a Refresher; concurrent requests of the
// same session share that one refresh. The new cookie is set on the
// response. A sealed cookie that is invalid, revoked or expired beyond
// refresh is deleted on browser requests.
func (w *Web) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if st := stateFrom(r.Context()); st != nil && st.web == w {
			next.ServeHTTP(rw, r) // already authenticated by this Web
			return
		}
		c := &authContext{Context: r.Context()}
		c.st.web, c.st.req = w, r
		w.authenticate(rw, r, c)
		next.ServeHTTP(rw, r.WithContext(c))
	})
}

// authenticate fills c.st for r, writing Set-Cookie on rw when a refresh
// or a dead cookie requires it. ctx is the request context with the state.
func (w *Web) authenticate(rw http.ResponseWriter, r *http.Request, c *authContext) {
	w.checkForwarded(r)
	st := &c.st
	tok, present, err := bearer(r)
	if present {
		if err != nil {
			st.err = err
			return
		}
		st.session, st.err = w.verify(c, Credential{Token: tok, Source: SourceHeader})
		return
	}
	if w.sealer != nil {
		if v, ok := cookieValue(r, w.cfg.CookieName); ok {
			st.sealed = true
			// Sign-out is about to end the session: do not refresh it first.
			st.noRefresh = r.Method == http.MethodPost && w.isLogout(r.URL.Path)
			w.authenticateSealed(rw, r, c, v)
			return
		}
	}
	for _, name := range w.cookies {
		v, ok := cookieValue(r, name)
		if !ok && w.chunked[name] {
			v, ok = chunkedCookieValue(r, name)
		}
		if ok && v != "" {
			st.session, st.err = w.verify(c, Credential{Token: v, Source: SourceCookie, Cookie: name})
			return
		}
	}
	st.err = ErrNoCredential
}

func (w *Web) isLogout(path string) bool {
	b := w.cfg.BasePath
	return len(path) == len(b)+len("/logout") && path[:len(b)] == b && path[len(b):] == "/logout"
}

func (w *Web) verify(ctx context.Context, cred Credential) (*Session, error) {
	var s *Session
	var err error
	var st *authState
	if w.cfg.Hooks != nil {
		// Only observed verifications pay for the lookup. No clock is read:
		// on the cached path two clock reads would cost as much as the rest.
		if st = stateFrom(ctx); st != nil {
			st.cached = false
		}
	}
	if w.strict != nil {
		s, err = w.strict.VerifyStrict(ctx, cred)
	} else {
		s, err = w.auth.Verify(ctx, cred)
	}
	if err == nil && s == nil {
		err = NewError(ErrProviderUnavailable, w.auth.Provider(), "verify", "adapter returned no session")
	}
	if w.cfg.Hooks != nil {
		e := Event{Type: EventVerify, Provider: w.auth.Provider(), Kind: KindOf(err), Err: err}
		e.Cached = st != nil && st.cached && err == nil
		if s != nil {
			e.UserID, e.SessionID = s.UserID, s.SessionID
		}
		w.emit(ctx, e)
	}
	return s, err
}

func (w *Web) authenticateSealed(rw http.ResponseWriter, r *http.Request, c *authContext, v string) {
	st := &c.st
	t, iat, err := w.sealer.openTokens(v)
	if err != nil {
		st.err = err
		w.dropDeadCookie(rw, r, st)
		return
	}
	st.tokens, st.issuedAt = t, iat
	canRefresh := w.refresher != nil && t.RefreshToken != "" && !st.noRefresh
	if canRefresh && !t.ExpiresAt.IsZero() && !w.now().Add(w.cfg.RefreshBefore).Before(t.ExpiresAt) {
		canRefresh = false // at most one attempt per request
		if w.refreshInto(c, rw, st) {
			return
		}
		// The early refresh failed. While the access token is still valid
		// it keeps serving: the provider may be down, or another instance
		// may have rotated the refresh token an instant earlier (its new
		// cookie must not be deleted by this response). Verify decides.
		if !w.now().Before(t.ExpiresAt) {
			w.dropDeadCookie(rw, r, st)
			return
		}
	}
	st.session, st.err = w.verify(c, Credential{Token: t.AccessToken, Source: SourceCookie, Cookie: w.cfg.CookieName})
	if errors.Is(st.err, ErrExpired) && canRefresh {
		if w.refreshInto(c, rw, st) {
			return
		}
	}
	w.dropDeadCookie(rw, r, st)
}

// dropDeadCookie deletes the sealed cookie on browser requests when st.err
// says the session is over (not when the provider is merely unavailable).
func (w *Web) dropDeadCookie(rw http.ResponseWriter, r *http.Request, st *authState) {
	if st.err == nil || st.cleared || !isBrowser(r) {
		return
	}
	switch KindOf(st.err) {
	case ErrInvalidCredential, ErrExpired, ErrRevoked:
		w.clearCookie(rw, w.cfg.CookieName)
		st.cleared = true
	}
}

// refreshInto refreshes st.tokens (single-flight), and on success fills the
// state and sets the new cookie. It reports success; on failure st.err is
// the reason.
func (w *Web) refreshInto(ctx context.Context, rw http.ResponseWriter, st *authState) bool {
	res := w.refresh(ctx, st.tokens, st.issuedAt)
	if res.err != nil {
		st.session, st.err = nil, res.err
		return false
	}
	if err := w.setSessionCookie(rw, res.sealed, st.issuedAt); err != nil {
		st.session, st.err = nil, err
		return false
	}
	st.session, st.err, st.tokens, st.refreshed = res.session, nil, res.tokens, true
	return true
}

// refreshGrace is how long a finished refresh is remembered: a request that
// still carries the old cookie in that window (a tab racing the one that
// refreshed) gets the same result instead of replaying a rotated refresh
// token, which a provider with reuse detection would punish by revoking
// the whole session.
const refreshGrace = 30 * time.Second

// refreshTimeout bounds one refresh; it is detached from the request that
// started it, since other requests wait for the same result.
const refreshTimeout = 30 * time.Second

type flight struct {
	done chan struct{}
	res  refreshResult
	end  time.Time // when the result may be forgotten; zero while running
}

type refreshResult struct {
	tokens  *Tokens
	session *Session
	sealed  string
	err     error
}

type flights struct {
	mu sync.Mutex
	m  map[[32]byte]*flight
}

// refresh trades t's refresh token for new tokens once, however many
// requests ask concurrently, verifies the new access token and seals the
// result.
func (w *Web) refresh(ctx context.Context, t *Tokens, issuedAt time.Time) refreshResult {
	key := sha256.Sum256([]byte(t.RefreshToken))
	now := w.now()
	w.flights.mu.Lock()
	if w.flights.m == nil {
		w.flights.m = make(map[[32]byte]*flight)
	}
	f := w.flights.m[key]
	if f != nil && !f.end.IsZero() && now.After(f.end) {
		delete(w.flights.m, key)
		f = nil
	}
	if f != nil {
		w.flights.mu.Unlock()
		select {
		case <-f.done:
			return f.res
		case <-ctx.Done():
			return refreshResult{err: WrapError(ErrProviderUnavailable, w.auth.Provider(), "refresh", ctx.Err())}
		}
	}
	f = &flight{done: make(chan struct{})}
	w.flights.m[key] = f
	for k, o := range w.flights.m { // forget finished flights
		if !o.end.IsZero() && now.After(o.end) {
			delete(w.flights.m, k)
		}
	}
	w.flights.mu.Unlock()

	f.res = w.sharedRefresh(ctx, key, t, issuedAt)

	w.flights.mu.Lock()
	if KindOf(f.res.err) == ErrProviderUnavailable {
		delete(w.flights.m, key) // transient: let the next request retry
	} else {
		f.end = w.now().Add(refreshGrace)
	}
	w.flights.mu.Unlock()
	close(f.done)
	return f.res
}

// sharedRefresh is doRefresh run once across every instance of a
// Config.Cluster: the instance that wins the refresh token calls the
// provider and stores its sealed cookie value; the others open that value
// (sealed under the CookieKeys every instance shares) and verify its access
// token themselves.
func (w *Web) sharedRefresh(ctx context.Context, key [32]byte, t *Tokens, issuedAt time.Time) refreshResult {
	if w.cfg.Cluster == nil || w.sealer == nil {
		return w.doRefresh(ctx, t, issuedAt)
	}
	var (
		own refreshResult
		ran bool
	)
	sealed, err := w.cfg.Cluster.RefreshOnce(ctx, hex.EncodeToString(key[:]), func(ctx context.Context) (string, error) {
		ran = true
		own = w.doRefresh(ctx, t, issuedAt)
		return own.sealed, own.err
	})
	if ran {
		return own
	}
	p := w.auth.Provider()
	if err != nil {
		if KindOf(err) == nil {
			err = WrapError(ErrProviderUnavailable, p, "refresh", err)
		}
		return refreshResult{err: err}
	}
	nt, _, err := w.sealer.openTokens(sealed)
	if err != nil {
		return refreshResult{err: WrapError(ErrProviderUnavailable, p, "refresh", err)}
	}
	vctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refreshTimeout)
	defer cancel()
	s, err := w.verify(vctx, Credential{Token: nt.AccessToken, Source: SourceCookie, Cookie: w.cfg.CookieName})
	if err != nil {
		return refreshResult{err: err}
	}
	return refreshResult{tokens: nt, session: s, sealed: sealed}
}

func (w *Web) doRefresh(ctx context.Context, old *Tokens, issuedAt time.Time) refreshResult {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refreshTimeout)
	defer cancel()
	p := w.auth.Provider()
	nt, err := w.refresher.Refresh(ctx, old.RefreshToken)
	if err == nil && (nt == nil || nt.AccessToken == "") {
		err = NewError(ErrProviderUnavailable, p, "refresh", "adapter returned no access token")
	}
	if err != nil {
		w.emit(ctx, Event{Type: EventRefresh, Provider: p, Kind: KindOf(err), Err: err, UserID: old.UserID, SessionID: old.SessionID})
		return refreshResult{err: err}
	}
	t := *nt
	if t.RefreshToken == "" { // the provider does not rotate
		t.RefreshToken = old.RefreshToken
	}
	if t.IDToken == "" {
		t.IDToken = old.IDToken
	}
	s, err := w.verify(ctx, Credential{Token: t.AccessToken, Source: SourceCookie, Cookie: w.cfg.CookieName})
	if err != nil {
		w.emit(ctx, Event{Type: EventRefresh, Provider: p, Kind: KindOf(err), Err: err, UserID: old.UserID, SessionID: old.SessionID})
		return refreshResult{err: err}
	}
	if t.UserID == "" {
		t.UserID = s.UserID
	}
	if t.SessionID == "" {
		t.SessionID = s.SessionID
	}
	sealed, err := w.sealSession(&t, issuedAt)
	if err != nil {
		err = WrapError(ErrMisconfigured, p, "refresh", err)
		w.emit(ctx, Event{Type: EventRefresh, Provider: p, Kind: ErrMisconfigured, Err: err, UserID: s.UserID, SessionID: s.SessionID})
		return refreshResult{err: err}
	}
	w.emit(ctx, Event{Type: EventRefresh, Provider: p, UserID: s.UserID, SessionID: s.SessionID})
	return refreshResult{tokens: &t, session: s, sealed: sealed}
}
