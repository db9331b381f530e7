-- authport DIY schema, version 1 (SQLite). Times are Unix microseconds.
CREATE TABLE authport_users (
	id            TEXT    PRIMARY KEY,
	email         TEXT    NOT NULL UNIQUE,
	password_hash TEXT    NOT NULL,
	roles         TEXT    NOT NULL DEFAULT '[]',
	disabled      INTEGER NOT NULL DEFAULT 0,
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE authport_sessions (
	id              TEXT    PRIMARY KEY,
	token_hash      BLOB    NOT NULL UNIQUE,
	user_id         TEXT    NOT NULL,
	email           TEXT    NOT NULL,
	roles           TEXT    NOT NULL DEFAULT '[]',
	created_at      INTEGER NOT NULL,
	last_seen_at    INTEGER NOT NULL,
	idle_expires_at INTEGER NOT NULL,
	expires_at      INTEGER NOT NULL,
	revoked_at      INTEGER,
	user_agent      TEXT    NOT NULL DEFAULT '',
	ip              TEXT    NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX authport_sessions_user ON authport_sessions (user_id, created_at);
CREATE INDEX authport_sessions_expiry ON authport_sessions (idle_expires_at);

CREATE TABLE authport_refresh_tokens (
	token_hash BLOB    PRIMARY KEY,
	family_id  TEXT    NOT NULL,
	user_id    TEXT    NOT NULL,
	issued_at  INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	used_at    INTEGER,
	revoked_at INTEGER
) STRICT;
CREATE INDEX authport_refresh_family ON authport_refresh_tokens (family_id);
CREATE INDEX authport_refresh_user ON authport_refresh_tokens (user_id);
CREATE INDEX authport_refresh_expiry ON authport_refresh_tokens (expires_at);
