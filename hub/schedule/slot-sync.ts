/**
 * Keeps the hub's keypad slots holding what they should now, and knows what they hold: only what
 * the lock read back counts (Lock.setCode / clearCode confirm by reading the slot back; codes()
 * reads every slot). One worker does one thing at a time, in this order: a reconcile pass when one
 * is due, then clears (out-of-window ones first), then sets. A set or clear that fails leaves the
 * slot `unknown` and is retried with exponential backoff; a failure that is the lock's, not the
 * slot's (timeout, unreachable, not paired), holds every slot back until the lock answers again.
 *
 * Before a command goes out the slot is written down as `unknown`, so a hub that stops mid-command
 * finds at its next start a slot to read back, never a guess. Everything confirmed is audited
 * (code.slot; code.drift when a read-back differs from what the hub had confirmed), with the PIN
 * only as its keyed hash, and error texts from drivers scrubbed of it.
 */
import type { AuditEvent } from '../../protocols/audit/events.js';
import type { Lock } from '../lock/lock.js';
import type { ScheduleStore, SlotRecord } from '../store/schedule-store.js';
import type { Clock, Timer } from '../system/clock.js';
import { ErrorCode, isHubError } from '../system/errors.js';
import type { Logger } from '../system/logger.js';
import type { ScheduledCode } from './model.js';
import type { PinHasher } from './pin-hash.js';
import { scrubPin } from './pin-hash.js';
import { driftOf, holds, type SlotReading, type SlotWant } from './slot-drift.js';

export interface SlotAssignment {
  /** The code that owns the slot, if any. */
  code: ScheduledCode | undefined;
  want: SlotWant;
}

export interface SlotFailure {
  action: 'set' | 'clear' | 'read';
  attempts: number;
  code: ErrorCode | undefined;
  /** Scrubbed of the PIN. */
  message: string;
  sinceMs: number;
  /** Monotonic time of the next attempt. */
  retryAtMono: number;
}

export interface SlotStatus {
  believed: SlotRecord | undefined;
  inFlight: 'set' | 'clear' | undefined;
  /** The slot's own failure, or the lock's while it holds every slot back. */
  failure: SlotFailure | undefined;
}

export interface SlotSyncDeps {
  lock: Lock;
  clock: Clock;
  log: Logger;
  repo: Pick<ScheduleStore, 'slots' | 'putSlot' | 'write'>;
  audit: { append(event: AuditEvent): unknown };
  hasher: PinHasher;
  slots: { first: number; last: number };
  /** What every slot of the range should hold now (a slot missing from the map: empty). */
  wants(): Map<number, SlotAssignment>;
  /** A set or clear was read back. */
  onConfirmed(slot: number, action: 'set' | 'clear'): void;
  /** The first failure of a run: the homeowner is told (a clear that fails may leave a code usable). */
  onFailing(slot: number, action: 'set' | 'clear', code: ScheduledCode | undefined, why: string): void;
  onAuditFailure(err: unknown): void;
  backoff?: { minMs: number; maxMs: number };
}

/** Failures of the lock as a whole: every slot would fail the same way, so all wait. */
const LOCK_LEVEL = new Set<ErrorCode>([
  ErrorCode.LOCK_TIMEOUT,
  ErrorCode.LOCK_UNREACHABLE,
  ErrorCode.LOCK_NOT_PAIRED,
  ErrorCode.LOCK_DRIVER_STOPPED,
  ErrorCode.LOCK_DRIVER_FAILED,
  ErrorCode.BLE_UNAVAILABLE,
  ErrorCode.BLE_OUT_OF_RANGE,
  ErrorCode.BLE_LINK_LOST,
]);

type Op = { slot: number; action: 'set' | 'clear'; code: ScheduledCode | undefined };

export class SlotSync {
  readonly #d: SlotSyncDeps;
  readonly #backoff: { minMs: number; maxMs: number };
  #believed = new Map<number, SlotRecord>();
  readonly #failures = new Map<number, SlotFailure>();
  #hold: SlotFailure | undefined;
  #reconcileDue = false;
  #passedSinceOp = false;
  #reconcileFailure: SlotFailure | undefined;
  readonly #urgent = new Set<number>();
  #inFlight: { slot: number; action: 'set' | 'clear' } | undefined;
  #worker: Promise<void> | undefined;
  #again = false;
  #retryTimer: Timer | undefined;
  #stopped = false;
  #ownerHashes = new Set<string>();
  #lockSlots: number | undefined;

