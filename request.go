package authport

import (
	"context"
	"net/http"
)

type requestKey struct{}

// WithRequest returns a copy of ctx carrying r, the HTTP request whose
// credential is being verified, for adapters that read more of it than the
// one credential (Better Auth's session_data cookie cache, cookies split in
// chunks). Web does this itself; call it when verifying outside Web.
func WithRequest(ctx context.Context, r *http.Request) context.Context {
	return context.WithValue(ctx, requestKey{}, r)
}

// RequestFrom returns the request WithRequest stored in ctx, or the one Web
// is authenticating.
func RequestFrom(ctx context.Context) (*http.Request, bool) {
	if ctx == nil {
		return nil, false
	}
	if r, ok := ctx.Value(requestKey{}).(*http.Request); ok && r != nil {
		return r, true
	}
	if st := stateFrom(ctx); st != nil && st.req != nil {
		return st.req, true
	}
	return nil, false
}
