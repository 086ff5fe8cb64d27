/**
 * Faults between the hub and a Z-Wave lock: a lock that stops answering, a bolt that never gets
 * there (command timeout on the fake clock), the stick's connection dropping, the stick vanishing
 * and coming back.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { LockEvent } from '../../hub/lock/lock.js';
import { ErrorCode, isHubError } from '../../hub/system/errors.js';
import { FakeClock } from '../../hub/system/fake-clock.js';
import type { KwiksetLock } from '../../sim/lock/zwave/kwikset-lock.js';
import { eventually, startRig, type Rig } from '../support/zwave-lock-rig.js';

const codeOf = (err: unknown): number | undefined => (isHubError(err) ? err.code : undefined);
const kinds = (events: LockEvent[]): string[] => events.map((e) => e.kind);

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

describe('Z-Wave lock faults', () => {
  it('a lock that stops answering: the command fails as unreachable and the state reads unknown, until it is back', async () => {
    rig = await startRig({ driver: { commandTimeoutMs: 20_000 } });
    const sim = rig.sim as KwiksetLock;
    sim.dead = true;
    // The stick reports the missing ACKs (zwave-js: "presumed dead") before the command timeout.
    const err = await rig.lock.unlock().catch((e: unknown) => e);
    expect(codeOf(err)).toBe(ErrorCode.LOCK_UNREACHABLE);
    expect(sim.bolt).toBe('locked');
    expect(rig.lock.state().bolt).toBe('unknown');
    await eventually(() => kinds(rig!.events).includes('connection-lost'), 10_000);
    expect(rig.lock.state().connected).toBe(false);
    // It comes back: the next command reaches it, and the hub says so.
    sim.dead = false;
    await rig.lock.lock();
    expect(rig.lock.state()).toMatchObject({ bolt: 'locked', connected: true });
    expect(kinds(rig.events)).toContain('connection-restored');
  });

  it('times out on the fake clock when the bolt never reaches its place, and forgets the bolt', async () => {
    const clock = new FakeClock();
    rig = await startRig({ driver: { clock, commandTimeoutMs: 8000, pollMs: 100_000 } });
    const sim = rig.sim as KwiksetLock;
    // The motor turns (the lock answers every Get with "still locked") but never arrives.
    sim.motorMs = 1e9;
    const outcome = rig.lock.unlock().catch((e: unknown) => e);
    await eventually(() => sim.received.includes('DoorLockCCOperationSet'));
    // No report comes: after its grace period the hub asks, and hears "still locked".
    await clock.advance(1000);
    await eventually(() => sim.received.includes('DoorLockCCOperationGet'));
    await clock.advance(6999);
    expect(rig.lock.state().bolt).toBe('locked');
    await clock.advance(1);
    expect(codeOf(await outcome)).toBe(ErrorCode.LOCK_TIMEOUT);
    expect(rig.lock.state().bolt).toBe('unknown');
  });

  it('leaves the codes already in the lock alone when it first interviews it (the owner’s own codes survive)', async () => {
    rig = await startRig({ start: false });
    const sim = rig.sim as KwiksetLock;
    sim.keypad.preset(3, '246813');
    await rig.lock.start(new AbortController().signal);
    expect(sim.keypad.log.filter((c) => c.action === 'clear')).toEqual([]);
    expect(sim.codeIn(3)).toBe('246813');
    expect((await rig.lock.codes()).find((s) => s.slot === 3)).toEqual({ slot: 3, inUse: true, code: '246813' });
  });

  it('writes no keypad code into zwave-js’s cache on disk (only the hub’s store keeps PINs)', async () => {
    rig = await startRig();
    (rig.sim as KwiksetLock).keypad.preset(4, '13572468');
    await rig.lock.setCode(12, '98765432');
    expect((await rig.lock.codes()).filter((s) => s.inUse).map((s) => s.code)).toEqual(['13572468', '98765432']);
    await rig.lock.stop();
    const files = readdirSync(rig.cacheDir).map((f) => readFileSync(join(rig!.cacheDir, f), 'utf8'));
    expect(files.length).toBeGreaterThan(0);
    for (const text of files) {
      expect(text).not.toContain('98765432');
      expect(text).not.toContain('13572468');
    }
  });

  it('a keypad code that times out is not in the error: the message names the slot only', async () => {
    const clock = new FakeClock();
    rig = await startRig({ driver: { clock, commandTimeoutMs: 8000 } });
    const sim = rig.sim as KwiksetLock;
    sim.silent = true;
    const outcome = rig.lock.setCode(14, '90817263').catch((e: unknown) => e);
    await eventually(() => sim.received.includes('UserCodeCCSet'));
    await clock.advance(8000);
    const err = await outcome;
    expect(codeOf(err)).toBe(ErrorCode.LOCK_TIMEOUT);
    expect((err as Error).message).toContain('setCode:14');
    expect((err as Error).message).not.toContain('90817263');
    sim.silent = false;
  });

  it('keeps a quiet lock from reading unknown: it asks the lock before the state max age runs out', async () => {
    const clock = new FakeClock();
    rig = await startRig({ driver: { clock, stateMaxAgeMs: 60_000 } });
    const sim = rig.sim as KwiksetLock;
    expect(rig.lock.state().bolt).toBe('locked');
    const before = rig.lock.state().updatedAtMs;
    sim.received.length = 0;
    await clock.advance(30_000);
    await eventually(() => sim.received.includes('DoorLockCCOperationGet') && rig!.lock.state().updatedAtMs !== before);
    // 60 s after start, but only 30 s after the refresh: still a fresh `locked`.
    await clock.advance(30_001);
    expect(rig.lock.state().bolt).toBe('locked');
    // And without answers, it ages out as it must.
    sim.silent = true;
    await clock.advance(60_001);
    expect(rig.lock.state().bolt).toBe('unknown');
  });

  it('rides out a dropped serial connection: zwave-js reopens the port and commands work again', async () => {
    rig = await startRig();
    rig.stick.dropConnection();
    await eventually(() => rig!.stick.connected, 10_000);
    await rig.lock.unlock();
    await rig.lock.lock();
    expect(rig.lock.state().bolt).toBe('locked');
  });

  it('when the stick goes away: connection lost, unknown state, commands refused; when it is back: restored', async () => {
    rig = await startRig({ driver: { reconnectMinMs: 200, reconnectMaxMs: 400, serialOpenAttempts: 1 } });
    await rig.stick.unplug();
    await eventually(() => kinds(rig!.events).includes('connection-lost'), 15_000);
    expect(rig.lock.state()).toMatchObject({ bolt: 'unknown', connected: false });
    expect(codeOf(await rig.lock.unlock().catch((e: unknown) => e))).toBe(ErrorCode.LOCK_UNREACHABLE);
    await rig.stick.plugIn();
    await eventually(() => kinds(rig!.events).includes('connection-restored'), 20_000);
    await rig.lock.unlock();
    expect(rig.lock.state().bolt).toBe('unlocked');
    // And once stopped, the driver refuses rather than queueing.
    await rig.lock.stop();
    expect(codeOf(await rig.lock.unlock().catch((e: unknown) => e))).toBe(ErrorCode.LOCK_DRIVER_STOPPED);
  });

  it('starts without its stick (the daemon must come up) and connects once the stick appears', async () => {
    rig = await startRig({ start: false, driver: { reconnectMinMs: 200, reconnectMaxMs: 400, serialOpenAttempts: 1 } });
    await rig.stick.unplug();
    await rig.lock.start(new AbortController().signal);
    expect(rig.lock.state().connected).toBe(false);
    expect(codeOf(await rig.lock.lock().catch((e: unknown) => e))).toBe(ErrorCode.LOCK_UNREACHABLE);
    await rig.stick.plugIn();
    await eventually(() => rig!.lock.state().connected, 20_000);
    await rig.lock.lock();
  });

});
