/**
 * Who opened the door at the keypad, on an in-memory lock whose events the test plays (the same
 * events arrive from the Kwikset over Z-Wave in test/integration/schedule-zwave.test.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { parseWeekly } from '../../hub/schedule/window-text.js';
import { ErrorCode, HubError } from '../../hub/system/errors.js';
import { MemoryLock } from '../support/memory-lock.js';
import { startScheduleRig, type ScheduleRig } from '../support/schedule-rig.js';

const MIN = 60_000;
// Monday 2026-11-23 10:00 in Berlin: inside the cleaner's 09:00–12:00 window.
const IN_WINDOW = Date.UTC(2026, 10, 23, 9, 0);

let rig: ScheduleRig | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

async function withCleaner(wallMs = IN_WINDOW): Promise<{ rig: ScheduleRig; lock: MemoryLock; id: string }> {
  const lock = new MemoryLock();
  lock.slots.set(2, '1357');
  rig = await startScheduleRig({ wallMs, memory: lock, backoff: { minMs: 10 * MIN, maxMs: 60 * MIN } });
  const { id } = rig.module.service().add({ name: 'cleaner', kind: 'service', pin: '482913', windows: [parseWeekly('mon,thu 09:00-12:00')] }, 'cli');
  await rig.settle();
  return { rig, lock, id };
}

const keypadUnlock = (lock: MemoryLock, rig: ScheduleRig, slot?: number): void =>
  lock.emit(slot === undefined ? { kind: 'unlocked', by: 'keypad', atMs: rig.clock.now() } : { kind: 'unlocked', by: 'keypad', slot, atMs: rig.clock.now() });

describe('who opened the door', () => {
  it('names a hub code by its name and kind, in the audit log and the notification', async () => {
    const { rig, lock, id } = await withCleaner();
    keypadUnlock(lock, rig, 11);
    expect(rig.entries('code.used').map((e) => e.event.body)).toEqual([{ who: 'code', slot: 11, codeId: id, name: 'cleaner', kind: 'service', inWindow: true }]);
    expect(rig.notes).toEqual([{ kind: 'code-used', who: 'code', name: 'cleaner', codeKind: 'service', slot: 11, atMs: rig.clock.now(), text: 'cleaner, service code opened the door' }]);
    expect(lock.slots.get(11)).toBe('482913');
  });

  it('names the owner’s own slots and the lock’s master code as such', async () => {
    const { rig, lock } = await withCleaner();
    keypadUnlock(lock, rig, 2);
    keypadUnlock(lock, rig);
    expect(rig.entries('code.used').map((e) => e.event.body)).toEqual([{ who: 'owner', slot: 2 }, { who: 'master' }]);
    expect(rig.notes.map((n) => n.text)).toEqual(['The door was opened with the lock’s own code in slot 2', 'The door was opened with the lock’s master code']);
    expect(lock.slots.get(2)).toBe('1357');
  });

  it('a code used outside its window (a clear that failed): alarm, cleared at once, on record', async () => {
    const { rig, lock, id } = await withCleaner(Date.UTC(2026, 10, 23, 10, 59));
    // The 12:00 clear fails; the code stays in the lock, and someone uses it at 12:01.
    lock.fail.push(new HubError(ErrorCode.LOCK_CODE_NOT_CONFIRMED, 'slot 11: the lock did not free it'));
    await rig.advance(MIN);
    expect(lock.slots.get(11)).toBe('482913');
    await rig.advance(MIN);
    expect(lock.slots.get(11)).toBe('482913');
    keypadUnlock(lock, rig, 11);
    await rig.settle();
    expect(lock.slots.has(11)).toBe(false);
    expect(rig.entries('code.used').map((e) => e.event.body)).toEqual([{ who: 'code', slot: 11, codeId: id, name: 'cleaner', kind: 'service', inWindow: false }]);
    expect(rig.bodies('code.alarm').map((b) => b.alarm)).toEqual(['clear-failing', 'out-of-window']);
    expect(rig.notes.at(-1)).toMatchObject({ kind: 'alarm', alarm: 'out-of-window', text: 'cleaner, service code opened the door outside its window: clearing it from the lock' });
    // The clear went out before the retry's backoff was up: it did not wait for it.
    expect(rig.module.service().list()[0]?.state).toBe('scheduled');
  });

  it('a code in a hub slot the hub never put there: alarm, cleared', async () => {
    const { rig, lock } = await withCleaner();
    lock.slots.set(15, '0000');
    keypadUnlock(lock, rig, 15);
    await rig.settle();
    expect(lock.slots.has(15)).toBe(false);
    expect(rig.entries('code.used').map((e) => e.event.body)).toEqual([{ who: 'unknown', slot: 15 }]);
    expect(rig.notes.at(-1)).toMatchObject({ kind: 'alarm', alarm: 'unknown-code', slot: 15 });
  });

  it('a keypad use reported after the hub read the slot back empty: looked at again, not cleared blindly', async () => {
    const { rig, lock } = await withCleaner(Date.UTC(2026, 10, 23, 10, 59));
    await rig.advance(MIN);
    expect(lock.slots.has(11)).toBe(false);
    const before = lock.calls.length;
    keypadUnlock(lock, rig, 11);
    await rig.settle();
    expect(lock.calls.slice(before)).toEqual(['codes']);
    expect(rig.notes.at(-1)).toMatchObject({ kind: 'alarm', alarm: 'out-of-window' });
  });
});

describe('wrong codes at the keypad', () => {
  it('counts them; the fifth within ten minutes is one alarm, and a quiet spell starts the count again', async () => {
    const { rig, lock } = await withCleaner();
    const wrong = (): void => lock.emit({ kind: 'wrong-code', lockedOut: false, atMs: rig.clock.now() });
    for (let i = 0; i < 4; i++) {
      wrong();
      await rig.advance(MIN);
    }
    expect(rig.entries('code.alarm')).toEqual([]);
    expect(rig.module.wrongCodeCount()).toBe(4);
    wrong();
    wrong();
    expect(rig.entries('code.alarm').map((e) => e.event.body)).toEqual([{ alarm: 'wrong-codes', count: 5 }]);
    expect(rig.notes.filter((n) => n.kind === 'alarm')).toEqual([expect.objectContaining({ alarm: 'wrong-codes', count: 5, text: '5 wrong codes at the keypad within 10 minutes' })]);
    await rig.advance(11 * MIN);
    expect(rig.module.wrongCodeCount()).toBe(0);
    for (let i = 0; i < 5; i++) wrong();
    expect(rig.entries('code.alarm')).toHaveLength(2);
  });

  it('four wrong codes spread over more than ten minutes raise nothing', async () => {
    const { rig, lock } = await withCleaner();
    for (let i = 0; i < 8; i++) {
      lock.emit({ kind: 'wrong-code', lockedOut: false, atMs: rig.clock.now() });
      await rig.advance(3 * MIN);
    }
    expect(rig.entries('code.alarm')).toEqual([]);
  });

  it('the lock’s own keypad lockout is an alarm of its own', async () => {
    const { rig, lock } = await withCleaner();
    lock.emit({ kind: 'wrong-code', lockedOut: true, atMs: rig.clock.now() });
    expect(rig.entries('code.alarm').map((e) => e.event.body)).toEqual([{ alarm: 'keypad-locked-out' }]);
  });
});
