-- authport DIY schema, version 2 (SQLite): permissions and an organisation
-- per user, and their snapshot in each session. Additive only: existing rows
-- get no permissions and no organisation, and a build of version 1 still
-- reads and writes these tables (it names its columns). Open applies this in
-- the same BEGIN IMMEDIATE transaction that records it, so two instances
-- starting at once apply it once.
ALTER TABLE authport_users ADD COLUMN permissions TEXT NOT NULL DEFAULT '[]';
ALTER TABLE authport_users ADD COLUMN org_id TEXT NOT NULL DEFAULT '';
ALTER TABLE authport_users ADD COLUMN org_slug TEXT NOT NULL DEFAULT '';

ALTER TABLE authport_sessions ADD COLUMN permissions TEXT NOT NULL DEFAULT '[]';
ALTER TABLE authport_sessions ADD COLUMN org_id TEXT NOT NULL DEFAULT '';
ALTER TABLE authport_sessions ADD COLUMN org_slug TEXT NOT NULL DEFAULT '';
