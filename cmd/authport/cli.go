package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/authport/authport"
	_ "github.com/authport/authport/all" // every adapter, chosen by AUTH_PROVIDER or --provider
	"github.com/authport/authport/cmd/authport/devkit"
	"github.com/authport/authport/diy"
	_ "github.com/authport/authport/diy/redisstore" // AUTHPORT_REDIS_URL (devkit links the SQL stores)
)

// Exit codes.
const (
	exitOK          = 0
	exitFailure     = 1 // the operation failed; verify: the token is not valid
	exitUsage       = 2 // bad arguments or configuration
	exitUnavailable = 3 // the provider or database cannot be reached
)

// maxTokenInput bounds a token read from stdin.
const maxTokenInput = 64 << 10

const mainUsage = `authport: authport's command-line tool.

Usage:
  authport emulate <provider>     run a provider emulator on a loopback port
  authport verify [TOKEN|-]       verify a token with the current configuration
  authport keys                   generate a cookie-sealing key and a DIY signing key
  authport users add|list|disable|enable   manage DIY accounts

Run 'authport <command> --help' for a command's options.
Exit codes: 0 success, 1 failure (verify: token not valid), 2 usage or
configuration error, 3 provider or database unavailable.
`

// cli is one invocation's environment.
type cli struct {
	ctx            context.Context
	getenv         func(string) string
	stdin          io.Reader
	stdout, stderr io.Writer
}

