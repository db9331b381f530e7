// Package conformance is authport's public conformance suite: one function,
// Run, that proves an Authenticator behaves like every other adapter for
// login state, session validation, route protection, the token attack
// catalogue, revocation, refresh and concurrency.
//
// It is modelled on gocloud.dev's drivertest and testing/fstest.TestFS: an
// adapter author supplies a Harness (the adapter wired to a provider, plus
// an admin oracle that creates users, signs them in and revokes sessions the
// way the provider's own clients would) and calls Run from a test:
//
//	func TestConformance(t *testing.T) {
//		emu := oidctest.New(t)
//		newAuth := func() (authport.Authenticator, error) { return oidc.New(ctx, cfg) }
//		a, _ := newAuth()
//		conformance.Run(t, emu.Harness(a, newAuth))
//	}
//
// Subtests have stable names under LoginState/, SessionValidation/,
// RouteProtection/, Attacks/ (the forged-token catalogue: alg none and swaps, key
// confusion, bad signatures, wrong issuer, audience and times, malformed parts),
// Revocation/, Refresh/, PasswordSignIn/, Concurrency/, Availability/ and
// StepUp/ (a sign-in the provider interrupts with one more step, finished
// through authport.ActionContinuer and Web's /auth/continue).
// A scenario that needs a capability the adapter lacks, or a harness hook
// the provider cannot offer (forging tokens needs the signing key, which
// only an emulator has), is skipped with a message starting "N/A:" and the
// reason — never passed silently. `go run ./conformance/cmd/report` turns
// `go test -json` output into the scenarios × providers table in
// docs/conformance.md, where N/A rows show as such.
package conformance

import (
	"context"
	"time"

	"github.com/authport/authport"
)

// User is a test user the harness creates at the provider.
type User struct {
	// Email and Password sign the user in. The suite generates unique
	// values.
	Email, Password string
	// Roles, Permissions and OrgID are granted where the provider can
	// (see Features).
	Roles       []string
	Permissions []string
	OrgID       string
	// ID is set by CreateUser to the provider's user id (the token "sub").
	ID string
}

// Features says which session attributes the harness can grant a user, so
// role, permission and organisation scenarios can run.
type Features struct {
	Roles, Permissions, Org bool
	// EmailInToken reports that the verified Session carries the email.
	EmailInToken bool
}

// Forger gives the suite the provider's trusted signing key, so it can
// build the attack catalogue's tokens. Only emulators can offer it.
type Forger struct {
	// Issuer, Audience and AuthorizedParty are what valid tokens carry
	// (Audience empty when the provider's tokens have none to check;
	// AuthorizedParty empty when the adapter has no azp allow-list).
	Issuer          string
	Audience        []string
	AuthorizedParty string
	// Alg and KID are the trusted key's algorithm and key id.
	Alg, KID string
	// PublicKey is the trusted key's public half (for the HMAC key
	// confusion attacks).
	PublicKey any
	// Header returns a valid header (alg, kid, typ as the provider sets
	// them).
	Header func() map[string]any
	// Claims returns a valid claim set for user id sub, as the provider
	// would mint it (the suite overrides registered claims per attack).
	Claims func(sub string) map[string]any
	// SignRaw signs exactly these bytes with the trusted key.
	SignRaw func(header, payload []byte) (string, error)
	// KIDOptional reports that the adapter accepts tokens without kid
	// (a sole static key); the missing-kid attack is then N/A.
	KIDOptional bool
	// Stricter names attacks (by name, e.g. "J22_WrongAudience") whose
	// legal variants — tokens RFC 7519 allows and the suite otherwise
	// expects to be accepted — the provider's own SDK refuses, with the
	// reason. The adapter must then refuse them too, as invalid
	// credentials: it is never more lenient than the provider.
	Stricter map[string]string
}

// Harness wires an adapter and its provider to the suite.
type Harness struct {
	// Name names the provider in reports ("clerk", "diy-sqlite-jwt").
	Name string
	// Authenticator is the adapter under test.
	Authenticator authport.Authenticator
	// NewAuthenticator, if set, returns a fresh adapter with cold caches
	// (for the key-fetch counting scenarios).
	NewAuthenticator func() (authport.Authenticator, error)
	// CreateUser creates u at the provider through its admin API and
	// returns the user id.
	CreateUser func(ctx context.Context, u User) (string, error)
	// SignIn obtains tokens for u the way the provider's own client would
	// (not through the adapter under test).
	SignIn func(ctx context.Context, u User) (*authport.Tokens, error)
	// Credential turns tokens into what a client presents (default: the
	// access token as a bearer header).
	Credential func(t *authport.Tokens) authport.Credential
	// RevokeSession ends the session through the provider's admin API
	// (optional).
	RevokeSession func(ctx context.Context, s *authport.Session) error
	// Forger, if set, enables the attack catalogue.
	Forger *Forger
	// KeyFetches, if set, counts fetches from the provider's key endpoint.
	KeyFetches func() int64
	// SetKeysDown, if set, makes the key endpoint fail (true) or recover.
	SetKeysDown func(down bool)
	// SetRateLimited, if set, makes the provider refuse our API calls
	// for their rate with its own answer (true: every call, as a
	// provider throttling this client does) or lifts that (false), for
	// Availability/ProviderRateLimited.
	SetRateLimited func(on bool)
	// RetryAfter, if set with SetRateLimited, is the wait the provider
	// names in its refusal; the scenario checks that it reaches the
	// client's Retry-After. Zero means the provider names none (the HTTP
	// layer's default is used).
	RetryAfter time.Duration
	// SetProviderDown, if set, makes every provider endpoint the adapter
	// calls fail (true) or recover: the outage hook for providers whose
	// sessions are checked by an HTTP call rather than against a key set.
	// The Availability/ scenarios use it when SetKeysDown is nil.
	SetProviderDown func(down bool)
	// ExpireSession, if set, makes the provider treat the session of tok
	// as expired (advance its clock, or expire the session in its store),
	// so expiry is tested where the suite cannot forge an expired token.
	ExpireSession func(ctx context.Context, tok *authport.Tokens) error
	// Features says what CreateUser can grant.
	Features Features
	// StepUp, if set, lets the suite make the provider interrupt a
	// sign-in with one more step (email verification, MFA, organisation
	// selection) and take it as the user would, for the StepUp/
	// scenarios. Without it they are N/A.
	StepUp *StepUp
	// NotApplicable lists scenarios (by subtest path, e.g.
	// "Refresh/ReuseRejected") the provider cannot meet, with the reason;
	// they are reported N/A. Use it only for real provider gaps.
	NotApplicable map[string]string
}

func (h *Harness) credential(t *authport.Tokens) authport.Credential {
	if h.Credential != nil {
		return h.Credential(t)
	}
	return authport.Credential{Token: t.AccessToken, Source: authport.SourceHeader}
}

func (h *Harness) bearer(tok string) authport.Credential {
	return h.credential(&authport.Tokens{AccessToken: tok})
}
