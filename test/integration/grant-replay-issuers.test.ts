/**
 * Grant ids are one issuer's: uses are counted per (issuer kid, grant id) (migration 0006). One
 * trusted issuer that picks another issuer's grant id — by accident or to deny service — uses up
 * only its own grant. Uses recorded before the migration keep counting for that id.
 */
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { authorize } from '../../hub/access/authorize.js';
import { MIGRATIONS_DIR, readMigrations } from '../../hub/store/migrate.js';
import { ErrorCode } from '../../hub/system/errors.js';
import type { Grant } from '../../protocols/grant/grant.js';
import { signPresentation } from '../../protocols/grant/handheld.js';
import { makeIssuerCertificate, signGrant, signKeyring } from '../../protocols/grant/issuer.js';
import type { SigningKey } from '../../protocols/grant/ed25519.js';
import { HOUR, NOW, bleContext, deliveryGrant, makeWorld, seededKey, type World } from '../support/grant-fixture.js';
import { tempDir } from '../support/temp-dir.js';

const carrierKey = seededKey(31);
let dir: ReturnType<typeof tempDir>;
let world: World;
beforeEach(async () => {
  dir = tempDir('keyhub-issuers-');
  world = await makeWorld(join(dir.path, 'keyhub.db'));
  installTwoIssuers(world);
});
afterEach(() => {
  world.close();
  dir.cleanup();
});

function installTwoIssuers(w: World, version = 2): void {
  const cert = (kid: string, key: SigningKey) => makeIssuerCertificate({ kid, key, notBefore: NOW - HOUR, notAfter: NOW + HOUR, kinds: ['delivery', 'guest'] }).certificate;
  w.trust.installKeyring(signKeyring({ version, issuedAt: NOW, issuers: [cert('cloud-1', w.issuer), cert('carrier-1', carrierKey)] }, w.root));
}

function use(w: World, grant: Grant, signer: SigningKey): 'allow' | ErrorCode {
  const challenge = w.stores.replay.issueChallenge(NOW);
  const packages = grant.kind === 'delivery' ? ['pkg-1'] : [];
  const presentation = signPresentation({ grantId: grant.id, challenge, transport: 'ble', time: NOW, packages }, w.courier);
  const d = authorize(signGrant(grant, signer), presentation, bleContext(), w.stores);
  return d.allow ? 'allow' : d.code;
}

describe('replay: uses are counted per issuer', () => {
  it('lets another issuer’s grant with the same id in, and still refuses each grant’s own second use', () => {
    const id = new Uint8Array(16).fill(0x42);
    const mine = deliveryGrant(world, { id });
    const theirs = deliveryGrant(world, { id, kid: 'carrier-1' });
    expect(use(world, theirs, carrierKey)).toBe('allow');
    expect(use(world, mine, world.issuer)).toBe('allow');
    expect(use(world, mine, world.issuer)).toBe(ErrorCode.GRANT_USED_UP);
    expect(use(world, theirs, carrierKey)).toBe(ErrorCode.GRANT_USED_UP);
    expect([world.stores.replay.usesOf('cloud-1', id), world.stores.replay.usesOf('carrier-1', id), world.stores.replay.usesOf('carrier-2', id)]).toEqual([1, 1, 0]);
  });

  it('counts a multi-use grant’s uses apart from another issuer’s uses of its id', () => {
    const id = new Uint8Array(16).fill(0x43);
    const guest = (kid: string) => deliveryGrant(world, { id, kid, kind: 'guest', uses: 2, delivery: undefined });
    expect([use(world, guest('carrier-1'), carrierKey), use(world, guest('carrier-1'), carrierKey), use(world, guest('carrier-1'), carrierKey)]).toEqual(['allow', 'allow', ErrorCode.GRANT_USED_UP]);
    expect([use(world, guest('cloud-1'), world.issuer), use(world, guest('cloud-1'), world.issuer)]).toEqual(['allow', 'allow']);
  });
});

describe('migration 0006: uses recorded before it', () => {
  it('moves every row over, and a use recorded then still counts for a grant with that id from any issuer', async () => {
    // A database at schema 5 with one use of a one-time grant and two of a 3-use grant on record.
    const path = join(dir.path, 'v5.db');
    const db = new BetterSqlite3(path);
    for (const mig of readMigrations(MIGRATIONS_DIR).slice(0, 5)) {
      db.exec(mig.sql);
      db.pragma(`user_version = ${mig.version}`);
    }
    const once = new Uint8Array(16).fill(0x51);
    const thrice = new Uint8Array(16).fill(0x52);
    const row = db.prepare('INSERT INTO consumed_grants (grant_id, uses, max_uses, not_after_ms, first_used_ms, last_used_ms) VALUES (?, ?, ?, ?, ?, ?)');
    row.run(once, 1, 1, NOW + HOUR, NOW - 60_000, NOW - 60_000);
    row.run(thrice, 2, 3, NOW + HOUR, NOW - 60_000, NOW - 30_000);
    db.close();

    const old = await makeWorld(path);
    try {
      installTwoIssuers(old);
      expect(old.store.db.prepare('SELECT kid, uses, max_uses AS maxUses FROM consumed_grants ORDER BY grant_id').all()).toEqual([
        { kid: '', uses: 1, maxUses: 1 },
        { kid: '', uses: 2, maxUses: 3 },
      ]);
      expect(old.stores.replay.usesOf('cloud-1', once)).toBe(1);
      expect(use(old, deliveryGrant(old, { id: once }), old.issuer)).toBe(ErrorCode.GRANT_USED_UP);
      expect(use(old, deliveryGrant(old, { id: once, kid: 'carrier-1' }), carrierKey)).toBe(ErrorCode.GRANT_USED_UP);
      // The 3-use grant has one use left, counted on the old row whoever presents it.
      const guest = deliveryGrant(old, { id: thrice, kind: 'guest', uses: 3, delivery: undefined });
      expect([use(old, guest, old.issuer), use(old, guest, old.issuer)]).toEqual(['allow', ErrorCode.GRANT_USED_UP]);
      expect(old.store.db.prepare('SELECT kid, uses FROM consumed_grants WHERE grant_id = ?').all(thrice)).toEqual([{ kid: '', uses: 3 }]);
    } finally {
      old.close();
    }
  });
});
