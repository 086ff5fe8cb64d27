/**
 * Keypad codes on a schedule against the simulated Kwikset on zwave-js's mock controller: real
 * User Code CC Sets and Gets over the Serial API. The schedule runs on a fake clock (the simulated
 * lock logs every Set it carries out at that clock's time); the driver's command timeouts are
 * real time, as the radio's are.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CodeInput } from '../../hub/schedule/service.js';
import { parseOnce, parseWeekly } from '../../hub/schedule/window-text.js';
import { ErrorCode, isHubError } from '../../hub/system/errors.js';
import { startScheduleRig, type ScheduleRig } from '../support/schedule-rig.js';
import { eventually } from '../support/zwave-lock-rig.js';

const MIN = 60_000;
const Z = (iso: string): number => Date.parse(iso);
const iso = (ms: number): string => new Date(ms).toISOString();

let rig: ScheduleRig | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

/** Steps the fake clock edge by edge up to `endMs`, waiting for the lock at each. */
async function runUntil(r: ScheduleRig, endMs: number): Promise<void> {
  for (;;) {
    const next = r.module.nextEdgeAtMs();
    if (next === undefined || next > endMs) break;
    await r.advanceTo(next);
  }
  await r.advanceTo(endMs);
}

const changes = (r: ScheduleRig): string[] => r.sim.keypad.log.filter((c) => c.slot > 0).map((c) => `${c.action} ${c.slot} ${iso(c.atMs)}`);
const cleaner: CodeInput = { name: 'cleaner', kind: 'service', pin: '482913', windows: [parseWeekly('mon,thu 09:00-12:00')] };

describe('windows across DST changes, as the lock sees them', () => {
  it('America/New_York fall-back: the repeated hour opens once; Monday 09:00–12:00 is 14:00–17:00 UTC in EST', async () => {
    rig = await startScheduleRig({ wallMs: Z('2026-10-31T00:00Z'), settings: { zone: 'America/New_York' } });
    const svc = rig.module.service();
    svc.add({ name: 'night nurse', kind: 'guest', pin: '2468', windows: [parseWeekly('sun 01:00-01:30')] }, 'test');
    svc.add({ ...cleaner, windows: [parseWeekly('mon 09:00-12:00')] }, 'test');
    await runUntil(rig, Z('2026-11-03T00:00Z'));
    expect(changes(rig)).toEqual([
      'set 11 2026-11-01T05:00:00.000Z',
      'clear 11 2026-11-01T05:30:00.000Z',
      'set 12 2026-11-02T14:00:00.000Z',
      'clear 12 2026-11-02T17:00:00.000Z',
    ]);
  });

  it('Europe/Berlin spring-forward: a window starting in the skipped hour opens at 03:00 CEST; Monday moves to 07:00 UTC', async () => {
    rig = await startScheduleRig({ wallMs: Z('2026-03-28T00:00Z') });
    const svc = rig.module.service();
    svc.add({ name: 'baker', kind: 'service', pin: '1357', windows: [parseWeekly('sun 02:30-04:00')] }, 'test');
    svc.add({ ...cleaner, windows: [parseWeekly('mon 09:00-12:00')] }, 'test');
    await runUntil(rig, Z('2026-03-31T00:00Z'));
    expect(changes(rig)).toEqual([
      'set 11 2026-03-29T01:00:00.000Z',
      'clear 11 2026-03-29T02:00:00.000Z',
      'set 12 2026-03-30T07:00:00.000Z',
      'clear 12 2026-03-30T10:00:00.000Z',
    ]);
  });

  it('Australia/Lord_Howe spring-forward by 30 minutes: 02:00–03:00 opens at 02:30; Monday 09:00 is 22:00 UTC', async () => {
    rig = await startScheduleRig({ wallMs: Z('2026-10-02T00:00Z'), settings: { zone: 'Australia/Lord_Howe' } });
    const svc = rig.module.service();
    svc.add({ name: 'ferry crew', kind: 'service', pin: '97531', windows: [parseWeekly('sun 02:00-03:00')] }, 'test');
    svc.add({ ...cleaner, windows: [parseWeekly('mon 09:00-12:00')] }, 'test');
    await runUntil(rig, Z('2026-10-06T00:00Z'));
    expect(changes(rig)).toEqual([
      'set 11 2026-10-03T15:30:00.000Z',
      'clear 11 2026-10-03T16:00:00.000Z',
      'set 12 2026-10-04T22:00:00.000Z',
      'clear 12 2026-10-05T01:00:00.000Z',
    ]);
  });
});

