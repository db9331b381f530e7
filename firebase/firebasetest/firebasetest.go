// Package firebasetest tests code that uses the firebase adapter, in two
// ways.
//
// The real Firebase Auth Emulator (npm firebase-tools, `firebase emulators:start
// --only auth`) is the reference for users, sign-in, session cookies and
// revocation. [Harness] builds the conformance harness for an adapter
// pointed at it (or at a live project): users are created with the Admin
// SDK, signed in through the Identity Toolkit REST API as Firebase's client
// SDKs do, and revoked with RevokeRefreshTokens. [ConnectEmulator] talks to
// a running emulator (wiping it, listing its state).
//
// The real emulator issues unsigned tokens, and the Admin SDK skips
// signatures in emulator mode, so the production path — RS256 tokens, the
// two certificate maps, key rotation and the whole attack catalogue — is
// tested against [Emulator]: a Go server on authport's emulator core that
// speaks Firebase's production wire format:
//
//	GET  /robot/v1/metadata/x509/securetoken@system.gserviceaccount.com   ID-token certificates
//	GET  /identitytoolkit/v3/relyingparty/publicKeys                     session-cookie certificates
//	POST /identitytoolkit.googleapis.com/v1/accounts:signInWithPassword?key=   client sign-in
//	POST /identitytoolkit.googleapis.com/v1/accounts:signUp?key=               client sign-up
//	POST /identitytoolkit.googleapis.com/v1/projects/{p}/accounts              Admin CreateUser
//	POST /identitytoolkit.googleapis.com/v1/projects/{p}/accounts:lookup       Admin GetUser…
//	POST /identitytoolkit.googleapis.com/v1/projects/{p}/accounts:update       Admin UpdateUser, SetCustomUserClaims, RevokeRefreshTokens
//	POST /identitytoolkit.googleapis.com/v1/projects/{p}/accounts:delete       Admin DeleteUser
//	POST /identitytoolkit.googleapis.com/v1/projects/{p}/accounts:batchDelete  Admin DeleteUsers
//	POST /identitytoolkit.googleapis.com/v1/projects/{p}:createSessionCookie   Admin SessionCookie
//	POST /securetoken.googleapis.com/v1/token?key=                             refresh grant
//	     /__authport/...                                                       the emulator control API
//
// The same routes answer on Google's own host names (identitytoolkit.googleapis.com,
// securetoken.googleapis.com, www.googleapis.com) through a TLS front:
// [Emulator.GoogleClient] and [Emulator.ClientOptions] give the adapter and
// the unmodified Admin SDK clients that reach it at Google's production
// URLs, and [InterceptDefaultTransport] does the same for the certificate
// fetch the SDK hard-codes (test binaries only).
//
// Behaviour follows production Firebase, not the emulator's gaps: ID tokens
// live an hour, are RS256 with a 40-hex kid and carry the claims of
// reference/providers.md §4.1; session cookies are signed by their own key
// ring; RevokeRefreshTokens sets validSince and the refresh grant then fails
// with TOKEN_EXPIRED; sign-in errors are INVALID_LOGIN_CREDENTIALS (email
// enumeration protection) unless Options.LegacyErrorCodes asks for
// INVALID_PASSWORD / EMAIL_NOT_FOUND; refresh tokens are long-lived and not
// rotated.
package firebasetest

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"google.golang.org/api/option"

	"github.com/authport/authport"
	"github.com/authport/authport/conformance"
	"github.com/authport/authport/firebase"
	"github.com/authport/authport/internal/emulator"
)

// Types re-exported from the emulator core so callers can name them.
type (
	// User is a user of the emulated project.
	User = emulator.User
	// NewUser describes a user to create. Roles, Permissions and OrgID
	// become the custom claims "roles", "permissions" and "org_id";
	// Metadata holds any other custom claims.
	NewUser = emulator.NewUser
	// Fault is an injected failure on a route.
	Fault = emulator.Fault
	// Clock is the emulated time.
	Clock = emulator.Clock
	// KeyRing holds signing keys.
	KeyRing = emulator.KeyRing
	// Server is the emulator core.
	Server = emulator.Server
)

// NewClock returns an emulated clock that follows the real time until it
// is advanced; share it with the adapter (Config.Clock = clk.Now).
func NewClock() *Clock { return emulator.NewClock() }