// run runs the command line args (without the program name) and returns
// the exit code. Interrupts (SIGINT, SIGTERM) end a running emulator.
func run(args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	// Adapters log through slog's default logger; keep stderr to the one
	// line of a command's answer unless AUTHPORT_LOG_LEVEL asks for more.
	level := slog.LevelError
	if v := getenv("AUTHPORT_LOG_LEVEL"); v != "" {
		if err := level.UnmarshalText([]byte(v)); err != nil {
			fmt.Fprintln(stderr, "authport: AUTHPORT_LOG_LEVEL must be debug, info, warn or error")
			return exitUsage
		}
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runContext(ctx, args, getenv, stdin, stdout, stderr)
}

// runContext is run with a context whose end stops a running emulator.
func runContext(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	c := &cli{ctx: ctx, getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		io.WriteString(stderr, mainUsage)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		if len(args) > 1 && args[0] == "help" {
			return runContext(ctx, []string{args[1], "--help"}, getenv, stdin, stdout, stderr)
		}
		io.WriteString(stdout, mainUsage)
		return exitOK
	case "emulate":
		return c.emulate(args[1:])
	case "verify":
		return c.verify(args[1:])
	case "keys":
		return c.keys(args[1:])
	case "users":
		return c.users(args[1:])
	}
	return c.fail("authport", exitUsage, fmt.Sprintf("unknown command %q (run 'authport --help')", args[0]))
}

// fail prints one line to stderr and returns code.
func (c *cli) fail(cmd string, code int, msg string) int {
	msg = strings.Join(strings.Fields(msg), " ") // one line
	fmt.Fprintf(c.stderr, "%s: %s\n", cmd, msg)
	return code
}

// failErr reports err with the exit code its kind calls for.
func (c *cli) failErr(cmd string, err error) int {
	return c.fail(cmd, exitCode(err), errText(err))
}

// errText is err's message without the "authport: " prefix of kinds.
func errText(err error) string {
	return strings.TrimPrefix(err.Error(), "authport: ")
}

// exitCode maps an error kind to an exit code.
func exitCode(err error) int {
	switch authport.KindOf(err) {
	case nil:
		return exitOK
	case authport.ErrNoCredential, authport.ErrInvalidCredential, authport.ErrExpired, authport.ErrRevoked,
		authport.ErrForbidden, authport.ErrActionRequired:
		return exitFailure
	case authport.ErrMisconfigured, authport.ErrInvalidInput, authport.ErrUnsupported:
		return exitUsage
	}
	return exitUnavailable // ErrProviderUnavailable, ErrRateLimited, anything unknown: fail closed
}

// kindName is a short, stable name for err's kind.
func kindName(err error) string {
	names := map[*authport.Kind]string{
		authport.ErrNoCredential: "no_credential", authport.ErrInvalidCredential: "invalid", authport.ErrExpired: "expired",
		authport.ErrRevoked: "revoked", authport.ErrForbidden: "forbidden", authport.ErrProviderUnavailable: "unavailable",
		authport.ErrInvalidInput: "invalid_input", authport.ErrRateLimited: "rate_limited", authport.ErrActionRequired: "action_required",
		authport.ErrUnsupported: "unsupported", authport.ErrMisconfigured: "misconfigured",
	}
	return names[authport.KindOf(err)]
}

// parse parses args for command cmd with fs, allowing flags after
// positional arguments ("--" ends the flags). With --help it prints usage
// and the flags to stdout and returns done with exitOK.
func (c *cli) parse(cmd, usage string, fs *flag.FlagSet, args []string) (pos []string, code int, done bool) {
	fs.SetOutput(io.Discard)
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			io.WriteString(c.stdout, usage)
			var b strings.Builder
			fs.SetOutput(&b)
			fs.PrintDefaults()
			if b.Len() > 0 {
				io.WriteString(c.stdout, "\nOptions:\n"+b.String())
			}
			return nil, exitOK, true
		}
		if err != nil {
			return nil, c.fail(cmd, exitUsage, err.Error()+" (run '"+cmd+" --help')"), true
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, 0, false
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), 0, false
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:@%+=,", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// ----------------------------------------------------------------- emulate

const emulateUsage = `Usage: authport emulate [--addr 127.0.0.1:0] [--no-seed] [--env-file FILE] <provider>

Runs the provider's emulator on a loopback port until interrupted, seeds
demo@example.com and admin@example.com (role admin) with random passwords,
and prints the environment variables that point an application
(AUTH_PROVIDER and the provider's variables) or the official SDK at it.
The emulator's JSON control API is at <url>/__authport/: create users,
sign in, mint tokens, revoke sessions, inject faults.
`

func (c *cli) emulate(args []string) int {
	const cmd = "authport emulate"
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "loopback address to listen on")
	noSeed := fs.Bool("no-seed", false, "create no demo accounts")
	envFile := fs.String("env-file", "", "also write the variables to this file (KEY=VALUE lines, mode 0600)")
	usage := emulateUsage + "\nProviders: " + strings.Join(devkit.EmulatedProviders(), ", ") + "\n"
	pos, code, done := c.parse(cmd, usage, fs, args)
	if done {
		return code
	}
	if len(pos) != 1 {
		return c.fail(cmd, exitUsage, "name one provider: "+strings.Join(devkit.EmulatedProviders(), ", ")+" (run '"+cmd+" --help')")
	}
	em, err := devkit.StartEmulator(c.ctx, devkit.EmulatorOptions{Provider: pos[0], Addr: *addr, NoAccounts: *noSeed})
	if errors.Is(err, devkit.ErrUnknownProvider) {
		return c.fail(cmd, exitUsage, fmt.Sprintf("no emulator for %q (have: %s)", pos[0], strings.Join(devkit.EmulatedProviders(), ", ")))
	}
	if err != nil {
		return c.fail(cmd, exitFailure, err.Error())
	}
	defer em.Close()

	var b strings.Builder
	fmt.Fprintf(&b, "# %s emulator on %s (control API: %s/__authport/)\n", em.Provider, em.URL, em.URL)
	b.WriteString("# Point an application or the official SDK at it:\n")
	var lines []string
	for _, k := range em.EnvKeys() {
		fmt.Fprintf(&b, "export %s=%s\n", k, shellQuote(em.Env[k]))
		lines = append(lines, k+"="+em.Env[k])
	}
	if em.SignIn != "" {
		fmt.Fprintf(&b, "# Sign in: %s\n", em.SignIn)
	}
	if len(em.Accounts) > 0 {
		b.WriteString("# Accounts:\n")
		for _, a := range em.Accounts {
			fmt.Fprintf(&b, "#   %-20s password %s", a.Email, a.Password)
			if len(a.Roles) > 0 {
				fmt.Fprintf(&b, "  roles: %s", strings.Join(a.Roles, ","))
			}
			b.WriteString("\n")
		}
	}
	if *envFile != "" {
		if err := os.WriteFile(*envFile, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			return c.fail(cmd, exitFailure, err.Error())
		}
		fmt.Fprintf(&b, "# Variables written to %s\n", *envFile)
	}
	b.WriteString("# Serving until interrupted (Ctrl-C).\n")
	io.WriteString(c.stdout, b.String())
	<-c.ctx.Done()
	return exitOK
}

// ------------------------------------------------------------------ verify

