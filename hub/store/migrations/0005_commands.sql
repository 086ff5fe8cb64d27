-- 0005: signed commands from the cloud (hub/cloud/downlink.ts, issue 8 Cloud link 4). One row per
-- command id the hub has claimed, written (synchronous=FULL) after the command verified and BEFORE
-- it is carried out, so a redelivery, a replay or a restart can never run the same command twice.
-- A row may go once its notAfter is below the clock floor minus the skew: from then on a replay of
-- that id is refused as expired whatever the wall clock says (hub/store/command-log.ts).
CREATE TABLE executed_commands (
  command_id     BLOB    PRIMARY KEY CHECK (length(command_id) = 16),
  kid            TEXT    NOT NULL,
  action         TEXT    NOT NULL,
  not_after_ms   INTEGER NOT NULL,
  received_at_ms INTEGER NOT NULL,
  -- NULL while the command runs (or if the hub stopped mid-command), then its outcome.
  outcome        TEXT    CHECK (outcome IN ('accepted', 'refused')),
  reason         INTEGER
) STRICT;

CREATE INDEX executed_commands_by_not_after ON executed_commands (not_after_ms);