  constructor(deps: SlotSyncDeps) {
    this.#d = deps;
    this.#backoff = deps.backoff ?? { minMs: 5_000, maxMs: 300_000 };
  }

  /** Reads what the store says each slot held when last confirmed. */
  load(): void {
    this.#believed = this.#d.repo.slots();
  }

  /** Something changed (a window edge, a code): look at every slot again. */
  kick(): void {
    if (this.#stopped) return;
    if (this.#worker !== undefined) {
      this.#again = true;
      return;
    }
    this.#worker = this.#run().finally(() => {
      this.#worker = undefined;
      if (this.#again) this.kick();
      else this.#armRetry();
    });
  }

  /** Read every slot back before anything else (boot, reconnect, periodic, codes changed at the lock). */
  reconcileSoon(): void {
    this.#reconcileDue = true;
    this.kick();
  }

  /** The lock is back: what waited for it goes now. */
  retryNow(): void {
    this.#hold = undefined;
    for (const f of this.#failures.values()) f.retryAtMono = this.#d.clock.monotonic();
    if (this.#reconcileFailure !== undefined) this.#reconcileFailure.retryAtMono = this.#d.clock.monotonic();
    this.kick();
  }

  /**
   * A code was just used at the keypad when it should not have been: the lock holds it, so the
   * slot is cleared before anything else, backoff or not.
   */
  urgentClear(slot: number, pinHash: string | undefined): void {
    const b = this.#believed.get(slot);
    if (b?.content === 'empty') {
      // The hub had read it back empty: the lock reported a use from before the clear. Look again.
      this.reconcileSoon();
      return;
    }
    this.#setBelieved({ slot, content: 'code', pinHash: pinHash ?? b?.pinHash, readAtMs: this.#d.clock.now() });
    this.#urgent.add(slot);
    this.kick();
  }

  status(slot: number): SlotStatus {
    const own = this.#failures.get(slot);
    return { believed: this.#believed.get(slot), inFlight: this.#inFlight?.slot === slot ? this.#inFlight.action : undefined, failure: own ?? this.#hold };
  }

  /** The last reconcile pass's failure, while it is not resolved. */
  readFailure(): SlotFailure | undefined {
    return this.#reconcileFailure;
  }

  /** Keyed hashes of the codes in the owner's slots at the last reconcile (a new PIN must differ). */
  ownerPinHashes(): ReadonlySet<string> {
    return this.#ownerHashes;
  }

  /** How many slots the lock has, once a reconcile pass has read them. */
  lockSlotCount(): number | undefined {
    return this.#lockSlots;
  }

  /** Resolves once nothing is running and nothing is due now (retries later do not count). */
  async idle(): Promise<void> {
    while (this.#worker !== undefined) await this.#worker;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#retryTimer?.cancel();
    await this.#worker;
  }

  // --- the worker ---------------------------------------------------------------------------

  async #run(): Promise<void> {
    do {
      this.#again = false;
      while (!this.#stopped) {
        const now = this.#d.clock.monotonic();
        const op = this.#nextOp(now);
        // A pass asked for again right after one (a lock that keeps reporting code changes) waits
        // for the next slot command: edges are never starved by reconciling.
        const passDue = this.#reconcileDue && !this.#held(now) && (this.#reconcileFailure?.retryAtMono ?? 0) <= now;
        if (passDue && (op === undefined || !this.#passedSinceOp)) {
          this.#reconcileDue = false;
          this.#passedSinceOp = true;
          await this.#reconcile();
          continue;
        }
        if (op === undefined) break;
        this.#passedSinceOp = false;
        await this.#perform(op);
      }
    } while (this.#again && !this.#stopped);
  }

  /**
   * The slots the hub looks after: its range, and any slot a code of its still holds (a range made
   * smaller in config must not leave a code in the lock that nothing clears any more).
   */
  #managed(wants: Map<number, SlotAssignment>): number[] {
    const slots = new Set<number>(wants.keys());
    for (let slot = this.#d.slots.first; slot <= this.#d.slots.last; slot++) slots.add(slot);
    return [...slots].sort((a, b) => a - b);
  }

  #held(now: number): boolean {
    return this.#hold !== undefined && this.#hold.retryAtMono > now;
  }

  #nextOp(now: number): Op | undefined {
    const wants = this.#d.wants();
    let best: { op: Op; rank: number } | undefined;
    for (const slot of this.#managed(wants)) {
      const a = wants.get(slot) ?? { code: undefined, want: { content: 'empty' as const } };
      const b = this.#believed.get(slot);
      const urgent = this.#urgent.has(slot);
      if (b !== undefined && holds(b, a.want)) {
        this.#urgent.delete(slot);
        this.#failures.delete(slot);
        continue;
      }
      // A slot never read back that should be empty waits for a reconcile pass: clearing blindly
      // would send a command to every slot of a new hub while its first read is failing.
      if (b === undefined && a.want.content === 'empty' && !urgent) continue;
      if (a.want.content === 'code' && a.code?.pin === undefined) continue;
      if (!urgent && (this.#held(now) || (this.#failures.get(slot)?.retryAtMono ?? 0) > now)) continue;
      const action = a.want.content === 'code' ? 'set' : 'clear';
      const rank = (urgent ? 0 : action === 'clear' ? 1 : 2) * 1000 + slot;
      if (best === undefined || rank < best.rank) best = { op: { slot, action, code: a.code }, rank };
    }
    return best?.op;
  }

  async #perform(op: Op): Promise<void> {
    const { slot, action, code } = op;
    const clock = this.#d.clock;
    this.#urgent.delete(slot);
    this.#inFlight = { slot, action };
    this.#setBelieved({ slot, content: 'unknown', pinHash: undefined, readAtMs: clock.now() });
    try {
      if (action === 'set') await this.#d.lock.setCode(slot, code?.pin ?? '');
      else await this.#d.lock.clearCode(slot);
    } catch (err) {
      this.#inFlight = undefined;
      this.#failed(op, err);
      return;
    }
    this.#inFlight = undefined;
    const attempts = (this.#failures.get(slot)?.attempts ?? 0) + 1;
    this.#failures.delete(slot);
    this.#hold = undefined;
    const record: SlotRecord = { slot, content: action === 'set' ? 'code' : 'empty', pinHash: action === 'set' ? code?.pinHash : undefined, readAtMs: clock.now() };
    this.#audited(() => {
      this.#d.repo.write('full', () => {
        this.#d.repo.putSlot(record);
        this.#d.audit.append({
          type: 'code.slot',
          body: {
            slot,
            action,
            outcome: 'confirmed',
            ...(code === undefined ? {} : { codeId: code.id }),
            ...(action === 'set' && code !== undefined ? { pinHash: code.pinHash } : {}),
            ...(attempts > 1 ? { attempts } : {}),
          },
        });
      });
    });
    this.#believed.set(slot, record);
    this.#d.log.info({ slot, action, codeId: code?.id, attempts }, `slot ${slot} ${action === 'set' ? 'set' : 'cleared'} and read back`);
    this.#d.onConfirmed(slot, action);
  }

  #failed(op: Op, err: unknown): void {
    const { slot, action, code } = op;
    const clock = this.#d.clock;
    const errCode = isHubError(err) ? err.code : undefined;
    const message = scrubPin(String((err as Error)?.message ?? err), code?.pin);
    const previous = this.#failures.get(slot);
    const attempts = (previous?.attempts ?? 0) + 1;
    const failure: SlotFailure = {
      action,
      attempts,
      code: errCode,
      message,
      sinceMs: previous?.sinceMs ?? clock.now(),
      retryAtMono: clock.monotonic() + this.#delay(attempts),
    };
    this.#failures.set(slot, failure);
    if (errCode !== undefined && LOCK_LEVEL.has(errCode)) {
      const holdAttempts = (this.#hold?.attempts ?? 0) + 1;
      this.#hold = { ...failure, attempts: holdAttempts, retryAtMono: clock.monotonic() + this.#delay(holdAttempts) };
    }
    this.#d.log.warn({ slot, action, code: errCode, attempts, err: message }, `slot ${slot}: ${action} failed; retrying`);
    if (attempts > 1) return;
    this.#audited(() =>
      this.#d.audit.append({
        type: 'code.slot',
        body: { slot, action, outcome: 'failed', ...(code === undefined ? {} : { codeId: code.id }), ...(errCode === undefined ? {} : { reason: errCode }) },
      }),
    );
    this.#d.onFailing(slot, action, code, message);
  }

  async #reconcile(): Promise<void> {
    const clock = this.#d.clock;
    let read;
    try {
      read = await this.#d.lock.codes();
    } catch (err) {
      const attempts = (this.#reconcileFailure?.attempts ?? 0) + 1;
      const code = isHubError(err) ? err.code : undefined;
      // Warned once per cause; the retries that follow (with backoff) are debug lines.
      const known = this.#reconcileFailure !== undefined && this.#reconcileFailure.code === code;
      this.#reconcileFailure = {
        action: 'read',
        attempts,
        code,
        message: String((err as Error)?.message ?? err),
        sinceMs: this.#reconcileFailure?.sinceMs ?? clock.now(),
        retryAtMono: clock.monotonic() + this.#delay(attempts),
      };
      this.#reconcileDue = true;
      this.#d.log[known ? 'debug' : 'warn']({ code, attempts, err: this.#reconcileFailure.message }, 'could not read the keypad slots back; retrying');
      return;
    }
    this.#reconcileFailure = undefined;
    this.#lockSlots = read.length;
    const bySlot = new Map(read.map((s) => [s.slot, s]));
    const wants = this.#d.wants();
    const managed = this.#managed(wants);
    const owner = new Set<string>();
    for (const s of read) if (!managed.includes(s.slot) && s.code !== undefined) owner.add(this.#d.hasher.hash(s.code));
    this.#ownerHashes = owner;
    const now = clock.now();
    for (const slot of managed) {
      const r = bySlot.get(slot);
      // A slot the lock does not have holds nothing; a set into it fails with the driver's reason.
      const found: SlotReading =
        r?.inUse === true ? { content: 'code', pinHash: r.code === undefined ? undefined : this.#d.hasher.hash(r.code) } : { content: 'empty', pinHash: undefined };
      const assigned = wants.get(slot) ?? { code: undefined, want: { content: 'empty' as const } };
      const drift = driftOf(this.#believed.get(slot), found, assigned.want);
      const record: SlotRecord = { slot, ...found, readAtMs: now };
      this.#audited(() => {
        this.#d.repo.write(drift === undefined ? 'normal' : 'full', () => {
          this.#d.repo.putSlot(record);
          if (drift === undefined) return;
          this.#d.audit.append({
            type: 'code.drift',
            body: { slot, what: drift, ...(assigned.code === undefined ? {} : { codeId: assigned.code.id }), ...(found.pinHash === undefined ? {} : { foundHash: found.pinHash }) },
          });
        });
      });
      if (drift !== undefined) this.#d.log.warn({ slot, drift, codeId: assigned.code?.id }, `slot ${slot} read back differs from what the hub confirmed (${drift}): re-syncing`);
      this.#believed.set(slot, record);
    }
    this.#d.log.info({ slots: read.length }, 'keypad slots read back');
  }

  #setBelieved(record: SlotRecord): void {
    this.#believed.set(record.slot, record);
    this.#audited(() => this.#d.repo.putSlot(record));
  }

  #audited(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#d.onAuditFailure(err);
    }
  }

  #delay(attempts: number): number {
    return Math.min(this.#backoff.maxMs, this.#backoff.minMs * 2 ** Math.min(30, attempts - 1));
  }

  /** One timer for the earliest retry that is waiting. */
  #armRetry(): void {
    this.#retryTimer?.cancel();
    this.#retryTimer = undefined;
    if (this.#stopped) return;
    const now = this.#d.clock.monotonic();
    const times: number[] = [];
    if (this.#held(now)) times.push((this.#hold as SlotFailure).retryAtMono);
    else for (const f of this.#failures.values()) times.push(f.retryAtMono);
    if (this.#reconcileDue && this.#reconcileFailure !== undefined) times.push(this.#reconcileFailure.retryAtMono);
    // A retry already due that the worker passed over waits for something else (a window): no timer.
    const future = times.filter((t) => t > now);
    if (future.length === 0) return;
    const delay = Math.min(...future) - now;
    this.#retryTimer = this.#d.clock.setTimeout(() => this.kick(), delay);
  }
}