const verifyUsage = `Usage: authport verify [--provider NAME] [--strict] [--json] [TOKEN|-]

Verifies TOKEN (or a token read from stdin, with "-" or no argument) with
the adapter configured by the environment: AUTH_PROVIDER (or --provider)
and that provider's variables. Prints the Session as JSON and exits 0 when
it is valid; otherwise prints the error kind and reason on stderr and
exits 1 (invalid, expired, revoked), 2 (usage or configuration) or 3 (the
provider cannot be reached).

For DIY, AUTHPORT_DB_URL names the database (sqlite:FILE or postgres://…;
session tokens are looked up there); with AUTHPORT_SESSION_MODE=jwt, JWTs
are checked against AUTHPORT_SIGNING_KEYS.
`

// verifyFailure is verify's --json output for an invalid token.
type verifyFailure struct {
	Valid  bool   `json:"valid"`
	Kind   string `json:"kind"`
	Reason string `json:"reason"`
}

func (c *cli) verify(args []string) int {
	const cmd = "authport verify"
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	provider := fs.String("provider", "", "adapter name (default $AUTH_PROVIDER)")
	strict := fs.Bool("strict", false, "also ask the provider whether the session is live")
	asJSON := fs.Bool("json", false, "on failure, also print {\"valid\":false,\"kind\",\"reason\"} on stdout")
	pos, code, done := c.parse(cmd, verifyUsage, fs, args)
	if done {
		return code
	}
	if len(pos) > 1 {
		return c.fail(cmd, exitUsage, "give one token, or - to read it from stdin")
	}
	token := ""
	if len(pos) == 1 && pos[0] != "-" {
		token = pos[0]
	} else {
		b, err := io.ReadAll(io.LimitReader(c.stdin, maxTokenInput+1))
		if err != nil {
			return c.fail(cmd, exitUsage, "cannot read the token from stdin: "+err.Error())
		}
		if len(b) > maxTokenInput {
			return c.fail(cmd, exitUsage, "the token on stdin is longer than 64 KiB")
		}
		token = string(b)
	}
	token = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(token), "Bearer "))
	if token == "" {
		return c.fail(cmd, exitUsage, "no token given (pass it as an argument or on stdin)")
	}
	name := strings.ToLower(strings.TrimSpace(*provider))
	if name == "" {
		name = strings.ToLower(strings.TrimSpace(c.getenv(authport.ProviderEnv)))
	}
	if name == "" {
		return c.fail(cmd, exitUsage, "AUTH_PROVIDER is not set and no --provider was given (registered: "+strings.Join(authport.Providers(), ", ")+")")
	}
	a, closeFn, err := c.open(name)
	if err != nil {
		return c.failErr(cmd, err)
	}
	defer closeFn()

	cred := authport.Credential{Token: token, Source: authport.SourceHeader}
	var s *authport.Session
	if *strict {
		sv, ok := a.(authport.StrictVerifier)
		if !ok || !authport.Has(a, authport.CapStrictVerify) {
			return c.fail(cmd, exitUsage, "the "+name+" adapter cannot verify strictly")
		}
		s, err = sv.VerifyStrict(c.ctx, cred)
	} else {
		s, err = a.Verify(c.ctx, cred)
	}
	if err != nil {
		if *asJSON {
			out, _ := json.Marshal(verifyFailure{Kind: kindName(err), Reason: errText(err)})
			fmt.Fprintf(c.stdout, "%s\n", out)
		}
		return c.fail(cmd, exitCode(err), kindName(err)+": "+errText(err))
	}
	out, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return c.fail(cmd, exitFailure, "cannot encode the session: "+err.Error())
	}
	fmt.Fprintf(c.stdout, "%s\n", out)
	return exitOK
}

// quietLogger logs warnings and errors to stderr.
func (c *cli) quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// open opens adapter name from the environment, as an application would
// (authport.FromEnv).
func (c *cli) open(name string) (authport.Authenticator, func(), error) {
	getenv := func(k string) string {
		if k == authport.ProviderEnv {
			return name
		}
		return c.getenv(k)
	}
	a, err := authport.FromEnvFunc(c.ctx, getenv)
	if err != nil {
		return nil, nil, err
	}
	closeFn := func() {}
	if cl, ok := a.(io.Closer); ok {
		closeFn = func() { cl.Close() }
	}
	return a, closeFn, nil
}

// -------------------------------------------------------------------- keys

