-- Keypad codes on a schedule (hub/schedule, hub/store/schedule-store.ts).

-- One row per guest or service code. `pin` is kept only while the hub may still have to put it into
-- the lock (NULL once the code expired or was removed and its slot read back empty); everywhere
-- else the PIN is only its keyed hash. A removed code keeps its row, and its slot, until the slot
-- is confirmed empty.
CREATE TABLE schedule_codes (
  code_id       TEXT    PRIMARY KEY CHECK (length(code_id) = 16),
  name          TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
  kind          TEXT    NOT NULL CHECK (kind IN ('guest', 'service')),
  slot          INTEGER NOT NULL UNIQUE CHECK (slot BETWEEN 1 AND 255),
  zone          TEXT    NOT NULL,
  -- JSON array of windows, validated by hub/schedule/model.ts on the way in and out.
  windows       TEXT    NOT NULL,
  expires_at_ms INTEGER,
  paused        INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
  pin           TEXT    CHECK (pin IS NULL OR (length(pin) BETWEEN 4 AND 10 AND pin NOT GLOB '*[^0-9]*')),
  pin_hash      TEXT    NOT NULL CHECK (length(pin_hash) = 16),
  removed       INTEGER NOT NULL DEFAULT 0 CHECK (removed IN (0, 1)),
  created_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL
) STRICT;

-- Names are how a person refers to a code: unique among the codes not being removed.
CREATE UNIQUE INDEX schedule_codes_by_name ON schedule_codes (name COLLATE NOCASE) WHERE removed = 0;

-- What each hub slot held when the lock last confirmed it (a read-back after a set or clear, or a
-- reconcile pass): `unknown` while a set or clear is in flight or after one failed.
CREATE TABLE schedule_slots (
  slot       INTEGER PRIMARY KEY CHECK (slot BETWEEN 1 AND 255),
  content    TEXT    NOT NULL CHECK (content IN ('empty', 'code', 'unknown')),
  -- Keyed hash of the code read back (NULL when empty, unknown, or the lock masks its codes).
  pin_hash   TEXT    CHECK (pin_hash IS NULL OR length(pin_hash) = 16),
  read_at_ms INTEGER NOT NULL
) STRICT;

-- The key of the PINs' keyed hash (HMAC-SHA256): made once, never leaves the store.
CREATE TABLE schedule_secret (
  id       INTEGER PRIMARY KEY CHECK (id = 1),
  hash_key BLOB    NOT NULL CHECK (length(hash_key) = 32)
) STRICT;
