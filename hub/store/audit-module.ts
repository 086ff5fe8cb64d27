import type { Clock, Timer } from '../system/clock.js';
import type { Module } from '../system/lifecycle.js';
import type { Logger } from '../system/logger.js';
import { AuditLog, DEFAULT_CHECKPOINT_EVERY } from './audit-log.js';
import { hubId, lastRun, uncleanRuns } from './daemon-runs.js';
import { loadOrCreateHubKey } from './hub-key.js';
import type { Store } from './store.js';

export interface AuditModule extends Module {
  /** The open audit log; throws before start and after stop. */
  log(): AuditLog;
}

export interface AuditRetention {
  /** Entries acked by the cloud and older than this may go (issue 8, Audit 4). */
  keepMs: number;
  /** How often to look (monotonic). */
  everyMs: number;
}

/**
 * The audit log as a daemon module: opened on the store after it starts, with the hub key (made on
 * first use), records `boot` on start and `shutdown` (and a checkpoint at the head) on stop, and
 * prunes by the retention rule on a timer, first one minute after start. A prune is an audit write
 * (a checkpoint at the cut, a `prune` entry): one that fails goes to `onAuditFailure`, as every
 * audit write failure does (main.ts stops the daemon non-zero), never into an uncaught exception.
 */
export function auditModule(deps: {
  store: () => Store;
  clock: Clock;
  log: Logger;
  version: string;
  checkpointEvery?: number;
  retention?: AuditRetention;
  onAuditFailure: (err: unknown) => void;
}): AuditModule {
  let audit: AuditLog | undefined;
  let timer: Timer | undefined;
  let first: Timer | undefined;
  return {
    name: 'audit',
    start() {
      const store = deps.store();
      audit = new AuditLog({
        store,
        clock: deps.clock,
        hubId: hubId(store),
        hubKey: loadOrCreateHubKey(store),
        checkpointEvery: deps.checkpointEvery ?? DEFAULT_CHECKPOINT_EVERY,
        log: deps.log,
      });
      audit.append({ type: 'boot', body: { version: deps.version.slice(0, 64), uncleanBefore: Math.min(1_000_000, uncleanRuns(store, lastRun(store)?.id ?? Number.MAX_SAFE_INTEGER)) } });
      const retention = deps.retention;
      if (retention !== undefined) {
        const open = audit;
        const prune = (): void => {
          try {
            open.prune(deps.clock.now() - retention.keepMs);
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
      if (audit === undefined) return;
      audit.append({ type: 'shutdown', body: { reason: 'stop' } });
      audit.checkpointNow();
      audit = undefined;
    },
    log() {
      if (audit === undefined) throw new Error('audit log is not open');
      return audit;
    },
  };
}