const keysUsage = `Usage: authport keys [--json]

Prints fresh keys in the formats the configuration expects:

  AUTHPORT_COOKIE_KEY     32 random bytes, base64url: the cookie-sealing key
                          (authport.Config.CookieKeys; comma-separate several
                          to rotate, the first seals)
  AUTHPORT_SIGNING_KEYS   an Ed25519 key for the DIY backend's JWT mode: its
                          32-byte seed, base64url (diy.Settings.SigningKeys;
                          comma-separate several to rotate, the first signs)

Keep both secret. --json prints both, with the signing key's id and public
JWK.
`

// keysJSON is keys --json's output.
type keysJSON struct {
	CookieKey  string `json:"cookie_key"`
	SigningKey struct {
		KID       string            `json:"kid"`
		Seed      string            `json:"seed"`
		PublicJWK map[string]string `json:"public_jwk"`
	} `json:"signing_key"`
}

func (c *cli) keys(args []string) int {
	const cmd = "authport keys"
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, code, done := c.parse(cmd, keysUsage, fs, args)
	if done {
		return code
	}
	if len(pos) > 0 {
		return c.fail(cmd, exitUsage, "keys takes no arguments (run '"+cmd+" --help')")
	}
	ck := devkit.EncodeKey(devkit.NewCookieKey())
	sk := devkit.NewSigningKey()
	if *asJSON {
		var out keysJSON
		out.CookieKey = ck
		out.SigningKey.KID = sk.ID
		out.SigningKey.Seed = devkit.EncodeSigningKey(sk)
		out.SigningKey.PublicJWK = map[string]string{
			"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": sk.ID,
			"x": base64.RawURLEncoding.EncodeToString(sk.PrivateKey.Public().(ed25519.PublicKey)),
		}
		b, _ := json.MarshalIndent(out, "", "  ")
		fmt.Fprintf(c.stdout, "%s\n", b)
		return exitOK
	}
	fmt.Fprintf(c.stdout, "# Cookie-sealing key (authport.Config.CookieKeys): 32 bytes, base64url. Keep it secret.\n%s=%s\n", devkit.CookieKeyEnv, ck)
	fmt.Fprintf(c.stdout, "# DIY signing key for AUTHPORT_SESSION_MODE=jwt: Ed25519 seed, base64url; key id %s. Keep it secret.\n%s=%s\n",
		sk.ID, devkit.SigningKeyEnv, devkit.EncodeSigningKey(sk))
	return exitOK
}

// ------------------------------------------------------------------- users

const usersUsage = `Usage:
  authport users add [--role ROLE]... [--permission PERM]... [--org ORG] [--password-stdin] EMAIL
  authport users list [--json]
  authport users disable EMAIL|ID
  authport users enable EMAIL|ID

Manages the DIY backend's accounts in the database named by --db or
AUTHPORT_DB_URL: sqlite:FILE (sqlite:data/authport.db for the example app)
or postgres://…. add prints a generated password unless --password-stdin is
given (the first line of stdin); --role and --permission take one value or
a comma-separated list and may be repeated; --org places the account in an
organisation. disable also ends the account's sessions.
`

// roleList is a repeatable --role (or --permission) flag.
type roleList []string

// String implements flag.Value.
func (r *roleList) String() string { return strings.Join(*r, ",") }

// Set implements flag.Value: a comma-separated list adds several roles.
func (r *roleList) Set(v string) error {
	for p := range strings.SplitSeq(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*r = append(*r, p)
		}
	}
	return nil
}

