import type { Command } from 'commander';
import type { HubStatus } from '../../../protocols/control/contract.js';
import type { AccessReadiness } from '../../access/readiness.js';
import type { HubConfig } from '../../config/schema.js';
import { hubStatus } from '../../control/status.js';
import type { AuditSummary } from '../../store/audit-summary.js';
import { databasePath } from '../../store/module.js';
import { openStore, openStoreReadOnly } from '../../store/store.js';
import { createLogger } from '../../system/logger.js';
import { loadCliConfig, type CliContext, type GlobalOptions } from '../context.js';
import { askRunningDaemon } from '../daemon.js';

export default function register(program: Command, ctx: CliContext): void {
  program
    .command('status')
    .description("show the hub's id, versions, whether the daemon runs (and for how long), its clock floor, trust chain and audit backlog")
    .option('--json', 'print one JSON object')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { config } = loadCliConfig(cmd.optsWithGlobals<GlobalOptions>(), ctx);
      const status = (await askRunningDaemon(config, ctx, { method: 'status', params: {}, offline: 'status read from the database' })) ?? (await fromDatabase(config, ctx));
      ctx.stdout.write(opts.json === true ? `${JSON.stringify(status)}\n` : formatStatus(status));
    });
}

/** With no daemon: read-only when the database is there at this keyhub's schema, else as the daemon would open it. */
async function fromDatabase(config: HubConfig, ctx: CliContext): Promise<HubStatus> {
  const path = databasePath(config.stateDir);
  const store = openStoreReadOnly(path) ?? (await openStore({ path, busyTimeoutMs: config.store.busyTimeoutMs, log: createLogger({ level: 'warn', format: config.log.format, fd: 2 }) }));
  try {
    return hubStatus(store, { nowMs: ctx.clock.now(), clockSkewMs: config.access.clockSkewS * 1000, stateDir: config.stateDir, source: 'database' });
  } finally {
    store.close();
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
