import { MAX_REFUSAL_KINDS, type AuditBody } from '../../protocols/audit/events.js';
import type { DownlinkKind } from '../../protocols/mqtt/contract.js';
import type { AuditLog } from '../store/audit-log.js';
import type { Clock, Timer } from '../system/clock.js';
import type { Logger } from '../system/logger.js';

export interface RefusalLimits {
  /** Refusals of one kind (topic and reason code) recorded in full per interval. */
  inFullPerKind: number;
  /** Refusals recorded in full per interval, all kinds together. */
  inFullTotal: number;
  intervalMs: number;
}

export const DEFAULT_REFUSAL_LIMITS: RefusalLimits = { inFullPerKind: 5, inFullTotal: 20, intervalMs: 60_000 };

type Kinds = AuditBody<'downlink.refusals'>['kinds'];

interface Window {
  inFull: number;
  perKind: Map<string, number>;
  /** What this window counted and has not yet written, if anything. */
  counted: { kinds: Map<string, Kinds[number]>; count: number; firstSeq: number; lastSeq: number; firstAtMs: number; lastAtMs: number } | undefined;
}

/**
 * Flood control for refused downlink payloads. Each refusal used to be one synchronous FULL audit
 * entry and one warn line: a burst of garbage on the hub's own topics (a broken or hijacked cloud
 * account can publish there) filled the log at the rate it was sent. Within an interval, which
 * opens at the first refusal, the first `inFullPerKind` of each kind and at most `inFullTotal` in
 * all are recorded in full by the caller; the rest are counted here, and one `downlink.refusals`
 * entry says how many, of which kinds and where in the chain, when the interval ends (or at stop,
 * or when it would list more than MAX_REFUSAL_KINDS kinds). So a sustained flood writes at most
 * inFullTotal + 1 entries per interval, and every refusal is accounted for.
 *
 * Only refusals that changed nothing come here: a command refused after it ran (the lock did not
 * confirm) is always on record in full.
 */
export class RefusalFlood {
  readonly #limits: RefusalLimits;
  readonly #clock: Clock;
  readonly #audit: Pick<AuditLog, 'append' | 'head'>;
  readonly #log: Logger;
  readonly #onAuditFailure: (err: unknown) => void;
  #window: Window | undefined;
  #timer: Timer | undefined;

  constructor(options: { limits: RefusalLimits; clock: Clock; audit: Pick<AuditLog, 'append' | 'head'>; log: Logger; onAuditFailure: (err: unknown) => void }) {
    this.#limits = options.limits;
    this.#clock = options.clock;
    this.#audit = options.audit;
    this.#log = options.log;
    this.#onAuditFailure = options.onAuditFailure;
  }

  /**
   * Whether this refusal goes on record in full; false: it was counted for the interval's
   * `downlink.refusals` entry. Throws only if that entry had to be written now and could not be.
   */
  admit(kind: DownlinkKind, reason: number): boolean {
    const w = this.#window ?? this.#open();
    const key = `${kind}:${reason}`;
    const seen = w.perKind.get(key) ?? 0;
    if (seen < this.#limits.inFullPerKind && w.inFull < this.#limits.inFullTotal) {
      w.perKind.set(key, seen + 1);
      w.inFull += 1;
      return true;
    }
    if (w.counted !== undefined && !w.counted.kinds.has(key) && w.counted.kinds.size >= MAX_REFUSAL_KINDS) this.#write(w);
    const seq = this.#audit.head().seq;
    const now = Math.floor(this.#clock.now());
    w.counted ??= { kinds: new Map(), count: 0, firstSeq: seq, lastSeq: seq, firstAtMs: now, lastAtMs: now };
    const c = w.counted;
    const k = c.kinds.get(key) ?? { kind, reason, count: 0 };
    k.count += 1;
    c.kinds.set(key, k);
    c.count += 1;
    c.lastSeq = seq;
    c.lastAtMs = now;
    return false;
  }

  /** Writes what is counted; nothing is left unaccounted at a clean stop. */
  stop(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    const w = this.#window;
    this.#window = undefined;
    if (w !== undefined) this.#write(w);
  }

  #open(): Window {
    const w: Window = { inFull: 0, perKind: new Map(), counted: undefined };
    this.#window = w;
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.#window = undefined;
      try {
        this.#write(w);
      } catch (err) {
        // Never caught and logged: an audit write failed (DESIGN.md, Rules of the house).
        this.#onAuditFailure(err);
      }
    }, this.#limits.intervalMs);
    return w;
  }

  #write(w: Window): void {
    const c = w.counted;
    if (c === undefined) return;
    w.counted = undefined;
    const body: AuditBody<'downlink.refusals'> = {
      count: c.count,
      kinds: [...c.kinds.values()].map((k) => ({ ...k })),
      firstSeq: c.firstSeq,
      lastSeq: c.lastSeq,
      firstAtMs: c.firstAtMs,
      lastAtMs: c.lastAtMs,
    };
    this.#log.warn({ count: body.count, kinds: body.kinds }, 'downlink payloads refused (counted, past the first of their kind)');
    this.#audit.append({ type: 'downlink.refusals', body });
  }
}
