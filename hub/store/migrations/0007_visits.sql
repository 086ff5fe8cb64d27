-- The visit (hub/delivery): one row per courier visit of the lock, one row per step it took, and
-- the home's delivery policy. Each step row is written in the same synchronous=FULL transaction as
-- its `visit` audit entry and carries that entry's seq, so the journal and the chain never disagree
-- about what happened (hub/store/visit-journal.ts).
CREATE TABLE visits (
  visit_id        TEXT    PRIMARY KEY CHECK (length(visit_id) = 32),
  lock_id         TEXT    NOT NULL,
  transport       TEXT    NOT NULL CHECK (transport IN ('ble', 'cloud')),
  requested_at_ms INTEGER NOT NULL,
  -- Set once the grant verified (a refused presentation may carry no readable grant).
  grant_id        BLOB    CHECK (grant_id IS NULL OR length(grant_id) = 16),
  grant_kind      TEXT,
  subject         TEXT,
  max_entry_ms    INTEGER,
  -- The clip being written when the recorder started (the clip index maps visit → every clip).
  clip_id         TEXT,
  -- The lock reported the bolt unlocked.
  opened_at_ms    INTEGER,
  -- The latest step (visit_steps holds them all).
  state           TEXT    NOT NULL,
  -- What the receipt says, once known; the signed receipt itself, to answer a repeated ask.
  outcome         TEXT    CHECK (outcome IN ('locked', 'relock-failed', 'door-left-open')),
  receipt         BLOB,
  -- 1 from the request until the visit closes (the bolt confirmed locked, or it never moved): no
  -- second visit of the same lock meanwhile, and boot-time recovery relocks what is still held.
  holds_lock      INTEGER NOT NULL CHECK (holds_lock IN (0, 1)),
  closed_at_ms    INTEGER,
  CHECK ((holds_lock = 1) = (closed_at_ms IS NULL))
) STRICT;

CREATE UNIQUE INDEX visits_one_open_per_lock ON visits (lock_id) WHERE holds_lock = 1;

CREATE TABLE visit_steps (
  visit_id  TEXT    NOT NULL REFERENCES visits (visit_id),
  step      INTEGER NOT NULL CHECK (step >= 1),
  state     TEXT    NOT NULL CHECK (state IN (
              'requested', 'verifying', 'camera-arming', 'unlocking', 'open', 'relocking', 'confirming', 'post-roll', 'done',
              'refused', 'left-outside', 'relock-failed', 'door-left-open', 'camera-stalled', 'aborted')),
  at_ms     INTEGER NOT NULL,
  -- The `visit` audit entry of this step, written in the same transaction.
  audit_seq INTEGER NOT NULL,
  -- The refusal or failure code (2xx, 3xx, 4xx) when the step has one.
  reason    INTEGER,
  cause     TEXT,
  PRIMARY KEY (visit_id, step)
) STRICT;

CREATE TRIGGER visit_steps_append_only BEFORE UPDATE ON visit_steps
BEGIN
  SELECT RAISE(ABORT, 'visit steps are append-only');
END;

-- The homeowner's switches (`keyhub deliveries pause|resume`, `keyhub pets on|off`): read at every
-- request, so a change takes effect at the door at once; each change is a `config.change` entry.
CREATE TABLE home_policy (
  key           TEXT    PRIMARY KEY CHECK (key IN ('deliveries_paused', 'pets_inside')),
  value         INTEGER NOT NULL CHECK (value IN (0, 1)),
  changed_at_ms INTEGER NOT NULL,
  changed_by    TEXT    NOT NULL
) STRICT;
