-- 0001: the hub's identity and the record of daemon runs (status, uptime, unclean exits).
-- Later rooms add their own numbered files; a file, once released, is never edited.

CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;

-- A provisional id until `keyhub init` assigns the provisioned one: 8 random bytes, hex.
INSERT INTO meta (key, value) VALUES
  ('hub_id', 'kh-' || lower(hex(randomblob(8)))),
  ('created_at_ms', CAST(CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) AS TEXT));

CREATE TABLE daemon_runs (
  id            INTEGER PRIMARY KEY,
  pid           INTEGER NOT NULL,
  version       TEXT    NOT NULL,
  started_at_ms INTEGER NOT NULL,
  ready_at_ms   INTEGER,
  stopped_at_ms INTEGER,
  -- 'clean' | 'failed: <reason>' once stopped; NULL while running or after a crash.
  outcome       TEXT
) STRICT;
