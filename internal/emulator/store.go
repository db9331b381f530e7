package emulator

import (
	"cmp"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// The errors the Store returns. Provider emulators translate them into the
// provider's own wire errors.
var (
	// ErrNotFound: no such user, session, token or code.
	ErrNotFound = errors.New("emulator: not found")
	// ErrConflict: a user with that id or email already exists.
	ErrConflict = errors.New("emulator: already exists")
	// ErrBadCredentials: unknown email or wrong password (the same error
	// for both, so nothing enumerates users).
	ErrBadCredentials = errors.New("emulator: invalid email or password")
	// ErrDisabled: the user is disabled.
	ErrDisabled = errors.New("emulator: user disabled")
	// ErrInactive: the session is revoked, ended or expired.
	ErrInactive = errors.New("emulator: session not active")
	// ErrReused: a single-use refresh token or code was presented again.
	ErrReused = errors.New("emulator: already used")
	// ErrExpired: the code or token has expired.
	ErrExpired = errors.New("emulator: expired")
	// ErrPKCE: the code verifier does not match the challenge, or one of
	// them is missing.
	ErrPKCE = errors.New("emulator: PKCE verification failed")
	// ErrRedirectMismatch: the redirect URI differs from the authorize
	// request's.
	ErrRedirectMismatch = errors.New("emulator: redirect_uri mismatch")
	// ErrInvalid: a required field is missing or malformed.
	ErrInvalid = errors.New("emulator: invalid input")
)

// NewUser describes a user to create.
type NewUser struct {
	// ID is the user id; empty means the store's UserID generator makes one.
	ID string `json:"id,omitempty"`
	// Email is the sign-in email address (required, unique, compared
	// case-insensitively).
	Email string `json:"email"`
	// Password is the sign-in password; empty means the user cannot sign
	// in with a password.
	Password string `json:"password,omitempty"`
	// EmailVerified marks the email address as verified.
	EmailVerified bool `json:"email_verified,omitempty"`
	// Name is the display name.
	Name string `json:"name,omitempty"`
	// Roles, Permissions and OrgID are the authorization data providers put
	// in their tokens.
	Roles       []string `json:"roles,omitempty"`
	Permissions []string `json:"permissions,omitempty"`
	OrgID       string   `json:"org_id,omitempty"`
	// Metadata is provider-specific data (custom claims, app_metadata …).
	Metadata map[string]any `json:"metadata,omitempty"`
}

// User is a stored user. The Store hands out copies: changing one changes
// nothing stored (use Store.UpdateUser).
type User struct {
	// ID is the user id (the tokens' "sub").
	ID string `json:"id"`
	// Email is the sign-in email address, as given at creation.
	Email string `json:"email"`
	// EmailVerified reports whether the email address is verified.
	EmailVerified bool `json:"email_verified"`
	// Name is the display name.
	Name string `json:"name,omitempty"`
	// Roles, Permissions and OrgID are the authorization data providers
	// put in their tokens.
	Roles       []string `json:"roles,omitempty"`
	Permissions []string `json:"permissions,omitempty"`
	OrgID       string   `json:"org_id,omitempty"`
	// Metadata is provider-specific data.
	Metadata map[string]any `json:"metadata,omitempty"`
	// Disabled users cannot sign in and have no live sessions.
	Disabled bool `json:"disabled,omitempty"`
	// CreatedAt is when the user was created (emulator clock).
	CreatedAt time.Time `json:"created_at"`
	// PasswordChangedAt is when the password was last set (zero if never).
	PasswordChangedAt time.Time `json:"password_changed_at,omitzero"`

	salt, hash []byte
	seq        uint64 // creation order
}

func (u *User) clone() *User {
	c := *u
	c.Roles = slices.Clone(u.Roles)
	c.Permissions = slices.Clone(u.Permissions)
	c.Metadata = cloneMap(u.Metadata)
	return &c
}

func cloneMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	c := make(map[string]any, len(m))
	for k, v := range m {
		c[k] = cloneValue(v)
	}
	return c
}

func cloneValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		return cloneMap(v)
	case []any:
		c := make([]any, len(v))
		for i, e := range v {
			c[i] = cloneValue(e)
		}
		return c
	case []string:
		return slices.Clone(v)
	}
	return v
}

// SessionStatus is a session's state.
type SessionStatus string

// The session states.
const (
	// StatusActive: signed in.
	StatusActive SessionStatus = "active"
	// StatusPending: signed in, but a step is unfinished (Clerk's
	// "pending": choose an organisation). Tokens are still issued.
	StatusPending SessionStatus = "pending"
	// StatusRevoked: ended by an administrator or a revocation API.
	StatusRevoked SessionStatus = "revoked"
	// StatusEnded: the user signed out.
	StatusEnded SessionStatus = "ended"
)

// Live reports whether tokens may still be issued for the session.
func (s SessionStatus) Live() bool { return s == StatusActive || s == StatusPending }

// NewSession describes a session to create.
type NewSession struct {
	// ID is the session id; empty means the store's SessionID generator.
	ID string
	// UserID is the signed-in user (required).
	UserID string
	// Status is the initial status (default StatusActive).
	Status SessionStatus
	// OrgID is the active organisation (default: the user's).
	OrgID string
	// ClientID is the OAuth client the session was created for.
	ClientID string
	// Scope is the granted OAuth scope (space separated).
	Scope string
	// TTL bounds the session's life; zero means it does not expire.
	TTL time.Duration
	// Data is provider-specific session data.
	Data map[string]any
}

// Session is a stored session (a copy; see Store.UpdateSession).
type Session struct {
	// ID is the session id (the tokens' "sid").
	ID string `json:"id"`
	// UserID is the signed-in user.
	UserID string `json:"user_id"`
	// Status is the session's state.
	Status SessionStatus `json:"status"`
	// OrgID is the active organisation.
	OrgID string `json:"org_id,omitempty"`
	// ClientID is the OAuth client the session was created for.
	ClientID string `json:"client_id,omitempty"`
	// Scope is the granted OAuth scope.
	Scope string `json:"scope,omitempty"`
	// CreatedAt and UpdatedAt are the emulator-clock times of creation and
	// last change.
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// ExpiresAt ends the session (zero: no expiry).
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	// LastActiveAt is when the session began or was last refreshed; with
	// StoreOptions.IdleTimeout it ends IdleTimeout after this.
	LastActiveAt time.Time `json:"last_active_at"`
	// Data is provider-specific session data.
	Data map[string]any `json:"data,omitempty"`

	seq uint64 // creation order
}

func (s *Session) clone() *Session {
	c := *s
	c.Data = cloneMap(s.Data)
	return &c
}

// CodeGrant is what an authorization code stands for.
type CodeGrant struct {
	// SessionID is the session the code signs in to (required).
	SessionID string
	// Challenge is the PKCE S256 code challenge; empty when the client
	// sent none (then the token request must not send a verifier).
	Challenge string
	// RedirectURI is the authorize request's redirect_uri; the token
	// request must repeat it exactly.
	RedirectURI string
	// ClientID, Nonce and Scope are the authorize request's.
	ClientID, Nonce, Scope string
	// Extra holds provider-specific values.
	Extra map[string]string
	// ExpiresAt is set by IssueCodeGrant.
	ExpiresAt time.Time
}

