package authport

import (
	"context"
	"time"
)

// Revocation is one revocation as instances share it: a token (Issuer and
// TokenID), a session (SessionID), or a user's tokens issued before
// IssuedBefore (UserID, Firebase's "valid since"). Until is when every token
// it can refuse has expired; the entry may be forgotten after it. A
// revocation never carries a token.
type Revocation struct {
	Issuer       string    `json:"iss,omitempty"`
	TokenID      string    `json:"jti,omitempty"`
	SessionID    string    `json:"sid,omitempty"`
	UserID       string    `json:"sub,omitempty"`
	IssuedBefore time.Time `json:"before,omitzero"`
	Until        time.Time `json:"until"`
}

// RevocationList is an adapter's in-process deny list, the one every
// Verify consults with a local lookup. Several instances share their lists
// by connecting each to a RevocationBus.
type RevocationList interface {
	// Deny records r, made by another instance, without publishing it.
	Deny(r Revocation)
	// Share connects the list to b: revocations made in this process are
	// published with b.Publish, and while b is not Synced every token is
	// refused with ErrProviderUnavailable, since a revocation the list
	// missed could otherwise pass.
	Share(b RevocationBus)
}

// RevocationBus carries revocations between instances (package cluster).
type RevocationBus interface {
	// Publish shares r with every instance. It must not block for long:
	// a revocation it cannot deliver now is kept and retried.
	Publish(r Revocation)
	// Synced reports whether this instance has every revocation made
	// elsewhere up to a moment ago. It is called on every verification
	// and must be cheap (an atomic load).
	Synced() bool
}

// RevocationSharer is implemented by adapters whose revocations can be
// shared between instances: Revocations returns their deny list.
type RevocationSharer interface {
	Revocations() RevocationList
}

// Cluster makes several instances of an application behave as one (see
// Config.Cluster; package cluster implements it on Redis and PostgreSQL).
type Cluster interface {
	// ShareRevocations connects l to the other instances' lists.
	ShareRevocations(l RevocationList)
	// Flush waits until the revocations made in this process have reached
	// the shared store, or ctx ends (then it returns an error: the
	// revocations are kept and delivered once the store is back).
	Flush(ctx context.Context) error
	// RefreshOnce runs refresh for key (a hash of a refresh token) unless
	// another instance is running it or ran it within the last 30 seconds,
	// in which case it waits for that result (bounded by ctx) and returns
	// it. The result is a sealed session cookie value, stored as it is;
	// a refresh that failed for good is returned as an error of the same
	// kind. An error of kind ErrProviderUnavailable is not remembered.
	RefreshOnce(ctx context.Context, key string, refresh func(context.Context) (string, error)) (string, error)
}
