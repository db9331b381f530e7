// Package postgres is the PostgreSQL engine of package cluster: importing
// it lets cluster.Open and cluster.FromEnv accept postgres:// and
// postgresql:// URLs.
//
//	import _ "github.com/authport/authport/cluster/postgres"
//
//	AUTHPORT_CLUSTER_URL=postgres://user:pass@db.internal/app
//
// Open creates four tables if they are missing (under an advisory lock, so
// instances starting together do not race): authport_cluster_revocations,
// an append-only log of revocations (JSON, never a token) whose inserts are
// serialised so that ids commit in order, announced with NOTIFY on channel
// authport_cluster and pruned once expired; authport_cluster_flights,
// refresh flights (NULL while running, then the sealed result for 30 s,
// keyed by a SHA-256 of the refresh token); authport_cluster_limits,
// rate-limit counters; authport_cluster_epoch, a marker that changes if the
// tables are recreated. Each instance holds one extra connection for
// LISTEN. Every time is the database's clock.
//
// Linking this package links pgx; nothing else in authport does unless it
// imports this package or diy/pgstore.
package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/authport/authport"
	"github.com/authport/authport/cluster"
)

// Channel is the NOTIFY channel that announces a new revocation.
const Channel = "authport_cluster"

// lockID serialises schema creation and revocation inserts.
const lockID = 0x61757468_636c7573 // "authclus"

const schema = `
CREATE TABLE IF NOT EXISTS authport_cluster_epoch (
	id int PRIMARY KEY CHECK (id = 1),
	epoch text NOT NULL
);
CREATE TABLE IF NOT EXISTS authport_cluster_revocations (
	id bigserial PRIMARY KEY,
	body text NOT NULL,
	until timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS authport_cluster_revocations_until ON authport_cluster_revocations (until);
CREATE TABLE IF NOT EXISTS authport_cluster_flights (
	key text PRIMARY KEY,
	result bytea,
	expires timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS authport_cluster_limits (
	key text PRIMARY KEY,
	start_ms bigint NOT NULL DEFAULT 0,
	count bigint NOT NULL DEFAULT 0,
	strikes bigint NOT NULL DEFAULT 0,
	blocked_ms bigint NOT NULL DEFAULT 0,
	last_ms bigint NOT NULL DEFAULT 0,
	expires timestamptz NOT NULL DEFAULT now()
);`

func init() {
	open := func(ctx context.Context, rawURL string) (cluster.Store, error) { return Open(ctx, rawURL) }
	cluster.Register("postgres", open)
	cluster.Register("postgresql", open)
}

// Store is a cluster.Store on PostgreSQL.
type Store struct {
	pool *pgxpool.Pool
	cfg  *pgx.ConnConfig

	mu     sync.Mutex // guards listen
	listen *pgx.Conn
}

var _ cluster.Store = (*Store)(nil)

// Open connects to the database at rawURL and creates the tables.
func Open(ctx context.Context, rawURL string) (*Store, error) {
	pcfg, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		return nil, errors.New("cluster/postgres: malformed PostgreSQL URL")
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("cluster/postgres: %w", err)
	}
	s := &Store{pool: pool, cfg: pcfg.ConnConfig}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("cluster/postgres: %w", err)
	}
	return s, nil
}

func (s *Store) migrate(ctx context.Context) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(lockID)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, schema)
		return err
	})
}

// Close closes the pool and the LISTEN connection.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.listen != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		s.listen.Close(ctx)
		cancel()
		s.listen = nil
	}
	s.mu.Unlock()
	s.pool.Close()
	return nil
}

// Epoch implements cluster.Store.
func (s *Store) Epoch(ctx context.Context) (string, error) {
	b := make([]byte, 16)
	rand.Read(b)
	var ep string
	err := s.pool.QueryRow(ctx, `WITH ins AS (
		INSERT INTO authport_cluster_epoch (id, epoch) VALUES (1, $1) ON CONFLICT (id) DO NOTHING RETURNING epoch)
		SELECT epoch FROM ins UNION ALL SELECT epoch FROM authport_cluster_epoch WHERE id = 1 LIMIT 1`, hex.EncodeToString(b)).Scan(&ep)
	return ep, err
}

