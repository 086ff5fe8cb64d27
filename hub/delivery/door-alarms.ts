/**
 * Door alarms when no visit explains the door (DESIGN.md: the threat of a stranger following the
 * courier in, or of a door no one closed):
 * - `door-forced-open`: the sensor reports the door open while the bolt reads locked, and no visit
 *   that may have unlocked it holds the lock.
 * - `door-ajar`: the door open past the ajar time (config delivery.doorAjarS) with no visit holding
 *   it (a visit's own entry time is its `door-left-open`).
 * Both are `alarm` entries (synchronous=FULL) and notices. A failed write goes to onAuditFailure.
 */
import type { AlarmKind } from '../../protocols/audit/events.js';
import type { Lock, LockEvent } from '../lock/lock.js';
import type { Clock, Timer } from '../system/clock.js';
import type { Logger } from '../system/logger.js';
import type { NoticeSink } from './notices.js';
import type { AuditAppender } from './steps.js';

export interface DoorAlarmDeps {
  lock: Pick<Lock, 'state'>;
  /** A visit that may have unlocked the door holds the lock now. */
  visitExplainsDoor(): boolean;
  audit: AuditAppender;
  notify: NoticeSink;
  clock: Clock;
  log: Logger;
  ajarMs: number;
  onAuditFailure(err: unknown): void;
}

export class DoorAlarms {
  readonly #d: DoorAlarmDeps;
  #ajar: Timer | undefined;
  #openedAt: number | undefined;

  constructor(deps: DoorAlarmDeps) {
    this.#d = deps;
  }

  onLockEvent(event: LockEvent): void {
    if (event.kind !== 'door') return;
    if (event.door === 'closed') {
      this.#ajar?.cancel();
      this.#ajar = undefined;
      this.#openedAt = undefined;
      return;
    }
    if (this.#d.visitExplainsDoor()) return;
    if (this.#d.lock.state().bolt === 'locked') {
      this.#d.log.error('the door opened with the bolt locked and no visit: forced open');
      this.#alarm('door-forced-open');
      this.#d.notify({ kind: 'door-forced-open' });
    }
    if (this.#ajar === undefined) {
      this.#openedAt = this.#d.clock.monotonic();
      this.#ajar = this.#d.clock.setTimeout(() => this.#ajarNow(), this.#d.ajarMs);
    }
  }

  stop(): void {
    this.#ajar?.cancel();
    this.#ajar = undefined;
  }

  #ajarNow(): void {
    this.#ajar = undefined;
    if (this.#d.lock.state().door !== 'open' || this.#d.visitExplainsDoor()) return;
    const openForMs = Math.round(this.#d.clock.monotonic() - (this.#openedAt ?? this.#d.clock.monotonic()));
    this.#d.log.warn({ openForMs }, 'door ajar');
    this.#alarm('door-ajar');
    this.#d.notify({ kind: 'door-ajar', openForMs });
  }

  #alarm(kind: AlarmKind): void {
    try {
      this.#d.audit.append({ type: 'alarm', body: { kind } });
    } catch (err) {
      this.#d.onAuditFailure(err);
    }
  }
}
