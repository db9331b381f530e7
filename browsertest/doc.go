// Package browsertest holds authport's browser suite: one headless
// Chromium, driven by chromedp, runs the same script against the example
// web app (examples/webapp) with the DIY backend and with every hosted
// provider in emulate mode, which shows in a real browser that swapping
// providers is a configuration change.
//
// The script: sign up (where the adapter can), sign in through the
// provider's own flow (the password form, or the emulator's hosted page),
// reach /app/, get 403 on /admin without the role, call /api/me from the
// page with fetch, have a cross-origin form post to /auth/logout refused,
// sign out, see that the back button shows no protected content and that
// /app/ now sends the browser to sign-in, reach /admin as the admin user,
// and, for WorkOS, sign in as a member of two organisations and choose one
// on authport's /auth/continue page (the step-up continuation).
//
// Run it with
//
//	AUTHPORT_TEST_CHROMIUM=/usr/bin/chromium go test ./browsertest
//
// (`make test` sets the variable through scripts/services.sh up chromium;
// without it the suite is skipped, and under CI=true it fails). A failing
// step saves a screenshot and the page's HTML under
// artifacts/browser/<provider>/. With AUTHPORT_WRITE_MATRIX=1 the run
// writes docs/browser-matrix.md, the provider × step table.
//
// The package has no non-test code.
package browsertest