// The routes, as registered (for SetFault, Fetches and Hits). The REST
// routes are registered twice, under the emulator-style path prefix and
// under Google's host name; these are the prefix forms.
const (
	RouteIDTokenCerts       = "GET /robot/v1/metadata/x509/securetoken@system.gserviceaccount.com"
	RouteSessionCookieCerts = "GET /identitytoolkit/v3/relyingparty/publicKeys"
	RouteIdentityToolkit    = "POST /identitytoolkit.googleapis.com/v1/"
	RouteSecureToken        = "POST /securetoken.googleapis.com/v1/token"
)

// Options configures the emulator. Every field is optional.
type Options struct {
	// ProjectID is the project id (default "authport-test").
	ProjectID string
	// APIKey is the Web API key the client endpoints require as ?key=
	// (default "authport-test-api-key").
	APIKey string
	// ProjectNumber is the refresh response's project_id (default
	// "123456789012").
	ProjectNumber string
	// TokenTTL is the ID tokens' lifetime (default 1 h, as Firebase).
	TokenTTL time.Duration
	// KeysMaxAge is the certificate maps' Cache-Control max-age (default
	// 6 h, about what Google sends).
	KeysMaxAge time.Duration
	// LegacyErrorCodes makes sign-in fail with INVALID_PASSWORD and
	// EMAIL_NOT_FOUND, as projects without email enumeration protection
	// (and the Firebase emulator) do, instead of INVALID_LOGIN_CREDENTIALS.
	LegacyErrorCodes bool
	// Clock is the emulated time (default: real time).
	Clock *Clock
	// Addr is the plain-HTTP listen address (default 127.0.0.1:0).
	Addr string
	// Logger receives one debug line per request.
	Logger *slog.Logger
}

// Emulator is a running Firebase production-path emulator.
type Emulator struct {
	// Server is the emulator core: Mux, Keys (the ID-token key ring),
	// Store, Clock, faults, counters and the control API.
	*Server
	// CookieKeys is the session-cookie key ring.
	CookieKeys *KeyRing
	// ProjectID and APIKey are the project's id and Web API key.
	ProjectID, APIKey string
	// GoogleAddr is the TLS front's host:port, where GoogleTransport sends
	// Google's host names.
	GoogleAddr string

	o     Options
	front *httptest.Server
	route *string

	mu         sync.Mutex
	validSince map[string]int64     // uid → unix seconds
	lastLogin  map[string]time.Time // uid → last sign-in
	refresh    map[string]refreshRecord
	deleted    map[string]bool
}

type refreshRecord struct {
	uid    string
	issued int64 // unix seconds of the sign-in that issued it
}

// New starts an emulator for a test and closes it when the test ends. It
// takes at most one Options. It also installs InterceptDefaultTransport, so
// that Admin SDK clients built from now on in this test binary check the
// emulator's signatures (VerifyStrict, the SDK's own verifiers).
func New(tb testing.TB, opts ...Options) *Emulator {
	tb.Helper()
	InterceptDefaultTransport()
	if len(opts) > 1 {
		tb.Fatal("firebasetest.New: at most one Options")
	}
	var o Options
	if len(opts) == 1 {
		o = opts[0]
	}
	e, err := Start(o)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(e.Close)
	return e
}

