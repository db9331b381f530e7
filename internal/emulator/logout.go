package emulator

import (
	"net/http"
	"net/url"
)

// LogoutRequest holds the parameters of an OpenID Connect RP-Initiated
// Logout request.
type LogoutRequest struct {
	IDTokenHint, ClientID, PostLogoutRedirectURI, State string
}

// ReadLogout reads an RP-Initiated Logout request (GET, or a form POST of
// at most 64 KiB). A wrong method is answered 405; a malformed body or a
// repeated parameter is handed to fail (the provider's own error page).
// It reports whether the request was read.
func ReadLogout(w http.ResponseWriter, r *http.Request, fail func(status int, msg string)) (LogoutRequest, bool) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return LogoutRequest{}, false
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		fail(http.StatusBadRequest, "The logout request is malformed.")
		return LogoutRequest{}, false
	}
	for k, v := range r.Form {
		if len(v) > 1 {
			fail(http.StatusBadRequest, "Parameter "+k+" is repeated.")
			return LogoutRequest{}, false
		}
	}
	f := r.Form
	return LogoutRequest{IDTokenHint: f.Get("id_token_hint"), ClientID: f.Get("client_id"),
		PostLogoutRedirectURI: f.Get("post_logout_redirect_uri"), State: f.Get("state")}, true
}

// RedirectAfterLogout sends the browser to the (already allowed) post-logout
// redirect URI with state, if any (302, not cached).
func RedirectAfterLogout(w http.ResponseWriter, r *http.Request, uri, state string) {
	to, _ := url.Parse(uri)
	if state != "" {
		q := to.Query()
		q.Set("state", state)
		to.RawQuery = q.Encode()
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, to.String(), http.StatusFound)
}
