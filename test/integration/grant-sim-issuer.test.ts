import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { authorize } from '../../hub/access/authorize.js';
import { HubClock } from '../../hub/access/hub-clock.js';
import { PublicKeyCache } from '../../hub/access/key-cache.js';
import { LocalTimes } from '../../hub/access/local-time.js';
import { acceptSignedTime } from '../../hub/access/signed-time.js';
import { TrustState } from '../../hub/access/trust.js';
import { clockFloor } from '../../hub/store/clock-floor.js';
import { hubId } from '../../hub/store/daemon-runs.js';
import { replayStore } from '../../hub/store/replay-store.js';
import { openStore, type Store } from '../../hub/store/store.js';
import { trustStore } from '../../hub/store/trust-store.js';
import { ErrorCode } from '../../hub/system/errors.js';
import { FakeClock } from '../../hub/system/fake-clock.js';
import { signPresentation, signReceipt, verifyReceipt } from '../../protocols/grant/handheld.js';
import { SimIssuer } from '../../sim/cloud/issuer.js';
import { HOUR, HUB_ID, LOCK_ID, NOW, bleContext, seededKey } from '../support/grant-fixture.js';
import { silentLog } from '../support/silent-log.js';

let store: Store;
beforeEach(async () => {
  store = await openStore({ path: ':memory:', busyTimeoutMs: 1000, log: silentLog() });
});
afterEach(() => store.close());

describe('the simulated cloud issues what the hub accepts', () => {
  it('pins its root, installs its keyring, lets its courier in once, and the courier checks the receipt', () => {
    const cloud = new SimIssuer({ now: NOW });
    const held = trustStore(store);
    held.pinRoot(cloud.rootPublicKey);
    const trust = new TrustState(held);
    expect(trust.installKeyring(cloud.keyring())).toBe(1);
    const floor = clockFloor(store);
    const hubClock = new HubClock({ clock: new FakeClock({ wallMs: NOW }), floor, skewMs: 300_000 });
    const stores = { trust, replay: replayStore(store), floor: hubClock, localTimes: new LocalTimes(), subjectKeys: new PublicKeyCache() };

    const courier = seededKey(3);
    const { grant, signed } = cloud.deliveryGrant({
      hubId: HUB_ID, lockId: LOCK_ID, courierId: 'courier-7', courierKey: courier.publicKey, orderId: 'o-9',
      packageIds: ['p-1'], addressDigest: new Uint8Array(32), notBefore: NOW - HOUR, notAfter: NOW + HOUR,
    });
    const presentation = () =>
      signPresentation({ grantId: grant.id, challenge: stores.replay.issueChallenge(NOW), transport: 'ble', time: NOW, packages: ['p-1'] }, courier);
    expect(authorize(signed, presentation(), bleContext(), stores).allow).toBe(true);
    expect(authorize(signed, presentation(), bleContext(), stores)).toMatchObject({ allow: false, code: ErrorCode.GRANT_USED_UP });

    const hubKey = seededKey(9);
    const receipt = signReceipt(
      { hubId: HUB_ID, grantId: grant.id, visitId: new Uint8Array(16).fill(1), openedAt: NOW, decidedAt: NOW + 30_000, outcome: 'locked', relockedAt: NOW + 30_000, bolt: 'locked', door: 'closed', auditSeq: 12 },
      hubKey,
    );
    expect(verifyReceipt(receipt, hubKey.publicKey, { hubId: HUB_ID, grantId: grant.id }).ok).toBe(true);

    trust.installRevocations(cloud.revoke({ kid: cloud.kid }));
    expect(trust.isIssuerRevoked(cloud.kid)).toBe(true);
  });

  it('signs recurring guest grants and times the hub accepts', () => {
    const cloud = new SimIssuer({ now: NOW, rootSeed: new Uint8Array(32).fill(1) });
    const held = trustStore(store);
    held.pinRoot(cloud.rootPublicKey);
    const trust = new TrustState(held);
    trust.installKeyring(cloud.keyring());
    trust.installKeyring(cloud.keyring()); // the next one is a newer version
    const floor = clockFloor(store);
    const hubClock = new HubClock({ clock: new FakeClock({ wallMs: NOW }), floor, skewMs: 300_000 });
    expect(acceptSignedTime(cloud.time(NOW + 5), { trust, clock: hubClock, floor, store, hubId: hubId(store) })).toBe(NOW + 5);
    expect(floor.floorMs()).toBe(NOW + 5);
    const guest = cloud.guestGrant({ hubId: HUB_ID, lockId: LOCK_ID, guestId: 'g', guestKey: seededKey(5).publicKey, notBefore: NOW, notAfter: NOW + HOUR, uses: 3, weekly: [{ day: 3, startMin: 0, endMin: 1440 }], tz: 'Europe/Berlin' });
    expect(guest.grant.recurring?.tz).toBe('Europe/Berlin');
    expect(trust.status().keyringVersion).toBe(2);
  });
});
