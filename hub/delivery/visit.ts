/**
 * One visit in memory: the facts the state machine has learnt (grant, when the door opened, the
 * recording, the outcome and its receipt) and a way to wait for the world to change. Everything
 * that can move a visit on — the courier asking to relock, a door or bolt report from the lock, a
 * camera stall, the daemon stopping, a timer on the Clock — pokes it; a waiting step re-reads the
 * facts. The journal holds the durable copy of what matters (hub/store/visit-journal.ts).
 */
import type { VisitState } from '../../protocols/audit/events.js';
import type { ReceiptOutcome } from '../../protocols/grant/receipt.js';
import type { Recording } from '../camera/recorder.js';
import type { VisitTransport } from '../store/visit-journal.js';
import type { Clock } from '../system/clock.js';
import type { RelockAnswer } from './requests.js';
import type { VisitIdentity } from './steps.js';

export interface VisitGrant {
  id: Uint8Array;
  kind: string;
  subject: string;
  maxEntryMs: number;
}

export class Visit implements VisitIdentity {
  readonly id: string;
  readonly lockId: string;
  readonly transport: VisitTransport;
  grantIdHex?: string;
  grant: VisitGrant | undefined;
  state: VisitState = 'requested';
  openedAtMs: number | undefined;
  recording: Recording | undefined;
  /** The clip id the recording started with (the journal's `clip_id`). */
  clipId: string | undefined;
  outcome: ReceiptOutcome | undefined;
  receipt: Uint8Array | undefined;
  /** Set by the courier's relock request. */
  relockAsked = false;
  /** The camera stalled (or stopped recording) while the door could open. */
  stalled = false;
  /** A bolt report of `locked` arrived since this was last cleared (any actor: a hand on the thumb-turn too). */
  sawLocked = false;
  /** The daemon is stopping: waits return at once. */
  stopping = false;
  /** A boot-time recovery rather than a courier's visit. */
  readonly recovering: boolean;
  readonly #clock: Clock;
  readonly #wakers = new Set<() => void>();
  readonly #receiptWaiters: Array<(answer: RelockAnswer) => void> = [];

  constructor(identity: { id: string; lockId: string; transport: VisitTransport; recovering?: boolean }, clock: Clock) {
    this.id = identity.id;
    this.lockId = identity.lockId;
    this.transport = identity.transport;
    this.recovering = identity.recovering === true;
    this.#clock = clock;
  }

  /** Something changed: every wait re-checks its condition. */
  poke(): void {
    for (const wake of [...this.#wakers]) wake();
  }

  /**
   * Resolves true once `condition` holds, false when the monotonic `deadline` passes first or the
   * daemon stops. Conditions are re-checked on every poke and at the deadline.
   */
  async until(condition: () => boolean, deadline?: number): Promise<boolean> {
    for (;;) {
      if (condition()) return true;
      if (this.stopping) return false;
      const left = deadline === undefined ? undefined : deadline - this.#clock.monotonic();
      if (left !== undefined && left <= 0) return false;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          timer?.cancel();
          this.#wakers.delete(done);
          resolve();
        };
        const timer = left === undefined ? undefined : this.#clock.setTimeout(done, left);
        this.#wakers.add(done);
      });
    }
  }

  /** Waits `ms` on the Clock; false if the daemon stopped first. */
  async pause(ms: number): Promise<boolean> {
    const deadline = this.#clock.monotonic() + ms;
    await this.until(() => false, deadline);
    return !this.stopping;
  }

  /** The receipt once the outcome is known (at once if it is). */
  whenDecided(): Promise<RelockAnswer> {
    if (this.outcome !== undefined && this.receipt !== undefined) return Promise.resolve(this.decidedAnswer());
    return new Promise((resolve) => this.#receiptWaiters.push(resolve));
  }

  /** Answers everyone waiting for the receipt (or for the visit to end without one). */
  settleWaiters(answer: RelockAnswer): void {
    for (const resolve of this.#receiptWaiters.splice(0)) resolve(answer);
  }

  decidedAnswer(): RelockAnswer {
    return { ok: true, visitId: this.id, outcome: this.outcome as ReceiptOutcome, receipt: this.receipt as Uint8Array };
  }
}