func (c *cli) users(args []string) int {
	const cmd = "authport users"
	if len(args) == 0 {
		io.WriteString(c.stderr, usersUsage)
		return exitUsage
	}
	sub := args[0]
	switch sub {
	case "-h", "-help", "--help", "help":
		io.WriteString(c.stdout, usersUsage)
		return exitOK
	case "add", "list", "disable", "enable":
	default:
		return c.fail(cmd, exitUsage, fmt.Sprintf("unknown subcommand %q: use add, list, disable or enable", sub))
	}
	name := cmd + " " + sub
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	db := fs.String("db", "", "database: a SQLite file or postgres://… (default $AUTHPORT_DB_URL)")
	var roles, perms roleList
	var org *string
	var pwStdin, asJSON *bool
	switch sub {
	case "add":
		fs.Var(&roles, "role", "grant a role (repeatable)")
		fs.Var(&perms, "permission", "grant a permission (repeatable)")
		org = fs.String("org", "", "place the account in organisation `ID`")
		pwStdin = fs.Bool("password-stdin", false, "read the password from the first line of stdin")
	case "list":
		asJSON = fs.Bool("json", false, "print JSON")
	}
	pos, code, done := c.parse(name, usersUsage, fs, args[1:])
	if done {
		return code
	}
	want := 1
	if sub == "list" {
		want = 0
	}
	if len(pos) != want {
		return c.fail(name, exitUsage, fmt.Sprintf("want %d argument(s), got %d (run '%s --help')", want, len(pos), name))
	}
	dbURL := *db
	if dbURL == "" {
		dbURL = c.getenv(devkit.DBURLEnv)
	}
	d, err := devkit.OpenDIY(c.ctx, dbURL, diy.Config{Logger: c.quietLogger(), SweepInterval: -1})
	if err != nil {
		return c.failErr(name, err)
	}
	defer d.Close()

	switch sub {
	case "add":
		return c.usersAdd(name, d, pos[0], diy.Access{Roles: roles, Permissions: perms, OrgID: *org}, *pwStdin)
	case "list":
		return c.usersList(name, d, *asJSON)
	}
	u, err := c.findUser(d, pos[0])
	if authport.KindOf(err) == authport.ErrInvalidInput {
		return c.fail(name, exitFailure, "no such user")
	}
	if err != nil {
		return c.failErr(name, err)
	}
	if sub == "disable" {
		err = d.DisableUser(c.ctx, u.ID)
	} else {
		err = d.EnableUser(c.ctx, u.ID)
	}
	if err != nil {
		return c.failErr(name, err)
	}
	fmt.Fprintf(c.stdout, "%sd %s %s\n", sub, u.ID, u.Email)
	return exitOK
}

func (c *cli) usersAdd(name string, d *devkit.DIY, email string, access diy.Access, pwStdin bool) int {
	password, generated := "", false
	if pwStdin {
		line, err := bufio.NewReader(io.LimitReader(c.stdin, 4096)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return c.fail(name, exitUsage, "cannot read the password from stdin: "+err.Error())
		}
		password = strings.TrimRight(line, "\r\n")
		if password == "" {
			return c.fail(name, exitUsage, "no password on stdin")
		}
	} else {
		password, generated = devkit.NewPassword(), true
	}
	u, err := d.CreateUserWithAccess(c.ctx, email, password, access)
	if errors.Is(err, diy.ErrDuplicate) {
		return c.fail(name, exitFailure, "an account with this email address already exists")
	}
	if err != nil {
		return c.failErr(name, err)
	}
	fmt.Fprintf(c.stdout, "created %s %s", u.ID, u.Email)
	if len(u.Roles) > 0 {
		fmt.Fprintf(c.stdout, " roles: %s", strings.Join(u.Roles, ","))
	}
	if len(u.Permissions) > 0 {
		fmt.Fprintf(c.stdout, " permissions: %s", strings.Join(u.Permissions, ","))
	}
	if u.OrgID != "" {
		fmt.Fprintf(c.stdout, " org: %s", u.OrgID)
	}
	fmt.Fprintln(c.stdout)
	if generated {
		fmt.Fprintf(c.stdout, "password: %s\n", password)
	}
	return exitOK
}

func (c *cli) usersList(name string, d *devkit.DIY, asJSON bool) int {
	list, err := devkit.ListDIYUsers(c.ctx, d.Store)
	if err != nil {
		return c.fail(name, exitUnavailable, "cannot list users: "+err.Error())
	}
	if asJSON {
		if list == nil {
			list = []devkit.UserInfo{}
		}
		b, _ := json.MarshalIndent(list, "", "  ")
		fmt.Fprintf(c.stdout, "%s\n", b)
		return exitOK
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tEMAIL\tROLES\tPERMISSIONS\tORG\tSTATUS\tCREATED")
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	for _, u := range list {
		status := "active"
		if u.Disabled {
			status = "disabled"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", u.ID, u.Email, dash(strings.Join(u.Roles, ",")), dash(strings.Join(u.Permissions, ",")),
			dash(u.OrgID), status, u.CreatedAt.Format("2006-01-02 15:04"))
	}
	tw.Flush()
	return exitOK
}

// findUser finds an account by id (usr_…) or email address.
func (c *cli) findUser(d *devkit.DIY, ref string) (*diy.User, error) {
	if strings.Contains(ref, "@") {
		return d.UserByEmail(c.ctx, ref)
	}
	return d.User(c.ctx, ref)
}