// AppendRevocation implements cluster.Store: the insert holds a
// transaction-level advisory lock, so ids become visible in order and a
// reader that continues after id n never misses a smaller one.
func (s *Store) AppendRevocation(ctx context.Context, r authport.Revocation) error {
	body, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(lockID)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM authport_cluster_revocations WHERE until < now() - interval '1 minute'`); err != nil {
			return err
		}
		var id int64
		if err := tx.QueryRow(ctx, `INSERT INTO authport_cluster_revocations (body, until) VALUES ($1, $2) RETURNING id`, string(body), r.Until).Scan(&id); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, Channel, strconv.FormatInt(id, 10))
		return err
	})
}

// ReadRevocations implements cluster.Store: cursor is the last id read.
// With nothing new it waits for a NOTIFY on its LISTEN connection.
func (s *Store) ReadRevocations(ctx context.Context, cursor string, wait time.Duration) ([]authport.Revocation, string, error) {
	if err := s.ensureListen(ctx); err != nil {
		return nil, "", err
	}
	if cursor == "" {
		// Every live revocation, and the cursor after the last one.
		var last int64
		if err := s.pool.QueryRow(ctx, `SELECT coalesce(max(id), 0) FROM authport_cluster_revocations`).Scan(&last); err != nil {
			return nil, "", err
		}
		revs, _, err := s.after(ctx, 0, last)
		return revs, strconv.FormatInt(last, 10), err
	}
	from, err := strconv.ParseInt(cursor, 10, 64)
	if err != nil {
		return nil, "", errors.New("cluster/postgres: bad cursor")
	}
	revs, last, err := s.after(ctx, from, -1)
	if err != nil || len(revs) > 0 || last > from {
		return revs, strconv.FormatInt(last, 10), err
	}
	if err := s.waitNotify(ctx, wait); err != nil {
		return nil, "", err
	}
	revs, last, err = s.after(ctx, from, -1)
	return revs, strconv.FormatInt(last, 10), err
}

// after returns the live revocations with from < id (<= upto unless
// upto < 0) and the largest id seen (from when none).
func (s *Store) after(ctx context.Context, from, upto int64) ([]authport.Revocation, int64, error) {
	q := `SELECT id, body FROM authport_cluster_revocations WHERE id > $1 AND ($2 < 0 OR id <= $2) AND until > now() ORDER BY id LIMIT 1000`
	rows, err := s.pool.Query(ctx, q, from, upto)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	last := from
	var out []authport.Revocation
	for rows.Next() {
		var (
			id   int64
			body string
		)
		if err := rows.Scan(&id, &body); err != nil {
			return nil, 0, err
		}
		last = id
		var r authport.Revocation
		if json.Unmarshal([]byte(body), &r) == nil {
			out = append(out, r)
		}
	}
	if upto >= 0 && len(out) == 1000 {
		// More than a page of live revocations at start-up: read on.
		more, l, err := s.after(ctx, last, upto)
		return append(out, more...), max(l, last), err
	}
	if upto >= 0 {
		last = upto
	}
	return out, last, rows.Err()
}

func (s *Store) ensureListen(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listen != nil && !s.listen.IsClosed() {
		return nil
	}
	c, err := pgx.ConnectConfig(ctx, s.cfg)
	if err != nil {
		return err
	}
	if _, err := c.Exec(ctx, "LISTEN "+Channel); err != nil {
		c.Close(ctx)
		return err
	}
	s.listen = c
	return nil
}

// waitNotify waits up to wait for a NOTIFY; a quiet wait is not an error.
func (s *Store) waitNotify(ctx context.Context, wait time.Duration) error {
	s.mu.Lock()
	c := s.listen
	s.mu.Unlock()
	if c == nil {
		return errors.New("cluster/postgres: no LISTEN connection")
	}
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	_, err := c.WaitForNotification(wctx)
	if err != nil && ctx.Err() == nil && wctx.Err() != nil {
		// A quiet wait. Should it have closed the connection, the next
		// read opens another; the query that follows proves the server
		// answers.
		return nil
	}
	return err
}

// ClaimFlight implements cluster.Store.
func (s *Store) ClaimFlight(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if _, err := s.pool.Exec(ctx, `DELETE FROM authport_cluster_flights WHERE expires < now()`); err != nil {
		return false, err
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO authport_cluster_flights (key, result, expires)
		VALUES ($1, NULL, now() + $2 * interval '1 millisecond') ON CONFLICT (key) DO NOTHING`, key, ttl.Milliseconds())
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() == 1, nil
}

// FinishFlight implements cluster.Store.
func (s *Store) FinishFlight(ctx context.Context, key string, result []byte, ttl time.Duration) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO authport_cluster_flights (key, result, expires)
		VALUES ($1, $2, now() + $3 * interval '1 millisecond')
		ON CONFLICT (key) DO UPDATE SET result = excluded.result, expires = excluded.expires`, key, result, ttl.Milliseconds())
	return err
}

// AbandonFlight implements cluster.Store: only a running flight is
// dropped, never a result.
func (s *Store) AbandonFlight(ctx context.Context, key string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM authport_cluster_flights WHERE key = $1 AND result IS NULL`, key)
	return err
}

// Flight implements cluster.Store.
func (s *Store) Flight(ctx context.Context, key string) ([]byte, bool, error) {
	var res []byte
	err := s.pool.QueryRow(ctx, `SELECT result FROM authport_cluster_flights WHERE key = $1 AND expires > now()`, key).Scan(&res)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return res, true, nil
}

// Allow implements cluster.Store: cluster.Policy.Step on the row, locked
// for the transaction, on the database's clock.
func (s *Store) Allow(ctx context.Context, key string, p cluster.Policy) (ok bool, wait time.Duration, err error) {
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if mrand.IntN(100) == 0 {
			if _, err := tx.Exec(ctx, `DELETE FROM authport_cluster_limits WHERE expires < now()`); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO authport_cluster_limits (key) VALUES ($1) ON CONFLICT (key) DO NOTHING`, key); err != nil {
			return err
		}
		var (
			st      cluster.LimitState
			now     int64
			expired bool
		)
		err := tx.QueryRow(ctx, `SELECT start_ms, count, strikes, blocked_ms, last_ms,
			(extract(epoch FROM clock_timestamp()) * 1000)::bigint, expires < now()
			FROM authport_cluster_limits WHERE key = $1 FOR UPDATE`, key).
			Scan(&st.Start, &st.Count, &st.Strikes, &st.Blocked, &st.Last, &now, &expired)
		if err != nil {
			return err
		}
		if expired {
			st = cluster.LimitState{}
		}
		next, allowed, d, keep := p.Step(st, now)
		_, err = tx.Exec(ctx, `UPDATE authport_cluster_limits SET start_ms = $2, count = $3, strikes = $4, blocked_ms = $5, last_ms = $6,
			expires = now() + $7 * interval '1 millisecond' WHERE key = $1`,
			key, next.Start, next.Count, next.Strikes, next.Blocked, next.Last, keep.Milliseconds())
		ok, wait = allowed, d
		return err
	})
	return ok, wait, err
}