describe('a lock that drifts', () => {
  it('a lock reset mid-window: the code is put back and the drift is on record; the owner’s code is never touched', async () => {
    rig = await startScheduleRig({ wallMs: Z('2026-11-23T09:00Z') });
    rig.sim.keypad.preset(3, '1111');
    const { id, pinHash } = rig.module.service().add(cleaner, 'test');
    await rig.settle();
    expect(rig.sim.codeIn(11)).toBe('482913');
    await rig.sim.keypad.reset();
    await eventually(() => rig!.entries('code.drift').length > 0);
    await rig.settle();
    expect(rig.sim.codeIn(11)).toBe('482913');
    expect(rig.bodies('code.drift')).toEqual([{ slot: 11, what: 'missing', codeId: id }]);
    expect(rig.bodies('code.slot').filter((b) => b.action === 'set')).toEqual([
      { slot: 11, action: 'set', outcome: 'confirmed', codeId: id, pinHash },
      { slot: 11, action: 'set', outcome: 'confirmed', codeId: id, pinHash },
    ]);
    expect(rig.sim.keypad.log.filter((c) => c.slot === 3)).toEqual([]);
  });

  it('a code changed at the keypad behind the hub’s back is set back, and a foreign code in a hub slot is cleared', async () => {
    rig = await startScheduleRig({ wallMs: Z('2026-11-23T09:00Z') });
    const { id } = rig.module.service().add(cleaner, 'test');
    await rig.settle();
    await rig.sim.keypad.program(11, '999000');
    await eventually(() => rig!.entries('code.drift').length >= 1);
    await rig.settle();
    expect(rig.sim.codeIn(11)).toBe('482913');
    await rig.sim.keypad.program(17, '424242');
    await eventually(() => rig!.entries('code.drift').length >= 2);
    await rig.settle();
    expect(rig.sim.codeIn(17)).toBeUndefined();
    const drift = rig.bodies('code.drift');
    expect(drift.map((d) => [d.slot, d.what, d.codeId])).toEqual([
      [11, 'changed', id],
      [17, 'foreign', undefined],
    ]);
    // Found codes appear only as keyed hashes.
    expect(drift.every((d) => /^[0-9a-f]{16}$/.test(d.foundHash ?? ''))).toBe(true);
    expect(JSON.stringify(rig.entries())).not.toMatch(/999000|424242|482913/);
  });

  it('after a reconnect it reads the slots back: a change made while the stick was away is found', async () => {
    rig = await startScheduleRig({ wallMs: Z('2026-11-23T09:00Z'), driver: { reconnectMinMs: 200, reconnectMaxMs: 400, serialOpenAttempts: 1 } });
    rig.module.service().add(cleaner, 'test');
    await rig.settle();
    await rig.zwave.stick.unplug();
    await eventually(() => rig!.zwave.events.some((e) => e.kind === 'connection-lost'), 15_000);
    // Reset while the hub cannot hear it: no report reaches the hub.
    await rig.sim.keypad.reset().catch(() => {});
    await rig.zwave.stick.plugIn();
    await eventually(() => rig!.zwave.events.some((e) => e.kind === 'connection-restored'), 20_000);
    await eventually(() => rig!.sim.codeIn(11) === '482913', 10_000);
    await rig.settle();
    expect(rig.bodies('code.drift').map((d) => d.what)).toEqual(['missing']);
  });
});