// Start starts an emulator; the caller must Close it.
func Start(o Options) (e *Emulator, err error) {
	if o.ProjectID == "" {
		o.ProjectID = "authport-test"
	}
	if o.APIKey == "" {
		o.APIKey = "authport-test-api-key"
	}
	if o.ProjectNumber == "" {
		o.ProjectNumber = "123456789012"
	}
	if o.TokenTTL <= 0 {
		o.TokenTTL = time.Hour
	}
	if o.KeysMaxAge <= 0 {
		o.KeysMaxAge = 6 * time.Hour
	}
	if o.Clock == nil {
		o.Clock = emulator.NewClock()
	}
	cert, err := googleCert()
	if err != nil {
		return nil, fmt.Errorf("firebasetest: TLS certificate: %w", err)
	}
	defer func() {
		if r := recover(); r != nil { // NewUnstarted panics when it cannot listen
			err = fmt.Errorf("firebasetest: %v", r)
		}
	}()
	kid := func() string { return emulator.RandomHex(20) }
	e = &Emulator{
		ProjectID: o.ProjectID, APIKey: o.APIKey, o: o,
		CookieKeys: emulator.NewKeyRing(emulator.KeyRingOptions{KID: kid, Clock: o.Clock, CommonName: "securetoken.system.gserviceaccount.com"}),
		validSince: map[string]int64{}, lastLogin: map[string]time.Time{}, refresh: map[string]refreshRecord{},
		deleted: map[string]bool{},
	}
	e.Server = emulator.NewUnstarted(emulator.Options{
		Name:          "Firebase emulator",
		Addr:          o.Addr,
		Clock:         o.Clock,
		Keys:          emulator.KeyRingOptions{KID: kid, CommonName: "securetoken.system.gserviceaccount.com"},
		Store:         emulator.StoreOptions{UserID: func() string { return emulator.RandomBase62(28) }},
		TokenTTL:      o.TokenTTL,
		DefaultClaims: e.controlClaims,
		SignIn:        e.controlSignIn,
		RateLimited: func(w http.ResponseWriter, r *http.Request, _ time.Duration) {
			// Google's Identity Toolkit answers 400 with no Retry-After.
			badRequest(w, "TOO_MANY_ATTEMPTS_TRY_LATER : Too many unsuccessful login attempts. Please try again later.")
		},
		Logger: o.Logger,
	})
	e.routes()
	e.Start()
	e.front = httptest.NewUnstartedServer(e.Server)
	e.front.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	e.front.StartTLS()
	e.GoogleAddr = e.front.Listener.Addr().String()
	addr := e.GoogleAddr
	e.route = &addr
	intercepted.Store(e.route)
	return e, nil
}

// Close stops the emulator.
func (e *Emulator) Close() {
	intercepted.CompareAndSwap(e.route, nil)
	e.front.Close()
	e.Server.Close()
}

// IDTokenIssuer and SessionCookieIssuer are the two issuers.
func (e *Emulator) IDTokenIssuer() string { return firebase.IDTokenIssuerPrefix + e.ProjectID }

// SessionCookieIssuer is the session cookies' issuer.
func (e *Emulator) SessionCookieIssuer() string {
	return firebase.SessionCookieIssuerPrefix + e.ProjectID
}

// GoogleTransport returns a transport that reaches this emulator at
// Google's production URLs (https://identitytoolkit.googleapis.com/…,
// https://securetoken.googleapis.com/…, https://www.googleapis.com/…):
// connections to those hosts go to the TLS front, whose certificate it
// trusts; other hosts are dialled normally.
func (e *Emulator) GoogleTransport() *http.Transport {
	addr := e.GoogleAddr
	return newGoogleTransport(func() string { return addr })
}

// GoogleClient is an *http.Client over GoogleTransport, for
// firebase.Config.HTTPClient (certificate maps, sign-in and refresh).
func (e *Emulator) GoogleClient() *http.Client {
	return &http.Client{Transport: e.GoogleTransport(), Timeout: 10 * time.Second}
}

// adminTransport adds the credential the Admin API requires.
type adminTransport struct{ base http.RoundTripper }

// RoundTrip implements http.RoundTripper.
func (t adminTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer firebasetest-admin")
	return t.base.RoundTrip(r)
}

// ClientOptions are the Admin SDK options (firebase.Config.ClientOptions)
// that make the unmodified SDK, in production mode, manage this emulator's
// users: an HTTP client reaching it at Google's URLs with an admin bearer
// token, and a static token source so the SDK does not look for
// Application Default Credentials.
func (e *Emulator) ClientOptions() []option.ClientOption {
	hc := &http.Client{Transport: adminTransport{e.GoogleTransport()}, Timeout: 10 * time.Second}
	return []option.ClientOption{
		option.WithHTTPClient(hc),
		option.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "firebasetest-admin"})),
	}
}

