import type { ControlMethod, ParamsOf, ResultOf } from '../../protocols/control/contract.js';
import type { HubConfig } from '../config/schema.js';
import { askDaemon } from '../control/client.js';
import { controlSocketPath } from '../control/module.js';
import { liveDaemonPid } from '../control/status.js';
import type { Store } from '../store/store.js';
import { ErrorCode, HubError } from '../system/errors.js';
import type { CliContext } from './context.js';

/**
 * Asks the running daemon (its control socket in the state directory). When no daemon listens,
 * says so on stderr in one line, naming what happens instead, and returns undefined: the command
 * then does what is safe without a daemon.
 */
export async function askRunningDaemon<M extends ControlMethod>(
  config: HubConfig,
  ctx: CliContext,
  request: { method: M; params: ParamsOf<M>; offline: string; onData?: (bytes: Uint8Array) => void },
): Promise<ResultOf<M> | undefined> {
  const asked = await askDaemon(controlSocketPath(config.stateDir), request.method, request.params, { clock: ctx.clock, ...(request.onData === undefined ? {} : { onData: request.onData }) });
  if (asked.reached) return asked.result;
  ctx.stderr.write(`keyhub: no daemon is running (${asked.why}): ${request.offline}\n`);
  return undefined;
}

/**
 * Before the CLI writes the database itself: a daemon the database says is alive, but which did
 * not answer on its socket (still starting, or its socket gone), is never written behind.
 */
export function refuseBesideLiveDaemon(store: Store, config: HubConfig): void {
  const pid = liveDaemonPid(store);
  if (pid === undefined || pid === process.pid) return;
  throw new HubError(
    ErrorCode.CONTROL_UNREACHABLE,
    `the daemon (pid ${pid}) runs but does not answer on ${controlSocketPath(config.stateDir)}; not writing its database behind its back (try again once it is up)`,
  );
}
