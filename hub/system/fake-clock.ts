import type { Clock, Timer } from './clock.js';

interface Scheduled {
  id: number;
  due: number;
  fn: () => void;
  every: number | undefined;
  cancelled: boolean;
}

/**
 * A Clock for tests. Monotonic and wall time advance together with `advance()`; `setWall()` moves
 * only the wall clock (an NTP step or an RTC reset) and never fires a timer, because timers run on
 * monotonic time, as the real hub's do.
 */
export class FakeClock implements Clock {
  #mono: number;
  #wall: number;
  #nextId = 1;
  #timers: Scheduled[] = [];

  constructor(options: { wallMs?: number; monotonicMs?: number } = {}) {
    this.#wall = options.wallMs ?? Date.UTC(2026, 10, 25, 9, 0, 0);
    this.#mono = options.monotonicMs ?? 1_000;
  }

  now(): number {
    return this.#wall;
  }

  monotonic(): number {
    return this.#mono;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    return this.#schedule(fn, ms, undefined);
  }

  setInterval(fn: () => void, ms: number): Timer {
    if (!(ms > 0)) throw new RangeError(`interval must be > 0 ms, got ${ms}`);
    return this.#schedule(fn, ms, ms);
  }

  /** Jump the wall clock only (e.g. an RTC that lost power). */
  setWall(wallMs: number): void {
    this.#wall = wallMs;
  }

  /** Timers not yet fired or cancelled. */
  pending(): number {
    return this.#timers.filter((t) => !t.cancelled).length;
  }

  /**
   * Move both clocks forward by `ms`, firing due timers in order. Between timers the microtask queue
   * is drained, so promise chains started by one timer run before the next fires, as they would for
   * real.
   */
  async advance(ms: number): Promise<void> {
    if (!(ms >= 0)) throw new RangeError(`cannot advance by ${ms} ms`);
    const target = this.#mono + ms;
    await flushMicrotasks();
    for (;;) {
      const next = this.#nextDue(target);
      if (next === undefined) break;
      this.#moveTo(next.due);
      if (next.every === undefined) next.cancelled = true;
      else next.due += next.every;
      next.fn();
      await flushMicrotasks();
    }
    this.#moveTo(target);
    this.#timers = this.#timers.filter((t) => !t.cancelled);
  }

  #schedule(fn: () => void, ms: number, every: number | undefined): Timer {
    const entry: Scheduled = { id: this.#nextId++, due: this.#mono + Math.max(0, ms), fn, every, cancelled: false };
    this.#timers.push(entry);
    return {
      cancel: () => {
        entry.cancelled = true;
      },
    };
  }

  #nextDue(limit: number): Scheduled | undefined {
    let best: Scheduled | undefined;
    for (const t of this.#timers) {
      if (t.cancelled || t.due > limit) continue;
      if (best === undefined || t.due < best.due || (t.due === best.due && t.id < best.id)) best = t;
    }
    return best;
  }

  #moveTo(mono: number): void {
    this.#wall += mono - this.#mono;
    this.#mono = mono;
  }
}

async function flushMicrotasks(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}