// StoreOptions configures a Store.
type StoreOptions struct {
	// Clock is the time source; nil is the real time.
	Clock *Clock
	// UserID and SessionID make ids (default NewUUID).
	UserID, SessionID func() string
	// RefreshToken makes refresh tokens (default RandomToken(32)).
	RefreshToken func() string
	// CodeTTL is how long an authorization code lives (default 60 s).
	CodeTTL time.Duration
	// SessionTTL is the maximum session length applied to sessions made
	// without their own TTL (zero: they do not expire).
	SessionTTL time.Duration
	// IdleTimeout ends a session that has not been used for this long:
	// not refreshed (RotateRefresh) since it began or was last refreshed
	// (zero: no inactivity timeout).
	IdleTimeout time.Duration
	// RefreshTTL bounds a refresh token's life (zero: until its session
	// ends).
	RefreshTTL time.Duration
	// RevokeOnReuse ends the whole session when a used refresh token is
	// presented again (RFC 9700 §4.14.2 reuse detection), so the token
	// that replaced it stops working too. A redeemed authorization code
	// presented again always revokes its session (RFC 6749 §4.1.2).
	RevokeOnReuse bool
}

// Store holds an emulator's users, sessions, refresh tokens and
// authorization codes in memory. Refresh tokens and codes are single use
// and kept only as SHA-256 hashes. All methods are safe for concurrent use
// and return copies.
type Store struct {
	o StoreOptions

	mu       sync.Mutex
	users    map[string]*User
	byEmail  map[string]string // lower-case email → id
	sessions map[string]*Session
	refresh  map[[32]byte]*refreshToken
	codes    map[[32]byte]*code
	seq      uint64
}

type refreshToken struct {
	sessionID string
	used      bool
	expires   time.Time
}

type code struct {
	grant CodeGrant
	used  bool
}

// NewStore returns an empty store.
func NewStore(o StoreOptions) *Store {
	if o.UserID == nil {
		o.UserID = NewUUID
	}
	if o.SessionID == nil {
		o.SessionID = NewUUID
	}
	if o.RefreshToken == nil {
		o.RefreshToken = func() string { return RandomToken(32) }
	}
	if o.CodeTTL == 0 {
		o.CodeTTL = time.Minute
	}
	return &Store{
		o:        o,
		users:    map[string]*User{},
		byEmail:  map[string]string{},
		sessions: map[string]*Session{},
		refresh:  map[[32]byte]*refreshToken{},
		codes:    map[[32]byte]*code{},
	}
}

func (s *Store) now() time.Time { return s.o.Clock.Now() }

// The emulator hashes passwords with salted, iterated SHA-256: enough to
// keep plaintext out of memory dumps and to compare in constant time, cheap
// enough for tests. It is not a production password hash.
func hashPassword(salt []byte, password string) []byte {
	h := sha256.Sum256(append(slices.Clip(salt), password...))
	for range 64 {
		h = sha256.Sum256(h[:])
	}
	return h[:]
}

var dummySalt = []byte("authport-dummy-salt")

// CreateUser adds a user. It fails with ErrInvalid without an email and
// with ErrConflict if the id or email is taken.
func (s *Store) CreateUser(n NewUser) (*User, error) {
	email := strings.TrimSpace(n.Email)
	if email == "" || !strings.Contains(email, "@") {
		return nil, fmt.Errorf("%w: email required", ErrInvalid)
	}
	u := &User{
		ID: n.ID, Email: email, EmailVerified: n.EmailVerified, Name: n.Name,
		Roles: slices.Clone(n.Roles), Permissions: slices.Clone(n.Permissions),
		OrgID: n.OrgID, Metadata: cloneMap(n.Metadata), CreatedAt: s.now(),
	}
	if u.ID == "" {
		u.ID = s.o.UserID()
	}
	if n.Password != "" {
		u.salt = make([]byte, 16)
		rand.Read(u.salt)
		u.hash = hashPassword(u.salt, n.Password)
		u.PasswordChangedAt = u.CreatedAt
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := strings.ToLower(email)
	if _, ok := s.users[u.ID]; ok {
		return nil, fmt.Errorf("%w: user id", ErrConflict)
	}
	if _, ok := s.byEmail[key]; ok {
		return nil, fmt.Errorf("%w: email", ErrConflict)
	}
	s.seq++
	u.seq = s.seq
	s.users[u.ID] = u
	s.byEmail[key] = u.ID
	return u.clone(), nil
}

// User returns the user with id, or ErrNotFound.
func (s *Store) User(id string) (*User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return nil, ErrNotFound
	}
	return u.clone(), nil
}

