/**
 * The clock floor cannot be poisoned (README, "Security model: the clock floor"): no single message
 * an issuer signs moves the floor past what the hub's own clock justifies, and a root-signed time
 * gets a floor that is ahead of the truth back, on the audit log. Through the access module, as
 * the daemon runs it: its own store connection, a fake clock, restarts.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { accessRoom, type AccessService } from '../../hub/access/module.js';
import type { AuditLog } from '../../hub/store/audit-log.js';
import { hubId } from '../../hub/store/daemon-runs.js';
import { openStore, type Store } from '../../hub/store/store.js';
import { ErrorCode, isHubError } from '../../hub/system/errors.js';
import { FakeClock } from '../../hub/system/fake-clock.js';
import type { Grant } from '../../protocols/grant/grant.js';
import { signPresentation } from '../../protocols/grant/handheld.js';
import { makeIssuerCertificate, signGrant, signKeyring, signRootTime, signTime } from '../../protocols/grant/issuer.js';
import { auditLogOn } from '../support/audit-store.js';
import { HOUR, HUB_ID, LOCK_ID, NOW, POLICY, deliveryGrant, makeWorld, seededKey, type World } from '../support/grant-fixture.js';
import { silentLog } from '../support/silent-log.js';
import { tempDir } from '../support/temp-dir.js';

const DAY = 24 * HOUR;
const SKEW = POLICY.clockSkewMs;
/** An issuer whose clock runs 74 years fast. */
const Y2100 = Date.UTC(2100, 0, 1);
const carrierKey = seededKey(21);

let dir: ReturnType<typeof tempDir>;
let path: string;
let world: World;
beforeEach(async () => {
  dir = tempDir('keyhub-poison-');
  path = join(dir.path, 'keyhub.db');
  world = await makeWorld(path);
  // A carrier certified for deliveries only, with a certificate long enough to reach its bad clock.
  const all = makeIssuerCertificate({ kid: 'cloud-1', key: world.issuer, notBefore: NOW - DAY, notAfter: NOW + 365 * DAY, kinds: ['delivery', 'guest', 'service', 'owner'] });
  const carrier = makeIssuerCertificate({ kid: 'carrier-1', key: carrierKey, notBefore: NOW - DAY, notAfter: Y2100 + DAY, kinds: ['delivery'] });
  world.trust.installKeyring(signKeyring({ version: 2, issuedAt: NOW, issuers: [all.certificate, carrier.certificate] }, world.root));
});
afterEach(() => {
  world.close();
  dir.cleanup();
});

interface Run {
  access: { service(): AccessService };
  store: Store;
  audit: AuditLog;
  stop(): void;
}

async function boot(clock: FakeClock): Promise<Run> {
  const store = await openStore({ path, busyTimeoutMs: 5000, log: silentLog() });
  const audit = auditLogOn(store, clock);
  const room = accessRoom({ store, clock, log: silentLog(), policy: POLICY, audit });
  await room.module.start(new AbortController().signal);
  return {
    access: { service: () => room.service },
    store,
    audit,
    stop() {
      room.module.stop();
      store.close();
    },
  };
}

/** One presentation of `grant` over a fresh challenge; `presenter` signs it (the courier by default). */
function present(run: Run, grant: Grant, signer = world.issuer, presenter = world.courier) {
  const challenge = run.access.service().issueChallenge();
  const packages = grant.kind === 'delivery' ? ['pkg-1'] : [];
  const presentation = signPresentation({ grantId: grant.id, challenge, transport: 'ble', time: NOW, packages }, presenter);
  const d = run.access.service().authorize(signGrant(grant, signer), presentation, { hubId: HUB_ID, lockId: LOCK_ID, transport: 'ble', rssiDbm: -40, deliveriesPaused: false, cameraHealthy: true });
  return d.allow ? 'allow' : d.code;
}

/** The homeowner at the door: an owner grant valid around `at`. */
const ownerGrant = (at: number): Grant => deliveryGrant(world, { kind: 'owner', delivery: undefined, uses: 10, notBefore: at - HOUR, notAfter: at + HOUR, issuedAt: at - HOUR });

function refusal(fn: () => unknown): ErrorCode | 'ok' {
  try {
    fn();
    return 'ok';
  } catch (err) {
    if (isHubError(err)) return err.code;
    throw err;
  }
}

