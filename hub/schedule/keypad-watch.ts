/**
 * Who opened the door at the keypad, and what to do about it. The lock reports a keypad unlock
 * with the slot of the code used (Notification CC Access Control 0x06, user id); the hub names it:
 * - a hub slot whose code is in its window: "cleaner, service code" (audited, notified);
 * - a hub slot whose window is closed (a clear that failed, a lock that reports late): an alarm,
 *   the slot cleared at once, audited;
 * - a hub slot the hub holds no code for (a code put there behind its back): an alarm, cleared;
 * - a slot outside the hub's range: the owner's own code; no slot at all: the lock's master code
 *   (locks number every user code they hold; only the programming code comes without one).
 * Wrong codes at the keypad are counted over a sliding window; reaching the limit is one alarm per
 * run of them, and the lock's own keypad lockout is an alarm of its own.
 */
import type { AuditEvent } from '../../protocols/audit/events.js';
import type { LockEvent } from '../lock/lock.js';
import type { Clock } from '../system/clock.js';
import type { Logger } from '../system/logger.js';
import type { ScheduledCode } from './model.js';
import { describeCode, type AlarmKind, type Notifier } from './notifications.js';
import type { SlotWant } from './slot-drift.js';

export interface KeypadWatchDeps {
  clock: Clock;
  log: Logger;
  audit: { append(event: AuditEvent): unknown };
  notifier: Notifier;
  slots: { first: number; last: number };
  codeIn(slot: number): ScheduledCode | undefined;
  wantOf(code: ScheduledCode, atMs: number): SlotWant;
  /** Clear this slot before anything else. */
  clearNow(slot: number, pinHash: string | undefined): void;
  wrongCodes: { limit: number; windowMs: number };
  onAuditFailure(err: unknown): void;
}

export class KeypadWatch {
  readonly #d: KeypadWatchDeps;
  /** Monotonic times of the wrong codes inside the counting window. */
  #wrong: number[] = [];
  #alarmed = false;

  constructor(deps: KeypadWatchDeps) {
    this.#d = deps;
  }

  /** Wrong codes counted in the current window. */
  wrongCodeCount(): number {
    this.#prune();
    return this.#wrong.length;
  }

  handle(event: LockEvent): void {
    // Judged on the schedule's own clock at receipt, the one its windows are evaluated on.
    const atMs = this.#d.clock.now();
    if (event.kind === 'unlocked' && event.by === 'keypad') this.#unlocked(event.slot, atMs);
    else if (event.kind === 'wrong-code') this.#wrongCode(event.lockedOut, atMs);
  }

  #unlocked(slot: number | undefined, atMs: number): void {
    const { first, last } = this.#d.slots;
    if (slot === undefined) {
      this.#audit({ type: 'code.used', body: { who: 'master' } });
      this.#d.notifier.notify({ kind: 'code-used', who: 'master', atMs, text: 'The door was opened with the lock’s master code' });
      return;
    }
    // A code of the hub's keeps its slot even when the configured range no longer covers it.
    const code = this.#d.codeIn(slot);
    if (code === undefined && (slot < first || slot > last)) {
      this.#audit({ type: 'code.used', body: { who: 'owner', slot } });
      this.#d.notifier.notify({ kind: 'code-used', who: 'owner', slot, atMs, text: `The door was opened with the lock’s own code in slot ${slot}` });
      return;
    }
    if (code === undefined) {
      this.#audit({ type: 'code.used', body: { who: 'unknown', slot } }, { type: 'code.alarm', body: { alarm: 'unknown-code', slot } });
      this.#alarm('unknown-code', atMs, `The door was opened with a code the hub did not put in slot ${slot}: clearing it`, { slot });
      this.#d.clearNow(slot, undefined);
      return;
    }
    const inWindow = this.#d.wantOf(code, atMs).content === 'code';
    const who = describeCode(code.name, code.kind);
    const used: AuditEvent = { type: 'code.used', body: { who: 'code', slot, codeId: code.id, name: code.name, kind: code.kind, inWindow } };
    if (inWindow) {
      this.#audit(used);
      this.#d.notifier.notify({ kind: 'code-used', who: 'code', name: code.name, codeKind: code.kind, slot, atMs, text: `${who} opened the door` });
      return;
    }
    this.#audit(used, { type: 'code.alarm', body: { alarm: 'out-of-window', slot, codeId: code.id } });
    this.#alarm('out-of-window', atMs, `${who} opened the door outside its window: clearing it from the lock`, { slot, name: code.name, codeKind: code.kind });
    this.#d.clearNow(slot, code.pinHash);
  }

  #wrongCode(lockedOut: boolean, atMs: number): void {
    if (lockedOut) {
      this.#audit({ type: 'code.alarm', body: { alarm: 'keypad-locked-out' } });
      this.#alarm('keypad-locked-out', atMs, 'The lock disabled its keypad after wrong codes');
      return;
    }
    this.#prune();
    this.#wrong.push(this.#d.clock.monotonic());
    const count = this.#wrong.length;
    this.#d.log.info({ count }, 'wrong code at the keypad');
    if (count < this.#d.wrongCodes.limit || this.#alarmed) return;
    this.#alarmed = true;
    this.#audit({ type: 'code.alarm', body: { alarm: 'wrong-codes', count } });
    this.#alarm('wrong-codes', atMs, `${count} wrong codes at the keypad within ${Math.round(this.#d.wrongCodes.windowMs / 60_000)} minutes`, { count });
  }

  /** Drops attempts older than the window; a quiet window ends a run (the next limit alarms again). */
  #prune(): void {
    const from = this.#d.clock.monotonic() - this.#d.wrongCodes.windowMs;
    this.#wrong = this.#wrong.filter((t) => t > from);
    if (this.#wrong.length === 0) this.#alarmed = false;
  }

  #alarm(alarm: AlarmKind, atMs: number, text: string, extra: { slot?: number; name?: string; codeKind?: ScheduledCode['kind']; count?: number } = {}): void {
    this.#d.log.warn({ alarm, slot: extra.slot, count: extra.count }, text);
    this.#d.notifier.notify({ kind: 'alarm', alarm, atMs, text, ...extra });
  }

  #audit(...events: AuditEvent[]): void {
    try {
      for (const e of events) this.#d.audit.append(e);
    } catch (err) {
      this.#d.onAuditFailure(err);
    }
  }
}
