// Package all registers every adapter that ships with authport, for
// binaries that choose their provider by configuration:
//
//	import _ "github.com/authport/authport/all"
//
//	a, err := authport.FromEnv(ctx) // AUTH_PROVIDER=clerk, workos, ...
//
// Importing it links every provider's SDK; a binary that uses one provider
// should import that adapter's package instead.
package all