describe('limits of the lock', () => {
  it('a 12-slot lock: the third code for an 11–30 range is refused with a clear error', async () => {
    rig = await startScheduleRig({ wallMs: Z('2026-11-23T06:00Z'), sim: { slots: 12 } });
    const svc = rig.module.service();
    svc.add({ ...cleaner, name: 'a', pin: '1111' }, 'test');
    svc.add({ ...cleaner, name: 'b', pin: '2222' }, 'test');
    let err: unknown;
    try {
      svc.add({ ...cleaner, name: 'c', pin: '3333' }, 'test');
    } catch (e) {
      err = e;
    }
    expect(isHubError(err, ErrorCode.SCHEDULE_SLOTS_EXHAUSTED)).toBe(true);
    expect((err as Error).message).toBe('all 2 hub slots (11–12) are taken (0 paused, 0 expired, 0 being cleared): remove a code first');
  });
});

describe('restarts', () => {
  it('a restart mid-window sends nothing: the slot reads back as it should', async () => {
    rig = await startScheduleRig({ wallMs: Z('2026-11-23T09:00Z') });
    rig.module.service().add(cleaner, 'test');
    await rig.settle();
    const before = changes(rig);
    await rig.restart();
    expect(changes(rig)).toEqual(before);
    expect(rig.module.service().list()[0]?.state).toBe('active');
  });

  it('a hub that was down across both edges of a window clears nothing it never set, and sets what opened while it was down', async () => {
    rig = await startScheduleRig({ wallMs: Z('2026-11-23T06:00Z') });
    rig.module.service().add(cleaner, 'test');
    rig.module.service().add({ name: 'walker', kind: 'guest', pin: '7788', windows: [parseWeekly('mon 10:00-18:00')] }, 'test');
    await rig.settle();
    await rig.stop();
    await rig.clock.advance(Z('2026-11-23T12:00Z') - rig.clock.now());
    await rig.restart();
    // The cleaner's 08:00–11:00 UTC window came and went; the walker's opened at 09:00 UTC.
    expect(changes(rig)).toEqual(['set 12 2026-11-23T12:00:00.000Z']);
    expect(rig.module.service().list().map((c) => c.state)).toEqual(['scheduled', 'active']);
  });

  it('a restart across a closing edge clears the slot at boot', async () => {
    rig = await startScheduleRig({ wallMs: Z('2026-11-23T10:30Z') });
    rig.module.service().add(cleaner, 'test');
    await rig.settle();
    await rig.stop();
    await rig.clock.advance(MIN * 45);
    await rig.restart();
    expect(changes(rig)).toEqual(['set 11 2026-11-23T10:30:00.000Z', 'clear 11 2026-11-23T11:15:00.000Z']);
  });
});

describe('a silent lock', () => {
  it('goes silent during a clear: failing as unreachable, an alarm, retried with backoff, cleared once it answers', async () => {
    rig = await startScheduleRig({ wallMs: Z('2026-11-23T10:59Z'), driver: { commandTimeoutMs: 1500 }, backoff: { minMs: 30_000, maxMs: 120_000 } });
    const svc = rig.module.service();
    svc.add(cleaner, 'test');
    await rig.settle();
    rig.sim.silent = true;
    await rig.advance(MIN);
    expect(svc.list()[0]).toMatchObject({ state: 'failing' });
    expect(svc.list()[0]?.why).toContain('E302 LOCK_UNREACHABLE');
    expect(rig.notes.at(-1)).toMatchObject({ kind: 'alarm', alarm: 'clear-failing' });
    await rig.advance(30_000);
    expect(svc.list()[0]?.state).toBe('failing');
    rig.sim.silent = false;
    await rig.advance(60_000);
    expect(rig.sim.codeIn(11)).toBeUndefined();
    expect(svc.list()[0]?.state).toBe('scheduled');
    expect(rig.bodies('code.slot').map((b) => [b.action, b.outcome, b.reason, b.attempts])).toEqual([
      ['set', 'confirmed', undefined, undefined],
      ['clear', 'failed', ErrorCode.LOCK_UNREACHABLE, undefined],
      ['clear', 'confirmed', undefined, 3],
    ]);
  }, 60_000);
});

