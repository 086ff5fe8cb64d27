/**
 * The schedule's rules on an in-memory lock (the radio adds nothing to them; the Kwikset scenarios
 * run in test/integration/schedule-zwave.test.ts): what a code may be, slots, states, retries,
 * secrets. The store and audit log are the real ones; time is a fake clock.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CodeInput } from '../../hub/schedule/service.js';
import { parseOnce, parseWeekly } from '../../hub/schedule/window-text.js';
import { ErrorCode, HubError, isHubError } from '../../hub/system/errors.js';
import { MemoryLock } from '../support/memory-lock.js';
import { startScheduleRig, type ScheduleRig } from '../support/schedule-rig.js';

const MIN = 60_000;

// Monday 2026-11-23 07:00 in Berlin (06:00 UTC): the cleaner's Monday window opens at 09:00 (08:00 UTC).
const MONDAY_0700 = Date.UTC(2026, 10, 23, 6, 0);
const cleaner: CodeInput = { name: 'cleaner', kind: 'service', pin: '482913', windows: [parseWeekly('mon,thu 09:00-12:00')] };

let rig: ScheduleRig | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

async function start(options: Parameters<typeof startScheduleRig>[0] & { memory?: MemoryLock } = {}): Promise<{ rig: ScheduleRig; lock: MemoryLock }> {
  const lock = options.memory ?? new MemoryLock();
  rig = await startScheduleRig({ wallMs: MONDAY_0700, ...options, memory: lock });
  return { rig, lock };
}

function refusal(fn: () => unknown): HubError {
  try {
    fn();
  } catch (err) {
    if (err instanceof HubError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('what a code may be', () => {
  it('takes the first free hub slot, masks the PIN, and audits the change without it', async () => {
    const { rig } = await start();
    const view = rig.module.service().add(cleaner, 'cli');
    expect(view).toMatchObject({ name: 'cleaner', kind: 'service', slot: 11, pin: '••••••', state: 'scheduled', open: false, windows: ['mon,thu 09:00-12:00'] });
    expect(view.nextChangeAtMs).toBe(Date.UTC(2026, 10, 23, 8, 0));
    const [change] = rig.entries('code.change');
    expect(change?.event.body).toEqual({ codeId: view.id, name: 'cleaner', kind: 'service', slot: 11, action: 'add', pinHash: view.pinHash, by: 'cli' });
    expect(view.pinHash).toMatch(/^[0-9a-f]{16}$/);
  });

  it('refuses names, PINs, zones, windows and expiries it cannot honour, never echoing the PIN', async () => {
    const { rig } = await start({ settings: { pinDigits: { min: 4, max: 8 } } });
    const svc = rig.module.service();
    svc.add(cleaner, 'cli');
    const cases: [Partial<CodeInput>, ErrorCode, string][] = [
      [{ name: '' }, ErrorCode.SCHEDULE_CODE_INVALID, 'name'],
      [{ name: 'x'.repeat(65) }, ErrorCode.SCHEDULE_CODE_INVALID, 'name'],
      [{ name: 'dog\nwalker' }, ErrorCode.SCHEDULE_CODE_INVALID, 'control'],
      [{ name: 'CLEANER' }, ErrorCode.SCHEDULE_NAME_TAKEN, 'exists'],
      [{ pin: '12a456' }, ErrorCode.SCHEDULE_CODE_INVALID, 'digits'],
      [{ pin: '123' }, ErrorCode.SCHEDULE_CODE_INVALID, '4–8 digits'],
      [{ pin: '123456789' }, ErrorCode.SCHEDULE_CODE_INVALID, '4–8 digits'],
      [{ pin: '482913' }, ErrorCode.SCHEDULE_PIN_TAKEN, 'cleaner'],
      [{ zone: 'Europe/Atlantis' }, ErrorCode.SCHEDULE_CODE_INVALID, 'time zone'],
      [{ windows: [] }, ErrorCode.SCHEDULE_CODE_INVALID, 'windows'],
      [{ windows: [parseOnce('2026-11-20T14:00/18:00')] }, ErrorCode.SCHEDULE_CODE_INVALID, 'over'],
      [{ windows: Array.from({ length: 17 }, () => parseWeekly('mon 09:00-10:00')) }, ErrorCode.SCHEDULE_CODE_INVALID, 'windows'],
      [{ expiresAtMs: MONDAY_0700 - 1 }, ErrorCode.SCHEDULE_CODE_INVALID, 'future'],
    ];
    for (const [patch, code, says] of cases) {
      const err = refusal(() => svc.add({ ...cleaner, name: 'dog walker', pin: '7391', ...patch }, 'cli'));
      expect(err.code, JSON.stringify(patch)).toBe(code);
      expect(err.message).toContain(says);
      if (patch.pin !== undefined) expect(err.message).not.toContain(patch.pin);
    }
    expect(svc.list()).toHaveLength(1);
  });

  it('needs a zone: the code’s own, or the home’s from config', async () => {
    const { rig } = await start({ settings: { zone: undefined } });
    const svc = rig.module.service();
    expect(refusal(() => svc.add(cleaner, 'cli')).message).toContain('schedule.zone');
    expect(svc.add({ ...cleaner, zone: 'America/New_York' }, 'cli').zone).toBe('America/New_York');
  });

  it('refuses a PIN the lock already holds in one of the owner’s own slots', async () => {
    const lock = new MemoryLock();
    lock.slots.set(2, '482913');
    const { rig } = await start({ memory: lock });
    const err = refusal(() => rig.module.service().add(cleaner, 'cli'));
    expect(err.code).toBe(ErrorCode.SCHEDULE_PIN_TAKEN);
    expect(err.message).toContain('lock’s own codes');
    // The owner's slot is left alone.
    expect(lock.slots.get(2)).toBe('482913');
    expect(lock.calls.filter((c) => c.endsWith(':2'))).toEqual([]);
  });
});

describe('slots', () => {
  it('refuses a code when every hub slot is taken, saying what holds them; a removed code frees its slot once cleared', async () => {
    const { rig } = await start({ settings: { slots: { first: 20, last: 22 } } });
    const svc = rig.module.service();
    svc.add({ ...cleaner, name: 'a', pin: '1111' }, 'cli');
    svc.add({ ...cleaner, name: 'b', pin: '2222', paused: true }, 'cli');
    svc.add({ ...cleaner, name: 'c', pin: '3333' }, 'cli');
    const err = refusal(() => svc.add({ ...cleaner, name: 'd', pin: '4444' }, 'cli'));
    expect(err.code).toBe(ErrorCode.SCHEDULE_SLOTS_EXHAUSTED);
    expect(err.message).toBe('all 3 hub slots (20–22) are taken (1 paused, 0 expired, 0 being cleared): remove a code first');
    svc.remove('b', 'cli');
    await rig.settle();
    expect(svc.list().map((c) => c.name)).toEqual(['a', 'c']);
    expect(svc.add({ ...cleaner, name: 'd', pin: '4444' }, 'cli').slot).toBe(21);
  });

  it('counts only the slots the lock has: a 12-slot lock leaves 11–12 of an 11–30 range', async () => {
    const { rig } = await start({ memory: new MemoryLock(12) });
    const svc = rig.module.service();
    expect(svc.add({ ...cleaner, name: 'a', pin: '1111' }, 'cli').slot).toBe(11);
    expect(svc.add({ ...cleaner, name: 'b', pin: '2222' }, 'cli').slot).toBe(12);
    expect(refusal(() => svc.add({ ...cleaner, name: 'c', pin: '3333' }, 'cli')).message).toContain('all 2 hub slots (11–12)');
  });
});

describe('following the windows', () => {
  it('sets the slot at the window’s start and clears it at its end, shown from what the lock read back', async () => {
    const { rig, lock } = await start();
    const svc = rig.module.service();
    svc.add(cleaner, 'cli');
    await rig.advanceTo(Date.UTC(2026, 10, 23, 8, 0) - 1);
    expect(lock.slots.has(11)).toBe(false);
    await rig.advance(1);
    expect(lock.slots.get(11)).toBe('482913');
    expect(svc.list()[0]).toMatchObject({ state: 'active', open: true, readBackAtMs: Date.UTC(2026, 10, 23, 8, 0) });
    await rig.advanceTo(Date.UTC(2026, 10, 23, 11, 0));
    expect(lock.slots.has(11)).toBe(false);
    expect(svc.list()[0]).toMatchObject({ state: 'scheduled', open: false, nextChangeAtMs: Date.UTC(2026, 10, 26, 8, 0) });
    expect(rig.entries('code.slot').map((e) => [e.event.body, e.wallMs])).toEqual([
      [expect.objectContaining({ slot: 11, action: 'set', outcome: 'confirmed' }), Date.UTC(2026, 10, 23, 8, 0)],
      [expect.objectContaining({ slot: 11, action: 'clear', outcome: 'confirmed' }), Date.UTC(2026, 10, 23, 11, 0)],
    ]);
  });

  it('pause clears an active code at once, resume puts it back; an update of the PIN replaces it in the slot', async () => {
    const { rig, lock } = await start({ wallMs: Date.UTC(2026, 10, 23, 9, 0) });
    const svc = rig.module.service();
    svc.add(cleaner, 'cli');
    await rig.settle();
    expect(lock.slots.get(11)).toBe('482913');
    expect(svc.pause('cleaner', 'cli').state).toBe('clearing');
    await rig.settle();
    expect(lock.slots.has(11)).toBe(false);
    expect(svc.list()[0]).toMatchObject({ state: 'cleared', paused: true });
    svc.resume('cleaner', 'cli');
    await rig.settle();
    expect(lock.slots.get(11)).toBe('482913');
    svc.update('cleaner', { pin: '5550123' }, 'cli');
    await rig.settle();
    expect(lock.slots.get(11)).toBe('5550123');
    expect(rig.bodies('code.change').map((b) => b.action)).toEqual(['add', 'pause', 'resume', 'update']);
  });

  it('a one-off code is done after its window: the PIN is erased from the store once the slot reads back empty', async () => {
    const { rig } = await start();
    const svc = rig.module.service();
    const { id } = svc.add({ name: 'plumber', kind: 'service', pin: '60606', windows: [parseOnce('2026-11-23T10:00/11:00')] }, 'cli');
    await rig.advanceTo(Date.UTC(2026, 10, 23, 9, 30));
    expect(svc.list()[0]?.state).toBe('active');
    await rig.advanceTo(Date.UTC(2026, 10, 23, 10, 0));
    expect(svc.list()[0]).toMatchObject({ state: 'cleared', pin: '(erased)' });
    expect(rig.store.db.prepare('SELECT pin FROM schedule_codes WHERE code_id = ?').get(id)).toEqual({ pin: null });
    expect(rig.bodies('code.change').map((b) => b.action)).toEqual(['add', 'expire']);
    expect(refusal(() => svc.update('plumber', { windows: [parseOnce('2026-11-24T10:00/11:00')] }, 'cli')).message).toContain('new one');
  });
});

describe('failures', () => {
  it('a set that fails is retried with backoff and shown as failing with the lock’s reason, never as done', async () => {
    const { rig, lock } = await start({ wallMs: Date.UTC(2026, 10, 23, 9, 0), backoff: { minMs: 5_000, maxMs: 60_000 } });
    const notConfirmed = (): HubError => new HubError(ErrorCode.LOCK_CODE_NOT_CONFIRMED, 'slot 11: the lock did not store the code');
    lock.fail.push(notConfirmed(), notConfirmed(), notConfirmed());
    const svc = rig.module.service();
    svc.add(cleaner, 'cli');
    await rig.settle();
    expect(svc.list()[0]).toMatchObject({ state: 'failing', why: 'set failed 1× — E309 LOCK_CODE_NOT_CONFIRMED: slot 11: the lock did not store the code' });
    await rig.advance(4_999);
    expect(lock.calls.filter((c) => c === 'set:11')).toHaveLength(1);
    await rig.advance(1);
    expect(lock.calls.filter((c) => c === 'set:11')).toHaveLength(2);
    await rig.advance(10_000);
    expect(lock.calls.filter((c) => c === 'set:11')).toHaveLength(3);
    expect(svc.list()[0]?.state).toBe('failing');
    await rig.advance(20_000);
    expect(lock.slots.get(11)).toBe('482913');
    expect(svc.list()[0]?.state).toBe('active');
    // One failure on record for the run, then the confirmation with the attempts it took.
    expect(rig.entries('code.slot').map((e) => e.event.body)).toEqual([
      { slot: 11, action: 'set', outcome: 'failed', codeId: svc.list()[0]?.id, reason: ErrorCode.LOCK_CODE_NOT_CONFIRMED },
      { slot: 11, action: 'set', outcome: 'confirmed', codeId: svc.list()[0]?.id, pinHash: svc.list()[0]?.pinHash, attempts: 4 },
    ]);
    expect(rig.notes.filter((n) => n.kind === 'alarm').map((n) => n.kind === 'alarm' && n.alarm)).toEqual(['set-failing']);
  });

  it('a lock that does not answer holds every slot back (one attempt per backoff, not one per slot) and goes on when it is back', async () => {
    const { rig, lock } = await start({ wallMs: Date.UTC(2026, 10, 23, 9, 0), backoff: { minMs: 5_000, maxMs: 60_000 } });
    const svc = rig.module.service();
    lock.fail.push(new HubError(ErrorCode.LOCK_UNREACHABLE, 'the lock does not answer'));
    svc.add(cleaner, 'cli');
    svc.add({ ...cleaner, name: 'walker', pin: '9119' }, 'cli');
    await rig.settle();
    expect(lock.calls.filter((c) => c.startsWith('set:'))).toHaveLength(1);
    expect(svc.list().map((c) => c.state)).toEqual(['failing', 'failing']);
    expect(svc.list()[1]?.why).toContain('E302 LOCK_UNREACHABLE');
    lock.emit({ kind: 'connection-restored', atMs: rig.clock.now() });
    await rig.settle();
    expect([...lock.slots.keys()].sort()).toEqual([11, 12]);
    expect(svc.list().map((c) => c.state)).toEqual(['active', 'active']);
  });

  it('a clear that fails raises an alarm (the code may still open the door) and is on record', async () => {
    const { rig, lock } = await start({ wallMs: Date.UTC(2026, 10, 23, 10, 59) });
    const svc = rig.module.service();
    svc.add(cleaner, 'cli');
    await rig.settle();
    lock.fail.push(new HubError(ErrorCode.LOCK_CODE_NOT_CONFIRMED, 'slot 11: the lock did not free it'));
    await rig.advance(MIN);
    expect(svc.list()[0]?.state).toBe('failing');
    expect(rig.entries('code.alarm').map((e) => e.event.body)).toEqual([{ alarm: 'clear-failing', slot: 11, codeId: svc.list()[0]?.id }]);
    expect(rig.notes.at(-1)).toMatchObject({ kind: 'alarm', alarm: 'clear-failing', name: 'cleaner', text: expect.stringContaining('Could not clear cleaner, service code') });
    await rig.advance(5_000);
    expect(lock.slots.has(11)).toBe(false);
    expect(svc.list()[0]?.state).toBe('scheduled');
  });

  it('a driver error that carries the PIN is scrubbed before it is shown', async () => {
    const { rig, lock } = await start({ wallMs: Date.UTC(2026, 10, 23, 9, 0) });
    lock.fail.push(new HubError(ErrorCode.LOCK_TIMEOUT, 'setCode:11:482913: no confirmed outcome'));
    const svc = rig.module.service();
    svc.add(cleaner, 'cli');
    await rig.settle();
    expect(svc.list()[0]?.why).toContain('setCode:11:****');
    const everything = JSON.stringify([svc.list(), rig.notes, rig.entries().map((e) => e.event)]);
    expect(everything).not.toContain('482913');
  });
});

describe('what the hub looks after', () => {
  it('a range made smaller in config still clears and names the codes left outside it', async () => {
    const lock = new MemoryLock();
    const first = await start({ memory: lock, wallMs: Date.UTC(2026, 10, 23, 10, 30), settings: { slots: { first: 25, last: 30 } } });
    first.rig.module.service().add(cleaner, 'cli');
    await first.rig.settle();
    expect(lock.slots.get(25)).toBe('482913');
    // The installer moves the hub's range to 11–20; the cleaner keeps slot 25 until removed.
    await first.rig.restart({ slots: { first: 11, last: 20 } });
    lock.emit({ kind: 'unlocked', by: 'keypad', slot: 25, atMs: 0 });
    expect(first.rig.bodies('code.used')).toEqual([expect.objectContaining({ who: 'code', slot: 25, name: 'cleaner' })]);
    await first.rig.advance(30 * MIN);
    expect(lock.slots.has(25)).toBe(false);
    expect(first.rig.module.service().add({ ...cleaner, name: 'new', pin: '5151' }, 'cli').slot).toBe(11);
  });

  it('does not clear slots it has never read back while its first read keeps failing', async () => {
    const lock = new MemoryLock();
    lock.slots.set(14, '777777');
    for (let i = 0; i < 3; i++) lock.fail.push(new HubError(ErrorCode.LOCK_UNREACHABLE, 'the lock does not answer'));
    const { rig } = await start({ memory: lock, backoff: { minMs: 5_000, maxMs: 60_000 } });
    expect(lock.calls).toEqual(['codes']);
    await rig.advance(5_000);
    await rig.advance(10_000);
    expect(lock.calls).toEqual(['codes', 'codes', 'codes']);
    await rig.advance(20_000);
    // The fourth read works: only the foreign code in slot 14 is cleared, nothing else.
    expect(lock.calls).toEqual(['codes', 'codes', 'codes', 'codes', 'clear:14']);
  });

  it('a lock that keeps reporting code changes cannot hold a window edge back', async () => {
    const { rig, lock } = await start({ wallMs: Date.UTC(2026, 10, 23, 7, 59) });
    rig.module.service().add(cleaner, 'cli');
    await rig.settle();
    // Every read of the slots takes a moment and is followed by a report that the codes changed;
    // the window opens while one read is under way.
    lock.readDelayMs = 2;
    let reports = 0;
    lock.onCodes = () => {
      if (reports++ < 50) lock.emit({ kind: 'codes-changed', atMs: 0 });
    };
    lock.emit({ kind: 'codes-changed', atMs: 0 });
    const before = lock.calls.length;
    await rig.advance(MIN);
    const after = lock.calls.slice(before);
    expect(after.indexOf('set:11')).toBeGreaterThanOrEqual(0);
    expect(after.indexOf('set:11')).toBeLessThanOrEqual(1);
  });
});

describe('time', () => {
  it('a wall clock stepped forward past a window’s start is noticed within a minute and the slot set', async () => {
    const { rig, lock } = await start();
    rig.module.service().add(cleaner, 'cli');
    await rig.settle();
    // NTP steps the clock from 07:00 to 09:30 Berlin; the edge timer was set for 2 hours of monotonic time.
    rig.clock.setWall(Date.UTC(2026, 10, 23, 8, 30));
    await rig.advance(59_999);
    expect(lock.slots.has(11)).toBe(false);
    await rig.advance(1);
    expect(lock.slots.get(11)).toBe('482913');
  });

  it('with a wall clock behind the clock floor no code is put in and open ones are cleared, until it is trusted again', async () => {
    let trusted = true;
    const { rig, lock } = await start({ wallMs: Date.UTC(2026, 10, 23, 9, 0), clockTrusted: () => trusted });
    rig.module.service().add(cleaner, 'cli');
    await rig.settle();
    expect(lock.slots.get(11)).toBe('482913');
    trusted = false;
    await rig.advance(60_000);
    expect(lock.slots.has(11)).toBe(false);
    trusted = true;
    await rig.advance(60_000);
    expect(lock.slots.get(11)).toBe('482913');
  });

  it('a wall clock stepped back out of a window clears the slot', async () => {
    const { rig, lock } = await start({ wallMs: Date.UTC(2026, 10, 23, 9, 0) });
    rig.module.service().add(cleaner, 'cli');
    await rig.settle();
    expect(lock.slots.get(11)).toBe('482913');
    rig.clock.setWall(Date.UTC(2026, 10, 23, 6, 0));
    await rig.advance(60_000);
    expect(lock.slots.has(11)).toBe(false);
  });
});

describe('errors are HubErrors with their numbers', () => {
  it('an unknown code is SCHEDULE_CODE_UNKNOWN', async () => {
    const { rig } = await start();
    const err = refusal(() => rig.module.service().pause('nobody', 'cli'));
    expect(isHubError(err, ErrorCode.SCHEDULE_CODE_UNKNOWN)).toBe(true);
  });
});

