import type { Clock, Timer } from '../system/clock.js';
import type { Module } from '../system/lifecycle.js';
import type { Logger } from '../system/logger.js';
import { AuditLog, DEFAULT_CHECKPOINT_EVERY } from './audit-log.js';
import { hubId, lastRun, uncleanRuns } from './daemon-runs.js';
import type { HubKey } from './hub-key.js';
import type { Store } from './store.js';

export interface AuditRetention {
  /** Entries acked by the cloud and older than this may go (the cloud holds them). */
  keepMs: number;
  /** How often to look (monotonic). */
  everyMs: number;
}

/**
 * The audit log as a room: the log itself (on the open store, signing with the hub key) is the
 * service, made at once; the module records `boot` on start and `shutdown` (and a checkpoint at
 * the head) on stop, and prunes by the retention rule on a timer, first one minute after start. A prune is an audit write
 * (a checkpoint at the cut, a `prune` entry): one that fails goes to `onAuditFailure`, as every
 * audit write failure does (main.ts stops the daemon non-zero), never into an uncaught exception.
 */
export function auditRoom(deps: {
  store: Store;
  hubKey: HubKey;
  clock: Clock;
  log: Logger;
  version: string;
  checkpointEvery?: number;
  retention?: AuditRetention;
  onAuditFailure: (err: unknown) => void;
}): { module: Module; service: AuditLog } {
  const { store } = deps;
  const audit = new AuditLog({
    store,
    clock: deps.clock,
    hubId: hubId(store),
    hubKey: deps.hubKey,
    checkpointEvery: deps.checkpointEvery ?? DEFAULT_CHECKPOINT_EVERY,
    log: deps.log,
  });
  let timer: Timer | undefined;
  let first: Timer | undefined;
  let started = false;
  const module: Module = {
    name: 'audit',
    start() {
      audit.append({ type: 'boot', body: { version: deps.version.slice(0, 64), uncleanBefore: Math.min(1_000_000, uncleanRuns(store, lastRun(store)?.id ?? Number.MAX_SAFE_INTEGER)) } });
      started = true;
      const retention = deps.retention;
      if (retention !== undefined) {
        const prune = (): void => {
          try {
            audit.prune(deps.clock.now() - retention.keepMs);
          } catch (err) {
            deps.onAuditFailure(err);
          }
        };
        first = deps.clock.setTimeout(prune, Math.min(60_000, retention.everyMs));
        timer = deps.clock.setInterval(prune, retention.everyMs);
      }
    },
    stop() {
      first?.cancel();
      timer?.cancel();
      if (!started) return;
      started = false;
      audit.append({ type: 'shutdown', body: { reason: 'stop' } });
      audit.checkpointNow();
    },
  };
  return { module, service: audit };
}
