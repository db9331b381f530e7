// Command authport is authport's command-line tool.
//
//	authport emulate <provider>     run a provider emulator on a loopback port
//	authport verify [TOKEN|-]       verify a token with the current configuration
//	authport keys                   generate a cookie-sealing key and a DIY signing key
//	authport users add|list|disable|enable   manage DIY accounts
//
// Every command answers --help. Errors are one line on stderr (set
// AUTHPORT_LOG_LEVEL=info or debug to see the adapters' logs too). Exit
// codes: 0 success; 1 failure (for verify: the token is invalid, expired
// or revoked); 2 usage or configuration error; 3 the provider (or
// database) is unavailable.
//
// # emulate
//
//	authport emulate [--addr 127.0.0.1:0] [--no-seed] [--env-file FILE] <provider>
//
// starts the provider's emulator (oidc, and each hosted provider as its
// emulator lands; see devkit.EmulatedProviders), seeds demo@example.com
// and admin@example.com (role admin) with printed passwords, prints the
// environment variables that point an application (AUTH_PROVIDER and the
// provider's own variables) or the official SDK at it, and serves until
// interrupted. Tests in any language drive it through its JSON control
// API at /__authport/ (create users, sign in, mint tokens, revoke, inject
// faults).
//
// # verify
//
//	authport verify [--provider NAME] [--strict] [--json] [TOKEN|-]
//
// verifies a token (an argument, or stdin with "-" or no argument) with the
// adapter configured by the environment (AUTH_PROVIDER and its variables;
// --provider overrides AUTH_PROVIDER) and prints the Session as JSON. On
// failure it prints the error kind and reason and exits 1 for an invalid,
// expired or revoked token, 2 for a configuration error, 3 when the
// provider cannot be reached. --strict asks the provider too
// (StrictVerifier), catching revocation at once. For DIY,
// AUTHPORT_DB_URL names the database, and with AUTHPORT_SESSION_MODE=jwt
// JWTs are checked against AUTHPORT_SIGNING_KEYS.
//
// # keys
//
//	authport keys [--json]
//
// prints a fresh 32-byte cookie-sealing key (AUTHPORT_COOKIE_KEY, for
// authport.Config.CookieKeys) and a DIY Ed25519 signing key for JWT mode
// (AUTHPORT_SIGNING_KEYS: the 32-byte seed in base64url, as
// diy.Settings.SigningKeys reads it).
//
// # users
//
//	authport users add [--role ROLE]... [--password-stdin] EMAIL
//	authport users list [--json]
//	authport users disable EMAIL|ID
//	authport users enable EMAIL|ID
//
// manages the DIY backend's accounts in the database named by --db or
// AUTHPORT_DB_URL (sqlite:FILE, such as sqlite:data/authport.db for the
// example app, or postgres://…). add generates and prints a password unless
// --password-stdin is given; disable also ends the account's sessions.
package main

import (
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr))
}
