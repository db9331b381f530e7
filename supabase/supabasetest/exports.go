package supabasetest

import "github.com/authport/authport/internal/emulator"

// Types of the shared emulator core, re-exported so that code outside the
// authport module can name them (internal packages cannot be imported).
type (
	// Server is the emulator core returned by Emulator.Server.
	Server = emulator.Server
	// Clock is the emulated time (Options.Clock, Emulator.Clock).
	Clock = emulator.Clock
	// Session is a stored session (Emulator.Session).
	Session = emulator.Session
	// Fault is an injected failure: Emulator.Server().SetFault(route, f).
	Fault = emulator.Fault
)

// NewClock returns a clock that follows the real time until advanced.
func NewClock() *Clock { return emulator.NewClock() }

// SubmitLogin signs in through the emulated provider's page the way a
// browser would and returns where it redirects (the application's callback
// URL with code and state), for tests of the redirect sign-in.
var SubmitLogin = emulator.SubmitLogin
