// Command webapp is authport's example web application: one app, written
// once against authport, that signs users in with whichever provider the
// configuration names.
//
//	go run ./examples/webapp
//
// serves http://127.0.0.1:8080 with the DIY backend on a SQLite file in
// ./data (created on first start, with a generated cookie-sealing key):
// nothing to install, nothing to configure. Switch provider with
// AUTH_PROVIDER and that provider's variables, or try any provider offline:
//
//	AUTHPORT_EMULATE=1 AUTH_PROVIDER=oidc go run ./examples/webapp
//
// starts the provider's emulator in-process with two demo accounts
// (demo@example.com, and admin@example.com with the role "admin") and
// prints their passwords.
//
// Flags and variables:
//
//	-addr, ADDR                   listen address (default 127.0.0.1:8080)
//	-data, AUTHPORT_DATA          data folder (default ./data)
//	AUTH_PROVIDER                 diy (default), oidc, clerk, workos, supabase, auth0, firebase, betterauth, authjs
//	AUTHPORT_EMULATE=1            run the provider's emulator in-process, with demo accounts
//	AUTHPORT_AUTH_PROXY           a JavaScript auth server (Better Auth, Auth.js) served on /api/auth/*
//	AUTHPORT_PUBLIC_ORIGIN        the public origin behind a proxy, such as https://app.example.com
//	AUTHPORT_COOKIE_KEY           cookie-sealing key(s) instead of <data>/cookie.key (`authport keys`)
//	AUTHPORT_DB_URL               the DIY database instead of <data>/authport.db (sqlite:FILE or postgres://…);
//	                              DIY also reads AUTHPORT_SESSION_MODE=jwt, AUTHPORT_SIGNING_KEYS, AUTHPORT_REDIS_URL
//	AUTHPORT_CLUSTER_URL          run as one of several instances: share revocations, refreshes and
//	                              rate limits in Redis (redis://…) or PostgreSQL (postgres://…);
//	                              AUTHPORT_REDIS_URL is used when it is unset
//
// Over plain HTTP on a loopback address the session cookie is sent without
// Secure (authport.Config.Insecure), which the log says; anywhere else,
// put TLS in front and set AUTHPORT_PUBLIC_ORIGIN.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/authport/authport/examples/webapp/app"
)

func main() {
	fs := flag.NewFlagSet("webapp", flag.ContinueOnError)
	addr := fs.String("addr", "", "listen address (default $ADDR or 127.0.0.1:8080)")
	data := fs.String("data", "", "data folder (default $AUTHPORT_DATA or ./data)")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if err == flag.ErrHelp {
			os.Exit(0)
		}
		os.Exit(2)
	}
	getenv := func(k string) string {
		switch {
		case k == app.EnvAddr && *addr != "":
			return *addr
		case k == app.EnvData && *data != "":
			return *data
		}
		return os.Getenv(k)
	}
	// Adapters log through slog's default logger: send it where the app's
	// own log goes.
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stdout, nil)))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := app.Run(ctx, getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "webapp:", err)
		os.Exit(1)
	}
}
