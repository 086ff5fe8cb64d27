import { join } from 'node:path';
import type { AccessService } from '../access/module.js';
import type { AuditLog } from '../store/audit-log.js';
import type { Store } from '../store/store.js';
import type { Clock } from '../system/clock.js';
import type { Logger } from '../system/logger.js';
import { soPeerCred } from './peer-credentials.js';
import { controlHandlers } from './requests.js';
import { ControlServer } from './server.js';

/** The control socket's file in the state directory. */
export function controlSocketPath(stateDir: string): string {
  return join(stateDir, 'control.sock');
}

/**
 * The control room: the daemon's control socket for the `keyhub` CLI (hub/control/server.ts),
 * serving the contract of protocols/control over the hub's own values. It starts last and stops
 * first, so every request finds the rooms it uses running.
 */
export function controlRoom(deps: {
  stateDir: string;
  store: Store;
  audit: AuditLog;
  access: Pick<AccessService, 'trust' | 'status'>;
  clockSkewMs: number;
  onAuditFailure: (err: unknown) => void;
  clock: Clock;
  log: Logger;
}): { module: ControlServer } {
  const server = new ControlServer({
    path: controlSocketPath(deps.stateDir),
    handlers: controlHandlers(deps),
    clock: deps.clock,
    log: deps.log,
    peers: soPeerCred,
    allowedUids: [process.getuid?.() ?? 0],
  });
  return { module: server };
}