describe('a poisoned grant', () => {
  it('issued in 2100 with a garbage presentation signature moves nothing: owner access goes on, also after a restart', async () => {
    const clock = new FakeClock({ wallMs: NOW });
    const run = await boot(clock);
    const poisoned = deliveryGrant(world, { kid: 'carrier-1', issuedAt: Y2100, notBefore: NOW - HOUR, notAfter: Y2100 + HOUR });
    expect(present(run, poisoned, carrierKey, seededKey(77))).toBe(ErrorCode.CLOCK_UNTRUSTED);
    expect(run.access.service().status()).toMatchObject({ clockTrusted: true, clockFloorMs: 0 });
    expect(present(run, ownerGrant(NOW))).toBe('allow');
    run.stop();
    const next = await boot(new FakeClock({ wallMs: NOW + 60_000 }));
    expect(next.access.service().status().clockTrusted).toBe(true);
    expect(present(next, ownerGrant(NOW + 60_000))).toBe('allow');
    next.stop();
  });

  it('issued in 2100 and well presented is refused, and moves nothing either', async () => {
    const run = await boot(new FakeClock({ wallMs: NOW }));
    const future = deliveryGrant(world, { kid: 'carrier-1', issuedAt: Y2100, notBefore: NOW - HOUR, notAfter: Y2100 + HOUR });
    expect(present(run, future, carrierKey)).toBe(ErrorCode.CLOCK_UNTRUSTED);
    expect(run.access.service().status().clockFloorMs).toBe(0);
    run.stop();
  });

  it('raises the floor when allowed, to its issue time, and never past the hub’s own clock plus the skew', async () => {
    const clock = new FakeClock({ wallMs: NOW });
    const run = await boot(clock);
    expect(present(run, deliveryGrant(world, { issuedAt: NOW - 60_000 }))).toBe('allow');
    expect(run.access.service().status()).toMatchObject({ clockFloorMs: NOW - 60_000, clockFloorSource: 'grant' });
    // The wall clock steps a day ahead while running: decisions follow it, the floor does not.
    clock.setWall(NOW + DAY);
    expect(present(run, deliveryGrant(world, { issuedAt: NOW + DAY, notBefore: NOW + DAY - HOUR, notAfter: NOW + DAY + HOUR }))).toBe('allow');
    expect(run.access.service().status().clockFloorMs).toBe(NOW + SKEW);
    run.stop();
  });
});

describe('a poisoned signed time', () => {
  it('from a delivery-only issuer’s clock in 2100 lifts the floor no further than the hub’s clock plus the skew', async () => {
    const clock = new FakeClock({ wallMs: NOW });
    const run = await boot(clock);
    expect(run.access.service().acceptSignedTime(signTime({ kid: 'carrier-1', time: Y2100 }, carrierKey))).toBe(Y2100);
    expect(run.access.service().status()).toMatchObject({ clockTrusted: true, clockFloorMs: NOW + SKEW, clockFloorSource: 'signed-time' });
    expect(present(run, ownerGrant(NOW))).toBe('allow');
    // Sent again and again it goes no further: the ceiling follows the hub's own clock.
    await clock.advance(60_000);
    run.access.service().acceptSignedTime(signTime({ kid: 'carrier-1', time: Y2100 }, carrierKey));
    expect(run.access.service().status().clockFloorMs).toBe(NOW + 60_000 + SKEW);
    run.stop();
    const next = await boot(new FakeClock({ wallMs: NOW + 2 * 60_000 }));
    expect(next.access.service().status().clockTrusted).toBe(true);
    expect(present(next, ownerGrant(NOW + 2 * 60_000))).toBe('allow');
    next.stop();
  });

  it('on a hub whose RTC was reset, lets the bad issuer’s own 2100 grant in, yet the floor stays where the hub can vouch for it', async () => {
    const clock = new FakeClock({ wallMs: NOW });
    (await boot(clock)).stop(); // floor: NOW
    clock.setWall(Date.UTC(2000, 0, 1)); // the RTC lost power
    const run = await boot(clock);
    expect(run.access.service().status().clockTrusted).toBe(false);
    run.access.service().acceptSignedTime(signTime({ kid: 'carrier-1', time: Y2100 }, carrierKey));
    // Decisions now run on the issuer's word (nothing better is at hand): its 2100 grant is allowed.
    const bad = deliveryGrant(world, { kid: 'carrier-1', issuedAt: Y2100, notBefore: Y2100 - HOUR, notAfter: Y2100 + HOUR });
    expect(present(run, bad, carrierKey)).toBe('allow');
    expect(run.access.service().status().clockFloorMs).toBe(NOW + SKEW);
    // A true time from the other issuer takes over the decisions again.
    await clock.advance(1000);
    run.access.service().acceptSignedTime(signTime({ kid: 'cloud-1', time: NOW + HOUR }, world.issuer));
    expect(present(run, ownerGrant(NOW + HOUR))).toBe('allow');
    run.stop();
    const repaired = new FakeClock({ wallMs: NOW + 2 * HOUR });
    const next = await boot(repaired);
    expect(next.access.service().status()).toMatchObject({ clockTrusted: true, clockFloorMs: NOW + 1000 + SKEW });
    next.stop();
  });
});

