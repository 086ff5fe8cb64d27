import type { Clock } from './clock.js';
import { ErrorCode, HubError } from './errors.js';
import type { Logger } from './logger.js';

/**
 * What main.ts wires together. A module acquires its resources in `start` (the signal aborts a
 * start that takes too long or a shutdown that arrives meanwhile) and releases them in `stop`.
 * `stop` is only called for modules whose `start` resolved.
 */
export interface Module {
  readonly name: string;
  start(signal: AbortSignal): Promise<void> | void;
  stop(): Promise<void> | void;
}

/**
 * Starts modules in order. If one fails, stops those already started (reverse order) and rethrows
 * the start failure as MODULE_START_FAILED naming the module; a HubError from the module keeps its
 * own code so the exit code stays meaningful (78 for config).
 */
export async function startAll(modules: readonly Module[], signal: AbortSignal, log: Logger): Promise<Module[]> {
  const started: Module[] = [];
  for (const mod of modules) {
    try {
      signal.throwIfAborted();
      log.debug({ module: mod.name }, 'starting');
      await mod.start(signal);
      started.push(mod);
    } catch (err) {
      await stopAll(started, log);
      if (err instanceof HubError) throw err;
      throw new HubError(ErrorCode.MODULE_START_FAILED, `${mod.name} failed to start: ${(err as Error)?.message ?? String(err)}`, {
        cause: err,
      });
    }
  }
  return started;
}

/**
 * Stops modules in reverse order of start. A module whose stop throws is logged and the others
 * still stop; returns the names of the modules that failed.
 */
export async function stopAll(started: readonly Module[], log: Logger): Promise<string[]> {
  const failed: string[] = [];
  for (const mod of [...started].reverse()) if ((await stopOne(mod, log)) === 'failed') failed.push(mod.name);
  return failed;
}

/** Kept back for the modules after one that overruns: the audit log's last entry and the store's close take milliseconds. */
const RESERVE_MS = 1_000;

/**
 * Stops modules in reverse order within `deadlineMs` on the monotonic clock. A module that has not
 * stopped by its share (what is left, less a reserve for the ones after it) is abandoned and the
 * others still stop, so a hung camera or broker connection cannot keep the audit log from writing
 * its `shutdown` entry or the store from closing. `timedOut` says whether any was abandoned.
 */
export async function stopWithin(
  started: readonly Module[],
  deadlineMs: number,
  clock: Clock,
  log: Logger,
): Promise<{ failed: string[]; abandoned: string[]; timedOut: boolean }> {
  const end = clock.monotonic() + deadlineMs;
  const order = [...started].reverse();
  const failed: string[] = [];
  const abandoned: string[] = [];
  for (const [i, mod] of order.entries()) {
    const left = Math.max(0, end - clock.monotonic());
    const budgetMs = i === order.length - 1 ? left : left - Math.min(RESERVE_MS, left / 2);
    const outcome = await stopOne(mod, log, { clock, budgetMs });
    if (outcome === 'failed') failed.push(mod.name);
    if (outcome === 'overran') {
      abandoned.push(mod.name);
      log.error({ module: mod.name, budgetMs: Math.round(budgetMs) }, 'module did not stop in time: abandoned, stopping the others');
    }
  }
  return { failed, abandoned, timedOut: abandoned.length > 0 };
}

async function stopOne(mod: Module, log: Logger, within?: { clock: Clock; budgetMs: number }): Promise<'stopped' | 'failed' | 'overran'> {
  const stopping = (async () => {
    try {
      log.debug({ module: mod.name }, 'stopping');
      await mod.stop();
      return 'stopped' as const;
    } catch (err) {
      log.error({ module: mod.name, err }, 'module failed to stop cleanly');
      return 'failed' as const;
    }
  })();
  if (within === undefined) return stopping;
  let timer: { cancel(): void } | undefined;
  const overran = new Promise<'overran'>((resolve) => {
    timer = within.clock.setTimeout(() => resolve('overran'), within.budgetMs);
  });
  try {
    return await Promise.race([stopping, overran]);
  } finally {
    timer?.cancel();
  }
}