// UserByEmail returns the user with that email (case-insensitive), or
// ErrNotFound.
func (s *Store) UserByEmail(email string) (*User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.byEmail[strings.ToLower(strings.TrimSpace(email))]
	if !ok {
		return nil, ErrNotFound
	}
	return s.users[id].clone(), nil
}

// Users returns every user, in creation order.
func (s *Store) Users() []*User {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*User, 0, len(s.users))
	for _, u := range s.users {
		out = append(out, u.clone())
	}
	slices.SortFunc(out, func(a, b *User) int { return cmp.Compare(a.seq, b.seq) })
	return out
}

// CheckPassword returns the user whose email and password match. An
// unknown email and a wrong password both give ErrBadCredentials, after
// the same amount of work; a disabled user gives ErrDisabled (only once the
// password matched).
func (s *Store) CheckPassword(email, password string) (*User, error) {
	s.mu.Lock()
	var u *User
	if id, ok := s.byEmail[strings.ToLower(strings.TrimSpace(email))]; ok {
		u = s.users[id].clone()
	}
	s.mu.Unlock()
	salt, want := dummySalt, hashPassword(dummySalt, "\x00")
	if u != nil && u.hash != nil {
		salt, want = u.salt, u.hash
	}
	got := hashPassword(salt, password)
	if subtle.ConstantTimeCompare(got, want) != 1 || u == nil || u.hash == nil {
		return nil, ErrBadCredentials
	}
	if u.Disabled {
		return nil, ErrDisabled
	}
	return u, nil
}

// UpdateUser applies fn to the stored user under the store's lock and
// returns the result. fn must not keep the pointer. Changing ID or Email
// through fn is not allowed (ErrInvalid).
func (s *Store) UpdateUser(id string, fn func(*User)) (*User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return nil, ErrNotFound
	}
	c := u.clone()
	c.salt, c.hash = u.salt, u.hash
	fn(c)
	if c.ID != u.ID || c.Email != u.Email {
		return nil, fmt.Errorf("%w: id and email cannot change", ErrInvalid)
	}
	s.users[id] = c
	return c.clone(), nil
}

// SetPassword changes a user's password.
func (s *Store) SetPassword(id, password string) error {
	salt := make([]byte, 16)
	rand.Read(salt)
	h := hashPassword(salt, password)
	_, err := s.UpdateUser(id, func(u *User) {
		u.salt, u.hash = salt, h
		u.PasswordChangedAt = s.now()
	})
	return err
}

// UpdateMetadata merges m into the user's metadata (a nil value deletes
// the key).
func (s *Store) UpdateMetadata(id string, m map[string]any) (*User, error) {
	return s.UpdateUser(id, func(u *User) {
		if u.Metadata == nil {
			u.Metadata = map[string]any{}
		}
		for k, v := range m {
			if v == nil {
				delete(u.Metadata, k)
			} else {
				u.Metadata[k] = cloneValue(v)
			}
		}
	})
}

// DisableUser disables a user and revokes all of their sessions.
func (s *Store) DisableUser(id string) error {
	if _, err := s.UpdateUser(id, func(u *User) { u.Disabled = true }); err != nil {
		return err
	}
	s.RevokeUserSessions(id)
	return nil
}