// Config returns an adapter configuration for this emulator on the
// production path: Google's default URLs, reached through GoogleClient and
// ClientOptions. The process must not have FIREBASE_AUTH_EMULATOR_HOST set.
// VerifyStrict also needs InterceptDefaultTransport (New installs it): the
// Admin SDK checks signatures against certificates it fetches itself.
func (e *Emulator) Config() firebase.Config {
	return firebase.Config{
		ProjectID: e.ProjectID, APIKey: e.APIKey,
		HTTPClient: e.GoogleClient(), ClientOptions: e.ClientOptions(),
	}
}

// Env returns the environment the adapter's FromEnv reads for this
// emulator (AUTH_PROVIDER, FIREBASE_PROJECT_ID, FIREBASE_API_KEY). The
// adapter built from it still needs GoogleClient and ClientOptions to reach
// the emulator, so Env suits configuration tests only.
func (e *Emulator) Env() map[string]string {
	return map[string]string{"AUTH_PROVIDER": firebase.Name, firebase.EnvProjectID: e.ProjectID, firebase.EnvAPIKey: e.APIKey}
}

// CreateUser creates a user (roles, permissions and org become custom
// claims).
func (e *Emulator) CreateUser(u NewUser) (*User, error) { return e.Store.CreateUser(u) }

// SetCustomClaims replaces a user's custom claims, as SetCustomUserClaims
// does; they appear in the tokens issued from now on.
func (e *Emulator) SetCustomClaims(uid string, claims map[string]any) error {
	if err := checkClaims(claims); err != nil {
		return err
	}
	_, err := e.Store.UpdateUser(uid, func(u *User) {
		u.Metadata, u.Roles, u.Permissions, u.OrgID = claims, nil, nil, ""
	})
	return err
}

// RevokeRefreshTokens sets the user's validSince to now, as the Admin SDK
// call does.
func (e *Emulator) RevokeRefreshTokens(uid string) error {
	if _, err := e.Store.User(uid); err != nil {
		return err
	}
	e.mu.Lock()
	e.validSince[uid] = e.Clock.Now().Unix()
	e.mu.Unlock()
	return nil
}

// DisableUser disables a user: sign-in, refresh and strict verification
// fail.
func (e *Emulator) DisableUser(uid string) error { return e.Store.DisableUser(uid) }

// SetKeysDown makes both certificate endpoints answer 503 (true) or
// recover.
func (e *Emulator) SetKeysDown(down bool) {
	for _, r := range []string{RouteIDTokenCerts, RouteSessionCookieCerts} {
		if down {
			e.SetFault(r, Fault{Down: true})
		} else {
			e.ClearFault(r)
		}
	}
}

// KeyFetches counts requests to both certificate endpoints.
func (e *Emulator) KeyFetches() int64 {
	return e.Fetches(RouteIDTokenCerts) + e.Fetches(RouteSessionCookieCerts)
}

// SignIn signs a user in as Firebase's client SDKs do
// (accounts:signInWithPassword), and returns the ID token as the access
// token.
func (e *Emulator) SignIn(ctx context.Context, email, password string) (*authport.Tokens, error) {
	return SignInREST(ctx, e.GoogleClient(), firebase.DefaultIdentityToolkitURL, e.APIKey, email, password)
}

// customClaims are the user's custom claims as tokens carry them.
func customClaims(u *User) map[string]any {
	c := map[string]any{}
	for k, v := range u.Metadata {
		c[k] = v
	}
	if len(u.Roles) > 0 {
		if _, ok := c["roles"]; !ok {
			c["roles"] = append([]string(nil), u.Roles...)
		}
	}
	if len(u.Permissions) > 0 {
		if _, ok := c["permissions"]; !ok {
			c["permissions"] = append([]string(nil), u.Permissions...)
		}
	}
	if u.OrgID != "" {
		if _, ok := c["org_id"]; !ok {
			c["org_id"] = u.OrgID
		}
	}
	return c
}

// reservedClaims may not be custom claims (Admin SDK auth.go).
var reservedClaims = []string{"acr", "amr", "at_hash", "aud", "auth_time", "azp", "cnf", "c_hash",
	"exp", "firebase", "iat", "iss", "jti", "nbf", "nonce", "sub"}

func checkClaims(c map[string]any) error {
	for _, k := range reservedClaims {
		if _, ok := c[k]; ok {
			return fmt.Errorf("%w: FORBIDDEN_CLAIM : %s", emulator.ErrInvalid, k)
		}
	}
	if b, _ := json.Marshal(c); len(b) > 1000 {
		return fmt.Errorf("%w: CLAIMS_TOO_LARGE", emulator.ErrInvalid)
	}
	return nil
}

