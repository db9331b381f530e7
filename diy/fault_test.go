package diy_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authport/authport"
	"github.com/authport/authport/diy"
	"github.com/authport/authport/diy/pgstore"
	"github.com/authport/authport/diy/redisstore"
	"github.com/authport/authport/internal/dbtest"
	"github.com/authport/authport/internal/testenv"
)

// eventually retries f until it succeeds or 30 s pass.
func eventually(t *testing.T, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not recover: %v", what, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestPostgresStopped stops the database mid-test: sign-in, session checks,
// refresh and sign-out fail closed with 503 (no panic, never a pass), and
// service resumes without a restart once the database is back.
func TestPostgresStopped(t *testing.T) {
	pg := dbtest.StartPostgres(t)
	for _, mode := range modes {
		t.Run(mode.String(), func(t *testing.T) {
			ctx := t.Context()
			b := newBackendOn(t, pg.URL, mode, nil)
			web, err := authport.NewWeb(b, authport.Config{CookieKeys: [][]byte{make([]byte, 32)}, Insecure: true, Strict: true, Logger: quietLogger()})
			if err != nil {
				t.Fatal(err)
			}
			app := web.Middleware(authport.Require()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("secret")) })))
			get := func(tok *authport.Tokens) *httptest.ResponseRecorder {
				r := httptest.NewRequest("GET", "/app", nil)
				r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
				rec := httptest.NewRecorder()
				app.ServeHTTP(rec, r)
				return rec
			}
			_, email := mustUser(t, b)
			tok := signIn(t, b, email, goodPassword)
			if rec := get(tok); rec.Code != 200 {
				t.Fatalf("before the outage: %d", rec.Code)
			}

			pg.Stop()
			_, err = b.SignInWithPassword(ctx, email, goodPassword)
			testenv.WantKind(t, err, authport.ErrProviderUnavailable)
			_, err = b.VerifyStrict(ctx, bearer(tok))
			testenv.WantKind(t, err, authport.ErrProviderUnavailable)
			if mode == diy.ModeSession {
				_, err = b.Verify(ctx, bearer(tok))
				testenv.WantKind(t, err, authport.ErrProviderUnavailable)
			} else {
				_, err = b.Refresh(ctx, tok.RefreshToken)
				testenv.WantKind(t, err, authport.ErrProviderUnavailable)
			}
			s := &authport.Session{Provider: "diy", UserID: tok.UserID, SessionID: tok.SessionID}
			testenv.WantKind(t, b.Revoke(ctx, s, tok), authport.ErrProviderUnavailable)
			_, err = b.SignUp(ctx, randEmail(), goodPassword)
			testenv.WantKind(t, err, authport.ErrProviderUnavailable)
			rec := get(tok)
			if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" || rec.Body.String() == "secret" {
				t.Fatalf("request during the outage: %d %v %q", rec.Code, rec.Header(), rec.Body)
			}

			pg.Start()
			eventually(t, "session check", func() error { _, err := b.VerifyStrict(ctx, bearer(tok)); return err })
			if rec := get(tok); rec.Code != 200 {
				t.Fatalf("after the outage: %d", rec.Code)
			}
			signIn(t, b, email, goodPassword)
		})
	}
}

// TestRedisFlushAndRestart: a flush or a restart of the Redis that holds
// sessions loses only those sessions (401, not 500); refresh-token reuse
// state lives in SQL and survives. While Redis is down, requests fail
// closed with 503 and recover when it is back.
func TestRedisFlushAndRestart(t *testing.T) {
	rs := dbtest.StartRedis(t)
	pgURL := dbtest.FreshPostgres(t)
	newB := func(t *testing.T, mode diy.SessionMode) *diy.Backend {
		opt, _ := redis.ParseURL(rs.URL)
		opt.MaxRetries = -1
		rdb := redis.NewClient(opt)
		t.Cleanup(func() { rdb.Close() })
		store := redisstore.New(rdb, "")
		sql, err := pgstore.Open(t.Context(), pgURL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sql.Close() })
		_, priv, _ := ed25519.GenerateKey(nil)
		b, err := diy.New(t.Context(), diy.Config{Store: sql, Sessions: store, Limiter: store.Limiter(), SessionMode: mode,
			SigningKeys: []diy.SigningKey{{PrivateKey: priv}}, Hash: fastHash, Logger: quietLogger()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		return b
	}
	flush := func(t *testing.T) {
		opt, _ := redis.ParseURL(rs.URL)
		rdb := redis.NewClient(opt)
		defer rdb.Close()
		if err := rdb.FlushAll(context.Background()).Err(); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("SessionFlush", func(t *testing.T) {
		b := newB(t, diy.ModeSession)
		_, email := mustUser(t, b)
		tok := signIn(t, b, email, goodPassword)
		flush(t)
		_, err := b.Verify(t.Context(), bearer(tok))
		testenv.WantKind(t, err, authport.ErrInvalidCredential)
		signIn(t, b, email, goodPassword)
	})
	t.Run("RefreshReuseSurvivesRestart", func(t *testing.T) {
		b := newB(t, diy.ModeJWT)
		_, email := mustUser(t, b)
		t0 := signIn(t, b, email, goodPassword)
		t1, err := b.Refresh(t.Context(), t0.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		rs.Restart()
		// The rotated token is still known as used: reuse is refused.
		eventually(t, "redis", func() error {
			_, err := b.Refresh(t.Context(), t0.RefreshToken)
			if errors.Is(err, authport.ErrRevoked) {
				return nil
			}
			return err
		})
		// The session itself was in Redis: it is gone, so is its family.
		_, err = b.Refresh(t.Context(), t1.RefreshToken)
		testenv.WantKind(t, err, authport.ErrRevoked)
		signIn(t, b, email, goodPassword)
	})
	t.Run("RedisDown", func(t *testing.T) {
		b := newB(t, diy.ModeSession)
		_, email := mustUser(t, b)
		tok := signIn(t, b, email, goodPassword)
		rs.Stop()
		_, err := b.Verify(t.Context(), bearer(tok))
		testenv.WantKind(t, err, authport.ErrProviderUnavailable)
		_, err = b.SignInWithPassword(t.Context(), email, goodPassword)
		testenv.WantKind(t, err, authport.ErrProviderUnavailable)
		rs.Start()
		// Redis kept nothing (no persistence): the old session is gone,
		// and new ones work without a restart of the application.
		eventually(t, "sign-in", func() error { _, err := b.SignInWithPassword(t.Context(), email, goodPassword); return err })
		_, err = b.Verify(t.Context(), bearer(tok))
		testenv.WantKind(t, err, authport.ErrInvalidCredential)
	})
}
