package conformance

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/authport/authport"
)

// Entry is one observation of an equivalence story: Key names the story
// and step ("SignIn/WrongPassword/status"), Value is what the application
// or its user saw, normalised.
type Entry struct {
	Key, Value string
}

// Transcript is what one adapter showed an application and its users in
// the equivalence stories, normalised so that two providers can be
// compared: user ids, session ids, token ids, emails, tokens, times and
// the provider's own name and hosts are replaced by placeholders
// ("<user>", "<sid>", "<time>", "<provider-host>"); everything else
// (status codes, redirects, /auth/session JSON, Session fields, guard
// outcomes, error kinds, the text of pages and JSON error bodies) is kept.
type Transcript struct {
	// Name is the harness name.
	Name string
	// Entries are in story order.
	Entries []Entry
}

// Get returns the value recorded under key, and whether there is one.
func (tr *Transcript) Get(key string) (string, bool) {
	for _, e := range tr.Entries {
		if e.Key == key {
			return e.Value, true
		}
	}
	return "", false
}

// String renders the transcript one "key: value" line per entry.
func (tr *Transcript) String() string {
	var b strings.Builder
	for _, e := range tr.Entries {
		fmt.Fprintf(&b, "%s: %s\n", e.Key, e.Value)
	}
	return b.String()
}

// Difference declares that what a provider shows differs from the
// reference adapter in the entries under Key, and why. Every declared
// difference must be a fact about the provider (what its API or product
// does), never a gap in an adapter.
type Difference struct {
	// Harness is the harness name or a name prefix ending in "-" or "/"
	// ("clerk", "firebase-", "diy-").
	Harness string
	// Key is an entry key or a key prefix ending in "/" ("Refresh/").
	Key string
	// Reason is the provider fact, in one sentence.
	Reason string
	// Gap marks a difference that is not a provider fact but a gap in
	// authport still to close; reports list gaps apart, so the table of
	// provider facts stays honest.
	Gap bool
}

func (d Difference) matchesHarness(name string) bool {
	if strings.HasSuffix(d.Harness, "-") || strings.HasSuffix(d.Harness, "/") {
		return strings.HasPrefix(name, d.Harness)
	}
	return name == d.Harness
}

func (d Difference) matchesKey(key string) bool {
	if strings.HasSuffix(d.Key, "/") {
		return strings.HasPrefix(key, d.Key)
	}
	return key == d.Key
}

// Compare lists the entries in which got differs from ref and no declared
// difference covers, and reports which declared rows explained at least
// one difference (by index into declared).
func Compare(ref, got *Transcript, declared []Difference) (undeclared []string, used []int) {
	keys := make([]string, 0, len(ref.Entries)+len(got.Entries))
	seen := map[string]bool{}
	for _, tr := range []*Transcript{ref, got} {
		for _, e := range tr.Entries {
			if !seen[e.Key] {
				seen[e.Key] = true
				keys = append(keys, e.Key)
			}
		}
	}
	usedSet := map[int]bool{}
	for _, k := range keys {
		rv, rok := ref.Get(k)
		gv, gok := got.Get(k)
		if rok == gok && rv == gv {
			continue
		}
		covered := false
		for i, d := range declared {
			if d.matchesHarness(got.Name) && d.matchesKey(k) {
				covered, usedSet[i] = true, true
			}
		}
		if !covered {
			undeclared = append(undeclared, fmt.Sprintf("%s: %s has %s, %s has %s", k, ref.Name, show(rv, rok), got.Name, show(gv, gok)))
		}
	}
	for i := range usedSet {
		used = append(used, i)
	}
	sort.Ints(used)
	return undeclared, used
}

func show(v string, ok bool) string {
	if !ok {
		return "nothing"
	}
	return fmt.Sprintf("%q", v)
}

