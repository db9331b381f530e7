package authport

import (
	"context"
	"log/slog"
	"time"
)

// EventType names what happened.
type EventType string

// The event types.
const (
	// EventSignIn: a user signed in (password form or redirect callback).
	EventSignIn EventType = "sign_in"
	// EventSignInFailed: a sign-in, sign-up or callback was refused.
	EventSignInFailed EventType = "sign_in_failed"
	// EventSignUp: an account was created.
	EventSignUp EventType = "sign_up"
	// EventRefresh: a session's tokens were refreshed (Kind set on failure).
	EventRefresh EventType = "refresh"
	// EventRevoke: a session was revoked at the provider (Kind set on
	// failure).
	EventRevoke EventType = "revoke"
	// EventSignOut: a user signed out and the cookies were cleared (Kind
	// set when the provider's logout page could not be used: the browser
	// then went straight to Config.AfterLogoutPath).
	EventSignOut EventType = "sign_out"
	// EventRefused: Require turned a request away.
	EventRefused EventType = "refused"
	// EventVerify: the middleware verified a credential (Kind set on
	// failure, Cached when the adapter answered from its verified-token
	// cache). It is emitted on every authenticated request, so it goes to
	// Config.Hooks only, never to the logger, and only when Hooks is set.
	EventVerify EventType = "verify"
	// EventKeyFetch: an adapter fetched its provider's key set (Kind set
	// on failure; the last good set is kept). Logged at Debug: the key
	// set cache logs failures itself.
	EventKeyFetch EventType = "key_fetch"
)

// Event describes one authentication event for metrics, tracing and audit
// logs. It never carries a token, a password or an email address.
type Event struct {
	// Type says what happened.
	Type EventType
	// Provider names the adapter.
	Provider string
	// Kind is the failure's kind, nil on success.
	Kind *Kind
	// Err is the failure, nil on success. Its text is safe to log (the
	// package's error contract), but it may name the adapter's operation.
	Err error
	// UserID and SessionID identify the session, when known.
	UserID, SessionID string
	// Path is the request path, for EventRefused.
	Path string
	// Cached reports, for EventVerify, that the adapter answered from its
	// verified-token cache (see ReportCacheHit).
	Cached bool
	// Duration is how long the operation took, for EventKeyFetch (zero
	// when not measured). Verifications are not timed: on the cached path
	// the clock reads would cost as much as the verification.
	Duration time.Duration
}

// Hooks observes authentication events. OnEvent is called synchronously on
// the request's goroutine, so it should be quick; it must be safe for
// concurrent use.
type Hooks interface {
	OnEvent(ctx context.Context, e Event)
}

// HookFunc adapts a function to Hooks.
type HookFunc func(ctx context.Context, e Event)

// OnEvent calls f(ctx, e).
func (f HookFunc) OnEvent(ctx context.Context, e Event) { f(ctx, e) }

// Emit hands e to the Hooks and the logger of the Web serving ctx (the
// request context Web.Middleware built), and does nothing outside one. It
// lets code below the Authenticator interface report what Web cannot see,
// such as a key-set fetch (EventKeyFetch). e must follow Event's contract:
// no token, password, key or email address.
func Emit(ctx context.Context, e Event) {
	if st := stateFrom(ctx); st != nil && st.web != nil {
		st.web.emit(ctx, e)
	}
}

// ReportCacheHit tells the Web serving ctx that the verification running
// under ctx was answered from the adapter's verified-token cache; the
// EventVerify that follows has Cached set. Adapters with such a cache call
// it on a hit, from the goroutine running Verify. It costs one context
// lookup and does nothing outside a Web request.
func ReportCacheHit(ctx context.Context) {
	if st := stateFrom(ctx); st != nil {
		st.cached = true
	}
}

// emit hands e to the hooks and logs it: failures of sign-in at Warn,
// routine refusals and refreshes at Debug, the rest at Info.
func (w *Web) emit(ctx context.Context, e Event) {
	if w.cfg.Hooks != nil {
		w.cfg.Hooks.OnEvent(ctx, e)
	}
	if w.logger == nil || e.Type == EventVerify {
		return
	}
	level := slog.LevelInfo
	switch {
	case e.Type == EventRefused, e.Type == EventKeyFetch, e.Type == EventRefresh && e.Kind == nil:
		level = slog.LevelDebug
	case e.Kind != nil:
		level = slog.LevelWarn
	}
	if !w.logger.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, 7)
	attrs = append(attrs, slog.String("event", string(e.Type)))
	if e.Provider != "" {
		attrs = append(attrs, slog.String("provider", e.Provider))
	}
	if e.Kind != nil {
		attrs = append(attrs, slog.String("kind", e.Kind.Code()))
	}
	if e.Err != nil {
		attrs = append(attrs, slog.String("error", e.Err.Error()))
	}
	if e.UserID != "" {
		attrs = append(attrs, slog.String("user_id", e.UserID))
	}
	if e.SessionID != "" {
		attrs = append(attrs, slog.String("session_id", e.SessionID))
	}
	if e.Path != "" {
		attrs = append(attrs, slog.String("path", e.Path))
	}
	w.logger.LogAttrs(ctx, level, "authport "+string(e.Type), attrs...)
}
