import { describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../protocols/audit/events.js';
import { auditEntryFor, lockAuditModule } from '../../hub/lock/lock-audit.js';
import { LockEventFanout } from '../../hub/lock/lock-events.js';
import type { Lock, LockEvent } from '../../hub/lock/lock.js';
import { silentLog } from '../support/silent-log.js';

const at = { atMs: 1 };

/** A Lock whose events the test emits; its commands are never called here. */
function lockEmitting(): { lock: Lock; emit(e: LockEvent): void } {
  const fanout = new LockEventFanout(() => {});
  const never = (): never => {
    throw new Error('not used');
  };
  const lock = { lock: never, unlock: never, state: never, setCode: never, clearCode: never, codes: never, onEvent: (l: (e: LockEvent) => void) => fanout.subscribe(l) } as unknown as Lock;
  return { lock, emit: (e) => fanout.emit(e) };
}

describe('lock events in the audit log', () => {
  it('records a bolt moved by hand, by keypad (with its slot) and by auto-lock', () => {
    expect(auditEntryFor({ kind: 'unlocked', by: 'manual', ...at })).toEqual({ type: 'bolt', body: { state: 'unlocked', by: 'manual' } });
    expect(auditEntryFor({ kind: 'unlocked', by: 'keypad', slot: 7, ...at })).toEqual({ type: 'bolt', body: { state: 'unlocked', by: 'keypad', slot: 7 } });
    expect(auditEntryFor({ kind: 'locked', by: 'auto', ...at })).toEqual({ type: 'bolt', body: { state: 'locked', by: 'auto-lock' } });
    expect(auditEntryFor({ kind: 'locked', by: 'unknown', ...at })).toEqual({ type: 'bolt', body: { state: 'locked', by: 'manual' } });
  });

  it("leaves the hub's own commands to whoever sent them while they wait for the report", () => {
    expect(auditEntryFor({ kind: 'unlocked', by: 'hub', ...at })).toBeUndefined();
    expect(auditEntryFor({ kind: 'locked', by: 'hub', awaited: true, ...at })).toBeUndefined();
  });

  it('records a bolt moved by a hub command nobody waits for any more (it confirmed after timing out)', () => {
    expect(auditEntryFor({ kind: 'locked', by: 'hub', awaited: false, ...at })).toEqual({ type: 'bolt', body: { state: 'locked', by: 'hub' } });
    expect(auditEntryFor({ kind: 'locked', by: 'hub', awaited: false, ...at }, 'ab'.repeat(16))).toEqual({
      type: 'bolt',
      body: { state: 'locked', by: 'hub', visitId: 'ab'.repeat(16) },
    });
  });

  it('records a jam and the door', () => {
    expect(auditEntryFor({ kind: 'jammed', ...at })).toEqual({ type: 'jam', body: { during: 'idle' } });
    expect(auditEntryFor({ kind: 'door', door: 'open', ...at })).toEqual({ type: 'door', body: { state: 'open' } });
  });

  it('records a jam under the command it happened during, not as idle', () => {
    expect(auditEntryFor({ kind: 'jammed', during: 'lock', ...at })).toEqual({ type: 'jam', body: { during: 'lock' } });
    expect(auditEntryFor({ kind: 'jammed', during: 'unlock', ...at })).toEqual({ type: 'jam', body: { during: 'unlock' } });
  });

  it('names the visit in progress on door and jam entries', async () => {
    const { lock, emit } = lockEmitting();
    const written: AuditEvent[] = [];
    let visit: string | undefined = 'cd'.repeat(16);
    const mod = lockAuditModule({ lock, audit: { append: (e: AuditEvent) => written.push(e) }, log: silentLog(), onAuditFailure: () => {}, currentVisit: () => visit });
    await mod.start(new AbortController().signal);
    emit({ kind: 'door', door: 'open', ...at });
    emit({ kind: 'jammed', during: 'lock', ...at });
    visit = undefined;
    emit({ kind: 'door', door: 'closed', ...at });
    expect(written).toEqual([
      { type: 'door', body: { state: 'open', visitId: 'cd'.repeat(16) } },
      { type: 'jam', body: { during: 'lock', visitId: 'cd'.repeat(16) } },
      { type: 'door', body: { state: 'closed' } },
    ]);
  });

  it('hands a failure of the visit lookup to onAuditFailure too: nothing throws into the lock driver', async () => {
    const { lock, emit } = lockEmitting();
    const failures: unknown[] = [];
    const broken = new Error('journal unreadable');
    const mod = lockAuditModule({
      lock,
      audit: { append: () => undefined },
      log: silentLog(),
      onAuditFailure: (err) => failures.push(err),
      currentVisit: () => {
        throw broken;
      },
    });
    await mod.start(new AbortController().signal);
    emit({ kind: 'door', door: 'open', ...at });
    expect(failures).toEqual([broken]);
  });

  it('appends while started and stops appending after stop', async () => {
    const { lock, emit } = lockEmitting();
    const written: AuditEvent[] = [];
    const mod = lockAuditModule({ lock, audit: { append: (e: AuditEvent) => written.push(e) }, log: silentLog(), onAuditFailure: () => {} });
    await mod.start(new AbortController().signal);
    emit({ kind: 'door', door: 'closed', ...at });
    emit({ kind: 'battery-low', percent: 9, ...at });
    await mod.stop();
    emit({ kind: 'door', door: 'open', ...at });
    expect(written).toEqual([{ type: 'door', body: { state: 'closed' } }]);
  });

  it('hands a failed audit write to onAuditFailure instead of swallowing it', async () => {
    const { lock, emit } = lockEmitting();
    const failures: unknown[] = [];
    const disk = new Error('disk I/O error');
    const mod = lockAuditModule({
      lock,
      audit: {
        append: () => {
          throw disk;
        },
      },
      log: silentLog(),
      onAuditFailure: (err) => failures.push(err),
    });
    await mod.start(new AbortController().signal);
    emit({ kind: 'jammed', ...at });
    expect(failures).toEqual([disk]);
  });
});
