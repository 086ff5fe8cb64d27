/**
 * How hard each trust-core write reaches the disk, asserted through the Store interface: a wrapper
 * records the durability every write asks for and the `PRAGMA synchronous` SQLite runs its
 * transaction with. A grant use, a challenge use and a clock floor move must be synchronous=FULL
 * (2): once allow is answered, they survive a power cut (DESIGN.md, "Trust and tokens": Replay).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clockFloor } from '../../hub/store/clock-floor.js';
import { CHALLENGE_LIFETIME_MS, replayStore } from '../../hub/store/replay-store.js';
import { openStore, type Durability, type Store } from '../../hub/store/store.js';
import { trustStore } from '../../hub/store/trust-store.js';
import { NOW } from '../support/grant-fixture.js';
import { silentLog } from '../support/silent-log.js';

const FULL = 2;
const NORMAL = 1;

interface Write {
  durability: Durability;
  synchronous: number;
}

let store: Store;
let writes: Write[];
let recorded: Store;
beforeEach(async () => {
  store = await openStore({ path: ':memory:', busyTimeoutMs: 1000, log: silentLog() });
  writes = [];
  recorded = {
    ...store,
    write: (durability, fn) =>
      store.write(durability, (db) => {
        writes.push({ durability, synchronous: db.pragma('synchronous', { simple: true }) as number });
        return fn(db);
      }),
  };
});
afterEach(() => store.close());

const request = (challenge: Uint8Array, over: Partial<Parameters<ReturnType<typeof replayStore>['consume']>[0]> = {}) => ({
  kid: 'cloud-1',
  grantId: new Uint8Array(16).fill(1),
  maxUses: 1,
  notAfter: NOW + 60_000,
  challenge,
  now: NOW,
  ...over,
});

describe('durability of the trust core’s writes', () => {
  it('consumes a grant use and its challenge in one synchronous=FULL transaction', () => {
    const replay = replayStore(recorded);
    const challenge = replay.issueChallenge(NOW);
    writes.length = 0;
    expect(replay.consume(request(challenge, { raiseFloorTo: NOW - 1 }))).toEqual({ ok: true, uses: 1 });
    expect(writes).toEqual([{ durability: 'full', synchronous: FULL }]);
    // Back to NORMAL for everything else on the connection.
    expect(store.db.pragma('synchronous', { simple: true })).toBe(NORMAL);
  });

  it('issues a challenge with synchronous=NORMAL: losing one to a power cut only costs a retry', () => {
    replayStore(recorded).issueChallenge(NOW);
    expect(writes).toEqual([{ durability: 'normal', synchronous: NORMAL }]);
  });

  it('raises and re-anchors the clock floor with synchronous=FULL', () => {
    const floor = clockFloor(recorded);
    expect(floor.raise(NOW, 'grant')).toBe(NOW);
    expect(floor.reanchor(NOW - 5)).toBe(NOW);
    expect(writes).toEqual([
      { durability: 'full', synchronous: FULL },
      { durability: 'full', synchronous: FULL },
    ]);
    expect({ ms: floor.floorMs(), source: floor.source() }).toEqual({ ms: NOW - 5, source: 'root-time' });
  });

  it('pins the root and replaces held trust documents with synchronous=FULL', () => {
    const trust = trustStore(recorded);
    trust.pinRoot(new Uint8Array(32).fill(9));
    expect(trust.replace('keyring', { version: 1, signed: new Uint8Array([1]) })).toBe(true);
    expect(trust.replace('keyring', { version: 1, signed: new Uint8Array([2]) })).toBe(false);
    expect(writes.map((w) => w.synchronous)).toEqual([FULL, FULL, FULL]);
  });
});

describe('the replay store, exactly at its edges', () => {
  it('keeps an expired challenge known until a whole lifetime after it expired, then prunes it', () => {
    const replay = replayStore(store);
    const old = replay.issueChallenge(NOW);
    // Issuing at the exact edge prunes nothing older that is still valid or just expired…
    replay.issueChallenge(NOW + 2 * CHALLENGE_LIFETIME_MS);
    expect(replay.challengeState(old, NOW + 2 * CHALLENGE_LIFETIME_MS)).toBe('expired');
    // …one millisecond later it is gone.
    replay.issueChallenge(NOW + 2 * CHALLENGE_LIFETIME_MS + 1);
    expect(replay.challengeState(old, NOW + 2 * CHALLENGE_LIFETIME_MS + 1)).toBe('unknown');
  });

  it('never prunes a challenge that is still valid when a newer one is issued', () => {
    const replay = replayStore(store);
    const first = replay.issueChallenge(NOW);
    replay.issueChallenge(NOW + CHALLENGE_LIFETIME_MS);
    expect(replay.challengeState(first, NOW + CHALLENGE_LIFETIME_MS)).toBe('fresh');
    expect(replay.consume(request(first, { now: NOW + CHALLENGE_LIFETIME_MS }))).toEqual({ ok: true, uses: 1 });
  });

  it('consumes a challenge from its issue instant to its expiry, both included, and never outside', () => {
    const replay = replayStore(store);
    const at = (now: number, id: number) => replay.consume(request(replay.issueChallenge(NOW), { now, grantId: new Uint8Array(16).fill(id) }));
    expect(at(NOW - 1, 1)).toEqual({ ok: false, why: 'challenge' });
    expect(at(NOW, 2)).toEqual({ ok: true, uses: 1 });
    expect(at(NOW + CHALLENGE_LIFETIME_MS, 3)).toEqual({ ok: true, uses: 1 });
    expect(at(NOW + CHALLENGE_LIFETIME_MS + 1, 4)).toEqual({ ok: false, why: 'challenge' });
  });

  it('spends the challenge even when the grant is used up, and records no use', () => {
    const replay = replayStore(store);
    const first = replay.issueChallenge(NOW);
    expect(replay.consume(request(first))).toEqual({ ok: true, uses: 1 });
    const second = replay.issueChallenge(NOW);
    expect(replay.consume(request(second))).toEqual({ ok: false, why: 'used-up' });
    expect(replay.challengeState(second, NOW)).toBe('used');
    expect(replay.usesOf('cloud-1', new Uint8Array(16).fill(1))).toBe(1);
  });

  it('raises the floor with a use only when asked, and only upwards', () => {
    const replay = replayStore(store);
    const floor = clockFloor(store);
    replay.consume(request(replay.issueChallenge(NOW), { grantId: new Uint8Array(16).fill(7) }));
    expect(floor.source()).toBe('none');
    replay.consume(request(replay.issueChallenge(NOW), { grantId: new Uint8Array(16).fill(8), raiseFloorTo: NOW - 10 }));
    replay.consume(request(replay.issueChallenge(NOW), { grantId: new Uint8Array(16).fill(9), raiseFloorTo: NOW - 20 }));
    expect({ ms: floor.floorMs(), source: floor.source() }).toEqual({ ms: NOW - 10, source: 'grant' });
  });

  it('counts uses up to the grant’s limit and records when it was first and last used', () => {
    const replay = replayStore(store);
    const use = (now: number) => replay.consume(request(replay.issueChallenge(now), { maxUses: 2, now }));
    expect([use(NOW), use(NOW + 5), use(NOW + 9)]).toEqual([{ ok: true, uses: 1 }, { ok: true, uses: 2 }, { ok: false, why: 'used-up' }]);
    expect(store.db.prepare('SELECT kid, uses, max_uses AS maxUses, not_after_ms AS notAfter, first_used_ms AS first, last_used_ms AS last FROM consumed_grants').all()).toEqual([
      { kid: 'cloud-1', uses: 2, maxUses: 2, notAfter: NOW + 60_000, first: NOW, last: NOW + 5 },
    ]);
  });
});
