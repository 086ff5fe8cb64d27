import type { Clock } from '../../../hub/system/clock.js';

/**
 * Runs `fn` after `ms` on the simulation's clock; with 0 ms on the next turn of the event loop
 * (setImmediate), as a radio or a motor never answers synchronously. Keeping the zero case off
 * the Clock lets tests on a FakeClock run protocol exchanges without advancing time, while every
 * real delay (latency, bolt travel) stays under the test's control.
 */
export function after(clock: Clock, ms: number, fn: () => void): { cancel(): void } {
  if (ms > 0) return clock.setTimeout(fn, ms);
  const handle = setImmediate(fn);
  return { cancel: () => clearImmediate(handle) };
}