// DeleteUser removes a user for good, as a provider's "delete user" API
// does: the email address is free for a new account at once, every session
// of the user is revoked (kept, so Session still reports it, but never
// live again), and their refresh tokens and unredeemed authorization codes
// are forgotten. Tokens minted for the user stop introspecting. It fails
// with ErrNotFound for an unknown id.
func (s *Store) DeleteUser(id string) error {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return ErrNotFound
	}
	delete(s.users, id)
	if s.byEmail[strings.ToLower(u.Email)] == id {
		delete(s.byEmail, strings.ToLower(u.Email))
	}
	ended := map[string]bool{}
	for sid, ss := range s.sessions {
		if ss.UserID != id {
			continue
		}
		ended[sid] = true
		if ss.Status.Live() {
			c := ss.clone()
			c.Status, c.UpdatedAt = StatusRevoked, now
			s.sessions[sid] = c
		}
	}
	for h, rt := range s.refresh {
		if ended[rt.sessionID] {
			delete(s.refresh, h)
		}
	}
	for h, c := range s.codes {
		if ended[c.grant.SessionID] {
			delete(s.codes, h)
		}
	}
	return nil
}

// CreateSession starts a session for an enabled user.
func (s *Store) CreateSession(n NewSession) (*Session, error) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[n.UserID]
	if !ok {
		return nil, fmt.Errorf("%w: user", ErrNotFound)
	}
	if u.Disabled {
		return nil, ErrDisabled
	}
	ss := &Session{
		ID: n.ID, UserID: u.ID, Status: n.Status, OrgID: n.OrgID, ClientID: n.ClientID,
		Scope: n.Scope, CreatedAt: now, UpdatedAt: now, LastActiveAt: now, Data: cloneMap(n.Data),
	}
	if ss.ID == "" {
		ss.ID = s.o.SessionID()
	}
	if _, dup := s.sessions[ss.ID]; dup {
		return nil, fmt.Errorf("%w: session id", ErrConflict)
	}
	if ss.Status == "" {
		ss.Status = StatusActive
	}
	if ss.OrgID == "" {
		ss.OrgID = u.OrgID
	}
	if ttl := cmp.Or(n.TTL, s.o.SessionTTL); ttl > 0 {
		ss.ExpiresAt = now.Add(ttl)
	}
	s.seq++
	ss.seq = s.seq
	s.sessions[ss.ID] = ss
	return ss.clone(), nil
}

// Session returns the session with id, whatever its status, or
// ErrNotFound.
func (s *Store) Session(id string) (*Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.sessions[id]
	if !ok {
		return nil, ErrNotFound
	}
	return ss.clone(), nil
}

// LiveSession returns the session and its user if the session is active
// or pending, has not expired and its user is enabled; otherwise
// ErrNotFound, ErrInactive or ErrDisabled.
func (s *Store) LiveSession(id string) (*Session, *User, error) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.liveLocked(id, now)
}

func (s *Store) liveLocked(id string, now time.Time) (*Session, *User, error) {
	ss, ok := s.sessions[id]
	if !ok {
		return nil, nil, ErrNotFound
	}
	if !ss.Status.Live() || (!ss.ExpiresAt.IsZero() && !now.Before(ss.ExpiresAt)) || s.idleLocked(ss, now) {
		return nil, nil, ErrInactive
	}
	u := s.users[ss.UserID]
	if u == nil || u.Disabled {
		return nil, nil, ErrDisabled
	}
	return ss.clone(), u.clone(), nil
}

// Sessions returns a user's sessions (all statuses), oldest first.
func (s *Store) Sessions(userID string) []*Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*Session
	for _, ss := range s.sessions {
		if ss.UserID == userID {
			out = append(out, ss.clone())
		}
	}
	slices.SortFunc(out, func(a, b *Session) int { return cmp.Compare(a.seq, b.seq) })
	return out
}

// SetSessionStatus changes a session's status. Moving out of a live
// status is final: a revoked or ended session cannot become live again
// (ErrInactive).
func (s *Store) SetSessionStatus(id string, st SessionStatus) (*Session, error) {
	return s.UpdateSession(id, func(ss *Session) error {
		if !ss.Status.Live() && st.Live() {
			return ErrInactive
		}
		ss.Status = st
		return nil
	})
}

