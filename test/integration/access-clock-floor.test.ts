import { Writable } from 'node:stream';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { accessRoom, type AccessService } from '../../hub/access/module.js';
import type { Module } from '../../hub/system/lifecycle.js';
import { openStore, type Store } from '../../hub/store/store.js';
import { ErrorCode } from '../../hub/system/errors.js';
import { FakeClock } from '../../hub/system/fake-clock.js';
import { signPresentation } from '../../protocols/grant/handheld.js';
import { signGrant, signTime } from '../../protocols/grant/issuer.js';
import { HOUR, HUB_ID, LOCK_ID, NOW, POLICY, deliveryGrant, makeWorld } from '../support/grant-fixture.js';
import { silentLog } from '../support/silent-log.js';
import { tempDir } from '../support/temp-dir.js';

const DAY = 24 * HOUR;
let dir: ReturnType<typeof tempDir>;
let path: string;
beforeEach(async () => {
  dir = tempDir();
  path = join(dir.path, 'keyhub.db');
  (await makeWorld(path)).close(); // root pinned, keyring installed
});
afterEach(() => dir.cleanup());

/** A hub run: its own store connection, clock and access module, logs kept as JSON lines. */
async function boot(clock: FakeClock): Promise<{ access: { module: Module; service: AccessService }; store: Store; logs: Array<{ msg: string; code?: string }>; stop(): void }> {
  const store = await openStore({ path, busyTimeoutMs: 5000, log: silentLog() });
  const logs: Array<{ msg: string; code?: string }> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(JSON.parse(chunk.toString()) as { msg: string });
      done();
    },
  });
  const access = accessRoom({ store, clock, log: pino({ level: 'info' }, sink), policy: POLICY });
  await access.module.start(new AbortController().signal);
  return {
    access,
    store,
    logs,
    stop() {
      void access.module.stop();
      store.close();
    },
  };
}

async function tryDelivery(run: Awaited<ReturnType<typeof boot>>, at: number) {
  const world = await makeWorld(path);
  const grant = deliveryGrant(world, { notBefore: at - HOUR, notAfter: at + HOUR, issuedAt: at - HOUR });
  const challenge = run.access.service.issueChallenge();
  const presentation = signPresentation({ grantId: grant.id, challenge, transport: 'ble', time: at, packages: ['pkg-1'] }, world.courier);
  const decision = run.access.service.authorize(signGrant(grant, world.issuer), presentation, {
    hubId: HUB_ID,
    lockId: LOCK_ID,
    transport: 'ble',
    rssiDbm: -40,
    deliveriesPaused: false,
    cameraHealthy: true,
  });
  world.close();
  return decision.allow ? 'allow' : decision.code;
}

describe('clock floor across restarts', () => {
  it('persists the hub’s clock at a clean shutdown and refuses to decide after a restart with the clock set back', async () => {
    const clock = new FakeClock({ wallMs: NOW });
    const first = await boot(clock);
    await clock.advance(HOUR);
    first.stop();

    clock.setWall(NOW - 30 * DAY); // the RTC lost power
    const second = await boot(clock);
    const status = second.access.service.status();
    expect(status).toMatchObject({ clockTrusted: false, clockFloorMs: NOW + HOUR, clockFloorSource: 'shutdown' });
    expect(second.logs.some((l) => l.code === 'CLOCK_UNTRUSTED' && /behind the clock floor/.test(l.msg))).toBe(true);
    expect(await tryDelivery(second, NOW - 30 * DAY)).toBe(ErrorCode.CLOCK_UNTRUSTED);
    second.stop();
  });

  it('decides again once a signed time arrives, counting on from it with the monotonic clock', async () => {
    const clock = new FakeClock({ wallMs: NOW });
    (await boot(clock)).stop();
    clock.setWall(NOW - 30 * DAY);
    const run = await boot(clock);
    const world = await makeWorld(path);
    run.access.service.acceptSignedTime(signTime({ kid: 'cloud-1', time: NOW + 60_000 }, world.issuer));
    world.close();
    await clock.advance(10_000);
    expect(run.access.service.status().clockTrusted).toBe(true);
    expect(await tryDelivery(run, NOW + 70_000)).toBe('allow');
    run.stop();
  });

  it('decides again once the wall clock catches up with the floor', async () => {
    const clock = new FakeClock({ wallMs: NOW });
    (await boot(clock)).stop();
    clock.setWall(NOW - DAY);
    const run = await boot(clock);
    expect(await tryDelivery(run, NOW - DAY)).toBe(ErrorCode.CLOCK_UNTRUSTED);
    clock.setWall(NOW + 1000);
    expect(run.access.service.status().clockTrusted).toBe(true);
    expect(await tryDelivery(run, NOW + 1000)).toBe('allow');
    run.stop();
  });

  it('raises the floor to a verified grant’s issue time when it is used', async () => {
    const clock = new FakeClock({ wallMs: NOW });
    const run = await boot(clock);
    expect(await tryDelivery(run, NOW)).toBe('allow');
    expect(run.access.service.status()).toMatchObject({ clockFloorMs: NOW - HOUR, clockFloorSource: 'grant' });
    run.stop();
  });

  it('does not let a wall clock stepped far ahead while running push the floor into the future at shutdown', async () => {
    const clock = new FakeClock({ wallMs: NOW });
    const run = await boot(clock);
    await clock.advance(60_000);
    clock.setWall(NOW + 365 * DAY); // a bad NTP step
    run.stop();
    const next = await boot(new FakeClock({ wallMs: NOW + 2 * 60_000 }));
    expect(next.access.service.status()).toMatchObject({ clockTrusted: true, clockFloorMs: NOW + 60_000 });
    next.stop();
  });

  it('keeps whole milliseconds when the monotonic clock is fractional, as performance.now() is', async () => {
    const clock = new FakeClock({ wallMs: NOW, monotonicMs: 1000.25 });
    (await boot(clock)).stop();
    clock.setWall(NOW - DAY);
    const run = await boot(clock);
    const world = await makeWorld(path);
    run.access.service.acceptSignedTime(signTime({ kid: 'cloud-1', time: NOW + 60_000 }, world.issuer));
    expect(run.access.service.trust().status().issuers).toEqual(['cloud-1']);
    world.close();
    await clock.advance(100_000.5);
    expect(await tryDelivery(run, NOW + 160_000)).toBe('allow');
    run.stop();
    // The stop persists the hub's own time: the floor it started from plus the monotonic time since,
    // in whole ms. The issuer's time ran decisions but is not the hub's own (README, the clock floor).
    const after = await boot(new FakeClock({ wallMs: NOW + HOUR }));
    expect(after.access.service.status()).toMatchObject({ clockFloorMs: NOW + 100_000, clockFloorSource: 'shutdown' });
    after.stop();
  });

  it('answers from the held trust material as soon as it is made, and a stop without a start leaves the clock floor alone', async () => {
    const store = await openStore({ path, busyTimeoutMs: 5000, log: silentLog() });
    try {
      const access = accessRoom({ store, clock: new FakeClock({ wallMs: NOW + DAY }), log: silentLog() });
      expect(access.service.status()).toMatchObject({ rootPinned: true, keyringVersion: 1, clockFloorSource: 'none' });
      await access.module.stop();
      expect(access.service.status()).toMatchObject({ clockFloorSource: 'none' });
    } finally {
      store.close();
    }
  });
});