describe('recovery: a root-signed time re-anchors a floor ahead of the truth', () => {
  /** A hub whose floor an older keyhub let a poisoned grant push to 2100. */
  async function poisonedHub(clock: FakeClock): Promise<Run> {
    world.floor.raise(Y2100, 'grant');
    const run = await boot(clock);
    expect(run.access.service().status()).toMatchObject({ clockTrusted: false, clockFloorMs: Y2100 });
    expect(present(run, ownerGrant(NOW))).toBe(ErrorCode.CLOCK_UNTRUSTED);
    return run;
  }

  it('sets the floor down to the root’s time, decides again, and puts the move on the audit log', async () => {
    const clock = new FakeClock({ wallMs: NOW });
    const run = await poisonedHub(clock);
    // An issuer's word cannot lower it.
    run.access.service().acceptSignedTime(signTime({ kid: 'cloud-1', time: NOW }, world.issuer));
    expect(run.access.service().status().clockFloorMs).toBe(Y2100);
    const id = hubId(run.store);
    expect(run.access.service().acceptSignedTime(signRootTime({ version: 1, hubId: id, time: NOW }, world.root))).toBe(NOW);
    expect(run.access.service().status()).toMatchObject({ clockTrusted: true, clockFloorMs: NOW, clockFloorSource: 'root-time' });
    expect(present(run, ownerGrant(NOW))).toBe('allow');
    const last = run.audit.read(run.audit.head().seq, 1)[0]?.event;
    expect(last).toEqual({ type: 'clock.floor', body: { fromMs: Y2100, toMs: NOW, source: 'signed-time' } });
    run.stop();
    const next = await boot(new FakeClock({ wallMs: NOW + 60_000 }));
    expect(next.access.service().status()).toMatchObject({ clockTrusted: true, clockFloorMs: NOW });
    next.stop();
  });

  it('counts on from the root’s time with the monotonic clock while the RTC stays wrong, and persists that at a clean stop', async () => {
    const clock = new FakeClock({ wallMs: Date.UTC(2000, 0, 1) });
    const run = await poisonedHub(clock);
    run.access.service().acceptSignedTime(signRootTime({ version: 1, hubId: hubId(run.store), time: NOW }, world.root));
    await clock.advance(30_000);
    expect(present(run, ownerGrant(NOW + 30_000))).toBe('allow');
    run.stop();
    const next = await boot(new FakeClock({ wallMs: NOW + HOUR }));
    expect(next.access.service().status()).toMatchObject({ clockTrusted: true, clockFloorMs: NOW + 30_000, clockFloorSource: 'shutdown' });
    next.stop();
  });

  it('takes each root time once: the same one again, an older version, another hub’s, or one an issuer signed are refused', async () => {
    const clock = new FakeClock({ wallMs: NOW });
    const run = await poisonedHub(clock);
    const id = hubId(run.store);
    const first = signRootTime({ version: 5, hubId: id, time: NOW }, world.root);
    run.access.service().acceptSignedTime(first);
    world.floor.raise(Y2100, 'grant'); // poisoned again
    expect(refusal(() => run.access.service().acceptSignedTime(first))).toBe(ErrorCode.TRUST_UPDATE_INVALID);
    expect(refusal(() => run.access.service().acceptSignedTime(signRootTime({ version: 4, hubId: id, time: NOW }, world.root)))).toBe(ErrorCode.TRUST_UPDATE_INVALID);
    expect(refusal(() => run.access.service().acceptSignedTime(signRootTime({ version: 6, hubId: 'kh-ffffffffffffffff', time: NOW }, world.root)))).toBe(ErrorCode.TRUST_UPDATE_INVALID);
    expect(refusal(() => run.access.service().acceptSignedTime(signRootTime({ version: 7, hubId: id, time: NOW }, world.issuer)))).toBe(ErrorCode.TRUST_UPDATE_INVALID);
    expect(run.access.service().status().clockFloorMs).toBe(Y2100);
    // The held version survives a restart.
    run.stop();
    const next = await boot(clock);
    expect(refusal(() => next.access.service().acceptSignedTime(first))).toBe(ErrorCode.TRUST_UPDATE_INVALID);
    expect(next.access.service().acceptSignedTime(signRootTime({ version: 6, hubId: id, time: NOW }, world.root))).toBe(NOW);
    next.stop();
  });

  it('commits nothing when the audit write fails: floor, version and memory stay as they were', async () => {
    const clock = new FakeClock({ wallMs: NOW });
    const run = await poisonedHub(clock);
    const failing = accessRoom({
      store: run.store,
      clock,
      log: silentLog(),
      policy: POLICY,
      audit: {
        append: () => {
          throw new Error('disk full');
        },
      },
    });
    await failing.module.start(new AbortController().signal);
    const id = hubId(run.store);
    expect(() => failing.service.acceptSignedTime(signRootTime({ version: 1, hubId: id, time: NOW }, world.root))).toThrow('disk full');
    expect(failing.service.status()).toMatchObject({ clockTrusted: false, clockFloorMs: Y2100 });
    expect(run.access.service().acceptSignedTime(signRootTime({ version: 1, hubId: id, time: NOW }, world.root))).toBe(NOW);
    run.stop();
  });
});