// RunEquivalence records the equivalence stories for every harness (as
// subtests of t named by harness) and fails t on any difference from the
// first harness, the reference, that declared does not cover, and on any
// declared row for a harness that ran but explained no difference (the
// table must not outlive the facts it records). It returns the
// transcripts, for a report such as docs/differences.md.
//
// Adding a provider is one more harness in the call:
//
//	conformance.RunEquivalence(t, differences, diyHarness, clerkHarness, myHarness)
func RunEquivalence(t *testing.T, declared []Difference, hs ...Harness) []*Transcript {
	t.Helper()
	var trs []*Transcript
	for _, h := range hs {
		if tr := Record(t, h); tr != nil {
			trs = append(trs, tr)
		}
	}
	if len(trs) < 2 {
		return trs
	}
	used := map[int]bool{}
	for _, tr := range trs[1:] {
		undeclared, u := Compare(trs[0], tr, declared)
		for _, i := range u {
			used[i] = true
		}
		for _, d := range undeclared {
			t.Errorf("undeclared difference: %s", d)
		}
	}
	for i, d := range declared {
		ran := false
		for _, tr := range trs[1:] {
			ran = ran || d.matchesHarness(tr.Name)
		}
		if ran && !used[i] {
			t.Errorf("declared difference %q for %q explains nothing in this run: remove it", d.Key, d.Harness)
		}
	}
	return trs
}

