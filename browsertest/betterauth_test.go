package browsertest

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/authport/authport/betterauth"
	"github.com/authport/authport/betterauth/betterauthtest"
	"github.com/authport/authport/examples/webapp/app"
	"github.com/authport/authport/internal/testenv"
)

// TestBetterAuthBrowser runs the example app with AUTH_PROVIDER=betterauth
// and a real Better Auth server (better-auth, run by node) behind the app's
// same-origin /api/auth/ proxy: Chromium signs in on the JavaScript side
// (the library's sign-in endpoint, from the app's page), and the Go app
// reads the library's session cookie: /admin is 200 for the admin plugin's
// admin and 403 for a plain user; after the library's sign-out /app/ sends
// the browser to sign in.
func TestBetterAuthBrowser(t *testing.T) {
	path := testenv.Chromium(t)
	// The app's origin must be known before the library starts: it is the
	// library's base URL and trusted origin.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	origin := "http://" + addr
	ba := betterauthtest.Start(t, betterauthtest.Options{BaseURL: origin, TrustedOrigins: []string{origin}})
	env := map[string]string{
		app.EnvAddr:               addr,
		app.EnvData:               t.TempDir(),
		app.EnvProvider:           "betterauth",
		app.EnvAuthProxy:          ba.URL,
		betterauth.EnvSecret:      ba.Secret,
		betterauth.EnvURL:         origin,
		betterauth.EnvDatabaseURL: ba.DatabaseURL,
	}
	s, err := app.Start(t.Context(), func(k string) string { return env[k] }, testWriter{t})
	if err != nil {
		t.Fatalf("start the app: %v", err)
	}
	defer s.Close()
	tab := browser(t, path)

	signIn := func(ctx context.Context, email, password, next string) error {
		if _, err := navigate(ctx, s.URL+"/static/js-sign-in.html?next="+next); err != nil {
			return err
		}
		if err := a11y(ctx); err != nil {
			return err
		}
		if err := chromedp.Do(ctx,
			chromedp.WaitVisible(chromedp.ID("email")),
			chromedp.SetValue(chromedp.ID("email"), email),
			chromedp.SetValue(chromedp.ID("password"), password),
			chromedp.Click(chromedp.CSS(`form button[type="submit"]`)),
		); err != nil {
			return err
		}
		deadline := time.Now().Add(stepTimeout)
		for time.Now().Before(deadline) {
			loc, err := location(ctx)
			if err == nil && loc.Path == next {
				return nil
			}
			time.Sleep(100 * time.Millisecond)
		}
		txt, _ := bodyText(ctx)
		return fmt.Errorf("the browser did not reach %s after signing in (page: %q)", next, txt)
	}
	users := map[string]string{}
	for _, role := range []string{"admin", "user"} {
		email := "browser-" + role + "-" + fmt.Sprint(time.Now().UnixNano()) + "@example.com"
		if _, _, err := ba.CreateUser(t.Context(), betterauthtest.NewUser{Email: email, Password: "Pw-browser-123456", Role: role}); err != nil {
			t.Fatal(err)
		}
		users[role] = email
	}

	t.Run("AdminReachesGuardedPage", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(tab, 2*stepTimeout)
		defer cancel()
		if err := signIn(ctx, users["admin"], "Pw-browser-123456", "/admin"); err != nil {
			t.Fatal(err)
		}
		resp, err := navigate(ctx, s.URL+"/admin")
		if err != nil {
			t.Fatal(err)
		}
		if ok, _ := has(ctx, "#admin-ok"); resp.Status != 200 || !ok {
			t.Fatalf("/admin as the admin plugin's admin: %d", resp.Status)
		}
		// Sign out on the JavaScript side: the Go app sees it at once.
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[int](`fetch("/api/auth/sign-out", {method: "POST", headers: {"Content-Type": "application/json"}, body: "{}"}).then(r => r.status)`, chromedp.EvalAwaitPromise)); err != nil {
			t.Fatal(err)
		}
		if _, err := navigate(ctx, s.URL+"/app/"); err != nil {
			t.Fatal(err)
		}
		loc, err := location(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(loc.Path, "/app/") {
			t.Fatalf("after the library's sign-out /app/ is still served (at %s)", loc)
		}
	})
	t.Run("UserGets403", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(tab, 2*stepTimeout)
		defer cancel()
		if err := clearCookies(ctx); err != nil {
			t.Fatal(err)
		}
		if err := signIn(ctx, users["user"], "Pw-browser-123456", "/app/"); err != nil {
			t.Fatal(err)
		}
		resp, err := navigate(ctx, s.URL+"/admin")
		if err != nil {
			t.Fatal(err)
		}
		if resp.Status != 403 {
			t.Fatalf("/admin without the admin role: %d, want 403", resp.Status)
		}
	})
}