describe('at the keypad', () => {
  it('a keypad unlock with the cleaner’s code is audited and notified by name and kind', async () => {
    rig = await startScheduleRig({ wallMs: Z('2026-11-23T09:00Z') });
    const { id } = rig.module.service().add(cleaner, 'test');
    await rig.settle();
    expect(await rig.sim.keypadEnter('482913')).toBe('unlocked');
    await eventually(() => rig!.entries('code.used').length > 0);
    expect(rig.bodies('code.used')).toEqual([{ who: 'code', slot: 11, codeId: id, name: 'cleaner', kind: 'service', inWindow: true }]);
    expect(rig.notes.at(-1)?.text).toBe('cleaner, service code opened the door');
  });

  it('a code still in the lock after its window (the clear never landed) is cleared the moment it is used', async () => {
    rig = await startScheduleRig({ wallMs: Z('2026-11-23T10:59Z'), driver: { commandTimeoutMs: 1500 }, backoff: { minMs: 3_600_000, maxMs: 3_600_000 } });
    const svc = rig.module.service();
    svc.add(cleaner, 'test');
    await rig.settle();
    rig.sim.silent = true;
    await rig.advance(MIN);
    rig.sim.silent = false;
    expect(rig.sim.codeIn(11)).toBe('482913');
    await rig.advance(5 * MIN);
    expect(await rig.sim.keypadEnter('482913')).toBe('unlocked');
    await eventually(() => rig!.sim.codeIn(11) === undefined, 10_000);
    await rig.settle();
    expect(rig.bodies('code.alarm').map((b) => b.alarm)).toEqual(['clear-failing', 'out-of-window']);
    expect(rig.bodies('code.used')).toEqual([expect.objectContaining({ slot: 11, inWindow: false })]);
    expect(svc.list()[0]?.state).toBe('scheduled');
  });

  it('wrong codes: counted, the fifth is an alarm, and the lock’s keypad lockout too', async () => {
    rig = await startScheduleRig({ wallMs: Z('2026-11-23T09:00Z') });
    rig.module.service().add(cleaner, 'test');
    await rig.settle();
    const outcomes: string[] = [];
    for (let i = 0; i < 5; i++) outcomes.push(await rig.sim.keypadEnter('000000'));
    expect(outcomes).toEqual(['refused', 'refused', 'refused', 'refused', 'locked-out']);
    await eventually(() => rig!.entries('code.alarm').length >= 2);
    expect(rig.module.wrongCodeCount()).toBe(5);
    expect(rig.bodies('code.alarm')).toEqual([{ alarm: 'wrong-codes', count: 5 }, { alarm: 'keypad-locked-out' }]);
  });

  it('a one-off code for Saturday afternoon goes in at 14:00 and out at 18:00 local, then its PIN is gone', async () => {
    rig = await startScheduleRig({ wallMs: Z('2026-12-19T12:00Z') });
    const svc = rig.module.service();
    svc.add({ name: 'aunt', kind: 'guest', pin: '19121', windows: [parseOnce('2026-12-19T14:00/18:00')] }, 'test');
    await runUntil(rig, Z('2026-12-20T00:00Z'));
    expect(changes(rig)).toEqual(['set 11 2026-12-19T13:00:00.000Z', 'clear 11 2026-12-19T17:00:00.000Z']);
    expect(svc.list()[0]).toMatchObject({ state: 'cleared', pin: '(erased)' });
  });
});
