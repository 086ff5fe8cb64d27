/**
 * Wakes the schedule at every window edge, on the Clock. Edges are wall-clock instants and timers
 * run on monotonic time (hub/system/clock.ts), so a wall clock that is stepped (NTP, a reset RTC)
 * would leave a timer pointing at the wrong moment: no timer is set longer than `watchMs`, and
 * each wake compares wall and monotonic time; when they moved apart by more than `jumpToleranceMs`
 * the edges are computed again and the slots looked at at once. A restart computes them afresh.
 */
import type { Clock, Timer } from '../system/clock.js';
import type { LocalTimes } from '../system/local-time.js';
import type { Logger } from '../system/logger.js';
import type { ScheduledCode } from './model.js';
import { EDGE_HORIZON_MS, nextEdge } from './windows.js';

export interface EdgeTimerDeps {
  clock: Clock;
  log: Logger;
  times: LocalTimes;
  codes(): readonly ScheduledCode[];
  /** An edge came (or the wall clock moved): what the slots should hold may have changed. */
  onEdge(): void;
  watchMs: number;
  jumpToleranceMs?: number;
}

export class EdgeTimer {
  readonly #d: EdgeTimerDeps;
  readonly #tolerance: number;
  #timer: Timer | undefined;
  #nextAt: number | undefined;
  #offset = 0;
  #running = false;
  /** Each code's next edge, valid until `until` (computing one enumerates days of zone rules). */
  readonly #cache = new Map<string, { at: number | undefined; until: number }>();

  constructor(deps: EdgeTimerDeps) {
    if (!(deps.watchMs > 0)) throw new RangeError('watchMs must be > 0');
    this.#d = deps;
    this.#tolerance = deps.jumpToleranceMs ?? 2_000;
  }

  /** The next edge (wall ms) the timer waits for. */
  get nextAtMs(): number | undefined {
    return this.#nextAt;
  }

  start(): void {
    this.#running = true;
    this.#offset = this.#d.clock.now() - this.#d.clock.monotonic();
    this.rearm();
  }

  stop(): void {
    this.#running = false;
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  /** Codes changed: compute every next edge again. */
  rearm(): void {
    this.#cache.clear();
    this.#arm();
  }

  #arm(): void {
    if (!this.#running) return;
    this.#timer?.cancel();
    const now = this.#d.clock.now();
    let next: number | undefined;
    for (const code of this.#d.codes()) {
      if (code.removed) continue;
      const t = this.#edgeOf(code, now);
      if (t !== undefined && (next === undefined || t < next)) next = t;
    }
    this.#nextAt = next;
    const delay = next === undefined ? this.#d.watchMs : Math.min(this.#d.watchMs, Math.max(0, next - now));
    this.#timer = this.#d.clock.setTimeout(() => this.#wake(), delay);
  }

  #wake(): void {
    if (!this.#running) return;
    const { clock } = this.#d;
    const now = clock.now();
    const offset = now - clock.monotonic();
    const moved = offset - this.#offset;
    this.#offset = offset;
    const jumped = Math.abs(moved) > this.#tolerance;
    if (jumped) this.#d.log.warn({ movedMs: Math.round(moved) }, 'the wall clock moved: window edges computed again');
    if (jumped) this.#cache.clear();
    if (jumped || (this.#nextAt !== undefined && now >= this.#nextAt)) this.#d.onEdge();
    this.#arm();
  }

  #edgeOf(code: ScheduledCode, now: number): number | undefined {
    const cached = this.#cache.get(code.id);
    if (cached !== undefined && now < cached.until) return cached.at;
    const edge = nextEdge(this.#d.times, code, now);
    // An expiry is a moment too: a code that is over has its PIN erased then.
    const expiry = code.expiresAtMs !== undefined && code.expiresAtMs > now ? code.expiresAtMs : undefined;
    const at = edge === undefined ? expiry : expiry === undefined ? edge : Math.min(edge, expiry);
    // Nothing within the horizon: look again a day before it ends.
    this.#cache.set(code.id, { at, until: at ?? now + EDGE_HORIZON_MS - 86_400_000 });
    return at;
  }
}