// UpdateSession applies fn to the stored session under the store's lock;
// an error from fn leaves the session unchanged.
func (s *Store) UpdateSession(id string, fn func(*Session) error) (*Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.sessions[id]
	if !ok {
		return nil, ErrNotFound
	}
	c := ss.clone()
	if err := fn(c); err != nil {
		return nil, err
	}
	if c.ID != id {
		return nil, fmt.Errorf("%w: session id cannot change", ErrInvalid)
	}
	c.UpdatedAt = s.now()
	s.sessions[id] = c
	return c.clone(), nil
}

// RevokeSession marks a session revoked; its refresh tokens stop working.
// Revoking a session that has already ended is not an error.
func (s *Store) RevokeSession(id string) error {
	return s.endSession(id, StatusRevoked)
}

// EndSession marks a session ended (the user signed out).
func (s *Store) EndSession(id string) error {
	return s.endSession(id, StatusEnded)
}

func (s *Store) endSession(id string, st SessionStatus) error {
	_, err := s.UpdateSession(id, func(ss *Session) error {
		if ss.Status.Live() {
			ss.Status = st
		}
		return nil
	})
	return err
}

// RevokeUserSessions revokes every live (active or pending, unexpired)
// session of a user and returns how many it revoked.
func (s *Store) RevokeUserSessions(userID string) int {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for id, ss := range s.sessions {
		if ss.UserID == userID && ss.Status.Live() && (ss.ExpiresAt.IsZero() || now.Before(ss.ExpiresAt)) && !s.idleLocked(ss, now) {
			c := ss.clone()
			c.Status, c.UpdatedAt = StatusRevoked, now
			s.sessions[id] = c
			n++
		}
	}
	return n
}

// Counts returns how many users and sessions (of any status) the store holds.
func (s *Store) Counts() (users, sessions int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.users), len(s.sessions)
}

func tokenHash(t string) [32]byte { return sha256.Sum256([]byte(t)) }

// IssueRefresh issues a single-use refresh token for a live session.
func (s *Store) IssueRefresh(sessionID string) (string, error) {
	now := s.now()
	t := s.o.RefreshToken()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, _, err := s.liveLocked(sessionID, now); err != nil {
		return "", err
	}
	s.issueRefreshLocked(t, sessionID, now)
	return t, nil
}

func (s *Store) issueRefreshLocked(t, sessionID string, now time.Time) {
	rt := &refreshToken{sessionID: sessionID}
	if s.o.RefreshTTL > 0 {
		rt.expires = now.Add(s.o.RefreshTTL)
	}
	s.refresh[tokenHash(t)] = rt
}

// RotateRefresh spends refresh token old and returns its replacement and
// the session. It fails with ErrNotFound for an unknown token, ErrReused
// for a token already spent (revoking the session if RevokeOnReuse),
// ErrExpired, or the session's ErrInactive / ErrDisabled. Of many
// concurrent calls with the same token exactly one succeeds.
func (s *Store) RotateRefresh(old string) (string, *Session, error) {
	now := s.now()
	next := s.o.RefreshToken()
	s.mu.Lock()
	defer s.mu.Unlock()
	rt, ok := s.refresh[tokenHash(old)]
	if !ok {
		return "", nil, ErrNotFound
	}
	if rt.used {
		if s.o.RevokeOnReuse {
			if ss, ok := s.sessions[rt.sessionID]; ok && ss.Status.Live() {
				c := ss.clone()
				c.Status, c.UpdatedAt = StatusRevoked, now
				s.sessions[c.ID] = c
			}
		}
		return "", nil, ErrReused
	}
	if !rt.expires.IsZero() && !now.Before(rt.expires) {
		return "", nil, ErrExpired
	}
	ss, _, err := s.liveLocked(rt.sessionID, now)
	if err != nil {
		return "", nil, err
	}
	rt.used = true
	s.issueRefreshLocked(next, rt.sessionID, now)
	s.sessions[ss.ID].LastActiveAt = now
	ss.LastActiveAt = now
	return next, ss, nil
}

