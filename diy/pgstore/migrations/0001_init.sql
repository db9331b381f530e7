-- authport DIY schema, version 1 (PostgreSQL).
CREATE TABLE authport_users (
	id            text        PRIMARY KEY,
	email         text        NOT NULL UNIQUE,
	password_hash text        NOT NULL,
	roles         text[]      NOT NULL DEFAULT '{}',
	disabled      boolean     NOT NULL DEFAULT false,
	created_at    timestamptz NOT NULL,
	updated_at    timestamptz NOT NULL
);

CREATE TABLE authport_sessions (
	id              text        PRIMARY KEY,
	token_hash      bytea       NOT NULL UNIQUE,
	user_id         text        NOT NULL,
	email           text        NOT NULL,
	roles           text[]      NOT NULL DEFAULT '{}',
	created_at      timestamptz NOT NULL,
	last_seen_at    timestamptz NOT NULL,
	idle_expires_at timestamptz NOT NULL,
	expires_at      timestamptz NOT NULL,
	revoked_at      timestamptz,
	user_agent      text        NOT NULL DEFAULT '',
	ip              text        NOT NULL DEFAULT ''
);
CREATE INDEX authport_sessions_user ON authport_sessions (user_id, created_at);
CREATE INDEX authport_sessions_expiry ON authport_sessions (idle_expires_at);

CREATE TABLE authport_refresh_tokens (
	token_hash bytea       PRIMARY KEY,
	family_id  text        NOT NULL,
	user_id    text        NOT NULL,
	issued_at  timestamptz NOT NULL,
	expires_at timestamptz NOT NULL,
	used_at    timestamptz,
	revoked_at timestamptz
);
CREATE INDEX authport_refresh_family ON authport_refresh_tokens (family_id);
CREATE INDEX authport_refresh_user ON authport_refresh_tokens (user_id);
CREATE INDEX authport_refresh_expiry ON authport_refresh_tokens (expires_at);
