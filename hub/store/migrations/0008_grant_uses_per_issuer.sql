-- 0006: a grant's uses are counted per issuer, keyed by (kid, grant id) (hub/store/replay-store.ts).
-- Keyed by the id alone, one issuer reusing another issuer's grant id used up the other's grant
-- (a denial of service by any trusted issuer, even a carrier's delivery-only one).
--
-- Rows written before this migration do not say which issuer's grant they counted: they move over
-- with kid '' (no real kid is empty: protocols/grant/grant.ts), and such a row keeps counting for a
-- grant with that id from any issuer, as before, so no use recorded before the upgrade is lost.
CREATE TABLE consumed_grants_by_issuer (
  kid             TEXT    NOT NULL CHECK (length(kid) <= 64),
  grant_id        BLOB    NOT NULL CHECK (length(grant_id) = 16),
  uses            INTEGER NOT NULL CHECK (uses >= 1),
  max_uses        INTEGER NOT NULL CHECK (max_uses >= 1),
  not_after_ms    INTEGER NOT NULL,
  first_used_ms   INTEGER NOT NULL,
  last_used_ms    INTEGER NOT NULL,
  PRIMARY KEY (kid, grant_id),
  CHECK (uses <= max_uses)
) STRICT;

INSERT INTO consumed_grants_by_issuer (kid, grant_id, uses, max_uses, not_after_ms, first_used_ms, last_used_ms)
  SELECT '', grant_id, uses, max_uses, not_after_ms, first_used_ms, last_used_ms FROM consumed_grants;

DROP TABLE consumed_grants;
ALTER TABLE consumed_grants_by_issuer RENAME TO consumed_grants;

-- The legacy lookup (kid '', grant id) and the per-issuer one both use the primary key.