// idleLocked reports whether ss has outlived the inactivity timeout.
func (s *Store) idleLocked(ss *Session, now time.Time) bool {
	return s.o.IdleTimeout > 0 && !ss.LastActiveAt.IsZero() && !now.Before(ss.LastActiveAt.Add(s.o.IdleTimeout))
}

// RefreshSession returns the session a refresh token belongs to without
// spending the token (for RFC 7009 revocation and RFC 7662
// introspection): ErrNotFound for an unknown token, ErrReused for a spent
// one. The session may no longer be live; see LiveSession.
func (s *Store) RefreshSession(token string) (*Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rt, ok := s.refresh[tokenHash(token)]
	if !ok {
		return nil, ErrNotFound
	}
	ss, ok := s.sessions[rt.sessionID]
	if !ok {
		return nil, ErrNotFound
	}
	if rt.used {
		return ss.clone(), ErrReused
	}
	return ss.clone(), nil
}

// IssueCode issues a single-use authorization code for a live session,
// bound to a PKCE S256 challenge (may be empty) and a redirect URI.
func (s *Store) IssueCode(sessionID, challenge, redirectURI string) (string, error) {
	return s.IssueCodeGrant(CodeGrant{SessionID: sessionID, Challenge: challenge, RedirectURI: redirectURI})
}

// IssueCodeGrant issues a single-use authorization code for g; it expires
// after the store's CodeTTL.
func (s *Store) IssueCodeGrant(g CodeGrant) (string, error) {
	now := s.now()
	c := RandomToken(32)
	g.Extra = maps.Clone(g.Extra)
	g.ExpiresAt = now.Add(s.o.CodeTTL)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, _, err := s.liveLocked(g.SessionID, now); err != nil {
		return "", err
	}
	s.codes[tokenHash(c)] = &code{grant: g}
	return c, nil
}

// RedeemCode spends an authorization code. verifier must match the code's
// S256 challenge (and must be empty if there was none: RFC 9700 §4.8.2),
// and redirectURI must equal the authorize request's. A code presented a
// second time fails with ErrReused and revokes its session. Any failure
// spends the code.
func (s *Store) RedeemCode(code, verifier, redirectURI string) (*Session, CodeGrant, error) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.codes[tokenHash(code)]
	if !ok {
		return nil, CodeGrant{}, ErrNotFound
	}
	g := c.grant
	if c.used {
		if ss, ok := s.sessions[g.SessionID]; ok && ss.Status.Live() {
			cl := ss.clone()
			cl.Status, cl.UpdatedAt = StatusRevoked, now
			s.sessions[cl.ID] = cl
		}
		return nil, CodeGrant{}, ErrReused
	}
	c.used = true
	if !now.Before(g.ExpiresAt) {
		return nil, CodeGrant{}, ErrExpired
	}
	if g.RedirectURI != redirectURI {
		return nil, CodeGrant{}, ErrRedirectMismatch
	}
	if !VerifyPKCE(g.Challenge, verifier) {
		return nil, CodeGrant{}, ErrPKCE
	}
	ss, _, err := s.liveLocked(g.SessionID, now)
	if err != nil {
		return nil, CodeGrant{}, err
	}
	g.Extra = maps.Clone(g.Extra)
	return ss, g, nil
}

// PKCEChallenge returns the S256 code challenge for verifier (RFC 7636
// §4.2): base64url(SHA-256(verifier)).
func PKCEChallenge(verifier string) string {
	h := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// VerifyPKCE reports whether verifier matches an S256 challenge. With no
// challenge, only an empty verifier matches (a verifier sent for a code
// issued without a challenge is a downgrade attempt). The verifier must be
// 43–128 characters of the RFC 7636 alphabet.
func VerifyPKCE(challenge, verifier string) bool {
	if challenge == "" {
		return verifier == ""
	}
	if len(verifier) < 43 || len(verifier) > 128 {
		return false
	}
	for _, c := range []byte(verifier) {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	got := PKCEChallenge(verifier)
	return subtle.ConstantTimeCompare([]byte(got), []byte(challenge)) == 1
}
