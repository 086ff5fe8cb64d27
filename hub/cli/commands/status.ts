import type { Command } from 'commander';
import { accessReadiness, type AccessReadiness } from '../../access/readiness.js';
import { auditSummary, type AuditSummary } from '../../store/audit-summary.js';
import { hubId, lastRun, type DaemonRun } from '../../store/daemon-runs.js';
import { homePolicy, type HomePolicy } from '../../store/home-policy.js';
import { lockIdentity } from '../../store/lock-identity.js';
import { databasePath } from '../../store/module.js';
import { openStore } from '../../store/store.js';
import { CONFIG_VERSION } from '../../config/schema.js';
import { createLogger } from '../../system/logger.js';
import { keyhubVersion } from '../../system/version.js';
import { loadCliConfig, type CliContext, type GlobalOptions } from '../context.js';

export interface HubStatus {
  hubId: string;
  daemon: 'running' | 'stopped' | 'crashed' | 'never-started';
  pid: number | null;
  startedAt: string | null;
  uptimeS: number | null;
  lastStop: { at: string; outcome: string } | null;
  versions: { keyhub: string; node: string; sqlite: string; schema: number; config: number };
  stateDir: string;
  database: string;
  /** Offline grants: clock floor, trust chain versions, and whether the hub can decide now. */
  access: AccessReadiness;
  /** The audit log: head, the cloud's ack, the backlog still to send, retention, last checkpoint. */
  audit: AuditSummary;
  /** The paired lock's id as grants name it (null until the daemon has seen a paired lock). */
  lock: { id: string | null };
  /** The homeowner's switches at the door. */
  home: HomePolicy;
}

export default function register(program: Command, ctx: CliContext): void {
  program
    .command('status')
    .description("show the hub's id, versions, whether the daemon runs (and for how long), its clock floor, trust chain and audit backlog")
    .option('--json', 'print one JSON object')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { config } = loadCliConfig(cmd.optsWithGlobals<GlobalOptions>(), ctx);
      const log = createLogger({ level: 'warn', format: config.log.format });
      const store = await openStore({ path: databasePath(config.stateDir), busyTimeoutMs: config.store.busyTimeoutMs, log });
      try {
        const sqlite = (store.db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
        const status = describe(hubId(store), lastRun(store), ctx.clock.now(), {
          keyhub: keyhubVersion(),
          node: process.versions.node,
          sqlite,
          schema: store.schemaVersion,
          config: CONFIG_VERSION,
        });
        const access = accessReadiness(store, ctx.clock.now(), config.access.clockSkewS * 1000);
        const full: HubStatus = {
          ...status,
          stateDir: config.stateDir,
          database: store.path,
          access,
          audit: auditSummary(store),
          lock: { id: lockIdentity(store).get() ?? null },
          home: homePolicy(store).get(),
        };
        ctx.stdout.write(opts.json === true ? `${JSON.stringify(full)}\n` : formatStatus(full));
      } finally {
        store.close();
      }
    });
}

function describe(id: string, run: DaemonRun | undefined, nowMs: number, versions: HubStatus['versions']) {
  const base = { hubId: id, versions, pid: null, startedAt: null, uptimeS: null, lastStop: null };
  if (run === undefined) return { ...base, daemon: 'never-started' as const };
  if (run.stoppedAtMs !== null) {
    return { ...base, daemon: 'stopped' as const, lastStop: { at: new Date(run.stoppedAtMs).toISOString(), outcome: run.outcome ?? 'unknown' } };
  }
  if (!processAlive(run.pid)) return { ...base, daemon: 'crashed' as const, startedAt: new Date(run.startedAtMs).toISOString() };
  return {
    ...base,
    daemon: 'running' as const,
    pid: run.pid,
    startedAt: new Date(run.startedAtMs).toISOString(),
    uptimeS: Math.max(0, Math.round((nowMs - run.startedAtMs) / 1000)),
  };
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function formatStatus(s: HubStatus): string {
  const lines = [
    `hub        ${s.hubId}`,
    `daemon     ${s.daemon}${s.pid === null ? '' : ` (pid ${s.pid}, up ${s.uptimeS} s since ${s.startedAt})`}`,
    ...(s.lastStop === null ? [] : [`last stop  ${s.lastStop.at} (${s.lastStop.outcome})`]),
    `versions   keyhub ${s.versions.keyhub}, node ${s.versions.node}, sqlite ${s.versions.sqlite}, schema ${s.versions.schema}, config ${s.versions.config}`,
    ...formatAccess(s.access),
    formatAudit(s.audit),
    `lock       ${s.lock.id ?? 'none paired yet'}`,
    `home       deliveries ${s.home.deliveriesPaused ? 'PAUSED' : 'taken'}; ${s.home.petsInside ? 'pets inside (deliveries left outside)' : 'no pets inside'}`,
    `state      ${s.stateDir}`,
  ];
  return `${lines.join('\n')}\n`;
}

function formatAccess(a: AccessReadiness): string[] {
  const floor = a.clockFloor === null ? 'none' : `${a.clockFloor} (${a.clockFloorSource})`;
  return [
    `clock      floor ${floor}; wall clock ${a.clockTrusted ? 'trusted' : 'UNTRUSTED'}`,
    `trust      root ${a.rootKey ?? 'not pinned'}, keyring v${a.keyringVersion}, revocations v${a.revocationsVersion}`,
    `decide     ${a.canDecide ? 'ready' : 'NOT READY'}`,
    ...a.problems.map((p) => `           E${p.code} ${p.codeName}: ${p.reason}`),
  ];
}

function formatAudit(a: AuditSummary): string {
  const checkpoint = a.lastCheckpointSeq === null ? 'no checkpoint yet' : `last checkpoint at ${a.lastCheckpointSeq}`;
  const pruned = a.prunedThrough === 0 ? '' : `, pruned through ${a.prunedThrough}`;
  return `audit      head ${a.headSeq}, cloud acked through ${a.ackedThrough}, backlog ${a.backlog}; ${checkpoint}${pruned}`;
}
