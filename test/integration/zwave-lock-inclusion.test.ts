/**
 * Including a lock with S2 Access Control through the mock controller (the mock node runs the real
 * S2 bootstrapping: KEX, ECDH public keys, key exchange), then driving it over S2, and excluding it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, isHubError } from '../../hub/system/errors.js';
import { systemClock } from '../../hub/system/clock.js';
import { KwiksetLock } from '../../sim/lock/zwave/kwikset-lock.js';
import { eventually, startRig, type Rig } from '../support/zwave-lock-rig.js';

const codeOf = (err: unknown): number | undefined => (isHubError(err) ? err.code : undefined);

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

describe('Z-Wave lock inclusion with S2', () => {
  it('includes a lock with S2 Access Control after the installer confirms the DSK with its PIN, then drives it over S2 with Supervision', async () => {
    rig = await startRig({ sim: false });
    expect(codeOf(await rig.lock.unlock().catch((e: unknown) => e))).toBe(ErrorCode.LOCK_NOT_PAIRED);
    const joining = KwiksetLock.pendingInclusion(rig.stick, { secure: true, nodeId: 3, clock: systemClock() });
    const shown: string[] = [];
    const including = rig.lock.include({
      validateDsk: async (dsk) => {
        shown.push(dsk);
        return (await joining).pin;
      },
    });
    const sim = await joining;
    const result = await including;
    expect(result).toEqual({ nodeId: 3, securityClass: 'S2_AccessControl' });
    // zwave-js shows the DSK without its first five digits: those are the PIN the installer types.
    expect(shown).toEqual([sim.dsk.slice(5)]);
    await rig.lock.unlock();
    expect(sim.bolt).toBe('unlocked');
    await rig.lock.lock();
    expect(sim.bolt).toBe('locked');
    // This model supervises its Sets (Supervision CC): a slow bolt answers "working", then "success"…
    sim.motorMs = 150;
    await rig.lock.unlock();
    expect(rig.lock.state().bolt).toBe('unlocked');
    // …and a blocked one "fail", which the hub reports as the jam it is.
    sim.blocked = true;
    expect(codeOf(await rig.lock.lock().catch((e: unknown) => e))).toBe(ErrorCode.LOCK_JAMMED);
    expect(rig.lock.state().bolt).toBe('jammed');
    sim.blocked = false;
    sim.motorMs = 0;
    await rig.lock.lock();
    expect(sim.bolt).toBe('locked');
    // Unsolicited reports arrive S2-encapsulated and are accepted.
    await sim.openDoor();
    await eventually(() => rig!.lock.state().door === 'open');
    // Exclusion: the installer puts the lock in exclusion mode; the hub no longer has a lock.
    rig.stick.nodePendingExclusion = 3;
    const excluded = await rig.lock.exclude();
    expect(excluded).toEqual({ nodeId: 3 });
    expect(codeOf(await rig.lock.unlock().catch((e: unknown) => e))).toBe(ErrorCode.LOCK_NOT_PAIRED);
    sim.stop();
  }, 90_000);

  it('refuses a lock whose PIN the installer did not confirm: inclusion fails, no lock in use', async () => {
    rig = await startRig({ sim: false });
    const joining = KwiksetLock.pendingInclusion(rig.stick, { secure: true, nodeId: 4, clock: systemClock() });
    const err = await rig.lock.include({ validateDsk: async () => false }).catch((e: unknown) => e);
    expect(codeOf(err)).toBe(ErrorCode.LOCK_INCLUSION_FAILED);
    (await joining).stop();
    expect(codeOf(await rig.lock.lock().catch((e: unknown) => e))).toBe(ErrorCode.LOCK_NOT_PAIRED);
  });
});
