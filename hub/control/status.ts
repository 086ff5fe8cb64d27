import type { HubStatus } from '../../protocols/control/contract.js';
import { accessReadiness } from '../access/readiness.js';
import { CONFIG_VERSION } from '../config/schema.js';
import { auditSummary } from '../store/audit-summary.js';
import { hubId, lastRun, type DaemonRun } from '../store/daemon-runs.js';
import { homePolicy } from '../store/home-policy.js';
import { lockIdentity } from '../store/lock-identity.js';
import type { Store } from '../store/store.js';
import { keyhubVersion } from '../system/version.js';

/**
 * `keyhub status` from a store: what the running daemon answers on its control socket, and what
 * the CLI reads from the database when no daemon answers (then `source` says so). Reads only.
 */
export function hubStatus(
  store: Store,
  o: {
    nowMs: number;
    clockSkewMs: number;
    stateDir: string;
    source: HubStatus['source'];
    /** The running daemon's own judgement of its clock (a signed time it accepted counts). */
    clockTrusted?: boolean;
  },
): HubStatus {
  const sqlite = (store.db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
  const versions = { keyhub: keyhubVersion(), node: process.versions.node, sqlite, schema: store.schemaVersion, config: CONFIG_VERSION };
  return {
    hubId: hubId(store),
    source: o.source,
    ...daemonRun(lastRun(store), o.nowMs),
    versions,
    stateDir: o.stateDir,
    database: store.path,
    access: accessReadiness(store, o.nowMs, o.clockSkewMs, o.clockTrusted),
    audit: auditSummary(store),
    lock: { id: lockIdentity(store).get() ?? null },
    home: homePolicy(store).get(),
  };
}

type RunFields = Pick<HubStatus, 'daemon' | 'pid' | 'startedAt' | 'uptimeS' | 'lastStop'>;

function daemonRun(run: DaemonRun | undefined, nowMs: number): RunFields {
  const base = { pid: null, startedAt: null, uptimeS: null, lastStop: null };
  if (run === undefined) return { ...base, daemon: 'never-started' };
  if (run.stoppedAtMs !== null) return { ...base, daemon: 'stopped', lastStop: { at: new Date(run.stoppedAtMs).toISOString(), outcome: run.outcome ?? 'unknown' } };
  if (!processAlive(run.pid)) return { ...base, daemon: 'crashed', startedAt: new Date(run.startedAtMs).toISOString() };
  return { ...base, daemon: 'running', pid: run.pid, startedAt: new Date(run.startedAtMs).toISOString(), uptimeS: Math.max(0, Math.round((nowMs - run.startedAtMs) / 1000)) };
}

/** The daemon's last run, when the database says it has not stopped and its process is alive. */
export function liveDaemonPid(store: Store): number | undefined {
  const run = lastRun(store);
  return run !== undefined && run.stoppedAtMs === null && processAlive(run.pid) ? run.pid : undefined;
}

/** kill(pid, 0): the process exists (EPERM: it does, as another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
