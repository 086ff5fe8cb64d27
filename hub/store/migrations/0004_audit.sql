-- 0004: the audit log (issue 8). Append-only, hash-chained (protocols/audit/chain.ts), with the
-- hub's signed checkpoints and the cloud outbox's acknowledged position.

CREATE TABLE audit_events (
  seq       INTEGER PRIMARY KEY,
  wall_ms   INTEGER NOT NULL,
  mono_ms   INTEGER NOT NULL,
  type      TEXT    NOT NULL,
  -- The event body in canonical CBOR (RFC 8949 §4.2.1), exactly as hashed.
  body      BLOB    NOT NULL,
  prev_hash BLOB    NOT NULL CHECK (length(prev_hash) = 32),
  hash      BLOB    NOT NULL CHECK (length(hash) = 32)
) STRICT;

CREATE TABLE audit_checkpoints (
  seq       INTEGER PRIMARY KEY,
  head_hash BLOB    NOT NULL CHECK (length(head_hash) = 32),
  wall_ms   INTEGER NOT NULL,
  signature BLOB    NOT NULL CHECK (length(signature) = 64),
  -- Set once the cloud has received this checkpoint.
  sent      INTEGER NOT NULL DEFAULT 0
) STRICT;

-- One row: how far the cloud has acknowledged, and how far retention has pruned.
CREATE TABLE audit_state (
  id            INTEGER PRIMARY KEY CHECK (id = 1),
  acked_through INTEGER NOT NULL DEFAULT 0,
  pruned_through INTEGER NOT NULL DEFAULT 0
) STRICT;
INSERT INTO audit_state (id) VALUES (1);

-- Append-only: an entry is never changed, and removed only by a retention prune, which first
-- raises pruned_through (to acked entries only) and then deletes up to it.
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
  SELECT RAISE(ABORT, 'audit_events is append-only');
END;

CREATE TRIGGER audit_events_delete_only_pruned BEFORE DELETE ON audit_events
WHEN OLD.seq > (SELECT pruned_through FROM audit_state WHERE id = 1)
BEGIN
  SELECT RAISE(ABORT, 'audit_events is append-only: only pruned entries may be removed');
END;

CREATE TRIGGER audit_state_prune_only_acked BEFORE UPDATE OF pruned_through ON audit_state
WHEN NEW.pruned_through > NEW.acked_through OR NEW.pruned_through < OLD.pruned_through
BEGIN
  SELECT RAISE(ABORT, 'only acknowledged entries may be pruned, and never un-pruned');
END;

CREATE TRIGGER audit_state_ack_forward BEFORE UPDATE OF acked_through ON audit_state
WHEN NEW.acked_through < OLD.acked_through
BEGIN
  SELECT RAISE(ABORT, 'the acknowledged position never moves back');
END;

-- Grants pushed by the cloud (hub/cloud/downlink.ts), stored only after their issuer signature,
-- hub id, kind and validity were verified; the primary key makes the intake idempotent by grant id.
CREATE TABLE pushed_grants (
  grant_id       BLOB    PRIMARY KEY CHECK (length(grant_id) = 16),
  kid            TEXT    NOT NULL,
  kind           TEXT    NOT NULL,
  not_after_ms   INTEGER NOT NULL,
  received_at_ms INTEGER NOT NULL,
  signed         BLOB    NOT NULL
) STRICT;
