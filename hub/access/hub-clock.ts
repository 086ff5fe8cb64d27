/**
 * The hub's sense of time, and the one rule for moving its clock floor (README, "Security model:
 * the clock floor"). Three readings:
 *
 * - own time: what the hub vouches for on nobody's word. The wall clock read at start if it was at
 *   or above floor − skew then, else the floor itself, or the last root-signed time once one came;
 *   counted on with the monotonic clock, so a wall clock stepped while running does not move it.
 * - decision time: the wall clock while it is at or above floor − skew; otherwise the latest
 *   signed time (an issuer's or the root's) counted on with the monotonic clock; otherwise the wall
 *   clock, which decide() then refuses as CLOCK_UNTRUSTED.
 * - the ceiling: own time + skew. No raise of the floor goes past it — not an allowed grant's issue
 *   time (authorize.ts), not an issuer's signed time — so nothing an issuer signs can put the floor
 *   where the hub's own clock would stop being trusted. Only a root-signed time moves the floor
 *   beyond it, or down (`rootTime`), and the caller puts that on record.
 */
import type { ClockFloor, FloorSource } from '../store/clock-floor.js';
import type { Clock } from '../system/clock.js';

interface Mark {
  ms: number;
  mono: number;
}

export class HubClock {
  readonly #clock: Clock;
  readonly #floor: ClockFloor;
  readonly #skewMs: number;
  #own: Mark;
  #anchor: Mark | undefined;

  constructor(o: { clock: Clock; floor: ClockFloor; skewMs: number }) {
    this.#clock = o.clock;
    this.#floor = o.floor;
    this.#skewMs = o.skewMs;
    const wall = o.clock.now();
    const floor = o.floor.floorMs();
    this.#own = { ms: wall >= floor - o.skewMs ? wall : floor, mono: o.clock.monotonic() };
  }

  floorMs(): number {
    return this.#floor.floorMs();
  }

  floorSource(): FloorSource {
    return this.#floor.source();
  }

  /** Whole milliseconds: the system clock's monotonic time is fractional, stored times are not. */
  ownMs(): number {
    return Math.floor(this.#own.ms + (this.#clock.monotonic() - this.#own.mono));
  }

  /** The highest the floor may be raised to now. */
  ceilingMs(): number {
    return this.ownMs() + this.#skewMs;
  }

  /** The wall time decisions use (see the header). */
  now(): number {
    const wall = this.#clock.now();
    if (wall >= this.floorMs() - this.#skewMs || this.#anchor === undefined) return Math.floor(wall);
    return Math.floor(this.#anchor.ms + (this.#clock.monotonic() - this.#anchor.mono));
  }

  trusted(): boolean {
    return this.now() >= this.floorMs() - this.#skewMs;
  }

  /** Raises the floor toward `ms`, never past the ceiling; returns the floor after. */
  raise(ms: number, source: 'grant' | 'signed-time'): number {
    return this.#floor.raise(Math.min(ms, this.ceilingMs()), source);
  }

  /** An issuer's signed time: decisions count on from it while the wall clock is behind; the floor rises toward it. */
  issuerTime(ms: number): void {
    this.#anchor = { ms, mono: this.#clock.monotonic() };
    this.raise(ms, 'signed-time');
  }

  /**
   * A root-signed time, once its floor is on disk (signed-time.ts sets it there with its record):
   * own time and decisions count on from it.
   */
  rootTime(ms: number): void {
    const mark = { ms, mono: this.#clock.monotonic() };
    this.#own = mark;
    this.#anchor = mark;
  }

  /** A clean stop: the floor rises to the hub's clock, no further than its own time. */
  stop(): void {
    this.#floor.raise(Math.min(this.now(), this.ownMs()), 'shutdown');
  }
}
