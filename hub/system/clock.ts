/**
 * Time as the hub sees it. Two clocks, kept apart on purpose:
 * - wall time (`now()`, ms since the Unix epoch) can jump: NTP steps, a reset RTC. It decides grant
 *   windows and is guarded by the clock floor.
 * - monotonic time (`monotonic()`, ms from an arbitrary origin) never goes back; every timeout,
 *   stall detector and interval is measured on it.
 * Modules never call Date.now() or setTimeout directly: they get a Clock, so tests drive time.
 */
export interface Timer {
  cancel(): void;
}

export interface Clock {
  now(): number;
  monotonic(): number;
  setTimeout(fn: () => void, ms: number): Timer;
  setInterval(fn: () => void, ms: number): Timer;
}

export function systemClock(): Clock {
  return {
    now: () => Date.now(),
    monotonic: () => performance.now(),
    setTimeout(fn, ms) {
      const t = setTimeout(fn, ms);
      return { cancel: () => clearTimeout(t) };
    },
    setInterval(fn, ms) {
      const t = setInterval(fn, ms);
      return { cancel: () => clearInterval(t) };
    },
  };
}

/** Resolves after `ms` on the given clock; rejects with the signal's reason when aborted first. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      timer.cancel();
      reject(signal?.reason);
    };
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
