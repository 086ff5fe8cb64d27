-- 0002: offline grants (hub/access). Replay set, challenges, clock floor, held trust material.

-- One row per grant that has been used at least once. `uses` only grows; a row is written in the
-- same committed transaction that answers Allow (DESIGN.md, Trust and tokens: Replay).
CREATE TABLE consumed_grants (
  grant_id        BLOB    PRIMARY KEY CHECK (length(grant_id) = 16),
  uses            INTEGER NOT NULL CHECK (uses >= 1),
  max_uses        INTEGER NOT NULL CHECK (max_uses >= 1),
  not_after_ms    INTEGER NOT NULL,
  first_used_ms   INTEGER NOT NULL,
  last_used_ms    INTEGER NOT NULL,
  CHECK (uses <= max_uses)
) STRICT;

-- Hub-issued challenges: random, single use, short-lived. `used_at_ms` is set exactly once.
CREATE TABLE challenges (
  nonce           BLOB    PRIMARY KEY CHECK (length(nonce) = 32),
  issued_at_ms    INTEGER NOT NULL,
  expires_at_ms   INTEGER NOT NULL,
  used_at_ms      INTEGER
) STRICT;

-- Singleton rows of access state: the clock floor and the held trust material.
--   clock_floor_ms       latest trusted wall time (SignedTime, verified grant issue times, clean shutdown)
--   clock_floor_source   what raised it last
--   keyring              the installed root-signed keyring (envelope bytes) and its version
--   revocations          the installed revocation list (envelope bytes) and its version
--   root_public_key      the pinned root (32 raw Ed25519 bytes)
CREATE TABLE access_state (
  key     TEXT PRIMARY KEY,
  int_val INTEGER,
  text_val TEXT,
  blob_val BLOB
) STRICT;
