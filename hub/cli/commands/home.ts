import type { Command } from 'commander';
import { AuditLog } from '../../store/audit-log.js';
import { hubId } from '../../store/daemon-runs.js';
import { homePolicy, type HomeSwitch } from '../../store/home-policy.js';
import { loadOrCreateHubKey } from '../../store/hub-key.js';
import { databasePath } from '../../store/module.js';
import { openStore } from '../../store/store.js';
import { createLogger } from '../../system/logger.js';
import { loadCliConfig, type CliContext, type GlobalOptions } from '../context.js';

/**
 * The homeowner's switches at the door, until the LAN page has them: `keyhub deliveries pause|resume`
 * and `keyhub pets on|off`. Kept in the store, where a running daemon reads them at every request,
 * so they hold at the door at once; each change is a `config.change` audit entry. With deliveries
 * paused, or pets inside, a courier is told before the door opens to leave the parcel outside.
 */
export default function register(program: Command, ctx: CliContext): void {
  program
    .command('deliveries')
    .description('pause or resume deliveries into the home (couriers are told to leave parcels outside)')
    .argument('<pause|resume>', 'pause: no delivery opens the door; resume: deliveries open it again')
    .action((what: string, _opts: unknown, cmd: Command) => flip(ctx, cmd, 'deliveriesPaused', what, { pause: true, resume: false }, (on) => (on ? 'deliveries paused' : 'deliveries resumed')));
  program
    .command('pets')
    .description('say whether pets are inside (couriers are then told to leave parcels outside)')
    .argument('<on|off>', 'on: pets are inside, no delivery opens the door; off: no pets inside')
    .action((what: string, _opts: unknown, cmd: Command) => flip(ctx, cmd, 'petsInside', what, { on: true, off: false }, (on) => (on ? 'pet mode on: pets inside' : 'pet mode off')));
}

async function flip(ctx: CliContext, cmd: Command, which: HomeSwitch, word: string, words: Record<string, boolean>, say: (on: boolean) => string): Promise<void> {
  const value = words[word];
  if (value === undefined) {
    cmd.error(`expected ${Object.keys(words).join(' or ')}, got ${JSON.stringify(word.slice(0, 40))}`, { exitCode: 64 });
    return;
  }
  const { config } = loadCliConfig(cmd.optsWithGlobals<GlobalOptions>(), ctx);
  const log = createLogger({ level: 'warn', format: config.log.format, fd: 2 });
  const store = await openStore({ path: databasePath(config.stateDir), busyTimeoutMs: config.store.busyTimeoutMs, log });
  try {
    const audit = new AuditLog({ store, clock: ctx.clock, hubId: hubId(store), hubKey: loadOrCreateHubKey(store), checkpointEvery: config.audit.checkpointEvery, log });
    const changed = homePolicy(store).set(which, value, 'cli', ctx.clock.now(), audit);
    ctx.stdout.write(`${say(value)}${changed ? '' : ' (already)'}\n`);
  } finally {
    store.close();
  }
}
