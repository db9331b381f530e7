-- authport DIY schema, version 2 (PostgreSQL): permissions and an
-- organisation per user, and their snapshot in each session. Additive only:
-- existing rows get no permissions and no organisation, and a build of
-- version 1 still reads and writes these tables (it names its columns).
-- Constant defaults make each ADD COLUMN a catalogue change (no table
-- rewrite); the lock timeout keeps a long transaction on these tables from
-- queueing every request behind the ALTER (Open then fails and the next
-- start retries). Open applies this under the migration advisory lock, in
-- the transaction that records it, so two instances apply it once.
SET LOCAL lock_timeout = '10s';

ALTER TABLE authport_users
	ADD COLUMN permissions text[] NOT NULL DEFAULT '{}',
	ADD COLUMN org_id      text   NOT NULL DEFAULT '',
	ADD COLUMN org_slug    text   NOT NULL DEFAULT '';

ALTER TABLE authport_sessions
	ADD COLUMN permissions text[] NOT NULL DEFAULT '{}',
	ADD COLUMN org_id      text   NOT NULL DEFAULT '',
	ADD COLUMN org_slug    text   NOT NULL DEFAULT '';