// idClaims are the claims of an ID token for u (reference/providers.md
// §4.1): custom claims first, Firebase's own over them.
func (e *Emulator) idClaims(u *User, authTime time.Time) map[string]any {
	c := customClaims(u)
	if u.Name != "" {
		c["name"] = u.Name
	}
	c["iss"] = e.IDTokenIssuer()
	c["aud"] = e.ProjectID
	c["auth_time"] = authTime.Unix()
	c["user_id"] = u.ID
	c["sub"] = u.ID
	c["email"] = strings.ToLower(u.Email)
	c["email_verified"] = u.EmailVerified
	c["firebase"] = map[string]any{
		"identities":       map[string]any{"email": []any{strings.ToLower(u.Email)}},
		"sign_in_provider": "password",
	}
	return c
}

// controlClaims are the default claims of /__authport/mint and Server.Mint.
func (e *Emulator) controlClaims(u *User, _ *emulator.Session) map[string]any {
	if u == nil {
		return map[string]any{"iss": e.IDTokenIssuer(), "aud": e.ProjectID, "auth_time": e.Clock.Now().Unix()}
	}
	return e.idClaims(u, e.Clock.Now())
}

// MintIDToken signs an ID token for user uid as a sign-in would, with
// claims merged over the defaults (a nil value removes a claim).
func (e *Emulator) MintIDToken(uid string, claims map[string]any) (string, error) {
	u, err := e.Store.User(uid)
	if err != nil {
		return "", err
	}
	return e.mintID(u, e.authTime(u), claims)
}

func (e *Emulator) authTime(u *User) time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	if t, ok := e.lastLogin[u.ID]; ok {
		return t
	}
	return e.Clock.Now()
}

func (e *Emulator) mintID(u *User, authTime time.Time, extra map[string]any) (string, error) {
	claims := map[string]any{"jti": nil}
	for k, v := range extra {
		claims[k] = v
	}
	return e.Mint(emulator.MintRequest{
		UserID:   u.ID,
		Defaults: func(u *User, _ *emulator.Session) map[string]any { return e.idClaims(u, authTime) },
		Claims:   claims,
	})
}

// MintSessionCookie signs a session cookie for user uid valid for d, with
// claims merged over the defaults.
func (e *Emulator) MintSessionCookie(uid string, d time.Duration, claims map[string]any) (string, error) {
	u, err := e.Store.User(uid)
	if err != nil {
		return "", err
	}
	now := e.Clock.Now()
	c := e.idClaims(u, e.authTime(u))
	c["iss"] = e.SessionCookieIssuer()
	c["iat"] = now.Unix()
	c["exp"] = now.Add(d).Unix()
	for k, v := range claims {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return e.CookieKeys.Current().Sign(map[string]any{"typ": "JWT"}, c)
}

// issue signs u in: a fresh ID token and a refresh token, in
// accounts:signInWithPassword's response shape.
func (e *Emulator) issue(u *User) (map[string]any, error) {
	now := e.Clock.Now()
	e.mu.Lock()
	e.lastLogin[u.ID] = now
	e.mu.Unlock()
	idt, err := e.mintID(u, now, nil)
	if err != nil {
		return nil, err
	}
	rt := "AMf-vB" + emulator.RandomToken(150)
	e.mu.Lock()
	e.refresh[rt] = refreshRecord{uid: u.ID, issued: now.Unix()}
	e.mu.Unlock()
	return map[string]any{
		"kind": "identitytoolkit#VerifyPasswordResponse", "localId": u.ID, "email": strings.ToLower(u.Email),
		"displayName": u.Name, "idToken": idt, "registered": true, "refreshToken": rt,
		"expiresIn": fmt.Sprint(int64(e.o.TokenTTL / time.Second)),
	}, nil
}

// controlSignIn answers POST /__authport/sign-in like signInWithPassword.
func (e *Emulator) controlSignIn(_ *http.Request, u *User) (any, error) { return e.issue(u) }

// SignInREST signs in with accounts:signInWithPassword at base (an
// Identity Toolkit base URL without /v1) as Firebase's client SDKs do, and
// returns the ID token as AccessToken and IDToken. It is the harness's
// sign-in: it never goes through the adapter under test.
func SignInREST(ctx context.Context, hc *http.Client, base, apiKey, email, password string) (*authport.Tokens, error) {
	body, _ := json.Marshal(map[string]any{"email": email, "password": password, "returnSecureToken": true})
	u := strings.TrimSuffix(base, "/") + "/v1/accounts:signInWithPassword?key=" + url.QueryEscape(apiKey)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(string(body)))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("firebasetest: sign-in: %w", err)
	}
	defer resp.Body.Close()
	var r struct {
		LocalID      string `json:"localId"`
		IDToken      string `json:"idToken"`
		RefreshToken string `json:"refreshToken"`
		ExpiresIn    string `json:"expiresIn"`
		Error        struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(nil, resp.Body, 1<<20)).Decode(&r); err != nil {
		return nil, fmt.Errorf("firebasetest: sign-in answered %d with no JSON", resp.StatusCode)
	}
	if resp.StatusCode != http.StatusOK || r.IDToken == "" {
		return nil, fmt.Errorf("firebasetest: sign-in answered %d %s", resp.StatusCode, r.Error.Message)
	}
	life := time.Hour
	if d, err := time.ParseDuration(r.ExpiresIn + "s"); err == nil && d > 0 {
		life = d
	}
	return &authport.Tokens{AccessToken: r.IDToken, IDToken: r.IDToken, RefreshToken: r.RefreshToken,
		ExpiresAt: time.Now().Add(life), UserID: r.LocalID}, nil
}