// WriteDifferences writes the declared differences that explained a
// difference in trs as a Markdown table, with the harnesses compared.
func WriteDifferences(w io.Writer, declared []Difference, trs []*Transcript) error {
	var b strings.Builder
	for _, gaps := range []bool{false, true} {
		if gaps {
			b.WriteString("\n## Gaps still open (authport's, not the providers')\n\n")
		}
		writeRows(&b, declared, trs, gaps)
	}
	names := make([]string, len(trs))
	for i, tr := range trs {
		names[i] = "`" + tr.Name + "`"
	}
	if len(trs) > 0 {
		fmt.Fprintf(&b, "\nReference: %s. Compared: %s.\n", names[0], strings.Join(names[1:], ", "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeRows(b *strings.Builder, declared []Difference, trs []*Transcript, gaps bool) {
	b.WriteString("| Provider | What differs | Why |\n|---|---|---|\n")
	for _, d := range declared {
		if d.Gap != gaps {
			continue
		}
		ran := false
		for _, tr := range trs[1:] {
			ran = ran || d.matchesHarness(tr.Name)
		}
		if !ran {
			continue
		}
		h := d.Harness
		if strings.HasSuffix(h, "-") || strings.HasSuffix(h, "/") {
			h += "*"
		}
		fmt.Fprintf(b, "| `%s` | `%s` | %s |\n", h, d.Key, strings.ReplaceAll(d.Reason, "|", `\|`))
	}
}

// The user the equivalence stories act for: one of each kind, so guard
// outcomes compare.
const (
	equivRole = "admin"
	equivPerm = "reports:read"
)

// recorder drives the stories and collects the transcript.
type recorder struct {
	h    *Harness
	tr   *Transcript
	site *equivSite
	norm []string // old, new pairs for strings.NewReplacer
}

func (r *recorder) add(key, value string) {
	r.tr.Entries = append(r.tr.Entries, Entry{Key: key, Value: r.normalise(value)})
}

// forget registers a value to be replaced by placeholder in the transcript.
func (r *recorder) forget(value, placeholder string) {
	if len(value) < 3 {
		return
	}
	r.norm = append(r.norm, value, placeholder)
	if lv := strings.ToLower(value); lv != value {
		r.norm = append(r.norm, lv, placeholder)
	}
	if qv := url.QueryEscape(value); qv != value {
		r.norm = append(r.norm, qv, placeholder)
	}
}

var (
	reTime  = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)`)
	reJWT   = regexp.MustCompile(`eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*`)
	reRetry = regexp.MustCompile(`Retry-After=\d+`)
	reSpace = regexp.MustCompile(`\s+`)
	reStyle = regexp.MustCompile(`(?s)<style.*?</style>|<[^>]*>`)
)

func (r *recorder) normalise(v string) string {
	// Longest first, so an email's local part never spoils the email.
	pairs := slices.Clone(r.norm)
	idx := make([]int, 0, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 {
		idx = append(idx, i)
	}
	sort.SliceStable(idx, func(a, b int) bool { return len(pairs[idx[a]]) > len(pairs[idx[b]]) })
	sorted := make([]string, 0, len(pairs))
	for _, i := range idx {
		sorted = append(sorted, pairs[i], pairs[i+1])
	}
	v = strings.NewReplacer(sorted...).Replace(v)
	v = reJWT.ReplaceAllString(v, "<token>")
	v = reTime.ReplaceAllString(v, "<time>")
	return reRetry.ReplaceAllString(v, "Retry-After=<n>")
}

// equivSite is the application of the stories: written once against
// authport, with a public page, a protected subtree and one page per guard.
type equivSite struct {
	srv  *httptest.Server
	web  *authport.Web
	seal *authport.Sealer
}

func newEquivSite(t *testing.T, a authport.Authenticator) *equivSite {
	t.Helper()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	web, err := authport.NewWeb(a, authport.Config{CookieKeys: [][]byte{key}, CookieName: siteCookie, Insecure: true,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("NewWeb: %v", err)
	}
	sealer, err := authport.NewSealer([][]byte{key})
	if err != nil {
		t.Fatal(err)
	}
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s, ok := authport.SessionFrom(r.Context()); ok {
			_, _ = io.WriteString(w, "Signed in as "+display(s))
			return
		}
		_, _ = io.WriteString(w, "Welcome, guest")
	})
	mux := http.NewServeMux()
	mux.Handle("/public", page)
	mux.Handle("/app/", authport.Require()(page))
	mux.Handle("/admin/", authport.RequireRole(equivRole)(page))
	mux.Handle("/reports/", authport.RequirePermission(equivPerm)(page))
	mux.Handle("/scoped/", authport.RequirePermission("email")(page))
	mux.Handle("/org/", authport.RequireOrg()(page))
	mux.Handle("/auth/", web.Handler())
	srv := httptest.NewServer(web.Middleware(mux))
	t.Cleanup(srv.Close)
	return &equivSite{srv: srv, web: web, seal: sealer}
}

// display is what an application shows as the signed-in user: the email
// when the session has one, else the user id.
func display(s *authport.Session) string {
	if s.Email != "" {
		return s.Email
	}
	return s.UserID
}

type equivResp struct {
	status int
	header http.Header
	body   string
}

func (st *equivSite) do(ctx context.Context, method, path string, hdr http.Header, body string) (equivResp, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, st.srv.URL+path, rd)
	if err != nil {
		return equivResp{}, err
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	if method == http.MethodPost {
		req.Header.Set("Origin", st.srv.URL)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	c := st.srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := c.Do(req)
	if err != nil {
		return equivResp{}, err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	return equivResp{res.StatusCode, res.Header, string(b)}, nil
}

// Record drives the equivalence stories through h and the HTTP layer and
// returns the normalised transcript, as a subtest of t named h.Name. It
// returns nil if the subtest did not run (filtered out with -run).
func Record(t *testing.T, h Harness) *Transcript {
	t.Helper()
	if h.Authenticator == nil || h.CreateUser == nil || h.SignIn == nil {
		t.Fatal("conformance: Harness needs Authenticator, CreateUser and SignIn")
	}
	name := h.Name
	if name == "" {
		name = h.Authenticator.Provider()
	}
	var out *Transcript
	t.Run(name, func(t *testing.T) {
		r := &recorder{h: &h, tr: &Transcript{Name: name}}
		r.site = newEquivSite(t, h.Authenticator)
		r.forget(h.Authenticator.Provider(), "<provider>")
		r.stories(t)
		out = r.tr
		t.Logf("transcript of %s:\n%s", name, out)
	})
	return out
}

func (r *recorder) newUser(t *testing.T, mod func(*User)) User {
	t.Helper()
	u := User{Email: "equiv-" + randHex(6) + "@example.com", Password: "Pw-" + randHex(10)}
	if mod != nil {
		mod(&u)
	}
	id, err := r.h.CreateUser(t.Context(), u)
	if err != nil {
		t.Fatalf("harness CreateUser: %v", err)
	}
	u.ID = id
	r.forget(u.Email, "<email>")
	r.forget(u.ID, "<user>")
	r.forget(u.Password, "<password>")
	return u
}

func (r *recorder) signIn(t *testing.T, u User) *authport.Tokens {
	t.Helper()
	tok, err := r.h.SignIn(t.Context(), u)
	if err != nil || tok == nil || tok.AccessToken == "" {
		t.Fatalf("harness SignIn: %v", err)
	}
	r.forgetTokens(tok)
	return tok
}

func (r *recorder) forgetTokens(tok *authport.Tokens) {
	r.forget(tok.AccessToken, "<token>")
	r.forget(tok.RefreshToken, "<refresh-token>")
	r.forget(tok.IDToken, "<id-token>")
	r.forget(tok.SessionID, "<sid>")
}

// cookie is the header of a browser holding authport's sealed session
// cookie for tok.
func (r *recorder) cookie(t *testing.T, tok *authport.Tokens) http.Header {
	t.Helper()
	sealed, err := r.site.seal.Seal(tok)
	if err != nil {
		t.Fatal(err)
	}
	return http.Header{"Cookie": {siteCookie + "=" + sealed}}
}

func (r *recorder) get(t *testing.T, key, path string, hdr http.Header) equivResp {
	t.Helper()
	res, err := r.site.do(t.Context(), http.MethodGet, path, hdr, "")
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	r.response(key, res)
	return res
}

func (r *recorder) post(t *testing.T, key, path string, hdr http.Header, body string) equivResp {
	t.Helper()
	res, err := r.site.do(t.Context(), http.MethodPost, path, hdr, body)
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	r.response(key, res)
	return res
}

// response records what a user or client sees of res: status, where it
// sends them, whether it sets or clears the session cookie, the
// authentication challenge, and the body (page text or JSON).
func (r *recorder) response(key string, res equivResp) {
	r.add(key+"/status", fmt.Sprint(res.status))
	if loc := res.header.Get("Location"); loc != "" {
		r.add(key+"/location", r.location(loc))
	}
	for _, sc := range res.header.Values("Set-Cookie") {
		if strings.HasPrefix(sc, siteCookie+"=") {
			state := "set"
			if strings.Contains(sc, "Max-Age=0") || strings.Contains(sc, "Max-Age=-1") {
				state = "cleared"
			}
			r.add(key+"/cookie", state)
		}
	}
	if c := res.header.Get("WWW-Authenticate"); c != "" {
		r.add(key+"/challenge", c)
	}
	ct := res.header.Get("Content-Type")
	switch {
	case strings.HasPrefix(ct, "application/json"):
		r.add(key+"/json", r.canonicalJSON(res.body))
	case strings.HasPrefix(ct, "text/html"):
		r.add(key+"/text", pageText(res.body))
	default:
		r.add(key+"/body", strings.TrimSpace(res.body))
	}
}

// location keeps a redirect within the site as its path and query, and
// reduces one that leaves it to "<provider-page>" plus its path: which
// provider page a browser is sent to is the provider's business.
func (r *recorder) location(loc string) string {
	u, err := url.Parse(loc)
	if err != nil {
		return "<unparsable>"
	}
	site, _ := url.Parse(r.site.srv.URL)
	if u.Host == "" || u.Host == site.Host {
		u.Scheme, u.Host = "", ""
		return u.String()
	}
	return "<provider-page>"
}

// pageText is the visible text of an HTML page, whitespace collapsed.
func pageText(body string) string {
	s := reStyle.ReplaceAllString(body, " ")
	s = strings.NewReplacer("&#39;", "'", "&quot;", `"`, "&amp;", "&", "&lt;", "<", "&gt;", ">").Replace(s)
	return strings.TrimSpace(reSpace.ReplaceAllString(s, " "))
}

// canonicalJSON re-encodes a JSON body with sorted keys, the session's
// times and ids reduced to placeholders and the raw claims left out.
func (r *recorder) canonicalJSON(body string) string {
	var v any
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		return "<invalid JSON> " + body
	}
	if m, ok := v.(map[string]any); ok {
		if s, ok := m["session"].(map[string]any); ok {
			m["session"] = r.sessionMap(s)
		}
	}
	return marshal(v)
}

// marshal encodes v without escaping "<", so placeholders stay readable.
func marshal(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return strings.TrimSpace(b.String())
}

// sessionMap normalises a session's JSON form.
func (r *recorder) sessionMap(s map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range s {
		switch k {
		case "claims":
			continue
		case "issued_at", "expires_at":
			out[k] = "<time>"
		case "issuer":
			out[k] = "<issuer>"
		case "session_id":
			out[k] = "<sid>"
		case "token_id":
			out[k] = "<jti>"
		default:
			out[k] = v
		}
	}
	return out
}

// session records the Session fields an application reads.
func (r *recorder) session(key string, s *authport.Session, err error) {
	if err != nil {
		r.add(key, "error "+kindName(err))
		return
	}
	b, _ := json.Marshal(s)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	r.add(key, marshal(r.sessionMap(m)))
}

// kindName is the authport kind of err, by its code and status.
func kindName(err error) string {
	if err == nil {
		return "none"
	}
	var ae *authport.ActionError
	if errors.As(err, &ae) {
		return "action_required " + string(ae.Action)
	}
	k := authport.KindOf(err)
	if k == nil {
		return "unclassified"
	}
	return k.Error()
}

func form(vals url.Values) (http.Header, string) {
	return http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "Accept": {"text/html"}}, vals.Encode()
}

func jsonBody(v any) (http.Header, string) {
	b, _ := json.Marshal(v)
	return http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json"}}, string(b)
}

func merge(hs ...http.Header) http.Header {
	out := http.Header{}
	for _, h := range hs {
		for k, v := range h {
			out[k] = append(out[k], v...)
		}
	}
	return out
}

var (
	htmlAccept = http.Header{"Accept": {"text/html"}}
	jsonAccept = http.Header{"Accept": {"application/json"}}
)

func (r *recorder) stories(t *testing.T) {
	a := r.h.Authenticator
	f := r.h.Features

	// Visitors.
	r.get(t, "Public/Anonymous", "/public", nil)
	r.get(t, "Session/Anonymous", "/auth/session", nil)
	r.get(t, "Protected/Anonymous/Browser", "/app/x?y=1", htmlAccept)
	r.get(t, "Protected/Anonymous/API", "/app/x", jsonAccept)
	r.get(t, "LoginPage", "/auth/login?return_to=/app/x", htmlAccept)
	r.get(t, "SignUpPage", "/auth/signup?return_to=/app/x", htmlAccept)

	// Password sign-in through the site, as a browser and as an API client.
	u := r.newUser(t, nil)
	h, b := form(url.Values{"email": {u.Email}, "password": {u.Password}, "return_to": {"/app/x"}})
	r.post(t, "SignIn/Right", "/auth/login", h, b)
	h, b = form(url.Values{"email": {u.Email}, "password": {u.Password + "x"}})
	r.post(t, "SignIn/WrongPassword", "/auth/login", h, b)
	h, b = form(url.Values{"email": {"nobody-" + randHex(4) + "@example.com"}, "password": {u.Password}})
	r.post(t, "SignIn/UnknownEmail", "/auth/login", h, b)
	h, b = jsonBody(map[string]string{"email": u.Email, "password": u.Password + "x"})
	r.post(t, "SignIn/WrongPasswordJSON", "/auth/login", h, b)

	// Sign-up through the site.
	fresh := "equiv-new-" + randHex(6) + "@example.com"
	r.forget(fresh, "<new-email>")
	pw := "Pw-" + randHex(10)
	r.forget(pw, "<password>")
	h, b = form(url.Values{"email": {fresh}, "password": {pw}, "return_to": {"/app/x"}})
	res := r.post(t, "SignUp/New", "/auth/signup", h, b)
	if jar := sessionJar(res); jar != nil {
		sres := r.get(t, "SignUp/New/Session", "/auth/session", jar)
		r.forgetSession(sres.body)
	}
	h, b = form(url.Values{"email": {u.Email}, "password": {"Pw-" + randHex(10)}})
	r.post(t, "SignUp/AlreadyRegistered", "/auth/signup", h, b)
	h, b = form(url.Values{"email": {"equiv-weak-" + randHex(6) + "@example.com"}, "password": {"abc"}})
	r.post(t, "SignUp/WeakPassword", "/auth/signup", h, b)

	// A signed-in user (tokens from the provider's own client) on every
	// kind of page, plain and privileged.
	tok := r.signIn(t, u)
	jar := r.cookie(t, tok)
	sess, err := a.Verify(t.Context(), r.h.credential(tok))
	if err == nil {
		r.forget(sess.SessionID, "<sid>")
		r.forget(sess.TokenID, "<jti>")
		r.forget(sess.Issuer, "<issuer>")
	}
	r.session("Session/Fields", sess, err)
	r.get(t, "Session/SignedIn", "/auth/session", jar)
	r.get(t, "Public/SignedIn", "/public", jar)
	r.get(t, "Protected/SignedIn", "/app/x", jar)
	r.get(t, "Guard/Role/Without", "/admin/x", merge(jar, jsonAccept))
	r.get(t, "Guard/Permission/Without", "/reports/x", merge(jar, jsonAccept))
	r.get(t, "Guard/ScopeIsNotPermission", "/scoped/x", merge(jar, jsonAccept))
	r.get(t, "Guard/Org/Without", "/org/x", merge(jar, jsonAccept))
	if f.Roles {
		admin := r.newUser(t, func(u *User) { u.Roles = []string{equivRole} })
		r.get(t, "Guard/Role/With", "/admin/x", r.cookie(t, r.signIn(t, admin)))
	} else {
		r.add("Guard/Role/With", "harness cannot grant roles")
	}
	if f.Permissions {
		p := r.newUser(t, func(u *User) { u.Permissions = []string{equivPerm} })
		r.get(t, "Guard/Permission/With", "/reports/x", r.cookie(t, r.signIn(t, p)))
	} else {
		r.add("Guard/Permission/With", "harness cannot grant permissions")
	}
	if f.Org {
		o := r.newUser(t, func(u *User) { u.OrgID = "org_" + randHex(6) })
		r.get(t, "Guard/Org/With", "/org/x", r.cookie(t, r.signIn(t, o)))
	} else {
		r.add("Guard/Org/With", "harness cannot place users in organisations")
	}

	// Refresh through the site.
	r.post(t, "Refresh", "/auth/refresh", merge(jar, jsonAccept), "")

	// Sign-out: the cookie is cleared, and the token is refused where the
	// adapter can revoke.
	u2 := r.newUser(t, nil)
	tok2 := r.signIn(t, u2)
	h, b = form(nil)
	r.post(t, "SignOut", "/auth/logout", merge(r.cookie(t, tok2), h), b)
	r.strict("SignOut/Strict", tok2)

	// A session ended at the provider, seen by strict verification.
	if r.h.RevokeSession != nil {
		u3 := r.newUser(t, nil)
		tok3 := r.signIn(t, u3)
		s3, err := a.Verify(t.Context(), r.h.credential(tok3))
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if err := r.h.RevokeSession(t.Context(), s3); err != nil {
			t.Fatalf("harness RevokeSession: %v", err)
		}
		r.strict("Revoked/Strict", tok3)
	} else {
		r.add("Revoked/Strict", "harness cannot revoke at the provider")
	}

	// An expired credential.
	r.expired(t)

	// The provider down.
	r.providerDown(t)
}

// forgetSession learns the ids of a session JSON body.
func (r *recorder) forgetSession(body string) {
	var v struct {
		Session *authport.Session `json:"session"`
	}
	if json.Unmarshal([]byte(body), &v) == nil && v.Session != nil {
		r.forget(v.Session.UserID, "<new-user>")
		r.forget(v.Session.SessionID, "<sid>")
	}
}

// credHeader presents c as a client would: a bearer header, or the
// provider's own cookie.
func credHeader(c authport.Credential) http.Header {
	if c.Source == authport.SourceCookie {
		return http.Header{"Cookie": {c.Cookie + "=" + c.Token}}
	}
	return http.Header{"Authorization": {"Bearer " + c.Token}}
}

func sessionJar(res equivResp) http.Header {
	for _, sc := range res.header.Values("Set-Cookie") {
		if strings.HasPrefix(sc, siteCookie+"=") && !strings.Contains(sc, "Max-Age=0") {
			v, _, _ := strings.Cut(sc, ";")
			return http.Header{"Cookie": {v}}
		}
	}
	return nil
}

// strict records what strict verification says of tok's session.
func (r *recorder) strict(key string, tok *authport.Tokens) {
	a := r.h.Authenticator
	sv, ok := a.(authport.StrictVerifier)
	if !ok || !authport.Has(a, authport.CapStrictVerify) {
		r.add(key, "strict verification unsupported")
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := sv.VerifyStrict(ctx, r.h.credential(tok))
	r.add(key, kindName(err))
}

func (r *recorder) expired(t *testing.T) {
	u := r.newUser(t, nil)
	switch {
	case r.h.Forger != nil:
		f := r.h.Forger
		c := f.Claims(u.ID)
		c["exp"] = time.Now().Add(-time.Hour).Unix()
		c["iat"] = time.Now().Add(-2 * time.Hour).Unix()
		c["nbf"] = time.Now().Add(-2 * time.Hour).Unix()
		e := &env{f: f}
		tok := e.trusted(t, f.Header(), c)
		r.forget(tok, "<token>")
		_, err := r.h.Authenticator.Verify(t.Context(), r.h.bearer(tok))
		r.add("Expired/Verify", kindName(err))
		r.get(t, "Expired/API", "/app/x", merge(jsonAccept, credHeader(r.h.bearer(tok))))
	case r.h.ExpireSession != nil:
		tok := r.signIn(t, u)
		if err := r.h.ExpireSession(t.Context(), tok); err != nil {
			t.Fatalf("harness ExpireSession: %v", err)
		}
		_, err := r.h.Authenticator.Verify(t.Context(), r.h.credential(tok))
		r.add("Expired/Verify", kindName(err))
		r.get(t, "Expired/API", "/app/x", merge(jsonAccept, credHeader(r.h.credential(tok))))
	default:
		r.add("Expired/Verify", "harness cannot expire a session")
	}
}

func (r *recorder) providerDown(t *testing.T) {
	down := r.h.SetProviderDown
	if down == nil {
		down = r.h.SetKeysDown
	}
	if down == nil || r.h.NewAuthenticator == nil {
		r.add("ProviderDown", "harness cannot take the provider down")
		return
	}
	u := r.newUser(t, nil)
	tok := r.signIn(t, u)
	down(true)
	defer down(false)
	a, err := r.h.NewAuthenticator()
	if err != nil {
		r.add("ProviderDown/New", kindName(err))
		return
	}
	_, err = a.Verify(t.Context(), r.h.credential(tok))
	r.add("ProviderDown/Verify", kindName(err))
	site := newEquivSite(t, a)
	saved := r.site
	r.site = site
	defer func() { r.site = saved }()
	r.get(t, "ProviderDown/API", "/app/x", merge(jsonAccept, credHeader(r.h.credential(tok))))
	h, b := form(url.Values{"email": {u.Email}, "password": {u.Password}})
	r.post(t, "ProviderDown/SignIn", "/auth/login", h, b)
}
