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
  for (const mod of [...started].reverse()) {
    try {
      log.debug({ module: mod.name }, 'stopping');
      await mod.stop();
    } catch (err) {
      failed.push(mod.name);
      log.error({ module: mod.name, err }, 'module failed to stop cleanly');
    }
  }
  return failed;
}

/** Runs stopAll, but gives up after `deadlineMs` on the monotonic clock. */
export async function stopWithin(
  started: readonly Module[],
  deadlineMs: number,
  clock: Clock,
  log: Logger,
): Promise<{ failed: string[]; timedOut: boolean }> {
  let timer: { cancel(): void } | undefined;
  const deadline = new Promise<'deadline'>((resolve) => {
    timer = clock.setTimeout(() => resolve('deadline'), deadlineMs);
  });
  try {
    const outcome = await Promise.race([stopAll(started, log), deadline]);
    if (outcome === 'deadline') return { failed: [], timedOut: true };
    return { failed: outcome, timedOut: false };
  } finally {
    timer?.cancel();
  }
}
