// Package dbtest gives tests (DIY's stores, package cluster) real
// PostgreSQL and Redis servers: the shared ones scripts/services.sh starts (through internal/testenv), fresh
// databases on the shared PostgreSQL, and private servers a fault test may
// stop and restart. Under CI=true a missing service fails the test;
// elsewhere it skips it.
package dbtest

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/authport/authport/internal/testenv"
)

// missing fails under CI and skips elsewhere.
func missing(t testing.TB, what string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not available (run scripts/services.sh up)", what)
	}
	t.Skipf("%s is not available (run scripts/services.sh up)", what)
}

// PostgresURL returns the shared test server's URL (testenv.Postgres).
func PostgresURL(t testing.TB) string {
	t.Helper()
	return testenv.Postgres(t)
}

// RedisURL returns the shared test server's URL (testenv.Redis).
func RedisURL(t testing.TB) string {
	t.Helper()
	return testenv.Redis(t)
}

// FreshPostgres creates an empty database on the shared server and returns
// its URL; it is dropped when the test ends.
func FreshPostgres(t testing.TB) string {
	t.Helper()
	return freshDB(t, PostgresURL(t))
}

func freshDB(t testing.TB, admin string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("dbtest: connect: %v", err)
	}
	defer conn.Close(ctx)
	name := "diy_" + strings.ToLower(rand.Text())[:16]
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("dbtest: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if c, err := pgx.Connect(ctx, admin); err == nil {
			_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(ctx)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func pgBinDir() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return vi > vj
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
			return d
		}
	}
	return ""
}

// PGServer is a private PostgreSQL server a test may stop and start.
type PGServer struct {
	t    testing.TB
	bin  string
	dir  string
	port int
	cred *syscall.Credential
	// URL points at its "authport" database.
	URL string
}

// StartPostgres initialises and starts a private PostgreSQL server on
// 127.0.0.1 (as the postgres OS user when run as root). It is stopped and
// removed when the test ends.
func StartPostgres(t testing.TB) *PGServer {
	t.Helper()
	bin := pgBinDir()
	if bin == "" {
		missing(t, "PostgreSQL binaries (/usr/lib/postgresql/*/bin)")
	}
	dir, err := os.MkdirTemp("", "diy-pg-")
	if err != nil {
		t.Fatal(err)
	}
	s := &PGServer{t: t, bin: bin, dir: dir, port: freePort(t)}
	t.Cleanup(func() {
		_ = s.run("pg_ctl", "stop", "-D", s.data(), "-m", "immediate", "-w")
		os.RemoveAll(dir)
	})
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			missing(t, "the postgres OS user")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.run("initdb", "-D", s.data(), "-U", "authport", "--auth=trust", "-E", "UTF8", "--no-instructions"); err != nil {
		t.Fatalf("dbtest: initdb: %v", err)
	}
	s.Start()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, fmt.Sprintf("postgres://authport@127.0.0.1:%d/postgres?sslmode=disable", s.port))
	if err != nil {
		t.Fatalf("dbtest: connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE authport"); err != nil {
		t.Fatalf("dbtest: create database: %v", err)
	}
	s.URL = fmt.Sprintf("postgres://authport@127.0.0.1:%d/authport?sslmode=disable", s.port)
	return s
}

func (s *PGServer) data() string { return filepath.Join(s.dir, "data") }

func (s *PGServer) run(name string, args ...string) error {
	cmd := exec.Command(filepath.Join(s.bin, name), args...)
	cmd.Dir = s.dir
	if s.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", name, err, out)
	}
	return nil
}

// Start starts the server (again) on its port and waits until it accepts
// connections.
func (s *PGServer) Start() {
	s.t.Helper()
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -c port=%d -c unix_socket_directories=%s -c fsync=off -c max_connections=100", s.port, s.dir)
	if err := s.run("pg_ctl", "start", "-D", s.data(), "-l", filepath.Join(s.dir, "log"), "-w", "-t", "60", "-o", opts); err != nil {
		s.t.Fatalf("dbtest: %v", err)
	}
}

// Stop stops the server (fast shutdown: open connections are cut).
func (s *PGServer) Stop() {
	s.t.Helper()
	if err := s.run("pg_ctl", "stop", "-D", s.data(), "-m", "fast", "-w"); err != nil {
		s.t.Fatalf("dbtest: %v", err)
	}
}

// RedisServer is a private Redis server (no persistence) a test may
// restart, losing its data.
type RedisServer struct {
	t    testing.TB
	port int
	dir  string
	cmd  *exec.Cmd
	// URL points at database 0.
	URL string
}

// StartRedis starts a private redis-server on 127.0.0.1, stopped when the
// test ends.
func StartRedis(t testing.TB) *RedisServer {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		missing(t, "redis-server")
	}
	s := &RedisServer{t: t, port: freePort(t), dir: t.TempDir()}
	s.URL = fmt.Sprintf("redis://127.0.0.1:%d/0", s.port)
	t.Cleanup(s.Stop)
	s.Start()
	return s
}

// Start starts the server and waits until it answers.
func (s *RedisServer) Start() {
	s.t.Helper()
	s.cmd = exec.Command("redis-server", "--bind", "127.0.0.1", "--port", strconv.Itoa(s.port), "--save", "", "--appendonly", "no", "--dir", s.dir)
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("dbtest: redis-server: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", s.port))
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatal("dbtest: redis-server did not start")
}

// Stop stops the server (its data is lost).
func (s *RedisServer) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Restart stops and starts the server: every key is gone.
func (s *RedisServer) Restart() {
	s.Stop()
	s.Start()
}