// Forger gives the conformance suite the emulator's trusted key for ID
// tokens, or, with cookie, for session cookies.
func (e *Emulator) Forger(cookie bool) *conformance.Forger {
	ring, iss := e.Keys, e.IDTokenIssuer()
	if cookie {
		ring, iss = e.CookieKeys, e.SessionCookieIssuer()
	}
	k := ring.Current()
	return &conformance.Forger{
		Issuer:    iss,
		Audience:  []string{e.ProjectID},
		Alg:       k.Algorithm,
		KID:       k.ID,
		PublicKey: k.Public,
		Stricter: map[string]string{
			"J20_MalformedTimes": "the Admin SDK decodes exp and iat as whole seconds and refuses fractions",
			"J22_WrongAudience":  "the Admin SDK decodes aud as one string and refuses an array",
		},
		Header: func() map[string]any {
			return map[string]any{"alg": ring.Algorithm(), "kid": ring.KID(), "typ": "JWT"}
		},
		Claims: func(sub string) map[string]any {
			now := e.Clock.Now()
			c := map[string]any{
				"iss": iss, "aud": e.ProjectID, "sub": sub, "user_id": sub,
				"auth_time": now.Unix(), "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
				"firebase": map[string]any{"identities": map[string]any{}, "sign_in_provider": "custom"},
			}
			if u, err := e.Store.User(sub); err == nil {
				c = e.idClaims(u, now)
				c["iss"], c["iat"], c["exp"] = iss, now.Unix(), now.Add(time.Hour).Unix()
			}
			return c
		},
		SignRaw: func(header, payload []byte) (string, error) { return ring.Current().SignRaw(header, payload) },
	}
}

// SetRateLimit makes the emulator refuse API calls past requests per
// window with Google's own TOO_MANY_ATTEMPTS_TRY_LATER (which names no wait) (the control API's POST /__authport/ratelimit
// does the same); key endpoints are not limited. requests 0 refuses every
// call; window 0 means one minute.
func (e *Emulator) SetRateLimit(requests int, window time.Duration) {
	e.Server.SetRateLimit(emulator.RateLimit{Requests: requests, Window: window})
}

// SetRateLimited refuses every API call for its rate (true), as a
// provider throttling this client does, or lifts the limit (false).
func (e *Emulator) SetRateLimited(on bool) {
	if on {
		e.Server.SetRateLimit(emulator.RateLimit{Requests: 0, Window: RateLimitWindow})
		return
	}
	e.Server.ClearRateLimit()
}

// RateLimitWindow is the window SetRateLimited refuses calls for: the
// wait its refusals name.
const RateLimitWindow = time.Minute
