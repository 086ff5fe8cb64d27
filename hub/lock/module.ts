/**
 * Which lock driver the daemon runs, from the `lock` config section. main.ts starts the result as
 * a Module and hands it to whoever needs a Lock. Only the chosen driver's code is constructed;
 * zwave-js itself is loaded when the Z-Wave driver starts (see zwave/zwave-runtime.ts).
 */
import { join } from 'node:path';
import type { HubConfig } from '../config/schema.js';
import type { Clock } from '../system/clock.js';
import type { Logger } from '../system/logger.js';
import { bleLockDriver } from './ble/module.js';
import type { LockDriver } from './lock.js';
import { zwaveLock } from './zwave/zwave-lock.js';

/** zwave-js's network cache (node interviews, S2 state) under the hub's state directory. */
export const ZWAVE_CACHE_DIR = 'zwave';

export function lockDriverFor(config: HubConfig['lock'], deps: { stateDir: string; clock: Clock; log: Logger }): LockDriver | undefined {
  switch (config.driver) {
    case 'none':
      return undefined;
    case 'ble':
      return bleLockDriver({ stateDir: deps.stateDir, clock: deps.clock, log: deps.log });
    case 'zwave':
      return zwaveLock({
        port: config.zwave.port,
        nodeId: config.zwave.nodeId,
        keys: config.zwave.keys,
        cacheDir: join(deps.stateDir, ZWAVE_CACHE_DIR),
        commandTimeoutMs: config.commandTimeoutMs,
        stateMaxAgeMs: config.stateMaxAgeS * 1000,
        clock: deps.clock,
        log: deps.log,
      });
  }
}
