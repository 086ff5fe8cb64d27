-- 0003: the camera's clip index (hub/camera/clip-store.ts). One row per fMP4 file under
-- <state>/clips/; the sha256 goes into a visit's evidence bundle.
CREATE TABLE camera_clips (
  id            TEXT    PRIMARY KEY,
  -- NULL for clips that belong to no visit (e.g. a homeowner's manual recording).
  visit_id      TEXT,
  file          TEXT    NOT NULL,
  started_at_ms INTEGER NOT NULL,
  ended_at_ms   INTEGER,
  bytes         INTEGER NOT NULL DEFAULT 0,
  sha256        TEXT,
  -- 'recording' while written; 'complete' once closed; 'recovered' when cut short by a crash and
  -- trimmed to its last whole fragment at boot.
  state         TEXT    NOT NULL CHECK (state IN ('recording', 'complete', 'recovered'))
) STRICT;

CREATE INDEX camera_clips_by_start ON camera_clips (started_at_ms);
CREATE INDEX camera_clips_by_visit ON camera_clips (visit_id);
