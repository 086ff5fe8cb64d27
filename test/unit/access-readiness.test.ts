import { afterEach, describe, expect, it } from 'vitest';
import { accessReadiness } from '../../hub/access/readiness.js';
import { openStore, type Store } from '../../hub/store/store.js';
import { ErrorCode } from '../../hub/system/errors.js';
import { signRevocations } from '../../protocols/grant/issuer.js';
import { NOW, makeWorld } from '../support/grant-fixture.js';
import { FRESH_HUB_READINESS } from '../support/fresh-hub.js';
import { silentLog } from '../support/silent-log.js';

const SKEW = 300_000;
const open: Array<{ close(): void }> = [];
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});

describe('accessReadiness (what `keyhub status` says about deciding)', () => {
  it('on a fresh store: no floor, a trusted clock, and not ready for want of a root and a keyring', async () => {
    const store: Store = await openStore({ path: ':memory:', busyTimeoutMs: 1000, log: silentLog() });
    open.push(store);
    expect(accessReadiness(store, NOW, SKEW)).toEqual(FRESH_HUB_READINESS);
  });

  it('with a pinned root, a keyring and revocations installed and the clock at the floor: ready, showing the versions and the root', async () => {
    const world = await makeWorld();
    open.push(world);
    world.trust.installRevocations(signRevocations({ version: 3, issuedAt: NOW, grantIds: [], kids: [] }, world.root));
    world.floor.raise(NOW, 'signed-time');
    expect(accessReadiness(world.store, NOW - SKEW, SKEW)).toEqual({
      canDecide: true,
      clockTrusted: true,
      clockFloor: new Date(NOW).toISOString(),
      clockFloorSource: 'signed-time',
      rootPinned: true,
      rootKey: Buffer.from(world.root.publicKey).toString('hex'),
      keyringVersion: 1,
      revocationsVersion: 3,
      problems: [],
    });
  });

  it('says CLOCK_UNTRUSTED, and why, when the wall clock is behind the floor by more than the skew', async () => {
    const world = await makeWorld();
    open.push(world);
    world.floor.raise(NOW, 'shutdown');
    const r = accessReadiness(world.store, NOW - SKEW - 1, SKEW);
    expect(r).toMatchObject({ canDecide: false, clockTrusted: false, clockFloorSource: 'shutdown' });
    expect(r.problems).toEqual([
      {
        code: ErrorCode.CLOCK_UNTRUSTED,
        codeName: 'CLOCK_UNTRUSTED',
        reason: `wall clock ${new Date(NOW - SKEW - 1).toISOString()} is behind the clock floor ${new Date(NOW).toISOString()} by more than 300 s: no unlock until a signed time arrives or the clock catches up`,
      },
    ]);
  });
});
